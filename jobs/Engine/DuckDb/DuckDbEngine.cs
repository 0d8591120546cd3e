using System.Globalization;
using DuckDB.NET.Data;

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
        if (!string.IsNullOrEmpty(options.TempDirectory))
        {
            Directory.CreateDirectory(options.TempDirectory);
            Execute($"SET temp_directory = {Dialect.Str(options.TempDirectory)}");
        }
    }

    public string Name => "duckdb";

    public ISqlDialect Dialect => DuckDbDialect.Instance;

    private static readonly string? DumpDirectory = Environment.GetEnvironmentVariable("PIPELINE_DUMP_SQL");
    private int _statement;

    /// <summary>With PIPELINE_DUMP_SQL=&lt;dir&gt;, every statement is also written there (for EXPLAIN ANALYZE by hand).</summary>
    private void Dump(string sql)
    {
        if (DumpDirectory is not null)
        {
            Directory.CreateDirectory(DumpDirectory);
            File.WriteAllText(Path.Combine(DumpDirectory, $"{Interlocked.Increment(ref _statement):000}.sql"), sql + ";\n");
        }
    }

    public void Execute(string sql)
    {
        Dump(sql);
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        Run(() => cmd.ExecuteNonQuery());
    }

    /// <summary>Runs a statement whose streaming row_number() must see rows in file order.</summary>
    private void ExecuteOrdered(string sql)
    {
        Execute("SET preserve_insertion_order = true");
        try
        {
            Execute(sql);
        }
        finally
        {
            Execute("SET preserve_insertion_order = false");
        }
    }

    public void Materialize(string name, string selectSql) =>
        Execute($"CREATE OR REPLACE TEMP TABLE {Dialect.Id(name)} AS {selectSql}");

    public IReadOnlyList<object?[]> Query(string sql)
    {
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

    public long WriteParquet(string selectSql, string directory, IReadOnlyList<string> partitionBy)
    {
        Directory.CreateDirectory(directory);
        // Row groups of ~122k rows (DuckDB's default vector multiple) keep files scannable in parallel by readers;
        // zstd compresses ~2x better than snappy on these tables at similar read speed.
        string target;
        var options = "FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 122880";
        if (partitionBy.Count > 0)
        {
            target = directory;
            options += $", PARTITION_BY ({string.Join(", ", partitionBy.Select(Dialect.Id))}), FILENAME_PATTERN 'part-{{i}}', OVERWRITE_OR_IGNORE";
        }
        else
        {
            target = Path.Combine(directory, "part-0.parquet");
        }
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = $"COPY ({selectSql}) TO {Dialect.Str(target)} ({options})";
        Dump(cmd.CommandText);
        return Run(() => (long)cmd.ExecuteNonQuery());
    }

    public string ParquetRelation(string directory)
    {
        // hive_partitioning brings the partition columns back from the directory names.
        var glob = Path.Combine(directory, "**", "*.parquet");
        return $"read_parquet({Dialect.Str(glob)}, hive_partitioning = true, union_by_name = true)";
    }

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
                "jsonl" => RegisterJsonLines(group, group.Projection, id, files),
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
    /// </summary>
    private List<string> RegisterJsonLines(RawFileGroup g, IReadOnlyList<ColumnProjection> projection, int id, string files)
    {
        var d = Dialect;
        var good = $"_raw_good_{id}";
        var rejects = $"_raw_rej_{id}";
        var scans = $"_raw_rejscan_{id}";
        // U+001F cannot appear unescaped in valid JSON, so it is a safe "never splits" delimiter.
        ExecuteOrdered($"""
            CREATE OR REPLACE TEMP TABLE {good} AS
            SELECT row_number() OVER () AS _ord, CAST(filename AS {files}) AS _source_file, line
            FROM read_csv({FileList(g.Files)}, columns = {LineColumn}, header = false, auto_detect = false,
                 delim = '{UnitSeparator}', quote = '', escape = '', filename = true, store_rejects = true,
                 rejects_table = '{rejects}', rejects_scan = '{scans}', max_line_size = 10000000)
            """);
        // json_valid never throws; every other JSON function only ever sees valid text (_json), because DuckDB does not
        // promise to evaluate CASE branches lazily.
        // One parse per line for all the keys (json_extract_string with a list of paths), instead of one per key.
        const string isObject = "_is_object";
        var sources = projection.Where(p => p.Source is not null).Select(p => p.Source!).Distinct().ToList();
        var paths = "[" + string.Join(", ", sources.Select(src => d.Str("$.\"" + src + "\""))) + "]";
        var projected = string.Join(", ", projection.Select(p =>
            (p.Source is null ? "CAST(NULL AS VARCHAR)" : $"_vals[{sources.IndexOf(p.Source) + 1}]") + " AS " + d.Id(p.Canonical)));
        var nulls = string.Join(", ", projection.Select(p => "CAST(NULL AS VARCHAR) AS " + d.Id(p.Canonical)));
        var values = sources.Count == 0 ? "CAST(NULL AS VARCHAR[])" : $"CASE WHEN _is_object THEN json_extract_string(_json, {paths}) END";
        return
        [
            $"""
            SELECT _source_file, CAST(_ord - first_ord + 1 AS BIGINT) AS _source_line, line AS _raw,
                   CASE WHEN NOT {isObject} THEN 'malformed_row' END AS _parse_error,
                   CASE WHEN NOT {isObject} THEN 'not a JSON object' END AS _parse_detail, {projected}
            FROM (
              SELECT o.*, {values} AS _vals
              FROM (
                SELECT r.*, f.first_ord,
                       coalesce(json_valid(r.line), false) AND starts_with(ltrim(r.line), '{EmptyObject[1]}') AS _is_object,
                       CASE WHEN coalesce(json_valid(r.line), false) AND starts_with(ltrim(r.line), '{EmptyObject[1]}') THEN r.line ELSE {EmptyObject} END AS _json
                FROM {good} r JOIN (SELECT _source_file, min(_ord) AS first_ord FROM {good} GROUP BY _source_file) f ON f._source_file = r._source_file
              ) o
            )
            """,
            $"""
            SELECT CAST(s.file_path AS {files}) AS _source_file, CAST(e.line AS BIGINT) AS _source_line, min(e.csv_line) AS _raw,
                   CASE WHEN min(e.error_type) = 'INVALID ENCODING' THEN 'invalid_encoding' ELSE 'malformed_row' END AS _parse_error,
                   min(e.error_message) AS _parse_detail, {nulls}
            FROM {rejects} e JOIN {scans} s ON e.scan_id = s.scan_id AND e.file_id = s.file_id
            GROUP BY s.file_path, e.line
            """,
        ];
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
            throw new EngineException("DuckDB: " + FirstLine(e.Message), e);
        }
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 400 ? line[..400] + "…" : line;
    }

    public void Dispose() => _connection.Dispose();
}
