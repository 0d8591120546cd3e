using System.Globalization;
using Pipeline.Engine;

namespace Pipeline.Stages.Customers;

/// <summary>Inputs of the features query.</summary>
/// <param name="OrdersRelation">FROM-clause relation of clean/orders.</param>
/// <param name="SessionsRelation">FROM-clause relation of sessions, or null when there are none.</param>
/// <param name="AsOf">Snapshot date, inclusive.</param>
/// <param name="DaysPerUnit">1 for day, 7 for week.</param>
/// <param name="BehaviourWindowDays">Trailing window of sessions.</param>
public sealed record FeaturesSqlOptions(string OrdersRelation, string? SessionsRelation, DateOnly AsOf, double DaysPerUnit, int BehaviourWindowDays);

/// <summary>
/// Marts: <c>customers/features</c>, one row per customer with at least one purchase on or before as_of (grain:
/// customer_id × as_of). Order facts, behaviour over the trailing window, and the CLV summary with the lifetimes
/// definitions (frequency = distinct purchase days − 1; recency = first → last purchase; T = first purchase → as_of;
/// monetary_value = mean net value of the repeat purchase days).
/// </summary>
public static class FeaturesSql
{
    public static string Features(ISqlDialect d, FeaturesSqlOptions o)
    {
        var asOf = d.DateLiteral(o.AsOf);
        var windowStart = d.DateLiteral(o.AsOf.AddDays(-o.BehaviourWindowDays + 1));
        var unit = o.DaysPerUnit.ToString("0.0###", CultureInfo.InvariantCulture);
        var behaviour = o.SessionsRelation is null
            ? $"""
              behaviour AS (
                SELECT CAST(NULL AS {d.StringType}) AS customer_id, 0 AS sessions, CAST(NULL AS DOUBLE) AS engaged_seconds_avg, 0 AS product_views,
                       0 AS add_to_carts, CAST(NULL AS DOUBLE) AS cart_add_rate, CAST(NULL AS DOUBLE) AS session_conversion_rate,
                       CAST(NULL AS DOUBLE) AS natural_traffic_share, CAST(NULL AS INTEGER) AS days_since_last_session,
                       CAST(NULL AS {d.StringType}) AS device_mix, CAST(NULL AS DOUBLE) AS mobile_share
                WHERE false
              ),
              """
            : $"""
              sessions AS (
                SELECT * FROM {o.SessionsRelation}
                WHERE customer_id IS NOT NULL AND session_date <= {asOf} AND session_date >= {windowStart}
              ),
              devices AS (
                SELECT customer_id, device_type, count(*) AS n,
                       row_number() OVER (PARTITION BY customer_id ORDER BY count(*) DESC NULLS LAST, device_type ASC NULLS LAST) AS device_rank
                FROM sessions WHERE device_type IS NOT NULL GROUP BY customer_id, device_type
              ),
              behaviour AS (
                SELECT s.customer_id,
                       count(*) AS sessions,
                       {EngagedSecondsMean(d)} AS engaged_seconds_avg,
                       sum(s.product_views) AS product_views,
                       sum(s.add_to_carts) AS add_to_carts,
                       avg(CASE WHEN s.add_to_carts > 0 THEN 1.0 ELSE 0.0 END) AS cart_add_rate,
                       avg(CASE WHEN s.is_converted THEN 1.0 ELSE 0.0 END) AS session_conversion_rate,
                       avg(CASE WHEN s.is_natural THEN 1.0 ELSE 0.0 END) AS natural_traffic_share,
                       {d.DaysBetween("max(s.session_date)", asOf)} AS days_since_last_session,
                       min(dv.device_type) AS device_mix,
                       avg(CASE WHEN s.device_type = 'mobile' THEN 1.0 ELSE 0.0 END) AS mobile_share
                FROM sessions s LEFT JOIN devices dv ON dv.customer_id = s.customer_id AND dv.device_rank = 1
                GROUP BY s.customer_id
              ),
              """;
        return $"""
            WITH orders AS (
              SELECT * FROM {o.OrdersRelation}
              WHERE customer_id IS NOT NULL AND order_date <= {asOf} AND status <> 'cancelled'
            ),
            order_facts AS (
              SELECT customer_id,
                     min(CASE WHEN is_purchase THEN ordered_at END) AS first_order_at,
                     max(CASE WHEN is_purchase THEN ordered_at END) AS last_order_at,
                     min(CASE WHEN is_purchase THEN order_date END) AS first_order_date,
                     max(CASE WHEN is_purchase THEN order_date END) AS last_order_date,
                     sum(CASE WHEN is_purchase THEN 1 ELSE 0 END) AS orders,
                     {MoneySql.Sum("net_revenue")} AS net_revenue,
                     {MoneySql.Sum(MoneySql.ToBase("gross_amount", "fx_rate"))} AS gross_base,
                     {MoneySql.Sum(MoneySql.ToBase("refunded_amount", "fx_rate"))} AS refunded_base,
                     {MoneySql.Sum(MoneySql.ToBase("discount_amount", "fx_rate"))} AS discount_base
              FROM orders
              GROUP BY customer_id
              HAVING sum(CASE WHEN is_purchase THEN 1 ELSE 0 END) > 0
            ),
            purchase_days AS (
              SELECT customer_id, order_date, {MoneySql.Sum("net_revenue")} AS day_value,
                     row_number() OVER (PARTITION BY customer_id ORDER BY order_date ASC NULLS LAST) AS day_no
              FROM orders WHERE is_purchase
              GROUP BY customer_id, order_date
            ),
            clv AS (
              SELECT customer_id,
                     count(*) - 1 AS frequency,
                     {d.DaysBetween("min(order_date)", "max(order_date)")} / {unit} AS recency,
                     {d.DaysBetween("min(order_date)", asOf)} / {unit} AS t_value,
                     coalesce({MoneySql.PerUnit(d, "sum(CASE WHEN day_no > 1 THEN day_value END)", "count(*) - 1", MonetaryScale)}, CAST(0 AS DECIMAL(18,{MonetaryScale}))) AS monetary_value
              FROM purchase_days
              GROUP BY customer_id
            ),
            {behaviour}
            joined AS (
              SELECT f.*, c.frequency, c.recency, c.t_value, c.monetary_value,
                     b.sessions, b.engaged_seconds_avg, b.product_views, b.add_to_carts, b.cart_add_rate, b.session_conversion_rate,
                     b.natural_traffic_share, b.days_since_last_session, b.device_mix, b.mobile_share
              FROM order_facts f
              JOIN clv c ON c.customer_id = f.customer_id
              LEFT JOIN behaviour b ON b.customer_id = f.customer_id
            )
            SELECT customer_id,
                   first_order_at,
                   last_order_at,
                   CAST(orders AS INTEGER) AS orders,
                   net_revenue,
                   {MoneySql.PerUnit(d, "net_revenue", "orders")} AS avg_order_value,
                   CAST({d.DaysBetween("last_order_date", asOf)} AS INTEGER) AS recency_days,
                   CAST({d.DaysBetween("first_order_date", asOf)} AS INTEGER) AS tenure_days,
                   CASE WHEN gross_base > 0 THEN CAST(refunded_base AS DOUBLE) / CAST(gross_base AS DOUBLE) ELSE 0.0 END AS refund_rate,
                   CASE WHEN gross_base + discount_base > 0 THEN CAST(discount_base AS DOUBLE) / CAST(gross_base + discount_base AS DOUBLE) ELSE 0.0 END AS discount_share,
                   CAST(coalesce(sessions, 0) AS INTEGER) AS sessions,
                   CAST(coalesce(engaged_seconds_avg, 0) AS DOUBLE) AS engaged_seconds_avg,
                   CAST(coalesce(product_views, 0) AS INTEGER) AS product_views,
                   CAST(coalesce(add_to_carts, 0) AS INTEGER) AS add_to_carts,
                   CAST(coalesce(cart_add_rate, 0) AS DOUBLE) AS cart_add_rate,
                   CAST(coalesce(session_conversion_rate, 0) AS DOUBLE) AS session_conversion_rate,
                   CAST(coalesce(natural_traffic_share, 0) AS DOUBLE) AS natural_traffic_share,
                   CAST(days_since_last_session AS INTEGER) AS days_since_last_session,
                   device_mix,
                   CAST(coalesce(mobile_share, 0) AS DOUBLE) AS mobile_share,
                   CAST(frequency AS INTEGER) AS frequency,
                   CAST(recency AS DOUBLE) AS recency,
                   CAST(t_value AS DOUBLE) AS T,
                   monetary_value,
                   {asOf} AS as_of
            FROM joined
            ORDER BY customer_id ASC NULLS LAST
            """;
    }

    /// <summary>
    /// Decimals of monetary_value: a mean that feeds Gamma-Gamma, kept finer than cents so rounding does not move the
    /// fit (the lifetimes reference values agree to 5·10⁻⁷).
    /// </summary>
    public const int MonetaryScale = 6;

    /// <summary>
    /// Mean engaged seconds per session: summed exactly as DECIMAL(18,3) (milliseconds) and divided once. avg() of the
    /// DOUBLE column adds in whatever order the threads deliver the rows, so its last bits changed from run to run.
    /// Non-finite values (never written by clean-clicks) are left out like NULLs.
    /// </summary>
    private static string EngagedSecondsMean(ISqlDialect d)
    {
        var exact = d.TryDecimal("s.engaged_seconds", 18, 3);
        return $"CASE WHEN count({exact}) > 0 THEN CAST(sum({exact}) AS DOUBLE) / CAST(count({exact}) AS DOUBLE) END";
    }

    /// <summary>The default snapshot date: the date of the last order seen.</summary>
    public static string LastOrderDate(string ordersRelation) => $"SELECT max(order_date) FROM {ordersRelation}";
}
