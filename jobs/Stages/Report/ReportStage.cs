using Pipeline.Config;

namespace Pipeline.Stages.Report;

/// <summary>What the report depends on: the report section and the base currency it shows amounts in.</summary>
public sealed record ReportSettings(ReportConfig Report, string BaseCurrency);

/// <summary><c>report</c>: the published tables and run manifests → <c>report/index.html</c>.</summary>
public sealed class ReportStage : Stage<ReportSettings>
{
    public override string Name => "report";

    public override StageKind Kind => StageKind.Summary;

    public override string Description => "Write report/index.html: KPI trends against the targets, channels, funnel, RFM, segments, LTV, cohorts and data quality, in one self-contained page.";

    public override IReadOnlyList<TableSpec> Writes { get; } =
    [
        new(TableNames.Report, "one HTML page", [], [], [])
        {
            Description = "report/index.html: one self-contained page (inline CSS and SVG, no script, nothing fetched).",
        },
    ];

    public override IReadOnlyList<string> Reads { get; } =
    [
        TableNames.KpiDaily, TableNames.KpiChannels, TableNames.KpiCohorts, TableNames.KpiAlerts, TableNames.KpiAlertBands, TableNames.Features, TableNames.RfmScores, TableNames.RfmSegments,
        TableNames.SegmentProfiles, TableNames.SegmentMigration, TableNames.LtvCustomers, TableNames.LtvParams, TableNames.LtvBacktestBuckets, TableNames.LtvBacktestMetrics,
        TableNames.CleanOrders, TableNames.QuarantineOrders, TableNames.QuarantineEvents,
        TableNames.ExperimentSummary, TableNames.ExperimentResults,
    ];

    /// <summary>The report shows the KPIs and snapshots up to a date (<c>--as-of</c>).</summary>
    public override bool UsesAsOf => true;

    public override ReportSettings Settings(PipelineConfig config) => new(config.Report, config.BaseCurrency);

    protected override void Run(StageContext context, ReportSettings settings) => ReportJob.Run(context, settings);
}
