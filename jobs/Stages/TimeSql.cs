using Pipeline.Engine;

namespace Pipeline.Stages;

/// <summary>Time in SQL shared by stages that must count it the same way.</summary>
public static class TimeSql
{
    /// <summary>
    /// The hour since the epoch of a timestamp (UTC): counted distinct per day, the day's hours with events. clean-clicks
    /// counts clean/event_days' active_hours with it, and the alerts count the same hours from clean/events with it on an
    /// output whose event_days predates that column.
    /// </summary>
    public static string HourOf(ISqlDialect d, string timestamp) => d.IntegerDivide(d.EpochMicros(timestamp), "CAST(3600000000 AS BIGINT)");
}
