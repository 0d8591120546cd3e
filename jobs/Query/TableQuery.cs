using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using CsvHelper;
using Pipeline.Core;
using Pipeline.Engine;
using Pipeline.Engine.DuckDb;
using Pipeline.Exports;
using Pipeline.Publishing;
using Pipeline.Stages;

namespace Pipeline.Query;

/// <summary>How <c>pipeline query</c> prints its result.</summary>
public enum QueryFormat
{
    /// <summary>An aligned text table with a header; numbers right-aligned, NULL printed as <c>NULL</c>.</summary>
    Table,
    /// <summary>RFC 4180 CSV with a header row (CRLF line ends); NULL is an empty field.</summary>
    Csv,
    /// <summary>One JSON object per row; NULL is <c>null</c>, numbers are JSON numbers (decimals exact).</summary>
    Jsonl,
}

/// <summary>
/// <c>pipeline query</c>: one read-only SQL query over the published tables of an output directory, with the embedded
/// DuckDB. Every published table that holds Parquet is a view named by its path with <c>/</c> → <c>_</c>
/// (<c>clean/orders</c> → <c>clean_orders</c>), Hive partition columns included. Read-only twice over: the statement
/// must be one SELECT/WITH/FROM/VALUES/SHOW/DESCRIBE/SUMMARIZE/EXPLAIN query (checked with comments and literals
/// stripped), and DuckDB itself is then closed to every file outside the output directory, to extensions and to
/// configuration changes before the query runs.
/// </summary>
public static class TableQuery
{
    /// <summary>The view name of a published table: <c>clean/orders</c> → <c>clean_orders</c>.</summary>
    public static string ViewName(string table) => table.Replace('/', '_');

    /// <summary>The view names of every table published as Parquet (declared with columns; the report and model files are not).</summary>
    public static IReadOnlyList<string> QueryableViews { get; } = StageRegistry.Tables.Where(t => t.Columns.Count > 0).Select(t => ViewName(t.Name)).ToList();

    /// <summary>The statements a query may start with.</summary>
    public static readonly IReadOnlyList<string> AllowedStatements = ["SELECT", "WITH", "FROM", "VALUES", "TABLE", "SHOW", "DESCRIBE", "DESC", "SUMMARIZE", "EXPLAIN", "PIVOT", "UNPIVOT"];

    /// <summary>Words that never occur in a read-only query (outside literals and quoted identifiers).</summary>
    private static readonly HashSet<string> Forbidden = new(StringComparer.OrdinalIgnoreCase)
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "TRUNCATE", "COPY", "ATTACH", "DETACH", "CREATE", "DROP", "ALTER", "INSTALL", "LOAD",
        "PRAGMA", "SET", "RESET", "EXPORT", "IMPORT", "CALL", "CHECKPOINT", "VACUUM", "USE", "GRANT", "REVOKE", "BEGIN", "COMMIT", "ROLLBACK",
        "PREPARE", "EXECUTE", "DEALLOCATE",
    };

    private static string Refusal(string what) =>
        $"pipeline query is read-only: {what}; allowed is one {string.Join("/", AllowedStatements.Where(s => s is not ("DESC" or "TABLE" or "PIVOT" or "UNPIVOT")))} query";

    /// <summary>
    /// Refuses (exit 2) anything but one read-only query: the SQL with comments, string literals and quoted identifiers
    /// blanked must hold one statement, start with an allowed keyword, and contain none of the writing keywords.
    /// </summary>
    public static void CheckReadOnly(string sql)
    {
        var code = StripLiterals(sql).Trim().TrimEnd(';').Trim();
        if (code.Length == 0)
        {
            throw PipelineException.Config(Refusal("the query is empty"));
        }
        if (code.Contains(';', StringComparison.Ordinal))
        {
            throw PipelineException.Config(Refusal("it holds more than one statement"));
        }
        var words = Regex.Matches(code, @"[A-Za-z_][A-Za-z0-9_$]*").Select(m => m.Value).ToList();
        var first = code.TrimStart('(', ' ', '\t', '\r', '\n');
        var firstWord = Regex.Match(first, @"^[A-Za-z_]+").Value.ToUpperInvariant();
        if (!AllowedStatements.Contains(firstWord))
        {
            throw PipelineException.Config(Refusal(firstWord.Length == 0 ? "the statement is not a query" : $"{firstWord} is not allowed"));
        }
        if (words.FirstOrDefault(w => Forbidden.Contains(w)) is { } bad)
        {
            throw PipelineException.Config(Refusal($"{bad.ToUpperInvariant()} is not allowed"));
        }
    }

    /// <summary>The SQL with comments removed and string literals, dollar-quoted strings and quoted identifiers blanked (their length kept).</summary>
    internal static string StripLiterals(string sql)
    {
        var sb = new StringBuilder(sql.Length);
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                while (i < sql.Length && sql[i] != '\n')
                {
                    i++;
                }
                sb.Append(' ');
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
                sb.Append(' ');
            }
            else if (c is '\'' or '"')
            {
                // Quoted until the next unescaped quote (a doubled quote is an escaped one); unterminated runs to the end.
                i++;
                while (i < sql.Length && !(sql[i] == c && (i + 1 >= sql.Length || sql[i + 1] != c)))
                {
                    i += sql[i] == c ? 2 : 1;
                }
                i++;
                sb.Append(c == '"' ? " x " : " '' ");
            }
            else if (c == '$' && Regex.Match(sql[i..], @"^\$[A-Za-z_]*\$") is { Success: true } tag)
            {
                var end = sql.IndexOf(tag.Value, i + tag.Length, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + tag.Length;
                sb.Append(" '' ");
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }
        return sb.ToString();
    }

    /// <summary>The published tables of an output directory that hold Parquet, as (view name, table directory).</summary>
    public static IReadOnlyList<(string View, string Table, string Directory)> PublishedTables(string outputDir)
    {
        var store = new OutputStore(outputDir);
        return StageRegistry.Tables
            .Where(t => t.Columns.Count > 0)
            .Where(t => store.PublishedBy(t.Name) is not null && OutputStore.HasParquet(Path.Combine(store.Root, t.Name)))
            .Select(t => (ViewName(t.Name), t.Name, Path.Combine(store.Root, t.Name)))
            .ToList();
    }

    /// <summary>
    /// Runs <paramref name="sql"/> over the published tables of <paramref name="outputDir"/> and prints the result to
    /// <paramref name="output"/>; returns the number of rows. Refused statements and SQL errors are exit 2, a directory
    /// without published tables exit 3.
    /// </summary>
    public static long Run(string outputDir, string sql, QueryFormat format, TextWriter output, DuckDbOptions? options = null)
    {
        CheckReadOnly(sql);
        var root = Path.GetFullPath(outputDir);
        var tables = Directory.Exists(root) ? PublishedTables(root) : [];
        if (tables.Count == 0)
        {
            throw PipelineException.Input($"no published tables in {root}: run the pipeline first (pipeline run -c <config>), or point --output at its output directory");
        }
        using var engine = new DuckDbEngine(options ?? new DuckDbOptions());
        foreach (var (view, _, dir) in tables)
        {
            engine.Execute($"CREATE VIEW {engine.Dialect.Id(view)} AS SELECT * FROM {engine.ParquetRelation(dir)}");
        }
        // Defence in depth: from here on DuckDB opens no file outside the output directory, loads no extension, and
        // refuses any change of these settings.
        engine.Execute($"SET allowed_directories = [{engine.Dialect.Str(root + Path.DirectorySeparatorChar)}]");
        engine.Execute("SET autoinstall_known_extensions = false");
        engine.Execute("SET autoload_known_extensions = false");
        engine.Execute("SET enable_external_access = false");
        engine.Execute("SET lock_configuration = true");
        long rows = 0;
        try
        {
            engine.Read(sql, reader => rows = Print(reader, format, output));
        }
        catch (EngineException e)
        {
            // The user's query is what is wrong (unknown table or column, syntax, a refused file): a usage error.
            throw new PipelineException(ExitCodes.UsageOrConfig, e.Message, e);
        }
        return rows;
    }

    private static long Print(DbDataReader reader, QueryFormat format, TextWriter output) => format switch
    {
        QueryFormat.Csv => PrintCsv(reader, output),
        QueryFormat.Jsonl => PrintJsonl(reader, output),
        _ => PrintTable(reader, output),
    };

    private static List<string> Names(DbDataReader reader) => Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();

    // ---- table ----------------------------------------------------------------------------------------------------

    private static long PrintTable(DbDataReader reader, TextWriter output)
    {
        var names = Names(reader);
        var numeric = Enumerable.Range(0, reader.FieldCount).Select(i => IsNumeric(reader.GetFieldType(i))).ToArray();
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "NULL" : Text(reader.GetValue(i))).ToArray());
        }
        var widths = names.Select((n, i) => Math.Max(n.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        string Line(IReadOnlyList<string> cells) => string.Join("  ", cells.Select((c, i) => numeric[i] ? c.PadLeft(widths[i]) : c.PadRight(widths[i]))).TrimEnd();
        output.WriteLine(Line(names));
        output.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in rows)
        {
            output.WriteLine(Line(row));
        }
        output.WriteLine(rows.Count == 1 ? "(1 row)" : $"({rows.Count} rows)");
        return rows.Count;
    }

    private static bool IsNumeric(Type type) =>
        type == typeof(byte) || type == typeof(sbyte) || type == typeof(short) || type == typeof(ushort) || type == typeof(int) || type == typeof(uint)
        || type == typeof(long) || type == typeof(ulong) || type == typeof(float) || type == typeof(double) || type == typeof(decimal)
        || type == typeof(System.Numerics.BigInteger) || type == typeof(Int128) || type == typeof(UInt128) || type == typeof(Half);

    /// <summary>A value as text, invariant culture: decimals exactly, doubles round-trippable, timestamps ISO-like.</summary>
    internal static string Text(object value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        decimal d => d.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture),
        DateTimeOffset o => o.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFzzz", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        TimeOnly t => t.ToString("HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture),
        TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
        byte[] bytes => "\\x" + Convert.ToHexString(bytes),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable or System.Collections.IDictionary => JsonSerializer.Serialize(value, JsonOptions),
        _ => value.ToString() ?? "",
    };

    private static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    // ---- csv ------------------------------------------------------------------------------------------------------

    private static long PrintCsv(DbDataReader reader, TextWriter output)
    {
        long rows = 0;
        using var csv = CsvWriter.Create(output, CsvFormat.Options, leaveOpen: true);
        foreach (var name in Names(reader))
        {
            csv.WriteField(name);
        }
        csv.EndRecord();
        while (reader.Read())
        {
            for (var i = 0; i < reader.FieldCount; i++)
            {
                csv.WriteField(reader.IsDBNull(i) ? "" : Text(reader.GetValue(i)));
            }
            csv.EndRecord();
            rows++;
        }
        csv.Flush();
        return rows;
    }

    // ---- jsonl ----------------------------------------------------------------------------------------------------

    private static long PrintJsonl(DbDataReader reader, TextWriter output)
    {
        var names = Names(reader);
        long rows = 0;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        while (reader.Read())
        {
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                json.WriteStartObject();
                for (var i = 0; i < names.Count; i++)
                {
                    json.WritePropertyName(names[i]);
                    WriteJson(json, reader.IsDBNull(i) ? null : reader.GetValue(i));
                }
                json.WriteEndObject();
            }
            output.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
            rows++;
        }
        return rows;
    }

    private static void WriteJson(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null or DBNull:
                json.WriteNullValue();
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case decimal d:
                json.WriteNumberValue(d);
                break;
            case double d when double.IsFinite(d):
                json.WriteNumberValue(d);
                break;
            case float f when float.IsFinite(f):
                json.WriteNumberValue(f);
                break;
            case byte or sbyte or short or ushort or int or uint or long or ulong or System.Numerics.BigInteger or Int128 or UInt128:
                json.WriteRawValue(Text(value));
                break;
            case string or DateTime or DateTimeOffset or DateOnly or TimeOnly or TimeSpan or byte[] or double or float or Guid:
                json.WriteStringValue(Text(value));
                break;
            case System.Collections.IDictionary map:
                json.WriteStartObject();
                foreach (System.Collections.DictionaryEntry e in map)
                {
                    json.WritePropertyName(Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "");
                    WriteJson(json, e.Value);
                }
                json.WriteEndObject();
                break;
            case System.Collections.IEnumerable list:
                json.WriteStartArray();
                foreach (var item in list)
                {
                    WriteJson(json, item);
                }
                json.WriteEndArray();
                break;
            default:
                json.WriteStringValue(Text(value));
                break;
        }
    }
}
