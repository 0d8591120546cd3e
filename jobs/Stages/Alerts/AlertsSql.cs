using Pipeline.Engine;

namespace Pipeline.Stages.Alerts;

/// <summary>The daily aggregates the detector watches, read from the KPI tables, sessions and clean events.</summary>
public static class AlertsSql
{
    /// <summary>kpi/daily: the overall counts and amounts per day.</summary>
    public static string Daily(ISqlDialect d, string dailyRelation) => $"""
        SELECT kpi_date, CAST(sessions AS DOUBLE) AS sessions, CAST(orders AS DOUBLE) AS orders, CAST(revenue AS DOUBLE) AS revenue,
               CAST(new_customers AS DOUBLE) AS new_customers, CAST(natural_sessions AS DOUBLE) AS natural_sessions
        FROM {dailyRelation}
        ORDER BY kpi_date NULLS LAST
        """;

    /// <summary>kpi/channels: per day and channel (spend NULL without an ad spend input).</summary>
    public static string Channels(ISqlDialect d, string channelsRelation) => $"""
        SELECT kpi_date, channel, CAST(sessions AS DOUBLE) AS sessions, CAST(orders AS DOUBLE) AS orders, CAST(revenue AS DOUBLE) AS revenue,
               CAST(new_customers AS DOUBLE) AS new_customers, CAST(spend AS DOUBLE) AS spend
        FROM {channelsRelation}
        ORDER BY kpi_date NULLS LAST, channel NULLS LAST
        """;

    /// <summary>sessions: per start date and device type, sessions, converted sessions and natural sessions.</summary>
    public static string Devices(ISqlDialect d, string sessionsRelation) => $"""
        SELECT session_date, COALESCE(device_type, {d.Str("unknown")}) AS device,
               CAST(count(*) AS DOUBLE) AS sessions,
               CAST(sum(CASE WHEN is_converted THEN 1 ELSE 0 END) AS DOUBLE) AS converted,
               CAST(sum(CASE WHEN is_natural THEN 1 ELSE 0 END) AS DOUBLE) AS natural_sessions
        FROM {sessionsRelation}
        GROUP BY session_date, COALESCE(device_type, {d.Str("unknown")})
        ORDER BY session_date NULLS LAST, device NULLS LAST
        """;

    /// <summary>
    /// sessions: per start date and landing-page group (the first segment of the landing path, lower case: <c>/p</c>,
    /// <c>/c</c>, <c>/</c>; <c>unknown</c> without a path), sessions, converted sessions and natural sessions.
    /// </summary>
    public static string LandingGroups(ISqlDialect d, string sessionsRelation) => $"""
        WITH grouped AS (
          SELECT session_date, is_converted, is_natural,
                 COALESCE(lower({d.RegexExtract("landing_page_path", "^/[^/?#;]*", 0)}), {d.Str("unknown")}) AS landing_group
          FROM {sessionsRelation}
        )
        SELECT session_date, landing_group,
               CAST(count(*) AS DOUBLE) AS sessions,
               CAST(sum(CASE WHEN is_converted THEN 1 ELSE 0 END) AS DOUBLE) AS converted,
               CAST(sum(CASE WHEN is_natural THEN 1 ELSE 0 END) AS DOUBLE) AS natural_sessions
        FROM grouped
        GROUP BY session_date, landing_group
        ORDER BY session_date NULLS LAST, landing_group NULLS LAST
        """;

    /// <summary>clean/events: per UTC date, the hours of the day with at least one kept event (a tracking gap lowers it).</summary>
    public static string EventHours(ISqlDialect d, string eventsRelation) => $"""
        SELECT event_date, CAST(count(DISTINCT {TimeSql.HourOf(d, "occurred_at")}) AS DOUBLE) AS hours
        FROM {eventsRelation}
        GROUP BY event_date
        ORDER BY event_date NULLS LAST
        """;

    /// <summary>The hours with events per day as clean-clicks counted them (clean/event_days' active_hours).</summary>
    public static string EventHoursOfDays(string eventDaysRelation) =>
        $"SELECT event_date, CAST(active_hours AS DOUBLE) AS hours FROM {eventDaysRelation} ORDER BY event_date NULLS LAST";

    /// <summary>Days of clean/event_days with active_hours (NULL on days published before the column existed).</summary>
    public static string DaysWithHours(string eventDaysRelation) =>
        $"SELECT event_date FROM {eventDaysRelation} WHERE active_hours IS NOT NULL";

    /// <summary>clean/event_days: per UTC date, rows read, quarantined, unique valid rows (read − quarantined − duplicates) and bots.</summary>
    public static string EventDays(ISqlDialect d, string eventDaysRelation) => $"""
        SELECT event_date, CAST(rows_read AS DOUBLE) AS rows_read, CAST(rows_quarantined AS DOUBLE) AS rows_quarantined,
               CAST(rows_read - rows_quarantined - duplicates AS DOUBLE) AS unique_rows,
               CAST(bots_user_agent + bots_event_rate AS DOUBLE) AS bots
        FROM {eventDaysRelation}
        ORDER BY event_date NULLS LAST
        """;

    /// <summary>A metrics file registered as a raw input: its rows that the reader could parse, every column as text.</summary>
    public static string MetricsRows(ISqlDialect d, string rawRelation, IReadOnlyList<string> columns) => $"""
        SELECT _source_line, {string.Join(", ", columns.Select(d.Id))}
        FROM {rawRelation}
        WHERE _parse_error IS NULL
        ORDER BY _source_file NULLS LAST, _source_line NULLS LAST
        """;

    /// <summary>How many rows of the raw metrics input the reader could not parse, and the first one's line.</summary>
    public static string MetricsParseErrors(ISqlDialect d, string rawRelation) => $"""
        SELECT count(*), min(_source_line) FROM {rawRelation} WHERE _parse_error IS NOT NULL
        """;
}
