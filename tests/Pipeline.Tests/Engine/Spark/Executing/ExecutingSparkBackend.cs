using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using Grpc.Core;
using static Pipeline.Tests.Engine.Spark.Executing.SparkSqlLexer;

namespace Pipeline.Tests.Engine.Spark.Executing;

/// <summary>
/// What makes the fake Spark Connect server execute: one embedded DuckDB database per Spark session (temp views and
/// cached tables are session-scoped, as in Spark), the Spark SQL translated by <see cref="SparkToDuckDbSql"/>, file
/// reads (<c>Read.DataSource</c> with the Spark engine's options) done here the way Spark's readers do them, Arrow
/// uploads (<c>LocalRelation</c>) loaded as tables, <c>WriteOperation</c>s written as Parquet in Spark's layout, and
/// query results sent back as Arrow IPC with the types Spark Connect sends.
/// </summary>
/// <remarks>
/// It runs after <see cref="StrictSparkCatalog"/>'s checks, so what it executes has already passed "would Spark
/// accept this" as far as the strict fake knows. It proves that the stages' Spark SQL, in this translation, computes
/// what their DuckDB SQL computes, and that the engine's protocol flows (reads, caches, drops, writes, uploads, result
/// decoding) carry real data end to end. It does not prove Spark semantics where DuckDB's differ (see
/// <see cref="SparkToDuckDbSql"/>), nor what only a cluster shows: Spark's own CSV/text/JSON parsers (emulated in
/// <see cref="ReadCsv"/>/<see cref="ReadText"/>), record order across splits, partition discovery of a real
/// filesystem, committers, caching and memory, and Spark's error messages for failures the strict catalog does not
/// model.
/// </remarks>
internal sealed class ExecutingSparkBackend : IDisposable
{
    private readonly ConcurrentDictionary<string, ExecutingSparkSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>Every statement sent to DuckDB (Spark text → DuckDB text), for diagnostics.</summary>
    public ConcurrentQueue<(string Spark, string DuckDb)> Translated { get; } = new();

    public ExecutingSparkSession Session(string sessionId) => _sessions.GetOrAdd(sessionId, _ => new ExecutingSparkSession(this));

    /// <summary>ReleaseSession: its views and tables go with its database.</summary>
    public void Release(string sessionId)
    {
        if (_sessions.TryRemove(sessionId, out var session))
        {
            session.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var id in _sessions.Keys.ToList())
        {
            Release(id);
        }
    }

    /// <summary>An execution failure as Spark reports one (the message says it is the executing fake's).</summary>
    public static RpcException Failure(string errorClass, string sqlState, string message) =>
        FakeSparkService.SparkError(StatusCode.Internal, errorClass, sqlState, "org.apache.spark.SparkException", $"[{errorClass}] {message}");
}

/// <summary>One Spark session of the executing fake: a DuckDB in-memory database and the kinds of its named relations.</summary>
internal sealed partial class ExecutingSparkSession : IDisposable
{
    private readonly ExecutingSparkBackend _backend;
    private readonly DuckDBConnection _db;
    private readonly object _lock = new();
    private readonly Dictionary<string, string> _kinds = new(StringComparer.OrdinalIgnoreCase);
    private int _counter;

    public ExecutingSparkSession(ExecutingSparkBackend backend)
    {
        _backend = backend;
        _db = new DuckDBConnection("DataSource=:memory:");
        _db.Open();
        Run("SET TimeZone = 'UTC'");
        foreach (var macro in SparkToDuckDbSql.Macros)
        {
            Run(macro);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _db.Dispose();
        }
    }

    // ------------------------------------------------------------------ SQL

    /// <summary>
    /// <c>command.sql_command</c>: a command (CREATE VIEW, CACHE/UNCACHE TABLE, DROP, DESCRIBE, SET) runs now and its
    /// output comes back as an Arrow IPC stream (Spark: a LocalRelation in SqlCommandResult); a query returns null (Spark
    /// hands it back as a relation to execute).
    /// </summary>
    public byte[]? Command(string sql)
    {
        lock (_lock)
        {
            var t = Tokenize(sql).Where(x => x.Text.Length > 0).ToList();
            var first = t.Count == 0 ? "" : t[0].Upper;
            switch (first)
            {
                case "CREATE":
                    CreateView(t, sql);
                    return Empty();
                case "CACHE":
                    CacheTable(t);
                    return Empty();
                case "UNCACHE":
                    return Empty(); // the cached data stays readable, as a Spark temp view does after UNCACHE
                case "DROP":
                    Drop(t);
                    return Empty();
                case "SET":
                    return Empty();
                case "DESCRIBE" or "DESC":
                    return Describe(t);
                default:
                    return null;
            }
        }
    }

    /// <summary>A query (<c>plan.root.sql</c>): its rows as Arrow record batches with Spark Connect's types.</summary>
    public List<RecordBatch> Query(string sparkSql)
    {
        lock (_lock)
        {
            return Select(Translate(sparkSql));
        }
    }

    private string Translate(string sparkSql)
    {
        try
        {
            var duck = SparkToDuckDbSql.Translate(sparkSql, ParquetRelation);
            _backend.Translated.Enqueue((sparkSql, duck));
            return duck;
        }
        catch (Exception e) when (e is NotSupportedException or FormatException)
        {
            throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: {e.Message}\n== SQL ==\n{sparkSql}");
        }
    }

    private static string Text(IReadOnlyList<Token> t, int from) => string.Concat(t.Skip(from).Select(x => x.Lead + x.Text));

    // CREATE [OR REPLACE] [GLOBAL] TEMP[ORARY] VIEW [IF NOT EXISTS] name AS query
    private void CreateView(List<Token> t, string sql)
    {
        var i = 1;
        var replace = false;
        if (t[i].Is("OR") && t[i + 1].Is("REPLACE"))
        {
            replace = true;
            i += 2;
        }
        if (t[i].Is("GLOBAL"))
        {
            i++;
        }
        if (t[i].Is("TEMP") || t[i].Is("TEMPORARY"))
        {
            i++;
        }
        if (!t[i].Is("VIEW"))
        {
            throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: only CREATE TEMP VIEW is executed\n== SQL ==\n{sql}");
        }
        i++;
        if (t[i].Is("IF"))
        {
            i += 3;
        }
        var name = t[i].Value;
        if (!t[i + 1].Is("AS"))
        {
            throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: a view with a column list\n== SQL ==\n{sql}");
        }
        if (_kinds.ContainsKey(name) && !replace)
        {
            return; // the strict catalog answered already-exists where Spark would
        }
        DefineView(name, Translate(Text(t, i + 2)));
    }

    private void DefineView(string name, string duckQuery)
    {
        RequireUniqueColumns(duckQuery);
        DropObject(name);
        Run($"CREATE VIEW {SparkToDuckDbSql.Quote(name)} AS {duckQuery}");
        _kinds[name] = "VIEW";
    }

    // CACHE [LAZY] TABLE name [OPTIONS (…)] [AS] query
    private void CacheTable(List<Token> t)
    {
        var i = 1;
        if (t[i].Is("LAZY"))
        {
            i++;
        }
        i++; // TABLE
        var name = t[i++].Value;
        if (i < t.Count && t[i].Is("OPTIONS"))
        {
            i = Close(t, i + 1) + 1;
        }
        if (i >= t.Count)
        {
            return; // caching an existing relation changes nothing readable
        }
        if (t[i].Is("AS"))
        {
            i++;
        }
        var query = Translate(Text(t, i));
        RequireUniqueColumns(query);
        DropObject(name);
        // Eager, like CACHE TABLE … AS: the rows are computed now; the strict catalog keeps Spark's view semantics.
        Run($"CREATE TABLE {SparkToDuckDbSql.Quote(name)} AS {query}");
        _kinds[name] = "TABLE";
    }

    /// <summary>
    /// A view, a cached table and a written table may not have two columns of one name (case-insensitive, as Spark's
    /// analyzer compares them: SchemaUtils.checkColumnNameDuplication); DuckDB would keep both. A query's result may.
    /// </summary>
    private void RequireUniqueColumns(string duckQuery)
    {
        var duplicate = Columns(duckQuery).GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw FakeSparkService.SparkError(StatusCode.Internal, "COLUMN_ALREADY_EXISTS", "42711", "org.apache.spark.sql.AnalysisException",
                $"[COLUMN_ALREADY_EXISTS] The column `{duplicate.Key.ToLowerInvariant()}` already exists. Choose another name or rename the existing column.");
        }
    }

    // DROP VIEW|TABLE [IF EXISTS] name
    private void Drop(List<Token> t)
    {
        var name = t[t[2].Is("IF") ? 4 : 2].Value;
        DropObject(name);
    }

    private void DropObject(string name)
    {
        if (_kinds.Remove(name, out var kind))
        {
            Run($"DROP {kind} IF EXISTS {SparkToDuckDbSql.Quote(name)}");
        }
    }

    // DESCRIBE [QUERY] query: (col_name, data_type, comment) with Spark's type names.
    private byte[] Describe(List<Token> t)
    {
        var from = t.Count > 1 && t[1].Is("QUERY") ? 2 : 1;
        var columns = Columns(Translate(Text(t, from)));
        var names = new StringArray.Builder();
        var types = new StringArray.Builder();
        var comments = new StringArray.Builder();
        foreach (var (name, type) in columns)
        {
            names.Append(name);
            types.Append(SparkTypeName(type));
            comments.AppendNull();
        }
        var schema = new Schema([new Field("col_name", StringType.Default, false), new Field("data_type", StringType.Default, false),
            new Field("comment", StringType.Default, true)], null);
        using var batch = new RecordBatch(schema, [names.Build(), types.Build(), comments.Build()], columns.Count);
        return Ipc(schema, [batch]);
    }

    /// <summary>A DDL command's output: no columns, no rows (one empty batch, as Spark's ArrowConverters send it, so the stream has its schema).</summary>
    private static byte[] Empty()
    {
        var schema = new Schema([], null);
        using var batch = new RecordBatch(schema, [], 0);
        return Ipc(schema, [batch]);
    }

    public static byte[] Ipc(Schema schema, IEnumerable<RecordBatch> batches)
    {
        using var ms = new MemoryStream();
        using (var writer = new ArrowStreamWriter(ms, schema, leaveOpen: true))
        {
            foreach (var b in batches)
            {
                writer.WriteRecordBatch(b);
            }
            writer.WriteEnd();
        }
        return ms.ToArray();
    }

    /// <summary>Spark's name of a DuckDB type (what <c>DESCRIBE QUERY</c> shows).</summary>
    private static string SparkTypeName(string duck) => duck switch
    {
        "BIGINT" or "HUGEINT" or "UBIGINT" or "UINTEGER" => "bigint",
        "INTEGER" or "USMALLINT" => "int",
        "SMALLINT" or "UTINYINT" => "smallint",
        "TINYINT" => "tinyint",
        "DOUBLE" => "double",
        "FLOAT" => "float",
        "VARCHAR" => "string",
        "BOOLEAN" => "boolean",
        "DATE" => "date",
        "TIMESTAMP WITH TIME ZONE" => "timestamp",
        "TIMESTAMP" => "timestamp_ntz",
        "BLOB" => "binary",
        _ when duck.StartsWith("DECIMAL", StringComparison.Ordinal) => duck.ToLowerInvariant().Replace(" ", "", StringComparison.Ordinal),
        _ => throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: no Spark type for DuckDB's {duck}"),
    };

    // ------------------------------------------------------------------ results as Arrow

    private List<(string Name, string Type)> Columns(string duckQuery)
    {
        var columns = new List<(string, string)>();
        Read($"DESCRIBE {duckQuery}", r =>
        {
            while (r.Read())
            {
                columns.Add((r.GetString(0), r.GetString(1)));
            }
        });
        return columns;
    }

    private const int BatchRows = 8192;

    /// <summary>Runs a DuckDB query and returns its rows as Arrow batches typed as Spark Connect sends them.</summary>
    private List<RecordBatch> Select(string duckQuery)
    {
        var columns = Columns(duckQuery);
        var fields = columns.Select(c => new Field(c.Name, ArrowType(c.Type), true)).ToList();
        var schema = new Schema(fields, null);
        var batches = new List<RecordBatch>();
        Read(duckQuery, r =>
        {
            var rows = new List<object?[]>();
            void Flush()
            {
                batches.Add(Batch(schema, rows));
                rows.Clear();
            }
            while (r.Read())
            {
                var row = new object?[r.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
                }
                rows.Add(row);
                if (rows.Count == BatchRows)
                {
                    Flush();
                }
            }
            if (rows.Count > 0 || batches.Count == 0)
            {
                Flush(); // an empty result still carries its schema
            }
        });
        return batches;
    }

    private static readonly TimestampType UtcMicros = new(TimeUnit.Microsecond, "UTC");

    private static IArrowType ArrowType(string duck)
    {
        switch (duck)
        {
            case "BIGINT" or "HUGEINT" or "UBIGINT" or "UINTEGER":
                return Int64Type.Default;
            case "INTEGER" or "USMALLINT":
                return Int32Type.Default;
            case "SMALLINT" or "UTINYINT":
                return Int16Type.Default;
            case "TINYINT":
                return Int8Type.Default;
            case "DOUBLE":
                return DoubleType.Default;
            case "FLOAT":
                return FloatType.Default;
            case "VARCHAR":
                return StringType.Default;
            case "BOOLEAN":
                return BooleanType.Default;
            case "DATE":
                return Date32Type.Default;
            case "TIMESTAMP WITH TIME ZONE":
                return UtcMicros; // Spark's TIMESTAMP: microseconds, the session time zone
            case "TIMESTAMP":
                return new TimestampType(TimeUnit.Microsecond, (string?)null); // TIMESTAMP_NTZ
            case "BLOB":
                return BinaryType.Default;
        }
        var m = DecimalType().Match(duck);
        if (m.Success)
        {
            return new Decimal128Type(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        }
        throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: no Spark/Arrow type for DuckDB's {duck}");
    }

    [GeneratedRegex(@"^DECIMAL\((\d+),\s*(\d+)\)$")]
    private static partial Regex DecimalType();

    private static RecordBatch Batch(Schema schema, List<object?[]> rows)
    {
        var arrays = new List<IArrowArray>();
        for (var c = 0; c < schema.FieldsList.Count; c++)
        {
            var values = rows.Select(r => r[c]).ToList();
            arrays.Add(Array(schema.FieldsList[c].DataType, values));
        }
        return new RecordBatch(schema, arrays, rows.Count);
    }

    private static IArrowArray Array(IArrowType type, List<object?> values)
    {
        switch (type)
        {
            case Int64Type:
                return Build(new Int64Array.Builder(), values, (b, v) => b.Append(Convert.ToInt64(v is System.Numerics.BigInteger big ? (long)big : v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build());
            case Int32Type:
                return Build(new Int32Array.Builder(), values, (b, v) => b.Append(Convert.ToInt32(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build());
            case Int16Type:
                return Build(new Int16Array.Builder(), values, (b, v) => b.Append(Convert.ToInt16(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build());
            case Int8Type:
                return Build(new Int8Array.Builder(), values, (b, v) => b.Append(Convert.ToSByte(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build());
            case DoubleType:
                return Build(new DoubleArray.Builder(), values, (b, v) => b.Append(Convert.ToDouble(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build());
            case FloatType:
                return Build(new FloatArray.Builder(), values, (b, v) => b.Append(Convert.ToSingle(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build());
            case StringType:
                return Build(new StringArray.Builder(), values, (b, v) => b.Append((string)v), b => b.AppendNull(), b => b.Build());
            case BooleanType:
                return Build(new BooleanArray.Builder(), values, (b, v) => b.Append((bool)v), b => b.AppendNull(), b => b.Build());
            case Date32Type:
                return Build(new Date32Array.Builder(), values, (b, v) => b.Append(v is DateOnly d ? d : DateOnly.FromDateTime((DateTime)v)), b => b.AppendNull(), b => b.Build());
            case TimestampType ts:
                return Build(new TimestampArray.Builder(ts), values, (b, v) => b.Append(v switch
                {
                    DateTimeOffset o => o,
                    DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, DateTimeKind.Utc)),
                    _ => throw new InvalidCastException(v.GetType().Name),
                }), b => b.AppendNull(), b => b.Build());
            case BinaryType:
                return Build(new BinaryArray.Builder(), values, (b, v) => b.Append(v switch
                {
                    byte[] bytes => bytes,
                    Stream s => ReadAll(s),
                    _ => throw new InvalidCastException(v.GetType().Name),
                }), b => b.AppendNull(), b => b.Build());
            case Decimal128Type d:
                return Build(new Decimal128Array.Builder(d), values, (b, v) => b.Append(Convert.ToDecimal(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build());
            default:
                throw new NotSupportedException(type.Name);
        }
    }

    private static byte[] ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    private static IArrowArray Build<TBuilder>(TBuilder builder, List<object?> values, Action<TBuilder, object> append, Action<TBuilder> appendNull, Func<TBuilder, IArrowArray> build)
    {
        foreach (var v in values)
        {
            if (v is null)
            {
                appendNull(builder);
            }
            else
            {
                append(builder, v);
            }
        }
        return build(builder);
    }

    // ------------------------------------------------------------------ DuckDB

    private void Run(string duckSql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = duckSql;
        Execute(duckSql, () => cmd.ExecuteNonQuery());
    }

    private void Read(string duckSql, Action<DuckDBDataReader> read)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = duckSql;
        Execute(duckSql, () =>
        {
            using var reader = cmd.ExecuteReader();
            read(reader);
            return 0;
        });
    }

    private static void Execute(string duckSql, Func<int> action)
    {
        try
        {
            action();
        }
        catch (DuckDBException e) when (e.Message.Contains("[DIVIDE_BY_ZERO]", StringComparison.Ordinal))
        {
            throw FakeSparkService.SparkError(StatusCode.Internal, "DIVIDE_BY_ZERO", "22012", "org.apache.spark.SparkArithmeticException", SparkToDuckDbSql.DivideByZero);
        }
        catch (DuckDBException e)
        {
            throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: DuckDB failed: {e.Message}\n== DuckDB SQL ==\n{duckSql}");
        }
    }

    // ------------------------------------------------------------------ files

    /// <summary>A <c>parquet.`path`</c> relation: a directory's Parquet files (Hive partition columns from the folder names), or one file.</summary>
    private string ParquetRelation(string uri)
    {
        var path = LocalPath(uri);
        if (File.Exists(path))
        {
            return $"read_parquet({SparkToDuckDbSql.Literal(path)})";
        }
        if (!Directory.Exists(path) || !DataFiles(path).Any())
        {
            // Spark: a missing path is PATH_NOT_FOUND, a directory without data files cannot have its schema inferred.
            throw Directory.Exists(path)
                ? FakeSparkService.SparkError(StatusCode.Internal, "UNABLE_TO_INFER_SCHEMA", "42KD9", "org.apache.spark.sql.AnalysisException",
                    $"[UNABLE_TO_INFER_SCHEMA] Unable to infer schema for Parquet at {uri}. It must be specified manually.")
                : FakeSparkService.SparkError(StatusCode.Internal, "PATH_NOT_FOUND", "42K03", "org.apache.spark.sql.AnalysisException",
                    $"[PATH_NOT_FOUND] Path does not exist: {uri}.");
        }
        // Spark skips files and folders whose names start with '_' or '.' (_SUCCESS, .crc, _staging), and discovers
        // partition columns from the folders BELOW the path it reads only: reading `t/as_of=2024-06-30` has no as_of
        // column (DuckDB's hive_partitioning would take it from the path as a whole, so it is on only when the folders
        // below hold partitions and the path itself names none).
        var files = DataFiles(path).ToList();
        var partitioned = files.Any(f => Path.GetRelativePath(path, f).Contains('=', StringComparison.Ordinal));
        if (partitioned && path.Split(Path.DirectorySeparatorChar).Any(p => p.Contains('=', StringComparison.Ordinal)))
        {
            throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: partitions below a partition folder ({path})");
        }
        return $"read_parquet([{string.Join(", ", files.Select(SparkToDuckDbSql.Literal))}], hive_partitioning = {(partitioned ? "true" : "false")}, union_by_name = true)";
    }

    private static IEnumerable<string> DataFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(directory, f).Split(Path.DirectorySeparatorChar).Any(p => p.StartsWith('_') || p.StartsWith('.')))
            .Order(StringComparer.Ordinal);

    private static string LocalPath(string uri) =>
        uri.StartsWith("file:", StringComparison.Ordinal) ? new Uri(uri).LocalPath : uri;
}
