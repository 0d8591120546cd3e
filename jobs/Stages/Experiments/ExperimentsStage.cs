using Pipeline.Config;

namespace Pipeline.Stages.Experiments;

/// <summary>What experiments depends on: its section of the configuration.</summary>
public sealed record ExperimentsSettings(ExperimentsConfig Experiments);

/// <summary><c>experiments</c>: clean events (exposures) + clean orders + sessions → the A/B-test readout tables.</summary>
public sealed class ExperimentsStage : Stage<ExperimentsSettings>
{
    public override string Name => "experiments";

    public override StageKind Kind => StageKind.Summary;

    public override string Description => "Read out every A/B test in the clickstream: units per variant, uplift with intervals, chance to win and health (experiments/units, results, summary).";

    public override IReadOnlyList<TableSpec> Writes { get; } = [ExperimentsTables.Units, ExperimentsTables.Results, ExperimentsTables.Summary];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.CleanOrders, TableNames.CleanEvents, TableNames.Sessions];

    public override ExperimentsSettings Settings(PipelineConfig config) => new(config.Experiments);

    protected override void Run(StageContext context, ExperimentsSettings settings) => ExperimentsJob.Run(context, settings);
}
