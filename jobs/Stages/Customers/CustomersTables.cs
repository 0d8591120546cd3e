namespace Pipeline.Stages.Customers;

/// <summary>The tables the customer stages (features, rfm, segment, ltv) publish: every one partitioned by as_of.</summary>
internal static class CustomersTables
{
    private static readonly string[] AsOf = ["as_of"];

    /// <summary>The partition column every customer table ends with.</summary>
    private static readonly ColumnSpec AsOfColumn = new("as_of", "DATE", "Partition: the snapshot date (inclusive).");

    public static readonly TableSpec Features = new(TableNames.Features, "one row per customer (with ≥ 1 purchase by as_of) and snapshot date", ["customer_id", "as_of"], AsOf,
    [
        new("customer_id", "VARCHAR", "The customer's id."),
        new("first_order_at", "TIMESTAMP WITH TIME ZONE", "The customer's first purchase (UTC)."),
        new("last_order_at", "TIMESTAMP WITH TIME ZONE", "The customer's last purchase by as_of (UTC)."),
        new("orders", "INTEGER", "Purchases by as_of."),
        new("net_revenue", "DECIMAL(18,2)", "Σ net revenue, incl. refunds and credit notes, in the base currency (an exact sum of clean/orders' net_revenue)."),
        new("avg_order_value", "DECIMAL(18,2)", "net_revenue / orders, rounded half away from zero to cents, in the base currency."),
        new("recency_days", "INTEGER", "as_of − last purchase date, in days."),
        new("tenure_days", "INTEGER", "as_of − first purchase date, in days."),
        new("refund_rate", "DOUBLE", "Refunded / gross (share), both converted to the base currency order by order (rounded to cents) and summed exactly."),
        new("discount_share", "DOUBLE", "Discount / (gross + discount) (share)."),
        new("sessions", "INTEGER", "Sessions in the trailing `analytics.behaviour_window_days` (90)."),
        new("engaged_seconds_avg", "DOUBLE", "Mean engaged time per session of the window, in seconds (each session's time summed exactly to the millisecond, then divided once)."),
        new("product_views", "INTEGER", "Product views in the window."),
        new("add_to_carts", "INTEGER", "Add-to-carts in the window."),
        new("cart_add_rate", "DOUBLE", "Share of the window's sessions with an add-to-cart."),
        new("session_conversion_rate", "DOUBLE", "Share of the window's sessions with a purchase."),
        new("natural_traffic_share", "DOUBLE", "Share of the window's sessions from natural channels (organic search, organic social, referral, direct)."),
        new("days_since_last_session", "INTEGER", "as_of − date of the last session, in days."),
        new("device_mix", "VARCHAR", "Most used device type in the window."),
        new("mobile_share", "DOUBLE", "Share of the window's sessions on mobile."),
        new("frequency", "INTEGER", "CLV summary (lifetimes): distinct purchase days − 1."),
        new("recency", "DOUBLE", "CLV summary: first → last purchase, in the time unit (day or week)."),
        new("T", "DOUBLE", "CLV summary: first purchase → as_of, in the time unit."),
        new("monetary_value", "DECIMAL(18,6)", "CLV summary: mean net value of the repeat purchase days (a fully refunded purchase is a day worth 0), in the base currency, rounded half away from zero to 6 decimals (a model input: finer than cents so rounding does not move the Gamma-Gamma fit)."),
        AsOfColumn,
    ])
    {
        Description = "Customer features at the snapshot date: purchases, revenue, recency, tenure, behaviour of the trailing window, and the lifetimes summary (frequency, recency, T, monetary_value).",
    };

    public static readonly TableSpec RfmScores = new(TableNames.RfmScores, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf,
    [
        new("customer_id", "VARCHAR", "The customer's id."),
        new("recency_days", "DOUBLE", "as_of − last purchase date, in days."),
        new("frequency", "INTEGER", "Purchases by as_of."),
        new("monetary", "DECIMAL(18,2)", "Total net revenue (or, with `analytics.rfm.monetary: mean`, net revenue / purchases rounded half away from zero to cents), in the base currency."),
        new("r_score", "INTEGER", "Recency score 1–5 by quintile (reversed: recent = 5); ties broken by value, then customer id."),
        new("f_score", "INTEGER", "Frequency score 1–5 by quintile."),
        new("m_score", "INTEGER", "Monetary score 1–5 by quintile."),
        new("rfm_cell", "VARCHAR", "The three scores, e.g. `545`."),
        new("segment", "VARCHAR", "Named segment of the R × F grid of the domain reference."),
        AsOfColumn,
    ])
    {
        Description = "R, F and M scores 1-5 by quintile and the customer's named RFM segment.",
    };

    public static readonly TableSpec RfmSegments = new(TableNames.RfmSegments, "one row per named RFM segment (all 11, empty ones too) and snapshot date", ["segment", "as_of"], AsOf,
    [
        new("segment", "VARCHAR", "Named RFM segment."),
        new("customers", "INTEGER", "Customers in the segment."),
        new("customer_share", "DOUBLE", "Share of the snapshot's customers."),
        new("revenue", "DECIMAL(18,2)", "Σ net revenue of the segment's customers, in the base currency (exact)."),
        new("revenue_share", "DOUBLE", "Share of the snapshot's revenue."),
        new("mean_r", "DOUBLE", "Mean R score (NULL for an empty segment)."),
        new("mean_f", "DOUBLE", "Mean F score (NULL for an empty segment)."),
        new("mean_m", "DOUBLE", "Mean M score (NULL for an empty segment)."),
        AsOfColumn,
    ])
    {
        Description = "Size, revenue and averages of each named RFM segment.",
    };

    public static readonly TableSpec RfmCutPoints = new(TableNames.RfmCutPoints, "one row per dimension, boundary and snapshot date", ["dimension", "boundary", "as_of"], AsOf,
    [
        new("dimension", "VARCHAR", "recency, frequency or monetary."),
        new("boundary", "INTEGER", "Boundary 1–4 (between scores b and b + 1)."),
        new("value", "DOUBLE", "The cut point, in the dimension's unit; a value equal to it scores on the lower-value side."),
        new("is_override", "BOOLEAN", "Configured (`analytics.rfm.*_cut_points`) rather than a quintile of the snapshot."),
        AsOfColumn,
    ])
    {
        Description = "The score boundaries used for R, F and M (quintiles of the snapshot, or the configured ones).",
    };

    public static readonly TableSpec SegmentAssignments = new(TableNames.SegmentAssignments, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf,
    [
        new("customer_id", "VARCHAR", "The customer's id."),
        new("segment_id", "INTEGER", "k-means segment, ordered by mean net revenue, descending (1 = most valuable)."),
        new("segment_label", "VARCHAR", "The segment's label in words, from its profile's z-scores (\"high value, frequent buyers\", \"rarely visits, short visits\", \"lapsed\", …; rules in docs/models.md)."),
        AsOfColumn,
    ])
    {
        Description = "The k-means segment of each customer, with the segment's label.",
    };

    public static readonly TableSpec SegmentProfiles = new(TableNames.SegmentProfiles, "one row per segment, feature and snapshot date", ["segment_id", "feature", "as_of"], AsOf,
    [
        new("segment_id", "INTEGER", "k-means segment (1 = most valuable)."),
        new("segment_label", "VARCHAR", "The segment's label."),
        new("customers", "INTEGER", "Customers in the segment."),
        new("customer_share", "DOUBLE", "Share of the snapshot's customers."),
        new("revenue_share", "DOUBLE", "Share of the snapshot's net revenue."),
        new("feature", "VARCHAR", "A clustering feature (`analytics.segments.features`)."),
        new("mean", "DOUBLE", "The feature's mean in the segment, in original units."),
        new("median", "DOUBLE", "The feature's median in the segment, in original units."),
        new("z_score", "DOUBLE", "The segment's mean in the model's standardised space (after any log transform), in population standard deviations."),
        AsOfColumn,
    ])
    {
        Description = "Per segment and feature: its mean, median and z-score, and the segment's label and size.",
    };

    public static readonly TableSpec SegmentKSelection = new(TableNames.SegmentKSelection, "one row per k tried and snapshot date", ["k", "as_of"], AsOf,
    [
        new("k", "INTEGER", "Number of segments tried."),
        new("criterion", "VARCHAR", "silhouette or davies_bouldin (on a seeded sample of `k_selection_sample` customers when there are more)."),
        new("criterion_value", "DOUBLE", "The criterion's value for this k."),
        new("inertia", "DOUBLE", "Sum of squared distances to the centres (standardised features)."),
        new("is_chosen", "BOOLEAN", "The k used."),
        AsOfColumn,
    ])
    {
        Description = "How k was chosen: inertia and the selection criterion for each k tried.",
    };

    public static readonly TableSpec SegmentModel = new(TableNames.SegmentModel, "one model file per snapshot date", [], AsOf, [])
    {
        Description = "model.zip: the fitted k-means model (centroids, or the ML.NET model with engine mlnet), scaler, feature list, log-transformed features, id order and labels, to assign new customers.",
    };

    public static readonly TableSpec SegmentMigration = new(TableNames.SegmentMigration, "one row per (segment before, segment now) pair and snapshot date", ["from_segment", "to_segment", "as_of"], AsOf,
    [
        new("from_as_of", "VARCHAR", "The earlier snapshot compared with (YYYY-MM-DD): the latest as_of before this one."),
        new("from_segment", "VARCHAR", "Segment id at from_as_of, or `new` for customers only in this snapshot."),
        new("to_segment", "VARCHAR", "Segment id at as_of, or `gone` for customers only in the earlier snapshot."),
        new("customers", "INTEGER", "Customers who moved from from_segment to to_segment."),
        AsOfColumn,
    ])
    {
        Description = "How customers moved between segments since the previous snapshot (matched by segment id; empty for the first snapshot).",
    };

    public static readonly TableSpec LtvCustomers = new(TableNames.LtvCustomers, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf,
    [
        new("customer_id", "VARCHAR", "The customer's id."),
        new("frequency", "INTEGER", "Distinct purchase days − 1."),
        new("recency", "DOUBLE", "First → last purchase, in the time unit (day or week)."),
        new("T", "DOUBLE", "First purchase → as_of, in the time unit."),
        new("monetary_value", "DECIMAL(18,6)", "Mean net value of the repeat purchase days, in the base currency, to 6 decimals (the model's input, as in customers/features)."),
        new("p_alive", "DOUBLE", "BG/NBD probability that the customer is still active (0–1): an estimate, as reliable as the BG/NBD fit's `status` in ltv/params."),
        new("expected_order_value", "DECIMAL(18,2)", "Gamma-Gamma expected order value, in the base currency, rounded to cents (half away from zero); the population mean for one-time buyers and for repeat buyers whose refunds leave no positive spend. NULL when the fit gives no finite amount (see ltv/params `status`)."),
        new("expected_purchases_90d", "DOUBLE", "Expected purchases in the next 90 days (one pair of columns per `analytics.ltv.horizons_days`; default 90, 365)."),
        new("clv_90d", "DECIMAL(18,2)", "CLV over the next 90 days, in the base currency, discounted by `discount_rate_per_period`, computed at full precision and rounded to cents (half away from zero); NULL when the fit gives no finite amount."),
        new("expected_purchases_365d", "DOUBLE", "Expected purchases in the next 365 days."),
        new("clv_365d", "DECIMAL(18,2)", "CLV over the next 365 days, in the base currency, discounted, rounded to cents (half away from zero)."),
        AsOfColumn,
    ])
    {
        Description = "BG/NBD + Gamma-Gamma per customer: P(alive), expected purchases, expected order value and CLV per horizon (the columns shown are for the default horizons 90 and 365 days). Money is rounded to cents; how far the figures can be trusted is the `status` of the fits in ltv/params.",
    };

    public static readonly TableSpec LtvParams = new(TableNames.LtvParams, "one row per fit, model, parameter and snapshot date", ["fit", "model", "parameter", "as_of"], AsOf,
    [
        new("fit", "VARCHAR", "`full` (on as_of) or `calibration` (the backtest's)."),
        new("model", "VARCHAR", "bg_nbd or gamma_gamma."),
        new("parameter", "VARCHAR", "r, alpha, a, b (BG/NBD); p, q, gamma (Gamma-Gamma)."),
        new("value", "DOUBLE", "The fitted value."),
        new("standard_error", "DOUBLE", "Standard error from the Hessian (of the posterior for `map`); NULL when the Hessian is not positive definite."),
        new("log_likelihood", "DOUBLE", "Log-likelihood of the fit."),
        new("converged", "BOOLEAN", "The optimiser converged."),
        new("iterations", "INTEGER", "Optimiser iterations."),
        new("customers", "INTEGER", "Customers fitted."),
        new("time_unit", "VARCHAR", "day or week."),
        new("penalizer", "DOUBLE", "L2 penalizer used (`analytics.ltv.penalizer`; 0 for `map`)."),
        new("estimator", "VARCHAR", "`mle` (maximum likelihood) or `map`: the fallback with weakly informative priors, used when the status is `degenerate` or `insufficient_data`."),
        new("status", "VARCHAR", "How far the fit can be trusted: `ok`, `weak` (a standard error above its parameter), `degenerate` (the data do not identify the maximum likelihood estimate: parameters outside their sane range, Hessian not positive definite, non-finite standard errors, no convergence) or `insufficient_data` (fewer than 10 repeat buyers)."),
        new("reasons", "VARCHAR", "Why the status is not `ok`, in words, separated by `; ` (empty when `ok`); ends with the fallback when `estimator` is `map`."),
        AsOfColumn,
    ])
    {
        Description = "The fitted parameters with standard errors, log-likelihood, convergence and the fit's status, for the full and the calibration fit.",
    };

    public static readonly TableSpec LtvBacktest = new(TableNames.LtvBacktest, "one row per customer (of the calibration period) and snapshot date", ["customer_id", "as_of"], AsOf,
    [
        new("customer_id", "VARCHAR", "The customer's id."),
        new("calibration_frequency", "INTEGER", "Frequency in the calibration period."),
        new("predicted_purchases", "DOUBLE", "Purchases predicted over the holdout."),
        new("actual_purchases", "INTEGER", "Purchases made in the holdout."),
        new("predicted_value", "DECIMAL(18,2)", "Value predicted over the holdout, in the base currency, rounded to cents (half away from zero)."),
        new("actual_value", "DECIMAL(18,2)", "Net value of the holdout purchases, in the base currency, rounded to cents."),
        AsOfColumn,
    ])
    {
        Description = "Calibration-period fit against the holdout: predicted and actual purchases per customer.",
    };

    public static readonly TableSpec LtvBacktestBuckets = new(TableNames.LtvBacktestBuckets, "one row per calibration-frequency bucket (0…6, 7+) and snapshot date", ["bucket", "as_of"], AsOf,
    [
        new("bucket", "VARCHAR", "Calibration purchases: 0 … 6, or 7+."),
        new("calibration_frequency", "INTEGER", "The bucket as a number (7 for 7+)."),
        new("customers", "INTEGER", "Customers in the bucket."),
        new("mean_actual_purchases", "DOUBLE", "Mean holdout purchases (NULL for an empty bucket)."),
        new("mean_predicted_purchases", "DOUBLE", "Mean predicted holdout purchases (NULL for an empty bucket)."),
        AsOfColumn,
    ])
    {
        Description = "Predicted vs actual holdout purchases by number of calibration purchases (the lifetimes plot).",
    };

    public static readonly TableSpec LtvBacktestMetrics = new(TableNames.LtvBacktestMetrics, "one row per snapshot date", ["as_of"], AsOf,
    [
        new("calibration_end", "VARCHAR", "End of the calibration period (YYYY-MM-DD): as_of − `analytics.ltv.holdout_days`."),
        new("holdout_days", "INTEGER", "Length of the holdout, in days."),
        new("time_unit", "VARCHAR", "day or week."),
        new("customers", "INTEGER", "Customers in the backtest (who bought on or before calibration_end)."),
        new("mae", "DOUBLE", "Mean absolute error of predicted holdout purchases (NULL when skipped)."),
        new("rmse", "DOUBLE", "Root mean squared error of predicted holdout purchases (NULL when skipped)."),
        new("bias", "DOUBLE", "Mean (predicted − actual) holdout purchases (NULL when skipped)."),
        new("total_predicted", "DOUBLE", "Σ predicted holdout purchases (NULL when skipped)."),
        new("total_actual", "DOUBLE", "Σ actual holdout purchases (NULL when skipped)."),
        new("value_mae", "DECIMAL(18,2)", "Mean absolute error of predicted holdout value, in the base currency, rounded to cents (NULL when skipped)."),
        new("value_bias", "DECIMAL(18,2)", "Mean (predicted − actual) holdout value, in the base currency, rounded to cents (NULL when skipped)."),
        new("status", "VARCHAR", "`ran`, or `skipped`: no purchase by calibration_end, a calibration period (first purchase → calibration_end) shorter than the holdout, or fewer than 10 customers in it."),
        new("reason", "VARCHAR", "Why the backtest was skipped (NULL when it ran)."),
        AsOfColumn,
    ])
    {
        Description = "Backtest error metrics: MAE, RMSE, bias, totals; or why the backtest was skipped (the holdout is never shortened).",
    };
}
