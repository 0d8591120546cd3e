using System.Globalization;

namespace Pipeline.Config;

/// <summary>Analytics time unit: the unit of frequency, recency, T and LTV horizons.</summary>
public enum AnalyticsTimeUnit
{
    Day,
    Week,
}

/// <summary>The grain of order rows (orders.grain).</summary>
public enum OrderGrain
{
    /// <summary>Line-level when quantity and unit_price are present and total_amount is not.</summary>
    Auto,
    Order,
    Line,
}

/// <summary>What becomes of IP addresses (events.ip).</summary>
public enum IpHandling
{
    /// <summary>Not kept at all.</summary>
    Drop,

    /// <summary>A keyed hash of the /24 (IPv4) or /48 (IPv6) prefix.</summary>
    NetworkKey,
}

/// <summary>The data-quality rules a cleaning stage applies, typed.</summary>
/// <param name="MaxQuarantineShare">quality.max_quarantine_share.</param>
/// <param name="FutureTolerance">quality.future_tolerance_minutes.</param>
/// <param name="MinValidDate">quality.min_valid_date.</param>
/// <param name="AllowEmptyInput">quality.allow_empty_input.</param>
public sealed record QualitySettings(double MaxQuarantineShare, TimeSpan FutureTolerance, DateOnly MinValidDate, bool AllowEmptyInput);

/// <summary>
/// The typed values of a configuration that <see cref="ConfigLoader.Validate"/> accepted: dates, instants, durations
/// and enums are parsed here, once, for the stages' settings. A stage never parses a configuration string.
/// </summary>
public static class ConfigValues
{
    /// <summary>The configured reference "now", or null for the clock.</summary>
    public static DateTimeOffset? Now(PipelineConfig c) =>
        c.Now is null ? null : DateTimeOffset.Parse(c.Now, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>analytics.as_of, or null for the default (the last order date).</summary>
    public static DateOnly? AsOf(PipelineConfig c) => c.Analytics.AsOf is null ? null : Date(c.Analytics.AsOf);

    public static OrderGrain Grain(PipelineConfig c) => c.Orders.Grain switch
    {
        "order" => OrderGrain.Order,
        "line" => OrderGrain.Line,
        _ => OrderGrain.Auto,
    };

    public static IpHandling Ip(PipelineConfig c) => c.Events.Ip == "network_key" ? IpHandling.NetworkKey : IpHandling.Drop;

    public static AnalyticsTimeUnit TimeUnit(PipelineConfig c) => c.Analytics.TimeUnit == "week" ? AnalyticsTimeUnit.Week : AnalyticsTimeUnit.Day;

    public static QualitySettings Quality(PipelineConfig c) => new(
        c.Quality.MaxQuarantineShare,
        TimeSpan.FromMinutes(c.Quality.FutureToleranceMinutes),
        Date(c.Quality.MinValidDate),
        c.Quality.AllowEmptyInput);

    /// <summary>A YYYY-MM-DD date (validated before; a malformed one here is a bug, not a user error).</summary>
    public static DateOnly Date(string value) => DateOnly.ParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The days of an <c>alerts.calendar</c> key (a date or a range <c>first..last</c>), or null when it is not one.</summary>
    public static IReadOnlyList<DateOnly>? CalendarDays(string key)
    {
        static DateOnly? Parse(string v) =>
            DateOnly.TryParseExact(v.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
        var parts = key.Split("..");
        if (parts.Length is < 1 or > 2 || Parse(parts[0]) is not { } first)
        {
            return null;
        }
        var last = parts.Length == 2 ? Parse(parts[1]) : first;
        if (last is not { } l || l < first || l.DayNumber - first.DayNumber > 365)
        {
            return null;
        }
        return Enumerable.Range(0, l.DayNumber - first.DayNumber + 1).Select(first.AddDays).ToList();
    }

    /// <summary>alerts.calendar as day → event name (a day in two entries gets both names, ordinal order, joined by " / ").</summary>
    public static SortedDictionary<DateOnly, string> Calendar(PipelineConfig c)
    {
        var days = new SortedDictionary<DateOnly, SortedSet<string>>();
        foreach (var (key, name) in c.Alerts.Calendar)
        {
            foreach (var d in CalendarDays(key) ?? [])
            {
                if (!days.TryGetValue(d, out var names))
                {
                    days[d] = names = new SortedSet<string>(StringComparer.Ordinal);
                }
                names.Add(name);
            }
        }
        return new SortedDictionary<DateOnly, string>(days.ToDictionary(kv => kv.Key, kv => string.Join(" / ", kv.Value)));
    }
}
