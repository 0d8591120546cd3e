using Pipeline.Engine;

namespace Pipeline.Stages.Customers;

/// <summary>
/// The customer models' reads (rfm, segment, ltv): the per-customer inputs they fit on, streamed in customer_id order
/// so a model sees its customers in the same order on every engine and every run. Portable SQL plus
/// <see cref="ISqlDialect"/> calls only. The features themselves are built by <see cref="FeaturesSql"/>.
/// </summary>
public static class CustomersSql
{
    /// <summary>RFM scoring input from one customers/features snapshot: recency, purchase count and net revenue (DECIMAL(18,2)).</summary>
    public static string RfmInputs(string featuresRelation) =>
        $"SELECT customer_id, recency_days, orders, net_revenue FROM {featuresRelation} ORDER BY customer_id ASC NULLS LAST";

    /// <summary>
    /// k-means input from one customers/features snapshot: the configured <paramref name="features"/> as DOUBLE (the
    /// model reads NULL as 0).
    /// </summary>
    public static string SegmentInputs(ISqlDialect d, string featuresRelation, IReadOnlyList<string> features)
    {
        var select = string.Join(", ", features.Select(f => $"CAST({d.Id(f)} AS DOUBLE)"));
        return $"SELECT customer_id, {select} FROM {featuresRelation} ORDER BY customer_id ASC NULLS LAST";
    }

    /// <summary>
    /// One earlier segments/assignments partition (customer → segment id), for the migration matrix. Read into a map,
    /// so no order is needed.
    /// </summary>
    public static string SegmentAssignments(string assignmentsRelation) =>
        $"SELECT customer_id, segment_id FROM {assignmentsRelation}";

    /// <summary>
    /// BG/NBD + Gamma-Gamma input from one customers/features snapshot (frequency, recency, T in the features' time
    /// unit). monetary_value is DECIMAL(18,6) in the table; the models compute in double, so it is read as DOUBLE.
    /// </summary>
    public static string LtvInputs(string featuresRelation) =>
        $"SELECT customer_id, frequency, recency, T, CAST(monetary_value AS DOUBLE) AS monetary_value FROM {featuresRelation} ORDER BY customer_id ASC NULLS LAST";

    /// <summary>
    /// T (in the features' time unit) and tenure in days of one customer with a positive tenure: their ratio tells
    /// which unit the features were built in. Any such customer gives the same ratio, so which one comes back does not
    /// matter (no ORDER BY needed).
    /// </summary>
    public static string LtvFeaturesUnit(string featuresRelation) =>
        $"SELECT T, tenure_days FROM {featuresRelation} WHERE tenure_days > 0 LIMIT 1";

    /// <summary>
    /// The LTV backtest's transactions: one row per customer × purchase day up to <paramref name="asOf"/>, with that
    /// day's net revenue as DOUBLE, in (customer, day) order. Orders without a customer are not anyone's history.
    /// </summary>
    public static string LtvPurchaseDays(ISqlDialect d, string ordersRelation, DateOnly asOf) => $"""
        SELECT customer_id, order_date, CAST(sum(net_revenue) AS DOUBLE) FROM {ordersRelation}
        WHERE is_purchase AND customer_id IS NOT NULL AND order_date <= {d.DateLiteral(asOf)}
        GROUP BY customer_id, order_date
        ORDER BY customer_id ASC NULLS LAST, order_date ASC NULLS LAST
        """;
}
