using System.Diagnostics;
using Pipeline.Config;
using Pipeline.Core;
using Pipeline.Publishing;
using Pipeline.Runs;
using Pipeline.Stages;

namespace Pipeline.Nightly;

/// <summary>What <c>pipeline run</c> was asked to do. Defaults: every stage, incremental, the configured as_of.</summary>
public sealed record NightlyOptions
{
    /// <summary>Snapshot dates (as_of) to build, in order; empty = one snapshot at the configured/default as_of.</summary>
    public IReadOnlyList<DateOnly> Dates { get; init; } = [];

    /// <summary>Run every selected stage even when it is up to date.</summary>
    public bool FullRefresh { get; init; }

    /// <summary>Stages to run (empty = all).</summary>
    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>();

    /// <summary>Stages not to run.</summary>
    public IReadOnlySet<string> Skip { get; init; } = new HashSet<string>();
}

/// <summary>The outcome of one step (a stage, for one date when it is a snapshot stage).</summary>
public sealed record NightlyStep(string Stage, string? Date, string Status, string? Reason, string? RunId, double Seconds, int ExitCode, StageReport? Report);

/// <summary>Receives progress: the CLI shows it as progress bars on a terminal, or as log lines.</summary>
public interface INightlyProgress
{
    void Planned(IReadOnlyList<string> labels);

    void Started(string label);

    void Finished(string label, NightlyStep result);
}

/// <summary>
/// <c>pipeline run</c>: the stages of the <see cref="StageRegistry"/> in dependency order under one lock, each skipped
/// when it is up to date, stopping at the first failure with that stage's exit code (every earlier stage's outputs
/// stay published).
/// <para>
/// "Up to date" is decided by a fingerprint written into each stage's manifest (<see cref="StageRunner.Fingerprint"/>):
/// the stage's own settings, the checksums of its input files, the runs that published the tables it reads, and its
/// date. So a stage runs again exactly when something it depends on changed, and a rerun of the same night does nothing.
/// </para>
/// </summary>
public sealed class NightlyRun
{
    private readonly PipelineConfig _config;
    private readonly NightlyOptions _options;
    private readonly Log _log;
    private readonly INightlyProgress _progress;

    public NightlyRun(PipelineConfig config, NightlyOptions options, Log log, INightlyProgress progress)
    {
        _config = config;
        _options = options;
        _log = log;
        _progress = progress;
        foreach (var name in options.Only.Concat(options.Skip))
        {
            if (StageRegistry.Find(name) is null)
            {
                throw PipelineException.Config($"unknown stage '{name}'; stages are {string.Join(", ", StageRegistry.Names)}");
            }
        }
        // --only a,b --skip b runs a; a selection that leaves nothing would "succeed" without running anything.
        if (!StageRegistry.All.Any(Selected))
        {
            var both = options.Only.Where(options.Skip.Contains).Order(StringComparer.Ordinal).ToList();
            throw PipelineException.Config(both.Count > 0
                ? $"--only and --skip leave no stage to run: {string.Join(", ", both)} {(both.Count == 1 ? "is" : "are")} both in --only and in --skip"
                : "--skip leaves no stage to run");
        }
    }

    private bool Selected(Stage s) => (_options.Only.Count == 0 || _options.Only.Contains(s.Name)) && !_options.Skip.Contains(s.Name);

    /// <summary>The run id, known once <see cref="Execute"/> has opened its session.</summary>
    public string RunId { get; private set; } = "";

    public List<NightlyStep> Steps { get; } = [];

    /// <summary>The exit code a succeeded stage asked for (alerts.fail_on), when it decided the run's.</summary>
    public NoticeExit? Notice { get; private set; }

    /// <summary>Runs the plan; returns the exit code (0, or the first failing stage's).</summary>
    public int Execute()
    {
        using var session = RunSession.Open(_config.Output, _log, trustChecksums: !_options.FullRefresh);
        RunId = session.RunId;
        var manifest = new RunManifest
        {
            RunId = RunId,
            Command = "run",
            Engine = _config.Engine.Kind,
            ConfigHash = RunManifest.HashConfig(_config),
            StartedAt = DateTimeOffset.UtcNow,
            Steps = [],
        };
        var now = JobRun.ReferenceNow(_config);
        var plan = Plan();
        _progress.Planned(plan.Select(p => p.Label).ToList());
        var exit = ExitCodes.Success;
        string? message = null;
        foreach (var step in plan)
        {
            _progress.Started(step.Label);
            var result = RunStep(session, step, now);
            Steps.Add(result);
            manifest.Steps.Add(new ManifestStep(step.Label, result.Status, result.Reason, result.RunId, result.Seconds, result.ExitCode));
            _progress.Finished(step.Label, result);
            if (result.Status == "failed")
            {
                exit = result.ExitCode;
                message = $"{step.Label}: {result.Reason}";
                break;
            }
        }
        // A stage that succeeded but asks for an exit code (alerts.fail_on): the run finished every stage first.
        if (exit == ExitCodes.Success && Steps.Select(s => s.Report?.Notice).FirstOrDefault(n => n is not null) is { } notice)
        {
            exit = notice.ExitCode;
            message = notice.Message;
            Notice = notice;
        }
        manifest.FinishedAt = DateTimeOffset.UtcNow;
        manifest.ExitCode = exit;
        manifest.Message = message;
        manifest.Status = exit == ExitCodes.Success || Notice is not null ? "succeeded" : "failed";
        session.WriteManifest(manifest);
        return exit;
    }

    private sealed record PlannedStep(Stage Stage, DateOnly? Date)
    {
        public string Label => Date is { } d ? $"{Stage.Name} {d:yyyy-MM-dd}" : Stage.Name;
    }

    private List<PlannedStep> Plan()
    {
        var plan = new List<PlannedStep>();
        var dates = _options.Dates.Count == 0 ? [null] : _options.Dates.Select(d => (DateOnly?)d).ToList();
        plan.AddRange(StageRegistry.All.Where(s => s.Kind == StageKind.Cleaning && Selected(s)).Select(s => new PlannedStep(s, null)));
        foreach (var date in dates)
        {
            plan.AddRange(StageRegistry.All.Where(s => s.Kind == StageKind.Snapshot && Selected(s)).Select(s => new PlannedStep(s, date)));
        }
        plan.AddRange(StageRegistry.All.Where(s => s.Kind == StageKind.Summary && Selected(s)).Select(s => new PlannedStep(s, null)));
        return plan;
    }

    private NightlyStep RunStep(RunSession session, PlannedStep step, DateTimeOffset now)
    {
        var stage = step.Stage;
        var label = step.Date?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        // The snapshot date the stage works for: the step's (--date, a backfill day), else analytics.as_of, else the
        // stage's default (the last order date). Cleaning stages have none: their result does not depend on it.
        var date = stage.Kind == StageKind.Cleaning ? null : step.Date ?? ConfigValues.AsOf(_config);
        var clock = Stopwatch.StartNew();
        NightlyStep Result(string status, string? reason, string? runId, int code, StageReport? report = null) =>
            new(stage.Name, label, status, reason, runId, Math.Round(clock.Elapsed.TotalSeconds, 3), code, report);

        string fingerprint;
        IReadOnlyList<ResolvedInput> inputs;
        try
        {
            var declared = stage.Inputs(_config);
            if (stage.Kind == StageKind.Cleaning && declared.All(i => i.Paths.Count == 0))
            {
                return Result("skipped", "no input configured", null, ExitCodes.Success);
            }
            inputs = declared.Select(i => ResolvedInput.Resolve(i, session.Checksums)).ToList();
            fingerprint = StageRunner.Fingerprint(stage, StageRunner.SettingsHash(stage, _config), date, inputs, session.Store);
        }
        catch (Exception e)
        {
            // The progress display logs the failure (level error) with the step's result.
            var (code, message) = Failures.Classify(e);
            return Result("failed", message, null, code);
        }

        if (!_options.FullRefresh && UpToDate(session.Store, stage, fingerprint, step.Date) is { } previous)
        {
            return Result("skipped", $"up to date (run {previous})", null, ExitCodes.Success);
        }

        var runId = $"{RunId}-{stage.Name}" + (label is null ? "" : "-" + label);
        var options = new StageRunOptions(AsOf: date, Incremental: !_options.FullRefresh);
        var outcome = StageRunner.Execute(session, stage, _config, _log, options, runId, now, inputs, fingerprint, RunId);
        _log.RunId = RunId;
        if (outcome.Succeeded)
        {
            return Result("succeeded", null, runId, ExitCodes.Success, outcome.Report);
        }
        if (_log.Verbose && outcome.Error is not null)
        {
            _log.Debug(outcome.Error.ToString(), step.Label);
        }
        return Result("failed", outcome.Message, runId, outcome.ExitCode, outcome.Report);
    }

    /// <summary>The run id of the last successful run of this stage with this fingerprint whose outputs are all still published, or null.</summary>
    private static string? UpToDate(OutputStore store, Stage stage, string fingerprint, DateOnly? date)
    {
        foreach (var table in stage.Writes.Where(t => !t.Optional))
        {
            if (store.PublishedBy(table.Name) is null
                || (date is { } d && stage.Kind == StageKind.Snapshot && table.PartitionBy.Contains("as_of")
                    && !Directory.Exists(Path.Combine(store.Root, table.Name, "as_of=" + d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)))))
            {
                return null;
            }
        }
        if (!Directory.Exists(store.RunsDir))
        {
            return null;
        }
        return Directory.EnumerateFiles(store.RunsDir, "*.json").OrderDescending(StringComparer.Ordinal)
            .Select(RunManifest.ReadSummary)
            .FirstOrDefault(m => m is { Status: "succeeded" } && m.Command == stage.Name && m.Fingerprint == fingerprint)?.RunId;
    }
}
