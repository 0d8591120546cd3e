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
}
