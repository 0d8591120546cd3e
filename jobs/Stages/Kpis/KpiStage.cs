using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Stages.Kpis;

/// <summary>What kpis depends on: the KPI section (but the ad spend paths) and the quality rules its ad spend input is held to.</summary>
public sealed record KpiSettings(KpisConfig Kpis, QualitySettings Quality);

/// <summary><c>kpis</c>: clean orders + sessions + clean events (+ ad spend) → the KPI tables.</summary>
public sealed class KpiStage : Stage<KpiSettings>
{
    /// <summary>The optional ad spend input's name.</summary>
    public const string AdSpendInput = "kpis.ad_spend";

    public override string Name => "kpis";

    public override StageKind Kind => StageKind.Summary;

    public override string Description => "Recompute the KPI tables kpi/daily, kpi/channels (attribution, optional ad spend) and kpi/cohorts from the clean tables.";

    public override IReadOnlyList<TableSpec> Writes { get; } = [KpiTables.Daily, KpiTables.Channels, KpiTables.Cohorts, KpiTables.AdSpendQuarantine];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.CleanOrders, TableNames.Sessions, TableNames.CleanEvents];

    public override IReadOnlyList<StageInput> Inputs(PipelineConfig config) => config.Kpis.AdSpend is { } a
        ? [new(AdSpendInput, a.Input, new InputOptions(a.Format, a.Csv.Delimiter), CanonicalColumns.AdSpend, a.Columns, a.Csv.Quote[0])]
        : [];

    public override KpiSettings Settings(PipelineConfig config) => new(
        config.Kpis with { AdSpend = config.Kpis.AdSpend is { } a ? a with { Input = [] } : null }, ConfigValues.Quality(config));

    protected override void Run(StageContext context, KpiSettings settings) => KpiJob.Run(context, settings);
}
