using Pipeline.Engine;
using Pipeline.Inputs;
using Pipeline.Privacy;
using Pipeline.Runs;

namespace Pipeline.Stages;

/// <summary>How a stage is being run: the snapshot date, where it reads upstream tables, whether it may be incremental.</summary>
/// <param name="AsOf">The snapshot date asked for (<c>--as-of</c>, <c>--date</c>, a backfill day or <c>analytics.as_of</c>); null = the stage's default (the last order date).</param>
/// <param name="InputRoot">Where the tables of upstream stages are read; null = the output directory.</param>
/// <param name="Incremental">True under <c>pipeline run</c> without <c>--full-refresh</c>: a stage that can process only what is new may.</param>
public sealed record StageRunOptions(DateOnly? AsOf = null, string? InputRoot = null, bool Incremental = false);

/// <summary>A declared input with its files, resolved and checksummed once.</summary>
public sealed record ResolvedInput(StageInput Input, IReadOnlyList<InputFile> Files)
{
    /// <param name="checksums">Checksums of files read by earlier runs into the same output (null hashes every file).</param>
    public static ResolvedInput Resolve(StageInput input, ChecksumStore? checksums = null) =>
        new(input, InputResolver.Resolve(input.Paths, input.Options, input.What, checksums));
}

/// <summary>
/// What a stage gets to do its work, and nothing more: the engine, its typed settings, its resolved inputs, the log,
/// the staging and publication of its tables, its report counts. It does not see the whole configuration, the lock,
/// other stages or the CLI.
/// </summary>
public sealed class StageContext
{
    private readonly JobRun _run;
    private readonly IReadOnlyList<ResolvedInput> _inputs;

    internal StageContext(JobRun run, object settings, string settingsHash, StageRunOptions options, IReadOnlyList<ResolvedInput> inputs)
    {
        _run = run;
        _inputs = inputs;
        Settings = settings;
        SettingsHash = settingsHash;
        AsOf = options.AsOf;
        InputRoot = options.InputRoot ?? run.Store.Root;
        Incremental = options.Incremental;
    }

    /// <summary>The stage's settings (see <see cref="Stage.SettingsOf"/>).</summary>
    public object Settings { get; }

    /// <summary>SHA-256 of the settings: a stage that builds on its previous output checks it was made with the same settings.</summary>
    public string SettingsHash { get; }

    /// <inheritdoc cref="StageRunOptions.AsOf"/>
    public DateOnly? AsOf { get; }

    /// <inheritdoc cref="StageRunOptions.InputRoot"/>
    public string InputRoot { get; }

    /// <inheritdoc cref="StageRunOptions.Incremental"/>
    public bool Incremental { get; }

    /// <summary>The output directory: where this stage's tables are published (and its previous output read back).</summary>
    public string OutputRoot => _run.Store.Root;

    public string RunId => _run.RunId;

    /// <summary>The run's reference "now" (config <c>now</c> or the clock at start).</summary>
    public DateTimeOffset Now => _run.Now;

    public DateTimeOffset StartedAt => _run.Manifest.StartedAt;

    public Log Log => _run.Log;

    public IEngine Engine => _run.Engine;

    public HashKey HashKey => _run.HashKey;

    /// <summary>
    /// <c>engine.threads</c> as a thread count for work done in C# (0 = one per core), so that a stage's model code
    /// keeps to the same share of the machine as the engine's SQL.
    /// </summary>
    public int Threads => _run.Config.Engine.Threads > 0 ? _run.Config.Engine.Threads : Environment.ProcessorCount;

    /// <summary><c>engine.slice_days</c>: days of events a stage that works in time slices processes at once (0 = automatic).</summary>
    public int SliceDays => _run.Config.Engine.SliceDays;

    /// <summary>Whether the stage declared this input under the run's configuration (an optional input may be absent).</summary>
    public bool HasInput(string what) => _inputs.Any(i => i.Input.What == what);

    /// <summary>The files of a declared input, resolved and checksummed once for the run (fingerprint and stage alike).</summary>
    public IReadOnlyList<InputFile> Files(string what) => Resolved(what).Files;

    /// <summary>
    /// Binds a declared input's files (or the subset <paramref name="only"/>) to the canonical columns and records them
    /// in the manifest: the first step of every cleaning stage.
    /// </summary>
    public RawInput ReadInput(string what, IReadOnlyList<InputFile>? only = null)
    {
        var (input, all) = Resolved(what);
        var files = only ?? all;
        _run.Manifest.Inputs.AddRange(files.Select(RunManifest.Describe));
        return InputBinder.Bind(files, input.Canonical, input.Columns, input.Quote, input.What);
    }

    private ResolvedInput Resolved(string what) => _inputs.FirstOrDefault(i => i.Input.What == what)
        ?? throw new InvalidOperationException($"input '{what}' was not declared by the stage");

    /// <summary>The input files recorded in the manifest so far.</summary>
    public IReadOnlyList<ManifestInput> InputsRead => _run.Manifest.Inputs;

    /// <summary>Runs one measured step of the stage (its row accounting goes into the manifest).</summary>
    public StageReport Measure(string name, Action<StageReport> body) => _run.Stage(name, body);

    /// <inheritdoc cref="JobRun.StepTimer"/>
    public Action<string> StepTimer(string stage) => _run.StepTimer(stage);

    /// <summary>Where this run stages a table before publishing it.</summary>
    public string StagingPath(string table) => _run.StagingPath(table);

    /// <summary>Where a table of this stage is published (the output directory).</summary>
    public string PublishedPath(string table) => _run.PublishedPath(table);

    /// <inheritdoc cref="JobRun.CheckStaged"/>
    public void CheckStaged(string table, long expectedRows) => _run.CheckStaged(table, expectedRows);

    /// <inheritdoc cref="JobRun.CheckQualityGates"/>
    public void CheckQualityGates(StageReport report, string rowsWhat, double maxQuarantineShare) => _run.CheckQualityGates(report, rowsWhat, maxQuarantineShare);

    /// <summary>
    /// The books of an input typed by SQL (orders, ad spend, A/B assignments) into <paramref name="report"/>:
    /// <paramref name="accountingSql"/> gives one row (read, kept, duplicates, quarantined), <paramref name="byReasonSql"/>
    /// one row per reason code. An input without data rows is an input error (<paramref name="emptyError"/>) unless
    /// <paramref name="allowEmpty"/>.
    /// </summary>
    public void RecordBooks(StageReport report, string accountingSql, string byReasonSql, bool allowEmpty, string emptyError)
    {
        static long Long(object? v) => v is null ? 0 : System.Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);
        var books = Engine.Query(accountingSql)[0];
        report.RowsRead = Long(books[0]);
        report.RowsWritten = Long(books[1]);
        report.Duplicates = Long(books[2]);
        report.RowsQuarantined = Long(books[3]);
        foreach (var row in Engine.Query(byReasonSql))
        {
            report.QuarantinedByReason[(string)row[0]!] = Long(row[1]);
        }
        if (report.RowsRead == 0 && !allowEmpty)
        {
            throw Core.PipelineException.Input(emptyError);
        }
    }

    /// <summary>Publishes staged tables, each replaced whole.</summary>
    public void Publish(IReadOnlyList<(string Table, long Rows)> tables) => _run.Publish(tables);

    /// <summary>Publishes staged tables; <paramref name="replaceTables"/> false keeps partitions this run did not write (as_of history).</summary>
    public void Publish(IReadOnlyList<(string Table, long Rows)> tables, bool replaceTables) => _run.Publish(tables, replaceTables);

    /// <summary>Publishes staged tables, each replaced whole or only in the partitions this run wrote.</summary>
    public void Publish(IReadOnlyList<(string Table, long Rows, bool ReplaceTable)> tables) => _run.Publish(tables);

    /// <summary>A warning for the log and the run manifest.</summary>
    public void Warn(string message, string stage)
    {
        _run.Manifest.Warnings.Add(message);
        _run.Log.Warn(message, stage);
    }

    /// <summary>A warning for the run manifest only (the log already said it another way).</summary>
    public void RecordWarning(string message) => _run.Manifest.Warnings.Add(message);

    /// <summary>Records in the manifest which input files' rows are in the published tables (see <see cref="RunManifest.Consumed"/>).</summary>
    public void RecordConsumed(List<ConsumedFile> consumed) => _run.Manifest.Consumed = consumed;

    /// <summary>Records in the manifest the signatures of the input days the published tables were computed from (see <see cref="RunManifest.InputDays"/>).</summary>
    public void RecordInputDays(List<InputDay> days) => _run.Manifest.InputDays = days;

    /// <summary>The engine this run uses, as its manifest names it.</summary>
    public string EngineName => _run.Manifest.Engine;
}
