namespace Pipeline.Models.Ltv;

/// <summary>How an optimisation ended; returned with every fit so callers can refuse unconverged parameters.</summary>
/// <param name="Converged">True when the gradient norm fell below the tolerance.</param>
/// <param name="Iterations">BFGS iterations taken.</param>
/// <param name="FunctionEvaluations">Objective (value + gradient) evaluations, the unit of cost.</param>
/// <param name="GradientNorm">Max-norm of the gradient of the mean penalised negative log-likelihood w.r.t. log-parameters at the end.</param>
/// <param name="Message">Why it stopped, in words.</param>
public sealed record OptimizationReport(bool Converged, int Iterations, int FunctionEvaluations, double GradientNorm, string Message);

/// <summary>Objective: returns f(x) and writes ∇f(x) into <paramref name="gradient"/>.</summary>
internal delegate double ValueAndGradient(ReadOnlySpan<double> x, Span<double> gradient);

/// <summary>
/// Deterministic BFGS with Armijo backtracking. Hand-written rather than a library minimiser so that
/// failures (non-finite trial points, line-search exhaustion) become a report instead of an exception, and so that
/// runs are bit-for-bit reproducible.
/// </summary>
internal static class Bfgs
{
    /// <summary>
    /// When the line search or the objective stalls, a gradient within this factor of the tolerance counts as converged:
    /// with ~10⁶ rows the summed objective and gradient carry rounding (and special-function) error near 1e-8.
    /// </summary>
    private const double PrecisionFactor = 1e3;

    public static (double[] X, double F, OptimizationReport Report) Minimize(
        ValueAndGradient f, double[] x0, int maxIterations, double gradientTolerance)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxIterations, 1);
        if (!(gradientTolerance > 0) || !double.IsFinite(gradientTolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(gradientTolerance), gradientTolerance, "The gradient tolerance must be finite and > 0.");
        }
        int n = x0.Length;
        var x = (double[])x0.Clone();
        var g = new double[n];
        int evals = 1;
        double fx = f(x, g);
        if (!double.IsFinite(fx) || !AllFinite(g))
        {
            return (x, fx, new OptimizationReport(false, 0, evals, double.NaN, "objective is not finite at the starting point"));
        }

        var h = Identity(n);
        var dir = new double[n];
        var xNew = new double[n];
        var gNew = new double[n];
        var s = new double[n];
        var y = new double[n];
        int iter = 0;
        string message = "maximum iterations reached";
        bool converged = false;
        int stalls = 0;

        for (; iter < maxIterations; iter++)
        {
            double gnorm = MaxAbs(g);
            if (gnorm < gradientTolerance)
            {
                converged = true;
                message = "gradient norm below tolerance";
                break;
            }

            // d = -H g; fall back to steepest descent when H has lost positive definiteness numerically.
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++)
                {
                    sum -= h[i, j] * g[j];
                }
                dir[i] = sum;
            }
            double slope = Dot(dir, g);
            if (!(slope < 0))
            {
                h = Identity(n);
                for (int i = 0; i < n; i++)
                {
                    dir[i] = -g[i];
                }
                slope = Dot(dir, g);
            }

            // Cap the step so a single iteration cannot move a log-parameter by more than 5 (a factor e^5).
            double maxStep = MaxAbs(dir);
            double step = maxStep > 5 ? 5 / maxStep : 1.0;
            double fNew = double.NaN;
            bool accepted = false;
            // Armijo, plus a noise-aware escape: lnΓ differences of large arguments and sums over ~10⁶ rows leave the
            // objective with rounding noise near 1e-13 relative, while the analytic gradient stays accurate. A step whose
            // value change is within that noise is accepted only if it shrinks the gradient, so progress is still measured.
            double noise = 1e-12 * Math.Max(1.0, Math.Abs(fx));
            double gnormNow = MaxAbs(g);
            for (int k = 0; k < 40; k++)
            {
                for (int i = 0; i < n; i++)
                {
                    xNew[i] = x[i] + step * dir[i];
                }
                evals++;
                fNew = f(xNew, gNew);
                if (double.IsFinite(fNew) && AllFinite(gNew)
                    && (fNew <= fx + 1e-4 * step * slope || (fNew <= fx + noise && MaxAbs(gNew) < gnormNow)))
                {
                    accepted = true;
                    break;
                }
                if (k >= 30 && MaxAbs(g) < PrecisionFactor * gradientTolerance)
                {
                    break; // step ~1e-9 and a near-zero gradient: rounding noise, more halvings only burn evaluations
                }
                step *= 0.5;
            }
            if (!accepted)
            {
                // The line search cannot decrease f: either at the optimum to machine precision or a bad H.
                if (IsIdentity(h))
                {
                    converged = MaxAbs(g) < PrecisionFactor * gradientTolerance;
                    message = converged
                        ? "line search exhausted at a point whose gradient is within 1000× tolerance (precision limit)"
                        : "line search failed to decrease the objective";
                    break;
                }
                h = Identity(n);
                continue;
            }

            for (int i = 0; i < n; i++)
            {
                s[i] = xNew[i] - x[i];
                y[i] = gNew[i] - g[i];
            }
            double sy = Dot(s, y);
            double relChange = Math.Abs(fNew - fx) / Math.Max(1.0, Math.Abs(fx));
            Array.Copy(xNew, x, n);
            Array.Copy(gNew, g, n);
            fx = fNew;

            if (iter == 0 && sy > 0)
            {
                // Scale the initial inverse Hessian (Nocedal & Wright 6.20) so the first steps have the right size.
                double scale = sy / Dot(y, y);
                for (int i = 0; i < n; i++)
                {
                    h[i, i] = scale;
                }
            }
            if (sy > 1e-12 * Math.Sqrt(Dot(s, s) * Dot(y, y)))
            {
                UpdateInverseHessian(h, s, y, sy);
            }

            stalls = relChange < 1e-15 ? stalls + 1 : 0;
            if (stalls >= 3)
            {
                converged = MaxAbs(g) < PrecisionFactor * gradientTolerance;
                message = converged
                    ? "objective stalled at a point whose gradient is within 1000× tolerance (precision limit)"
                    : "objective stalled without a small gradient";
                iter++;
                break;
            }
        }
        if (!converged && iter >= maxIterations && MaxAbs(g) < gradientTolerance)
        {
            converged = true;
            message = "gradient norm below tolerance";
        }
        return (x, fx, new OptimizationReport(converged, iter, evals, MaxAbs(g), message));
    }

    private static void UpdateInverseHessian(double[,] h, double[] s, double[] y, double sy)
    {
        int n = s.Length;
        double rho = 1.0 / sy;
        var hy = new double[n];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                sum += h[i, j] * y[j];
            }
            hy[i] = sum;
        }
        double yhy = Dot(y, hy);
        // H+ = H - rho (s hy' + hy s') + (rho^2 yHy + rho) s s'
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                h[i, j] += -rho * (s[i] * hy[j] + hy[i] * s[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
            }
        }
    }

    private static double[,] Identity(int n)
    {
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            m[i, i] = 1.0;
        }
        return m;
    }

    private static bool IsIdentity(double[,] m)
    {
        int n = m.GetLength(0);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                if (m[i, j] != (i == j ? 1.0 : 0.0))
                {
                    return false;
                }
            }
        }
        return true;
    }

    internal static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }
        return s;
    }

    internal static double MaxAbs(ReadOnlySpan<double> a)
    {
        double m = 0;
        foreach (double v in a)
        {
            m = Math.Max(m, Math.Abs(v));
        }
        return m;
    }

    internal static bool AllFinite(ReadOnlySpan<double> a)
    {
        foreach (double v in a)
        {
            if (!double.IsFinite(v))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>What the numeric Hessian at an optimum showed; the standard errors are meaningful only when <see cref="PositiveDefinite"/>.</summary>
public enum HessianState
{
    /// <summary>Standard errors were not requested.</summary>
    NotComputed = 0,

    /// <summary>Positive definite: a proper optimum, standard errors from its inverse.</summary>
    PositiveDefinite = 1,

    /// <summary>An eigenvalue ≤ 0: a flat direction or an optimum on the boundary; standard errors are NaN.</summary>
    NotPositiveDefinite = 2,

    /// <summary>Some entry is not finite (parameters so extreme that the likelihood's derivatives overflow); standard errors are NaN.</summary>
    NotFinite = 3,
}

/// <summary>Standard errors from the observed information (inverse numeric Hessian of the negative log-likelihood).</summary>
internal static class StandardErrors
{
    /// <summary>
    /// Central differences of the analytic gradient in <em>natural</em> parameter space, symmetrised, then inverted.
    /// Returns NaN entries when the Hessian is not positive definite (a flat or boundary optimum: SEs are meaningless there).
    /// </summary>
    /// <param name="naturalGradient">Gradient of the total negative log-likelihood w.r.t. natural parameters.</param>
    /// <param name="theta">Natural parameters at the optimum.</param>
    public static double[] FromGradient(Func<double[], double[]> naturalGradient, double[] theta) => Compute(naturalGradient, theta).StandardErrors;

    /// <summary><see cref="FromGradient"/> together with what the Hessian looked like.</summary>
    public static (double[] StandardErrors, HessianState State) Compute(Func<double[], double[]> naturalGradient, double[] theta)
    {
        int n = theta.Length;
        var hess = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            double step = 1e-5 * Math.Max(Math.Abs(theta[j]), 1e-8);
            var plus = (double[])theta.Clone();
            var minus = (double[])theta.Clone();
            plus[j] += step;
            minus[j] -= step;
            var gp = naturalGradient(plus);
            var gm = naturalGradient(minus);
            for (int i = 0; i < n; i++)
            {
                hess[i, j] = (gp[i] - gm[i]) / (2 * step);
            }
        }
        var sym = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, n, (i, j) => 0.5 * (hess[i, j] + hess[j, i]));
        var se = new double[n];
        Array.Fill(se, double.NaN);
        if (!sym.Enumerate().All(double.IsFinite))
        {
            return (se, HessianState.NotFinite);
        }
        var evd = sym.Evd();
        if (evd.EigenValues.Any(e => e.Real <= 0))
        {
            return (se, HessianState.NotPositiveDefinite);
        }
        var cov = sym.Inverse();
        for (int i = 0; i < n; i++)
        {
            se[i] = cov[i, i] > 0 ? Math.Sqrt(cov[i, i]) : double.NaN;
        }
        return (se, HessianState.PositiveDefinite);
    }
}
