namespace Pipeline.Stages;

/// <summary>
/// The one spelling of every published table's name (its path under the output directory). A stage declares the
/// tables it writes with these names in its folder's <c>*Tables.cs</c>; a stage that reads another stage's table
/// names it here, never through that stage's code.
/// </summary>
public static class TableNames
{
    public const string CleanOrders = "clean/orders";
    public const string QuarantineOrders = "quarantine/orders";

    public const string CleanEvents = "clean/events";
    public const string Sessions = "sessions";
    public const string QuarantineEvents = "quarantine/events";
    public const string CleanIdentities = "clean/identities";
    public const string CleanEventDays = "clean/event_days";

    public const string Features = "customers/features";

    public const string RfmScores = "rfm/scores";
    public const string RfmSegments = "rfm/segments";
    public const string RfmCutPoints = "rfm/cut_points";

    public const string SegmentAssignments = "segments/assignments";
    public const string SegmentProfiles = "segments/profiles";
    public const string SegmentKSelection = "segments/k_selection";
    public const string SegmentModel = "segments/model";
    public const string SegmentMigration = "segments/migration";

    public const string LtvCustomers = "ltv/customers";
    public const string LtvParams = "ltv/params";
    public const string LtvBacktest = "ltv/backtest";
    public const string LtvBacktestBuckets = "ltv/backtest_buckets";
    public const string LtvBacktestMetrics = "ltv/backtest_metrics";

    public const string KpiDaily = "kpi/daily";
    public const string KpiChannels = "kpi/channels";
    public const string KpiCohorts = "kpi/cohorts";
    public const string KpiPurchaseLinks = "kpi/purchase_links";
    public const string QuarantineAdSpend = "quarantine/ad_spend";

    public const string KpiAlerts = "kpi/alerts";
    public const string KpiAlertBands = "kpi/alert_bands";
    public const string ExperimentUnits = "experiments/units";
    public const string ExperimentResults = "experiments/results";
    public const string ExperimentSummary = "experiments/summary";
    public const string QuarantineAssignments = "quarantine/assignments";

    public const string Report = "report";
}
