using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Stages.Events;

/// <summary>What clean-clicks depends on: the events section (but its input paths), the source zone, now and the quality rules.</summary>
public sealed record CleanClicksSettings(EventsConfig Events, IpHandling Ip, string SourceTimeZone, DateTimeOffset? Now, QualitySettings Quality, string? KeyFile);

/// <summary><c>clean-clicks</c>: raw tracker events → <c>clean/events</c> + <c>sessions</c> + <c>quarantine/events</c> + <c>clean/identities</c> + <c>clean/event_days</c>.</summary>
public sealed class CleanClicksStage : Stage<CleanClicksSettings>
{
    public override string Name => "clean-clicks";

    public override StageKind Kind => StageKind.Cleaning;

    public override string Description => "Clean raw clickstream events into clean/events, sessions, quarantine/events, clean/identities and clean/event_days (Parquet).";

    public override IReadOnlyList<TableSpec> Writes { get; } = [EventsTables.Events, EventsTables.Sessions, EventsTables.Quarantine, EventsTables.Identities, EventsTables.EventDays];

    public override IReadOnlyList<StageInput> Inputs(PipelineConfig config)
    {
        var e = config.Events;
        return [new("events", e.Input, new InputOptions(e.Format, e.Csv.Delimiter), CanonicalColumns.Events, e.Columns, e.Csv.Quote[0])];
    }

    public override PipelineConfig WithInput(PipelineConfig config, IReadOnlyList<string>? paths, string? format) => config with
    {
        Events = config.Events with { Input = paths ?? config.Events.Input, Format = format ?? config.Events.Format },
    };

    public override CleanClicksSettings Settings(PipelineConfig config) => new(
        config.Events with { Input = [] }, ConfigValues.Ip(config), config.SourceTimeZone, ConfigValues.Now(config), ConfigValues.Quality(config), config.Privacy.KeyFile);

    /// <summary>
    /// Under <c>pipeline run</c>, incremental when the published events come from a run with the same settings (see
    /// <see cref="EventsIncrementPlanner"/>); full otherwise, with --full-refresh, and for the single verb.
    /// </summary>
    protected override void Run(StageContext context, CleanClicksSettings settings)
    {
        if (!context.Incremental)
        {
            CleanClicksJob.Run(context, settings, null, null);
            return;
        }
        var plan = EventsIncrementPlanner.Make(context.OutputRoot, context.SettingsHash, context.Files("events"), settings.Events);
        if (plan is null)
        {
            context.Log.Info("full run (no incremental history with these settings)", Name);
            CleanClicksJob.Run(context, settings, null, null);
            return;
        }
        context.Log.Info($"incremental: {plan.NewFiles} new file(s), {plan.ContextFiles} re-read for the window from {plan.Increment.Window.From:yyyy-MM-dd}", Name);
        CleanClicksJob.Run(context, settings, plan.Increment, plan.Files);
    }
}
