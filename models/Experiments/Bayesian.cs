using MathNet.Numerics.Distributions;

namespace Pipeline.Models.Experiments;

/// <summary>A Gaussian prior on the effect (in the effect's own units: relative for a relative effect).</summary>
public sealed record GaussianPrior(double Mean, double Variance);

/// <summary>
/// The posterior of an effect under GrowthBook's "effect" model: the likelihood is the normal approximation
/// N(estimate, se²) of the frequentist (delta-method) estimate; with the default improper flat prior the posterior is the
/// likelihood, a proper Gaussian prior combines by precision.
/// </summary>
/// <param name="Mean">Posterior mean of the effect.</param>
/// <param name="Sd">Posterior standard deviation.</param>
/// <param name="CiLower">Lower bound of the credible interval (normal quantile).</param>
/// <param name="CiUpper">Upper bound.</param>
/// <param name="ChanceToWin">P(effect &gt; 0) = Φ(mean/sd): the chance that the treatment beats control.</param>
/// <param name="RiskControl">Expected loss of keeping control, E max(Δ, 0).</param>
/// <param name="RiskTreatment">Expected loss of shipping the treatment, E max(−Δ, 0).</param>
public sealed record Posterior(double Mean, double Sd, double CiLower, double CiUpper, double ChanceToWin, double RiskControl, double RiskTreatment)
{
    public static readonly Posterior Undefined = new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
}

/// <summary>Bayesian readout of an effect by the normal approximation (as GrowthBook's default engine).</summary>
public static class Bayesian
{
    /// <param name="estimate">The effect's estimate (e.g. <see cref="Effect.Estimate"/>).</param>
    /// <param name="se">Its standard error.</param>
    /// <param name="prior">Null: improper flat prior.</param>
    /// <param name="alpha">1 − the credible interval's level.</param>
    public static Posterior FromEstimate(double estimate, double se, GaussianPrior? prior = null, double alpha = 0.05)
    {
        if (!double.IsFinite(estimate) || !double.IsFinite(se) || se <= 0)
        {
            return Posterior.Undefined;
        }
        double mean = estimate, sd = se;
        if (prior is { } p)
        {
            var precision = 1 / (se * se) + 1 / p.Variance;
            mean = (estimate / (se * se) + p.Mean / p.Variance) / precision;
            sd = Math.Sqrt(1 / precision);
        }
        var z = Normal.InvCDF(0, 1, 1 - alpha / 2);
        var (riskControl, riskTreatment) = Risk(mean, sd);
        return new Posterior(mean, sd, mean - z * sd, mean + z * sd, Normal.CDF(0, 1, mean / sd), riskControl, riskTreatment);
    }

    /// <summary>[E max(Δ, 0), E max(−Δ, 0)] for Δ ~ N(m, s²): m·Φ(m/s) + s·φ(m/s) and −m·Φ(−m/s) + s·φ(m/s).</summary>
    public static (double Control, double Treatment) Risk(double m, double s)
    {
        var phi = Normal.PDF(0, 1, m / s);
        return (m * Normal.CDF(0, 1, m / s) + s * phi, -m * Normal.CDF(0, 1, -m / s) + s * phi);
    }
}
