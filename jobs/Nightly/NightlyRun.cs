using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.Core;
using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Publishing;
using Pipeline.Runs;

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
/// <c>pipeline run</c>: the stages in dependency order under one lock, each skipped when it is up to date, stopping at
/// the first failure with that stage's exit code (every earlier stage's outputs stay published).
/// <para>
/// "Up to date" is decided by a fingerprint written into each stage's manifest: for cleaning stages the checksums
/// of the input files and the configuration; for the others the run ids that published their upstream tables (read
/// from each table's <c>_SUCCESS</c>), their configuration and date. So a stage runs again exactly when something
/// it depends on changed, and a rerun of the same night does nothing.
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
            if (!NightlyStages.Names.Contains(name))
            {
                throw PipelineException.Config($"unknown stage '{name}'; stages are {string.Join(", ", NightlyStages.Names)}");
            }
        }
    }

    public string RunId { get; } = JobRun.NewRunId();

    public List<NightlyStep> Steps { get; } = [];

    /// <summary>Runs the plan; returns the exit code (0, or the first failing stage's).</summary>
    public int Execute()
    {
        var store = new OutputStore(_config.Output);
        using var runLock = RunLock.Acquire(_config.Output, RunId);
        _log.RunId = RunId;
        if (runLock.PreviousHolder is not null)
        {
            _log.Warn($"the previous run did not finish cleanly ({runLock.PreviousHolder}); recovering");
        }
        foreach (var note in store.Recover())
        {
            _log.Info(note);
        }
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
            var result = RunStep(runLock, step, now);
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
        manifest.FinishedAt = DateTimeOffset.UtcNow;
        manifest.ExitCode = exit;
        manifest.Message = message;
        manifest.Status = exit == ExitCodes.Success ? "succeeded" : "failed";
        OutputStore.WriteAtomically(Path.Combine(store.RunsDir, RunId + ".json"), manifest.ToJson());
        return exit;
    }

    private sealed record PlannedStep(NightlyStage Stage, DateOnly? Date)
    {
        public string Label => Date is { } d ? $"{Stage.Name} {d:yyyy-MM-dd}" : Stage.Name;
    }

    private List<PlannedStep> Plan()
    {
        bool Selected(NightlyStage s) => (_options.Only.Count == 0 || _options.Only.Contains(s.Name)) && !_options.Skip.Contains(s.Name);
        var plan = new List<PlannedStep>();
        var dates = _options.Dates.Count == 0 ? [null] : _options.Dates.Select(d => (DateOnly?)d).ToList();
        plan.AddRange(NightlyStages.All.Where(s => s.Kind == StageKind.Cleaning && Selected(s)).Select(s => new PlannedStep(s, null)));
        foreach (var date in dates)
        {
            plan.AddRange(NightlyStages.All.Where(s => s.Kind == StageKind.Snapshot && Selected(s)).Select(s => new PlannedStep(s, date)));
        }
        plan.AddRange(NightlyStages.All.Where(s => s.Kind == StageKind.Summary && Selected(s)).Select(s => new PlannedStep(s, null)));
        return plan;
    }

    private NightlyStep RunStep(RunLock runLock, PlannedStep step, DateTimeOffset now)
    {
        var stage = step.Stage;
        var date = step.Date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var config = date is null ? _config : _config with { Analytics = _config.Analytics with { AsOf = date } };
        var clock = Stopwatch.StartNew();
        NightlyStep Result(string status, string? reason, string? runId, int code, StageReport? report = null) =>
            new(stage.Name, date, status, reason, runId, Math.Round(clock.Elapsed.TotalSeconds, 3), code, report);

        string fingerprint;
        try
        {
            var inputs = stage.Inputs(config);
            if (stage.Kind == StageKind.Cleaning && inputs.All(i => i.Paths.Count == 0))
            {
                return Result("skipped", "no input configured", null, ExitCodes.Success);
            }
            fingerprint = Fingerprint(stage, config, date, inputs);
        }
        catch (Exception e)
        {
            var (code, message) = Failures.Classify(e);
            _log.Warn(message, step.Label);
            return Result("failed", message, null, code);
        }

        if (!_options.FullRefresh && UpToDate(stage, fingerprint, date) is { } previous)
        {
            return Result("skipped", $"up to date (run {previous})", null, ExitCodes.Success);
        }

        var runId = $"{RunId}-{stage.Name}" + (date is null ? "" : "-" + date);
        JobRun? run = null;
        try
        {
            var body = stage.Run;
            string? settings = null;
            if (stage.Name == "clean-clicks")
            {
                (config, body, settings) = PlanEvents(config, step.Label);
            }
            run = JobRun.StartWithin(runLock, config, stage.Name, _log, runId, now);
            run.Manifest.ParentRunId = RunId;
            run.Manifest.Fingerprint = fingerprint;
            run.Manifest.SettingsHash = settings;
            body(run);
            run.Finish(ExitCodes.Success, null);
            return Result("succeeded", null, runId, ExitCodes.Success, run.Manifest.Stages.LastOrDefault());
        }
        catch (Exception e)
        {
            var (code, message) = Failures.Classify(e);
            _log.Warn(message, step.Label);
            if (_log.Verbose)
            {
                _log.Debug(e.ToString(), step.Label);
            }
            run?.Finish(code, message);
            return Result("failed", message, runId, code, run?.Manifest.Stages.LastOrDefault());
        }
        finally
        {
            run?.Dispose();
            _log.RunId = RunId;
        }
    }

    /// <summary>
    /// clean-clicks under <c>pipeline run</c>: incremental when the published events come from a run with the same
    /// settings (see <see cref="EventsIncrementPlanner"/>), full otherwise or with --full-refresh.
    /// </summary>
    private (PipelineConfig Config, Action<JobRun> Run, string Settings) PlanEvents(PipelineConfig config, string label)
    {
        var settings = RunManifest.Sha256Hex(JsonSerializer.Serialize(config with { Output = "", Analytics = new(), Events = config.Events with { Input = [] } }, RunManifest.JsonOptions));
        var plan = _options.FullRefresh ? null : EventsIncrementPlanner.Make(config, settings);
        if (plan is null)
        {
            _log.Info("full run (no incremental history with these settings" + (_options.FullRefresh ? ", or --full-refresh" : "") + ")", label);
            return (config, run => Stages.Events.CleanClicksJob.Run(run, null), settings);
        }
        _log.Info($"incremental: {plan.NewFiles} new file(s), {plan.ContextFiles} re-read for the window from {plan.Increment.Window.From:yyyy-MM-dd}", label);
        return (config with { Events = config.Events with { Input = plan.Files } }, run => Stages.Events.CleanClicksJob.Run(run, plan.Increment), settings);
    }

    /// <summary>Everything a stage's result depends on, hashed.</summary>
    private string Fingerprint(NightlyStage stage, PipelineConfig config, string? date, IReadOnlyList<NightlyInput> inputs)
    {
        var parts = new List<string> { "stage=" + stage.Name, "date=" + (date ?? config.Analytics.AsOf ?? "default") };
        // The configuration without what cannot change the stage's result (where outputs go).
        parts.Add("config=" + JsonSerializer.Serialize(config with { Output = "" }, RunManifest.JsonOptions));
        foreach (var input in inputs.Where(i => i.Paths.Count > 0))
        {
            foreach (var file in InputResolver.Resolve(input.Paths, input.Options, input.What).OrderBy(f => f.Path, StringComparer.Ordinal))
            {
                parts.Add($"input={file.Path}:{file.Sha256}");
            }
        }
        foreach (var table in stage.Upstream)
        {
            var success = Path.Combine(_config.Output, table, "_SUCCESS");
            parts.Add($"upstream={table}:" + (File.Exists(success) ? File.ReadAllText(success).Trim() : "missing"));
        }
        return RunManifest.Sha256Hex(string.Join('\n', parts));
    }

    /// <summary>The run id of the last successful run of this stage with this fingerprint whose outputs are all still published, or null.</summary>
    private string? UpToDate(NightlyStage stage, string fingerprint, string? date)
    {
        foreach (var table in stage.Tables)
        {
            var dir = Path.Combine(_config.Output, table);
            if (!File.Exists(Path.Combine(dir, "_SUCCESS")) || (date is not null && stage.Kind == StageKind.Snapshot && !Directory.Exists(Path.Combine(dir, "as_of=" + date))))
            {
                return null;
            }
        }
        var runsDir = Path.Combine(_config.Output, "_runs");
        if (!Directory.Exists(runsDir))
        {
            return null;
        }
        return Directory.EnumerateFiles(runsDir, "*.json").OrderDescending(StringComparer.Ordinal)
            .Select(RunManifest.ReadSummary)
            .FirstOrDefault(m => m is { Status: "succeeded" } && m.Command == stage.Name && m.Fingerprint == fingerprint)?.RunId;
    }
}
