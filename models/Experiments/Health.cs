using MathNet.Numerics.Distributions;

namespace Pipeline.Models.Experiments;

/// <summary>Sample-ratio mismatch: were units split as intended?</summary>
/// <param name="ChiSquare">Pearson's χ² statistic against the intended weights (k − 1 degrees of freedom, no continuity correction).</param>
/// <param name="PValue">Its p-value.</param>
/// <param name="IsMismatch">p below the threshold (GrowthBook's default 0.001): the split is broken and the result should not be trusted.</param>
public sealed record SrmResult(double ChiSquare, double PValue, bool IsMismatch);

/// <summary>Experiment health checks: sample-ratio mismatch, multiple-comparison correction, power.</summary>
public static class Health
{
    /// <summary>GrowthBook's default SRM threshold.</summary>
    public const double DefaultSrmThreshold = 0.001;

    /// <summary>Pearson χ² goodness of fit of the units per variant against the intended weights (normalised to sum 1).</summary>
    public static SrmResult SampleRatioMismatch(IReadOnlyList<long> units, IReadOnlyList<double> weights, double threshold = DefaultSrmThreshold)
    {
        if (units.Count != weights.Count || units.Count < 2)
        {
            throw new ArgumentException("one intended weight per variant, at least two variants");
        }
        double total = units.Sum(), wsum = weights.Sum();
        if (total == 0)
        {
            return new SrmResult(0, 1, false);
        }
        double chi = 0;
        for (var i = 0; i < units.Count; i++)
        {
            var expected = total * weights[i] / wsum;
            chi += (units[i] - expected) * (units[i] - expected) / expected;
        }
        var p = MathNet.Numerics.SpecialFunctions.GammaUpperRegularized((units.Count - 1) / 2.0, chi / 2);
        return new SrmResult(chi, p, p < threshold);
    }

    /// <summary>
    /// Holm–Bonferroni adjusted p-values (same order as given): sort ascending, adj₍ᵢ₎ = max over j ≤ i of
    /// min(1, (m − j + 1)·p₍ⱼ₎). NaN p-values are left NaN and do not count in m.
    /// </summary>
    public static double[] Holm(IReadOnlyList<double> pValues)
    {
        var result = pValues.ToArray();
        var order = Enumerable.Range(0, pValues.Count).Where(i => !double.IsNaN(pValues[i])).OrderBy(i => pValues[i]).ThenBy(i => i).ToArray();
        var m = order.Length;
        double running = 0;
        for (var j = 0; j < m; j++)
        {
            running = Math.Max(running, Math.Min(1.0, (m - j) * pValues[order[j]]));
            result[order[j]] = running;
        }
        return result;
    }

    /// <summary>
    /// The smallest absolute effect detectable with the given power at the current sample sizes (two-sided test at
    /// level α, normal approximation): (z₁₋α/₂ + z_power)·√(v_c/n_c + v_t/n_t).
    /// </summary>
    public static double MinimumDetectableEffect(SampleStats control, SampleStats treatment, double alpha = 0.05, double power = 0.8)
    {
        if (control.N <= 0 || treatment.N <= 0)
        {
            return double.NaN;
        }
        return (Normal.InvCDF(0, 1, 1 - alpha / 2) + Normal.InvCDF(0, 1, power))
            * Math.Sqrt(control.Variance / control.N + treatment.Variance / treatment.N);
    }

    /// <summary>
    /// Units per variant needed to detect an absolute change <paramref name="mdeAbsolute"/> of a baseline rate (Evan
    /// Miller's calculator): n = (z₁₋α/₂·√(2p(1 − p)) + z_power·√(p(1 − p) + (p + δ)(1 − p − δ)))² / δ².
    /// </summary>
    public static double SampleSizePerVariant(double baseline, double mdeAbsolute, double alpha = 0.05, double power = 0.8)
    {
        double p = baseline, d = mdeAbsolute;
        var a = Normal.InvCDF(0, 1, 1 - alpha / 2) * Math.Sqrt(2 * p * (1 - p));
        var b = Normal.InvCDF(0, 1, power) * Math.Sqrt(p * (1 - p) + (p + d) * (1 - p - d));
        return (a + b) * (a + b) / (d * d);
    }

    /// <summary>
    /// Days more the experiment must run for its minimum detectable effect to reach <paramref name="targetMde"/>, at the
    /// rate units have been arriving: the MDE shrinks as 1/√n, so it needs n·(mde/target)² units; 0 when already there,
    /// NaN when it cannot be said (no units, no days).
    /// </summary>
    public static double DaysNeeded(double currentMde, double targetMde, long units, double daysRun)
    {
        if (!(currentMde >= 0) || !(targetMde > 0) || units <= 0 || !(daysRun > 0))
        {
            return double.NaN;
        }
        if (currentMde <= targetMde)
        {
            return 0;
        }
        var needed = units * (currentMde / targetMde) * (currentMde / targetMde);
        return Math.Ceiling((needed - units) / (units / daysRun));
    }
}
