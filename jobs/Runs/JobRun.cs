using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Pipeline.Core;
using Pipeline.Config;
using Pipeline.Engine;
using Pipeline.Privacy;
using Pipeline.Publishing;

namespace Pipeline.Runs;

/// <summary>
/// One run of one stage (or command) inside a <see cref="RunSession"/>: owns the engine and the stage's manifest,
/// stages and publishes its tables, and writes the manifest however the run ends. The session holds the lock.
/// </summary>
public sealed class JobRun : IDisposable
{
    private readonly RunSession? _ownedSession;
    private IEngine? _engine;
    private HashKey? _hashKey;

    internal JobRun(PipelineConfig config, string command, Log log, DateTimeOffset now, string runId, OutputStore store, RunSession? ownedSession = null)
    {
        Config = config;
        Log = log;
        _ownedSession = ownedSession;
        Now = now;
        Store = store;
        RunId = runId;
        log.RunId = RunId;
        Manifest = new RunManifest
        {
            RunId = RunId,
            Command = command,
            Engine = config.Engine.Kind,
            ConfigHash = RunManifest.HashConfig(config),
            StartedAt = DateTimeOffset.UtcNow,
        };
    }

    public string RunId { get; }
    public PipelineConfig Config { get; }
    public Log Log { get; }
    public OutputStore Store { get; }
    public RunManifest Manifest { get; }

    /// <summary>The reference "now" of this run (config <c>now</c> or the wall clock at start).</summary>
    public DateTimeOffset Now { get; }

    /// <summary>Test hook handed to the store; see <see cref="OutputStore.OnPartitionMoved"/>.</summary>
    public static Action<string>? PublishHook { get; set; }

    /// <summary>The reference "now" a configuration asks for: its <c>now</c> setting or the wall clock.</summary>
    public static DateTimeOffset ReferenceNow(PipelineConfig config) => ConfigValues.Now(config) ?? DateTimeOffset.UtcNow;

    /// <summary>A command that is not a stage (an export) in a session of its own: lock, recovery, then the run.</summary>
    public static JobRun Start(PipelineConfig config, string command, Log log)
    {
        var session = RunSession.Open(config.Output, log);
        try
        {
            return new JobRun(config, command, log, ReferenceNow(config), session.RunId, session.Store, session);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public IEngine Engine => _engine ??= CreateEngine();

    public HashKey HashKey
    {
        get
        {
            if (_hashKey is null)
            {
                _hashKey = HashKey.Resolve(Config.Privacy.KeyFile, Config.Output);
                if (_hashKey.Generated)
                {
                    Log.Warn($"generated a new pseudonymisation key at {_hashKey.Source}; back it up (or set {HashKey.EnvironmentVariable}): without it, hashed ids change");
                }
            }
            return _hashKey;
        }
    }

    public string StagingPath(string table) => Path.Combine(Store.StagingDir(RunId), table);

    public string PublishedPath(string table) => Path.Combine(Store.Root, table);

    /// <summary>A --verbose timer for the steps inside a stage: each call logs the time since the previous one.</summary>
    public Action<string> StepTimer(string stage)
    {
        var clock = Stopwatch.StartNew();
        return what =>
        {
            Log.Debug($"{what}: {clock.Elapsed.TotalSeconds:0.00} s", stage);
            clock.Restart();
        };
    }

    /// <summary>Runs a stage with timing and a log line; the report is added to the manifest.</summary>
    public StageReport Stage(string name, Action<StageReport> body)
    {
        var report = new StageReport { Stage = name };
        Manifest.Stages.Add(report);
        var sw = Stopwatch.StartNew();
        Log.Info("started", name);
        try
        {
            body(report);
        }
        finally
        {
            report.Seconds = Math.Round(sw.Elapsed.TotalSeconds, 3);
        }
        Log.Info($"done in {report.Seconds:0.0} s: read {report.RowsRead}, written {report.RowsWritten}, quarantined {report.RowsQuarantined}, duplicates {report.Duplicates}, bots {report.Bots}",
            name, new { rows_read = report.RowsRead, rows_written = report.RowsWritten, rows_quarantined = report.RowsQuarantined, duplicates = report.Duplicates, bots = report.Bots });
        return report;
    }

    /// <summary>
    /// Reads a staged table back (every Parquet file under it) and fails with exit 4 unless it holds exactly the
    /// rows the accounting expects: what gets published is what was counted.
    /// </summary>
    public void CheckStaged(string table, long expectedRows)
    {
        var dir = StagingPath(table);
        var rows = OutputStore.HasParquet(dir)
            ? Convert.ToInt64(Engine.Query($"SELECT count(*) FROM {Engine.ParquetRelation(dir)}")[0][0], CultureInfo.InvariantCulture)
            : 0;
        if (rows != expectedRows)
        {
            throw PipelineException.Quality($"staged {table} holds {rows} rows, the accounting expects {expectedRows}");
        }
    }

    /// <summary>
    /// The data-quality gates every cleaning stage passes before publishing: the books balance exactly (read =
    /// written + quarantined + duplicates + bots) and the quarantined share is within quality.max_quarantine_share.
    /// Failing either is exit 4, with the staged outputs kept for inspection.
    /// </summary>
    public void CheckQualityGates(StageReport report, string rowsWhat, double maxQuarantineShare)
    {
        if (!report.Balanced)
        {
            throw PipelineException.Quality(
                $"{rowsWhat} accounting does not balance: read {report.RowsRead} ≠ written {report.RowsWritten} + quarantined {report.RowsQuarantined} + duplicates {report.Duplicates} + bots {report.Bots}");
        }
        var share = report.RowsRead == 0 ? 0 : (double)report.RowsQuarantined / report.RowsRead;
        if (share > maxQuarantineShare)
        {
            throw PipelineException.Quality(
                $"{share:P1} of {rowsWhat} rows were quarantined (limit {maxQuarantineShare:P1}): " +
                string.Join(", ", report.QuarantinedByReason.Select(kv => $"{kv.Key} {kv.Value}")) +
                $"; outputs kept unpublished in {Store.StagingDir(RunId)}");
        }
    }

    /// <summary>
    /// Test-only crash points, so tests can kill a real process at a known moment: <c>before-publish</c> (all outputs
    /// staged, nothing published) or <c>mid-publish</c> (after the first partition has been swapped in).
    /// </summary>
    public const string CrashVariable = "PIPELINE_TEST_CRASH_AT";

    /// <summary>Publishes staged tables and records them in the manifest.</summary>
    public void Publish(IReadOnlyList<(string Table, long Rows)> tables) => Publish(tables, replaceTables: true);

    /// <summary>Publishes staged tables; <paramref name="replaceTables"/> false keeps partitions this run did not write (as_of history).</summary>
    public void Publish(IReadOnlyList<(string Table, long Rows)> tables, bool replaceTables) =>
        Publish(tables.Select(t => (t.Table, t.Rows, replaceTables)).ToList());

    /// <summary>Publishes staged tables, each replaced whole or only in the partitions this run wrote.</summary>
    public void Publish(IReadOnlyList<(string Table, long Rows, bool ReplaceTable)> tables)
    {
        var crashAt = Environment.GetEnvironmentVariable(CrashVariable);
        if (crashAt == "before-publish")
        {
            Process.GetCurrentProcess().Kill();
        }
        Action<string>? hook = crashAt == "mid-publish" ? _ => Process.GetCurrentProcess().Kill() : PublishHook;
        var store = hook is null ? Store : new OutputStore(Store.Root) { OnPartitionMoved = hook };
        var partitions = tables.ToDictionary(t => t.Table, t => Directory.Exists(StagingPath(t.Table))
            ? Directory.GetDirectories(StagingPath(t.Table)).Length : 0);
        store.Publish(RunId, tables.Select(t => (t.Table, t.ReplaceTable)).ToList());
        foreach (var (table, rows, _) in tables)
        {
            Manifest.Outputs.Add(new ManifestOutput(table, PublishedPath(table), rows, partitions[table]));
        }
    }

    /// <summary>Writes the manifest with the final status. Called once, however the run ended.</summary>
    public void Finish(int exitCode, string? message)
    {
        Manifest.FinishedAt = DateTimeOffset.UtcNow;
        Manifest.ExitCode = exitCode;
        Manifest.Message = message;
        Manifest.Status = exitCode switch
        {
            ExitCodes.Success => "succeeded",
            ExitCodes.QualityGate => "quality_gate_failed",
            _ => "failed",
        };
        if (exitCode != ExitCodes.Success && Directory.Exists(Store.StagingDir(RunId)))
        {
            Store.MarkFailed(RunId, message ?? "failed");
        }
        OutputStore.WriteAtomically(Store.ManifestPath(RunId), Manifest.ToJson());
    }

    private IEngine CreateEngine() => EngineFactory.Create(Config.Engine, Config.Output, Log.Info, line => Log.Debug(line, "spark"));

    public void Dispose()
    {
        _engine?.Dispose();
        if (Manifest.Status == "succeeded")
        {
            Store.CleanUpStaging(RunId);
        }
        var tmp = EngineFactory.DefaultTempDirectory(Config.Output);
        if (Config.Engine.TempDirectory is null && Directory.Exists(tmp))
        {
            try
            {
                Directory.Delete(tmp, recursive: true);
            }
            catch (IOException)
            {
                // Spill files of a finished engine; harmless if another process still has one open.
            }
        }
        _ownedSession?.Dispose();
    }
}
