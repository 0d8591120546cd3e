using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Stages.Kpis;

/// <summary>
/// What kpis depends on: the KPI section (but the ad spend paths), the quality rules its ad spend input is held to, and,
/// with an ad spend input, how spend is converted: the base currency and the FX table's column mapping (its file's
/// checksum is an input). Without spend the KPIs only sum clean/orders' net revenue, already in the base currency.
/// </summary>
public sealed record KpiSettings(KpisConfig Kpis, QualitySettings Quality, string? BaseCurrency, FxConfig? Fx);

/// <summary><c>kpis</c>: clean orders + sessions + clean events (+ ad spend) → the KPI tables.</summary>
public sealed class KpiStage : Stage<KpiSettings>
{
    /// <summary>The optional ad spend input's name.</summary>
    public const string AdSpendInput = "kpis.ad_spend";

    /// <summary>The FX table (the orders' <c>orders.fx</c>): spend in another currency is converted with it, like orders.</summary>
    public const string FxInput = "orders.fx";

    public override string Name => "kpis";

    public override StageKind Kind => StageKind.Summary;

    public override string Description => "Compute the KPI tables kpi/daily, kpi/channels (attribution, optional ad spend) and kpi/cohorts from the clean tables; a nightly run recomputes only the days from the first whose inputs changed.";

    public override IReadOnlyList<TableSpec> Writes { get; } = [KpiTables.Daily, KpiTables.Channels, KpiTables.Cohorts, KpiTables.PurchaseLinks, KpiTables.AdSpendQuarantine];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.CleanOrders, TableNames.Sessions, TableNames.CleanEvents];

    public override IReadOnlyList<StageInput> Inputs(PipelineConfig config)
    {
        if (config.Kpis.AdSpend is not { } a)
        {
            return [];
        }
        StageInput spend = new(AdSpendInput, a.Input, new InputOptions(a.Format, a.Csv.Delimiter), CanonicalColumns.AdSpend, a.Columns, a.Csv.Quote[0]);
        return config.Orders.Fx is { } fx
            ? [spend, new(FxInput, [fx.Input], new InputOptions("auto", "auto"), CanonicalColumns.Fx, fx.Columns, '"')]
            : [spend];
    }

    public override KpiSettings Settings(PipelineConfig config) => new(
        config.Kpis with { AdSpend = config.Kpis.AdSpend is { } a ? a with { Input = [] } : null }, ConfigValues.Quality(config),
        // Only what converts spend: without a spend input neither is this stage's business.
        config.Kpis.AdSpend is null ? null : config.BaseCurrency,
        config.Kpis.AdSpend is not null && config.Orders.Fx is { } fx ? fx with { Input = "" } : null);

    protected override void Run(StageContext context, KpiSettings settings) => KpiJob.Run(context, settings);
}
