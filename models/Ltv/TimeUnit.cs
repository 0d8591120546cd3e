namespace Pipeline.Models.Ltv;

/// <summary>
/// The unit in which recency, T, horizons and holdout lengths are expressed.
/// </summary>
/// <remarks>
/// Every fitted parameter that carries a time dimension (α of BG/NBD) is only meaningful in the unit of the
/// summary it was fitted on, so the unit travels with the summary instead of being assumed (the classic
/// pitfall is a hard-coded 30-day month applied to weekly data).
/// </remarks>
public enum TimeUnit
{
    /// <summary>One calendar day.</summary>
    Day = 0,

    /// <summary>Seven days; durations are days / 7 and stay fractional (no rounding to whole weeks).</summary>
    Week = 1,
}

/// <summary>Conversions between calendar dates and <see cref="TimeUnit"/> durations.</summary>
public static class TimeUnits
{
    /// <summary>Number of days in one <paramref name="unit"/>.</summary>
    public static double DaysPer(TimeUnit unit) => unit switch
    {
        TimeUnit.Day => 1.0,
        TimeUnit.Week => 7.0,
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit, "Unknown time unit; use Day or Week."),
    };

    /// <summary>Duration from <paramref name="from"/> to <paramref name="to"/> in <paramref name="unit"/> (negative when <paramref name="to"/> is earlier).</summary>
    public static double Between(DateOnly from, DateOnly to, TimeUnit unit) =>
        (to.DayNumber - from.DayNumber) / DaysPer(unit);
}
