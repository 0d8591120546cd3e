using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Stages.Orders;

/// <summary>What clean-orders depends on: the orders section (but its input paths; its grain typed), the base currency, the source zone, now and the quality rules.</summary>
public sealed record CleanOrdersSettings(OrdersConfig Orders, OrderGrain Grain, string BaseCurrency, string SourceTimeZone, DateTimeOffset? Now, QualitySettings Quality, string? KeyFile);

/// <summary><c>clean-orders</c>: raw order files → <c>clean/orders</c> + <c>quarantine/orders</c>.</summary>
public sealed class CleanOrdersStage : Stage<CleanOrdersSettings>
{
    public override string Name => "clean-orders";

    public override StageKind Kind => StageKind.Cleaning;

    public override string Description => "Clean raw order files into clean/orders (Parquet, one row per order) and quarantine/orders.";

    public override IReadOnlyList<TableSpec> Writes { get; } = [OrdersTables.Clean, OrdersTables.Quarantine];

    public override IReadOnlyList<StageInput> Inputs(PipelineConfig config)
    {
        var o = config.Orders;
        StageInput orders = new("orders", o.Input, new InputOptions(o.Format, o.Csv.Delimiter), CanonicalColumns.Orders, o.Columns, o.Csv.Quote[0]);
        return o.Fx is { } fx
            ? [orders, new("orders.fx", [fx.Input], new InputOptions("auto", "auto"), CanonicalColumns.Fx, fx.Columns, '"')]
            : [orders];
    }

    public override PipelineConfig WithInput(PipelineConfig config, IReadOnlyList<string>? paths, string? format) => config with
    {
        Orders = config.Orders with { Input = paths ?? config.Orders.Input, Format = format ?? config.Orders.Format },
    };

    public override CleanOrdersSettings Settings(PipelineConfig config) => new(
        config.Orders with { Input = [], Fx = config.Orders.Fx is { } fx ? fx with { Input = "" } : null },
        ConfigValues.Grain(config), config.BaseCurrency, config.SourceTimeZone, ConfigValues.Now(config), ConfigValues.Quality(config), config.Privacy.KeyFile);

    protected override void Run(StageContext context, CleanOrdersSettings settings) => CleanOrdersJob.Run(context, settings);
}
