using System.Globalization;
using Pipeline.Engine;

namespace Pipeline.Stages.Kpis;

/// <summary>Inputs of the KPI queries.</summary>
/// <param name="OrdersRelation">FROM-clause relation of clean/orders.</param>
/// <param name="SessionsRelation">FROM-clause relation of sessions, or null when there are none.</param>
/// <param name="LinksRelation">FROM-clause relation of <c>kpi/purchase_links</c> (<see cref="KpiSql.PurchaseLinks"/>: purchase events' order_id → session), or null.</param>
/// <param name="AdSpendRelation">Relation of typed, kept ad spend rows (<see cref="KpiSql.AdSpendKept"/>), or null: spend columns NULL.</param>
/// <param name="RepeatWindowDays">N: a second purchase at most N days after the first is a repeat.</param>
/// <param name="RepeatCohortDays">W: on day d, the cohort's first purchases are in (d − N − W, d − N].</param>
/// <param name="AttributionLookbackDays">Sessions that started at most this many days before the order are candidates.</param>
/// <param name="FirstPurchasesRelation">
/// A table of <see cref="KpiSql.FirstPurchasesOf"/>'s rows, computed once for the stage's three statements; null: each
/// statement computes them from <paramref name="OrdersRelation"/>.
/// </param>
/// <param name="FromDate">
/// Null: every row. A date: only the rows of <c>kpi/daily</c> and <c>kpi/channels</c> dated on or after it, each equal to
/// the row a run without it computes (what only earlier days hold, the first sessions and purchases, is still read whole).
/// </param>
public sealed record KpiSqlOptions(
    string OrdersRelation,
    string? SessionsRelation,
    string? LinksRelation,
    string? AdSpendRelation,
    int RepeatWindowDays,
    int RepeatCohortDays,
    int AttributionLookbackDays,
    DateOnly? FromDate = null,
    string? FirstPurchasesRelation = null);

/// <summary>Everything the ad spend staging SQL depends on besides the dialect.</summary>
/// <param name="MinValidDate">Earlier dates are bad_date.</param>
/// <param name="BaseCurrency">Spend is converted to it (rows without a currency are in it).</param>
/// <param name="HasFx">True when the FX table is registered as <c>fx_raw</c> (the orders' <c>orders.fx</c>).</param>
public sealed record AdSpendSqlOptions(DateOnly MinValidDate, string BaseCurrency, bool HasFx);

/// <summary>
/// The KPI marts, recomputed whole from the clean tables on every run. Each query is input CTEs → logic CTEs → final
/// select, built from portable SQL plus <see cref="ISqlDialect"/> calls (no QUALIFY, no COUNT(DISTINCT) OVER, explicit
/// NULLS FIRST/LAST), so it renders for DuckDB and Spark SQL alike.
/// <list type="bullet">
/// <item><c>kpi/daily</c>: one row per UTC date that has a session (by session start) or an order (by ordered_at).</item>
/// <item><c>kpi/channels</c>: one row per UTC date × channel that has sessions, attributed purchases or spend.</item>
/// <item><c>kpi/cohorts</c>: one row per acquisition month × months since the first purchase.</item>
/// </list>
/// Shared definitions: a <b>purchase</b> is an order with <c>is_purchase</c>; a customer's <b>first purchase</b> is
/// their earliest purchase by (ordered_at, order_id) in the clean table; revenue is <c>net_revenue</c> (base currency).
/// </summary>
public static class KpiSql
{
    /// <summary>The session channel vocabulary (what clean-clicks writes), and which channels are natural traffic.</summary>
    public static readonly IReadOnlyList<string> ChannelVocabulary =
        ["paid_search", "paid_social", "email", "affiliate", "organic_social", "organic_search", "referral", "direct", "other"];

    public static readonly IReadOnlyList<string> NaturalChannels = ["organic_search", "organic_social", "referral", "direct"];

    /// <summary>The channel of purchases no session explains.</summary>
    public const string Unattributed = "unattributed";

    /// <summary>
    /// Ad spend channel spellings accepted besides the session vocabulary itself (after lower-casing, trimming and
    /// turning runs of spaces and hyphens into one underscore).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ChannelSynonyms = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["cpc"] = "paid_search", ["ppc"] = "paid_search", ["sem"] = "paid_search", ["search_ads"] = "paid_search", ["paid_search_ads"] = "paid_search",
        ["social_ads"] = "paid_social", ["paidsocial"] = "paid_social", ["paid_social_ads"] = "paid_social",
        ["affiliates"] = "affiliate",
        ["newsletter"] = "email", ["e_mail"] = "email",
        ["seo"] = "organic_search", ["organic"] = "organic_search",
        ["social"] = "organic_social",
    };

    // ---- kpi/daily ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Marts: <c>kpi/daily</c>, grain: one row per UTC date with a session or an order. Session figures come from
    /// sessions started that day; order figures from orders placed that day. Rates are NULL when their denominator is 0.
    /// Repeat rule: the cohort of day d is the customers whose first purchase date f satisfies d − N − W &lt; f ≤ d − N;
    /// repeaters are those whose second purchase date is at most N days after f (every cohort member had the full N
    /// days before d, so the rate never counts an unfinished window).
    /// </summary>
    public static string Daily(ISqlDialect d, KpiSqlOptions o)
    {
        var n = Int(o.RepeatWindowDays);
        var nw = Int(o.RepeatWindowDays + o.RepeatCohortDays);
        return $"""
            WITH {OrdersInput(o)},
            {SessionsInput(d, o)},
            {SessionsFrom(d, o)},
            {FirstPurchases(o)},
            first_sessions AS (
              SELECT anonymous_key, min(session_date) AS first_session_date
              FROM sessions
              {(o.FromDate is null ? "" : "WHERE anonymous_key IN (SELECT anonymous_key FROM sessions_from)")}
              GROUP BY anonymous_key
            ),
            session_days AS (
              SELECT s.session_date AS kpi_date,
                     count(*) AS sessions,
                     count(DISTINCT s.anonymous_key) AS users,
                     count(DISTINCT CASE WHEN f.first_session_date = s.session_date THEN s.anonymous_key END) AS new_users,
                     sum(CASE WHEN s.is_bounce THEN 1 ELSE 0 END) AS bounced_sessions,
                     sum(CASE WHEN s.is_engaged THEN 1 ELSE 0 END) AS engaged_sessions,
                     sum(CASE WHEN s.product_views > 0 THEN 1 ELSE 0 END) AS product_view_sessions,
                     sum(CASE WHEN s.add_to_carts > 0 THEN 1 ELSE 0 END) AS add_to_cart_sessions,
                     sum(CASE WHEN s.checkouts > 0 THEN 1 ELSE 0 END) AS checkout_sessions,
                     sum(CASE WHEN s.purchases > 0 THEN 1 ELSE 0 END) AS purchase_sessions,
                     sum(CASE WHEN s.is_natural THEN 1 ELSE 0 END) AS natural_sessions
              FROM sessions_from s JOIN first_sessions f ON f.anonymous_key = s.anonymous_key
              GROUP BY s.session_date
            ),
            order_days AS (
              SELECT order_date AS kpi_date,
                     sum(CASE WHEN is_purchase THEN 1 ELSE 0 END) AS orders,
                     count(DISTINCT CASE WHEN is_purchase THEN customer_id END) AS customers,
                     {MoneySql.Sum("net_revenue")} AS revenue,
                     {MoneySql.Sum("CASE WHEN is_purchase THEN net_revenue ELSE 0 END")} AS purchase_revenue
              FROM orders {From(d, o, "WHERE", "order_date")} GROUP BY order_date
            ),
            first_purchase_days AS (
              SELECT first_date,
                     count(*) AS new_customers,
                     sum(CASE WHEN second_date IS NOT NULL AND {d.DaysBetween("first_date", "second_date")} <= {n} THEN 1 ELSE 0 END) AS repeaters
              FROM first_purchases GROUP BY first_date
            ),
            days AS (
              SELECT kpi_date FROM session_days
              UNION
              SELECT kpi_date FROM order_days
            ),
            repeat_cohorts AS (
              SELECT dd.kpi_date,
                     sum(fp.new_customers) AS cohort_customers,
                     sum(fp.repeaters) AS repeat_customers
              FROM days dd JOIN first_purchase_days fp
                ON {d.DaysBetween("fp.first_date", "dd.kpi_date")} >= {n} AND {d.DaysBetween("fp.first_date", "dd.kpi_date")} < {nw}
              GROUP BY dd.kpi_date
            ),
            joined AS (
              SELECT dd.kpi_date,
                     coalesce(sd.sessions, 0) AS sessions, coalesce(sd.users, 0) AS users, coalesce(sd.new_users, 0) AS new_users,
                     coalesce(sd.bounced_sessions, 0) AS bounced_sessions, coalesce(sd.engaged_sessions, 0) AS engaged_sessions,
                     coalesce(sd.product_view_sessions, 0) AS product_view_sessions, coalesce(sd.add_to_cart_sessions, 0) AS add_to_cart_sessions,
                     coalesce(sd.checkout_sessions, 0) AS checkout_sessions, coalesce(sd.purchase_sessions, 0) AS purchase_sessions,
                     coalesce(sd.natural_sessions, 0) AS natural_sessions,
                     coalesce(od.orders, 0) AS orders, coalesce(od.customers, 0) AS customers, coalesce(fd.new_customers, 0) AS new_customers,
                     coalesce(od.revenue, {MoneySql.Zero}) AS revenue, coalesce(od.purchase_revenue, {MoneySql.Zero}) AS purchase_revenue,
                     coalesce(rc.cohort_customers, 0) AS repeat_cohort_customers, coalesce(rc.repeat_customers, 0) AS repeat_customers
              FROM days dd
              LEFT JOIN session_days sd ON sd.kpi_date = dd.kpi_date
              LEFT JOIN order_days od ON od.kpi_date = dd.kpi_date
              LEFT JOIN first_purchase_days fd ON fd.first_date = dd.kpi_date
              LEFT JOIN repeat_cohorts rc ON rc.kpi_date = dd.kpi_date
            )
            SELECT kpi_date,
                   CAST(sessions AS BIGINT) AS sessions,
                   CAST(users AS BIGINT) AS users,
                   CAST(new_users AS BIGINT) AS new_users,
                   CAST(users - new_users AS BIGINT) AS returning_users,
                   CAST(orders AS BIGINT) AS orders,
                   CAST(customers AS BIGINT) AS customers,
                   CAST(new_customers AS BIGINT) AS new_customers,
                   revenue,
                   {Ratio("orders", "sessions")} AS conversion_rate,
                   {MoneySql.PerUnit(d, "purchase_revenue", "orders")} AS aov,
                   {MoneySql.PerUnit(d, "revenue", "users")} AS revenue_per_user,
                   {MoneySql.PerUnit(d, "revenue", "customers")} AS revenue_per_customer,
                   {Ratio("bounced_sessions", "sessions")} AS bounce_rate,
                   {Ratio("engaged_sessions", "sessions")} AS engaged_session_rate,
                   CAST(product_view_sessions AS BIGINT) AS product_view_sessions,
                   CAST(add_to_cart_sessions AS BIGINT) AS add_to_cart_sessions,
                   CAST(checkout_sessions AS BIGINT) AS checkout_sessions,
                   CAST(purchase_sessions AS BIGINT) AS purchase_sessions,
                   {Ratio("add_to_cart_sessions", "product_view_sessions")} AS view_to_cart_rate,
                   {Ratio("checkout_sessions", "add_to_cart_sessions")} AS cart_to_checkout_rate,
                   {Ratio("purchase_sessions", "checkout_sessions")} AS checkout_to_purchase_rate,
                   CAST(natural_sessions AS BIGINT) AS natural_sessions,
                   {Ratio("natural_sessions", "sessions")} AS natural_traffic_share,
                   CAST(repeat_cohort_customers AS BIGINT) AS repeat_cohort_customers,
                   CAST(repeat_customers AS BIGINT) AS repeat_customers,
                   {Ratio("repeat_customers", "repeat_cohort_customers")} AS repeat_purchase_rate
            FROM joined
            ORDER BY kpi_date ASC NULLS LAST
            """;
    }

    // ---- kpi/channels ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Marts: <c>kpi/channels</c>, grain: one row per UTC date × channel with sessions (by session start), attributed
    /// purchases (by order date) or spend. Attribution (last non-direct touch): a purchase's candidate sessions are
    /// its customer's sessions that started in [ordered_at − lookback, ordered_at], plus the session holding the
    /// purchase event that carries its order_id (<see cref="PurchaseLinks"/>); the latest candidate that is not <c>direct</c> wins,
    /// else the latest direct one (ties: the greater session_id); a guest purchase has only the purchase-event session;
    /// no candidate → <c>unattributed</c>.
    /// </summary>
    public static string Channels(ISqlDialect d, KpiSqlOptions o)
    {
        var lookbackUs = ((long)o.AttributionLookbackDays * 86_400_000_000L).ToString(CultureInfo.InvariantCulture);
        var links = o.LinksRelation is null
            ? $"""
              purchase_events AS (
                SELECT CAST(NULL AS {d.StringType}) AS order_id, CAST(NULL AS {d.StringType}) AS session_id, CAST(NULL AS BIGINT) AS event_no
                WHERE false
              )
              """
            : $"""
              purchase_events AS (
                SELECT order_id, session_id,
                       row_number() OVER (PARTITION BY order_id ORDER BY occurred_at ASC NULLS LAST, session_id ASC NULLS LAST) AS event_no
                FROM {o.LinksRelation}
                {(o.FromDate is null ? "" : "WHERE order_id IN (SELECT order_id FROM purchases)")}
              )
              """;
        // A candidate session started at most the lookback before its order (dated on or after FromDate): earlier
        // session days cannot hold one (two days' margin: the lookback counts in microseconds, the dates in days). A
        // lookback longer than the calendar reaches back to its first day.
        var candidateDays = o.FromDate is { } from
            ? $"AND s.session_date >= {d.DateLiteral(DateOnly.FromDayNumber((int)Math.Max(0, (long)from.DayNumber - o.AttributionLookbackDays - 2)))}"
            : "";
        var spend = o.AdSpendRelation is null
            ? $"""
              spend AS (
                SELECT CAST(NULL AS DATE) AS kpi_date, CAST(NULL AS {d.StringType}) AS channel, CAST(NULL AS {MoneySql.AmountType}) AS spend
                WHERE false
              )
              """
            : $"""
              spend AS (
                SELECT spend_date AS kpi_date, channel, {MoneySql.Sum("spend")} AS spend
                FROM {o.AdSpendRelation} {From(d, o, "WHERE", "spend_date")} GROUP BY spend_date, channel
              )
              """;
        var spendValue = o.AdSpendRelation is null ? $"CAST(NULL AS {MoneySql.AmountType})" : $"coalesce(sp.spend, {MoneySql.Zero})";
        var natural = string.Join(", ", NaturalChannels.Select(d.Str));
        return $"""
            WITH {OrdersInput(o)},
            {SessionsInput(d, o)},
            {SessionsFrom(d, o)},
            {spend},
            {FirstPurchases(o)},
            purchases AS (
              SELECT o.order_id, o.customer_id, o.ordered_at, o.order_date, o.net_revenue,
                     coalesce(fp.first_order_id = o.order_id, false) AS is_first_purchase
              FROM orders o LEFT JOIN first_purchases fp ON fp.customer_id = o.customer_id
              WHERE o.is_purchase {From(d, o, "AND", "o.order_date")}
            ),
            {links},
            candidates AS (
              SELECT p.order_id, s.session_id, s.started_at, s.channel
              FROM purchases p JOIN sessions s ON s.customer_id = p.customer_id
              WHERE p.customer_id IS NOT NULL {candidateDays}
                AND {d.EpochMicros("s.started_at")} <= {d.EpochMicros("p.ordered_at")}
                AND {d.EpochMicros("s.started_at")} >= {d.EpochMicros("p.ordered_at")} - {lookbackUs}
              UNION
              SELECT pe.order_id, s.session_id, s.started_at, s.channel
              FROM purchase_events pe JOIN sessions s ON s.session_id = pe.session_id
              WHERE pe.event_no = 1
            ),
            ranked AS (
              SELECT order_id, channel,
                     row_number() OVER (PARTITION BY order_id
                       ORDER BY CASE WHEN channel = 'direct' THEN 1 ELSE 0 END ASC NULLS LAST, started_at DESC NULLS LAST, session_id DESC NULLS LAST) AS touch_rank
              FROM candidates
            ),
            attributed AS (
              SELECT p.*, coalesce(r.channel, {d.Str(Unattributed)}) AS channel
              FROM purchases p LEFT JOIN ranked r ON r.order_id = p.order_id AND r.touch_rank = 1
            ),
            day_sessions AS (
              SELECT session_date AS kpi_date, count(*) AS sessions FROM sessions_from GROUP BY session_date
            ),
            channel_sessions AS (
              SELECT session_date AS kpi_date, channel, count(*) AS sessions FROM sessions_from GROUP BY session_date, channel
            ),
            channel_orders AS (
              SELECT order_date AS kpi_date, channel, count(*) AS orders, {MoneySql.Sum("net_revenue")} AS revenue,
                     sum(CASE WHEN is_first_purchase THEN 1 ELSE 0 END) AS new_customers
              FROM attributed GROUP BY order_date, channel
            ),
            keys AS (
              SELECT kpi_date, channel FROM channel_sessions
              UNION
              SELECT kpi_date, channel FROM channel_orders
              UNION
              SELECT kpi_date, channel FROM spend
            ),
            joined AS (
              SELECT k.kpi_date, k.channel,
                     coalesce(cs.sessions, 0) AS sessions, ds.sessions AS day_sessions,
                     coalesce(co.orders, 0) AS orders, coalesce(co.revenue, {MoneySql.Zero}) AS revenue, coalesce(co.new_customers, 0) AS new_customers,
                     {spendValue} AS spend
              FROM keys k
              LEFT JOIN channel_sessions cs ON cs.kpi_date = k.kpi_date AND cs.channel = k.channel
              LEFT JOIN day_sessions ds ON ds.kpi_date = k.kpi_date
              LEFT JOIN channel_orders co ON co.kpi_date = k.kpi_date AND co.channel = k.channel
              LEFT JOIN spend sp ON sp.kpi_date = k.kpi_date AND sp.channel = k.channel
            )
            SELECT kpi_date,
                   channel,
                   channel IN ({natural}) AS is_natural,
                   CAST(sessions AS BIGINT) AS sessions,
                   {Ratio("sessions", "day_sessions")} AS session_share,
                   CAST(orders AS BIGINT) AS orders,
                   revenue,
                   CAST(new_customers AS BIGINT) AS new_customers,
                   {Ratio("orders", "sessions")} AS conversion_rate,
                   CAST(spend AS {MoneySql.AmountType}) AS spend,
                   {Ratio("spend", "revenue")} AS acos,
                   {Ratio("revenue", "spend")} AS roas,
                   {MoneySql.PerUnit(d, "spend", "orders")} AS cpa,
                   {MoneySql.PerUnit(d, "spend", "new_customers")} AS cac
            FROM joined
            ORDER BY kpi_date ASC NULLS LAST, channel ASC NULLS LAST
            """;
    }

    // ---- kpi/purchase_links, and the update of the dated marts from a day on ------------------------------------

    /// <summary>
    /// <c>kpi/purchase_links</c>, grain: one row per clean purchase event that carries an order id and a session id
    /// (partitioned by <c>event_date</c>): what links an order to the session of its purchase event, kept so that
    /// attribution does not scan every clean event, and a night's update re-reads only the event days that changed.
    /// <paramref name="eventDays"/> null: every day; otherwise only those days' partitions.
    /// </summary>
    public static string PurchaseLinks(ISqlDialect d, string eventsRelation, IReadOnlyList<DateOnly>? eventDays) => $"""
        SELECT event_id, order_id, session_id, occurred_at, event_date
        FROM {eventsRelation}
        WHERE event_type = 'purchase' AND order_id IS NOT NULL AND session_id IS NOT NULL
          {(eventDays is null ? "" : $"AND event_date IN ({DateList(d, eventDays)})")}
        ORDER BY event_date ASC NULLS LAST, order_id ASC NULLS LAST, occurred_at ASC NULLS LAST, session_id ASC NULLS LAST, event_id ASC NULLS LAST
        """;

    /// <summary>
    /// The earliest order date among the orders that purchase links of the given event days point to, and of links
    /// on or after <paramref name="linksFrom"/> (null: none): the orders whose attribution may change with those days.
    /// </summary>
    public static string EarliestLinkedOrder(ISqlDialect d, string linksRelation, string ordersRelation, IReadOnlyList<DateOnly> eventDays, DateOnly? linksFrom)
    {
        var days = new List<string>();
        if (eventDays.Count > 0)
        {
            days.Add($"l.event_date IN ({DateList(d, eventDays)})");
        }
        if (linksFrom is { } f)
        {
            days.Add($"l.event_date >= {d.DateLiteral(f)}");
        }
        return $"""
            SELECT min(o.order_date)
            FROM {linksRelation} l JOIN {ordersRelation} o ON o.order_id = l.order_id
            WHERE {(days.Count == 0 ? "false" : string.Join(" OR ", days))}
            """;
    }

    /// <summary>
    /// The purchase links as a nightly update sees them: the published ones but those of the changed event days, and
    /// the staged links of those days (either relation may be absent: no published links yet, no link on those days).
    /// </summary>
    public static string UpdatedLinks(ISqlDialect d, string? publishedRelation, string? stagedRelation, IReadOnlyList<DateOnly> changedDays)
    {
        const string columns = "event_id, order_id, session_id, occurred_at, event_date";
        var parts = new List<string>();
        if (publishedRelation is not null)
        {
            parts.Add($"SELECT {columns} FROM {publishedRelation}{(changedDays.Count == 0 ? "" : $" WHERE event_date NOT IN ({DateList(d, changedDays)})")}");
        }
        if (stagedRelation is not null)
        {
            parts.Add($"SELECT {columns} FROM {stagedRelation}");
        }
        return parts.Count == 0
            ? throw new ArgumentException("neither published nor staged purchase links")
            : "(" + string.Join(" UNION ALL ", parts) + ")";
    }

    /// <summary>
    /// A dated mart updated from <paramref name="from"/> on: the rows <paramref name="fromSql"/> computes (those dated
    /// on or after it, see <see cref="KpiSqlOptions.FromDate"/>) and the published rows dated before it, in the mart's
    /// order (by date, then channel for <c>kpi/channels</c>).
    /// </summary>
    public static string MergeFrom(ISqlDialect d, string fromSql, string publishedRelation, DateOnly from, bool byChannel) => $"""
        WITH computed AS (
        {fromSql}
        ),
        kept AS (
          SELECT * FROM {publishedRelation} WHERE kpi_date < {d.DateLiteral(from)}
        )
        SELECT * FROM computed
        UNION ALL
        SELECT * FROM kept
        ORDER BY kpi_date ASC NULLS LAST{(byChannel ? ", channel ASC NULLS LAST" : "")}
        """;

    /// <summary>
    /// One row per order date: the date as text, and a digest of its orders' columns the marts read (their count and
    /// the XOR of one 64-bit hash per order: clean orders are unique by order_id, so no two rows cancel out).
    /// </summary>
    public static string OrderDayDigests(ISqlDialect d, string ordersRelation) => $"""
        SELECT {d.ToText("order_date")} AS day,
               {d.ToText("count(*)")} || ':' || {d.ToText($"bit_xor({d.Hash64("order_id, customer_id, ordered_at, is_purchase, net_revenue")})")} AS digest
        FROM {ordersRelation}
        GROUP BY order_date
        ORDER BY day ASC NULLS LAST
        """;

    /// <summary>One row per spend date: a digest of its spend per channel (summed first, so the rows are unique).</summary>
    public static string SpendDayDigests(ISqlDialect d, string spendRelation) => $"""
        WITH spend AS (
          SELECT spend_date, channel, {MoneySql.Sum("spend")} AS spend
          FROM {spendRelation} GROUP BY spend_date, channel
        )
        SELECT {d.ToText("spend_date")} AS day,
               {d.ToText("count(*)")} || ':' || {d.ToText($"bit_xor({d.Hash64("channel, spend")})")} AS digest
        FROM spend
        GROUP BY spend_date
        ORDER BY day ASC NULLS LAST
        """;

    // ---- kpi/cohorts ----------------------------------------------------------------------------------------------

    /// <summary>
    /// Marts: <c>kpi/cohorts</c>, grain: acquisition month (month of the first purchase) × months since it, for every
    /// month from the cohort's own up to the last of <paramref name="months"/> (first days of the months from the first to the
    /// last order's month), zero-activity
    /// months included. Active = customers of the cohort with a purchase that month; revenue = net revenue of all
    /// their orders that month; cumulative revenue per customer = revenue of months 0…m over the cohort's size.
    /// </summary>
    public static string Cohorts(ISqlDialect d, KpiSqlOptions o, IReadOnlyList<DateOnly> months)
    {
        var calendar = months.Count == 0
            ? "SELECT CAST(NULL AS DATE) AS month_start WHERE false"
            : $"SELECT month_start FROM (VALUES {string.Join(", ", months.Select(m => $"({d.DateLiteral(m)})"))}) AS calendar_months(month_start)";
        return $"""
            WITH {OrdersInput(o)},
            calendar AS (
              {calendar}
            ),
            {FirstPurchases(o)},
            customer_cohorts AS (
              SELECT customer_id, {MonthStart("first_date")} AS cohort_month FROM first_purchases
            ),
            cohort_sizes AS (
              SELECT cohort_month, count(*) AS cohort_customers FROM customer_cohorts GROUP BY cohort_month
            ),
            activity AS (
              SELECT c.cohort_month, {MonthStart("o.order_date")} AS month_start,
                     count(DISTINCT CASE WHEN o.is_purchase THEN o.customer_id END) AS active_customers,
                     {MoneySql.Sum("o.net_revenue")} AS revenue
              FROM orders o JOIN customer_cohorts c ON c.customer_id = o.customer_id
              GROUP BY c.cohort_month, {MonthStart("o.order_date")}
            ),
            grid AS (
              SELECT cs.cohort_month, cs.cohort_customers, cal.month_start,
                     (year(cal.month_start) - year(cs.cohort_month)) * 12 + month(cal.month_start) - month(cs.cohort_month) AS months_since_first
              FROM cohort_sizes cs JOIN calendar cal ON cal.month_start >= cs.cohort_month
            ),
            joined AS (
              SELECT g.cohort_month, g.months_since_first, g.cohort_customers,
                     coalesce(a.active_customers, 0) AS active_customers, coalesce(a.revenue, {MoneySql.Zero}) AS revenue
              FROM grid g LEFT JOIN activity a ON a.cohort_month = g.cohort_month AND a.month_start = g.month_start
            ),
            cumulated AS (
              SELECT joined.*,
                     sum(revenue) OVER (PARTITION BY cohort_month ORDER BY months_since_first ASC NULLS LAST
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative_revenue
              FROM joined
            )
            SELECT cohort_month,
                   CAST(months_since_first AS INTEGER) AS months_since_first,
                   CAST(cohort_customers AS BIGINT) AS cohort_customers,
                   CAST(active_customers AS BIGINT) AS active_customers,
                   {Ratio("active_customers", "cohort_customers")} AS retention_rate,
                   revenue,
                   {MoneySql.PerUnit(d, "cumulative_revenue", "cohort_customers")} AS cumulative_revenue_per_customer
            FROM cumulated
            ORDER BY cohort_month ASC NULLS LAST, months_since_first ASC NULLS LAST
            """;
    }

    /// <summary>First and last order date (any order) of the clean table: the span of the cohort calendar.</summary>
    public static string OrderDateSpan(string ordersRelation) => $"SELECT min(order_date), max(order_date) FROM {ordersRelation}";

    // ---- ad spend -------------------------------------------------------------------------------------------------

    /// <summary>
    /// Staging: one row per raw ad spend row of <c>ad_spend_raw</c>, typed, with its reason code (NULL = valid) and
    /// whether it is kept: rows of a (date, channel, campaign) that a later file (path order) delivers again are
    /// replaced by that file's rows as a whole (counted as duplicates); several rows of one file are all kept (summed).
    /// Spend in another currency (optional column <c>currency</c>; empty = the base currency) is converted like an
    /// order's amounts: the FX table's (<c>fx_raw</c>) latest rate on or before the spend date, spend rounded to cents
    /// then × rate rounded to cents, half away from zero (<c>spend_base</c>).
    /// </summary>
    public static string AdSpendTyped(ISqlDialect d, AdSpendSqlOptions o)
    {
        string T(string col) => $"NULLIF(trim({d.Id(col)}), '')";
        var known = ChannelVocabulary.Select(c => (From: c, To: c)).Concat(ChannelSynonyms.Select(kv => (From: kv.Key, To: kv.Value)))
            .Select(p => $"WHEN {d.Str(p.From)} THEN {d.Str(p.To)}");
        var baseCurrency = d.Str(o.BaseCurrency);
        var rules = new (string Condition, string Code, string Detail)[]
        {
            ("_parse_error IS NOT NULL", "_parse_error", "coalesce(_parse_detail, 'unreadable row')"),
            ("date_s IS NULL", "'missing_date'", "'date is empty'"),
            ($"spend_date IS NULL OR spend_date < {d.DateLiteral(o.MinValidDate)}", "'bad_date'",
                $"'date ' || {Quoted("date_s")} || ' is not a date YYYY-MM-DD on or after {o.MinValidDate:yyyy-MM-dd}'"),
            ("channel_s IS NULL", "'missing_channel'", "'channel is empty'"),
            ("channel IS NULL", "'unknown_channel'", $"'channel ' || {Quoted("channel_s")} || ' is not one of {string.Join(", ", ChannelVocabulary)} (or a known synonym)'"),
            ("spend_s IS NULL", "'missing_spend'", "'spend is empty'"),
            (MoneySql.NotNonNegative(d, "spend", "spend_s"), "'bad_spend'", $"'spend ' || {Quoted("spend_s")} || ' is not a non-negative number'"),
            ($"NOT {d.FullMatch("currency", "[A-Z]{3}")} OR NOT fx_known", "'unknown_currency'",
                $"'currency ' || {Quoted("currency")} || ' is not the base currency and has no FX rates'"),
            ("fx_rate IS NULL", "'missing_fx_rate'", "'no FX rate for ' || currency || ' on or before the spend date'"),
            (MoneySql.TooLargeToRead("spend", "spend_s"), "'spend_out_of_range'",
                $"'spend ' || {Quoted("spend_s")} || ' is too large: numbers are read with at most 14 digits before the point'"),
            // spend_base's cast would raise on a converted spend beyond DECIMAL(18,2): the row is rejected instead.
            ($"NOT {MoneySql.ToBaseFits(d, "round(spend, 2)", "fx_rate")}", "'spend_out_of_range'",
                "'spend in the base currency (spend times the FX rate) does not fit decimal(18,2)'"),
        };
        var reasonCode = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {r.Code}")) + " END";
        var reasonDetail = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {r.Detail}")) + " END";
        // The rate of each row: 1 for the base currency, else the latest FX row of its currency on or before its date
        // (one per row: row_number over the row's identity; rates of one currency and date agree, see MoneySql.InvalidFxRows).
        var withFx = MoneySql.WithFxCtes(d, o.HasFx, baseCurrency, "p.spend_date");
        return $"""
            WITH src AS (
              SELECT _source_file, _source_line, _raw, _parse_error, _parse_detail,
                     {T("date")} AS date_s, {T("channel")} AS channel_s, {T("campaign")} AS campaign, {T("spend")} AS spend_s,
                     upper({T("currency")}) AS currency_s
              FROM ad_spend_raw
            ),
            parsed AS (
              SELECT src.*,
                     {d.TryDate("date_s")} AS spend_date,
                     CASE {d.RegexReplaceAll("lower(channel_s)", "[ _-]+", "_")} {string.Join(" ", known)} END AS channel,
                     {d.TryDecimal("spend_s")} AS spend,
                     coalesce(currency_s, {baseCurrency}) AS currency
              FROM src
            ),
            {withFx}
            checked AS (
              SELECT with_fx.*, {reasonCode} AS reason_code, {reasonDetail} AS reason_detail
              FROM with_fx
            ),
            delivered AS (
              SELECT checked.*,
                     max(CASE WHEN reason_code IS NULL THEN _source_file END) OVER (PARTITION BY spend_date, channel, campaign) AS latest_file,
                     CASE WHEN reason_code IS NULL THEN {MoneySql.ToBase(MoneySql.Cents("spend"), "fx_rate")} END AS spend_base
              FROM checked
            )
            SELECT delivered.*, reason_code IS NULL AND _source_file = latest_file AS is_kept
            FROM delivered
            """;
    }

    /// <summary>The kept ad spend rows (grain: raw row): spend_date, channel, campaign, spend (in the base currency, DECIMAL(18,2)).</summary>
    public const string AdSpendKept = "(SELECT spend_date, channel, campaign, spend_base AS spend FROM ad_spend_typed WHERE is_kept)";

    /// <inheritdoc cref="MoneySql.InvalidFxRows"/>
    public static string InvalidFxRows(ISqlDialect d) => MoneySql.InvalidFxRows(d);

    /// <summary>Marts: <c>quarantine/ad_spend</c>, one row per rejected ad spend row (grain: source_file × source_line); e-mail-shaped text redacted as for orders.</summary>
    public static string AdSpendQuarantine(ISqlDialect d, string runId) => TypedInputSql.Quarantine(d, "ad_spend_typed", "_raw", runId);

    // ---- shared pieces --------------------------------------------------------------------------------------------

    private static string OrdersInput(KpiSqlOptions o) => $"""
        orders AS (
          SELECT order_id, customer_id, ordered_at, order_date, is_purchase, net_revenue
          FROM {o.OrdersRelation}
        )
        """;

    private static string SessionsInput(ISqlDialect d, KpiSqlOptions o) => o.SessionsRelation is null
        ? $"""
          sessions AS (
            SELECT CAST(NULL AS {d.StringType}) AS session_id, CAST(NULL AS {d.StringType}) AS anonymous_key, CAST(NULL AS {d.StringType}) AS customer_id,
                   CAST(NULL AS TIMESTAMP) AS started_at, CAST(NULL AS DATE) AS session_date, CAST(NULL AS {d.StringType}) AS channel,
                   CAST(NULL AS BOOLEAN) AS is_natural, CAST(NULL AS BOOLEAN) AS is_bounce, CAST(NULL AS BOOLEAN) AS is_engaged,
                   0 AS product_views, 0 AS add_to_carts, 0 AS checkouts, 0 AS purchases
            WHERE false
          )
          """
        : $"""
          sessions AS (
            SELECT session_id, anonymous_key, customer_id, started_at, session_date, channel, is_natural, is_bounce, is_engaged,
                   product_views, add_to_carts, checkouts, purchases
            FROM {o.SessionsRelation}
          )
          """;

    private static string DateList(ISqlDialect d, IReadOnlyList<DateOnly> days) => string.Join(", ", days.Select(d.DateLiteral));

    /// <summary>The sessions whose rows are computed: those started on or after <see cref="KpiSqlOptions.FromDate"/>, or all.</summary>
    private static string SessionsFrom(ISqlDialect d, KpiSqlOptions o) => $"""
        sessions_from AS (
          SELECT * FROM sessions {From(d, o, "WHERE", "session_date")}
        )
        """;

    /// <summary>"<paramref name="keyword"/> column &gt;= FromDate", or nothing without one.</summary>
    private static string From(ISqlDialect d, KpiSqlOptions o, string keyword, string column) =>
        o.FromDate is { } from ? $"{keyword} {column} >= {d.DateLiteral(from)}" : "";

    /// <summary>
    /// One row per customer with a purchase: the first purchase (order id, date) and the date of the second, by
    /// (ordered_at, order_id) over the whole of clean/orders (what <see cref="KpiSqlOptions.FirstPurchasesRelation"/> holds).
    /// </summary>
    public static string FirstPurchasesOf(string ordersRelation) => $"""
        WITH {FirstPurchaseCtes(ordersRelation)}
        SELECT customer_id, first_order_id, first_date, second_date FROM first_purchases
        """;

    /// <summary>The <c>first_purchases</c> CTE: read from the options' table, or computed from the <c>orders</c> CTE.</summary>
    private static string FirstPurchases(KpiSqlOptions o) => o.FirstPurchasesRelation is { } relation
        ? $"""
          first_purchases AS (
            SELECT customer_id, first_order_id, first_date, second_date FROM {relation}
          )
          """
        : FirstPurchaseCtes("orders");

    private static string FirstPurchaseCtes(string orders) => $"""
        purchase_ranks AS (
          SELECT customer_id, order_id, order_date,
                 row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at ASC NULLS LAST, order_id ASC NULLS LAST) AS purchase_no
          FROM {orders}
          WHERE is_purchase AND customer_id IS NOT NULL
        ),
        first_purchases AS (
          SELECT customer_id,
                 min(CASE WHEN purchase_no = 1 THEN order_id END) AS first_order_id,
                 min(CASE WHEN purchase_no = 1 THEN order_date END) AS first_date,
                 min(CASE WHEN purchase_no = 2 THEN order_date END) AS second_date
          FROM purchase_ranks
          WHERE purchase_no <= 2
          GROUP BY customer_id
        )
        """;

    private static string MonthStart(string dateExpr) => $"CAST(date_trunc('month', {dateExpr}) AS DATE)";

    /// <summary>numerator / denominator as DOUBLE, NULL when the denominator is 0 (or NULL).</summary>
    private static string Ratio(string numerator, string denominator) =>
        $"CASE WHEN {denominator} <> 0 THEN CAST({numerator} AS DOUBLE) / CAST({denominator} AS DOUBLE) END";

    private static string Quoted(string expr) => $"'\"' || coalesce({expr}, '') || '\"'";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
