using System.Globalization;
using Pipeline.Engine;

namespace Pipeline.Stages.Events;

/// <summary>
/// The SQL of a sliced full run (<see cref="SlicedCleanClicks"/>) that the one-pass run does not need: the typed rows
/// written as scratch Parquet, the whole-history key work (duplicates by event id, rate bots, identities) on
/// narrow columns, and each slice's rows. Everything else (typing, sessions, the marts) is <see cref="EventsSql"/>'s,
/// unchanged, so both runs share one definition of the rules.
/// </summary>
public static class EventsSliceSql
{
    /// <summary>
    /// The typed rows as the scratch files hold them, valid and rejected together, with <c>valid_at</c>: occurred_at
    /// of the valid rows only. The slices select their rows by a range of it, which the row groups' statistics narrow to
    /// the row groups that hold it; a rejected row's time (year 1970, or 2099) would widen its row group's range of
    /// occurred_at to the whole history.
    /// </summary>
    public static string Scratch(string typed) =>
        $"SELECT t.*, CASE WHEN t.reason_code IS NULL THEN t.occurred_at END AS valid_at FROM ({typed}) t";

    /// <summary>The valid rows of the scratch.</summary>
    public static string Valid(string scratch) => $"(SELECT * FROM {scratch} WHERE reason_code IS NULL)";

    /// <summary>
    /// The rejected rows of the scratch, with the columns the quarantine reads (<see cref="EventsSql.RejectedColumns"/>):
    /// this scans every typed row of the history, and <c>SELECT *</c> made it decompress all thirty-odd columns of
    /// them for the few rejected rows (14.7 s at 100M events).
    /// </summary>
    public static string Rejected(string scratch) => $"SELECT {EventsSql.RejectedColumns} FROM {scratch} s WHERE reason_code IS NOT NULL";

    /// <summary>The valid scratch rows of the UTC days <paramref name="first"/> to <paramref name="last"/>: a range of valid_at.</summary>
    public static string DayRange(ISqlDialect d, string scratch, DateOnly first, DateOnly last) =>
        $"(SELECT * FROM {scratch} WHERE valid_at >= {EventsIdentitySql.Instant(d, first)} AND valid_at < {EventsIdentitySql.Instant(d, last.AddDays(1))})";

    /// <summary>
    /// Hashes of event ids seen more than once in the whole history: a narrow aggregate (8 bytes a row). Two ids may
    /// share a hash; <see cref="Losers"/> compares the ids themselves, so a collision costs a few rows, never a wrong answer.
    /// </summary>
    public static string DuplicateHashes(ISqlDialect d, string valid) => $"""
        SELECT {d.Hash64("event_id")} AS h
        FROM {valid} v
        GROUP BY {d.Hash64("event_id")}
        HAVING count(*) > 1
        """;

    /// <summary>
    /// Every copy of an event id but the first (by occurred_at, then file and line: the one-pass rule of
    /// <see cref="EventsSql.Kept"/>), as (file, line): the rows dedup drops, whatever slice they are in.
    /// </summary>
    public static string Losers(ISqlDialect d, string valid) => $"""
        WITH candidates AS (
          SELECT v._source_file, v._source_line, v.event_id, v.occurred_at
          FROM {valid} v JOIN events_duplicate_hashes k ON k.h = {d.Hash64("v.event_id")}
        ),
        ranked AS (
          SELECT candidates.*, row_number() OVER (PARTITION BY event_id
                   ORDER BY occurred_at ASC NULLS LAST, _source_file ASC NULLS LAST, _source_line ASC NULLS LAST) AS copy_rank
          FROM candidates
        )
        SELECT _source_file, _source_line, occurred_at FROM ranked WHERE copy_rank > 1
        """;

    /// <summary>The duplicates dropped, per UTC day of their own timestamp (clean/event_days).</summary>
    public static string LoserDays(ISqlDialect d, EventsSqlOptions o) =>
        $"SELECT {EventsSql.DayIndex(d, o, "occurred_at")} AS day, count(*) AS n FROM events_losers GROUP BY {EventsSql.DayIndex(d, o, "occurred_at")}";

    /// <summary>A slice's first copies flagged by their user agent, per UTC day (clean/event_days).</summary>
    public static string UserAgentBotDays(ISqlDialect d, EventsSqlOptions o) =>
        $"SELECT {EventsSql.DayIndex(d, o, "occurred_at")} AS day, count(*) AS n FROM events_slice_firsts WHERE is_ua_bot GROUP BY {EventsSql.DayIndex(d, o, "occurred_at")}";

    /// <summary>The events of too-long sessions per UTC day (clean/event_days).</summary>
    public static string TooLongDays(ISqlDialect d, EventsSqlOptions o) =>
        $"SELECT {EventsSql.DayIndex(d, o, "occurred_at")} AS day, count(*) AS n FROM events_too_long GROUP BY {EventsSql.DayIndex(d, o, "occurred_at")}";

    /// <summary>The staged clean events per date and their hours with events (clean/event_days; a DATE, which <see cref="EventDays"/> also takes).</summary>
    public static string WrittenDays(ISqlDialect d, string eventsRelation) =>
        $"SELECT event_date AS day, count(*) AS n, count(DISTINCT {TimeSql.HourOf(d, "occurred_at")}) AS active_hours FROM {eventsRelation} GROUP BY event_date";

    /// <summary>A slice's first copies, narrow: what the rate rule and the identities need.</summary>
    public static string Firsts(string slice) => $"""
        SELECT t._source_file, t._source_line, t.occurred_at, t.anon_src, t.user_id_s, t.is_ua_bot
        FROM {slice} t
        LEFT JOIN events_losers l ON l._source_file = t._source_file AND l._source_line = t._source_line
        WHERE l._source_line IS NULL
        """;

    /// <summary>First copies flagged by their user agent, in this slice.</summary>
    public static string UserAgentBots() => "SELECT count(*) FROM events_slice_firsts WHERE is_ua_bot";

    /// <summary>
    /// Per anonymous id of this slice: the last user_id it was seen with and when (combined by <see cref="Identities"/>),
    /// and its first copies that are not user-agent bots (all of them rate bots if the id turns out fast).
    /// </summary>
    public static string IdentityPart(ISqlDialect d) => $"""
        SELECT anon_src,
               max_by(user_id_s, CASE WHEN user_id_s IS NOT NULL THEN {d.EpochMicros("occurred_at")} END) AS user_id_s,
               max(CASE WHEN user_id_s IS NOT NULL THEN {d.EpochMicros("occurred_at")} END) AS user_us,
               count(*) AS events
        FROM events_slice_firsts WHERE NOT is_ua_bot
        GROUP BY anon_src
        """;

    /// <summary>
    /// The whole history's <c>events_identities</c> (see <see cref="EventsSql.Identities"/>) from the slices' parts:
    /// human anonymous ids only, each with its last user_id and its key.
    /// </summary>
    public static string Identities(ISqlDialect d) => $"""
        SELECT i.anon_src, {TypedInputSql.PseudonymousId(d, "i.stitched_customer")} AS stitched_customer, {d.HmacHex("i.anon_src")} AS anonymous_key
        FROM (
          SELECT p.anon_src, max_by(p.user_id_s, p.user_us) AS stitched_customer
          FROM events_identity_parts p
          WHERE p.anon_src NOT IN (SELECT anon_src FROM events_fast)
          GROUP BY p.anon_src
        ) i CROSS JOIN _hmac_key k
        """;

    /// <summary>
    /// A slice's human events with their payload (the typed columns): first copies, neither bot rule, plus the events
    /// of the sessions still open at the end of the slice before (<c>events_carry</c>).
    /// </summary>
    public static string SliceTyped(string slice, bool withCarry) => $"""
        SELECT t.*
        FROM {slice} t
        LEFT JOIN events_losers l ON l._source_file = t._source_file AND l._source_line = t._source_line
        WHERE l._source_line IS NULL AND NOT t.is_ua_bot AND t.anon_src NOT IN (SELECT anon_src FROM events_fast)
        {(withCarry ? "UNION ALL SELECT * FROM events_carry" : "")}
        """;

    /// <summary>First copies of the whole history excluded by the rate rule (from the slices' identity parts).</summary>
    public static string RateBots() =>
        "SELECT CAST(coalesce(sum(events), 0) AS BIGINT) FROM events_identity_parts WHERE anon_src IN (SELECT anon_src FROM events_fast)";

    /// <summary>The slice's events as <see cref="EventsSql.Sessionized"/> reads them (all human: bot_rule NULL).</summary>
    public static string Kept(ISqlDialect d) => $"""
        SELECT _source_file, _source_line, event_id, occurred_at, anon_src, user_id_s, event_type, event_channel, page_key,
               CAST(NULL AS {d.StringType}) AS bot_rule
        FROM events_typed
        """;

    /// <summary>
    /// True for the events of sessions closed at <paramref name="sliceEnd"/>: their last event is more than the session
    /// timeout before it, so no later event can join them (a later event is at or after the slice's end).
    /// </summary>
    public static string Closed(ISqlDialect d, EventsSqlOptions o, DateOnly sliceEnd)
    {
        var endUs = (new DateTimeOffset(sliceEnd.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) - DateTimeOffset.UnixEpoch).Ticks / 10;
        var timeoutUs = (long)(o.SessionTimeout.TotalMilliseconds * 1000);
        return $"{d.EpochMicros("n.session_ended_at")} < {(endUs - timeoutUs).ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The typed rows of the sessions still open: carried into the next slice, whose events may continue them.</summary>
    public static string Carry(string closed) => $"""
        SELECT t.*
        FROM events_typed t JOIN events_sessionized n ON n._source_file = t._source_file AND n._source_line = t._source_line
        WHERE NOT ({closed})
        """;

    /// <summary>When the earliest open session started (NULL when none is open): no earlier date can receive rows.</summary>
    public static string EarliestOpenStart(string closed) =>
        $"SELECT min(n.session_started_at) FROM events_sessionized n WHERE NOT ({closed})";
}
