using System.Globalization;
using Pipeline.Engine;

namespace Pipeline.Stages.Report;

/// <summary>
/// The report's reads of the published tables. Each builder takes the FROM-clause relation of one table (or one
/// <c>as_of=</c> partition) as <see cref="IEngine.ParquetRelation"/> gives it and returns a small result the report
/// shapes in C#: the report runs on whichever engine the run uses, so these are portable SQL plus
/// <see cref="ISqlDialect"/> calls only (every ORDER BY with explicit NULLS FIRST/LAST, no <c>strftime</c>, no
/// <c>VARCHAR</c>, no <c>DESCRIBE</c>: which columns a table has is read from its Parquet footers in C#).
/// Conventions shared by every builder:
/// <list type="bullet">
/// <item>Dates come back as <c>yyyy-MM-dd</c> text (<see cref="ISqlDialect.ToText"/> of a DATE is ISO in both
/// engines), so the C# side never depends on how an engine's driver surfaces a DATE.</item>
/// <item>Measures come back as DOUBLE and counts as BIGINT/INTEGER, whatever the writer stored (DECIMAL, INT, BIGINT).</item>
/// </list>
/// </summary>
public static class ReportSql
{
    // ---- KPI tables (written by `pipeline kpis`; columns in docs/tables.md) -----------------------------------

    /// <summary>kpi/daily, one row per date in date order: the headline counts, rates and funnel steps.</summary>
    public static string Daily(ISqlDialect d, string dailyRelation) => $"""
        WITH daily AS (
          SELECT * FROM {dailyRelation}
        )
        SELECT {DateText(d, "kpi_date")} AS kpi_date_text,
               CAST(sessions AS DOUBLE), CAST(orders AS DOUBLE), CAST(revenue AS DOUBLE),
               CAST(new_customers AS DOUBLE), CAST(natural_sessions AS DOUBLE), CAST(conversion_rate AS DOUBLE),
               CAST(natural_traffic_share AS DOUBLE), CAST(repeat_purchase_rate AS DOUBLE), CAST(product_view_sessions AS DOUBLE),
               CAST(add_to_cart_sessions AS DOUBLE), CAST(checkout_sessions AS DOUBLE), CAST(purchase_sessions AS DOUBLE)
        FROM daily
        ORDER BY kpi_date ASC NULLS LAST
        """;

    /// <summary>
    /// kpi/channels, one row per date × channel in (date, channel) order. A channel without <c>is_natural</c> counts as
    /// paid; <c>spend</c> stays NULL where the table has none (the report then says spend is missing).
    /// </summary>
    public static string Channels(ISqlDialect d, string channelsRelation) => $"""
        WITH channels AS (
          SELECT * FROM {channelsRelation}
        )
        SELECT {DateText(d, "kpi_date")} AS kpi_date_text, {d.ToText("channel")} AS channel_text,
               coalesce(CAST(is_natural AS BOOLEAN), false),
               CAST(sessions AS DOUBLE), CAST(orders AS DOUBLE), CAST(revenue AS DOUBLE), CAST(new_customers AS DOUBLE), CAST(spend AS DOUBLE)
        FROM channels
        ORDER BY kpi_date ASC NULLS LAST, channel ASC NULLS LAST
        """;

    /// <summary>kpi/cohorts, one row per acquisition month × months since the first purchase, in that order.</summary>
    public static string Cohorts(ISqlDialect d, string cohortsRelation) => $"""
        WITH cohorts AS (
          SELECT * FROM {cohortsRelation}
        )
        SELECT {DateText(d, "cohort_month")} AS cohort_month_text, CAST(months_since_first AS INTEGER), CAST(cohort_customers AS BIGINT),
               CAST(active_customers AS BIGINT), CAST(retention_rate AS DOUBLE), CAST(cumulative_revenue_per_customer AS DOUBLE)
        FROM cohorts
        ORDER BY cohort_month ASC NULLS LAST, months_since_first ASC NULLS LAST
        """;

    // ---- customer snapshots ---------------------------------------------------------------------------------------

    /// <summary>
    /// The R × F grid of one rfm/scores partition: customers and revenue per (r_score, f_score) cell. Revenue here is
    /// the scores' own <c>monetary</c>, used only when the same snapshot has no customers/features partition (it may
    /// be a mean per purchase; see <see cref="RfmCellsWithRevenue"/>).
    /// </summary>
    public static string RfmCells(ISqlDialect d, string scoresRelation) => RfmGrid(d, scoresRelation, null);

    /// <summary>
    /// The R × F grid of one rfm/scores partition, with each cell's revenue the total net revenue of its customers
    /// from the same snapshot's customers/features partition (left join: a customer without features adds nothing).
    /// </summary>
    public static string RfmCellsWithRevenue(ISqlDialect d, string scoresRelation, string featuresRelation) =>
        RfmGrid(d, scoresRelation, featuresRelation);

    private static string RfmGrid(ISqlDialect d, string scoresRelation, string? featuresRelation)
    {
        // Summed as DECIMAL (exact: the same total whatever the engine's thread count), then handed over as DOUBLE.
        var revenue = featuresRelation is null
            ? "CAST(sum(CAST(s.monetary AS DECIMAL(18,2))) AS DOUBLE)"
            : "CAST(sum(CAST(f.net_revenue AS DECIMAL(18,2))) AS DOUBLE)";
        var features = featuresRelation is null ? "" : $"""
            ,
            features AS (
              SELECT customer_id, net_revenue FROM {featuresRelation}
            )
            """;
        var join = featuresRelation is null ? "" : "LEFT JOIN features f ON f.customer_id = s.customer_id";
        return $"""
            WITH scores AS (
              SELECT * FROM {scoresRelation}
            ){features}
            SELECT CAST(s.r_score AS INTEGER), CAST(s.f_score AS INTEGER), count(*), coalesce({revenue}, 0)
            FROM scores s {join}
            GROUP BY 1, 2
            """;
    }

    /// <summary>One rfm/segments partition (the report orders the segments itself, best to worst).</summary>
    public static string RfmSegments(ISqlDialect d, string segmentsRelation)
    {
        return $"""
            WITH segments AS (
              SELECT * FROM {segmentsRelation}
            )
            SELECT segment, CAST(customers AS BIGINT), CAST(customer_share AS DOUBLE), CAST(revenue AS DOUBLE), CAST(revenue_share AS DOUBLE),
                   CAST(mean_r AS DOUBLE), CAST(mean_f AS DOUBLE), CAST(mean_m AS DOUBLE)
            FROM segments
            """;
    }

    /// <summary>
    /// One segments/profiles partition in segment order: one row per segment × feature. Within a segment the rows keep
    /// the file's order, which is the feature order the report shows.
    /// </summary>
    public static string SegmentProfiles(ISqlDialect d, string profilesRelation)
    {
        return $"""
            WITH profiles AS (
              SELECT * FROM {profilesRelation}
            )
            SELECT CAST(segment_id AS INTEGER), segment_label, CAST(customers AS BIGINT), CAST(customer_share AS DOUBLE), CAST(revenue_share AS DOUBLE),
                   feature, CAST(mean AS DOUBLE), CAST(z_score AS DOUBLE)
            FROM profiles
            ORDER BY 1 ASC NULLS LAST
            """;
    }

    /// <summary>One segments/migration partition: customers moving from one segment (at from_as_of) to another.</summary>
    public static string SegmentMigration(ISqlDialect d, string migrationRelation) => $"""
        WITH migration AS (
          SELECT * FROM {migrationRelation}
        )
        SELECT {d.ToText("from_as_of")}, {d.ToText("from_segment")}, {d.ToText("to_segment")}, CAST(customers AS BIGINT)
        FROM migration
        """;

    /// <summary>
    /// One ltv/customers partition summarised at horizon <paramref name="horizonDays"/>: customers, total, mean CLV,
    /// mean P(alive), then min, 99th percentile and max CLV (the histogram's range).
    /// </summary>
    public static string LtvSummary(ISqlDialect d, string ltvRelation, int horizonDays)
    {
        var clv = Clv(d, horizonDays);
        return $"""
            WITH ltv AS (
              SELECT {clv} AS clv, CAST(p_alive AS DOUBLE) AS p_alive FROM {ltvRelation}
            )
            SELECT count(*), coalesce(sum(clv), 0), coalesce(avg(clv), 0), coalesce(avg(p_alive), 0),
                   min(clv), {d.Quantile("clv", 0.99)}, max(clv)
            FROM ltv
            """;
    }

    /// <summary>
    /// CLV deciles at horizon <paramref name="horizonDays"/>: decile 1 holds the highest CLVs (ties broken by
    /// customer_id so the split is the same on every engine), with count, min, mean and total CLV, mean P(alive) and
    /// mean expected purchases.
    /// </summary>
    public static string LtvDeciles(ISqlDialect d, string ltvRelation, int horizonDays)
    {
        var clv = Clv(d, horizonDays);
        var expected = $"CAST({d.Id($"expected_purchases_{Int(horizonDays)}d")} AS DOUBLE)";
        return $"""
            WITH ltv AS (
              SELECT customer_id, {clv} AS clv, CAST(p_alive AS DOUBLE) AS p_alive, {expected} AS expected FROM {ltvRelation}
            ),
            ranked AS (
              SELECT clv, p_alive, expected,
                     ntile(10) OVER (ORDER BY clv DESC NULLS LAST, customer_id ASC NULLS LAST) AS decile
              FROM ltv
            )
            SELECT decile, count(*), min(clv), avg(clv), sum(clv), avg(p_alive), avg(expected)
            FROM ranked
            GROUP BY decile
            ORDER BY decile ASC NULLS LAST
            """;
    }

    /// <summary>
    /// CLV histogram counts at horizon <paramref name="horizonDays"/>: bin i covers [lo + i·width, lo + (i+1)·width);
    /// values below the range fall in bin 0 and values above it in the last bin (the top 1% beyond the 99th
    /// percentile). The bin is clamped before the cast to INTEGER, so an extreme value cannot overflow the cast.
    /// </summary>
    public static string LtvHistogram(ISqlDialect d, string ltvRelation, int horizonDays, double lo, double width, int bins)
    {
        var clv = Clv(d, horizonDays);
        return $"""
            WITH ltv AS (
              SELECT {clv} AS clv FROM {ltvRelation}
            )
            SELECT CAST(least({Int(bins - 1)}, greatest(0, floor((clv - {Num(lo)}) / {Num(width)}))) AS INTEGER) AS bin, count(*)
            FROM ltv
            GROUP BY 1
            """;
    }

    /// <summary>One ltv/backtest_buckets partition in calibration-frequency order.</summary>
    public static string LtvBacktestBuckets(ISqlDialect d, string bucketsRelation)
    {
        return $"""
            WITH buckets AS (
              SELECT * FROM {bucketsRelation}
            )
            SELECT bucket, CAST(customers AS BIGINT), CAST(mean_actual_purchases AS DOUBLE), CAST(mean_predicted_purchases AS DOUBLE)
            FROM buckets
            ORDER BY CAST(calibration_frequency AS INTEGER) ASC NULLS LAST
            """;
    }

    /// <summary>One ltv/backtest_metrics partition (one row: the backtest's error figures).</summary>
    public static string LtvBacktestMetrics(ISqlDialect d, string metricsRelation) => $"""
        WITH metrics AS (
          SELECT * FROM {metricsRelation}
        )
        SELECT {d.ToText("calibration_end")}, CAST(holdout_days AS INTEGER), CAST(customers AS BIGINT), CAST(mae AS DOUBLE), CAST(rmse AS DOUBLE),
               CAST(bias AS DOUBLE), CAST(total_predicted AS DOUBLE), CAST(total_actual AS DOUBLE), CAST(value_mae AS DOUBLE), CAST(value_bias AS DOUBLE)
        FROM metrics
        """;

    /// <summary>
    /// One ltv/params partition's fits: fit (full, calibration), model (bg_nbd, gamma_gamma), status, estimator and
    /// reasons, which every parameter row of a fit repeats.
    /// </summary>
    public static string LtvFitStatuses(ISqlDialect d, string paramsRelation) => $"""
        WITH params AS (
          SELECT * FROM {paramsRelation}
        )
        SELECT DISTINCT {d.ToText("fit")}, {d.ToText("model")}, {d.ToText("status")}, {d.ToText("estimator")}, {d.ToText("reasons")}
        FROM params
        ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST
        """;

    /// <summary>One ltv/backtest_metrics partition's status (ran, skipped) and the reason it was skipped.</summary>
    public static string LtvBacktestStatus(ISqlDialect d, string metricsRelation) => $"""
        WITH metrics AS (
          SELECT * FROM {metricsRelation}
        )
        SELECT {d.ToText("status")}, {d.ToText("reason")}
        FROM metrics
        """;

    // ---- data quality ---------------------------------------------------------------------------------------------

    /// <summary>A quarantine table's rows per (source file, reason code).</summary>
    public static string QuarantinedByFile(ISqlDialect d, string quarantineRelation) => $"""
        WITH quarantine AS (
          SELECT {d.ToText("source_file")} AS source_file, {d.ToText("reason_code")} AS reason_code FROM {quarantineRelation}
        )
        SELECT source_file, reason_code, count(*)
        FROM quarantine
        GROUP BY 1, 2
        """;

    /// <summary>clean/orders rows kept per source file.</summary>
    public static string KeptByFile(ISqlDialect d, string ordersRelation) => $"""
        WITH orders AS (
          SELECT {d.ToText("source_file")} AS source_file FROM {ordersRelation}
        )
        SELECT source_file, count(*)
        FROM orders
        GROUP BY 1
        """;

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /// <summary>The CLV column at a horizon (<c>clv_90d</c>), as DOUBLE.</summary>
    private static string Clv(ISqlDialect d, int horizonDays) => $"CAST({d.Id($"clv_{Int(horizonDays)}d")} AS DOUBLE)";

    /// <summary>A date column as <c>yyyy-MM-dd</c> text (what DuckDB's strftime(…, '%Y-%m-%d') gave, in both engines).</summary>
    private static string DateText(ISqlDialect d, string column) => d.ToText($"CAST({column} AS DATE)");

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A DOUBLE literal that reads back as the same value (round-trip digits; an exponent reads as DOUBLE in both engines).</summary>
    private static string Num(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
