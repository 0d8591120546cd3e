using System.Globalization;
using DuckDB.NET.Data;

using Pipeline.Core;

namespace Pipeline.Engine.DuckDb;

/// <summary>Engine options for the embedded DuckDB.</summary>
/// <param name="Threads">Worker threads; 0 = DuckDB's default (one per core).</param>
/// <param name="MemoryLimit">e.g. "8GB"; null = DuckDB's default (80% of RAM).</param>
/// <param name="TempDirectory">Where DuckDB spills when over the memory limit.</param>
public sealed record DuckDbOptions(int Threads = 0, string? MemoryLimit = null, string? TempDirectory = null);

/// <summary>
/// The default engine: DuckDB in-process. One connection per engine instance; temp tables and views live as long as
/// the engine. The session time zone is UTC so TIMESTAMPTZ values print and truncate to dates in UTC.
/// </summary>
public sealed class DuckDbEngine : IEngine
{
    private readonly DuckDBConnection _connection;
    private int _groupCounter;

    public DuckDbEngine(DuckDbOptions options)
    {
        _connection = new DuckDBConnection("DataSource=:memory:");
        _connection.Open();
        Execute("SET TimeZone = 'UTC'");
        // Row order is only needed while numbering raw rows (set around those statements); everything else sorts
        // explicitly, and not preserving order lets DuckDB use less memory on large materialisations.
        Execute("SET preserve_insertion_order = false");
        if (options.Threads > 0)
        {
            Execute($"SET threads = {options.Threads.ToString(CultureInfo.InvariantCulture)}");
        }
        if (!string.IsNullOrEmpty(options.MemoryLimit))
        {
            Execute($"SET memory_limit = {Dialect.Str(options.MemoryLimit)}");
        }
        _memoryLimitBytes = Scalar(_connection, "SELECT current_setting('memory_limit')") is string limit ? ParseSize(limit) : null;
        _catalog = Dialect.Id((string)Scalar(_connection, "SELECT current_database()")!);
        if (!string.IsNullOrEmpty(options.TempDirectory))
        {
            Directory.CreateDirectory(options.TempDirectory);
            Execute($"SET temp_directory = {Dialect.Str(options.TempDirectory)}");
        }
    }

    private readonly long? _memoryLimitBytes;

    /// <summary>The database's own catalog (the in-memory one), quoted: what <see cref="Shared"/> names tables in.</summary>
    private readonly string _catalog;

    /// <summary>DuckDB's way of printing a size (<c>5.0 GiB</c>, <c>512.0 MiB</c>, <c>6GB</c>) in bytes; null if unreadable.</summary>
    internal static long? ParseSize(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text.Trim(), @"^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?)B$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!m.Success)
        {
            return null;
        }
        var unit = m.Groups[3].Value.Length > 0 ? 1024.0 : 1000.0;
        var power = "KMGT".IndexOf(char.ToUpperInvariant(m.Groups[2].Value.FirstOrDefault('_')), StringComparison.Ordinal) + 1;
        return (long)(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) * Math.Pow(unit, power));
    }

    public string Name => "duckdb";

    public ISqlDialect Dialect => DuckDbDialect.Instance;

    /// <summary>PIPELINE_DUMP_SQL: the folder statements are dumped to, or null (unset or empty: no dump).</summary>
    public static string? DumpDirectory { get; } = Environment.GetEnvironmentVariable("PIPELINE_DUMP_SQL") is { } dump && !string.IsNullOrWhiteSpace(dump) ? dump : null;
    private static readonly bool Profile = Environment.GetEnvironmentVariable("PIPELINE_PROFILE_SQL") == "1";
    private int _statement;

    /// <summary>
    /// With PIPELINE_DUMP_SQL=&lt;dir&gt;, every statement is also written there (for EXPLAIN ANALYZE by hand), and its wall
    /// time is appended to <c>timings.tsv</c> when it ends (the profiles below belong to a connection, and a statement
    /// that is followed by an undumped query loses its profile to it); with PIPELINE_PROFILE_SQL=1 as well, DuckDB
    /// writes each statement's profile (operator timings) next to it as JSON.
    /// </summary>
    private StatementTimer? Dump(DuckDBConnection connection, string sql)
    {
        if (DumpDirectory is null)
        {
            return null;
        }
        Directory.CreateDirectory(DumpDirectory);
        var n = Interlocked.Increment(ref _statement);
        File.WriteAllText(Path.Combine(DumpDirectory, $"{n:000}.sql"), sql + ";\n");
        if (Profile)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"SET enable_profiling = 'json'; SET profiling_mode = 'detailed'; SET profiling_output = {Dialect.Str(Path.Combine(DumpDirectory, $"{n:000}.json"))}";
            cmd.ExecuteNonQuery();
        }
        return new StatementTimer(Path.Combine(DumpDirectory, "timings.tsv"), n, sql);
    }

    /// <summary>A dumped statement's wall time, appended to the dump's timings.tsv when disposed.</summary>
    private sealed class StatementTimer(string file, int number, string sql) : IDisposable
    {
        private static readonly object Gate = new();
        private readonly System.Diagnostics.Stopwatch _watch = System.Diagnostics.Stopwatch.StartNew();

        public void Dispose()
        {
            var head = string.Join(' ', sql.Split((char[])['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            lock (Gate)
            {
                File.AppendAllText(file, string.Create(CultureInfo.InvariantCulture,
                    $"{number:000}\t{_watch.Elapsed.TotalSeconds:F3}\t{head[..Math.Min(head.Length, 120)]}\n"));
            }
        }
    }

    public void Execute(string sql) => Exec(_connection, sql);

    private void Exec(DuckDBConnection connection, string sql)
    {
        using var timer = Dump(connection, sql);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        Run(() => cmd.ExecuteNonQuery());
    }

    private object? Scalar(DuckDBConnection connection, string sql)
    {
        using var timer = Dump(connection, sql);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return Run(() => cmd.ExecuteScalar());
    }

    /// <summary>Runs a statement whose streaming row_number() must see rows in file order.</summary>
    private void ExecuteOrdered(string sql) => InInsertionOrder(() => Execute(sql));

    /// <summary>
    /// Runs <paramref name="action"/> with insertion order preserved (ordered scans, order-keeping writes), on this
    /// connection and on worker connections started meanwhile (which never change it); everything else runs without.
    /// </summary>
    private void InInsertionOrder(Action action)
    {
        Execute("SET preserve_insertion_order = true");
        try
        {
            action();
        }
        finally
        {
            Execute("SET preserve_insertion_order = false");
        }
    }

    public void Materialize(string name, string selectSql) =>
        Execute($"CREATE OR REPLACE TEMP TABLE {Dialect.Id(name)} AS {selectSql}");

    public void MaterializeShared(string name, string selectSql) =>
        Execute($"CREATE OR REPLACE TABLE {Shared(name)} AS {selectSql}");

    /// <summary>
    /// A shared table's name with its catalog: the temp catalog's schema is also called <c>main</c>, so <c>main.x</c>
    /// would name a temp table <c>x</c> if there were one, while the worker connections read the shared one.
    /// </summary>
    private string Shared(string name) => $"{_catalog}.main.{Dialect.Id(name)}";

    public IReadOnlyList<object?[]> Query(string sql)
    {
        using var timer = Dump(_connection, sql);
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        return Run(() =>
        {
            var rows = new List<object?[]>();
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }
                rows.Add(row);
            }
            return rows;
        });
    }

    public void ForEachRow(string sql, Action<System.Data.IDataRecord> onRow)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        Run(() =>
        {
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                onRow(reader);
            }
            return 0;
        });
    }

    /// <summary>
    /// Runs a query and hands its open reader to <paramref name="read"/>: column names and types are there even when
    /// the query returns no rows (<c>pipeline query</c> prints them as a header).
    /// </summary>
    public void Read(string sql, Action<System.Data.Common.DbDataReader> read)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        Run(() =>
        {
            using var reader = cmd.ExecuteReader();
            read(reader);
            return 0;
        });
    }

    private const string ParquetOptions = "FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 122880";

    /// <summary>
    /// Row groups of ~122k rows (DuckDB's default vector multiple) keep files scannable in parallel by readers; zstd
    /// compresses ~2x better than snappy on these tables at similar read speed. Partitioned tables are not written with
    /// COPY's PARTITION_BY: with more than one thread it appends each thread's chunks to a partition's file in whatever
    /// order the threads finish, ORDER BY notwithstanding (duckdb#14349; seen at 1.7M events: 9 of 61 daily files
    /// differed between two runs of the same input). The rows are staged in a table, and each partition is written by
    /// its own order-preserving (and still parallel) COPY of its rows. A statement ordered by the partition column and
    /// then other columns is staged unsorted, and each partition's rows are sorted as they are written
    /// (<see cref="PartitionOrder"/>): the same rows in the same order, without sorting the whole table.
    /// </summary>
    public long WriteParquet(string selectSql, string directory, IReadOnlyList<string> partitionBy) =>
        Write(selectSql, directory, partitionBy, null);

    /// <remarks>
    /// Partitioned, the table is the staged table itself when it can be written a partition at a time (the order's
    /// first key is the partition column): a slice of the sliced clean-clicks run was otherwise copied once more
    /// (0.95 s of a 16 s slice of 8M events).
    /// </remarks>
    public long WriteTableParquet(string table, string orderBy, string directory, IReadOnlyList<string> partitionBy)
    {
        var name = Shared(table);
        try
        {
            return Write($"SELECT * FROM {name} {orderBy}", directory, partitionBy, (name, Dialect.Id(table)));
        }
        finally
        {
            Execute($"DROP TABLE IF EXISTS {name}");
        }
    }

    /// <summary><see cref="WriteParquet"/> and <see cref="WriteTableParquet"/>: one file, or a partitioned write.</summary>
    private long Write(string selectSql, string directory, IReadOnlyList<string> partitionBy, (string Qualified, string Name)? table)
    {
        Directory.CreateDirectory(directory);
        long written = 0;
        InInsertionOrder(() => written = partitionBy.Count == 0
            ? CopyTo(selectSql, Path.Combine(directory, "part-0.parquet"))
            : WritePartitions(selectSql, directory, partitionBy, table));
        return written;
    }

    /// <param name="table">The shared table <paramref name="selectSql"/> reads all of, in its order, when it may
    /// serve as the staged table (it is dropped or replaced): its qualified name and its name alone (for a rename); or
    /// null to stage the statement's rows.</param>
    private long WritePartitions(string selectSql, string directory, IReadOnlyList<string> partitionBy, (string Qualified, string Name)? table)
    {
        // In the main schema, so the worker connections see it.
        var staged = $"main._write_{Interlocked.Increment(ref _groupCounter)}";
        var stagedName = staged["main.".Length..];
        var (unordered, within) = PartitionOrder.Split(selectSql, partitionBy);
        if (within is not null)
        {
            // The keys must be columns of the rows written (an ORDER BY may also name a column it does not select).
            var names = Query($"DESCRIBE SELECT * FROM ({unordered}) q").Select(r => (string)r[0]!).ToHashSet(StringComparer.OrdinalIgnoreCase);
            if (!PartitionOrder.Columns(within).All(names.Contains))
            {
                (unordered, within) = (selectSql, null);
            }
        }
        var sortedWhole = unordered == selectSql;
        if (table is { } shared && !sortedWhole)
        {
            (staged, stagedName) = shared;
        }
        else
        {
            Execute($"CREATE OR REPLACE TABLE {staged} AS {unordered}");
        }
        try
        {
            var columns = partitionBy.Select(Dialect.Id).ToList();
            var types = Query($"SELECT {string.Join(", ", columns.Select(c => $"typeof({c})"))} FROM {staged} LIMIT 1");
            if (types.Count == 0)
            {
                return 0;
            }
            var partitions = Query($"SELECT DISTINCT {string.Join(", ", columns.Select(c => $"CAST({c} AS VARCHAR)"))} FROM {staged}")
                .OrderBy(v => string.Join("/", v.Select(x => x as string ?? "")), StringComparer.Ordinal).ToList();
            if (!sortedWhole && !ClusteredBy(staged, columns[0], partitions.Count))
            {
                // Each partition's scan would read most of the table: sort it whole after all (by the statement's own
                // ORDER BY, the text Split took off).
                // Each partition is still sorted as it is written: a sort hands COPY other chunks than a scan does, and
                // a partition of more than a row group would be cut into row groups elsewhere (other bytes).
                var sorted = $"main._write_{Interlocked.Increment(ref _groupCounter)}";
                Execute($"CREATE TABLE {sorted} AS SELECT * FROM {staged} {selectSql[unordered.Length..]}");
                Execute($"DROP TABLE {staged}");
                Execute($"ALTER TABLE {sorted} RENAME TO {stagedName}");
            }
            // A partition is usually one row group, which one thread encodes: the partitions are written concurrently.
            long written = 0;
            OnWorkerConnections(partitions, Threads(), (c, values) =>
            {
                // Typed equality (not on the text) so the scan skips the row groups outside the partition.
                var where = string.Join(" AND ", columns.Select((col, i) =>
                    values[i] is string v ? $"{col} = CAST({Dialect.Str(v)} AS {types[0][i]})" : $"{col} IS NULL"));
                var path = Path.Combine([directory, .. partitionBy.Select((p, i) => $"{p}={(values[i] is string v ? Uri.EscapeDataString(v) : "NULL")}")]);
                Directory.CreateDirectory(path);
                var order = within is null ? "" : $" ORDER BY {within}";
                Interlocked.Add(ref written, CopyTo(c, $"SELECT * EXCLUDE ({string.Join(", ", columns)}) FROM {staged} WHERE {where}{order}", Path.Combine(path, "part-0.parquet")));
            });
            return written;
        }
        finally
        {
            Execute($"DROP TABLE IF EXISTS {staged}");
        }
    }

    /// <summary>
    /// Whether the staged rows are clustered by <paramref name="column"/> enough for one scan per partition: a
    /// partition's scan costs about one fetch per vector (2,048 rows) holding any of its rows, so the vectors' distinct
    /// values, summed, are the fetches all partitions make. Rows staged from files of a day each come close to one per
    /// vector (ten million events: 4,872 vectors, ≈ 5,300 fetches); rows in no order of the column make every partition
    /// fetch from every vector (24× the time at ten million events in 365 partitions).
    /// </summary>
    internal bool ClusteredBy(string staged, string column, int partitions)
    {
        var row = Query($"SELECT count(*), CAST(coalesce(sum(n), 0) AS BIGINT) FROM (SELECT count(DISTINCT {column}) AS n FROM {staged} GROUP BY rowid // {VectorRows})")[0];
        var vectors = Convert.ToInt64(row[0], CultureInfo.InvariantCulture);
        var fetches = Convert.ToInt64(row[1], CultureInfo.InvariantCulture);
        return fetches <= ClusteredFetchesPerItem * (vectors + partitions);
    }

    /// <summary>Rows in a DuckDB vector.</summary>
    private const int VectorRows = 2048;

    /// <summary>
    /// Fetches per vector and partition up to which the rows count as clustered: about 1 from daily files (above), 2 leaves
    /// room for a history whose files each hold a few days; random order is 365 per vector at a year of days.
    /// </summary>
    private const int ClusteredFetchesPerItem = 2;

    private int Threads() => Convert.ToInt32(Scalar(_connection, "SELECT current_setting('threads')"), CultureInfo.InvariantCulture);

    private long CopyTo(string selectSql, string file) => CopyTo(_connection, selectSql, file);

    private long CopyTo(DuckDBConnection connection, string selectSql, string file)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"COPY ({selectSql}) TO {Dialect.Str(file)} ({ParquetOptions})";
        using var timer = Dump(connection, cmd.CommandText);
        return Run(() => (long)cmd.ExecuteNonQuery());
    }

    public string ParquetRelation(string directory)
    {
        // hive_partitioning brings the partition columns back from the directory names.
        var glob = Path.Combine(directory, "**", "*.parquet");
        return $"read_parquet({Dialect.Str(glob)}, hive_partitioning = true, union_by_name = true)";
    }

    public string ParquetFiles(IReadOnlyList<string> files) =>
        $"read_parquet([{string.Join(", ", files.Select(Dialect.Str))}], hive_partitioning = false)";

    /// <summary>
    /// One file, without staging the rows in a table first as <see cref="WriteParquet"/> must. Sorted scratch is written
    /// by an order-keeping (still parallel) COPY, so each row group holds a narrow range of the sort key. Not COPY's
    /// PARTITION_BY: a partition per day of a chunk took 2.7× as long as one file at a million events (365 writers
    /// whose small row groups also compress worse: 17 MB against 10 MB).
    /// </summary>
    public long WriteScratchParquet(string selectSql, string directory, string? orderBy)
    {
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, "part-0.parquet");
        if (orderBy is null)
        {
            return CopyTo(selectSql, file);
        }
        long written = 0;
        InInsertionOrder(() => written = CopyTo($"{selectSql} ORDER BY {orderBy}", file));
        return written;
    }

    public long? MemoryLimitBytes => _memoryLimitBytes;

    public void RegisterHashKey(ReadOnlySpan<byte> innerPad, ReadOnlySpan<byte> outerPad)
    {
        Execute("CREATE OR REPLACE TEMP TABLE _hmac_key (ipad BLOB, opad BLOB)");
        using var cmd = _connection.CreateCommand();
        // Parameters, not literals: the key material must never be part of a statement's text (error messages quote it).
        cmd.CommandText = "INSERT INTO _hmac_key SELECT unhex($1), unhex($2)";
        cmd.Parameters.Add(new DuckDBParameter(Convert.ToHexString(innerPad)));
        cmd.Parameters.Add(new DuckDBParameter(Convert.ToHexString(outerPad)));
        Run(() => cmd.ExecuteNonQuery());
    }

    private readonly Dictionary<string, List<int>> _rawGroups = new(StringComparer.Ordinal);

    public void DropRawInput(string name)
    {
        Execute($"DROP VIEW IF EXISTS {Dialect.Id(name)}");
        foreach (var id in _rawGroups.GetValueOrDefault(name) ?? [])
        {
            Execute($"DROP TABLE IF EXISTS _raw_good_{id}");
        }
        _rawGroups.Remove(name);
    }

    public void RegisterRawInput(string name, RawInput input)
    {
        var parts = new List<string>();
        var ids = new List<int>();
        _rawGroups[name] = ids;
        var files = FilesType(input, Interlocked.Increment(ref _groupCounter));
        foreach (var group in input.Groups)
        {
            var id = Interlocked.Increment(ref _groupCounter);
            ids.Add(id);
            parts.AddRange(group.Format switch
            {
                "csv" => RegisterCsv(group, group.Projection, id, files),
                "jsonl" => RegisterJsonLines(group, id, files),
                "parquet" => [RegisterParquet(group, group.Projection, files)],
                _ => throw new ArgumentException($"unknown format {group.Format}", nameof(input)),
            });
        }
        Execute($"CREATE OR REPLACE TEMP VIEW {Dialect.Id(name)} AS {string.Join(" UNION ALL ", parts)}");
    }

    /// <summary>
    /// An ENUM type of the input's file paths, in byte order, for <c>_source_file</c>. Every raw row carries its file,
    /// and as VARCHAR a ~60-byte path is stored with each row of every table that keeps it (the lines, the typed rows,
    /// the narrow dedup and session tables). As an ENUM it is one or two bytes, and it compares, sorts (byte order, like
    /// the strings) and joins as an integer: clean-clicks at 10M events took 196 s instead of 229 s. Outputs cast it
    /// back to text. An ENUM is DuckDB's: the Spark engine keeps the path as a string. The type is not dropped with the
    /// raw input: the tables materialised from it keep using it until the connection closes.
    /// </summary>
    private string FilesType(RawInput input, int id)
    {
        var paths = input.Groups.SelectMany(g => g.Files).Distinct(StringComparer.Ordinal)
            .OrderBy(p => p, Utf8Order).ToList();
        var type = $"_raw_files_{id}";
        Execute($"CREATE TYPE {type} AS ENUM ({string.Join(", ", paths.Select(Dialect.Str))})");
        return type;
    }

    /// <summary>Byte order of the UTF-8 encodings: DuckDB's VARCHAR order (ordinal UTF-16 order differs for surrogates).</summary>
    private static readonly Comparer<string> Utf8Order = Comparer<string>.Create((a, b) =>
        System.Text.Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(System.Text.Encoding.UTF8.GetBytes(b)));

    private const string LineColumn = "{'line': 'VARCHAR'}";
    private const char UnitSeparator = '\u001f';
    private const string EmptyObject = "'{}'";

    /// <summary>
    /// CSV: DuckDB's reader with declared VARCHAR columns (no sniffing) and store_rejects, so malformed lines land in
    /// a rejects table with their line number and text instead of being skipped. Good rows get their line number
    /// from their ordinal in the file (the streaming row_number keeps file order) shifted by the rejected lines
    /// before them — exact unless a quoted field spans several lines.
    /// </summary>
    private List<string> RegisterCsv(RawFileGroup g, IReadOnlyList<ColumnProjection> projection, int id, string files)
    {
        var d = Dialect;
        var good = $"_raw_good_{id}";
        var rejects = $"_raw_rej_{id}";
        var scans = $"_raw_rejscan_{id}";
        var columnsStruct = "{" + string.Join(", ", g.HeaderColumns.Select(c => $"{d.Str(c)}: 'VARCHAR'")) + "}";
        ExecuteOrdered($"""
            CREATE OR REPLACE TEMP TABLE {good} AS
            SELECT row_number() OVER () AS _ord, CAST(filename AS {files}) AS _source_file, {string.Join(", ", g.HeaderColumns.Select(d.Id))}
            FROM read_csv({FileList(g.Files)}, columns = {columnsStruct}, header = true, auto_detect = false,
                 delim = {d.Str(g.Delimiter.ToString())}, quote = {d.Str(g.Quote.ToString())}, escape = {d.Str(g.Quote.ToString())},
                 filename = true, store_rejects = true, rejects_table = '{rejects}', rejects_scan = '{scans}',
                 strict_mode = true, null_padding = false, max_line_size = 10000000)
            """);
        var rawImage = "concat_ws(" + d.Str(g.Delimiter.ToString()) + ", " +
                       string.Join(", ", g.HeaderColumns.Select(c => $"coalesce({d.Id(c)}, '')")) + ")";
        var projected = string.Join(", ", projection.Select(p => (p.Source is null ? "CAST(NULL AS VARCHAR)" : "g." + d.Id(p.Source)) + " AS " + d.Id(p.Canonical)));
        var nulls = string.Join(", ", projection.Select(p => "CAST(NULL AS VARCHAR) AS " + d.Id(p.Canonical)));
        var rejectLines = $"""
            SELECT CAST(s.file_path AS {files}) AS _source_file, e.line AS line, min(e.error_type) AS error_type,
                   min(e.csv_line) AS csv_line, min(e.error_message) AS error_message
            FROM {rejects} e JOIN {scans} s ON e.scan_id = s.scan_id AND e.file_id = s.file_id
            GROUP BY s.file_path, e.line
            """;
        return
        [
            $"""
            SELECT * FROM (
              WITH rej AS (SELECT _source_file, line, row_number() OVER (PARTITION BY _source_file ORDER BY line) AS j FROM ({rejectLines})),
                   gaps AS (SELECT _source_file, line - 1 - j AS good_before, max(j) AS rejected_before FROM rej GROUP BY _source_file, line - 1 - j),
                   firsts AS (SELECT _source_file, min(_ord) AS first_ord FROM {good} GROUP BY _source_file),
                   numbered AS (SELECT r.*, r._ord - f.first_ord + 1 AS _k FROM {good} r JOIN firsts f ON f._source_file = r._source_file)
              SELECT g._source_file, CAST(g._k + coalesce(x.rejected_before, 0) + 1 AS BIGINT) AS _source_line, {rawImage} AS _raw,
                     CAST(NULL AS VARCHAR) AS _parse_error, CAST(NULL AS VARCHAR) AS _parse_detail, {projected}
              FROM numbered g ASOF LEFT JOIN gaps x ON g._source_file = x._source_file AND g._k > x.good_before)
            """,
            $"""
            SELECT _source_file, CAST(line AS BIGINT) AS _source_line, csv_line AS _raw,
                   CASE WHEN error_type = 'INVALID ENCODING' THEN 'invalid_encoding' ELSE 'malformed_row' END AS _parse_error,
                   error_message AS _parse_detail, {nulls}
            FROM ({rejectLines})
            """,
        ];
    }

    /// <summary>
    /// JSON lines are read as text lines (one VARCHAR column, no quoting) and parsed with DuckDB's JSON functions, so a
    /// line that is not a JSON object becomes a quarantined row with its text instead of an error or a silent skip.
    /// Here all files are numbered in one ordered pass into a lines table; <see cref="MaterializeFromRawInput"/> avoids
    /// that table when the files can be spread over the threads.
    /// </summary>
    private List<string> RegisterJsonLines(RawFileGroup g, int id, string files)
    {
        List<string> parts = [];
        InInsertionOrder(() => parts = NumberedJsonRows(_connection, g.Files, g, $"_raw_good_{id}", $"_raw_rej_{id}", $"_raw_rejscan_{id}", files));
        return parts;
    }

    /// <summary>
    /// Reads <paramref name="fileList"/>'s lines in file order into the temp table <paramref name="good"/> (on
    /// <paramref name="connection"/>, with insertion order preserved) and returns the raw rows as two relations: the
    /// parsed good lines, numbered past any rejected ones, and the lines the reader rejected.
    /// </summary>
    private List<string> NumberedJsonRows(DuckDBConnection connection, IReadOnlyList<string> fileList, RawFileGroup g,
        string good, string rejects, string scans, string files)
    {
        Exec(connection, $"""
            CREATE OR REPLACE TEMP TABLE {good} AS
            SELECT row_number() OVER () AS _ord, CAST(filename AS {files}) AS _source_file, line
            FROM {JsonLinesReader(fileList, rejects, scans)}
            """);
        return [JsonObjects(NumberedLines(good, rejects, scans, files), g), JsonRejects(rejects, scans, files, g.Projection)];
    }

    /// <summary>
    /// Reads the lines of JSON-lines files. U+001F cannot appear unescaped in valid JSON, so it is a safe "never splits"
    /// delimiter. The reader rejects only lines it cannot hold (invalid UTF-8, longer than 10 MB); they go to the
    /// rejects tables with their line numbers, and the good lines after them are numbered past them (<see cref="NumberedLines"/>).
    /// </summary>
    private string JsonLinesReader(IReadOnlyList<string> files, string rejects, string scans) => $"""
        read_csv({FileList(files)}, columns = {LineColumn}, header = false, auto_detect = false,
                 delim = '{UnitSeparator}', quote = '', escape = '', filename = true, store_rejects = true,
                 rejects_table = '{rejects}', rejects_scan = '{scans}', max_line_size = 10000000)
        """;

    /// <summary>
    /// The lines of <paramref name="good"/> (<c>_ord</c>: ordinal in file order, <c>_source_file</c>, <c>line</c>) as
    /// (_source_file, _source_line, line): a good line's number is its ordinal in its file plus the rejected lines before
    /// it. A rejected line numbered L that is the j-th rejected one of its file has L - j good lines before it, so
    /// each good line takes the count of the last group of rejected lines with fewer good lines before them.
    /// </summary>
    private static string NumberedLines(string good, string rejects, string scans, string files) => $"""
        WITH rejected AS (
          SELECT DISTINCT CAST(s.file_path AS {files}) AS _source_file, e.line AS line
          FROM {rejects} e JOIN {scans} s ON e.scan_id = s.scan_id AND e.file_id = s.file_id
        ),
        ranked AS (SELECT _source_file, line, row_number() OVER (PARTITION BY _source_file ORDER BY line) AS j FROM rejected),
        gaps AS (SELECT _source_file, line - j AS good_before, max(j) AS rejected_before FROM ranked GROUP BY _source_file, line - j),
        firsts AS (SELECT _source_file, min(_ord) AS first_ord FROM {good} GROUP BY _source_file),
        ordinals AS (SELECT r._source_file, r._ord - f.first_ord + 1 AS _k, r.line FROM {good} r JOIN firsts f ON f._source_file = r._source_file)
        SELECT o._source_file, CAST(o._k + coalesce(x.rejected_before, 0) AS BIGINT) AS _source_line, o.line
        FROM ordinals o ASOF LEFT JOIN gaps x ON o._source_file = x._source_file AND o._k > x.good_before
        """;

    /// <summary>
    /// Raw rows from numbered lines (_source_file, _source_line, line). json_valid never throws; every other JSON function
    /// only ever sees valid text (_json), because DuckDB does not promise to evaluate CASE branches lazily. One parse per
    /// line for all the keys (json_extract_string with a list of paths), instead of one per key.
    /// </summary>
    private string JsonObjects(string lines, RawFileGroup g)
    {
        var d = Dialect;
        var projection = g.Projection;
        var sources = projection.Where(p => p.Source is not null).Select(p => p.Source!).Distinct().ToList();
        // json_transform to a struct of strings reads the values as json_extract_string does (the first of duplicate
        // keys, keys matched case-sensitively, escapes decoded, objects/arrays/numbers as their JSON text) in ≈ 40% less
        // time. Struct field names are case-insensitive, so keys that differ only in case take the path list instead.
        var asStruct = sources.Count > 0 && sources.Distinct(StringComparer.OrdinalIgnoreCase).Count() == sources.Count;
        string values, projected;
        if (asStruct)
        {
            var structure = System.Text.Json.JsonSerializer.Serialize(sources.ToDictionary(src => src, _ => "VARCHAR", StringComparer.Ordinal));
            values = $"CASE WHEN _is_object THEN json_transform(_json, {d.Str(structure)}) END";
            projected = string.Join(", ", projection.Select(p =>
                (p.Source is null ? "CAST(NULL AS VARCHAR)" : $"struct_extract(_vals, {d.Str(p.Source)})") + " AS " + d.Id(p.Canonical)));
        }
        else
        {
            var paths = "[" + string.Join(", ", sources.Select(src => d.Str("$.\"" + src + "\""))) + "]";
            values = sources.Count == 0 ? "CAST(NULL AS VARCHAR[])" : $"CASE WHEN _is_object THEN json_extract_string(_json, {paths}) END";
            projected = string.Join(", ", projection.Select(p =>
                (p.Source is null ? "CAST(NULL AS VARCHAR)" : $"_vals[{sources.IndexOf(p.Source) + 1}]") + " AS " + d.Id(p.Canonical)));
        }
        var isObject = $"coalesce(json_valid(r.line), false) AND starts_with(ltrim(r.line), '{EmptyObject[1]}')";
        // A key the object has twice (json_transform would silently take the first value): the first such key, in order.
        var duplicate = g.RejectDuplicateKeys
            ? "CASE WHEN _is_object THEN list_filter(json_keys(_json), lambda k: len(list_filter(json_keys(_json), lambda x: x = k)) > 1)[1] END"
            : "CAST(NULL AS VARCHAR)";
        return $"""
            SELECT _source_file, _source_line, line AS _raw,
                   CASE WHEN NOT _is_object OR _duplicate_key IS NOT NULL THEN 'malformed_row' END AS _parse_error,
                   CASE WHEN NOT _is_object THEN 'not a JSON object' WHEN _duplicate_key IS NOT NULL THEN 'duplicate key ' || _duplicate_key END AS _parse_detail,
                   {projected}
            FROM (
              SELECT o.*, {values} AS _vals, {duplicate} AS _duplicate_key
              FROM (
                SELECT r.*, {isObject} AS _is_object, CASE WHEN {isObject} THEN r.line ELSE {EmptyObject} END AS _json
                FROM ({lines}) r
              ) o
            )
            """;
    }

    /// <summary>Raw rows for the lines the reader rejected, with their reason and line number.</summary>
    private string JsonRejects(string rejects, string scans, string files, IReadOnlyList<ColumnProjection> projection)
    {
        var nulls = string.Join(", ", projection.Select(p => "CAST(NULL AS VARCHAR) AS " + Dialect.Id(p.Canonical)));
        return $"""
            SELECT CAST(s.file_path AS {files}) AS _source_file, CAST(e.line AS BIGINT) AS _source_line, min(e.csv_line) AS _raw,
                   CASE WHEN min(e.error_type) = 'INVALID ENCODING' THEN 'invalid_encoding' ELSE 'malformed_row' END AS _parse_error,
                   min(e.error_message) AS _parse_detail, {nulls}
            FROM {rejects} e JOIN {scans} s ON e.scan_id = s.scan_id AND e.file_id = s.file_id
            GROUP BY s.file_path, e.line
            """;
    }

    /// <summary>
    /// JSON lines spread over the threads: the files are split into a few batches of similar size, and each batch is read,
    /// numbered and typed by one statement straight into the table, on one connection per thread. Numbering lines needs an
    /// ordered (so single-threaded) pass; when that pass also types the rows, the batches keep every thread busy and the
    /// raw lines are never materialised (at ten million events they are ≈ 5 GB, which the memory limit otherwise
    /// spills). Streaming window functions number the lines of each file within the batch. They are exact unless the
    /// reader rejected lines: the batch's rows are then deleted and its files read again, numbered past the rejected
    /// lines (<see cref="NumberedLines"/>). Few statements, because each one costs ≈ 60 ms to plan.
    /// </summary>
    private void MaterializeJsonLinesInBatches(string name, string rawName, RawInput input, string selectSql, int threads)
    {
        var files = FilesType(input, Interlocked.Increment(ref _groupCounter));
        var batches = input.Groups.SelectMany(g => Batches(g.Files, threads * 4).Select(b => (Group: g, Files: b))).ToList();
        var table = "main." + Dialect.Id(name);
        var view = Dialect.Id(rawName);
        Execute($"DROP TABLE IF EXISTS temp.{Dialect.Id(name)}");
        Execute($"DROP TABLE IF EXISTS {table}");
        // The table's columns: the statement over the first batch's relation, without reading it.
        var k0 = Interlocked.Increment(ref _groupCounter);
        Execute($"CREATE OR REPLACE TEMP VIEW {view} AS {StreamedRawRows(batches[0].Group, batches[0].Files, files, $"_raw_rej_{k0}", $"_raw_rejscan_{k0}")}");
        Execute($"CREATE TABLE {table} AS SELECT * FROM ({selectSql}) LIMIT 0");
        Execute($"DROP VIEW {view}");
        try
        {
            TypeJsonLinesInBatches(rawName, batches, files, threads,
                (c, _) => Exec(c, $"INSERT INTO {table} {selectSql}"),
                (c, b) => Exec(c, $"DELETE FROM {table} WHERE _source_file IN ({string.Join(", ", b.Files.Select(Dialect.Str))})"));
        }
        catch
        {
            Execute($"DROP TABLE IF EXISTS {table}");
            throw;
        }
    }

    /// <summary>
    /// Each batch read, numbered and typed by one statement on a worker connection (<paramref name="write"/>, with the
    /// batch's raw rows as the temp view <paramref name="rawName"/>). The streamed numbering is exact unless the reader
    /// rejected lines: the batch's rows are then taken back (<paramref name="retract"/>) and its files read again,
    /// numbered past the rejected lines (<see cref="NumberedLines"/>).
    /// </summary>
    private void TypeJsonLinesInBatches(string rawName, IReadOnlyList<(RawFileGroup Group, IReadOnlyList<string> Files)> batches, string files,
        int threads, Action<DuckDBConnection, int> write, Action<DuckDBConnection, (RawFileGroup Group, IReadOnlyList<string> Files)> retract)
    {
        var view = Dialect.Id(rawName);
        // Numbering needs file order.
        InInsertionOrder(() => OnWorkerConnections(Enumerable.Range(0, batches.Count).ToList(), threads, (c, i) =>
        {
            var b = batches[i];
            var k = Interlocked.Increment(ref _groupCounter);
            var (rejects, scans) = ($"_raw_rej_{k}", $"_raw_rejscan_{k}");
            Exec(c, $"CREATE OR REPLACE TEMP VIEW {view} AS {StreamedRawRows(b.Group, b.Files, files, rejects, scans)}");
            write(c, i);
            if (Convert.ToInt64(Scalar(c, $"SELECT count(*) FROM {rejects}"), CultureInfo.InvariantCulture) > 0)
            {
                retract(c, b);
                var good = $"_raw_good_{k}";
                var parts = NumberedJsonRows(c, b.Files, b.Group, good, $"_raw_rej_{k}_exact", $"_raw_rejscan_{k}_exact", files);
                Exec(c, $"CREATE OR REPLACE TEMP VIEW {view} AS {string.Join(" UNION ALL ", parts)}");
                write(c, i);
                Exec(c, $"DROP TABLE {good}");
            }
            Exec(c, $"DROP VIEW {view}");
        }));
    }

    /// <summary>
    /// JSON lines spread over the threads go straight from the files to scratch Parquet: consecutive files in a batch,
    /// a batch to a file, each written by one order-keeping statement, so a file's row groups follow its input files'
    /// order (narrow ranges of time when the files are in time order). The typed table and the sorted copy of it that a
    /// scratch file was written from before cost a second pass over the wide rows and a sort (11 s of 47 s to type 7.6M
    /// events in two chunks). Other input: the default (registered, one unsorted COPY).
    /// </summary>
    public long WriteScratchFromRawInput(string rawName, RawInput input, string selectSql, string directory)
    {
        var threads = Threads();
        if (!JsonLinesSpread(input, threads))
        {
            return WithRawInput(rawName, input, () => WriteScratchParquet(selectSql, directory, null));
        }
        Directory.CreateDirectory(directory);
        var files = FilesType(input, Interlocked.Increment(ref _groupCounter));
        var batches = input.Groups.SelectMany(g => ConsecutiveBatches(g.Files, threads * 4).Select(b => (Group: g, Files: b))).ToList();
        var written = new long[batches.Count];
        var paths = batches.Select((_, i) => Path.Combine(directory, $"part-{i.ToString("0000", CultureInfo.InvariantCulture)}.parquet")).ToList();
        // Nothing to take back after a rejected line: the batch's second COPY replaces its file.
        TypeJsonLinesInBatches(rawName, batches, files, threads,
            (c, i) => written[i] = CopyTo(c, selectSql, paths[i]),
            (_, _) => { });
        return written.Sum();
    }

    public IReadOnlyList<RowGroupRange>? RowGroupRanges(IReadOnlyList<string> files, string column) =>
        files.Count == 0
            ? []
            : Query($"""
                SELECT file_name, row_group_num_rows,
                       epoch_us(CAST(stats_min_value AS TIMESTAMPTZ)), epoch_us(CAST(stats_max_value AS TIMESTAMPTZ))
                FROM parquet_metadata([{string.Join(", ", files.Select(Dialect.Str))}])
                WHERE path_in_schema = {Dialect.Str(column)}
                ORDER BY file_name, row_group_id
                """)
                .Select(r => new RowGroupRange((string)r[0]!, Convert.ToInt64(r[1], CultureInfo.InvariantCulture),
                    r[2] is null ? null : Convert.ToInt64(r[2], CultureInfo.InvariantCulture),
                    r[3] is null ? null : Convert.ToInt64(r[3], CultureInfo.InvariantCulture)))
                .ToList();

    /// <summary>
    /// Runs <paramref name="work"/> on each item, on up to <paramref name="threads"/> extra connections to this database
    /// (session time zone UTC; they see its main-schema tables, not the temp ones), and rethrows the first failure once
    /// all have stopped. Statements that run on one thread each (an ordered scan, a one-file COPY) keep the cores busy
    /// this way. Meanwhile DuckDB's own thread pool is cut to none: <c>threads</c> counts the calling thread, so at N
    /// threads DuckDB keeps N − 1 background threads, which take up the workers' tasks beside the workers' own threads
    /// (N connections + N − 1 threads on N cores). Measured on 2 cores, two batches of 316,000 JSON lines read, numbered
    /// and typed on two connections: 1.3× faster than one after the other with the pool, 1.9× without it.
    /// </summary>
    private void OnWorkerConnections<T>(IReadOnlyList<T> items, int threads, Action<DuckDBConnection, T> work)
    {
        var poolThreads = Threads();
        Execute("SET threads = 1");
        try
        {
            RunOnWorkerConnections(items, threads, work);
        }
        finally
        {
            Execute($"SET threads = {poolThreads.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    private void RunOnWorkerConnections<T>(IReadOnlyList<T> items, int threads, Action<DuckDBConnection, T> work)
    {
        var queue = new System.Collections.Concurrent.ConcurrentQueue<T>(items);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var workers = Enumerable.Range(0, Math.Max(1, Math.Min(threads, items.Count))).Select(_ => Task.Run(() =>
        {
            try
            {
                using var c = _connection.Duplicate();
                if (c.State != System.Data.ConnectionState.Open)
                {
                    c.Open();
                }
                Exec(c, "SET TimeZone = 'UTC'");
                while (failures.IsEmpty && queue.TryDequeue(out var item))
                {
                    work(c, item);
                }
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToArray();
        Task.WaitAll(workers);
        if (failures.TryDequeue(out var failure))
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    /// <summary>
    /// Splits files into at most <paramref name="count"/> batches of similar total size (largest file first into the
    /// smallest batch); each batch keeps the files' input order.
    /// </summary>
    internal static List<IReadOnlyList<string>> Batches(IReadOnlyList<string> files, int count)
    {
        var bins = Enumerable.Range(0, Math.Max(1, Math.Min(count, files.Count))).Select(_ => (Size: 0L, Files: new List<int>())).ToList();
        foreach (var (file, index) in files.Select((f, i) => (f, i)).OrderByDescending(x => new FileInfo(x.f).Length).ThenBy(x => x.i))
        {
            var smallest = bins.Select((b, i) => (b.Size, i)).Min().i;
            bins[smallest].Files.Add(index);
            bins[smallest] = (bins[smallest].Size + new FileInfo(file).Length, bins[smallest].Files);
        }
        return bins.Where(b => b.Files.Count > 0).Select(b => (IReadOnlyList<string>)b.Files.Order().Select(i => files[i]).ToList()).ToList();
    }

    /// <summary>
    /// Splits files into at most <paramref name="count"/> runs of consecutive files of similar total size: a file goes
    /// to the run its middle byte falls in, on the files' cumulative sizes.
    /// </summary>
    internal static List<IReadOnlyList<string>> ConsecutiveBatches(IReadOnlyList<string> files, int count)
    {
        var sizes = files.Select(f => Math.Max(1, new FileInfo(f).Length)).ToList();
        var total = (double)sizes.Sum();
        var runs = Math.Max(1, Math.Min(count, files.Count));
        var batches = new List<List<string>>();
        var last = -1;
        double before = 0;
        for (var i = 0; i < files.Count; i++)
        {
            // Middle bytes only grow, so a file's run is its predecessor's or a later one.
            var run = Math.Min(runs - 1, (int)((before + sizes[i] / 2.0) / total * runs));
            if (run != last)
            {
                batches.Add([]);
                last = run;
            }
            batches[^1].Add(files[i]);
            before += sizes[i];
        }
        return batches.ConvertAll<IReadOnlyList<string>>(b => b);
    }

    /// <summary>
    /// Raw rows of JSON-lines files in one ordered pass: <c>row_number()</c> over the scan, minus the number of the
    /// file's first row (carried forward by a running max), is the line number — all streaming window functions, so
    /// no table is materialised. Exact when the reader rejects no line.
    /// </summary>
    private string StreamedRawRows(RawFileGroup g, IReadOnlyList<string> fileList, string files, string rejects, string scans) => JsonObjects($"""
        SELECT _source_file, CAST(_rn - max(CASE WHEN _prev IS DISTINCT FROM _source_file THEN _rn END)
                                    OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) + 1 AS BIGINT) AS _source_line, line
        FROM (
          SELECT CAST(filename AS {files}) AS _source_file, row_number() OVER () AS _rn,
                 lag(CAST(filename AS {files})) OVER () AS _prev, line
          FROM {JsonLinesReader(fileList, rejects, scans)}
        )
        """, g);

    /// <summary>
    /// Whether every thread can be kept busy with whole files: at least one file per thread, and none larger than an
    /// even share of the total (one thread: always).
    /// </summary>
    private static bool FilesSpreadOverThreads(IReadOnlyList<string> files, int threads)
    {
        if (files.Count == 0)
        {
            return false;
        }
        if (threads <= 1)
        {
            return true;
        }
        var sizes = files.Select(f => new FileInfo(f).Length).ToList();
        return files.Count >= threads && sizes.Max() <= sizes.Sum() / threads;
    }

    /// <summary>Whether the input is JSON lines only, in files that keep every thread busy (<see cref="FilesSpreadOverThreads"/>).</summary>
    private static bool JsonLinesSpread(RawInput input, int threads) =>
        input.Groups.Count > 0 && input.Groups.All(g => g.Format == "jsonl")
        && FilesSpreadOverThreads(input.Groups.SelectMany(g => g.Files).ToList(), threads);

    public void MaterializeFromRawInput(string name, string rawName, RawInput input, string selectSql)
    {
        var threads = Threads();
        if (JsonLinesSpread(input, threads))
        {
            MaterializeJsonLinesInBatches(name, rawName, input, selectSql, threads);
            return;
        }
        WithRawInput(rawName, input, () =>
        {
            Materialize(name, selectSql);
            return 0;
        });
    }

    /// <summary>Runs <paramref name="body"/> with the raw input registered as <paramref name="rawName"/>, and frees it after.</summary>
    private T WithRawInput<T>(string rawName, RawInput input, Func<T> body)
    {
        RegisterRawInput(rawName, input);
        try
        {
            return body();
        }
        finally
        {
            DropRawInput(rawName);
        }
    }

    private string RegisterParquet(RawFileGroup g, IReadOnlyList<ColumnProjection> projection, string files)
    {
        var d = Dialect;
        var projected = string.Join(", ", projection.Select(p =>
            (p.Source is null ? "CAST(NULL AS VARCHAR)" : $"CAST({d.Id(p.Source)} AS VARCHAR)") + " AS " + d.Id(p.Canonical)));
        var image = "CAST({" + string.Join(", ", g.HeaderColumns.Select(c => $"{d.Str(c)}: {d.Id(c)}")) + "} AS VARCHAR)";
        return $"""
            SELECT CAST(filename AS {files}) AS _source_file, CAST(file_row_number + 1 AS BIGINT) AS _source_line, {image} AS _raw,
                   CAST(NULL AS VARCHAR) AS _parse_error, CAST(NULL AS VARCHAR) AS _parse_detail, {projected}
            FROM read_parquet({FileList(g.Files)}, filename = true, file_row_number = true, union_by_name = true)
            """;
    }

    private string FileList(IReadOnlyList<string> files) => "[" + string.Join(", ", files.Select(Dialect.Str)) + "]";

    private static T Run<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (DuckDBException e)
        {
            throw Translate(e.Message, e);
        }
    }

    /// <summary>
    /// DuckDB's failures as the pipeline's exit codes, decided from DuckDB's own message classes: an IO or invalid-input
    /// error is an input problem (3), except a full disk (its spill files or an output), which is 1 with what to do.
    /// </summary>
    internal static EngineException Translate(string duckDbMessage, Exception? inner = null)
    {
        var message = "DuckDB: " + FirstLine(duckDbMessage);
        if (message.Contains("No space left on device", StringComparison.Ordinal))
        {
            return new EngineException(ExitCodes.UnexpectedFailure,
                message + " (the disk is full: free space, or set engine.temp_directory to a larger disk for DuckDB's spill files)", inner)
            {
                SuggestVerbose = false,
            };
        }
        return message.Contains("IO Error", StringComparison.Ordinal) || message.Contains("Invalid Input Error", StringComparison.Ordinal)
            ? new EngineException(ExitCodes.InputProblem, message, inner)
            : new EngineException(ExitCodes.UnexpectedFailure, message, inner);
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 400 ? line[..400] + "…" : line;
    }

    public void Dispose() => _connection.Dispose();
}
