using System.Globalization;

namespace Pipeline.Tests.Support;

/// <summary>
/// clean/identities as published and as its definition says it should be, one "key|customer|first|last" line per
/// anonymous key: what the incremental and identity tests compare (instants as UTC text to the microsecond).
/// </summary>
internal static class PublishedIdentities
{
    /// <summary>The published table, in file order.</summary>
    public static List<string> Read(string output) =>
        ParquetTable.Read(Path.Combine(output, "clean", "identities"))
            .Select(r => string.Join('|', r["anonymous_key"], r["customer_id"] ?? "NULL", Instant(r["first_seen"]), Instant(r["last_seen"])))
            .ToList();

    /// <summary>The definition, over the published events: per key the customer of its latest event with one, its first and last event.</summary>
    public static List<string> OfEvents(string output) =>
        ParquetTable.Read(Path.Combine(output, "clean", "events"))
            .GroupBy(e => (string)e["anonymous_key"]!)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => string.Join('|', g.Key,
                g.Where(e => e["customer_id"] is not null).MaxBy(e => Instant(e["occurred_at"]))?["customer_id"] ?? "NULL",
                g.Min(e => Instant(e["occurred_at"])), g.Max(e => Instant(e["occurred_at"]))))
            .ToList();

    /// <summary>An instant as read back from Parquet, as UTC text to the microsecond (sorts as it compares).</summary>
    public static string Instant(object? v) => v switch
    {
        null => "NULL",
        DateTime t => (t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : t).ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture)!,
    };
}
