using Pipeline.Config;
using Pipeline.Inputs;

namespace Pipeline.Stages;

// The stage contract. Every stage folder (Orders/, Events/, Customers/, Kpis/, Report/) declares one Stage per stage:
// what it is called, when it runs, the raw inputs it reads, the tables it reads and writes, the settings it sees, and
// its run. The registry (StageRegistry) orders them; the CLI verbs, the nightly plan, fingerprints, the comparison
// tool's keys and the table documentation (docs/tables.md) all derive from these declarations.

/// <summary>When a stage runs in <c>pipeline run</c> and how it decides whether it is up to date.</summary>
public enum StageKind
{
    /// <summary>Reads raw input files: up to date when the files (by checksum) and its settings are unchanged.</summary>
    Cleaning,

    /// <summary>A customer snapshot for one <c>as_of</c> date: runs once per date of the run.</summary>
    Snapshot,

    /// <summary>Summarises published tables (KPIs, report): runs once per run, after the snapshots.</summary>
    Summary,
}

/// <summary>One column of a published table.</summary>
/// <param name="Name">Column name (snake_case; <c>_at</c> timestamps, <c>is_</c> flags, unit suffixes).</param>
/// <param name="Type">The column's type as analysts see it (DuckDB's names: VARCHAR, BIGINT, DOUBLE, DECIMAL(18,2), DATE, TIMESTAMP WITH TIME ZONE, BOOLEAN …).</param>
/// <param name="Description">One line: what the value means, its unit.</param>
public sealed record ColumnSpec(string Name, string Type, string Description);

/// <summary>A table a stage publishes under the output directory.</summary>
/// <param name="Name">Path under the output directory, e.g. <c>clean/orders</c>: the one spelling of the name (see <see cref="TableNames"/>).</param>
/// <param name="Grain">One row per what.</param>
/// <param name="Key">The columns that identify a row (the grain as columns); empty for a table that has none (a report page).</param>
/// <param name="PartitionBy">Hive partition columns (folders <c>col=value</c>).</param>
/// <param name="Columns">Every column, in file order; empty for a table that is not Parquet (the report page).</param>
public sealed record TableSpec(string Name, string Grain, IReadOnlyList<string> Key, IReadOnlyList<string> PartitionBy, IReadOnlyList<ColumnSpec> Columns)
{
    /// <summary>Published only when the configuration asks for it (e.g. <c>quarantine/ad_spend</c> with an ad spend input).</summary>
    public bool Optional { get; init; }

    /// <summary>What the table is, in one or two sentences, for the table documentation.</summary>
    public string Description { get; init; } = "";

    /// <summary>
    /// A query with the table's declared columns and types and no rows: what a stage writes when it knows without
    /// reading anything that the table is empty (binding a query over a large table is not free: it opens every file).
    /// </summary>
    public string EmptySelect(Engine.ISqlDialect d) =>
        $"SELECT {string.Join(", ", Columns.Select(c => $"CAST(NULL AS {d.CastType(c.Type)}) AS {d.Id(c.Name)}"))} FROM (SELECT 1 AS one) z WHERE 1 = 0";
}

/// <summary>
/// A raw input of a stage as configured, declared once: where its files are, how to read them and how their columns
/// map to the canonical ones. The run resolves and checksums its files once; the fingerprint and the stage use them.
/// </summary>
/// <param name="What">Its name in messages and in the configuration (<c>orders</c>, <c>events</c>, <c>orders.fx</c>, <c>kpis.ad_spend</c>).</param>
public sealed record StageInput(string What, IReadOnlyList<string> Paths, InputOptions Options, IReadOnlyList<string> Canonical,
    IReadOnlyDictionary<string, string> Columns, char Quote);

/// <summary>A stage: its declaration and its run. Derive from <see cref="Stage{TSettings}"/>.</summary>
public abstract class Stage
{
    /// <summary>The stage's name: its CLI verb, its name in <c>--only/--skip</c>, in logs and in manifests.</summary>
    public abstract string Name { get; }

    public abstract StageKind Kind { get; }

    /// <summary>One line for <c>--help</c> and the docs.</summary>
    public abstract string Description { get; }

    /// <summary>The tables it publishes.</summary>
    public abstract IReadOnlyList<TableSpec> Writes { get; }

    /// <summary>The tables of other stages it reads (names from <see cref="TableNames"/>): their publishing runs are part of its fingerprint.</summary>
    public virtual IReadOnlyList<string> Reads => [];

    /// <summary>The raw inputs it reads under this configuration (cleaning stages; the KPI stage's optional ad spend).</summary>
    public virtual IReadOnlyList<StageInput> Inputs(PipelineConfig config) => [];

    /// <summary>
    /// Everything of the configuration this stage's result depends on, typed (dates, durations, enums parsed): all the
    /// stage sees of the configuration, and all its fingerprint hashes of it. Raw input paths are not part of it (their
    /// files' checksums are), nor is where outputs go.
    /// </summary>
    public abstract object SettingsOf(PipelineConfig config);

    /// <summary>Runs the stage: stages its tables and publishes them through the context.</summary>
    public abstract void Run(StageContext context);

    /// <summary>Whether the stage works for a snapshot date (its verb takes <c>--as-of</c>). Default: snapshot stages.</summary>
    public virtual bool UsesAsOf => Kind == StageKind.Snapshot;

    /// <summary>
    /// A cleaning stage's primary input given elsewhere (the verb's <c>--input</c>/<c>--format</c>): the configuration
    /// with the paths and format of the section it reads replaced; null keeps the configured value.
    /// </summary>
    public virtual PipelineConfig WithInput(PipelineConfig config, IReadOnlyList<string>? paths, string? format) => config;
}

/// <summary>A stage with its own settings record.</summary>
public abstract class Stage<TSettings> : Stage where TSettings : notnull
{
    /// <summary>This stage's settings, read from a validated configuration.</summary>
    public abstract TSettings Settings(PipelineConfig config);

    public sealed override object SettingsOf(PipelineConfig config) => Settings(config);

    public sealed override void Run(StageContext context) => Run(context, (TSettings)context.Settings);

    protected abstract void Run(StageContext context, TSettings settings);
}
