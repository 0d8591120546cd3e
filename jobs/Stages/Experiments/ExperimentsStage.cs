using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Stages.Experiments;

/// <summary>
/// What experiments depends on: its section of the configuration (but the assignments' paths, whose checksums are
/// inputs) and, with an assignments file, how its rows are read: the source zone, now, the quality rules and the hash key
/// (anonymous ids become the same keys as in clean/events).
/// </summary>
public sealed record ExperimentsSettings(ExperimentsConfig Experiments, AssignmentsSettings? Assignments);

/// <summary>How the assignments file is typed and checked (null without one: then none of it is this stage's business).</summary>
public sealed record AssignmentsSettings(string SourceTimeZone, DateTimeOffset? Now, QualitySettings Quality, string? KeyFile);

/// <summary><c>experiments</c>: clean events (exposures) + the optional assignments file + clean orders + sessions → the A/B-test readout tables.</summary>
public sealed class ExperimentsStage : Stage<ExperimentsSettings>
{
    /// <summary>The optional assignments input's name.</summary>
    public const string AssignmentsInput = "experiments";

    public override string Name => "experiments";

    public override StageKind Kind => StageKind.Summary;

    public override string Description => "Read out every A/B test in the clickstream and the assignments file: units per variant, uplift with intervals, chance to win and health (experiments/units, results, summary).";

    public override IReadOnlyList<TableSpec> Writes { get; } =
        [ExperimentsTables.Units, ExperimentsTables.Results, ExperimentsTables.Summary, ExperimentsTables.AssignmentsQuarantine];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.CleanOrders, TableNames.CleanEvents, TableNames.Sessions];

    public override IReadOnlyList<StageInput> Inputs(PipelineConfig config)
    {
        var x = config.Experiments;
        return x.Input.Count == 0
            ? []
            : [new(AssignmentsInput, x.Input, new InputOptions(x.Format, x.Csv.Delimiter), CanonicalColumns.Assignments, x.Columns, x.Csv.Quote[0])];
    }

    public override ExperimentsSettings Settings(PipelineConfig config) => new(
        config.Experiments with { Input = [] },
        config.Experiments.Input.Count == 0
            ? null
            : new AssignmentsSettings(config.SourceTimeZone, ConfigValues.Now(config), ConfigValues.Quality(config), config.Privacy.KeyFile));

    protected override void Run(StageContext context, ExperimentsSettings settings) => ExperimentsJob.Run(context, settings);
}
