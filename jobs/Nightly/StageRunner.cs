using System.Globalization;
using System.Text.Json;
using Pipeline.Config;
using Pipeline.Core;
using Pipeline.Publishing;
using Pipeline.Runs;
using Pipeline.Stages;

namespace Pipeline.Nightly;

/// <summary>How one stage run ended: its exit code (0 = success), the one-line message, and what its manifest says.</summary>
public sealed record StageOutcome(string RunId, int ExitCode, string? Message, Exception? Error, StageReport? Report, IReadOnlyList<ManifestOutput> Outputs, string ManifestPath)
{
    public bool Succeeded => ExitCode == ExitCodes.Success;
}

/// <summary>
/// Runs one stage inside a <see cref="RunSession"/>: the single-stage verbs and <c>pipeline run</c> both come through
/// here. Also computes what decides whether a stage is up to date: its settings hash and its fingerprint.
/// </summary>
public static class StageRunner
{
    /// <summary>
    /// SHA-256 of the stage's settings (see <see cref="Stage.SettingsOf"/>: what of the configuration its result depends
    /// on) and of the columns of the tables it writes. The columns are in it because a new version that adds or changes
    /// a column must not append partitions of the new shape to a table published in the old one (an incremental
    /// clean-clicks would): a changed schema makes the stage, and what reads its tables, run in full.
    /// </summary>
    public static string SettingsHash(Stage stage, PipelineConfig config) => HashOf(stage, stage.SettingsOf(config));

    private static string HashOf(Stage stage, object settings)
    {
        var schema = string.Join('\n', stage.Writes.Select(t => t.Name + ": " + string.Join(", ", t.Columns.Select(c => c.Name + " " + c.Type))));
        return RunManifest.Sha256Hex(JsonSerializer.Serialize(settings, settings.GetType(), RunManifest.JsonOptions) + "\n" + schema);
    }

    /// <summary>
    /// Everything a stage's result depends on, hashed: its name and snapshot date, its settings, the checksums of its
    /// input files, and the runs that published the tables it reads. Nothing else: a change to another stage's settings
    /// does not re-run it unless that stage re-publishes a table it reads.
    /// </summary>
    public static string Fingerprint(Stage stage, string settingsHash, DateOnly? date, IReadOnlyList<ResolvedInput> inputs, OutputStore store)
    {
        var parts = new List<string>
        {
            "stage=" + stage.Name,
            "date=" + (date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "default"),
            "settings=" + settingsHash,
        };
        foreach (var (input, files) in inputs)
        {
            foreach (var file in files.OrderBy(f => f.Path, StringComparer.Ordinal))
            {
                parts.Add($"input={input.What}:{file.Path}:{file.Sha256}");
            }
        }
        foreach (var table in stage.Reads)
        {
            parts.Add($"upstream={table}:" + (store.PublishedBy(table) ?? "missing"));
        }
        return RunManifest.Sha256Hex(string.Join('\n', parts));
    }

    /// <summary>
    /// Runs a stage under the session's lock with its own run id and manifest, and writes the manifest however the
    /// run ends. Failures are returned, not thrown: <paramref name="inputs"/> null resolves them inside the run, so a
    /// missing input is recorded in the manifest too.
    /// </summary>
    public static StageOutcome Execute(RunSession session, Stage stage, PipelineConfig config, Log log, StageRunOptions options,
        string runId, DateTimeOffset now, IReadOnlyList<ResolvedInput>? inputs = null, string? fingerprint = null, string? parentRunId = null)
    {
        JobRun? run = null;
        try
        {
            run = session.StartJob(config, stage.Name, log, runId, now);
            run.Manifest.ParentRunId = parentRunId;
            run.Manifest.Fingerprint = fingerprint;
            var settings = stage.SettingsOf(config);
            var settingsHash = HashOf(stage, settings);
            run.Manifest.SettingsHash = settingsHash;
            // Resolved and checksummed once for the run: `pipeline run` hands over those it fingerprinted.
            inputs ??= stage.Inputs(config).Select(i => ResolvedInput.Resolve(i, session.Checksums)).ToList();
            var context = new StageContext(run, settings, settingsHash, options, inputs);
            stage.Run(context);
            run.Finish(ExitCodes.Success, null);
            return Outcome(session, run, runId, ExitCodes.Success, null, null);
        }
        catch (Exception e)
        {
            var (code, message) = Failures.Classify(e);
            run?.Finish(code, message);
            return Outcome(session, run, runId, code, message, e);
        }
        finally
        {
            run?.Dispose();
        }
    }

    private static StageOutcome Outcome(RunSession session, JobRun? run, string runId, int code, string? message, Exception? error) =>
        new(runId, code, message, error, run?.Manifest.Stages.LastOrDefault(), run?.Manifest.Outputs.ToList() ?? [], session.Store.ManifestPath(runId));
}
