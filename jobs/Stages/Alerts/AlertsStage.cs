using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Stages.Alerts;

/// <summary>
/// What the alerts depend on: the detector's settings, the known-events calendar (day → name), the fail_on level and
/// whether a metrics file is watched instead of the KPI tables (its file's checksum is an input, not its path).
/// </summary>
public sealed record AlertsSettings(double Sensitivity, double CriticalSensitivity, int WindowDays, double MinDenominator, double MinVolume,
    SortedDictionary<string, string> Calendar, string FailOn, bool MetricsFile);

/// <summary><c>alerts</c>: kpi/daily + kpi/channels + sessions + clean/events + clean/event_days (or a metrics file) → <c>kpi/alerts</c> and <c>kpi/alert_bands</c>.</summary>
public sealed class AlertsStage : Stage<AlertsSettings>
{
    /// <summary>The optional metrics file's input name (<c>alerts.metrics</c>, <c>pipeline alerts --metrics</c>).</summary>
    public const string MetricsInput = "alerts.metrics";

    public override string Name => "alerts";

    public override StageKind Kind => StageKind.Summary;

    public override string Description => "Flag the KPIs (overall, per channel, per device, per landing page) that left their expected band — weekly seasonality, trend, known events — in kpi/alerts; with --metrics, the metric columns of any date table.";

    public override IReadOnlyList<TableSpec> Writes { get; } = [AlertsTables.Alerts, AlertsTables.Bands];

    public override IReadOnlyList<string> Reads { get; } = [TableNames.KpiDaily, TableNames.KpiChannels, TableNames.Sessions, TableNames.CleanEvents, TableNames.CleanEventDays];

    public override IReadOnlyList<StageInput> Inputs(PipelineConfig config) => config.Alerts.Metrics is { } m
        ? [new StageInput(MetricsInput, [m], new InputOptions(), ["date"], new Dictionary<string, string>(), '"')]
        : [];

    public override AlertsSettings Settings(PipelineConfig config)
    {
        var a = config.Alerts;
        var calendar = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (day, name) in ConfigValues.Calendar(config))
        {
            calendar[day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)] = name;
        }
        return new AlertsSettings(a.Sensitivity, a.CriticalSensitivity, a.WindowDays, a.MinDenominator, a.MinVolume, calendar, a.FailOn, a.Metrics is not null);
    }

    public override PipelineConfig WithInput(PipelineConfig config, IReadOnlyList<string>? paths, string? format) =>
        paths is { Count: > 0 } ? config with { Alerts = config.Alerts with { Metrics = paths[0] } } : config;

    protected override void Run(StageContext context, AlertsSettings settings) => AlertsJob.Run(context, settings);
}
