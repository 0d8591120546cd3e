namespace Pipeline.Models.Experiments;

/// <summary>
/// One variant's summary of a per-unit metric: units, the metric's mean and its per-unit variance. Every test in this
/// folder works on these three numbers, so a mean metric, a proportion and a ratio metric (after the delta method) are
/// compared the same way. The variance of the variant's mean is <see cref="Variance"/> / <see cref="N"/>.
/// </summary>
/// <param name="N">Units (people) in the variant.</param>
/// <param name="Mean">The metric's value for the variant (mean per unit, rate, or Σ numerator / Σ denominator).</param>
/// <param name="Variance">Per-unit variance of the metric (sample variance with divisor n − 1 for means and ratios, p(1 − p) for proportions).</param>
public readonly record struct SampleStats(long N, double Mean, double Variance)
{
    /// <summary>A mean metric from its sums over units: mean Σx/n, sample variance (Σx² − (Σx)²/n)/(n − 1).</summary>
    public static SampleStats FromSums(long n, double sum, double sumSquares)
    {
        if (n <= 0)
        {
            return new SampleStats(0, double.NaN, double.NaN);
        }
        var mean = sum / n;
        var variance = n > 1 ? Math.Max(0.0, (sumSquares - sum * sum / n) / (n - 1)) : 0.0;
        return new SampleStats(n, mean, variance);
    }

    /// <summary>A proportion (units with the event / units): p and the Bernoulli variance p(1 − p) (divisor n, as GrowthBook).</summary>
    public static SampleStats FromProportion(long successes, long n)
    {
        if (n <= 0)
        {
            return new SampleStats(0, double.NaN, double.NaN);
        }
        var p = (double)successes / n;
        return new SampleStats(n, p, p * (1 - p));
    }

    /// <summary>
    /// A ratio metric Σnumerator/Σdenominator over units (e.g. average order value = revenue / orders, the unit a
    /// person): the per-unit variance by the delta method,
    /// Var(M/D) ≈ v_m/μ_d² + v_d·μ_m²/μ_d⁴ − 2·c_md·μ_m/μ_d³, with sample (n − 1) moments. NaN mean without denominator.
    /// </summary>
    public static SampleStats FromRatio(long n, double numeratorSum, double numeratorSumSquares, double denominatorSum,
        double denominatorSumSquares, double numeratorDenominatorSumProduct)
    {
        if (n <= 1 || denominatorSum == 0)
        {
            return new SampleStats(n, denominatorSum == 0 ? double.NaN : numeratorSum / denominatorSum, double.NaN);
        }
        double mm = numeratorSum / n, md = denominatorSum / n;
        var vm = (numeratorSumSquares - numeratorSum * numeratorSum / n) / (n - 1);
        var vd = (denominatorSumSquares - denominatorSum * denominatorSum / n) / (n - 1);
        var cmd = (numeratorDenominatorSumProduct - numeratorSum * denominatorSum / n) / (n - 1);
        var variance = vm / (md * md) + vd * mm * mm / Math.Pow(md, 4) - 2 * cmd * mm / Math.Pow(md, 3);
        return new SampleStats(n, mm / md, Math.Max(0.0, variance));
    }
}
