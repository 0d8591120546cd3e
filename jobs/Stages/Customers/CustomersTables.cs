namespace Pipeline.Stages.Customers;

/// <summary>The tables the customer stages (features, rfm, segment, ltv) publish: every one partitioned by as_of.</summary>
internal static class CustomersTables
{
    private static readonly string[] AsOf = ["as_of"];

    public static readonly TableSpec Features = new(TableNames.Features, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf, [])
    {
        Description = "Customer features at the snapshot date: purchases, revenue, recency, tenure, behaviour of the trailing window, and the lifetimes summary (frequency, recency, T, monetary_value).",
    };

    public static readonly TableSpec RfmScores = new(TableNames.RfmScores, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf, [])
    {
        Description = "R, F and M scores 1-5 by quintile and the customer's named RFM segment.",
    };

    public static readonly TableSpec RfmSegments = new(TableNames.RfmSegments, "one row per named RFM segment and snapshot date", ["segment", "as_of"], AsOf, [])
    {
        Description = "Size, revenue and averages of each named RFM segment.",
    };

    public static readonly TableSpec RfmCutPoints = new(TableNames.RfmCutPoints, "one row per dimension, boundary and snapshot date", ["dimension", "boundary", "as_of"], AsOf, [])
    {
        Description = "The score boundaries used for R, F and M (quintiles of the snapshot, or the configured ones).",
    };

    public static readonly TableSpec SegmentAssignments = new(TableNames.SegmentAssignments, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf, [])
    {
        Description = "The k-means segment of each customer and its distance to the segment's centre.",
    };

    public static readonly TableSpec SegmentProfiles = new(TableNames.SegmentProfiles, "one row per segment, feature and snapshot date", ["segment_id", "feature", "as_of"], AsOf, [])
    {
        Description = "Per segment and feature: its mean, median and spread, and the segment's label.",
    };

    public static readonly TableSpec SegmentKSelection = new(TableNames.SegmentKSelection, "one row per k tried and snapshot date", ["k", "as_of"], AsOf, [])
    {
        Description = "How k was chosen: inertia and the selection criterion for each k tried.",
    };

    public static readonly TableSpec SegmentModel = new(TableNames.SegmentModel, "one model file per snapshot date", [], AsOf, [])
    {
        Description = "The fitted ML.NET k-means model and its standardisation, to assign new customers.",
    };

    public static readonly TableSpec SegmentMigration = new(TableNames.SegmentMigration, "one row per (segment before, segment now) pair and snapshot date", ["from_segment_id", "to_segment_id", "as_of"], AsOf, [])
    {
        Description = "How customers moved between segments since the previous snapshot.",
    };

    public static readonly TableSpec LtvCustomers = new(TableNames.LtvCustomers, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf, [])
    {
        Description = "BG/NBD + Gamma-Gamma per customer: P(alive), expected purchases, expected order value and CLV per horizon.",
    };

    public static readonly TableSpec LtvParams = new(TableNames.LtvParams, "one row per fit, model, parameter and snapshot date", ["fit", "model", "parameter", "as_of"], AsOf, [])
    {
        Description = "The fitted parameters with standard errors, log-likelihood and convergence, for the full and the calibration fit.",
    };

    public static readonly TableSpec LtvBacktest = new(TableNames.LtvBacktest, "one row per customer and snapshot date", ["customer_id", "as_of"], AsOf, [])
    {
        Description = "Calibration-period fit against the holdout: predicted and actual purchases per customer.",
    };

    public static readonly TableSpec LtvBacktestBuckets = new(TableNames.LtvBacktestBuckets, "one row per calibration-frequency bucket and snapshot date", ["bucket", "as_of"], AsOf, [])
    {
        Description = "Predicted vs actual holdout purchases by number of calibration purchases (the lifetimes plot).",
    };

    public static readonly TableSpec LtvBacktestMetrics = new(TableNames.LtvBacktestMetrics, "one row per metric and snapshot date", ["metric", "as_of"], AsOf, [])
    {
        Description = "Backtest error metrics: MAE, RMSE, bias, totals.",
    };
}
