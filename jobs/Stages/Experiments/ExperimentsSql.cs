using System.Globalization;
using Pipeline.Engine;

namespace Pipeline.Stages.Experiments;

/// <summary>One experiment's window, in epoch microseconds (UTC): exposures in [start, end), outcomes up to outcome_end.</summary>
public sealed record ExperimentWindow(string ExperimentId, long StartUs, long EndUs, long OutcomeEndUs);

/// <summary>Everything the experiments SQL reads besides the dialect.</summary>
/// <param name="EventsRelation">clean/events.</param>
/// <param name="OrdersRelation">clean/orders.</param>
/// <param name="SessionsRelation">sessions.</param>
/// <param name="AssignmentsRelation">The kept assignments (<c>experiment_id, variant, assigned_at, customer_id, anonymous_key</c>: <see cref="ExperimentsSql.AssignmentsKept"/>) to read with the exposure events, or null without an assignments file.</param>
/// <param name="Windows">The experiments read out; exposures of other experiments are ignored.</param>
/// <param name="CupedLookbackUs">Pre-exposure revenue window, in microseconds.</param>
public sealed record ExperimentsSqlOptions(string EventsRelation, string OrdersRelation, string SessionsRelation, string? AssignmentsRelation,
    IReadOnlyList<ExperimentWindow> Windows, long CupedLookbackUs);

/// <summary>Everything the assignments file's SQL depends on besides the dialect.</summary>
/// <param name="SourceTimeZone">Zone of <c>assigned_at</c> values without an offset.</param>
/// <param name="Now">The run's reference time for the future-timestamp rule.</param>
/// <param name="FutureTolerance">Allowed clock skew into the future.</param>
/// <param name="MinValidDate">Earlier timestamps are bad_timestamp.</param>
/// <param name="DeclaredVariants">Per experiment with weights in <c>experiments.definitions</c>: its variants (any other is unknown_variant).</param>
/// <param name="AnonymousIdKeys">The source names of the anonymous id column (redacted in the raw text of rows the reader could not parse).</param>
/// <param name="RunId">Stamped on quarantine rows.</param>
public sealed record AssignmentsSqlOptions(string SourceTimeZone, DateTimeOffset Now, TimeSpan FutureTolerance, DateOnly MinValidDate,
    IReadOnlyDictionary<string, IReadOnlyList<string>> DeclaredVariants, IReadOnlyList<string> AnonymousIdKeys, string RunId);

/// <summary>
/// The relational part of the A/B readout: exposures → one row per experiment × unit with its variant and outcomes
/// (<see cref="Units"/>), and the per-variant sums the statistics need (<see cref="VariantSums"/>). The statistics are
/// in <c>Pipeline.Models.Experiments</c>. Portable SQL plus <see cref="ISqlDialect"/> only.
/// </summary>
public static class ExperimentsSql
{
    /// <summary>The unit of an event: its stitched customer, else its anonymous key (an HMAC) prefixed <c>a:</c>.</summary>
    private const string UnitOfEvent = "coalesce(customer_id, 'a:' || anonymous_key)";

    /// <summary>A variant name: 1 to 100 characters, no control characters.</summary>
    public const string VariantPattern = "[^\\x00-\\x1F\\x7F]{1,100}";

    /// <summary>
    /// Staging: one row per row of the assignments file (<c>assignments_raw</c>), typed, with its reason code (NULL =
    /// valid) and whether it is kept: the same experiment, unit (user_id, anonymous_id), variant and assigned_at again
    /// is a duplicate (the first by file and line is kept). The anonymous id becomes its key (<c>anonymous_key</c>, the
    /// HMAC clean/events uses); needs <c>_hmac_key</c>.
    /// </summary>
    public static string AssignmentsTyped(ISqlDialect d, AssignmentsSqlOptions o)
    {
        string T(string col) => $"NULLIF(trim({d.Id(col)}), '')";
        static string Quoted(string expr) => $"'\"' || coalesce({expr}, '') || '\"'";
        var minValid = d.TimestampLiteral(new DateTimeOffset(o.MinValidDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        var declared = o.DeclaredVariants.Count == 0
            ? "false"
            : "CASE " + string.Join(" ", o.DeclaredVariants.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => $"WHEN experiment_id_s = {d.Str(kv.Key)} THEN NOT (variant_s IN ({string.Join(", ", kv.Value.Order(StringComparer.Ordinal).Select(d.Str))}))")) + " ELSE false END";
        var rules = new (string Condition, string Code, string Detail)[]
        {
            ("_parse_error IS NOT NULL", "_parse_error", "coalesce(_parse_detail, 'unreadable row')"),
            ("experiment_id_s IS NULL", "'missing_experiment_id'", "'experiment_id is empty'"),
            ("user_id_s IS NULL AND anonymous_id_s IS NULL", "'missing_unit'", "'neither user_id nor anonymous_id is set'"),
            ("variant_s IS NULL", "'missing_variant'", "'variant is empty'"),
            ($"NOT {d.FullMatch("variant_s", VariantPattern)}", "'bad_variant'", "'variant is not 1 to 100 characters without control characters'"),
            (declared, "'unknown_variant'", $"'variant ' || {Quoted("variant_s")} || ' is not one of the variants experiments.definitions gives experiment ' || {Quoted("experiment_id_s")}"),
            ("assigned_at_s IS NULL", "'missing_timestamp'", "'assigned_at is empty'"),
            ($"assigned_at IS NULL OR assigned_at < {minValid}", "'bad_timestamp'",
                $"'assigned_at ' || {Quoted("assigned_at_s")} || ' is not a recognised timestamp on or after {o.MinValidDate:yyyy-MM-dd}'"),
            ($"assigned_at > {d.TimestampLiteral(o.Now + o.FutureTolerance)}", "'future_timestamp'", $"'assigned_at ' || {Quoted("assigned_at_s")} || ' is in the future'"),
        };
        var code = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {r.Code}")) + " END";
        var detail = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {r.Detail}")) + " END";
        return $"""
            WITH src AS (
              SELECT _source_file, _source_line, _raw, _parse_error, _parse_detail,
                     {T("experiment_id")} AS experiment_id_s, {T("variant")} AS variant_s, {T("assigned_at")} AS assigned_at_s,
                     {T("user_id")} AS user_id_s, {T("anonymous_id")} AS anonymous_id_s
              FROM assignments_raw
            ),
            parsed AS (
              SELECT src.*, {d.ParseTimestamp("assigned_at_s", o.SourceTimeZone, null)} AS assigned_at
              FROM src
            ),
            checked AS (
              SELECT parsed.*, {code} AS reason_code, {detail} AS reason_detail
              FROM parsed
            ),
            ranked AS (
              SELECT checked.*,
                     row_number() OVER (PARTITION BY reason_code, experiment_id_s, user_id_s, anonymous_id_s, variant_s, assigned_at
                                        ORDER BY _source_file ASC NULLS LAST, _source_line ASC NULLS LAST) AS copy_no
              FROM checked
            )
            SELECT ranked.*,
                   CASE WHEN reason_code IS NULL AND anonymous_id_s IS NOT NULL THEN {d.HmacHex("anonymous_id_s")} END AS anonymous_key,
                   reason_code IS NULL AND copy_no = 1 AS is_kept
            FROM ranked CROSS JOIN _hmac_key k
            """;
    }

    /// <summary>
    /// The kept assignments as the readout reads them: the unit is the row's user_id, else the customer its anonymous key
    /// is stitched to in clean/events (the customer of its latest event there), else the anonymous key itself.
    /// </summary>
    /// <remarks>Experiment ids, variants and user ids as clean/events has them (e-mail-shaped text redacted, an e-mail
    /// id keyed), so that they meet the exposure events and the customers.</remarks>
    public static string AssignmentsKept(ISqlDialect d, string eventsRelation) => $"""
        WITH kept AS (
          SELECT {TypedInputSql.WithoutEmails(d, "experiment_id_s")} AS experiment_id, {TypedInputSql.WithoutEmails(d, "variant_s")} AS variant,
                 assigned_at, {TypedInputSql.PseudonymousId(d, "user_id_s")} AS user_id_s, anonymous_key
          FROM assignments_typed CROSS JOIN _hmac_key k WHERE is_kept
        ),
        stitched AS (
          SELECT e.anonymous_key, max_by(e.customer_id, e.occurred_at) AS customer_id
          FROM {eventsRelation} e
          WHERE e.customer_id IS NOT NULL
            AND e.anonymous_key IN (SELECT anonymous_key FROM kept WHERE user_id_s IS NULL AND anonymous_key IS NOT NULL)
          GROUP BY e.anonymous_key
        )
        SELECT kept.experiment_id, kept.variant, kept.assigned_at,
               coalesce(kept.user_id_s, s.customer_id) AS customer_id, kept.anonymous_key
        FROM kept LEFT JOIN stitched s ON s.anonymous_key = kept.anonymous_key
        """;

    /// <summary>Marts: <c>quarantine/assignments</c>, one row per rejected row; the anonymous id and e-mail-shaped text redacted.</summary>
    public static string AssignmentsQuarantine(ISqlDialect d, AssignmentsSqlOptions o)
    {
        var raw = "CASE WHEN anonymous_id_s IS NULL THEN _raw ELSE replace(_raw, anonymous_id_s, '<anonymous_id redacted>') END";
        // Rows the reader could not parse have no parsed values to replace: redact the JSON value of the anonymous id key.
        raw = TypedInputSql.RedactJsonValues(d, raw, o.AnonymousIdKeys.Count == 0 ? ["anonymous_id"] : o.AnonymousIdKeys);
        return TypedInputSql.Quarantine(d, "assignments_typed", raw, o.RunId);
    }

    /// <summary>
    /// Per experiment id: first and last usable exposure, exposures, exposures without a variant (clickstream and
    /// assignments); the exposure events without an experiment id make the last row, whose id is NULL (one scan of
    /// the events for both).
    /// </summary>
    public static string ExposureSpans(ISqlDialect d, string events, string? assignments) => $"""
        WITH x AS (
          SELECT experiment_id, variant, occurred_at FROM {events}
          WHERE event_type = 'experiment_exposure'
          {(assignments is null ? "" : $"UNION ALL SELECT experiment_id, variant, assigned_at AS occurred_at FROM {assignments}")}
        )
        SELECT experiment_id,
               min(CASE WHEN variant IS NOT NULL THEN occurred_at END) AS first_at,
               max(CASE WHEN variant IS NOT NULL THEN occurred_at END) AS last_at,
               sum(CASE WHEN variant IS NOT NULL THEN 1 ELSE 0 END) AS exposures,
               sum(CASE WHEN variant IS NULL THEN 1 ELSE 0 END) AS without_variant
        FROM x GROUP BY experiment_id ORDER BY experiment_id ASC NULLS LAST
        """;

    /// <summary>The event_date partitions holding the instants [<paramref name="fromUs"/>, <paramref name="untilUs"/>) (UTC days).</summary>
    private static string EventDatesIn(ISqlDialect d, long fromUs, long untilUs)
    {
        static DateOnly Day(long us) => DateOnly.FromDateTime(DateTime.UnixEpoch.AddTicks(us * 10));
        return $"event_date >= {d.DateLiteral(Day(fromUs))} AND event_date <= {d.DateLiteral(Day(untilUs - 1))}";
    }

    /// <summary>
    /// One row per experiment × unit (see <c>ExperimentsTables.Units</c>): the unit's variant is its first exposure's
    /// (ties by variant name), a unit exposed to more than one variant is excluded; outcomes count from the first exposure
    /// to the experiment's outcome end. Orders belong to their customer, a guest order to the visitor of its purchase event.
    /// </summary>
    public static string Units(ISqlDialect d, ExperimentsSqlOptions o)
    {
        static string L(long v) => v.ToString(CultureInfo.InvariantCulture);
        var windows = o.Windows.Count == 0
            ? $"SELECT CAST(NULL AS {d.StringType}) AS experiment_id, CAST(0 AS BIGINT) AS start_us, CAST(0 AS BIGINT) AS end_us, CAST(0 AS BIGINT) AS outcome_end_us FROM (SELECT 1 AS one) z WHERE 1 = 0"
            : string.Join("\n  UNION ALL ", o.Windows.Select(w =>
                $"SELECT {d.Str(w.ExperimentId)} AS experiment_id, CAST({L(w.StartUs)} AS BIGINT) AS start_us, CAST({L(w.EndUs)} AS BIGINT) AS end_us, CAST({L(w.OutcomeEndUs)} AS BIGINT) AS outcome_end_us"));
        var assignments = o.AssignmentsRelation is null ? "" : $"""

              UNION ALL
              SELECT experiment_id, variant, assigned_at AS occurred_at, CAST(NULL AS {d.StringType}) AS session_id,
                     coalesce(customer_id, 'a:' || anonymous_key) AS unit_id, customer_id IS NULL AS is_anonymous,
                     {d.EpochMicros("assigned_at")} AS us
              FROM {o.AssignmentsRelation}
            """;
        // The event scans read only the days they can use (clean/events is partitioned by the UTC day of occurred_at):
        // exposures inside a window, add-to-carts up to the last outcome end. Purchase events link orders to visitors
        // whatever their day, so that scan stays whole.
        var (exposureDays, outcomeDays) = o.Windows.Count == 0
            ? ("false", "false")
            : (EventDatesIn(d, o.Windows.Min(w => w.StartUs), o.Windows.Max(w => w.EndUs)),
               EventDatesIn(d, o.Windows.Min(w => w.StartUs), o.Windows.Max(w => w.OutcomeEndUs)));
        return $"""
            WITH windows AS (
              {windows}
            ),
            raw_exposures AS (
              SELECT experiment_id, variant, occurred_at, session_id, {UnitOfEvent} AS unit_id, customer_id IS NULL AS is_anonymous,
                     {d.EpochMicros("occurred_at")} AS us
              FROM {o.EventsRelation}
              WHERE event_type = 'experiment_exposure' AND experiment_id IS NOT NULL AND variant IS NOT NULL AND {exposureDays}{assignments}
            ),
            exposures AS (
              SELECT x.* FROM raw_exposures x JOIN windows w ON w.experiment_id = x.experiment_id
              WHERE x.variant IS NOT NULL AND x.us >= w.start_us AND x.us < w.end_us
            ),
            ranked AS (
              SELECT exposures.*, row_number() OVER (PARTITION BY experiment_id, unit_id ORDER BY us ASC NULLS LAST, variant ASC NULLS LAST) AS rn
              FROM exposures
            ),
            units AS (
              SELECT experiment_id, unit_id, bool_and(is_anonymous) AS is_anonymous,
                     max(CASE WHEN rn = 1 THEN variant END) AS variant,
                     min(occurred_at) AS first_exposure_at, min(us) AS first_us,
                     count(*) AS exposures, count(DISTINCT variant) AS variants_seen
              FROM ranked GROUP BY experiment_id, unit_id
            ),
            unit_windows AS (
              SELECT u.experiment_id, u.unit_id, u.first_us, w.outcome_end_us
              FROM units u JOIN windows w ON w.experiment_id = u.experiment_id
            ),
            purchase_owner AS (
              SELECT order_id, max(customer_id) AS customer_id, min(anonymous_key) AS anonymous_key
              FROM {o.EventsRelation} WHERE event_type = 'purchase' AND order_id IS NOT NULL GROUP BY order_id
            ),
            orders AS (
              SELECT coalesce(o.customer_id, p.customer_id, 'a:' || p.anonymous_key) AS unit_id,
                     {d.EpochMicros("o.ordered_at")} AS us, o.net_revenue
              FROM {o.OrdersRelation} o LEFT JOIN purchase_owner p ON p.order_id = o.order_id
              WHERE o.is_purchase
            ),
            unit_orders AS (
              SELECT u.experiment_id, u.unit_id,
                     sum(CASE WHEN r.us >= u.first_us AND r.us < u.outcome_end_us THEN 1 ELSE 0 END) AS orders,
                     sum(CASE WHEN r.us >= u.first_us AND r.us < u.outcome_end_us THEN r.net_revenue ELSE 0 END) AS revenue,
                     sum(CASE WHEN r.us < u.first_us AND r.us >= u.first_us - {L(o.CupedLookbackUs)} THEN r.net_revenue ELSE 0 END) AS pre_revenue
              FROM unit_windows u JOIN orders r ON r.unit_id = u.unit_id
              GROUP BY u.experiment_id, u.unit_id
            ),
            carts AS (
              SELECT {UnitOfEvent} AS unit_id, {d.EpochMicros("occurred_at")} AS us
              FROM {o.EventsRelation} WHERE event_type = 'add_to_cart' AND {outcomeDays}
            ),
            unit_carts AS (
              SELECT u.experiment_id, u.unit_id, count(*) AS add_to_carts
              FROM unit_windows u JOIN carts c ON c.unit_id = u.unit_id AND c.us >= u.first_us AND c.us < u.outcome_end_us
              GROUP BY u.experiment_id, u.unit_id
            ),
            unit_sessions AS (
              SELECT x.experiment_id, x.unit_id, count(*) AS exposed_sessions,
                     sum(CASE WHEN s.is_bounce THEN 1 ELSE 0 END) AS bounced_sessions
              FROM (SELECT DISTINCT experiment_id, unit_id, session_id FROM exposures WHERE session_id IS NOT NULL) x
              JOIN {o.SessionsRelation} s ON s.session_id = x.session_id
              GROUP BY x.experiment_id, x.unit_id
            )
            SELECT u.experiment_id,
                   u.unit_id,
                   CASE WHEN u.is_anonymous THEN 'anonymous' ELSE 'customer' END AS unit_type,
                   u.variant,
                   u.first_exposure_at,
                   CAST(u.exposures AS BIGINT) AS exposures,
                   CAST(u.variants_seen AS BIGINT) AS variants_seen,
                   u.variants_seen > 1 AS is_excluded,
                   CAST(coalesce(r.orders, 0) AS BIGINT) AS orders,
                   CAST(coalesce(r.revenue, 0) AS DECIMAL(18,2)) AS revenue,
                   coalesce(r.orders, 0) > 0 AS is_converted,
                   CAST(coalesce(c.add_to_carts, 0) AS BIGINT) AS add_to_carts,
                   CAST(coalesce(s.exposed_sessions, 0) AS BIGINT) AS exposed_sessions,
                   CAST(coalesce(s.bounced_sessions, 0) AS BIGINT) AS bounced_sessions,
                   CAST(coalesce(r.pre_revenue, 0) AS DECIMAL(18,2)) AS pre_revenue
            FROM units u
            LEFT JOIN unit_orders r ON r.experiment_id = u.experiment_id AND r.unit_id = u.unit_id
            LEFT JOIN unit_carts c ON c.experiment_id = u.experiment_id AND c.unit_id = u.unit_id
            LEFT JOIN unit_sessions s ON s.experiment_id = u.experiment_id AND s.unit_id = u.unit_id
            ORDER BY u.experiment_id ASC NULLS LAST, u.unit_id ASC NULLS LAST
            """;
    }

    /// <summary>
    /// Per experiment × variant, over the units not excluded: units and the sums (and sums of squares and products) of
    /// each outcome the statistics need; plus the excluded units. Money as DOUBLE here: these are moments, not amounts.
    /// </summary>
    public static string VariantSums(string units) => """
        SELECT experiment_id, variant,
               sum(CASE WHEN is_excluded THEN 0 ELSE 1 END) AS n,
               sum(CASE WHEN is_excluded THEN 1 ELSE 0 END) AS excluded,
               sum(CASE WHEN NOT is_excluded AND is_converted THEN 1 ELSE 0 END) AS converted,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(revenue AS DOUBLE) END) AS rev,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(revenue AS DOUBLE) * CAST(revenue AS DOUBLE) END) AS rev2,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(orders AS DOUBLE) END) AS ord,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(orders AS DOUBLE) * CAST(orders AS DOUBLE) END) AS ord2,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(revenue AS DOUBLE) * CAST(orders AS DOUBLE) END) AS rev_ord,
               sum(CASE WHEN NOT is_excluded AND add_to_carts > 0 THEN 1 ELSE 0 END) AS carted,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(exposed_sessions AS DOUBLE) END) AS ses,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(exposed_sessions AS DOUBLE) * CAST(exposed_sessions AS DOUBLE) END) AS ses2,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(bounced_sessions AS DOUBLE) END) AS bnc,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(bounced_sessions AS DOUBLE) * CAST(bounced_sessions AS DOUBLE) END) AS bnc2,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(bounced_sessions AS DOUBLE) * CAST(exposed_sessions AS DOUBLE) END) AS bnc_ses,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(pre_revenue AS DOUBLE) END) AS pre,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(pre_revenue AS DOUBLE) * CAST(pre_revenue AS DOUBLE) END) AS pre2,
               sum(CASE WHEN is_excluded THEN 0 ELSE CAST(pre_revenue AS DOUBLE) * CAST(revenue AS DOUBLE) END) AS pre_rev
        FROM 
        """ + units + """

        GROUP BY experiment_id, variant
        ORDER BY experiment_id ASC NULLS LAST, variant ASC NULLS LAST
        """;
}
