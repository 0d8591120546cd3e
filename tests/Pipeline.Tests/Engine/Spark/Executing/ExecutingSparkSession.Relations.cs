using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using Pipeline.Engine.Spark.Protocol;

namespace Pipeline.Tests.Engine.Spark.Executing;

/// <summary>The executing fake's temp views over files and uploads, and its writes.</summary>
internal sealed partial class ExecutingSparkSession
{
    // ------------------------------------------------------------------ CreateDataFrameViewCommand

    /// <summary>A temp view over a relation: files (Read.DataSource, optionally projected), uploaded Arrow (LocalRelation), SQL, a named table.</summary>
    public void CreateView(string name, bool replace, Relation input)
    {
        lock (_lock)
        {
            if (_kinds.ContainsKey(name) && !replace)
            {
                return; // the strict catalog answered already-exists where Spark would
            }
            switch (input.RelTypeCase)
            {
                case Relation.RelTypeOneofCase.LocalRelation:
                    LoadArrow(name, input.LocalRelation.Data.ToByteArray());
                    break;
                case Relation.RelTypeOneofCase.Read when input.Read.ReadTypeCase == Pipeline.Engine.Spark.Protocol.Read.ReadTypeOneofCase.DataSource:
                    LoadFiles(name, input.Read.DataSource, ["*"]);
                    break;
                case Relation.RelTypeOneofCase.Project when input.Project.Input.RelTypeCase == Relation.RelTypeOneofCase.Read
                                                            && input.Project.Input.Read.ReadTypeCase == Pipeline.Engine.Spark.Protocol.Read.ReadTypeOneofCase.DataSource:
                    LoadFiles(name, input.Project.Input.Read.DataSource, [.. input.Project.Expressions.Select(ExpressionText)]);
                    break;
                case Relation.RelTypeOneofCase.Sql:
                    DefineView(name, Translate(input.Sql.Query));
                    break;
                case Relation.RelTypeOneofCase.Read when input.Read.ReadTypeCase == Pipeline.Engine.Spark.Protocol.Read.ReadTypeOneofCase.NamedTable:
                    DefineView(name, "SELECT * FROM " + SparkToDuckDbSql.Quote(input.Read.NamedTable.UnparsedIdentifier.Trim('`')));
                    break;
                default:
                    throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: a view over a {input.RelTypeCase} relation");
            }
        }
    }

    private static string ExpressionText(Expression e) =>
        e.ExprTypeCase == Expression.ExprTypeOneofCase.ExpressionString
            ? e.ExpressionString.Expression
            : throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: a {e.ExprTypeCase} expression in a projection");

    /// <summary>An uploaded Arrow IPC stream as a table with the matching DuckDB types.</summary>
    private void LoadArrow(string name, byte[] ipc)
    {
        using var reader = new ArrowStreamReader(new MemoryStream(ipc));
        var batches = new List<RecordBatch>();
        while (reader.ReadNextRecordBatch() is { } batch)
        {
            batches.Add(batch);
        }
        var schema = reader.Schema;
        try
        {
            var columns = schema.FieldsList.Select(f => (f.Name, Type: DuckType(f.DataType))).ToList();
            var table = NewTable(name, columns);
            using var appender = _db.CreateAppender(table);
            foreach (var batch in batches)
            {
                for (var r = 0; r < batch.Length; r++)
                {
                    var row = appender.CreateRow();
                    for (var c = 0; c < batch.ColumnCount; c++)
                    {
                        Append(row, Pipeline.Engine.Spark.ArrowRows.Value(batch.Column(c), r));
                    }
                    row.EndRow();
                }
            }
        }
        finally
        {
            foreach (var b in batches)
            {
                b.Dispose();
            }
        }
    }

    private static string DuckType(IArrowType type) => type switch
    {
        StringType or LargeStringType => "VARCHAR",
        Int64Type => "BIGINT",
        Int32Type => "INTEGER",
        Int16Type => "SMALLINT",
        Int8Type => "TINYINT",
        DoubleType => "DOUBLE",
        FloatType => "FLOAT",
        BooleanType => "BOOLEAN",
        Date32Type => "DATE",
        TimestampType { Timezone: not null } => "TIMESTAMPTZ",
        TimestampType => "TIMESTAMP",
        BinaryType => "BLOB",
        Decimal128Type d => $"DECIMAL({d.Precision},{d.Scale})",
        _ => throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: an uploaded column of Arrow type {type.Name}"),
    };

    private static void Append(IDuckDBAppenderRow row, object? value)
    {
        switch (value)
        {
            case null:
                row.AppendNullValue();
                break;
            case string s:
                row.AppendValue(s);
                break;
            case long l:
                row.AppendValue((long?)l);
                break;
            case int i:
                row.AppendValue((int?)i);
                break;
            case short s:
                row.AppendValue((short?)s);
                break;
            case sbyte b:
                row.AppendValue((sbyte?)b);
                break;
            case double d:
                row.AppendValue((double?)d);
                break;
            case float f:
                row.AppendValue((float?)f);
                break;
            case bool b:
                row.AppendValue((bool?)b);
                break;
            case decimal m:
                row.AppendValue((decimal?)m);
                break;
            case DateOnly d:
                row.AppendValue((DateOnly?)d);
                break;
            case DateTimeOffset o:
                row.AppendValue((DateTime?)o.UtcDateTime);
                break;
            case byte[] bytes:
                row.AppendValue(bytes);
                break;
            default:
                throw new NotSupportedException($"executing fake: cannot load a {value.GetType().Name}");
        }
    }

    /// <summary>Creates (replacing) a table with these columns; returns its name.</summary>
    private string NewTable(string name, IReadOnlyList<(string Name, string Type)> columns)
    {
        DropObject(name);
        Run($"CREATE TABLE {SparkToDuckDbSql.Quote(name)} ({string.Join(", ", columns.Select(c => $"{SparkToDuckDbSql.Quote(c.Name)} {c.Type}"))})");
        _kinds[name] = "TABLE";
        return name;
    }

    // ------------------------------------------------------------------ Read.DataSource

    /// <summary>The reader options the executing fake implements (keys lower case); any other option fails the read.</summary>
    private static readonly HashSet<string> KnownOptions =
    [
        "header", "sep", "delimiter", "quote", "escape", "mode", "columnnameofcorruptrecord", "multiline", "enforceschema", "encoding",
    ];

    private void LoadFiles(string name, Pipeline.Engine.Spark.Protocol.Read.Types.DataSource source, IReadOnlyList<string> select)
    {
        var options = source.Options.ToDictionary(o => o.Key.ToLowerInvariant(), o => o.Value, StringComparer.Ordinal);
        if (options.Keys.FirstOrDefault(k => !KnownOptions.Contains(k)) is { } unknown)
        {
            throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: the reader option {unknown} is not implemented");
        }
        var files = source.Paths.SelectMany(p =>
        {
            var path = LocalPath(p);
            return Directory.Exists(path) ? DataFiles(path) : [path];
        }).ToList();
        foreach (var f in files.Where(f => !File.Exists(f)))
        {
            throw FakeSparkService.SparkError(Grpc.Core.StatusCode.Internal, "PATH_NOT_FOUND", "42K03", "org.apache.spark.sql.AnalysisException",
                $"[PATH_NOT_FOUND] Path does not exist: file:{f}.");
        }
        var format = source.Format.ToLowerInvariant();
        if (format == "parquet")
        {
            LoadParquet(name, files, select);
            return;
        }
        var schema = SparkToDuckDbSql.DdlFields(source.Schema);
        var extras = Extras(select, format);
        var columns = schema.Select(c => (c, "VARCHAR")).Concat(extras.Select(e => (e.Alias, e.Type))).ToList();
        var table = NewTable(name, columns);
        using var appender = _db.CreateAppender(table);
        long scanId = 0;
        foreach (var file in files)
        {
            var records = format switch
            {
                "text" => ReadText(file).Select(line => (IReadOnlyList<string?>)[line]),
                "csv" => ReadCsv(file, options, schema),
                _ => throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: the {format} reader is not implemented"),
            };
            foreach (var record in records)
            {
                var row = appender.CreateRow();
                foreach (var value in record)
                {
                    Append(row, value);
                }
                foreach (var (_, metadata, _) in extras)
                {
                    Append(row, metadata switch
                    {
                        "file_path" => "file:" + file,
                        "file_block_start" => 0L, // one split per file (Spark: multiLine CSV and gzip files are not split)
                        "id" => scanId,
                        "file_name" => Path.GetFileName(file),
                        _ => throw new InvalidOperationException(metadata),
                    });
                }
                row.EndRow();
                scanId++;
            }
        }
    }

    /// <summary>The projected expressions besides <c>*</c>: the file metadata and a scan-order id.</summary>
    private static List<(string Alias, string Metadata, string Type)> Extras(IReadOnlyList<string> select, string format)
    {
        var extras = new List<(string, string, string)>();
        foreach (var expression in select.Where(e => e.Trim() != "*"))
        {
            var m = MetadataExpression().Match(expression.Trim());
            if (!m.Success)
            {
                throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: the projection {expression} over a {format} read");
            }
            var metadata = m.Groups[1].Success ? m.Groups[1].Value.ToLowerInvariant() : "id";
            extras.Add((m.Groups[3].Value, metadata, metadata is "file_path" or "file_name" ? "VARCHAR" : "BIGINT"));
        }
        return extras;
    }

    [GeneratedRegex(@"^(?:_metadata\.(file_path|file_block_start|file_name)|(monotonically_increasing_id\(\)))\s+AS\s+([A-Za-z_][A-Za-z0-9_]*)$", RegexOptions.IgnoreCase)]
    private static partial Regex MetadataExpression();

    /// <summary>A file's text: gunzipped by extension (Hadoop's codec), invalid UTF-8 as U+FFFD (Java's decoder), a UTF-8 BOM skipped.</summary>
    private static string FileText(string file)
    {
        using var stream = File.OpenRead(file);
        using Stream data = file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionMode.Decompress) : stream;
        using var reader = new StreamReader(data, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false);
        var text = reader.ReadToEnd();
        return text.StartsWith('\uFEFF') ? text[1..] : text;
    }

    /// <summary>Spark's text source: one row per line (LF, CRLF or CR), the last line without a terminator included, no trailing empty row.</summary>
    internal static IEnumerable<string> ReadText(string file)
    {
        var text = FileText(file);
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] is '\n' or '\r')
            {
                yield return text[start..i];
                if (text[i] == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < text.Length)
        {
            yield return text[start..];
        }
    }

    /// <summary>
    /// Spark's CSV source as the Spark engine configures it (multiLine, PERMISSIVE with a corrupt-record column,
    /// <c>escape</c> = <c>quote</c>): records split on line breaks outside quotes, blank lines skipped, the first record
    /// the header; a field is NULL when empty (quoted or not: Spark's nullValue ""); a record whose field count is not
    /// the schema's keeps the fields it has and its text in the corrupt-record column. Emulated: univocity's handling of
    /// stray quotes inside unquoted fields and of unclosed quotes is approximated (the record then runs to the end of
    /// the file, as univocity reads it).
    /// </summary>
    internal static IEnumerable<IReadOnlyList<string?>> ReadCsv(string file, IReadOnlyDictionary<string, string> options, IReadOnlyList<string> schema)
    {
        var sep = (options.GetValueOrDefault("sep") ?? options.GetValueOrDefault("delimiter") ?? ",")[0];
        var quote = (options.GetValueOrDefault("quote") ?? "\"")[0];
        var escape = (options.GetValueOrDefault("escape") ?? "\\")[0];
        var header = string.Equals(options.GetValueOrDefault("header"), "true", StringComparison.OrdinalIgnoreCase);
        var corrupt = options.GetValueOrDefault("columnnameofcorruptrecord");
        if (options.TryGetValue("mode", out var mode) && !string.Equals(mode, "PERMISSIVE", StringComparison.OrdinalIgnoreCase))
        {
            throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: CSV mode {mode}");
        }
        var dataColumns = schema.Count(c => !string.Equals(c, corrupt, StringComparison.Ordinal));
        var text = FileText(file);
        var first = true;
        foreach (var (fields, raw) in CsvRecords(text, sep, quote, escape))
        {
            if (fields.Count == 1 && fields[0] is null && raw.Trim().Length == 0)
            {
                continue; // a blank line
            }
            if (first && header)
            {
                first = false;
                continue;
            }
            first = false;
            var malformed = fields.Count != dataColumns;
            var row = new List<string?>();
            var k = 0;
            foreach (var column in schema)
            {
                if (string.Equals(column, corrupt, StringComparison.Ordinal))
                {
                    row.Add(malformed ? raw : null);
                }
                else
                {
                    row.Add(k < fields.Count ? fields[k] : null);
                    k++;
                }
            }
            yield return row;
        }
    }

    /// <summary>The records of a CSV text: fields (NULL for empty ones) and the record's raw text without its line break.</summary>
    private static IEnumerable<(List<string?> Fields, string Raw)> CsvRecords(string text, char sep, char quote, char escape)
    {
        var i = 0;
        while (i < text.Length)
        {
            var start = i;
            var fields = new List<string?>();
            var field = new StringBuilder();
            var quoted = false;
            var inQuotes = false;
            var end = text.Length;
            var next = text.Length;
            while (i < text.Length)
            {
                var c = text[i];
                if (inQuotes)
                {
                    if (c == escape && escape == quote && i + 1 < text.Length && text[i + 1] == quote)
                    {
                        field.Append(quote);
                        i += 2;
                    }
                    else if (c == escape && escape != quote && i + 1 < text.Length && text[i + 1] == quote)
                    {
                        field.Append(quote);
                        i += 2;
                    }
                    else if (c == quote)
                    {
                        inQuotes = false;
                        i++;
                    }
                    else
                    {
                        field.Append(c);
                        i++;
                    }
                    continue;
                }
                if (c == quote && field.Length == 0 && !quoted)
                {
                    inQuotes = true;
                    quoted = true;
                    i++;
                }
                else if (c == sep)
                {
                    fields.Add(field.Length == 0 ? null : field.ToString());
                    field.Clear();
                    quoted = false;
                    i++;
                }
                else if (c is '\n' or '\r')
                {
                    end = i;
                    next = c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? i + 2 : i + 1;
                    break;
                }
                else
                {
                    field.Append(c);
                    i++;
                }
            }
            fields.Add(field.Length == 0 ? null : field.ToString());
            yield return (fields, text[start..Math.Min(end, text.Length)]);
            i = next;
        }
    }

    /// <summary>Parquet files with their own schema, plus the projected metadata (file path, row number as the scan id).</summary>
    private void LoadParquet(string name, IReadOnlyList<string> files, IReadOnlyList<string> select)
    {
        var extras = Extras(select, "parquet");
        var list = "[" + string.Join(", ", files.Select(SparkToDuckDbSql.Literal)) + "]";
        var projected = string.Join("", extras.Select(e => ", " + e.Metadata switch
        {
            "file_path" => "'file:' || filename",
            "file_block_start" => "CAST(0 AS BIGINT)",
            "file_name" => "parse_filename(filename)",
            _ => "CAST(row_number() OVER () - 1 AS BIGINT)",
        } + " AS " + SparkToDuckDbSql.Quote(e.Alias)));
        DropObject(name);
        Run($"CREATE TABLE {SparkToDuckDbSql.Quote(name)} AS SELECT * EXCLUDE (filename){projected} FROM read_parquet({list}, filename = true, union_by_name = true)");
        _kinds[name] = "TABLE";
    }

    // ------------------------------------------------------------------ WriteOperation

    /// <summary>
    /// A Parquet write in Spark's layout: <c>part-00000-&lt;uuid&gt;-c000.zstd.parquet</c> files, Hive partition folders
    /// (<c>col=value</c>, the column not in the files), an empty unpartitioned result still one file with the schema;
    /// mode overwrite replaces the folder, or with <c>partitionOverwriteMode=dynamic</c> only the partitions written;
    /// append adds files; a <c>_SUCCESS</c> marker unless <c>mapreduce.fileoutputcommitter.marksuccessfuljobs=false</c>.
    /// </summary>
    public void Write(WriteOperation write)
    {
        lock (_lock)
        {
            if (!string.Equals(write.Source, "parquet", StringComparison.OrdinalIgnoreCase) || write.SaveTypeCase != WriteOperation.SaveTypeOneofCase.Path)
            {
                throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: only Parquet writes to a path ({write.Source}, {write.SaveTypeCase})");
            }
            if (write.Input.RelTypeCase != Relation.RelTypeOneofCase.Sql)
            {
                throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: a write of a {write.Input.RelTypeCase} relation");
            }
            var options = write.Options.ToDictionary(o => o.Key, o => o.Value, StringComparer.OrdinalIgnoreCase);
            var compression = options.GetValueOrDefault("compression", "snappy").ToLowerInvariant();
            if (compression is not ("zstd" or "snappy" or "gzip" or "none" or "uncompressed"))
            {
                throw ExecutingSparkBackend.Failure("INTERNAL_ERROR", "XX000", $"executing fake: compression {compression}");
            }
            var dynamic = string.Equals(options.GetValueOrDefault("partitionOverwriteMode"), "dynamic", StringComparison.OrdinalIgnoreCase);
            var marker = !string.Equals(options.GetValueOrDefault("mapreduce.fileoutputcommitter.marksuccessfuljobs"), "false", StringComparison.OrdinalIgnoreCase);
            var directory = LocalPath(write.Path);
            var partitions = write.PartitioningColumns.ToList();
            var query = Translate(write.Input.Sql.Query);
            RequireUniqueColumns(query);
            var staged = $"_write_{++_counter}";
            Run($"CREATE TABLE {staged} AS {query}");
            try
            {
                var exists = Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any();
                switch (write.Mode)
                {
                    case WriteOperation.Types.SaveMode.ErrorIfExists when exists:
                        throw FakeSparkService.SparkError(Grpc.Core.StatusCode.Internal, "PATH_ALREADY_EXISTS", "42K04", "org.apache.spark.sql.AnalysisException",
                            $"[PATH_ALREADY_EXISTS] Path {write.Path} already exists.");
                    case WriteOperation.Types.SaveMode.Ignore when exists:
                        return;
                    case WriteOperation.Types.SaveMode.Overwrite when !(dynamic && partitions.Count > 0):
                        if (Directory.Exists(directory))
                        {
                            Directory.Delete(directory, recursive: true);
                        }
                        break;
                }
                Directory.CreateDirectory(directory);
                var codec = compression is "none" or "uncompressed" ? "uncompressed" : compression;
                var suffix = codec == "uncompressed" ? "" : "." + codec;
                var uuid = Guid.NewGuid().ToString("D");
                if (partitions.Count == 0)
                {
                    Run($"COPY {staged} TO {SparkToDuckDbSql.Literal(Path.Combine(directory, $"part-00000-{uuid}-c000{suffix}.parquet"))} (FORMAT PARQUET, COMPRESSION {codec})");
                }
                else
                {
                    WritePartitions(staged, directory, partitions, write.Mode == WriteOperation.Types.SaveMode.Overwrite, codec, suffix, uuid);
                }
                if (marker)
                {
                    File.WriteAllBytes(Path.Combine(directory, "_SUCCESS"), []);
                }
            }
            finally
            {
                Run($"DROP TABLE IF EXISTS {staged}");
            }
        }
    }

    private void WritePartitions(string staged, string directory, IReadOnlyList<string> partitions, bool overwrite, string codec, string suffix, string uuid)
    {
        var columns = partitions.Select(SparkToDuckDbSql.Quote).ToList();
        var values = new List<object?[]>();
        Read($"SELECT DISTINCT {string.Join(", ", columns.Select(c => $"CAST({c} AS VARCHAR)"))} FROM {staged} ORDER BY ALL", r =>
        {
            while (r.Read())
            {
                values.Add([.. Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? null : r.GetValue(i))]);
            }
        });
        var n = 0;
        foreach (var value in values)
        {
            // Spark's folder names: col=value, NULL as __HIVE_DEFAULT_PARTITION__, special characters %-escaped.
            var folder = Path.Combine([directory, .. partitions.Select((p, i) => $"{p}={(value[i] is string v ? Escape(v) : "__HIVE_DEFAULT_PARTITION__")}")]);
            if (overwrite && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
            Directory.CreateDirectory(folder);
            var where = string.Join(" AND ", columns.Select((c, i) => value[i] is string v ? $"CAST({c} AS VARCHAR) = {SparkToDuckDbSql.Literal(v)}" : $"{c} IS NULL"));
            var file = Path.Combine(folder, $"part-{n++.ToString("00000", CultureInfo.InvariantCulture)}-{uuid}.c000{suffix}.parquet");
            Run($"COPY (SELECT * EXCLUDE ({string.Join(", ", columns)}) FROM {staged} WHERE {where}) TO {SparkToDuckDbSql.Literal(file)} (FORMAT PARQUET, COMPRESSION {codec})");
        }
    }

    /// <summary>Spark's <c>ExternalCatalogUtils.escapePathName</c>: characters special in paths as %XX.</summary>
    private static string Escape(string value)
    {
        var sb = new StringBuilder();
        foreach (var c in value)
        {
            if (c < ' ' || "\"#%'*/:=?\\\u007F{[]^".Contains(c, StringComparison.Ordinal))
            {
                sb.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
