using Pipeline.Config;
using Pipeline.Models.Rfm;
using Pipeline.Models.Segmentation;

namespace Pipeline.Stages.Customers;

/// <summary>What features depends on: the time unit and the behaviour window.</summary>
public sealed record FeaturesSettings(AnalyticsTimeUnit TimeUnit, int BehaviourWindowDays);

/// <summary>What rfm depends on: the RFM section (its monetary basis typed).</summary>
public sealed record RfmSettings(AnalyticsTimeUnit TimeUnit, RfmConfig Rfm, MonetaryBasis Monetary);

/// <summary>What segment depends on: the segments section (its criterion typed).</summary>
public sealed record SegmentSettings(AnalyticsTimeUnit TimeUnit, SegmentsConfig Segments, KSelectionCriterion Criterion);

/// <summary>What ltv depends on: the LTV section and the time unit.</summary>
public sealed record LtvSettings(AnalyticsTimeUnit TimeUnit, LtvConfig Ltv);

/// <summary><c>features</c>: clean orders + sessions → <c>customers/features</c> for a snapshot date.</summary>
public sealed class FeaturesStage : Stage<FeaturesSettings>
{
    public override string Name => "features";

    public override StageKind Kind => StageKind.Snapshot;

    public override string Description => "Build customers/features (one row per customer) for a snapshot date from clean orders and sessions.";

    public override IReadOnlyList<TableSpec> Writes { get; } = [CustomersTables.Features];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.CleanOrders, TableNames.Sessions];

    public override FeaturesSettings Settings(PipelineConfig config) => new(ConfigValues.TimeUnit(config), config.Analytics.BehaviourWindowDays);

    protected override void Run(StageContext context, FeaturesSettings settings) => FeaturesJob.Run(context, settings);
}

/// <summary><c>rfm</c>: features → RFM scores, segments and cut points.</summary>
public sealed class RfmStage : Stage<RfmSettings>
{
    public override string Name => "rfm";

    public override StageKind Kind => StageKind.Snapshot;

    public override string Description => "Score customers R, F, M 1-5 by quintile and name their segments (rfm/scores, rfm/segments, rfm/cut_points).";

    public override IReadOnlyList<TableSpec> Writes { get; } = [CustomersTables.RfmScores, CustomersTables.RfmSegments, CustomersTables.RfmCutPoints];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.Features];

    public override RfmSettings Settings(PipelineConfig config) => new(ConfigValues.TimeUnit(config), config.Analytics.Rfm,
        config.Analytics.Rfm.Monetary == "mean" ? MonetaryBasis.MeanPerPurchase : MonetaryBasis.Total);

    protected override void Run(StageContext context, RfmSettings settings) => RfmJob.Run(context, settings);
}

/// <summary><c>segment</c>: features → k-means segments (parallel engine, or ML.NET's trainer).</summary>
public sealed class SegmentStage : Stage<SegmentSettings>
{
    public override string Name => "segment";

    public override StageKind Kind => StageKind.Snapshot;

    public override string Description => "Cluster customers with k-means into labelled behavioural segments (segments/assignments, profiles, k_selection, model, migration).";

    public override IReadOnlyList<TableSpec> Writes { get; } =
        [CustomersTables.SegmentAssignments, CustomersTables.SegmentProfiles, CustomersTables.SegmentKSelection, CustomersTables.SegmentModel, CustomersTables.SegmentMigration];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.Features];

    public override SegmentSettings Settings(PipelineConfig config) => new(ConfigValues.TimeUnit(config), config.Analytics.Segments,
        config.Analytics.Segments.Criterion == "davies_bouldin" ? KSelectionCriterion.DaviesBouldin : KSelectionCriterion.Silhouette);

    protected override void Run(StageContext context, SegmentSettings settings) => SegmentJob.Run(context, settings);
}

/// <summary><c>ltv</c>: features + clean orders → BG/NBD + Gamma-Gamma CLV and its backtest.</summary>
public sealed class LtvStage : Stage<LtvSettings>
{
    public override string Name => "ltv";

    public override StageKind Kind => StageKind.Snapshot;

    public override string Description => "Fit BG/NBD + Gamma-Gamma, predict purchases, order value and CLV per customer, and backtest on a holdout.";

    public override IReadOnlyList<TableSpec> Writes { get; } =
        [CustomersTables.LtvCustomers, CustomersTables.LtvParams, CustomersTables.LtvBacktest, CustomersTables.LtvBacktestBuckets, CustomersTables.LtvBacktestMetrics];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.Features, TableNames.CleanOrders];

    public override LtvSettings Settings(PipelineConfig config) => new(ConfigValues.TimeUnit(config), config.Analytics.Ltv);

    protected override void Run(StageContext context, LtvSettings settings) => LtvJob.Run(context, settings);
}
