namespace Pipeline.Engine;

/// <summary>
/// Runs the relational stages. A stage is written once as SQL (with the engine-specific spellings taken from
/// <see cref="Dialect"/>) and runs unchanged on DuckDB (embedded, default) or Spark (Spark Connect).
/// Everything that is not SQL — reading raw files with their line numbers, writing partitioned Parquet — is a
/// method here, because the two engines do it differently.
/// </summary>
public interface IEngine : IDisposable
{
    /// <summary>"duckdb" or "spark".</summary>
    string Name { get; }

    ISqlDialect Dialect { get; }

    /// <summary>
    /// Registers raw input files as a temp relation <paramref name="name"/> with one row per input record and the
    /// columns <c>_source_file, _source_line, _raw, _parse_error, _parse_detail</c> followed by the projection's
    /// canonical columns, all as strings (NULL when empty or absent). Rows the file reader itself rejects (wrong
    /// field count, bad quoting, invalid UTF-8) are included with <c>_parse_error</c> set, so nothing is lost.
    /// </summary>
    void RegisterRawInput(string name, RawInput input);

    /// <summary>Frees what <see cref="RegisterRawInput"/> materialised once the raw rows have been typed.</summary>
    void DropRawInput(string name);

    /// <summary>
    /// Materialises <paramref name="selectSql"/>, a row-by-row projection of the raw input as registered under
    /// <paramref name="rawName"/> (no joins, aggregates or window functions over it: an engine may run it on each file
    /// separately, concurrently), then frees the raw input. Same result as <see cref="RegisterRawInput"/>,
    /// <see cref="Materialize"/>, <see cref="DropRawInput"/>, which is what engines do unless they can do better.
    /// </summary>
    void MaterializeFromRawInput(string name, string rawName, RawInput input, string selectSql)
    {
        RegisterRawInput(rawName, input);
        try
        {
            Materialize(name, selectSql);
        }
        finally
        {
            DropRawInput(rawName);
        }
    }

    /// <summary>Creates the one-row relation <c>_hmac_key(ipad, opad)</c> the dialect's keyed hash reads. The key never appears in SQL text.</summary>
    void RegisterHashKey(ReadOnlySpan<byte> innerPad, ReadOnlySpan<byte> outerPad);

    /// <summary>Runs a statement that returns nothing of interest.</summary>
    void Execute(string sql);

    /// <summary>Materialises a query as a session-scoped table (so later statements don't recompute it).</summary>
    void Materialize(string name, string selectSql);

    /// <summary>Runs a query and returns its rows. For small results (counts, summaries) only.</summary>
    IReadOnlyList<object?[]> Query(string sql);

    /// <summary>Streams a query's rows to a callback (for model inputs: no boxing of whole tables).</summary>
    void ForEachRow(string sql, Action<System.Data.IDataRecord> onRow);

    /// <summary>Writes a query's rows as zstd Parquet under <paramref name="directory"/>, Hive-partitioned by the given columns; returns rows written.</summary>
    long WriteParquet(string selectSql, string directory, IReadOnlyList<string> partitionBy);

    /// <summary>
    /// Materialises a query as a table that <see cref="WriteTableParquet"/> can write without copying it first (DuckDB:
    /// in the main schema, which the connections writing the partitions see; temp tables are per connection).
    /// Default: <see cref="Materialize"/>.
    /// </summary>
    void MaterializeShared(string name, string selectSql) => Materialize(name, selectSql);

    /// <summary>
    /// Writes the rows of <paramref name="table"/> (made by <see cref="MaterializeShared"/>) in the order
    /// <paramref name="orderBy"/> (an ORDER BY clause), the same files as <see cref="WriteParquet"/> of
    /// <c>SELECT * FROM table ORDER BY …</c>, and drops the table. Returns rows written. Default: exactly that.
    /// </summary>
    long WriteTableParquet(string table, string orderBy, string directory, IReadOnlyList<string> partitionBy)
    {
        // Bare names, as the stages name their tables (Spark's engine recognises its cached views by them).
        try
        {
            return WriteParquet($"SELECT * FROM {table} {orderBy}", directory, partitionBy);
        }
        finally
        {
            Execute($"DROP TABLE IF EXISTS {table}");
        }
    }

    /// <summary>A FROM-clause relation reading a Parquet table directory written by <see cref="WriteParquet"/> (partition columns included).</summary>
    string ParquetRelation(string directory);

    /// <summary>A relation's column names, in order (a published table may predate a column added since).</summary>
    IReadOnlyList<string> ColumnNames(string relation) => Query(Dialect.DescribeColumns(relation)).Select(r => (string)r[0]!).ToList();

    /// <summary>
    /// The memory a stage may plan its working set for (DuckDB's <c>engine.memory_limit</c>), or null when the engine
    /// has no such bound on one machine (Spark: a cluster's executors). Stages that can work in slices (clean-clicks)
    /// size their slices from it.
    /// </summary>
    long? MemoryLimitBytes => null;

    /// <summary>
    /// Writes a query's rows as one scratch Parquet file under <paramref name="directory"/> that only this run reads back
    /// (through <see cref="ParquetFiles"/>), sorted by <paramref name="orderBy"/> when given (its row groups then cover
    /// narrow ranges of it, which a reader's filter on it skips by their statistics), file names the engine's own.
    /// Returns rows written. Default: <see cref="WriteParquet"/>.
    /// </summary>
    long WriteScratchParquet(string selectSql, string directory, string? orderBy) =>
        WriteParquet(orderBy is null ? selectSql : $"{selectSql} ORDER BY {orderBy}", directory, []);

    /// <summary>A FROM-clause relation reading exactly these Parquet files (no partition columns from their paths).</summary>
    string ParquetFiles(IReadOnlyList<string> files);

    /// <summary>
    /// Writes <paramref name="selectSql"/>, a row-by-row projection of the raw input as <see cref="MaterializeFromRawInput"/>
    /// takes it, as scratch Parquet under <paramref name="directory"/> (one or more files, names the engine's own, read
    /// back through <see cref="ParquetFiles"/>), without a table in between. Returns rows written. Default: the raw
    /// input registered and written by <see cref="WriteScratchParquet"/> unsorted. DuckDB writes JSON lines a batch of
    /// consecutive input files to a file, each in the files' order, so the row groups follow the input's order.
    /// </summary>
    long WriteScratchFromRawInput(string rawName, RawInput input, string selectSql, string directory)
    {
        RegisterRawInput(rawName, input);
        try
        {
            return WriteScratchParquet(selectSql, directory, null);
        }
        finally
        {
            DropRawInput(rawName);
        }
    }

    /// <summary>
    /// The row groups of scratch Parquet files, in file order, each with its rows and the range of the timestamp
    /// <paramref name="column"/> from the files' statistics; null when the engine cannot read them (the caller then
    /// has to assume any row group may hold any time).
    /// </summary>
    IReadOnlyList<RowGroupRange>? RowGroupRanges(IReadOnlyList<string> files, string column) => null;

    /// <summary>
    /// Writes rows computed in this process (model outputs; column names from <c>[JsonPropertyName]</c>) as an
    /// unpartitioned Parquet table under <paramref name="directory"/>; returns rows written. Default: one local
    /// Parquet.Net file (DuckDB). Spark sends them as Arrow (LocalRelation) and writes them with WriteOperation.
    /// </summary>
    long WriteRows<T>(IReadOnlyCollection<T> rows, string directory)
    {
        // Column by column, like WriteColumns: the row serializer cost ≈ 0.5 s of rfm's 1.4 s at 83,500 customers.
        return WriteColumns(LocalRows.Columns(rows), rows.Count, directory);
    }

    /// <summary>
    /// Like <see cref="WriteRows{T}"/> for rows held column by column (<see cref="LocalColumn"/>: one typed array per
    /// column), which is how a model writes one row per customer without an object per row. Default: one local
    /// Parquet.Net file (DuckDB), written column by column.
    /// </summary>
    long WriteColumns(IReadOnlyList<LocalColumn> columns, int rowCount, string directory)
    {
        Directory.CreateDirectory(directory);
        LocalParquet.Write(columns, rowCount, Path.Combine(directory, "part-0.parquet"));
        return rowCount;
    }
}

/// <summary>Raw input to register: groups of files that share a format and header.</summary>
/// <param name="Groups">File groups; each group's files share format, delimiter, header and projection.</param>
public sealed record RawInput(IReadOnlyList<RawFileGroup> Groups);

/// <summary>One canonical column and the source column it is read from (null when the source lacks it).</summary>
public sealed record ColumnProjection(string Canonical, string? Source);

/// <summary>Files read the same way.</summary>
/// <param name="Format">csv, jsonl or parquet.</param>
/// <param name="Files">Absolute paths, in the order their rows are considered to have arrived.</param>
/// <param name="Delimiter">CSV delimiter.</param>
/// <param name="Quote">CSV quote character.</param>
/// <param name="HeaderColumns">CSV/Parquet column names in file order (all are read as strings).</param>
/// <param name="Projection">Canonical column → source column name (null: absent, read as NULL), in output order.</param>
/// <param name="RejectDuplicateKeys">
/// JSON lines: a line whose object has a top-level key twice is a <c>malformed_row</c> ("duplicate key k", the first key
/// seen again) instead of being read; without it the engines keep one of the values (DuckDB the first, Spark the
/// last). It costs a second parse of each line: for small inputs (orders), not for the clickstream.
/// </param>
public sealed record RawFileGroup(string Format, IReadOnlyList<string> Files, char Delimiter, char Quote, IReadOnlyList<string> HeaderColumns,
    IReadOnlyList<ColumnProjection> Projection, bool RejectDuplicateKeys = false);

/// <summary>
/// An engine failure, with the engine's first message line (never the SQL text, which may be long). The engine that
/// throws it knows what its messages mean and sets the exit code (an unreadable input is 3, a full disk or a crash 1).
/// </summary>
public sealed class EngineException : Core.PipelineException
{
    public EngineException(int exitCode, string message, Exception? inner = null) : base(exitCode, message, inner) { }

    public EngineException(string message, Exception? inner) : base(Core.ExitCodes.UnexpectedFailure, message, inner) { }

    public EngineException() : base(Core.ExitCodes.UnexpectedFailure, "engine failure") { }

    public EngineException(string message) : base(Core.ExitCodes.UnexpectedFailure, message) { }

    /// <summary>Whether the one-line message points at --verbose (not when it already says what to do). Default true.</summary>
    public bool SuggestVerbose { get; init; } = true;

    /// <summary>An unexpected engine failure points at --verbose; an input problem speaks for itself.</summary>
    public override string Describe() => ExitCode == Core.ExitCodes.UnexpectedFailure && SuggestVerbose
        ? Message + " (rerun with --verbose for details)"
        : Message;
}

/// <summary>One row group of a Parquet file: its rows and the range of a timestamp column in microseconds since the
/// Unix epoch (both null when the column has no values there).</summary>
public sealed record RowGroupRange(string File, long Rows, long? MinMicros, long? MaxMicros);
