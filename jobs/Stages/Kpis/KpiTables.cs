namespace Pipeline.Stages.Kpis;

/// <summary>
/// The tables the kpis stage publishes. A full run recomputes them from the clean tables; a nightly run recomputes the
/// days from the first one whose inputs changed and keeps the rows before it (see <see cref="KpiIncrement"/>).
/// </summary>
internal static class KpiTables
{
    public static readonly TableSpec Daily = new(TableNames.KpiDaily, "one row per UTC date that has a session or an order", ["kpi_date"], [],
    [
        new("kpi_date", "DATE", "The UTC date (sessions by start, orders by `ordered_at`)."),
        new("sessions", "BIGINT", "Sessions started that day."),
        new("users", "BIGINT", "Distinct `anonymous_key` of those sessions."),
        new("new_users", "BIGINT", "Users whose first session in the data is that day."),
        new("returning_users", "BIGINT", "The other users of the day."),
        new("orders", "BIGINT", "Purchases placed that day (guests included)."),
        new("customers", "BIGINT", "Distinct `customer_id` of those purchases."),
        new("new_customers", "BIGINT", "Customers whose first purchase is that day."),
        new("revenue", "DECIMAL(18,2)", "Σ `net_revenue` of all that day's orders (cancelled = 0, credit notes negative), in the base currency (exact)."),
        new("conversion_rate", "DOUBLE", "orders / sessions (NULL when no sessions)."),
        new("aov", "DECIMAL(18,2)", "Σ `net_revenue` of the purchases / orders, in the base currency, rounded half away from zero to cents (NULL when no orders)."),
        new("revenue_per_user", "DECIMAL(18,2)", "revenue / users, in the base currency, rounded half away from zero to cents."),
        new("revenue_per_customer", "DECIMAL(18,2)", "revenue / customers, in the base currency, rounded half away from zero to cents."),
        new("bounce_rate", "DOUBLE", "Share of the sessions with `is_bounce`."),
        new("engaged_session_rate", "DOUBLE", "Share of the sessions with `is_engaged`."),
        new("product_view_sessions", "BIGINT", "Sessions with ≥ 1 product view (open funnel)."),
        new("add_to_cart_sessions", "BIGINT", "Sessions with ≥ 1 add to cart."),
        new("checkout_sessions", "BIGINT", "Sessions with ≥ 1 begin_checkout."),
        new("purchase_sessions", "BIGINT", "Sessions with ≥ 1 purchase event."),
        new("view_to_cart_rate", "DOUBLE", "add_to_cart_sessions / product_view_sessions."),
        new("cart_to_checkout_rate", "DOUBLE", "checkout_sessions / add_to_cart_sessions."),
        new("checkout_to_purchase_rate", "DOUBLE", "purchase_sessions / checkout_sessions."),
        new("natural_sessions", "BIGINT", "Sessions with `is_natural` (organic search, organic social, referral, direct)."),
        new("natural_traffic_share", "DOUBLE", "natural_sessions / sessions."),
        new("repeat_cohort_customers", "BIGINT", "Customers whose first purchase date is in (d − N − W, d − N] (N = `kpis.repeat_window_days`, W = `kpis.repeat_cohort_days`)."),
        new("repeat_customers", "BIGINT", "Of those, customers with a second purchase at most N days after the first."),
        new("repeat_purchase_rate", "DOUBLE", "repeat_customers / repeat_cohort_customers (NULL in the first N days of the data)."),
    ])
    {
        Description = "Business KPIs per day: sessions, users, orders, revenue, conversion, funnel, natural-traffic share, new and repeat customers. Every rate is NULL when its denominator is 0.",
    };

    public static readonly TableSpec Channels = new(TableNames.KpiChannels, "one row per UTC date and channel that has sessions, attributed purchases or ad spend", ["kpi_date", "channel"], [],
    [
        new("kpi_date", "DATE", "The UTC date (sessions by start, purchases by order date)."),
        new("channel", "VARCHAR", "Session channel (paid_search, paid_social, email, affiliate, organic_social, organic_search, referral, direct, other) or `unattributed` (purchases only)."),
        new("is_natural", "BOOLEAN", "The channel is organic search, organic social, referral or direct (false for `unattributed`)."),
        new("sessions", "BIGINT", "Sessions of the channel."),
        new("session_share", "DOUBLE", "Their share of the day's sessions (NULL on a day without sessions)."),
        new("orders", "BIGINT", "Purchases attributed to the channel (last non-direct touch within `kpis.attribution_lookback_days`)."),
        new("revenue", "DECIMAL(18,2)", "Σ `net_revenue` of those purchases, in the base currency (exact)."),
        new("new_customers", "BIGINT", "How many of those purchases are first purchases."),
        new("conversion_rate", "DOUBLE", "Attributed orders / sessions."),
        new("spend", "DECIMAL(18,2)", "Σ ad spend of the date × channel, in the base currency: each row converted like an order (spend rounded to cents × the FX rate of its date, rounded half away from zero to cents), then summed exactly; 0 when the spend input has no row for it; NULL without `kpis.ad_spend`."),
        new("acos", "DOUBLE", "spend / revenue (attributed), both in the base currency; NULL without spend input."),
        new("roas", "DOUBLE", "revenue / spend; NULL without spend input."),
        new("cpa", "DECIMAL(18,2)", "spend / orders, in the base currency, rounded half away from zero to cents; NULL without spend input."),
        new("cac", "DECIMAL(18,2)", "spend / new_customers, in the base currency, rounded half away from zero to cents; NULL without spend input."),
    ])
    {
        Description = "Sessions, attributed orders and revenue, and ad spend per channel and day (last non-direct touch within the lookback).",
    };

    public static readonly TableSpec Cohorts = new(TableNames.KpiCohorts, "one row per acquisition month and month since the first purchase (up to the month of the last order)", ["cohort_month", "months_since_first"], [],
    [
        new("cohort_month", "DATE", "First day of the month of the customers' first purchase."),
        new("months_since_first", "INTEGER", "Months since the acquisition month (0 = the acquisition month)."),
        new("cohort_customers", "BIGINT", "Customers acquired that month."),
        new("active_customers", "BIGINT", "Cohort customers with a purchase in that month."),
        new("retention_rate", "DOUBLE", "active_customers / cohort_customers."),
        new("revenue", "DECIMAL(18,2)", "Σ `net_revenue` of all the cohort's orders in that month, in the base currency (exact)."),
        new("cumulative_revenue_per_customer", "DECIMAL(18,2)", "Σ revenue of months 0…m / cohort_customers, in the base currency, rounded half away from zero to cents."),
    ])
    {
        Description = "Customer cohorts by first-purchase month: active customers, retention and revenue in each later month.",
    };

    public static readonly TableSpec PurchaseLinks = new(TableNames.KpiPurchaseLinks, "one row per clean purchase event with an order id and a session id", ["event_id"], ["event_date"],
    [
        new("event_id", "VARCHAR", "The purchase event (`clean/events.event_id`)."),
        new("order_id", "VARCHAR", "The order the purchase event reports (`clean/events.order_id`)."),
        new("session_id", "VARCHAR", "The session of the purchase event."),
        new("occurred_at", "TIMESTAMP WITH TIME ZONE", "When the purchase event happened (UTC); an order's first event by time (then session_id) is its link."),
        new("event_date", "DATE", "Partition: UTC date of `occurred_at`."),
    ])
    {
        Description = "What links an order to the session of its purchase event, for the last-touch attribution of `kpi/channels`: read instead of every clean event, and re-read each night only for the event days that changed.",
    };

    public static readonly TableSpec AdSpendQuarantine = new(TableNames.QuarantineAdSpend, "one row per rejected ad spend row", ["source_file", "source_line"], [],
        QuarantineTables.With("The row as text, e-mail-shaped text redacted."))
    {
        Optional = true,
        Description = "Every ad spend row that was not kept, with its reason code (only with an ad spend input).",
    };
}
