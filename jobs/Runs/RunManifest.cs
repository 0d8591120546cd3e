using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Runs;

/// <summary>
/// What a run did, written to <c>&lt;output&gt;/_runs/&lt;run_id&gt;.json</c> whatever its outcome: the inputs it consumed
/// (sizes and checksums), per stage the row accounting, the outputs it published, timings and status.
/// Never contains secrets: the config hash is over the effective configuration, which holds no key.
/// </summary>
public sealed class RunManifest
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public required string RunId { get; init; }
    public required string Command { get; init; }
    public string Version { get; init; } = typeof(RunManifest).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// The build of the pipeline that wrote the manifest: its assembly's module version id, which a deterministic build
    /// derives from its inputs (the same code built in the same place, the same id; another build at worst costs one
    /// full recomputation). <see cref="Version"/> only changes with a release; a stage that carries published rows
    /// forward from its inputs alone (kpis) recomputes them in full after any code change.
    /// </summary>
    public string Build { get; init; } = CurrentBuild;
    public required string Engine { get; init; }
    public required string ConfigHash { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string Status { get; set; } = "running";
    public int ExitCode { get; set; }
    public string? Message { get; set; }
    public List<ManifestInput> Inputs { get; } = [];
    public List<StageReport> Stages { get; } = [];
    public List<ManifestOutput> Outputs { get; } = [];
    public List<string> Warnings { get; } = [];

    /// <summary><c>pipeline run</c> only: the run that started this stage.</summary>
    public string? ParentRunId { get; set; }

    /// <summary>
    /// <c>pipeline run</c> only: a hash of everything this stage's result depends on (its inputs' checksums or the
    /// runs that published its upstream tables, its configuration, its date). A later run with the same fingerprint
    /// skips the stage: a rerun of the same night is a no-op.
    /// </summary>
    public string? Fingerprint { get; set; }

    /// <summary>
    /// clean-clicks: every input file whose events are in the published tables after this run, with the time range
    /// of its events: the previous run's list updated with the files this run read. The next incremental run compares
    /// checksums to find new files and uses the ranges to pick the files it must re-read for its lookback window.
    /// </summary>
    public List<ConsumedFile>? Consumed { get; set; }

    /// <summary>
    /// <c>pipeline run</c>, clean-clicks: a hash of the settings that shape clean events (everything but the input
    /// list). An incremental run needs the same settings as the run that published the table; otherwise it is full.
    /// </summary>
    public string? SettingsHash { get; set; }

    /// <summary><c>pipeline run</c> only: what happened to each stage, in order.</summary>
    public List<ManifestStep>? Steps { get; set; }

    /// <summary>
    /// kpis: a signature of each day of each table the published KPI rows were computed from (a partition's files, or a
    /// digest of the day's rows). The next run recomputes only the days from the first one whose signature changed.
    /// </summary>
    public List<InputDay>? InputDays { get; set; }

    /// <summary>This process's <see cref="Build"/>.</summary>
    public static readonly string CurrentBuild = typeof(RunManifest).Assembly.ManifestModule.ModuleVersionId.ToString("N");

    public static string HashConfig(PipelineConfig config) => Sha256Hex(JsonSerializer.Serialize(config, JsonOptions));

    /// <summary>Lower-case hex SHA-256 of a text's UTF-8 bytes: config hashes, fingerprints, settings hashes.</summary>
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>
    /// The fields of a manifest that later runs decide on, or null when the file is not a complete manifest (one being
    /// written by a killed run is not evidence of anything).
    /// </summary>
    public static ManifestSummary? ReadSummary(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ManifestSummary>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static ManifestInput Describe(InputFile f) => new(f.Path, f.Format, f.Bytes, f.Sha256, f.Gzip);
}

public sealed record ManifestInput(string Path, string Format, long Bytes, string Sha256, bool Gzip);

public sealed record ManifestOutput(string Table, string Path, long Rows, int Partitions);

/// <summary>What <see cref="RunManifest.ReadSummary"/> reads back from a manifest.</summary>
public sealed record ManifestSummary(string? RunId, string? Command, string? Status, string? Fingerprint, string? SettingsHash, List<ConsumedFile>? Consumed,
    string? Engine = null, List<InputDay>? InputDays = null, string? Build = null);

/// <summary>One day of one input table as a summary stage last saw it: <paramref name="Signature"/> changes when the day's rows may have.</summary>
public sealed record InputDay(string Source, string Day, string Signature);

/// <summary>An input file whose rows are in the published tables: its checksum, rows, and the range of its valid timestamps (null when none).</summary>
public sealed record ConsumedFile(string Path, string Sha256, long Rows, DateTimeOffset? MinOccurredAt, DateTimeOffset? MaxOccurredAt);

/// <summary>One stage of a <c>pipeline run</c>: <c>status</c> is succeeded, skipped (with the reason) or failed.</summary>
public sealed record ManifestStep(string Stage, string Status, string? Reason, string? RunId, double Seconds, int ExitCode);

/// <summary>Row accounting of one stage. The invariant checked before publishing: read = written + quarantined + duplicates + bots.</summary>
/// <summary>An exit code a succeeded stage asks its command to end with, and the line that says why.</summary>
public sealed record NoticeExit(int ExitCode, string Message);

public sealed class StageReport
{
    public required string Stage { get; init; }
    public long RowsRead { get; set; }
    public long RowsWritten { get; set; }
    public long RowsQuarantined { get; set; }
    public long Duplicates { get; set; }
    public long Bots { get; set; }

    /// <summary>
    /// Incremental clean-clicks only: kept rows dated before the run's window, read again as context for sessions and
    /// stitching but not rewritten (they are already published). Zero otherwise.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long RowsContext { get; set; }

    public SortedDictionary<string, long> QuarantinedByReason { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, long> BotsByRule { get; } = new(StringComparer.Ordinal);
    /// <summary>Other per-stage figures (e.g. orders after line aggregation).</summary>
    public SortedDictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);
    public double Seconds { get; set; }

    /// <summary>
    /// The stage succeeded and published, but asks the command to end with this exit code and one line (the alerts
    /// stage under <c>alerts.fail_on</c>); null for a plain success.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public NoticeExit? Notice { get; set; }
    public bool Balanced => RowsRead == RowsWritten + RowsQuarantined + Duplicates + Bots + RowsContext;
}
