using System.Globalization;
using System.Text;
using Pipeline.Engine;

namespace Pipeline.Stages.Events;

/// <summary>Everything the events SQL depends on besides the dialect.</summary>
public sealed record EventsSqlOptions(
    string SourceTimeZone,
    string? TimestampFormat,
    DateTimeOffset Now,
    TimeSpan FutureTolerance,
    DateOnly MinValidDate,
    IReadOnlyDictionary<string, string> EventTypeMap,
    TimeSpan SessionTimeout,
    TimeSpan MaxSession,
    int HeartbeatSeconds,
    int MinVisitSeconds,
    TimeSpan MaxEngagedGap,
    int MaxEventsPerMinute,
    IReadOnlyList<string> BotUserAgents,
    IReadOnlyList<string> SearchEngines,
    IReadOnlyList<string> SocialNetworks,
    IReadOnlyList<string> SiteHosts,
    IReadOnlyList<string> KeepQueryParams,
    bool KeepIpNetworkKey,
    string RunId,
    IReadOnlyList<string>? IdentifierKeys = null,
    EventsWindow? Window = null);

/// <summary>
/// An incremental run (<c>pipeline run</c>): only partitions from <paramref name="From"/> on are rewritten. Rows of
/// <paramref name="NewFiles"/> dated before it are quarantined as <c>late_event</c> (their partitions are not
/// rewritten); rows of re-read files dated before it are context (sessions, stitching) only. Identity stitching also
/// uses the customer each anonymous key had in the published events (table <c>_identity_history</c>).
/// </summary>
public sealed record EventsWindow(DateOnly From, IReadOnlyList<string> NewFiles);

/// <summary>
/// The clickstream stage as SQL. Staging: <see cref="Typed"/> (one row per input row, typed, with its reason code),
/// <see cref="Kept"/> (first copy per event_id, with its bot rule), <see cref="Sessionized"/> (stitched identity,
/// sessions on inactivity gaps). Marts: <see cref="CleanEvents"/> (one row per kept event), <see cref="Sessions"/>
/// (one row per session), <see cref="Quarantine"/>. Portable SQL plus <see cref="ISqlDialect"/> only.
/// </summary>
public static class EventsSql
{
    /// <summary>Built-in event type synonyms (lower-case source name → canonical).</summary>
    public static readonly IReadOnlyDictionary<string, string> Synonyms = new Dictionary<string, string>
    {
        ["page_view"] = "page_view", ["pageview"] = "page_view", ["page"] = "page_view", ["screen_view"] = "page_view",
        ["page_ping"] = "page_ping", ["ping"] = "page_ping", ["heartbeat"] = "page_ping",
        ["product_view"] = "product_view", ["view_item"] = "product_view", ["product_viewed"] = "product_view",
        ["search"] = "search", ["view_search_results"] = "search",
        ["add_to_cart"] = "add_to_cart", ["product_added"] = "add_to_cart",
        ["remove_from_cart"] = "remove_from_cart", ["product_removed"] = "remove_from_cart",
        ["begin_checkout"] = "begin_checkout", ["checkout_started"] = "begin_checkout",
        ["purchase"] = "purchase", ["order_completed"] = "purchase", ["transaction"] = "purchase",
        ["login"] = "login", ["sign_in"] = "login",
    };

    private const string EmailPattern = "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}";
    private const string Ipv4Pattern = "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}";
    private const string UserAgentPattern = "(Mozilla|Opera|Dalvik|curl|Wget|python-requests)/[0-9][^\"\\t\\n]*";
    private const string HostPattern = "^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:@]+)";
    private const string PathPattern = "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)";

    /// <summary>Staging: one row per row of <c>events_raw</c>, typed, with reason_code (NULL = valid).</summary>
    public static string Typed(ISqlDialect d, EventsSqlOptions o)
    {
        string T(string col) => $"NULLIF(trim({d.Id(col)}), '')";
        var typeCase = "CASE event_type_s " + string.Join(" ", o.EventTypeMap.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"WHEN {d.Str(kv.Key)} THEN {d.Str(kv.Value)}")) + " END";
        var minValid = d.TimestampLiteral(new DateTimeOffset(o.MinValidDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        var rules = new (string Condition, string Code, string Detail)[]
        {
            ("_parse_error IS NOT NULL", "_parse_error", "coalesce(_parse_detail, 'unreadable row')"),
            ("anonymous_id_s IS NULL AND user_id_s IS NULL", "'missing_identity'", "'neither anonymous_id nor user_id is set'"),
            ("occurred_at_s IS NULL", "'missing_timestamp'", "'occurred_at is empty'"),
            ($"occurred_at IS NULL OR occurred_at < {minValid}", "'bad_timestamp'", $"'occurred_at \"' || occurred_at_s || '\" is not a recognised timestamp'"),
            ($"occurred_at > {d.TimestampLiteral(o.Now + o.FutureTolerance)}", "'future_timestamp'", "'occurred_at \"' || occurred_at_s || '\" is in the future'"),
            ("event_type IS NULL", "'unknown_event_type'", "'event_type \"' || coalesce(event_type_s, '') || '\" is not known (map it with events.event_type_map)'"),
        };
        if (o.Window is { } w)
        {
            var from = d.TimestampLiteral(new DateTimeOffset(w.From.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
            var newFiles = w.NewFiles.Count == 0 ? "false" : $"_source_file IN ({string.Join(", ", w.NewFiles.Select(d.Str))})";
            rules = [.. rules, ($"{newFiles} AND occurred_at < {from}", "'late_event'",
                $"'occurred_at \"' || occurred_at_s || '\" is before the incremental window (from {w.From:yyyy-MM-dd}): rerun with --full-refresh or a larger events.lookback_days'")];
        }
        var code = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {r.Code}")) + " END";
        var detail = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {r.Detail}")) + " END";
        return $"""
            WITH src AS (
              SELECT _source_file, _source_line, _raw, _parse_error, _parse_detail,
                     {T("event_id")} AS event_id_s, {T("occurred_at")} AS occurred_at_s, {T("anonymous_id")} AS anonymous_id_s,
                     {T("user_id")} AS user_id_s, lower({T("event_type")}) AS event_type_s, {T("page_url")} AS page_url_s,
                     {T("referrer_url")} AS referrer_url_s, {T("product_id")} AS product_id_s, {T("order_id")} AS order_id_s,
                     {T("search_term")} AS search_term_s, {T("user_agent")} AS user_agent_s, {T("ip")} AS ip_s,
                     lower({T("device_type")}) AS device_type_s, lower({T("utm_source")}) AS utm_source_s,
                     lower({T("utm_medium")}) AS utm_medium_s, {T("utm_campaign")} AS utm_campaign_s
              FROM events_raw
            ),
            parsed AS (
              SELECT src.*,
                     {d.ParseTimestamp("occurred_at_s", o.SourceTimeZone, o.TimestampFormat)} AS occurred_at,
                     {typeCase} AS event_type,
                     coalesce(anonymous_id_s, 'u:' || user_id_s) AS anon_src,
                     coalesce(event_id_s, 'h' || substr({d.Sha256Hex("_raw")}, 1, 31)) AS event_id
              FROM src
            ),
            checked AS (
              SELECT parsed.*, {code} AS reason_code, {detail} AS reason_detail
              FROM parsed
            )
            -- Only what later stages use. The raw text (by far the widest column) is kept for rejected rows only:
            -- at tens of millions of events, carrying it for every row multiplies memory and spill.
            SELECT _source_file, _source_line, reason_code, reason_detail,
                   CASE WHEN reason_code IS NOT NULL THEN _raw END AS _raw,
                   CASE WHEN reason_code IS NOT NULL THEN anonymous_id_s END AS anonymous_id_s,
                   event_id, occurred_at, event_type, anon_src, user_id_s, page_url_s, referrer_url_s, product_id_s,
                   order_id_s, search_term_s, user_agent_s, ip_s, device_type_s, utm_source_s, utm_medium_s, utm_campaign_s
            FROM checked
            """;
    }

    /// <summary>Valid rows, first copy per event_id (by occurred_at, then arrival), with the bot rule that excludes them (NULL = human).</summary>
    public static string Kept(ISqlDialect d, EventsSqlOptions o)
    {
        var uaPattern = "(" + string.Join("|", o.BotUserAgents.Select(EscapeRegex)) + ")";
        return $"""
            WITH valid AS (SELECT * FROM events_typed WHERE reason_code IS NULL),
            ranked AS (
              SELECT valid.*, row_number() OVER (PARTITION BY event_id
                       ORDER BY occurred_at ASC NULLS LAST, _source_file ASC NULLS LAST, _source_line ASC NULLS LAST) AS copy_rank
              FROM valid
            ),
            firsts AS (
              SELECT ranked.*, coalesce({d.RegexContains("lower(user_agent_s)", uaPattern)}, false) AS is_ua_bot
              FROM ranked WHERE copy_rank = 1
            ),
            per_minute AS (
              SELECT anon_src, floor({d.EpochMicros("occurred_at")} / 60000000) AS minute_no, count(*) AS events
              FROM firsts WHERE NOT is_ua_bot
              GROUP BY anon_src, floor({d.EpochMicros("occurred_at")} / 60000000)
            ),
            fast AS (SELECT anon_src FROM per_minute GROUP BY anon_src HAVING max(events) > {o.MaxEventsPerMinute.ToString(CultureInfo.InvariantCulture)})
            SELECT f.*, CASE WHEN f.is_ua_bot THEN 'user_agent' WHEN x.anon_src IS NOT NULL THEN 'event_rate' END AS bot_rule
            FROM firsts f LEFT JOIN fast x ON x.anon_src = f.anon_src
            """;
    }

    /// <summary>Human events with stitched customer, anonymous key, session number, session bounds and id.</summary>
    public static string Sessionized(ISqlDialect d, EventsSqlOptions o)
    {
        var timeoutUs = (long)(o.SessionTimeout.TotalMilliseconds * 1000);
        var maxUs = (long)(o.MaxSession.TotalMilliseconds * 1000);
        const string order = "ORDER BY occurred_at ASC NULLS LAST, event_id ASC NULLS LAST";
        var hashed = $"SELECT i.anon_src, i.stitched_customer, {d.HmacHex("i.anon_src")} AS anonymous_key FROM identities i CROSS JOIN _hmac_key k";
        // Incremental: an anonymous id not seen logged in among the rows read keeps the customer it had before.
        var keys = o.Window is null
            ? $"keys AS ({hashed}),"
            : $"hashed AS ({hashed}),\n            keys AS (SELECT h.anon_src, coalesce(h.stitched_customer, p.customer_id) AS stitched_customer, h.anonymous_key " +
              "FROM hashed h LEFT JOIN _identity_history p ON p.anonymous_key = h.anonymous_key),";
        // Hashing is the expensive part at tens of millions of rows, so each distinct anonymous id is keyed once and
        // each session id is computed once per session, then joined back to the events.
        return $"""
            WITH base AS (SELECT * FROM events_kept WHERE bot_rule IS NULL),
            identities AS (
              SELECT anon_src, max_by(user_id_s, CASE WHEN user_id_s IS NOT NULL THEN {d.EpochMicros("occurred_at")} END) AS stitched_customer
              FROM base GROUP BY anon_src
            ),
            {keys}
            gaps AS (
              SELECT base.*,
                     {d.EpochMicros("occurred_at")} - lag({d.EpochMicros("occurred_at")}) OVER (PARTITION BY anon_src {order}) AS gap_us,
                     lead({d.EpochMicros("occurred_at")}) OVER (PARTITION BY anon_src {order}) AS next_us,
                     row_number() OVER (PARTITION BY anon_src {order}) AS rn_anon,
                     CASE WHEN event_type <> 'page_ping' THEN 1 ELSE 0 END AS is_view
              FROM base
            ),
            numbered AS (
              -- One ordering per anonymous id serves everything that needs event order: the session number, the
              -- position in the session, the time to the next event and the page view a ping belongs to.
              SELECT gaps.*,
                     sum(CASE WHEN gap_us IS NULL OR gap_us > {timeoutUs.ToString(CultureInfo.InvariantCulture)} THEN 1 ELSE 0 END)
                       OVER (PARTITION BY anon_src {order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS session_no,
                     sum(is_view) OVER (PARTITION BY anon_src {order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS views_so_far
              FROM gaps
            ),
            sessions AS (
              SELECT anon_src, session_no, min(occurred_at) AS session_started_at, max(occurred_at) AS session_ended_at,
                     min(rn_anon) AS first_rn, min(views_so_far - is_view) AS views_before,
                     sum(1 - is_view) AS session_pings
              FROM numbered GROUP BY anon_src, session_no
            ),
            session_keys AS (
              SELECT s.*, k.anonymous_key, k.stitched_customer,
                     {d.EpochMicros("s.session_ended_at")} - {d.EpochMicros("s.session_started_at")} > {maxUs.ToString(CultureInfo.InvariantCulture)} AS is_too_long,
                     substr({d.Sha256Hex("k.anonymous_key || '|' || " + d.ToText(d.EpochMicros("s.session_started_at")))}, 1, 32) AS session_id
              FROM sessions s JOIN keys k ON k.anon_src = s.anon_src
            )
            SELECT n.*, sk.stitched_customer AS customer_id, sk.session_started_at, sk.session_ended_at, sk.anonymous_key,
                   sk.is_too_long, sk.session_id, sk.session_pings,
                   n.rn_anon - sk.first_rn + 1 AS session_event_seq,
                   n.views_so_far - sk.views_before AS view_no,
                   CASE WHEN n.next_us - {d.EpochMicros("n.occurred_at")} <= {timeoutUs.ToString(CultureInfo.InvariantCulture)} THEN n.next_us END AS next_in_session_us
            FROM numbered n JOIN session_keys sk ON sk.anon_src = n.anon_src AND sk.session_no = n.session_no
            """;
    }

    /// <summary>Marts: one row per kept event (grain: event_id), partitioned by event_date.</summary>
    public static string CleanEvents(ISqlDialect d, EventsSqlOptions o)
    {
        var capUs = (long)(o.MaxEngagedGap.TotalMilliseconds * 1000);
        var hb = o.HeartbeatSeconds.ToString(CultureInfo.InvariantCulture);
        var search = HostRegex(o.SearchEngines);
        var social = HostRegex(o.SocialNetworks);
        // utm_source names a network ("facebook", "m.facebook.com", "douyin"): a whole-word match on the first label
        // of each listed host, so short names such as "x" or "t" (x.com, t.co) never match inside other words.
        static string SourcePattern(IEnumerable<string> hosts) =>
            "([a-z0-9-]+\\.)*(" + string.Join("|", hosts.Select(h => EscapeRegex(h.Split('.')[0])).Distinct()) + ")(\\.[a-z.]+)?";
        var socialNames = SourcePattern(o.SocialNetworks);
        var searchNames = SourcePattern(o.SearchEngines);
        var internalHost = o.SiteHosts.Count == 0
            ? "referrer_host = page_host"
            : $"(referrer_host = page_host OR {d.FullMatch("referrer_host", "(.*\\.)?(" + string.Join("|", o.SiteHosts.Select(EscapeRegex)) + ")")})";
        var keptQuery = o.KeepQueryParams.Count == 0
            ? "''"
            : "coalesce(" + string.Join(" || ", o.KeepQueryParams.Select(p =>
                $"CASE WHEN {d.RegexExtract("page_url_s", "[?&]" + EscapeRegex(p) + "=([^&#]*)", 1)} IS NOT NULL THEN '&{p}=' || {d.RegexExtract("page_url_s", "[?&]" + EscapeRegex(p) + "=([^&#]*)", 1)} ELSE '' END")) + ", '')";
        var ipKey = o.KeepIpNetworkKey
            ? $"CASE WHEN {d.FullMatch("ip_s", Ipv4Pattern)} THEN {d.HmacHex(d.RegexExtract("ip_s", "^([0-9]+\\.[0-9]+\\.[0-9]+)\\.", 1) + " || '.0/24'")} " +
              $"WHEN ip_s LIKE '%:%' THEN {d.HmacHex(d.RegexExtract("lower(ip_s)", "^([0-9a-f]*:[0-9a-f]*:[0-9a-f]*)", 1) + " || '::/48'")} END"
            : "CAST(NULL AS VARCHAR)";
        var medium = "utm_medium";
        var channel = $"""
            CASE
              WHEN {medium} IS NOT NULL AND {d.FullMatch(medium, "(cpc|ppc|paid.*|.*cpc.*|cpm|cpa|ocpm|retargeting|paid_social|paidsocial)")} THEN
                CASE WHEN {d.FullMatch("coalesce(utm_source, '')", socialNames)} OR {medium} IN ('paid_social', 'paidsocial') THEN 'paid_social'
                     WHEN {d.FullMatch("coalesce(utm_source, '')", searchNames)} THEN 'paid_search'
                     ELSE 'other' END
              WHEN {medium} IN ('email', 'e-mail', 'e_mail', 'newsletter') OR utm_source IN ('email', 'newsletter') THEN 'email'
              WHEN {medium} IN ('affiliate', 'affiliates') THEN 'affiliate'
              WHEN {medium} IN ('social', 'social-network', 'social-media', 'sm', 'social_network', 'social_media')
                   OR ({medium} IS NULL AND is_external_referrer AND {d.FullMatch("referrer_host", social)}) THEN 'organic_social'
              WHEN {medium} = 'organic' OR ({medium} IS NULL AND is_external_referrer AND {d.FullMatch("referrer_host", search)}) THEN 'organic_search'
              WHEN {medium} IN ('referral', 'app', 'link') OR ({medium} IS NULL AND is_external_referrer) THEN 'referral'
              WHEN {medium} IS NULL AND utm_source IS NULL THEN 'direct'
              ELSE 'other'
            END
            """;
        return $"""
            WITH base AS (SELECT * FROM events_sessionized WHERE NOT is_too_long),
            seq AS (SELECT base.*, next_in_session_us AS next_us FROM base),
            ping_buckets AS (
              SELECT session_id, view_no, count(DISTINCT floor({d.EpochMicros("occurred_at")} / ({hb} * 1000000))) AS buckets
              FROM seq WHERE event_type = 'page_ping' GROUP BY session_id, view_no
            ),
            urls AS (
              SELECT seq.*,
                     lower({d.RegexExtract("page_url_s", HostPattern, 1)}) AS page_host,
                     coalesce({d.RegexExtract("page_url_s", PathPattern, 1)}, '/') AS bare_path,
                     lower({d.RegexExtract("referrer_url_s", HostPattern, 1)}) AS referrer_host,
                     coalesce(utm_source_s, lower({d.RegexExtract("page_url_s", "[?&]utm_source=([^&#]*)", 1)})) AS utm_source,
                     coalesce(utm_medium_s, lower({d.RegexExtract("page_url_s", "[?&]utm_medium=([^&#]*)", 1)})) AS utm_medium,
                     coalesce(utm_campaign_s, {d.RegexExtract("page_url_s", "[?&]utm_campaign=([^&#]*)", 1)}) AS utm_campaign,
                     {keptQuery} AS kept_query
              FROM seq
            ),
            classified AS (
              SELECT urls.*,
                     referrer_host IS NOT NULL AND NOT coalesce({internalHost}, false) AS is_external_referrer,
                     CASE WHEN kept_query = '' THEN (CASE WHEN bare_path = '' THEN '/' ELSE bare_path END)
                          ELSE (CASE WHEN bare_path = '' THEN '/' ELSE bare_path END) || '?' || substr(kept_query, 2) END AS page_path
              FROM urls
            ),
            engaged AS (
              SELECT c.*, {channel} AS event_channel,
                     CASE WHEN c.session_pings > 0 THEN
                            CASE WHEN c.event_type <> 'page_ping' AND p.buckets IS NOT NULL
                                 THEN CAST({o.MinVisitSeconds.ToString(CultureInfo.InvariantCulture)} + {hb} * (p.buckets - 1) AS DOUBLE) ELSE CAST(0 AS DOUBLE) END
                          WHEN c.next_us IS NULL THEN CAST(0 AS DOUBLE)
                          ELSE least(c.next_us - {d.EpochMicros("c.occurred_at")}, {capUs.ToString(CultureInfo.InvariantCulture)}) / 1000000.0
                     END AS engaged_seconds
              FROM classified c LEFT JOIN ping_buckets p ON p.session_id = c.session_id AND p.view_no = c.view_no
            ),
            landing AS (SELECT session_id, event_channel AS session_channel FROM engaged WHERE session_event_seq = 1)
            SELECT e.event_id,
                   e.occurred_at,
                   {d.DateOf("e.occurred_at")} AS event_date,
                   e.event_type,
                   e.anonymous_key,
                   e.customer_id,
                   e.session_id,
                   CAST(e.session_event_seq AS INTEGER) AS session_event_seq,
                   e.page_host,
                   e.page_path,
                   e.referrer_host,
                   l.session_channel AS channel,
                   l.session_channel IN ('organic_search', 'organic_social', 'referral', 'direct') AS is_natural,
                   e.utm_source,
                   e.utm_medium,
                   e.utm_campaign,
                   e.product_id_s AS product_id,
                   e.order_id_s AS order_id,
                   {d.RegexReplaceAll("e.search_term_s", EmailPattern, "<email redacted>")} AS search_term,
                   coalesce(e.device_type_s, CASE WHEN e.user_agent_s IS NULL THEN NULL
                                                  WHEN {d.RegexContains("lower(e.user_agent_s)", "ipad|tablet")} THEN 'tablet'
                                                  WHEN {d.RegexContains("lower(e.user_agent_s)", "mobi|android|iphone")} THEN 'mobile'
                                                  ELSE 'desktop' END) AS device_type,
                   CAST(round(e.engaged_seconds, 3) AS DOUBLE) AS engaged_seconds,
                   {ipKey.Replace("ip_s", "e.ip_s", StringComparison.Ordinal)} AS network_key
            FROM engaged e JOIN landing l ON l.session_id = e.session_id
            CROSS JOIN _hmac_key k
            ORDER BY event_date ASC NULLS LAST, session_id ASC NULLS LAST, session_event_seq ASC NULLS LAST
            """;
    }

    /// <summary>Marts: one row per session (grain: session_id), partitioned by session_date (the start's UTC date).</summary>
    public static string Sessions(ISqlDialect d, EventsSqlOptions o) => $"""
        WITH events AS (SELECT * FROM events_clean)
        SELECT session_id,
               min(anonymous_key) AS anonymous_key,
               max(customer_id) AS customer_id,
               min(occurred_at) AS started_at,
               max(occurred_at) AS ended_at,
               {d.DateOf("min(occurred_at)")} AS session_date,
               CAST(({d.EpochMicros("max(occurred_at)")} - {d.EpochMicros("min(occurred_at)")}) / 1000000.0 AS DOUBLE) AS duration_seconds,
               CAST(count(*) AS INTEGER) AS events,
               CAST(sum(CASE WHEN event_type = 'page_view' THEN 1 ELSE 0 END) AS INTEGER) AS page_views,
               CAST(sum(CASE WHEN event_type = 'product_view' THEN 1 ELSE 0 END) AS INTEGER) AS product_views,
               CAST(sum(CASE WHEN event_type = 'search' THEN 1 ELSE 0 END) AS INTEGER) AS searches,
               CAST(sum(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS INTEGER) AS add_to_carts,
               CAST(sum(CASE WHEN event_type = 'begin_checkout' THEN 1 ELSE 0 END) AS INTEGER) AS checkouts,
               CAST(sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS INTEGER) AS purchases,
               sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) > 0 AS is_converted,
               sum(CASE WHEN event_type <> 'page_ping' THEN 1 ELSE 0 END) = 1 AS is_bounce,
               (sum(engaged_seconds) > 10 OR sum(CASE WHEN event_type IN ('page_view', 'product_view') THEN 1 ELSE 0 END) >= 2
                 OR sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) > 0) AS is_engaged,
               CAST(round(sum(engaged_seconds), 3) AS DOUBLE) AS engaged_seconds,
               min_by(page_path, session_event_seq) AS landing_page_path,
               max_by(page_path, session_event_seq) AS exit_page_path,
               min(channel) AS channel,
               bool_and(is_natural) AS is_natural,
               min_by(utm_source, session_event_seq) AS utm_source,
               min_by(utm_medium, session_event_seq) AS utm_medium,
               min_by(utm_campaign, session_event_seq) AS utm_campaign,
               min_by(device_type, session_event_seq) AS device_type
        FROM events
        GROUP BY session_id
        ORDER BY session_date ASC NULLS LAST, session_id ASC NULLS LAST
        """;

    /// <summary>
    /// Marts: one row per rejected row — row-level reasons plus the events of sessions that were too long (whose
    /// raw text is rebuilt from event_id, occurred_at and event_type: valid rows do not carry their text). The raw
    /// text keeps the row recognisable but not personal: the row's own anonymous id, user agent and IP values are
    /// replaced, and anything shaped like an e-mail address or an IPv4 address is redacted.
    /// </summary>
    public static string Quarantine(ISqlDialect d, EventsSqlOptions o)
    {
        static string Redact(string raw, string value, string label) =>
            $"CASE WHEN {value} IS NULL THEN {raw} ELSE replace({raw}, {value}, '<{label} redacted>') END";
        var raw = Redact(Redact(Redact("_raw", "anonymous_id_s", "anonymous_id"), "user_agent_s", "user_agent"), "ip_s", "ip");
        // Rows the reader could not parse have no parsed values to replace: redact JSON values of the identifier keys
        // and anything that looks like a browser user agent.
        foreach (var key in o.IdentifierKeys ?? ["anonymous_id", "user_agent", "ip"])
        {
            raw = d.RegexReplaceAll(raw, "\"" + EscapeRegex(key) + "\"\\s*:\\s*\"[^\"]*", "\"" + key + "\":\"<redacted>");
        }
        raw = d.RegexReplaceAll(raw, UserAgentPattern, "<user_agent redacted>");
        var rebuilt = "'{\"event_id\":\"' || event_id || '\",\"occurred_at\":\"' || " + d.ToText("occurred_at") + " || '\",\"event_type\":\"' || event_type || '\"}'";
        return $"""
            WITH rejected AS (
              SELECT _source_file, _source_line, {raw} AS raw_text, reason_code, reason_detail FROM events_rejected
              UNION ALL
              SELECT _source_file, _source_line,
                     {rebuilt} AS raw_text,
                     'session_too_long' AS reason_code,
                     'session of this anonymous id lasts longer than {o.MaxSession.TotalHours.ToString(CultureInfo.InvariantCulture)} hours' AS reason_detail
              FROM events_sessionized WHERE is_too_long
            )
            SELECT _source_file AS source_file,
                   _source_line AS source_line,
                   {d.RegexReplaceAll(d.RegexReplaceAll("raw_text", EmailPattern, "<email redacted>"), Ipv4Pattern, "<ip redacted>")} AS raw,
                   reason_code,
                   {d.RegexReplaceAll("reason_detail", EmailPattern, "<email redacted>")} AS reason_detail,
                   {d.Str(o.RunId)} AS run_id
            FROM rejected
            ORDER BY reason_code ASC NULLS LAST, source_file ASC NULLS LAST, source_line ASC NULLS LAST
            """;
    }

    /// <summary>Counts over events_typed (read, rejected, valid), taken before it is dropped.</summary>
    public static string TypedCounts() => """
        SELECT count(*) AS rows_read,
               CAST(sum(CASE WHEN reason_code IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS quarantined_rows,
               CAST(sum(CASE WHEN reason_code IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS valid_rows
        FROM events_typed
        """;

    /// <summary>Counts over events_kept: first copies, and bots by rule.</summary>
    public static string KeptCounts() => """
        SELECT count(*) AS kept_rows,
               CAST(sum(CASE WHEN bot_rule = 'user_agent' THEN 1 ELSE 0 END) AS BIGINT) AS ua_bots,
               CAST(sum(CASE WHEN bot_rule = 'event_rate' THEN 1 ELSE 0 END) AS BIGINT) AS rate_bots
        FROM events_kept
        """;

    /// <summary>Counts over events_sessionized: too-long sessions' events and the rest.</summary>
    public static string SessionizedCounts() => """
        SELECT CAST(sum(CASE WHEN is_too_long THEN 1 ELSE 0 END) AS BIGINT) AS too_long, CAST(sum(CASE WHEN is_too_long THEN 0 ELSE 1 END) AS BIGINT) AS kept
        FROM events_sessionized
        """;

    /// <summary>Per input file: rows read and the range of its valid timestamps (recorded for incremental runs).</summary>
    public static string FileRanges() => """
        SELECT _source_file, count(*) AS rows_read,
               min(CASE WHEN reason_code IS NULL THEN occurred_at END) AS min_occurred_at,
               max(CASE WHEN reason_code IS NULL THEN occurred_at END) AS max_occurred_at
        FROM events_typed
        GROUP BY _source_file
        """;

    /// <summary>Incremental: the customer each anonymous key was last stitched to in the published events.</summary>
    public static string IdentityHistory(string publishedEvents) => $"""
        SELECT anonymous_key, max_by(customer_id, occurred_at) AS customer_id
        FROM {publishedEvents}
        WHERE customer_id IS NOT NULL
        GROUP BY anonymous_key
        """;

    /// <summary>Incremental: kept events (not in too-long sessions) of the window, i.e. the rows that will be written.</summary>
    public static string SessionizedInWindow(ISqlDialect d, DateOnly from) =>
        $"SELECT count(*) FROM events_sessionized WHERE NOT is_too_long AND occurred_at >= {d.TimestampLiteral(new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero))}";

    /// <summary>Incremental: published quarantine rows of the files this run does not read again.</summary>
    public static string CarriedQuarantine(string publishedQuarantine, IReadOnlyList<string> readFiles, ISqlDialect d) =>
        $"SELECT source_file, source_line, raw, reason_code, reason_detail, run_id FROM {publishedQuarantine}" +
        (readFiles.Count == 0 ? "" : $" WHERE source_file NOT IN ({string.Join(", ", readFiles.Select(d.Str))})");

    /// <summary>This run's quarantine plus the carried rows, in the quarantine table's order.</summary>
    public static string QuarantineWithCarried(string quarantine, string carried) => $"""
        SELECT * FROM (
          SELECT * FROM ({quarantine}) q
          UNION ALL
          {carried}
        ) u
        ORDER BY reason_code ASC NULLS LAST, source_file ASC NULLS LAST, source_line ASC NULLS LAST
        """;

    /// <summary>The rejected rows of events_typed, kept small so events_typed can be dropped early.</summary>
    public static string Rejected() => "SELECT * FROM events_typed WHERE reason_code IS NOT NULL";

    public static string QuarantineByReason() =>
        "SELECT reason_code, count(*) AS n FROM events_rejected GROUP BY reason_code ORDER BY reason_code ASC NULLS LAST";

    /// <summary>Escapes regex metacharacters (the same set is special in RE2 and Java regexes).</summary>
    internal static string EscapeRegex(string literal)
    {
        var sb = new StringBuilder();
        foreach (var c in literal)
        {
            if (".^$|?*+()[]{}\\".Contains(c, StringComparison.Ordinal))
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>A full-match pattern for hosts from a host list: suffix match, and <c>name.*</c> for any TLD.</summary>
    internal static string HostRegex(IReadOnlyList<string> hosts) =>
        "(.*\\.)?(" + string.Join("|", hosts.Select(h => h.EndsWith(".*", StringComparison.Ordinal)
            ? EscapeRegex(h[..^2]) + "\\.[a-z.]+"
            : EscapeRegex(h))) + ")";
}
