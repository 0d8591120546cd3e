using MathNet.Numerics;

namespace Pipeline.Models.Ltv;

/// <summary>Gamma-Gamma spend parameters (Fader &amp; Hardie 2013, note 025), in the currency of the summary.</summary>
/// <remarks>
/// Each transaction value ~ Gamma(shape p, rate ν); a customer's ν ~ Gamma(shape q, rate γ).
/// The population mean transaction value is p·γ/(q − 1), finite only when q &gt; 1.
/// </remarks>
public sealed record GammaGammaParameters
{
    /// <summary>Creates a parameter set; every value must be finite and &gt; 0.</summary>
    public GammaGammaParameters(double p, double q, double gamma)
    {
        BgNbdParameters.RequirePositive(p, nameof(p));
        BgNbdParameters.RequirePositive(q, nameof(q));
        BgNbdParameters.RequirePositive(gamma, nameof(gamma));
        (P, Q, Gamma) = (p, q, gamma);
    }

    /// <summary>Shape of a transaction's value given the customer.</summary>
    public double P { get; }

    /// <summary>Shape of the heterogeneity in customers' rate ν.</summary>
    public double Q { get; }

    /// <summary>Rate of the heterogeneity in ν (lifetimes calls it v); carries the currency scale.</summary>
    public double Gamma { get; }

    /// <summary>E(Z) = p·γ/(q − 1): the expected average order value of a customer we know nothing about; +∞ when q ≤ 1.</summary>
    public double PopulationMeanValue => Q > 1 ? P * Gamma / (Q - 1) : double.PositiveInfinity;
}

/// <summary>Standard errors of the Gamma-Gamma parameters (natural scale); NaN when the Hessian is not positive definite.</summary>
public sealed record GammaGammaStandardErrors(double P, double Q, double Gamma);

/// <summary>Options for <see cref="GammaGamma.Fit"/>.</summary>
public sealed record GammaGammaFitOptions
{
    /// <summary>L2 penalty Penalizer × (p² + q² + γ²) on the mean negative log-likelihood, as in <c>lifetimes</c>. Default 0.</summary>
    public double Penalizer { get; init; }

    /// <summary>BFGS iteration cap. Default 500.</summary>
    public int MaxIterations { get; init; } = 500;

    /// <summary>Max-norm gradient threshold (mean objective, log-parameters). Default 1e-8.</summary>
    public double GradientTolerance { get; init; } = 1e-8;

    /// <summary>Starting point. Default null: p = 1, q = 2, γ = mean monetary value (so the implied mean matches the data).</summary>
    public GammaGammaParameters? InitialParameters { get; init; }

    /// <summary>Compute standard errors from the numeric Hessian at the optimum. Default true.</summary>
    public bool ComputeStandardErrors { get; init; } = true;

    /// <summary>
    /// Run <see cref="SummaryValidator"/> (with the monetary &gt; 0 check) before fitting. Default true. Set false only when
    /// the summary was already validated with <c>forGammaGamma: true</c>.
    /// </summary>
    public bool ValidateInput { get; init; } = true;
}

/// <summary>Result of a Gamma-Gamma fit.</summary>
/// <param name="Parameters">Maximum (penalised) likelihood estimates.</param>
/// <param name="StandardErrors">From the inverse numeric Hessian; null when not requested.</param>
/// <param name="LogLikelihood">Σ ln f(z̄ | x): the density of the customer's <em>mean</em> repeat value (CDNOW: −4055.92). The density of total spend is this minus Σ ln x.</param>
/// <param name="RepeatBuyers">Customers used: frequency &gt; 0 only.</param>
/// <param name="ExcludedOneTimeBuyers">Customers skipped because frequency = 0 (they carry no repeat-spend information).</param>
/// <param name="FrequencyMonetaryCorrelation">Pearson correlation of frequency and monetary value over the repeat buyers; the model assumes independence, so warn when it is large (|ρ| &gt; 0.3 is a common threshold).</param>
/// <param name="Convergence">Optimiser report.</param>
public sealed record GammaGammaFit(
    GammaGammaParameters Parameters,
    GammaGammaStandardErrors? StandardErrors,
    double LogLikelihood,
    int RepeatBuyers,
    int ExcludedOneTimeBuyers,
    double FrequencyMonetaryCorrelation,
    OptimizationReport Convergence)
{
    /// <summary>What the numeric Hessian at the optimum showed (<see cref="HessianState.NotComputed"/> without standard errors).</summary>
    public HessianState Hessian { get; init; }
}

/// <summary>The Gamma-Gamma model of average transaction value: fitting on repeat buyers and per-customer predictions.</summary>
public static class GammaGamma
{
    /// <summary>
    /// Fits p, q, γ by maximum likelihood on repeat buyers (frequency &gt; 0); one-time buyers are skipped because their
    /// monetary value (mean of repeat purchases) is undefined.
    /// </summary>
    /// <exception cref="SummaryValidationException">Invalid rows, including monetary value ≤ 0 on a repeat buyer (net or exclude returns first).</exception>
    public static GammaGammaFit Fit(IReadOnlyList<CustomerSummary> customers, GammaGammaFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(customers);
        options ??= new GammaGammaFitOptions();
        if (options.ValidateInput)
        {
            SummaryValidator.ThrowIfInvalid(customers, forGammaGamma: true);
        }
        var repeat = customers.Where(c => c.Frequency > 0).ToArray();
        if (repeat.Length < 2)
        {
            throw new ArgumentException($"Gamma-Gamma needs repeat buyers (frequency > 0); found {repeat.Length}.", nameof(customers));
        }
        if (!(options.Penalizer >= 0) || !double.IsFinite(options.Penalizer))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Penalizer, "Penalizer must be finite and ≥ 0.");
        }
        var frequency = new int[repeat.Length];
        var monetary = new double[repeat.Length];
        for (int i = 0; i < repeat.Length; i++)
        {
            (frequency[i], monetary[i]) = (repeat[i].Frequency, repeat[i].MonetaryValue);
        }
        var ll = new GammaGammaLikelihood(frequency, monetary);
        var init = options.InitialParameters ?? new GammaGammaParameters(1.0, 2.0, monetary.Average());
        double[] u0 = [Math.Log(init.P), Math.Log(init.Q), Math.Log(init.Gamma)];
        double pen = options.Penalizer;
        var (u, _, report) = Bfgs.Minimize((v, g) => ll.MeanObjective(v, g, pen), u0, options.MaxIterations, options.GradientTolerance);
        var parameters = new GammaGammaParameters(Math.Exp(u[0]), Math.Exp(u[1]), Math.Exp(u[2]));
        GammaGammaStandardErrors? se = null;
        var hessian = HessianState.NotComputed;
        if (options.ComputeStandardErrors)
        {
            (var s, hessian) = StandardErrors.Compute(th => ll.TotalObjectiveNaturalGradient(th, pen), [parameters.P, parameters.Q, parameters.Gamma]);
            se = new GammaGammaStandardErrors(s[0], s[1], s[2]);
        }
        return new GammaGammaFit(
            parameters, se, ll.Evaluate(parameters.P, parameters.Q, parameters.Gamma, new double[3]),
            repeat.Length, customers.Count - repeat.Length, FrequencyMonetaryCorrelation(customers), report)
        {
            Hessian = hessian,
        };
    }

    /// <summary>
    /// Fits p, q, γ by maximum a posteriori under <paramref name="prior"/> (normal priors on ln p, ln(q − 1), ln γ, so
    /// q &gt; 1 and the population mean p·γ/(q − 1) stays finite): the fallback when the data cannot identify the maximum
    /// likelihood estimate (p running off to 1e7 on 15 repeat buyers). Works with any number of repeat buyers: with
    /// none, the result is the prior's centre. Standard errors are those of the Laplace approximation to the posterior.
    /// </summary>
    /// <param name="customers">The summary; repeat buyers (frequency &gt; 0) must have a monetary value &gt; 0.</param>
    /// <param name="prior">The prior; its spend scale (γ's centre) defaults to the mean monetary value of the repeat buyers.</param>
    /// <param name="options">Iteration cap, tolerance, standard errors, validation; the penalizer and starting point are not used.</param>
    public static GammaGammaFit FitMap(IReadOnlyList<CustomerSummary> customers, GammaGammaPrior prior, GammaGammaFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(customers);
        ArgumentNullException.ThrowIfNull(prior);
        options ??= new GammaGammaFitOptions();
        if (options.ValidateInput)
        {
            SummaryValidator.ThrowIfInvalid(customers, forGammaGamma: true);
        }
        var repeat = customers.Where(c => c.Frequency > 0).ToArray();
        var frequency = repeat.Select(c => c.Frequency).ToArray();
        var monetary = repeat.Select(c => c.MonetaryValue).ToArray();
        var centre = prior.Centre(monetary.Length > 0 ? monetary.Average() : null);
        double[] m = [Math.Log(centre.P), Math.Log(centre.Q - 1), Math.Log(centre.Gamma)];
        double precision = 1 / (prior.LogSd * prior.LogSd);
        var ll = new GammaGammaLikelihood(frequency, monetary);
        // Normalised by the repeat buyers (at least 1, so that no data leaves the prior alone, with its optimum at the centre).
        double n = Math.Max(1, repeat.Length);
        double Objective(ReadOnlySpan<double> v, Span<double> g)
        {
            double p = Math.Exp(v[0]), qm1 = Math.Exp(v[1]), gamma = Math.Exp(v[2]);
            var natural = new double[3];
            double f = repeat.Length == 0 ? 0 : -ll.Evaluate(p, 1 + qm1, gamma, natural) / n;
            ReadOnlySpan<double> jacobian = [p, qm1, gamma]; // dθ/dv
            for (int i = 0; i < 3; i++)
            {
                double d = v[i] - m[i];
                f += 0.5 * precision * d * d / n;
                g[i] = -natural[i] / n * jacobian[i] + precision * d / n;
            }
            return f;
        }
        var (u, _, report) = Bfgs.Minimize(Objective, (double[])m.Clone(), options.MaxIterations, options.GradientTolerance);
        var parameters = new GammaGammaParameters(Math.Exp(u[0]), 1 + Math.Exp(u[1]), Math.Exp(u[2]));
        GammaGammaStandardErrors? se = null;
        var hessian = HessianState.NotComputed;
        if (options.ComputeStandardErrors)
        {
            (var s, hessian) = StandardErrors.Compute(th =>
            {
                var g = repeat.Length == 0 ? new double[3] : ll.TotalObjectiveNaturalGradient(th, 0);
                g[0] += precision * (Math.Log(th[0]) - m[0]) / th[0];
                g[1] += precision * (Math.Log(th[1] - 1) - m[1]) / (th[1] - 1);
                g[2] += precision * (Math.Log(th[2]) - m[2]) / th[2];
                return g;
            }, [parameters.P, parameters.Q, parameters.Gamma]);
            se = new GammaGammaStandardErrors(s[0], s[1], s[2]);
        }
        double logLikelihood = repeat.Length == 0 ? 0 : ll.Evaluate(parameters.P, parameters.Q, parameters.Gamma, new double[3]);
        return new GammaGammaFit(parameters, se, logLikelihood, repeat.Length, customers.Count - repeat.Length, FrequencyMonetaryCorrelation(customers), report)
        {
            Hessian = hessian,
        };
    }

    /// <summary>Σ ln f(z̄ | x; p, q, γ) over repeat buyers of <paramref name="customers"/> (one-time buyers ignored).</summary>
    public static double LogLikelihood(GammaGammaParameters parameters, IReadOnlyList<CustomerSummary> customers)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(customers);
        var repeat = customers.Where(c => c.Frequency > 0).ToArray();
        return new GammaGammaLikelihood(repeat.Select(c => c.Frequency).ToArray(), repeat.Select(c => c.MonetaryValue).ToArray())
            .Evaluate(parameters.P, parameters.Q, parameters.Gamma, new double[3]);
    }

    /// <summary>
    /// E(Z | x, z̄) = p(γ + x·z̄)/(p·x + q − 1): a weighted average of the population mean and the customer's own mean,
    /// shrinking customers with few purchases towards the population. With x = 0 this is the population mean p·γ/(q−1).
    /// </summary>
    public static double ConditionalExpectedAverageValue(GammaGammaParameters parameters, int frequency, double monetaryValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfNegative(frequency);
        if (frequency == 0)
        {
            return parameters.PopulationMeanValue;
        }
        if (!(double.IsFinite(monetaryValue) && monetaryValue > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(monetaryValue), monetaryValue, "A repeat buyer's monetary value must be finite and > 0.");
        }
        double denominator = parameters.P * frequency + parameters.Q - 1;
        return denominator > 0
            ? parameters.P * (parameters.Gamma + frequency * monetaryValue) / denominator
            : double.PositiveInfinity;
    }

    /// <summary>
    /// Pearson correlation between frequency and monetary value over repeat buyers (frequency &gt; 0). Gamma-Gamma assumes
    /// they are independent; NaN when fewer than two repeat buyers or no variance.
    /// </summary>
    public static double FrequencyMonetaryCorrelation(IReadOnlyList<CustomerSummary> customers)
    {
        ArgumentNullException.ThrowIfNull(customers);
        double n = 0, mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
        foreach (var c in customers)
        {
            if (c.Frequency <= 0)
            {
                continue;
            }
            // Welford-style co-moment update: stable for large n.
            n++;
            double dx = c.Frequency - mx;
            double dy = c.MonetaryValue - my;
            mx += dx / n;
            my += dy / n;
            sxx += dx * (c.Frequency - mx);
            syy += dy * (c.MonetaryValue - my);
            sxy += dx * (c.MonetaryValue - my);
        }
        return n < 2 || sxx <= 0 || syy <= 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }
}

/// <summary>
/// Gamma-Gamma log-likelihood of the mean repeat value z̄ given x, per customer:
/// lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln γ + (px−1) ln z̄ + px ln x − (px+q) ln(x z̄ + γ).
/// </summary>
/// <remarks>
/// The Gamma-function terms depend on x only (computed once per distinct x) and the ln z̄, ln x terms are linear in p
/// (pre-summed once), so each evaluation costs one logarithm per customer — that is what makes a million customers cheap.
/// </remarks>
internal sealed class GammaGammaLikelihood
{
    private const int ChunkSize = 16_384;

    private readonly int[] _groupX;
    private readonly double[] _groupCount;
    private readonly double[] _x;
    private readonly double[] _s; // x·z̄ (total repeat spend)
    private readonly double _n;
    private readonly double _sumXLogZ;
    private readonly double _sumLogZ;
    private readonly double _sumXLogX;

    public GammaGammaLikelihood(int[] frequency, double[] monetary)
    {
        _n = frequency.Length;
        _x = new double[frequency.Length];
        _s = new double[frequency.Length];
        var counts = new Dictionary<int, double>();
        for (int i = 0; i < frequency.Length; i++)
        {
            int x = frequency[i];
            double z = monetary[i];
            _x[i] = x;
            _s[i] = x * z;
            counts[x] = counts.GetValueOrDefault(x) + 1;
            double lz = Math.Log(z);
            _sumXLogZ += x * lz;
            _sumLogZ += lz;
        }
        var distinct = counts.Keys.Order().ToArray();
        foreach (int x in distinct)
        {
            _sumXLogX += counts[x] * x * Math.Log(x);
        }
        _groupX = distinct;
        _groupCount = [.. distinct.Select(x => counts[x])];
    }

    public double MeanObjective(ReadOnlySpan<double> u, Span<double> gradU, double penalizer)
    {
        double p = Math.Exp(u[0]), q = Math.Exp(u[1]), g = Math.Exp(u[2]);
        var grad = new double[3];
        double ll = Evaluate(p, q, g, grad);
        ReadOnlySpan<double> theta = [p, q, g];
        double pen = 0;
        for (int i = 0; i < 3; i++)
        {
            pen += theta[i] * theta[i];
            gradU[i] = (-grad[i] / _n + 2 * penalizer * theta[i]) * theta[i];
        }
        return -ll / _n + penalizer * pen;
    }

    public double[] TotalObjectiveNaturalGradient(double[] theta, double penalizer)
    {
        var g = new double[3];
        Evaluate(theta[0], theta[1], theta[2], g);
        for (int i = 0; i < 3; i++)
        {
            g[i] = -g[i] + _n * 2 * penalizer * theta[i];
        }
        return g;
    }

    /// <summary>Total log-likelihood; writes ∂ℓ/∂(p, q, γ) into <paramref name="grad"/>.</summary>
    public double Evaluate(double p, double q, double gamma, double[] grad)
    {
        double lnGamma = Math.Log(gamma);
        double ll = -_n * SpecialFunctions.GammaLn(q) + _n * q * lnGamma + p * (_sumXLogZ + _sumXLogX) - _sumLogZ;
        double dp = _sumXLogZ + _sumXLogX;
        double dq = -_n * SpecialFunctions.DiGamma(q) + _n * lnGamma;
        double dg = _n * q / gamma;
        for (int k = 0; k < _groupX.Length; k++)
        {
            double x = _groupX[k], c = _groupCount[k];
            double psiPxq = SpecialFunctions.DiGamma(p * x + q);
            ll += c * (SpecialFunctions.GammaLn(p * x + q) - SpecialFunctions.GammaLn(p * x));
            dp += c * x * (psiPxq - SpecialFunctions.DiGamma(p * x));
            dq += c * psiPxq;
        }

        int chunks = (_x.Length + ChunkSize - 1) / ChunkSize;
        var partial = new double[chunks * 4];
        if (chunks > 1)
        {
            Parallel.For(0, chunks, k => RowChunk(k, p, q, gamma, partial));
        }
        else if (chunks == 1)
        {
            RowChunk(0, p, q, gamma, partial);
        }
        for (int k = 0; k < chunks; k++)
        {
            ll += partial[4 * k];
            dp += partial[4 * k + 1];
            dq += partial[4 * k + 2];
            dg += partial[4 * k + 3];
        }
        grad[0] = dp;
        grad[1] = dq;
        grad[2] = dg;
        return ll;
    }

    private void RowChunk(int chunk, double p, double q, double gamma, double[] partial)
    {
        int start = chunk * ChunkSize;
        int end = Math.Min(start + ChunkSize, _x.Length);
        double ll = 0, dp = 0, dq = 0, dg = 0;
        for (int i = start; i < end; i++)
        {
            double x = _x[i];
            double sg = _s[i] + gamma;
            double l = Math.Log(sg);
            double shape = p * x + q;
            ll -= shape * l;
            dp -= x * l;
            dq -= l;
            dg -= shape / sg;
        }
        partial[4 * chunk] = ll;
        partial[4 * chunk + 1] = dp;
        partial[4 * chunk + 2] = dq;
        partial[4 * chunk + 3] = dg;
    }
}
