using MathNet.Numerics;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>
/// Independent numerical routes to BG/NBD quantities, used to check the production formulas without calling them:
/// integrals over the latent λ and p evaluated by the trapezoid rule in log / logit coordinates (where the integrands
/// are smooth and decay fast, so the rule converges geometrically), and the textbook closed forms with a naive ₂F₁ series.
/// </summary>
internal static class Reference
{
    /// <summary>ln ∫ exp(logIntegrand(s)) ds over [lo, hi] by the trapezoid rule with n steps, computed with a running max.</summary>
    public static double LogTrapezoid(Func<double, double> logIntegrand, double lo, double hi, int n)
    {
        double h = (hi - lo) / n;
        var values = new double[n + 1];
        double max = double.NegativeInfinity;
        for (int i = 0; i <= n; i++)
        {
            values[i] = logIntegrand(lo + i * h);
            max = Math.Max(max, values[i]);
        }
        double sum = 0;
        for (int i = 0; i <= n; i++)
        {
            double w = i == 0 || i == n ? 0.5 : 1.0;
            sum += w * Math.Exp(values[i] - max);
        }
        return max + Math.Log(sum * h);
    }

    private static double LogSigmoid(double v) => v >= 0 ? -Log1p(Math.Exp(-v)) : v - Log1p(Math.Exp(v));

    private static double Log1p(double v)
    {
        double u = 1 + v;
        return u == 1 ? v : Math.Log(u) * v / (u - 1);
    }

    /// <summary>e^v − 1: Taylor series for small |v| (where exp(v) − 1 cancels), the plain difference otherwise.</summary>
    private static double Expm1(double v)
    {
        if (Math.Abs(v) >= 1e-3)
        {
            return Math.Exp(v) - 1;
        }
        double term = v, sum = v;
        for (int k = 2; k < 12; k++)
        {
            term *= v / k;
            sum += term;
        }
        return sum;
    }

    /// <summary>ln E_λ[λ^x e^{−λ s}] for λ ~ Gamma(r, α), integrating over ln λ.</summary>
    public static double LogLambdaMoment(double r, double alpha, int x, double s) =>
        LogTrapezoid(u => (x + r) * u - Math.Exp(u) * (alpha + s) + r * Math.Log(alpha) - SpecialFunctions.GammaLn(r), -120, 12, 40_000);

    /// <summary>ln E_p[p^i (1−p)^j] for p ~ Beta(a, b), integrating over logit p.</summary>
    public static double LogBetaMoment(double a, double b, int i, int j) =>
        LogTrapezoid(v => (a + i) * LogSigmoid(v) + (b + j) * LogSigmoid(-v) - SpecialFunctions.BetaLn(a, b), -150, 150, 60_000);

    /// <summary>P(alive) = L(alive) / (L(alive) + L(dropped after last purchase)), each a product of λ and p integrals.</summary>
    public static double ProbabilityAliveByIntegration(double r, double alpha, double a, double b, int x, double tx, double t)
    {
        if (x == 0)
        {
            return 1.0;
        }
        double logAlive = LogLambdaMoment(r, alpha, x, t) + LogBetaMoment(a, b, 0, x);
        double logDead = LogLambdaMoment(r, alpha, x, tx) + LogBetaMoment(a, b, 1, x - 1);
        return 1.0 / (1.0 + Math.Exp(logDead - logAlive));
    }

    /// <summary>
    /// E[purchases in (T, T+t]] = P(alive) · E[(1/p)(1 − e^{−λpt})] under the posterior λ ~ Gamma(r+x, α+T),
    /// p ~ Beta(a, b+x); the λ-expectation is the Gamma Laplace transform, the p-expectation is integrated over logit p.
    /// </summary>
    public static double ConditionalExpectationByIntegration(double r, double alpha, double a, double b, int x, double tx, double t, double horizon)
    {
        double alive = ProbabilityAliveByIntegration(r, alpha, a, b, x, tx, t);
        double tau = horizon / (alpha + t);
        double beta = b + x;
        double lnB = SpecialFunctions.BetaLn(a, beta);
        // ∫ f(p) p^(a−1)(1−p)^(β−1)/B dp with p = σ(v), dp = p(1−p) dv; f(p) = (1 − (1+pτ)^−(r+x))/p.
        double h = 0.005;
        double sum = 0;
        for (double v = -150; v <= 150; v += h)
        {
            double lp = LogSigmoid(v), lq = LogSigmoid(-v);
            double p = Math.Exp(lp);
            double f = -Expm1(-(r + x) * Log1p(p * tau)) / p;
            double logDensity = a * lp + beta * lq - lnB;
            sum += f * Math.Exp(logDensity);
        }
        return alive * sum * h;
    }

    /// <summary>₂F₁(a, b; c; z) by its defining series (fine for moderate parameters and |z| ≤ 0.7).</summary>
    public static double Hyp2F1Naive(double a, double b, double c, double z)
    {
        double term = 1, sum = 1;
        for (int k = 0; k < 100_000; k++)
        {
            term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
            sum += term;
            if (Math.Abs(term) < 1e-17 * Math.Abs(sum))
            {
                break;
            }
        }
        return sum;
    }

    /// <summary>FHL 2005 eq. 10 written out literally (valid for a ≠ 1 and moderate z).</summary>
    public static double ConditionalExpectationClosedForm(double r, double alpha, double a, double b, int x, double tx, double t, double horizon)
    {
        double z = horizon / (alpha + t + horizon);
        double hyp = Hyp2F1Naive(r + x, b + x, a + b + x - 1, z);
        double numerator = (a + b + x - 1) / (a - 1) * (1 - Math.Pow((alpha + t) / (alpha + t + horizon), r + x) * hyp);
        double denominator = 1 + (x > 0 ? a / (b + x - 1) * Math.Pow((alpha + t) / (alpha + tx), r + x) : 0);
        return numerator / denominator;
    }
}
