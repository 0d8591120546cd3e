using Pipeline.Engine;

namespace Pipeline.Stages.Events;

/// <summary>
/// <c>clean/identities</c>: one row per anonymous key of the published <c>clean/events</c>, with the customer it was
/// last stitched to and its first and last event there. The table is, by definition, <see cref="Of"/> over the
/// published events; a full run computes it so from the events it writes, an incremental run maintains it from the
/// previous table and the window's events (<see cref="Merged"/>), and reads it instead of the whole event history to
/// carry identities into its window (<see cref="History"/>).
/// </summary>
/// <remarks>
/// The incremental merge, with F the window's first instant, O the previous table (the aggregate over the previous
/// events), A the aggregate over the window's new events (every date ≥ F is rewritten) and B the aggregate over the
/// previous events before F (the partitions kept): the new table is B ⊕ A. B equals O for a key last seen before F,
/// is empty for a key first seen at or after F, and is only known by reading for a key that straddles F; such a key
/// needs B only if it has no event in the window any more (its old window events became bot or too-long events):
/// <see cref="Straddling"/> finds those (usually none) and <see cref="Of"/> rereads just their events before F. A key
/// with window events takes the window's customer: the window stitched it with O's customer as the fallback, so a
/// NULL there means the key never had one (nor in B).
/// </remarks>
public static class EventsIdentitySql
{
    /// <summary>The table's columns in order.</summary>
    private const string Columns = "anonymous_key, customer_id, first_seen, last_seen";

    /// <summary>
    /// The identities of a set of clean events (<c>anonymous_key, customer_id, occurred_at</c>): per anonymous key, the
    /// customer of its latest event that has one, and its first and last event.
    /// </summary>
    public static string Of(ISqlDialect d, string cleanEvents) => $"""
        SELECT anonymous_key,
               max_by(customer_id, CASE WHEN customer_id IS NOT NULL THEN {d.EpochMicros("occurred_at")} END) AS customer_id,
               min(occurred_at) AS first_seen,
               max(occurred_at) AS last_seen
        FROM {cleanEvents}
        WHERE anonymous_key IS NOT NULL
        GROUP BY anonymous_key
        """;

    /// <summary><see cref="Of"/> in the table's order (what is written).</summary>
    public static string Ordered(string identities) => $"SELECT {Columns} FROM ({identities}) i ORDER BY anonymous_key ASC NULLS LAST";

    /// <summary>An empty identities relation with the table's column types.</summary>
    public static string None(ISqlDialect d) =>
        $"SELECT CAST(NULL AS {d.StringType}) AS anonymous_key, CAST(NULL AS {d.StringType}) AS customer_id, " +
        $"{d.TimestampLiteral(DateTimeOffset.UnixEpoch)} AS first_seen, {d.TimestampLiteral(DateTimeOffset.UnixEpoch)} AS last_seen WHERE 1 = 0";

    /// <summary>A published identities table, read back.</summary>
    public static string Published(string identitiesRelation) => $"SELECT {Columns} FROM {identitiesRelation}";

    /// <summary>
    /// The customer each anonymous key was last stitched to (<c>_identity_history</c>, what an incremental run's
    /// <see cref="EventsSql.Identities"/> falls back to), from an identities relation.
    /// </summary>
    public static string History(string identities) =>
        $"SELECT anonymous_key, customer_id FROM {identities} WHERE customer_id IS NOT NULL";

    /// <summary>
    /// Keys of <paramref name="previous"/> seen before and at or after <paramref name="from"/> that have no event in
    /// <paramref name="window"/>: their identity is what their events before <paramref name="from"/> say.
    /// </summary>
    public static string Straddling(ISqlDialect d, string previous, string window, DateOnly from) => $"""
        SELECT o.anonymous_key
        FROM {previous} o LEFT JOIN {window} a ON a.anonymous_key = o.anonymous_key
        WHERE a.anonymous_key IS NULL AND o.first_seen < {Instant(d, from)} AND o.last_seen >= {Instant(d, from)}
        """;

    /// <summary>How many keys <paramref name="straddling"/> holds.</summary>
    public static string Count(string straddling) => $"SELECT count(*) FROM {straddling}";

    /// <summary>The published events before <paramref name="from"/> of the keys in <paramref name="keys"/> (to reread).</summary>
    public static string EventsBefore(ISqlDialect d, string publishedEvents, string keys, DateOnly from) => $"""
        (SELECT e.anonymous_key, e.customer_id, e.occurred_at
         FROM {publishedEvents} e JOIN {keys} k ON k.anonymous_key = e.anonymous_key
         WHERE e.event_date < {d.DateLiteral(from)}) AS events_before
        """;

    /// <summary>
    /// The new table: the window's keys (first seen from the previous table when it saw them before
    /// <paramref name="from"/>), the previous table's keys last seen before <paramref name="from"/> without window
    /// events, and the reread straddling keys (see the class remarks).
    /// </summary>
    public static string Merged(ISqlDialect d, string previous, string window, string reread, DateOnly from) => Ordered($"""
        SELECT a.anonymous_key,
               coalesce(a.customer_id, o.customer_id) AS customer_id,
               CASE WHEN o.first_seen < {Instant(d, from)} THEN o.first_seen ELSE a.first_seen END AS first_seen,
               a.last_seen
        FROM {window} a LEFT JOIN {previous} o ON o.anonymous_key = a.anonymous_key
        UNION ALL
        SELECT o.anonymous_key, o.customer_id, o.first_seen, o.last_seen
        FROM {previous} o LEFT JOIN {window} a ON a.anonymous_key = o.anonymous_key
        WHERE a.anonymous_key IS NULL AND o.last_seen < {Instant(d, from)}
        UNION ALL
        SELECT {Columns} FROM {reread}
        """);

    /// <summary>The start of a UTC day as a timestamp literal.</summary>
    internal static string Instant(ISqlDialect d, DateOnly day) => d.TimestampLiteral(new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
}
