using MathNet.Numerics;

namespace Pipeline.Models.Ltv;

/// <summary>BG/NBD parameters (Fader, Hardie &amp; Lee 2005), in the time unit of the summary they were fitted on.</summary>
/// <remarks>
/// Purchase rate λ ~ Gamma(shape r, rate α): α carries the time unit (α in days ≈ 7 × α in weeks).
/// Drop-out probability after each repeat purchase p ~ Beta(a, b).
/// </remarks>
public sealed record BgNbdParameters
{
    /// <summary>Creates a parameter set; every value must be finite and &gt; 0.</summary>
    public BgNbdParameters(double r, double alpha, double a, double b)
    {
        RequirePositive(r, nameof(r));
        RequirePositive(alpha, nameof(alpha));
        RequirePositive(a, nameof(a));
        RequirePositive(b, nameof(b));
        (R, Alpha, A, B) = (r, alpha, a, b);
    }

    /// <summary>Shape of the Gamma heterogeneity in purchase rates.</summary>
    public double R { get; }

    /// <summary>Rate (inverse scale, per time unit) of the Gamma heterogeneity in purchase rates.</summary>
    public double Alpha { get; }

    /// <summary>First shape of the Beta heterogeneity in drop-out probability.</summary>
    public double A { get; }

    /// <summary>Second shape of the Beta heterogeneity in drop-out probability.</summary>
    public double B { get; }

    internal static void RequirePositive(double v, string name)
    {
        if (!(double.IsFinite(v) && v > 0))
        {
            throw new ArgumentOutOfRangeException(name, v, $"Parameter {name} must be finite and > 0.");
        }
    }
}

/// <summary>Standard errors of the BG/NBD parameters (natural scale); NaN when the Hessian is not positive definite.</summary>
public sealed record BgNbdStandardErrors(double R, double Alpha, double A, double B);

/// <summary>Options for <see cref="BgNbd.Fit"/>; the defaults reproduce the published CDNOW estimates.</summary>
public sealed record BgNbdFitOptions
{
    /// <summary>
    /// L2 penalty coefficient, added as Penalizer × (r² + α² + a² + b²) to the <em>mean</em> negative log-likelihood,
    /// as <c>lifetimes</c> does. Default 0 (plain maximum likelihood). Use a small value (0.001–0.1) when a, b run off to
    /// huge values on data with few repeat buyers; note it is not scale-free (α depends on the time unit).
    /// </summary>
    public double Penalizer { get; init; }

    /// <summary>BFGS iteration cap. Default 500; CDNOW converges in about 30.</summary>
    public int MaxIterations { get; init; } = 500;

    /// <summary>
    /// Convergence threshold on the max-norm of the gradient of the mean penalised negative log-likelihood with
    /// respect to log-parameters. Default 1e-8: tight enough for 4 significant digits on CDNOW's weakly identified b.
    /// </summary>
    public double GradientTolerance { get; init; } = 1e-8;

    /// <summary>Starting point. Default null: r = 1, α = mean T (so the initial rate has the data's time scale), a = 1, b = 1.</summary>
    public BgNbdParameters? InitialParameters { get; init; }

    /// <summary>Compute standard errors from the numeric Hessian at the optimum. Default true (costs ~8 likelihood evaluations).</summary>
    public bool ComputeStandardErrors { get; init; } = true;

    /// <summary>
    /// Run <see cref="SummaryValidator"/> before fitting. Default true. Set false only when the same summary was already
    /// validated (e.g. once for both BG/NBD and Gamma-Gamma): on a million customers validation costs about as much as the fit.
    /// </summary>
    public bool ValidateInput { get; init; } = true;
}

/// <summary>Result of a BG/NBD fit.</summary>
/// <param name="Parameters">Maximum (penalised) likelihood estimates.</param>
/// <param name="StandardErrors">From the inverse numeric Hessian of the negative log-likelihood; null when not requested.</param>
/// <param name="LogLikelihood">Total unpenalised log-likelihood Σ ln L at <paramref name="Parameters"/> (CDNOW: −9582.43).</param>
/// <param name="Customers">Customers fitted.</param>
/// <param name="UniqueRows">Distinct (x, t_x, T) rows the likelihood was evaluated over.</param>
/// <param name="Convergence">Optimiser report; check <see cref="OptimizationReport.Converged"/> before using the parameters.</param>
public sealed record BgNbdFit(
    BgNbdParameters Parameters,
    BgNbdStandardErrors? StandardErrors,
    double LogLikelihood,
    int Customers,
    int UniqueRows,
    OptimizationReport Convergence)
{
    /// <summary>What the numeric Hessian at the optimum showed (<see cref="HessianState.NotComputed"/> without standard errors).</summary>
    public HessianState Hessian { get; init; }

    /// <summary>Customers with at least one repeat purchase (x &gt; 0): the ones that carry information on drop-out.</summary>
    public int RepeatBuyers { get; init; }
}

/// <summary>
/// The BG/NBD ("beta-geometric / negative binomial") model of repeat purchasing: fitting and predictions.
/// All times are in the unit of the summary used for fitting.
/// </summary>
public static class BgNbd
{
    /// <summary>
    /// Fits r, α, a, b by maximum likelihood. Rows are first collapsed to unique (x, t_x, T) with counts, so the
    /// cost per likelihood evaluation depends on the number of distinct patterns, not customers.
    /// </summary>
    /// <exception cref="SummaryValidationException">The summary violates the definitions (every problem is listed).</exception>
    public static BgNbdFit Fit(IReadOnlyList<CustomerSummary> customers, BgNbdFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(customers);
        options ??= new BgNbdFitOptions();
        if (options.ValidateInput)
        {
            SummaryValidator.ThrowIfInvalid(customers);
        }
        if (customers.Count == 0)
        {
            throw new ArgumentException("Cannot fit BG/NBD on an empty summary.", nameof(customers));
        }
        var x = new int[customers.Count];
        var tx = new double[customers.Count];
        var t = new double[customers.Count];
        for (int i = 0; i < customers.Count; i++)
        {
            (x[i], tx[i], t[i]) = (customers[i].Frequency, customers[i].Recency, customers[i].T);
        }
        return FitCore(new BgNbdLikelihood(x, tx, t, null), options) with { RepeatBuyers = x.Count(v => v > 0) };
    }

    /// <summary>
    /// Fits r, α, a, b by maximum a posteriori under <paramref name="prior"/> (independent normal priors on the log
    /// parameters): what the models fall back to when the data cannot identify the maximum likelihood estimate (a, b
    /// running off to 1e8 or to 0 on a few dozen customers). The standard errors are those of the Laplace
    /// approximation to the posterior. Works with any number of repeat buyers, including none.
    /// </summary>
    /// <param name="customers">The summary (at least one customer).</param>
    /// <param name="prior">The prior; null: <see cref="BgNbdPrior"/>'s defaults.</param>
    /// <param name="options">Iteration cap, tolerance, standard errors, validation; <see cref="BgNbdFitOptions.Penalizer"/>
    /// and <see cref="BgNbdFitOptions.InitialParameters"/> are not used (the prior replaces the one, its centre the other).</param>
    public static BgNbdFit FitMap(IReadOnlyList<CustomerSummary> customers, BgNbdPrior? prior = null, BgNbdFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(customers);
        options ??= new BgNbdFitOptions();
        prior ??= new BgNbdPrior();
        if (options.ValidateInput)
        {
            SummaryValidator.ThrowIfInvalid(customers);
        }
        if (customers.Count == 0)
        {
            throw new ArgumentException("Cannot fit BG/NBD on an empty summary.", nameof(customers));
        }
        var x = customers.Select(c => c.Frequency).ToArray();
        var ll = new BgNbdLikelihood(x, customers.Select(c => c.Recency).ToArray(), customers.Select(c => c.T).ToArray(), null);
        var centre = prior.Centre(ll.MeanT);
        double[] m = [Math.Log(centre.R), Math.Log(centre.Alpha), Math.Log(centre.A), Math.Log(centre.B)];
        double precision = 1 / (prior.LogSd * prior.LogSd), n = ll.TotalWeight;
        double Objective(ReadOnlySpan<double> u, Span<double> g)
        {
            double f = ll.MeanObjective(u, g, 0);
            for (int i = 0; i < 4; i++)
            {
                double d = u[i] - m[i];
                f += 0.5 * precision * d * d / n;
                g[i] += precision * d / n;
            }
            return f;
        }
        var (u, _, report) = Bfgs.Minimize(Objective, (double[])m.Clone(), options.MaxIterations, options.GradientTolerance);
        var parameters = new BgNbdParameters(Math.Exp(u[0]), Math.Exp(u[1]), Math.Exp(u[2]), Math.Exp(u[3]));
        BgNbdStandardErrors? se = null;
        var hessian = HessianState.NotComputed;
        if (options.ComputeStandardErrors)
        {
            double[] theta = [parameters.R, parameters.Alpha, parameters.A, parameters.B];
            (var s, hessian) = StandardErrors.Compute(th =>
            {
                var g = ll.TotalObjectiveNaturalGradient(th, 0);
                for (int i = 0; i < 4; i++)
                {
                    g[i] += precision * (Math.Log(th[i]) - m[i]) / th[i];
                }
                return g;
            }, theta);
            se = new BgNbdStandardErrors(s[0], s[1], s[2], s[3]);
        }
        return new BgNbdFit(parameters, se, ll.LogLikelihood(parameters), (int)Math.Round(n), ll.UniqueRows, report)
        {
            Hessian = hessian,
            RepeatBuyers = x.Count(v => v > 0),
        };
    }

    internal static BgNbdFit FitCore(BgNbdLikelihood ll, BgNbdFitOptions options)
    {
        if (!(options.Penalizer >= 0) || !double.IsFinite(options.Penalizer))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Penalizer, "Penalizer must be finite and ≥ 0.");
        }
        var init = options.InitialParameters ?? new BgNbdParameters(1.0, Math.Max(ll.MeanT, 1e-6), 1.0, 1.0);
        double[] u0 = [Math.Log(init.R), Math.Log(init.Alpha), Math.Log(init.A), Math.Log(init.B)];
        double pen = options.Penalizer;
        var (u, _, report) = Bfgs.Minimize((p, g) => ll.MeanObjective(p, g, pen), u0, options.MaxIterations, options.GradientTolerance);
        var parameters = new BgNbdParameters(Math.Exp(u[0]), Math.Exp(u[1]), Math.Exp(u[2]), Math.Exp(u[3]));
        BgNbdStandardErrors? se = null;
        var hessian = HessianState.NotComputed;
        if (options.ComputeStandardErrors)
        {
            double[] theta = [parameters.R, parameters.Alpha, parameters.A, parameters.B];
            (var s, hessian) = StandardErrors.Compute(th => ll.TotalObjectiveNaturalGradient(th, pen), theta);
            se = new BgNbdStandardErrors(s[0], s[1], s[2], s[3]);
        }
        return new BgNbdFit(parameters, se, ll.LogLikelihood(parameters), (int)Math.Round(ll.TotalWeight), ll.UniqueRows, report) { Hessian = hessian };
    }

    /// <summary>Total log-likelihood Σ ln L(r, α, a, b | x, t_x, T) over <paramref name="customers"/> (no penalty).</summary>
    public static double LogLikelihood(BgNbdParameters parameters, IReadOnlyList<CustomerSummary> customers)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(customers);
        var x = customers.Select(c => c.Frequency).ToArray();
        var tx = customers.Select(c => c.Recency).ToArray();
        var t = customers.Select(c => c.T).ToArray();
        return new BgNbdLikelihood(x, tx, t, null).LogLikelihood(parameters);
    }

    /// <summary>
    /// P(alive at T | x, t_x, T) = 1 / (1 + [x &gt; 0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), evaluated in log space
    /// so that large x gives 0 rather than NaN.
    /// </summary>
    public static double ProbabilityAlive(BgNbdParameters parameters, int frequency, double recency, double t)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckCustomer(frequency, recency, t);
        if (frequency == 0)
        {
            return 1.0;
        }
        return 1.0 / (1.0 + Math.Exp(LogDeadOdds(parameters, frequency, recency, t)));
    }

    /// <summary>
    /// Expected number of purchases in (T, T + <paramref name="horizon"/>] for a customer with history (x, t_x, T):
    /// FHL 2005 eq. 10, via <see cref="Hypergeometric.AliveExpectation"/>: finite for every parameter set and horizon.
    /// </summary>
    /// <param name="parameters">Fitted parameters.</param>
    /// <param name="horizon">Length of the future window, in the summary's time unit.</param>
    /// <param name="frequency">x.</param>
    /// <param name="recency">t_x.</param>
    /// <param name="t">T.</param>
    public static double ConditionalExpectedPurchases(BgNbdParameters parameters, double horizon, int frequency, double recency, double t)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckCustomer(frequency, recency, t);
        CheckHorizon(horizon);
        var (r, alpha, a, b) = (parameters.R, parameters.Alpha, parameters.A, parameters.B);
        double ratio = horizon / (alpha + t);
        double z = horizon / (alpha + t + horizon);
        double log1mz = -LogOnePlus(ratio); // ln(1 − z) without cancellation
        double alive = frequency == 0 ? 1.0 : 1.0 / (1.0 + Math.Exp(LogDeadOdds(parameters, frequency, recency, t)));
        double scaled = Hypergeometric.AliveExpectation(r, a, b, frequency, ratio, z, log1mz);
        return scaled * alive;
    }

    /// <summary>Expected purchases in (0, <paramref name="horizon"/>] for a new customer (FHL 2005 eq. 9): E[X(t)].</summary>
    public static double ExpectedPurchases(BgNbdParameters parameters, double horizon) =>
        ConditionalExpectedPurchases(parameters, horizon, 0, 0, 0);

    /// <summary>P(X(t) = n): probability that a new customer makes exactly <paramref name="purchases"/> purchases in (0, t] (FHL 2005 eq. 8).</summary>
    public static double ProbabilityOfPurchases(BgNbdParameters parameters, int purchases, double horizon)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(purchases);
        CheckHorizon(horizon);
        var (r, alpha, a, b) = (parameters.R, parameters.Alpha, parameters.A, parameters.B);
        int n = purchases;
        double lbab = SpecialFunctions.BetaLn(a, b);
        double logQ = Math.Log(alpha / (alpha + horizon));
        double log1 = SpecialFunctions.BetaLn(a, b + n) - lbab
            + SpecialFunctions.GammaLn(r + n) - SpecialFunctions.GammaLn(r) - SpecialFunctions.FactorialLn(n)
            + r * logQ;
        if (n > 0)
        {
            log1 += n * Math.Log(horizon / (alpha + horizon));
        }
        double p = Math.Exp(log1);
        if (n > 0)
        {
            // 1 − Σ_{j<n} NB(j; r, α/(α+t)) = I_{t/(α+t)}(n, r): no cancellation for small t.
            double tail = horizon == 0 ? 0.0 : SpecialFunctions.BetaRegularized(n, r, horizon / (alpha + horizon));
            p += Math.Exp(SpecialFunctions.BetaLn(a + 1, b + n - 1) - lbab) * tail;
        }
        return p;
    }

    /// <summary>ln( a/(b+x−1) · ((α+T)/(α+t_x))^(r+x) ): the log odds of "dropped out after the last purchase".</summary>
    private static double LogDeadOdds(BgNbdParameters p, int x, double tx, double t) =>
        Math.Log(p.A) - Math.Log(p.B + x - 1) + (p.R + x) * LogOnePlus((t - tx) / (p.Alpha + tx));

    /// <summary>ln(1 + v) accurate for small v (System.Math has no log1p).</summary>
    internal static double LogOnePlus(double v)
    {
        double u = 1.0 + v;
        if (double.IsPositiveInfinity(u))
        {
            return u; // not ∞·∞/∞
        }
        return u == 1.0 ? v : Math.Log(u) * v / (u - 1.0);
    }

    private static void CheckCustomer(int frequency, double recency, double t)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(frequency);
        if (!(double.IsFinite(t) && t >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(t), t, "T must be finite and ≥ 0.");
        }
        if (!(double.IsFinite(recency) && recency >= 0 && recency <= t))
        {
            throw new ArgumentOutOfRangeException(nameof(recency), recency, "recency must be finite with 0 ≤ recency ≤ T.");
        }
    }

    private static void CheckHorizon(double horizon)
    {
        if (!(double.IsFinite(horizon) && horizon >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "The horizon must be finite and ≥ 0 (in the summary's time unit).");
        }
    }
}
