namespace Pipeline.Models.Alerts;

/// <summary>
/// Whether a count is unusual for a Poisson count of its expectation: the detector's band comes from the window's own
/// spread, which for small counts (a channel's 0–3 orders a day, a conversion rate of 1 order in 40 sessions) is too
/// narrow or zero, so a day of 4 orders against an expected 1 would alert. The Anscombe transform
/// 2(√(x + 3/8) − √(λ + 3/8)) of a Poisson count x of mean λ is close to a standard normal deviate even for small λ
/// (Anscombe 1948): a flagged day of a count, or of a rate of counts, is kept only when that deviate is also beyond the
/// sensitivity.
/// </summary>
public static class CountNoise
{
    /// <summary>The Anscombe deviate of <paramref name="observed"/> against a Poisson mean <paramref name="expected"/> (negatives read as 0).</summary>
    public static double Score(double observed, double expected) =>
        2 * (Math.Sqrt(Math.Max(observed, 0) + 0.375) - Math.Sqrt(Math.Max(expected, 0) + 0.375));

    /// <summary>The lower of <paramref name="severity"/> and the severity of the Poisson deviate at the same sensitivities.</summary>
    public static Severity Cap(Severity severity, double observed, double expected, double sensitivity, double criticalSensitivity)
    {
        var z = Math.Abs(Score(observed, expected));
        var poisson = z >= criticalSensitivity ? Severity.Critical : z >= sensitivity ? Severity.Warning : Severity.None;
        return poisson < severity ? poisson : severity;
    }
}
