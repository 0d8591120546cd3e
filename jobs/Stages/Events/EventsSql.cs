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
/// uses the customer each anonymous key had in the published events (table <c>_identity_history</c>, from clean/identities: see <see cref="EventsIdentitySql"/>).
/// </summary>
public sealed record EventsWindow(DateOnly From, IReadOnlyList<string> NewFiles);

/// <summary>
/// The clickstream stage as SQL. Staging: <see cref="Typed"/> (one row per input row, typed, with its reason code and
/// every per-row derived value), <see cref="Kept"/> (narrow: first copy per event_id, with its bot rule),
/// <see cref="Sessionized"/> (narrow: stitched identity, sessions on inactivity gaps, engaged time). Marts:
/// <see cref="CleanEvents"/> (one row per kept event: the narrow results joined once to the typed payload),
/// <see cref="Sessions"/> (one row per session), <see cref="Quarantine"/>. Portable SQL plus <see cref="ISqlDialect"/> only.
/// Performance shape: at tens of millions of events the cost is in sorting and materialising wide rows, so the
/// stages that need an ordering (dedup by event_id, sessions by anonymous id) see only narrow keys.
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
        // A/B-test exposures: GA4 / Segment / GrowthBook's "experiment_viewed", Optimizely's "decision".
        ["experiment_exposure"] = "experiment_exposure", ["experiment_viewed"] = "experiment_exposure",
        ["experiment_view"] = "experiment_exposure", ["decision"] = "experiment_exposure", ["exposure"] = "experiment_exposure",
    };

    private const string EmailPattern = TypedInputSql.EmailPattern;
    private const string Ipv4Pattern = "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}";

    /// <summary>
    /// IPv6-shaped text in a rejected row's raw text: hex groups joined by at least three colons (<c>2001:db8::7</c>,
    /// <c>::ffff:</c> before an IPv4 address). Times have two colons at most, so they stay.
    /// </summary>
    private const string Ipv6Pattern = "[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){3,7}";

    /// <summary>
    /// A word with a digit in it, in the raw text of a row the reader could not split into fields (not a JSON object):
    /// its fields cannot be told apart, so its ids (anonymous, user, event; trackers' ids all have digits) go by shape.
    /// </summary>
    private const string DigitWordPattern = "[A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*";
    private const string UserAgentPattern = "(Mozilla|Opera|Dalvik|curl|Wget|python-requests)/[0-9][^\"\\t\\n]*";
    private const string HostPattern = "^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:@]+)";
    private const string PathPattern = "^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)";

    /// <summary>
    /// Staging: one row per row of <c>events_raw</c>, typed, with reason_code (NULL = valid). Everything that is a
    /// function of the row alone is derived here, once, in this parallel scan (URL parts, utm values, the event's own
    /// channel, device type, user-agent bot flag, redacted search term), so the later stages that need an ordering
    /// (dedup, sessions) carry only narrow keys, and the wide payload is joined back once, when the events are written.
    /// </summary>
    public static string Typed(ISqlDialect d, EventsSqlOptions o)
    {
        string T(string col) => TrimmedOrNull(d, d.Id(col));
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
        var uaPattern = "(" + string.Join("|", o.BotUserAgents.Select(TypedInputSql.EscapeRegex)) + ")";
        return $"""
            WITH src AS (
              SELECT _source_file, _source_line, _raw, _parse_error, _parse_detail,
                     {T("event_id")} AS event_id_s, {T("occurred_at")} AS occurred_at_s, {T("anonymous_id")} AS anonymous_id_s,
                     {T("user_id")} AS user_id_s, lower({T("event_type")}) AS event_type_s, {T("page_url")} AS page_url_s,
                     {T("referrer_url")} AS referrer_url_s, {T("product_id")} AS product_id_s, {T("order_id")} AS order_id_s,
                     {T("search_term")} AS search_term_s, {T("user_agent")} AS user_agent_s, {T("ip")} AS ip_s,
                     lower({T("device_type")}) AS device_type_s, lower({T("utm_source")}) AS utm_source_s,
                     lower({T("utm_medium")}) AS utm_medium_s, {T("utm_campaign")} AS utm_campaign_s,
                     {T("page_view_id")} AS page_view_id_s,
                     {T("experiment_id")} AS experiment_id_s, {T("variant")} AS variant_s
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
            ),
            {PayloadCtes(d, o, "checked")}
            -- Only what later stages use. The raw text (by far the widest column) and the identifiers that are only
            -- needed to redact it are kept for rejected rows only: at tens of millions of events, carrying them for
            -- every row multiplies memory and spill.
            SELECT _source_file, _source_line, reason_code, reason_detail,
                   CASE WHEN reason_code IS NOT NULL THEN _raw END AS _raw,
                   CASE WHEN reason_code IS NOT NULL THEN anonymous_id_s END AS anonymous_id_s,
                   CASE WHEN reason_code IS NOT NULL THEN user_agent_s END AS user_agent_s,
                   {(o.KeepIpNetworkKey ? "ip_s" : "CASE WHEN reason_code IS NOT NULL THEN ip_s END")} AS ip_s,
                   event_id, occurred_at, event_type, anon_src, user_id_s,
                   -- Case-insensitive patterns (the lists are lower-case ASCII) instead of lower() on every ~120-character
                   -- user agent: the bot test cost a third less.
                   coalesce({d.RegexContains("user_agent_s", "(?i)" + uaPattern)}, false) AS is_ua_bot,
                   coalesce({TypedInputSql.WithoutEmails(d, "device_type_s")}, CASE WHEN user_agent_s IS NULL THEN NULL
                                                WHEN {d.RegexContains("user_agent_s", "(?i)(ipad|tablet)")} THEN 'tablet'
                                                WHEN {d.RegexContains("user_agent_s", "(?i)(mobi|android|iphone)")} THEN 'mobile'
                                                ELSE 'desktop' END) AS device_type,
                   -- E-mail-shaped text out of the free-text columns (docs/operations.md#privacy) as they are typed: the
                   -- typed table and the sliced run's scratch files on disk never hold an address either. (Ids are keyed
                   -- in CleanEvents, where the key is.)
                   page_host, {TypedInputSql.WithoutEmails(d, "page_path")} AS page_path, referrer_host,
                   {TypedInputSql.WithoutEmails(d, "utm_source")} AS utm_source, {TypedInputSql.WithoutEmails(d, "utm_medium")} AS utm_medium,
                   {TypedInputSql.WithoutEmails(d, "utm_campaign")} AS utm_campaign, event_channel,
                   product_id_s, order_id_s,
                   {PageKey} AS page_key,
                   -- An exposure's experiment and variant (NULL on every other event).
                   CASE WHEN event_type = 'experiment_exposure' THEN {TypedInputSql.WithoutEmails(d, "experiment_id_s")} END AS experiment_id,
                   CASE WHEN event_type = 'experiment_exposure' THEN {TypedInputSql.WithoutEmails(d, "variant_s")} END AS variant,
                   {TypedInputSql.WithoutEmails(d, "search_term_s")} AS search_term
            FROM classified
            """;
    }

    /// <summary>
    /// <c>NULLIF(trim(value), '')</c>, with trim() only for values that may need it: trim decodes every character of
    /// the value, and over tens of millions of rows × 16 columns (user agents are ~120 characters) it cost more than
    /// the JSON parse. An ASCII value whose first byte is printable and not a space (<c>'!' ≤ v &lt; U+007F</c> in byte
    /// order) and whose last is not a space is already trimmed: of the characters trim removes, only the space is
    /// ASCII. One ASCII test replaces a suffix test per Unicode space (19 of them), ≈ 8% of the typing statement.
    /// </summary>
    private static string TrimmedOrNull(ISqlDialect d, string value) =>
        $"NULLIF(CASE WHEN {value} >= '!' AND {value} < {d.Str("\u007f")} AND NOT ({value} LIKE '% ') AND {d.IsAscii(value)} THEN {value} ELSE trim({value}) END, '')";

    /// <summary>
    /// The page a page view or ping is on, as a number in [0, 2^31) for the ping attribution of
    /// <see cref="Sessionized"/>: a hash of the tracker's page view id when the row has one (Snowplow's web page
    /// context, GA4's page view), else of the page (host and path with the kept query parameters). NULL for other
    /// events. Two pages of one visitor's session share a key with odds of about 2^-31 per pair; the cost of that
    /// would be one page view's pings counted with another's.
    /// </summary>
    /// <remarks>The hash (<c>page_hash</c>) is taken in <see cref="PayloadCtes"/>; here it is folded into the range
    /// (Spark's hash is signed, DuckDB's unsigned) as a BIGINT.</remarks>
    private const string PageKey = $"CAST(((page_hash % {PageKeys}) + {PageKeys}) % {PageKeys} AS BIGINT)";

    /// <summary>The range of <see cref="PageKey"/>: 2^31, so that an event's number in its visitor's history (below
    /// 2^32) times it plus a page key fits a BIGINT.</summary>
    private const string PageKeys = "2147483648";

    /// <summary>
    /// The CTEs <c>urls</c> and <c>classified</c> over <paramref name="from"/>: page and referrer host, page path (with
    /// the kept query parameters), utm values (the row's own, else parsed from the page URL) and the event's channel.
    /// </summary>
    private static string PayloadCtes(ISqlDialect d, EventsSqlOptions o, string from)
    {
        var search = HostRegex(o.SearchEngines);
        var social = HostRegex(o.SocialNetworks);
        // utm_source names a network ("facebook", "m.facebook.com", "douyin"): a whole-word match on the first label
        // of each listed host, so short names such as "x" or "t" (x.com, t.co) never match inside other words.
        static string SourcePattern(IEnumerable<string> hosts) =>
            "([a-z0-9-]+\\.)*(" + string.Join("|", hosts.Select(h => TypedInputSql.EscapeRegex(h.Split('.')[0])).Distinct()) + ")(\\.[a-z.]+)?";
        var socialNames = SourcePattern(o.SocialNetworks);
        var searchNames = SourcePattern(o.SearchEngines);
        var internalHost = o.SiteHosts.Count == 0
            ? "referrer_host = page_host"
            : $"(referrer_host = page_host OR {d.FullMatch("referrer_host", "(.*\\.)?(" + string.Join("|", o.SiteHosts.Select(TypedInputSql.EscapeRegex)) + ")")})";
        // A parameter can only be there if the URL has an '=': most page URLs have no query string at all.
        var keptQuery = o.KeepQueryParams.Count == 0
            ? "''"
            : "CASE WHEN page_url_s LIKE '%=%' THEN coalesce(" + string.Join(" || ", o.KeepQueryParams.Select(p =>
                $"CASE WHEN {d.RegexExtract("page_url_s", "[?&]" + TypedInputSql.EscapeRegex(p) + "=([^&#]*)", 1)} IS NOT NULL THEN '&{p}=' || {d.RegexExtract("page_url_s", "[?&]" + TypedInputSql.EscapeRegex(p) + "=([^&#]*)", 1)} ELSE '' END")) + ", '') ELSE '' END";
        // utm values are parsed from the URL only when the row has none and the URL mentions the parameter ('_' is a
        // LIKE wildcard, so the test can only be wider than the regex, never narrower).
        string Utm(string name) =>
            $"CASE WHEN page_url_s LIKE '%{name}=%' THEN {d.RegexExtract("page_url_s", "[?&]" + name + "=([^&#]*)", 1)} END";
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
            {UrlSplitCtes(from)}
            urls AS (
              SELECT url_split.*,
                     lower({UrlHost(d, "page_url_s", "_p_auth")}) AS page_host,
                     coalesce({UrlPath(d, "page_url_s", "_p_auth", "_p_path")}, '/') AS bare_path,
                     lower({UrlHost(d, "referrer_url_s", "_r_auth")}) AS referrer_host,
                     coalesce(utm_source_s, lower({Utm("utm_source")})) AS utm_source,
                     coalesce(utm_medium_s, lower({Utm("utm_medium")})) AS utm_medium,
                     coalesce(utm_campaign_s, {Utm("utm_campaign")}) AS utm_campaign,
                     {keptQuery} AS kept_query
              FROM url_split
            ),
            external AS (
              SELECT urls.*,
                     referrer_host IS NOT NULL AND NOT coalesce({internalHost}, false) AS is_external_referrer,
                     CASE WHEN kept_query = '' THEN (CASE WHEN bare_path = '' THEN '/' ELSE bare_path END)
                          ELSE (CASE WHEN bare_path = '' THEN '/' ELSE bare_path END) || '?' || substr(kept_query, 2) END AS page_path
              FROM urls
            ),
            classified AS (
              SELECT external.*, {channel} AS event_channel,
                     CASE WHEN event_type IN ('page_view', 'page_ping')
                          THEN {d.Hash64("coalesce('i' || page_view_id_s, 'u' || coalesce(page_host, '') || page_path)")} END AS page_hash
              FROM external
            )
            """;
    }

    /// <summary>
    /// The CTEs that split http(s) URLs with plain string functions (several times cheaper than the regexes at tens of
    /// millions of rows): <c>_p_auth</c>/<c>_r_auth</c>, the page/referrer URL's part after "scheme://" up to the first
    /// '/', and <c>_p_path</c>, the page URL's part from that '/' on. NULL for other schemes (and upper-case ones).
    /// </summary>
    private static string UrlSplitCtes(string from)
    {
        static string Rest(string url) =>
            $"CASE WHEN {url} LIKE 'https://%' THEN substr({url}, 9) WHEN {url} LIKE 'http://%' THEN substr({url}, 8) END";
        return $"""
            url_rest AS (
              SELECT {from}.*, {Rest("page_url_s")} AS _p_rest, {Rest("referrer_url_s")} AS _r_rest
              FROM {from}
            ),
            url_slash AS (
              SELECT url_rest.*, instr(_p_rest, '/') AS _p_slash, instr(_r_rest, '/') AS _r_slash
              FROM url_rest
            ),
            url_split AS (
              SELECT url_slash.*,
                     CASE WHEN _p_slash > 0 THEN substr(_p_rest, 1, _p_slash - 1) ELSE _p_rest END AS _p_auth,
                     CASE WHEN _p_slash > 0 THEN substr(_p_rest, _p_slash) ELSE '' END AS _p_path,
                     CASE WHEN _r_slash > 0 THEN substr(_r_rest, 1, _r_slash - 1) ELSE _r_rest END AS _r_auth
              FROM url_slash
            ),
            """;
    }

    /// <summary>
    /// The URL's host exactly as <see cref="HostPattern"/> extracts it (NULL when there is none): when the part up to
    /// the first '/' (<paramref name="auth"/>) holds none of '?', '#', ':', '@', it is the host; anything else (user
    /// info, a port, a query before any '/', another scheme) goes through the regex.
    /// </summary>
    private static string UrlHost(ISqlDialect d, string url, string auth) =>
        $"(CASE WHEN {Plain(auth)} THEN NULLIF({auth}, '') ELSE {d.RegexExtract(url, HostPattern, 1)} END)";

    /// <summary>
    /// The URL's path exactly as <see cref="PathPattern"/> extracts it (NULL when empty or not a URL): for a plain
    /// authority and no fragment, the part from the first '/' up to the first '?'; otherwise the regex.
    /// </summary>
    private static string UrlPath(ISqlDialect d, string url, string auth, string path) =>
        $"(CASE WHEN {Plain(auth)} AND {path} NOT LIKE '%#%' " +
        $"THEN NULLIF(CASE WHEN instr({path}, '?') > 0 THEN substr({path}, 1, instr({path}, '?') - 1) ELSE {path} END, '') " +
        $"ELSE {d.RegexExtract(url, PathPattern, 1)} END)";

    /// <summary>True when an authority part is just a host (NULL, i.e. false in a CASE, for non-http URLs).</summary>
    private static string Plain(string auth) =>
        $"({auth} NOT LIKE '%?%' AND {auth} NOT LIKE '%#%' AND {auth} NOT LIKE '%:%' AND {auth} NOT LIKE '%@%')";

    /// <summary>
    /// Narrow: valid rows, first copy per event_id (by occurred_at, then arrival), with the bot rule that excludes them
    /// (NULL = human). Only the keys the ordering stages need; the payload stays in events_typed.
    /// </summary>
    /// <remarks>
    /// Only ids seen more than once are ranked: a GROUP BY on the ids' 64-bit hashes finds them (duplicates are a few
    /// in ten thousand), and the other rows pass through a join with that short list, instead of the whole history
    /// being sorted by event id (≈ 30% of this statement at a million events). Two ids that share a hash are both
    /// candidates and each still ranks by its own id, so a collision costs a few rows ranked, never a wrong answer. The
    /// sliced run finds its duplicates the same way (<see cref="EventsSliceSql.DuplicateHashes"/>).
    /// </remarks>
    public static string Kept(ISqlDialect d, EventsSqlOptions o) => $"""
        WITH valid AS (
          SELECT _source_file, _source_line, event_id, occurred_at, anon_src, user_id_s, event_type, is_ua_bot, event_channel, page_key
          FROM events_typed WHERE reason_code IS NULL
        ),
        duplicate_hashes AS (
          SELECT {d.Hash64("event_id")} AS h FROM valid GROUP BY {d.Hash64("event_id")} HAVING count(*) > 1
        ),
        firsts AS (
          SELECT v._source_file, v._source_line, v.event_id, v.occurred_at, v.anon_src, v.user_id_s, v.event_type, v.is_ua_bot, v.event_channel, v.page_key
          FROM valid v LEFT JOIN duplicate_hashes k ON k.h = {d.Hash64("v.event_id")}
          WHERE k.h IS NULL
          UNION ALL
          SELECT _source_file, _source_line, event_id, occurred_at, anon_src, user_id_s, event_type, is_ua_bot, event_channel, page_key
          FROM (
            SELECT v.*, row_number() OVER (PARTITION BY v.event_id
                     ORDER BY v.occurred_at ASC NULLS LAST, v._source_file ASC NULLS LAST, v._source_line ASC NULLS LAST) AS copy_rank
            FROM valid v JOIN duplicate_hashes k ON k.h = {d.Hash64("v.event_id")}
          ) ranked
          WHERE copy_rank = 1
        ),
        fast AS (
          {FastAnonymousIds(d, o, "firsts")}
        )
        SELECT f._source_file, f._source_line, f.event_id, f.occurred_at, f.anon_src, f.user_id_s, f.event_type, f.event_channel, f.page_key,
               CASE WHEN f.is_ua_bot THEN 'user_agent' WHEN x.anon_src IS NOT NULL THEN 'event_rate' END AS bot_rule
        FROM firsts f LEFT JOIN fast x ON x.anon_src = f.anon_src
        """;

    /// <summary>
    /// The rate rule: anonymous ids of <paramref name="firsts"/> (first copies with <c>anon_src, occurred_at,
    /// is_ua_bot</c>) with more than <c>events.max_events_per_minute</c> non-user-agent-bot events in some minute.
    /// One pass applies it to the whole history; the sliced run to each slice (a minute never crosses a day, so the
    /// union over the slices is the same set).
    /// </summary>
    public static string FastAnonymousIds(ISqlDialect d, EventsSqlOptions o, string firsts) => $"""
        SELECT anon_src
        FROM (
          SELECT anon_src, floor({d.EpochMicros("occurred_at")} / 60000000) AS minute_no, count(*) AS events
          FROM {firsts} WHERE NOT is_ua_bot
          GROUP BY anon_src, floor({d.EpochMicros("occurred_at")} / 60000000)
        ) per_minute
        GROUP BY anon_src
        HAVING max(events) > {o.MaxEventsPerMinute.ToString(CultureInfo.InvariantCulture)}
        """;

    /// <summary>
    /// Narrow, one row per anonymous id of the human events: its pseudonymous key (each id keyed once: hashing is the
    /// expensive part at tens of millions of rows) and its stitched customer, the last user_id it was seen with (in an
    /// incremental run, else the customer it had in the published events).
    /// </summary>
    public static string Identities(ISqlDialect d, EventsSqlOptions o)
    {
        var hashed = $"""
            SELECT i.anon_src, {TypedInputSql.PseudonymousId(d, "i.stitched_customer")} AS stitched_customer, {d.HmacHex("i.anon_src")} AS anonymous_key
            FROM (
              SELECT anon_src, max_by(user_id_s, CASE WHEN user_id_s IS NOT NULL THEN {d.EpochMicros("occurred_at")} END) AS stitched_customer
              FROM events_kept WHERE bot_rule IS NULL GROUP BY anon_src
            ) i CROSS JOIN _hmac_key k
            """;
        return o.Window is null
            ? hashed
            : $"""
              SELECT h.anon_src, coalesce(h.stitched_customer, p.customer_id) AS stitched_customer, h.anonymous_key
              FROM ({hashed}) h LEFT JOIN _identity_history p ON p.anonymous_key = h.anonymous_key
              """;
    }

    /// <summary>
    /// Narrow: human events with their time, session id, position in the session, the session's channel (its landing
    /// event's), engaged time and whether the event stands for a page view of its session; keyed by (_source_file,
    /// _source_line) to events_typed. The anonymous key and the customer are in <see cref="Identities"/>.
    /// </summary>
    /// <remarks>
    /// Engaged time in a session with pings is dbt-snowplow-web's, per page view and session: heartbeat × (distinct
    /// heartbeat slots of its pings − 1) + minimum visit. A ping belongs to the latest page view before it in its
    /// session with the same page key (<see cref="PageKey"/>: the tracker's page view id, else the page); pings with no
    /// such page view in the session (the page view was in an earlier session, or lost) are one page view of their
    /// session per page key, carried by the first of them (Snowplow's stray page view). One ordering per anonymous id
    /// serves it all: the running maximum of (event number × 2^31 + page key) over page views gives each event the
    /// latest page view before it and its page, so a ping that follows its own page view needs nothing else; only the
    /// others (another page between, or none in the session) look for their page view with a join.
    /// </remarks>
    /// <param name="withBounds">Also carry each event's session start and end (the sliced run decides from them which
    /// sessions are closed at a slice's end and which dates are final).</param>
    public static string Sessionized(ISqlDialect d, EventsSqlOptions o, bool withBounds = false)
    {
        var timeoutUs = ((long)(o.SessionTimeout.TotalMilliseconds * 1000)).ToString(CultureInfo.InvariantCulture);
        var maxUs = (long)(o.MaxSession.TotalMilliseconds * 1000);
        var capUs = ((long)(o.MaxEngagedGap.TotalMilliseconds * 1000)).ToString(CultureInfo.InvariantCulture);
        var hb = o.HeartbeatSeconds.ToString(CultureInfo.InvariantCulture);
        const string order = "ORDER BY occurred_at ASC NULLS LAST, event_id ASC NULLS LAST";
        const string running = "OVER (PARTITION BY anon_src ORDER BY rn_anon ASC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";
        // Each session id is computed once per session, then joined back to the events; the anonymous key and the
        // customer come from events_identities (keyed once per anonymous id) and are joined when the events are written,
        // so this per-event table stays narrow (a quarter faster to build at ten million events).
        return $"""
            WITH base AS (
              SELECT _source_file, _source_line, event_id, occurred_at, anon_src, event_type, event_channel, page_key
              FROM events_kept WHERE bot_rule IS NULL
            ),
            gaps AS (
              SELECT base.*, {d.EpochMicros("occurred_at")} AS us,
                     {d.EpochMicros("occurred_at")} - lag({d.EpochMicros("occurred_at")}) OVER (PARTITION BY anon_src {order}) AS gap_us,
                     lead({d.EpochMicros("occurred_at")}) OVER (PARTITION BY anon_src {order}) AS next_us,
                     row_number() OVER (PARTITION BY anon_src {order}) AS rn_anon
              FROM base
            ),
            numbered AS (
              -- One ordering per anonymous id serves everything that needs event order: the session (the number of its
              -- first event), the position in the session, the time to the next event and the latest page view with its
              -- page key. rn_anon is that order as one integer, cheaper to sort by again than the time and the id.
              -- view_rn: the page view a ping follows directly (the latest page view is in the session, on its page).
              SELECT w.*,
                     CASE WHEN w.event_type = 'page_ping' AND w.last_view >= w.session_rn * {PageKeys} AND w.last_view % {PageKeys} = w.page_key
                          THEN {d.IntegerDivide("w.last_view", PageKeys)} END AS view_rn
              FROM (
                SELECT gaps.*,
                       max(CASE WHEN gap_us IS NULL OR gap_us > {timeoutUs} THEN rn_anon END) {running} AS session_rn,
                       max(CASE WHEN event_type = 'page_view' THEN rn_anon * {PageKeys} + page_key END) {running} AS last_view
                FROM gaps
              ) w
            ),
            sessions AS (
              SELECT anon_src, session_rn, min(occurred_at) AS session_started_at, max(occurred_at) AS session_ended_at,
                     sum(CASE WHEN event_type = 'page_ping' THEN 1 ELSE 0 END) AS session_pings,
                     min_by(event_channel, rn_anon) AS session_channel
              FROM numbered GROUP BY anon_src, session_rn
            ),
            others AS (
              -- The other pings (another page between, or none in the session): the latest page view before them on
              -- their page in their session, if any.
              SELECT p.anon_src, p.session_rn, p.rn_anon, p.us, p.page_key, max(v.rn_anon) AS view_rn
              FROM numbered p
              LEFT JOIN numbered v ON v.anon_src = p.anon_src AND v.session_rn = p.session_rn AND v.page_key = p.page_key
                                  AND v.event_type = 'page_view' AND v.rn_anon < p.rn_anon
              WHERE p.event_type = 'page_ping' AND p.view_rn IS NULL
              GROUP BY p.anon_src, p.session_rn, p.rn_anon, p.us, p.page_key
            ),
            attributed AS (
              -- owner: the page view's number, or for pings without one in the session, −1 − (session × 2^31 + page key).
              SELECT anon_src, rn_anon, us, view_rn AS owner
              FROM numbered WHERE event_type = 'page_ping' AND view_rn IS NOT NULL
              UNION ALL
              SELECT anon_src, rn_anon, us, coalesce(view_rn, -1 - (session_rn * {PageKeys} + page_key)) AS owner
              FROM others
            ),
            ping_groups AS (
              -- Per page view and session: its distinct heartbeat slots, credited to the page view, or for a page view
              -- that is not in the session, to its first ping there.
              SELECT anon_src, CASE WHEN owner > 0 THEN owner ELSE min(rn_anon) END AS target_rn,
                     count(DISTINCT floor(us / ({hb} * 1000000))) AS buckets
              FROM attributed GROUP BY anon_src, owner
            ),
            session_keys AS (
              SELECT s.*,
                     {d.EpochMicros("s.session_ended_at")} - {d.EpochMicros("s.session_started_at")} > {maxUs.ToString(CultureInfo.InvariantCulture)} AS is_too_long,
                     substr({d.Sha256Hex("i.anonymous_key || '|' || " + d.ToText(d.EpochMicros("s.session_started_at")))}, 1, 32) AS session_id
              FROM sessions s JOIN events_identities i ON i.anon_src = s.anon_src
            )
            SELECT n._source_file, n._source_line, n.occurred_at, sk.is_too_long, sk.session_id, sk.session_channel,{(withBounds ? " sk.session_started_at, sk.session_ended_at," : "")}
                   n.rn_anon - sk.session_rn + 1 AS session_event_seq,
                   CASE WHEN sk.session_pings > 0 THEN
                          CASE WHEN p.buckets IS NOT NULL
                               THEN CAST({o.MinVisitSeconds.ToString(CultureInfo.InvariantCulture)} + {hb} * (p.buckets - 1) AS DOUBLE) ELSE CAST(0 AS DOUBLE) END
                        -- The last event of a session counts 0, also when the anonymous id comes back later (its
                        -- next event then starts another session: that gap is not time spent on this page).
                        WHEN n.next_us IS NULL OR n.next_us - n.us > {timeoutUs} THEN CAST(0 AS DOUBLE)
                        ELSE least(n.next_us - n.us, {capUs}) / 1000000.0
                   END AS engaged_seconds,
                   n.event_type = 'page_view' OR (n.event_type = 'page_ping' AND p.buckets IS NOT NULL) AS is_page_view
            FROM numbered n
            JOIN session_keys sk ON sk.anon_src = n.anon_src AND sk.session_rn = n.session_rn
            LEFT JOIN ping_groups p ON p.anon_src = n.anon_src AND p.target_rn = n.rn_anon
            """;
    }

    /// <summary>
    /// Marts: one row per kept event (grain: event_id), partitioned by event_date: the narrow session results joined
    /// once to the typed payload. Sorted so that the same input writes the same files.
    /// </summary>
    /// <param name="where">An extra condition on the events (the sliced run: only sessions closed at the slice's end).</param>
    /// <param name="ordered">False when the rows go to a table that is sorted when written.</param>
    public static string CleanEvents(ISqlDialect d, EventsSqlOptions o, string? where = null, bool ordered = true)
    {
        var ipKey = o.KeepIpNetworkKey
            ? $"CASE WHEN {d.FullMatch("t.ip_s", Ipv4Pattern)} THEN {d.HmacHex(d.RegexExtract("t.ip_s", "^([0-9]+\\.[0-9]+\\.[0-9]+)\\.", 1) + " || '.0/24'")} " +
              $"WHEN t.ip_s LIKE '%:%' THEN {d.HmacHex(d.RegexExtract("lower(t.ip_s)", "^([0-9a-f]*:[0-9a-f]*:[0-9a-f]*)", 1) + " || '::/48'")} END"
            : $"CAST(NULL AS {d.StringType})";
        return $"""
            SELECT {TypedInputSql.PseudonymousId(d, "t.event_id")} AS event_id,
                   n.occurred_at,
                   {d.DateOf("n.occurred_at")} AS event_date,
                   t.event_type,
                   i.anonymous_key,
                   i.stitched_customer AS customer_id,
                   n.session_id,
                   CAST(n.session_event_seq AS INTEGER) AS session_event_seq,
                   t.page_host,
                   t.page_path,
                   t.referrer_host,
                   n.session_channel AS channel,
                   n.session_channel IN ('organic_search', 'organic_social', 'referral', 'direct') AS is_natural,
                   t.utm_source,
                   t.utm_medium,
                   t.utm_campaign,
                   {TypedInputSql.PseudonymousId(d, "t.product_id_s")} AS product_id,
                   {TypedInputSql.PseudonymousId(d, "t.order_id_s")} AS order_id,
                   t.search_term,
                   t.device_type,
                   CAST(round(n.engaged_seconds, 3) AS DOUBLE) AS engaged_seconds,
                   n.is_page_view,
                   {ipKey} AS network_key,
                   t.experiment_id,
                   t.variant
            FROM events_sessionized n
            JOIN events_typed t ON t._source_file = n._source_file AND t._source_line = n._source_line
            JOIN events_identities i ON i.anon_src = t.anon_src
            CROSS JOIN _hmac_key k
            WHERE NOT n.is_too_long{(where is null ? "" : $" AND ({where})")}
            {(ordered ? EventsOrder : "")}
            """;
    }

    /// <summary>
    /// Marts: one row per session (grain: session_id), partitioned by session_date (the start's UTC date), aggregated
    /// from the clean events (<paramref name="events"/>: a table, or the staged clean/events Parquet read back).
    /// </summary>
    public static string Sessions(ISqlDialect d, EventsSqlOptions o, string events = "events_clean", bool ordered = true) => $"""
        WITH events AS (SELECT * FROM {events})
        SELECT session_id,
               min(anonymous_key) AS anonymous_key,
               max(customer_id) AS customer_id,
               min(occurred_at) AS started_at,
               max(occurred_at) AS ended_at,
               {d.DateOf("min(occurred_at)")} AS session_date,
               CAST(({d.EpochMicros("max(occurred_at)")} - {d.EpochMicros("min(occurred_at)")}) / 1000000.0 AS DOUBLE) AS duration_seconds,
               CAST(count(*) AS INTEGER) AS events,
               CAST(sum(CASE WHEN is_page_view THEN 1 ELSE 0 END) AS INTEGER) AS page_views,
               CAST(sum(CASE WHEN event_type = 'product_view' THEN 1 ELSE 0 END) AS INTEGER) AS product_views,
               CAST(sum(CASE WHEN event_type = 'search' THEN 1 ELSE 0 END) AS INTEGER) AS searches,
               CAST(sum(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END) AS INTEGER) AS add_to_carts,
               CAST(sum(CASE WHEN event_type = 'begin_checkout' THEN 1 ELSE 0 END) AS INTEGER) AS checkouts,
               -- Orders, not purchase events: a tracker that sends a transaction twice (a new event id a second later)
               -- still bought once; a purchase without an order id counts once.
               CAST(count(DISTINCT CASE WHEN event_type = 'purchase' THEN order_id END)
                    + sum(CASE WHEN event_type = 'purchase' AND order_id IS NULL THEN 1 ELSE 0 END) AS INTEGER) AS purchases,
               sum(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) > 0 AS is_converted,
               sum(CASE WHEN event_type NOT IN ('page_ping', 'experiment_exposure') OR is_page_view THEN 1 ELSE 0 END) = 1 AS is_bounce,
               (sum(engaged_seconds) > 10 OR sum(CASE WHEN is_page_view OR event_type = 'product_view' THEN 1 ELSE 0 END) >= 2
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
        {(ordered ? SessionsOrder : "")}
        """;

    /// <summary>The order clean/events is written in (so that the same input writes the same files).</summary>
    public const string EventsOrder = "ORDER BY event_date ASC NULLS LAST, session_id ASC NULLS LAST, session_event_seq ASC NULLS LAST";

    /// <summary>The order sessions is written in.</summary>
    public const string SessionsOrder = "ORDER BY session_date ASC NULLS LAST, session_id ASC NULLS LAST";

    /// <summary>
    /// Marts: one row per rejected row — row-level reasons plus the events of sessions that were too long (whose
    /// raw text is rebuilt from event_id, occurred_at and event_type: valid rows do not carry their text). The raw
    /// text keeps the row recognisable but not personal: the row's own anonymous id, user agent and IP values are
    /// replaced, and anything shaped like an e-mail address or an IPv4 address is redacted.
    /// </summary>
    /// <param name="tooLong">The events of too-long sessions (<c>_source_file, _source_line, event_id, occurred_at,
    /// event_type</c>); default <see cref="TooLongEvents"/>.</param>
    public static string Quarantine(ISqlDialect d, EventsSqlOptions o, string? tooLong = null)
    {
        static string Redact(string raw, string value, string label) =>
            $"CASE WHEN {value} IS NULL THEN {raw} ELSE replace({raw}, {value}, '<{label} redacted>') END";
        var raw = Redact(Redact(Redact("_raw", "anonymous_id_s", "anonymous_id"), "user_agent_s", "user_agent"), "ip_s", "ip");
        // Rows the reader could not parse have no parsed values to replace: redact JSON values of the identifier keys
        // and anything that looks like a browser user agent.
        raw = d.RegexReplaceAll(TypedInputSql.RedactJsonValues(d, raw, o.IdentifierKeys ?? ["anonymous_id", "user_agent", "ip"]), UserAgentPattern, "<user_agent redacted>");
        raw = $"CASE WHEN reason_code IN ('malformed_row', 'invalid_encoding') AND NOT (ltrim(_raw) LIKE '{{%') THEN {d.RegexReplaceAll(raw, DigitWordPattern, "#")} ELSE {raw} END";
        var rebuilt = "'{\"event_id\":\"' || x.event_id || '\",\"occurred_at\":\"' || " + d.TimestampText("x.occurred_at") + " || '\",\"event_type\":\"' || x.event_type || '\"}'";
        return $"""
            WITH rejected AS (
              SELECT _source_file, _source_line, {raw} AS raw_text, reason_code, reason_detail FROM events_rejected
              UNION ALL
              SELECT x._source_file, x._source_line,
                     {rebuilt} AS raw_text,
                     'session_too_long' AS reason_code,
                     'session of this anonymous id lasts longer than {o.MaxSession.TotalHours.ToString(CultureInfo.InvariantCulture)} hours' AS reason_detail
              FROM ({tooLong ?? TooLongEvents()}) x
            )
            SELECT CAST(_source_file AS {d.StringType}) AS source_file,
                   _source_line AS source_line,
                   {d.RegexReplaceAll(d.RegexReplaceAll(d.RegexReplaceAll("raw_text", EmailPattern, "<email redacted>"), Ipv4Pattern, "<ip redacted>"), Ipv6Pattern, "<ip redacted>")} AS raw,
                   reason_code,
                   {d.RegexReplaceAll("reason_detail", EmailPattern, "<email redacted>")} AS reason_detail,
                   {d.Str(o.RunId)} AS run_id
            FROM rejected
            ORDER BY reason_code ASC NULLS LAST, source_file ASC NULLS LAST, source_line ASC NULLS LAST
            """;
    }

    /// <summary>
    /// The events of sessions that last too long (quarantined as <c>session_too_long</c>), with what their quarantine
    /// row is rebuilt from; <paramref name="where"/> narrows them (the sliced run: sessions closed at the slice's end).
    /// </summary>
    public static string TooLongEvents(string? where = null) => $"""
        SELECT n._source_file, n._source_line, t.event_id, n.occurred_at, t.event_type
        FROM events_sessionized n JOIN events_typed t ON t._source_file = n._source_file AND t._source_line = n._source_line
        WHERE n.is_too_long{(where is null ? "" : $" AND ({where})")}
        """;

    /// <summary>
    /// The UTC day of a timestamp as a number of days since <c>quality.min_valid_date</c> (clean/event_days): integer
    /// arithmetic on the epoch microseconds, ≈ 10× cheaper per row than a time-zone-aware cast to DATE, and exact for
    /// the timestamps it is used on (never before min_valid_date, so never negative).
    /// </summary>
    public static string DayIndex(ISqlDialect d, EventsSqlOptions o, string timestamp)
    {
        var zeroUs = (new DateTimeOffset(o.MinValidDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) - DateTimeOffset.UnixEpoch).Ticks / 10;
        return d.IntegerDivide($"{d.EpochMicros(timestamp)} - CAST({zeroUs.ToString(CultureInfo.InvariantCulture)} AS BIGINT)", "CAST(86400000000 AS BIGINT)");
    }

    /// <summary>
    /// Counts over events_typed per UTC day of the timestamp (read, rejected, valid; clean/event_days), the day as
    /// <see cref="DayIndex"/>: NULL for the rows whose timestamp is missing, unreadable, before min_valid_date or in the
    /// future, so the days and the NULL group together are the stage's totals.
    /// </summary>
    public static string TypedDays(ISqlDialect d, EventsSqlOptions o)
    {
        var minValid = d.TimestampLiteral(new DateTimeOffset(o.MinValidDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));
        return $"""
            WITH dated AS (
              SELECT CASE WHEN occurred_at >= {minValid} AND occurred_at <= {d.TimestampLiteral(o.Now + o.FutureTolerance)}
                          THEN {DayIndex(d, o, "occurred_at")} END AS day, reason_code
              FROM events_typed
            )
            SELECT day, count(*) AS rows_read,
                   CAST(sum(CASE WHEN reason_code IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS quarantined_rows,
                   CAST(sum(CASE WHEN reason_code IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS valid_rows
            FROM dated
            GROUP BY day
            """;
    }

    /// <summary>Counts over events_kept per UTC day (<see cref="DayIndex"/>): first copies, and bots by rule (clean/event_days).</summary>
    public static string KeptDays(ISqlDialect d, EventsSqlOptions o) => $"""
        SELECT {DayIndex(d, o, "occurred_at")} AS day, count(*) AS kept_rows,
               CAST(sum(CASE WHEN bot_rule = 'user_agent' THEN 1 ELSE 0 END) AS BIGINT) AS ua_bots,
               CAST(sum(CASE WHEN bot_rule = 'event_rate' THEN 1 ELSE 0 END) AS BIGINT) AS rate_bots
        FROM events_kept
        GROUP BY {DayIndex(d, o, "occurred_at")}
        """;

    /// <summary>Counts over events_sessionized per UTC day (<see cref="DayIndex"/>): too-long sessions' events and the rest (clean/event_days).</summary>
    public static string SessionizedDays(ISqlDialect d, EventsSqlOptions o) => $"""
        SELECT {DayIndex(d, o, "occurred_at")} AS day,
               CAST(sum(CASE WHEN is_too_long THEN 1 ELSE 0 END) AS BIGINT) AS too_long,
               CAST(sum(CASE WHEN is_too_long THEN 0 ELSE 1 END) AS BIGINT) AS kept,
               CAST(count(DISTINCT CASE WHEN NOT is_too_long THEN {TimeSql.HourOf(d, "occurred_at")} END) AS BIGINT) AS active_hours
        FROM events_sessionized
        GROUP BY {DayIndex(d, o, "occurred_at")}
        """;

    /// <summary>Per input file: rows read and the range of its valid timestamps (recorded for incremental runs).</summary>
    public static string FileRanges() => """
        SELECT _source_file, count(*) AS rows_read,
               min(CASE WHEN reason_code IS NULL THEN occurred_at END) AS min_occurred_at,
               max(CASE WHEN reason_code IS NULL THEN occurred_at END) AS max_occurred_at
        FROM events_typed
        GROUP BY _source_file
        """;

    /// <summary>Incremental: kept events (not in too-long sessions) of the window, i.e. the rows that will be written.</summary>
    public static string SessionizedInWindow(ISqlDialect d, DateOnly from) =>
        $"SELECT count(*) FROM events_sessionized WHERE NOT is_too_long AND occurred_at >= {d.TimestampLiteral(new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero))}";

    /// <summary>Incremental: the clean events of the window (the partitions this run rewrites).</summary>
    public static string CleanEventsInWindow(ISqlDialect d, EventsSqlOptions o, DateOnly from) =>
        $"SELECT * FROM ({CleanEvents(d, o, ordered: false)}) e WHERE event_date >= {d.DateLiteral(from)} {EventsOrder}";

    /// <summary>Incremental: the sessions that start in the window, aggregated over all their events (context included).</summary>
    public static string SessionsInWindow(ISqlDialect d, EventsSqlOptions o, DateOnly from) =>
        $"SELECT * FROM ({Sessions(d, o, $"({CleanEvents(d, o, ordered: false)}) AS all_events", ordered: false)}) s WHERE session_date >= {d.DateLiteral(from)} {SessionsOrder}";

    /// <summary>Incremental: published quarantine rows of the files this run does not read again.</summary>
    public static string CarriedQuarantine(string publishedQuarantine, IReadOnlyList<string> readFiles, ISqlDialect d) =>
        $"SELECT source_file, source_line, raw, reason_code, reason_detail, run_id FROM {publishedQuarantine}" +
        (readFiles.Count == 0 ? "" : $" WHERE source_file NOT IN ({string.Join(", ", readFiles.Select(d.Str))})");

    /// <summary>How many rows <see cref="CarriedQuarantine"/> carries (<paramref name="carried"/> is its SQL).</summary>
    public static string CarriedQuarantineRows(string carried) => $"SELECT count(*) FROM ({carried}) c";

    /// <summary>Sessions of the staged sessions table that have a purchase (the converted_sessions count).</summary>
    public static string ConvertedSessions(string sessionsRelation) => $"SELECT count(*) FROM {sessionsRelation} WHERE is_converted";

    /// <summary>This run's quarantine plus the carried rows, in the quarantine table's order.</summary>
    public static string QuarantineWithCarried(string quarantine, string carried) => $"""
        SELECT * FROM (
          SELECT * FROM ({quarantine}) q
          UNION ALL
          {carried}
        ) u
        ORDER BY reason_code ASC NULLS LAST, source_file ASC NULLS LAST, source_line ASC NULLS LAST
        """;

    /// <summary>
    /// The columns of a rejected row that <see cref="Quarantine"/> reads: where it came from, its raw text and the
    /// parsed values to redact from it, and the reason. Only these are kept: the rejected rows are picked out of every
    /// typed row, and each further column is read (decompressed) for all of them.
    /// </summary>
    public const string RejectedColumns = "_source_file, _source_line, _raw, anonymous_id_s, user_agent_s, ip_s, reason_code, reason_detail";

    /// <summary>The rejected rows of events_typed, kept small so events_typed can be dropped early.</summary>
    public static string Rejected() => $"SELECT {RejectedColumns} FROM events_typed WHERE reason_code IS NOT NULL";

    public static string QuarantineByReason() =>
        "SELECT reason_code, count(*) AS n FROM events_rejected GROUP BY reason_code ORDER BY reason_code ASC NULLS LAST";

    /// <summary>Escapes regex metacharacters (the same set is special in RE2 and Java regexes).</summary>

    /// <summary>A full-match pattern for hosts from a host list: suffix match, and <c>name.*</c> for any TLD.</summary>
    internal static string HostRegex(IReadOnlyList<string> hosts) =>
        "(.*\\.)?(" + string.Join("|", hosts.Select(h => h.EndsWith(".*", StringComparison.Ordinal)
            ? TypedInputSql.EscapeRegex(h[..^2]) + "\\.[a-z.]+"
            : TypedInputSql.EscapeRegex(h))) + ")";
}
