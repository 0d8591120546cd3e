namespace Pipeline.Models.Alerts;

/// <summary>
/// Whether a count is unusual for a Poisson count of its expectation. The detector's band comes from the window's own
/// spread, which for small counts (a channel's 0–3 orders a day, a conversion rate of 1 order in 40 sessions, an hour
/// or two without events in a quiet night) is too narrow or zero, so a day of 4 orders against an expected 1 would
/// alert. The signed deviance residual of a Poisson count x of mean λ, sign(x − λ) × √(2 (x ln(x/λ) − (x − λ))), is
/// close to a standard normal deviate in the tails even for small λ (it is the likelihood-ratio statistic; e.g. x = 10
/// at λ = 1 gives 5.3, the exact tail P = 1.1e-7 is 5.2 standard deviations): a flagged day of a count, or of a rate of
/// counts, keeps at most the severity of that deviate. λ is floored at <see cref="MinMean"/> (a series that is usually
/// 0 is not certain to stay 0).
/// </summary>
public static class CountNoise
{
    /// <summary>The smallest Poisson mean a count is compared with. 0.5.</summary>
    public const double MinMean = 0.5;

    /// <summary>The signed deviance residual of <paramref name="observed"/> against a Poisson mean <paramref name="expected"/> (floored at <see cref="MinMean"/>; a negative count reads as 0).</summary>
    public static double Score(double observed, double expected)
    {
        var x = Math.Max(observed, 0);
        var lambda = Math.Max(expected, MinMean);
        var deviance = 2 * ((x > 0 ? x * Math.Log(x / lambda) : 0) - (x - lambda));
        return Math.Sign(x - lambda) * Math.Sqrt(Math.Max(deviance, 0));
    }

    /// <summary>The lower of <paramref name="severity"/> and the severity of the Poisson deviate at the same sensitivities.</summary>
    public static Severity Cap(Severity severity, double observed, double expected, double sensitivity, double criticalSensitivity)
    {
        var z = Math.Abs(Score(observed, expected));
        var poisson = z >= criticalSensitivity ? Severity.Critical : z >= sensitivity ? Severity.Warning : Severity.None;
        return poisson < severity ? poisson : severity;
    }

    /// <summary>
    /// A count whose units arrive in clusters (bot events come a crawler at a time, quarantined rows a broken file or
    /// release at a time), judged against a window of days before it: its Pearson residual (x − λ) ⁄ √(φ λ), where λ =
    /// the window's pooled rate (Σ counts ÷ Σ exposure) × the day's exposure (at least <see cref="MinMean"/>) and φ the
    /// window's quasi-Poisson dispersion, the mean of its days' squared Pearson residuals (at least 1). A Poisson band
    /// is far too narrow for such counts: a shop whose bots are 0 events on most days and a crawler's 50 on some has φ in
    /// the tens, a shop with steady bot traffic a small one. A mean, not a median: the clusters are what it measures (a
    /// past storm widens the bands while it is in the window). 0 with fewer than 7 usable days.
    /// </summary>
    /// <param name="counts">The window's counts (NaN: a day left out).</param>
    /// <param name="exposure">The window's exposures (the denominator of a rate; 1 for a plain count).</param>
    /// <param name="count">The day's count.</param>
    /// <param name="dayExposure">The day's exposure.</param>
    public static double ClusteredScore(ReadOnlySpan<double> counts, ReadOnlySpan<double> exposure, double count, double dayExposure)
    {
        double sumCounts = 0, sumExposure = 0;
        var n = 0;
        for (var j = 0; j < counts.Length; j++)
        {
            if (double.IsFinite(counts[j]) && double.IsFinite(exposure[j]) && exposure[j] > 0)
            {
                sumCounts += Math.Max(counts[j], 0);
                sumExposure += exposure[j];
                n++;
            }
        }
        if (n < 7 || !double.IsFinite(count) || !(dayExposure > 0))
        {
            return 0;
        }
        var rate = sumCounts / sumExposure;
        double sum = 0;
        for (var j = 0; j < counts.Length; j++)
        {
            if (double.IsFinite(counts[j]) && double.IsFinite(exposure[j]) && exposure[j] > 0)
            {
                var l = Math.Max(rate * exposure[j], MinMean);
                var r = Math.Max(counts[j], 0) - l;
                sum += r * r / l;
            }
        }
        var dispersion = Math.Max(1, sum / n);
        var lambda = Math.Max(rate * dayExposure, MinMean);
        return (Math.Max(count, 0) - lambda) / Math.Sqrt(dispersion * lambda);
    }
}
