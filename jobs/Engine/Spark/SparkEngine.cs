using System.Globalization;
using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Types;
using Pipeline.Core;

namespace Pipeline.Engine.Spark;

/// <summary>Options of the Spark engine.</summary>
/// <param name="Remote">Spark Connect connection string <c>sc://host[:port]/;token=…</c> (never logged: only its redacted form).</param>
/// <param name="Log">Receives one-line diagnostics (reattaches, releases); null = silent.</param>
/// <param name="Retry">Retry policy for UNAVAILABLE; null = the client's default (15 retries, 50 ms × 4, max 1 min).</param>
/// <param name="MaxUploadBytes">Largest Arrow IPC payload sent in one LocalRelation; model outputs above it are sent in chunks.</param>
/// <param name="Info">Receives the lines a user should see at normal verbosity (each retry: reason, wait, connect budget left); null = <paramref name="Log"/>.</param>
/// <param name="ConnectTimeout">The connect budget: how long to keep trying a server that has not answered yet; null = 30 s.</param>
public sealed record SparkEngineOptions(
    string Remote, Action<string>? Log = null, SparkRetryPolicy? Retry = null, int MaxUploadBytes = 64 * 1024 * 1024,
    Action<string>? Info = null, TimeSpan? ConnectTimeout = null);

/// <summary>
/// Runs the stages on a Spark cluster through Spark Connect. Inputs become temp views over <c>Read.DataSource</c>
/// (explicit DDL schemas, PERMISSIVE parsing with a corrupt-record column so unreadable rows are quarantined, not
/// lost); SQL goes as <c>Relation.sql</c>; <see cref="Materialize"/> is <c>CACHE TABLE … AS</c> (executor memory,
/// spilling to disk); Parquet is written by the executors with <c>WriteOperation</c>; counts come from Spark.
/// </summary>
/// <remarks>
/// Paths: every path the pipeline hands to Spark (inputs, staging, published tables) must be visible to the
/// pipeline process AND to every Spark node under the same name (a shared mount), because publication
/// (<see cref="Publishing.OutputStore"/>) renames directories locally. Local absolute paths are sent as
/// <c>file:</c> URIs so a cluster whose default filesystem is HDFS still writes the shared mount.
/// </remarks>
public sealed partial class SparkEngine : IEngine
{
    /// <summary>Session settings every run needs (see docs/spark.md).</summary>
    public static readonly IReadOnlyDictionary<string, string> SessionConf = new Dictionary<string, string>
    {
        // Outputs are UTC; dates of timestamps are UTC dates.
        ["spark.sql.session.timeZone"] = "UTC",
        // The same semantics on 3.5 (ANSI off by default) and 4.x (on): the SQL uses try_* wherever bad input must become NULL.
        ["spark.sql.ansi.enabled"] = "true",
        // Parquet timestamps readable by every reader (Spark's default is the legacy INT96).
        ["spark.sql.parquet.outputTimestampType"] = "TIMESTAMP_MICROS",
        // An overwrite with partition columns replaces only the partitions written.
        ["spark.sql.sources.partitionOverwriteMode"] = "dynamic",
        // Patterns parse as documented for Spark 3+, never raising SparkUpgradeException.
        ["spark.sql.legacy.timeParserPolicy"] = "CORRECTED",
    };

    /// <summary>Options of every Parquet write.</summary>
    public static readonly IReadOnlyDictionary<string, string> WriteOptions = new Dictionary<string, string>
    {
        ["compression"] = "zstd",
        ["partitionOverwriteMode"] = "dynamic",
        // No _SUCCESS marker from Hadoop's committer: the pipeline writes its own when it publishes.
        ["mapreduce.fileoutputcommitter.marksuccessfuljobs"] = "false",
    };

    private const string CorruptColumn = "_corrupt_record";
    private const string OpenBrace = "{";
    private readonly SparkConnectClient _client;
    private readonly int _maxUploadBytes;
    private readonly Dictionary<string, List<string>> _rawViews = new(StringComparer.Ordinal);
    private readonly SparkSessionViews _views = new();
    private readonly Action<string>? _log;
    private int _counter;
    private bool _connectionLost;
    private bool _disposed;

    public SparkEngine(SparkEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SparkConnectionString connection;
        try
        {
            connection = SparkConnectionString.Parse(options.Remote);
        }
        catch (SparkConnectionStringException e)
        {
            throw PipelineException.Config("engine.remote: " + e.Message);
        }
        _maxUploadBytes = options.MaxUploadBytes;
        _log = options.Log;
        var clientOptions = new SparkConnectClientOptions
        {
            Log = options.Log,
            Info = options.Info,
            ConnectTimeout = options.ConnectTimeout ?? SparkConnectClientOptions.DefaultConnectTimeout,
        };
        if (options.Retry is not null)
        {
            clientOptions = clientOptions with { Retry = options.Retry };
        }
        _client = new SparkConnectClient(connection, clientOptions);
        try
        {
            Run(async () =>
            {
                await _client.SetConfAsync(SessionConf);
                return 0;
            });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name => "spark";

    public ISqlDialect Dialect => SparkDialect.Instance;

    /// <summary>The connection, token redacted (safe to log).</summary>
    public string Remote => _client.Connection.Redacted;

    /// <summary>The server's Spark version.</summary>
    public string SparkVersion() => Run(() => _client.GetSparkVersionAsync());

    // ------------------------------------------------------------------ SQL

    public void Execute(string sql)
    {
        // DROP TABLE/VIEW of a name created here (a cached temp view on Spark for a materialised table): deferred until
        // nothing that is still defined reads it (see "temp view lifetime" below).
        var drop = DropStatement().Match(sql);
        if (drop.Success && _views.Knows(drop.Groups[1].Value))
        {
            DropDeferred([drop.Groups[1].Value]);
            return;
        }
        Guard(sql);
        var create = CreateTempView().Match(sql);
        var created = create.Success ? Unquote(create.Groups[1].Value) : null;
        if (created is not null)
        {
            _views.RequireReplaceable(created);
        }
        Send(sql);
        if (created is not null)
        {
            _views.Created(created, SqlId(created), cached: false, sql);
        }
    }

    public void Materialize(string name, string selectSql)
    {
        Guard(selectSql);
        _views.RequireReplaceable(name);
        var id = Dialect.Id(name);
        Send($"DROP VIEW IF EXISTS {id}");
        // CACHE TABLE … AS is eager: the query runs once, later statements read the cached blocks.
        Send($"CACHE TABLE {id} AS {selectSql}");
        _views.Created(name, SqlId(name), cached: true, selectSql);
    }

    public IReadOnlyList<object?[]> Query(string sql)
    {
        Guard(sql);
        return Run(async () =>
        {
            using var result = await _client.ExecuteSqlAsync(sql);
            return (IReadOnlyList<object?[]>)ArrowRows.Rows(result);
        });
    }

    public void ForEachRow(string sql, Action<System.Data.IDataRecord> onRow)
    {
        Guard(sql);
        // The whole result arrives as Arrow batches in the driver (model stages: per-customer tables).
        using var result = Run(() => _client.ExecuteSqlAsync(sql));
        var record = new ArrowDataRecord();
        foreach (var batch in result.Batches)
        {
            for (var i = 0; i < batch.Length; i++)
            {
                record.MoveTo(batch, i);
                onRow(record);
            }
        }
    }

    // ------------------------------------------------------------------ Parquet

    public long WriteParquet(string selectSql, string directory, IReadOnlyList<string> partitionBy)
    {
        Guard(selectSql);
        Run(async () =>
        {
            await _client.WriteParquetAsync(selectSql, ToUri(directory), partitionBy, SparkSaveMode.Overwrite, WriteOptions);
            return 0;
        });
        CleanWriterLeftovers(directory);
        return CountWritten(directory);
    }

    public string ParquetRelation(string directory) => "parquet.`" + ToUri(directory).Replace("`", "``", StringComparison.Ordinal) + "`";

    public string ParquetFiles(IReadOnlyList<string> files) =>
        "(" + string.Join(" UNION ALL ", files.Select(f => "SELECT * FROM " + ParquetRelation(f))) + ")";

    /// <summary>Rows in a written table, counted by Spark from the files (what readers will see).</summary>
    private long CountWritten(string directory)
    {
        if (Directory.Exists(directory) && !Directory.EnumerateFiles(directory, "*.parquet", SearchOption.AllDirectories).Any())
        {
            return 0; // an empty partitioned write leaves no files; Spark cannot read a directory without any
        }
        return Convert.ToInt64(Query($"SELECT count(*) FROM {ParquetRelation(directory)}")[0][0], CultureInfo.InvariantCulture);
    }

    /// <summary>Removes Hadoop's checksum files and markers from a locally visible written table (publication moves whole entries).</summary>
    private static void CleanWriterLeftovers(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).ToList())
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(".crc", StringComparison.Ordinal) || name == "_SUCCESS")
            {
                File.Delete(file);
            }
        }
    }

    public long WriteRows<T>(IReadOnlyCollection<T> rows, string directory) => WriteLocal(LocalRows.Columns(rows), rows.Count, directory);

    public long WriteColumns(IReadOnlyList<LocalColumn> columns, int rowCount, string directory) => WriteLocal(columns, rowCount, directory);

    /// <summary>
    /// Model outputs: Arrow IPC in LocalRelation chunks below the gRPC message limit, each written with
    /// WriteOperation (the first chunk overwrites, the others append) to the same directory.
    /// </summary>
    private long WriteLocal(IReadOnlyList<LocalColumn> columns, int rowCount, string directory)
    {
        var chunks = new List<byte[]>();
        var start = 0;
        var size = Math.Max(1, Math.Min(rowCount, 100_000));
        do
        {
            var count = Math.Min(size, rowCount - start);
            using var batch = ArrowRows.Batch(columns, start, count);
            var bytes = ArrowIpc.Encode(batch.Schema, [batch]);
            if (bytes.Length > _maxUploadBytes && count > 1)
            {
                size = Math.Max(1, count / 2);
                continue;
            }
            chunks.Add(bytes);
            start += count;
        }
        while (start < rowCount);

        for (var i = 0; i < chunks.Count; i++)
        {
            var view = $"_local_rows_{Interlocked.Increment(ref _counter).ToString(CultureInfo.InvariantCulture)}";
            var mode = i == 0 ? SparkSaveMode.Overwrite : SparkSaveMode.Append;
            var chunk = chunks[i];
            Run(async () =>
            {
                await _client.UploadArrowAsync(view, chunk);
                await _client.WriteParquetAsync($"SELECT * FROM {view}", ToUri(directory), null, mode, WriteOptions);
                return 0;
            });
            Send($"DROP VIEW IF EXISTS {view}"); // a fresh name nothing else reads
        }
        CleanWriterLeftovers(directory);
        return rowCount;
    }

    // ------------------------------------------------------------------ inputs

    public void RegisterHashKey(ReadOnlySpan<byte> innerPad, ReadOnlySpan<byte> outerPad)
    {
        // Sent as data (a LocalRelation), never as SQL text: the key cannot show up in query logs or the Spark UI's SQL tab.
        var ipad = new BinaryArray.Builder().Append(innerPad).Build();
        var opad = new BinaryArray.Builder().Append(outerPad).Build();
        var schema = new Schema([new Field("ipad", BinaryType.Default, false), new Field("opad", BinaryType.Default, false)], null);
        using var batch = new RecordBatch(schema, [ipad, opad], 1);
        Run(async () =>
        {
            await _client.UploadArrowAsync("_hmac_key", batch);
            return 0;
        });
        if (!_views.Knows("_hmac_key"))
        {
            _views.Created("_hmac_key", "_hmac_key", cached: false, sql: null);
        }
    }

    public void DropRawInput(string name)
    {
        var views = _rawViews.GetValueOrDefault(name) ?? [];
        _rawViews.Remove(name);
        DropDeferred([name, .. views]);
    }

    /// <summary>
    /// One temp view per file group over <c>Read.DataSource</c> with an explicit DDL schema, projected with the file
    /// metadata (<c>_metadata.file_path</c>, <c>_metadata.file_block_start</c>) and a scan-order id; then the
    /// relation <paramref name="name"/> with the contract's columns over all groups.
    /// </summary>
    public void RegisterRawInput(string name, RawInput input)
    {
        _views.RequireReplaceable(name);
        if (_rawViews.ContainsKey(name))
        {
            DropRawInput(name); // registered again: the earlier file views go (nothing reads them, checked above)
        }
        var parts = new List<string>();
        var views = new List<string>();
        _rawViews[name] = views;
        foreach (var group in input.Groups)
        {
            var view = $"_raw_read_{Interlocked.Increment(ref _counter).ToString(CultureInfo.InvariantCulture)}";
            views.Add(view);
            var request = RawReadRequest(group);
            Run(async () =>
            {
                await _client.CreateTempViewFromDataSourceAsync(view, request.Format, request.Schema, request.Options,
                    group.Files.Select(ToUri).ToList(), request.Select);
                return 0;
            });
            _views.Created(view, view, cached: false, sql: null); // a DataFrame over the files: reads no other view
            parts.Add(RawSelect(group, view));
        }
        var union = string.Join(" UNION ALL ", parts);
        Send($"CREATE OR REPLACE TEMP VIEW {Dialect.Id(name)} AS {union}");
        _views.Created(name, Dialect.Id(name), cached: false, union);
    }

    /// <summary>What is sent to read one file group: format, DDL schema, reader options and the projected expressions.</summary>
    internal static (SparkFileFormat Format, string? Schema, Dictionary<string, string> Options, List<string> Select) RawReadRequest(RawFileGroup g)
    {
        var d = SparkDialect.Instance;
        var select = new List<string>
        {
            "*",
            "_metadata.file_path AS _file_path",
            "_metadata.file_block_start AS _block_start",
            "monotonically_increasing_id() AS _scan_id",
        };
        return g.Format switch
        {
            // CSV: every header column as STRING plus the corrupt-record column. PERMISSIVE keeps a row whose field
            // count is wrong or whose quoting is broken, with its text in _corrupt_record. multiLine: quoted fields
            // may span lines (as with DuckDB), at the price of one task per file.
            "csv" => (SparkFileFormat.Csv,
                string.Join(", ", g.HeaderColumns.Select(c => $"{d.Id(c)} STRING").Append($"{CorruptColumn} STRING")),
                new Dictionary<string, string>
                {
                    ["header"] = "true",
                    ["sep"] = g.Delimiter.ToString(),
                    ["quote"] = g.Quote.ToString(),
                    ["escape"] = g.Quote.ToString(),
                    ["mode"] = "PERMISSIVE",
                    ["columnNameOfCorruptRecord"] = CorruptColumn,
                    ["multiLine"] = "true",
                    ["enforceSchema"] = "true",
                    ["encoding"] = "UTF-8",
                },
                select),
            // JSON lines: read as text (one row per line, the line kept as the raw image) and parsed in SQL, so a line
            // that is not a JSON object is a quarantined row with its text (as with DuckDB), and a line holding an
            // array is not silently exploded into several rows.
            "jsonl" => (SparkFileFormat.Text, "value STRING", new Dictionary<string, string>(), select),
            // Parquet carries its own types: no DDL (a STRING schema would not read numeric columns); values are cast to
            // STRING in SQL.
            "parquet" => (SparkFileFormat.Parquet, null, new Dictionary<string, string>(), select),
            _ => throw new ArgumentException($"unknown format {g.Format}", nameof(g)),
        };
    }

    /// <summary>The contract's columns over one group's read view.</summary>
    internal static string RawSelect(RawFileGroup g, string view)
    {
        var d = SparkDialect.Instance;
        const string replacement = "'\uFFFD'";
        // Spark has no line numbers: rows are numbered in scan order within each file (splits by their start offset,
        // rows within a split in order) — the record ordinal, +1 for a CSV header.
        var headerLines = g.Format == "csv" ? 1 : 0;
        var sourceFile = "regexp_replace(_file_path, '^file:(//)?', '')";
        var line = $"CAST(row_number() OVER (PARTITION BY _file_path ORDER BY _block_start ASC NULLS LAST, _scan_id ASC NULLS LAST) + {headerLines} AS BIGINT)";
        string Nulls(IEnumerable<ColumnProjection> p) => string.Join(", ", p.Select(c => $"CAST(NULL AS STRING) AS {d.Id(c.Canonical)}"));
        switch (g.Format)
        {
            case "csv":
            {
                var image = "concat_ws(" + d.Str(g.Delimiter.ToString()) + ", " + string.Join(", ", g.HeaderColumns.Select(c => $"coalesce({d.Id(c)}, '')")) + ")";
                // Invalid UTF-8 is decoded to U+FFFD by Spark (DuckDB rejects the row): a replacement character marks it.
                var projected = string.Join(", ", g.Projection.Select(p =>
                    (p.Source is null ? "CAST(NULL AS STRING)" : $"CASE WHEN {CorruptColumn} IS NULL THEN {d.Id(p.Source)} END") + " AS " + d.Id(p.Canonical)));
                return $"""
                    SELECT {sourceFile} AS _source_file, {line} AS _source_line,
                           coalesce({CorruptColumn}, {image}) AS _raw,
                           CASE WHEN instr(coalesce({CorruptColumn}, {image}), {replacement}) > 0 THEN 'invalid_encoding'
                                WHEN {CorruptColumn} IS NOT NULL THEN 'malformed_row' END AS _parse_error,
                           CASE WHEN instr(coalesce({CorruptColumn}, {image}), {replacement}) > 0 THEN 'the row is not valid UTF-8'
                                WHEN {CorruptColumn} IS NOT NULL THEN 'the CSV reader could not split the row (field count or quoting)' END AS _parse_detail,
                           {projected}
                    FROM {view}
                    """;
            }
            case "jsonl":
            {
                var sources = g.Projection.Where(p => p.Source is not null).Select(p => p.Source!).Distinct().ToList();
                var schema = sources.Count == 0 ? null : string.Join(", ", sources.Select(s => $"{d.Id(s)} STRING"));
                var projected = string.Join(", ", g.Projection.Select(p =>
                    (p.Source is null ? "CAST(NULL AS STRING)" : $"_j.{d.Id(p.Source)}") + " AS " + d.Id(p.Canonical)));
                var parsed = schema is null ? "CAST(NULL AS STRUCT<x: STRING>)" : $"CASE WHEN _is_object THEN from_json(value, {d.Str(schema)}) END";
                // A key the object has twice (from_json would silently take the last value): the first such key, in order.
                var duplicate = g.RejectDuplicateKeys
                    ? "CASE WHEN _is_object THEN try_element_at(filter(json_object_keys(value), k -> size(filter(json_object_keys(value), x -> x = k)) > 1), 1) END"
                    : "CAST(NULL AS STRING)";
                return $"""
                    SELECT _source_file, _source_line, value AS _raw,
                           CASE WHEN instr(value, {replacement}) > 0 THEN 'invalid_encoding' WHEN NOT _is_object OR _duplicate_key IS NOT NULL THEN 'malformed_row' END AS _parse_error,
                           CASE WHEN instr(value, {replacement}) > 0 THEN 'the line is not valid UTF-8' WHEN NOT _is_object THEN 'not a JSON object'
                                WHEN _duplicate_key IS NOT NULL THEN concat('duplicate key ', _duplicate_key) END AS _parse_detail,
                           {(projected.Length == 0 ? Nulls(g.Projection) : projected)}
                    FROM (
                      SELECT n.*, {parsed} AS _j, {duplicate} AS _duplicate_key
                      FROM (
                        SELECT {sourceFile} AS _source_file, {line} AS _source_line, value,
                               coalesce(ltrim(value) LIKE '{OpenBrace}%' AND get_json_object(value, '$') IS NOT NULL, false) AS _is_object
                        FROM {view}
                        WHERE trim(value) <> ''
                      ) n
                    )
                    """;
            }
            case "parquet":
            {
                var projected = string.Join(", ", g.Projection.Select(p =>
                    (p.Source is null ? "CAST(NULL AS STRING)" : $"CAST({d.Id(p.Source)} AS STRING)") + " AS " + d.Id(p.Canonical)));
                var image = "to_json(named_struct(" + string.Join(", ", g.HeaderColumns.Select(c => $"{d.Str(c)}, {d.Id(c)}")) + "))";
                return $"""
                    SELECT {sourceFile} AS _source_file, {line} AS _source_line, {image} AS _raw,
                           CAST(NULL AS STRING) AS _parse_error, CAST(NULL AS STRING) AS _parse_detail, {projected}
                    FROM {view}
                    """;
            }
            default:
                throw new ArgumentException($"unknown format {g.Format}", nameof(g));
        }
    }

    /// <summary>A local absolute path as a <c>file:</c> URI (so it is not resolved against an HDFS default filesystem); URIs unchanged.</summary>
    internal static string ToUri(string path)
    {
        if (UriScheme().IsMatch(path))
        {
            return path;
        }
        var full = Path.GetFullPath(path).Replace('\\', '/');
        return "file://" + (full.StartsWith('/') ? "" : "/") + full;
    }

    // ------------------------------------------------------------------ temp view lifetime
    //
    // Spark keeps a temp view made from SQL (CREATE TEMP VIEW … AS, and CACHE TABLE … AS, which creates one) as its SQL
    // text and analyses it again on every use (spark.sql.legacy.storeAnalyzedPlanForView=false, the default since 3.1),
    // and dropping a temp view invalidates the caches built on it: after CACHE TABLE t2 AS SELECT … FROM t1 and DROP
    // VIEW t1, reading t2 fails with TABLE_OR_VIEW_NOT_FOUND (Spark's CachedTableSuite, "SPARK-24596, SPARK-34052:
    // cascading cache invalidation - drop temporary view"; CacheTableAsSelectExec builds the view from the statement's
    // original text). The stages, written for DuckDB where a materialised table is data, drop a source as soon as the
    // tables built from it are materialised (orders_raw after orders_typed, events_kept after events_sessionized, …).
    //
    // So this engine defers drops: a drop marks the name dropped (a later statement that still names it is a bug in
    // the stage: Guard throws InvalidOperationException) and the real DROP VIEW is sent once no view still defined in
    // Spark reads it — dependents before their sources — at the latest when the engine is disposed (end of the stage
    // run). Which view reads which comes from the SQL text the engine sent (see SparkSessionViews).
    //
    // Memory: a raw input view is a lazy file read, keeping it defined costs nothing. A cached table dropped while
    // others still read it is uncached at once (UNCACHE TABLE of a temp view does not cascade: the dependents' caches
    // stay — DataSourceV2Strategy plans UNCACHE TABLE as UncacheTableExec(cascade = !isTempView); CachedTableSuite
    // "SPARK-24596 Non-cascading Cache Invalidation - uncache temporary view"), so its
    // executor memory/disk (MEMORY_AND_DISK) is freed as with DuckDB; only its definition stays, and should a
    // dependent's cached blocks be lost (executor loss), Spark recomputes them through it from the still-defined
    // sources instead of failing. The price is that recomputation, never a wrong or missing table.
    //
    // Not chosen: snapshotting a plan. Spark Connect's CheckpointCommand (DataFrame.localCheckpoint/checkpoint over
    // Connect, SPARK-48258) exists from Spark 4.0 only; this client speaks the 3.5 protocol subset
    // (Protos/spark_connect.proto declares no checkpoint_command) and 3.5 servers are supported, and a checkpointed
    // DataFrame comes back as a CachedRemoteRelation that would need more protocol to name as a view. Setting
    // spark.sql.legacy.storeAnalyzedPlanForView=true is a legacy switch for the whole session (and also changes
    // permanent-view semantics); not chosen either.

    /// <summary>Throws when <paramref name="sql"/> names a view or table the stage dropped earlier.</summary>
    private void Guard(string sql)
    {
        if (_views.DroppedMentioned(sql) is { } name)
        {
            throw new InvalidOperationException(
                $"Spark engine: a statement reads `{name}`, which the stage dropped earlier (the drop is deferred while other views read it, but the stage must not use it again)");
        }
    }

    /// <summary>Marks views dropped; sends DROP VIEW for those nothing defined reads any more and UNCACHE TABLE for cached ones that must stay defined.</summary>
    private void DropDeferred(IReadOnlyList<string> names)
    {
        var marked = names.Select(_views.MarkDropped).OfType<SparkSessionViews.SessionView>().ToList();
        while (_views.NextDroppable() is { } view)
        {
            Send($"DROP VIEW IF EXISTS {view.SqlId}"); // uncaches it too
            _views.Removed(view);
        }
        foreach (var view in marked.Where(v => v.Cached && _views.Find(v.Name) == v))
        {
            Send($"UNCACHE TABLE IF EXISTS {view.SqlId}");
            view.Cached = false;
        }
    }

    /// <summary>A name as written in the engine's DROP VIEW / UNCACHE TABLE: bare when it is a plain identifier.</summary>
    private string SqlId(string name) => PlainIdentifier().IsMatch(name) ? name : Dialect.Id(name);

    private static string Unquote(string id) => id.Length > 1 && id[0] == '`' && id[^1] == '`' ? id[1..^1].Replace("``", "`", StringComparison.Ordinal) : id;

    // ------------------------------------------------------------------ errors

    private T Run<T>(Func<Task<T>> call)
    {
        try
        {
            return call().GetAwaiter().GetResult();
        }
        catch (SparkConnectException e)
        {
            _connectionLost |= e.Kind == SparkErrorKind.Connection;
            throw Translate(e);
        }
    }

    /// <summary>Sends one statement as is (no guard, no bookkeeping).</summary>
    private void Send(string sql) => Run(async () =>
    {
        using var _ = await _client.ExecuteSqlAsync(sql);
        return 0;
    });

    /// <summary>
    /// Spark failures as the pipeline's exit codes: configuration → 2, unreadable/missing input → 3, anything else → 1.
    /// A server never reached is 1 too (it may be down for a while, not misconfigured), with what to check instead of
    /// the --verbose hint.
    /// </summary>
    internal static Exception Translate(SparkConnectException e)
    {
        var message = "Spark: " + e.Message;
        if (e.NeverConnected)
        {
            return new EngineException(
                message + ". Check that the server is running and --remote / SPARK_REMOTE / engine.remote"
                    + (e.ConnectBudget is null ? "" : "; engine.connect_timeout_seconds sets how long to wait"),
                e)
            {
                SuggestVerbose = false,
            };
        }
        if (e.Kind == SparkErrorKind.Configuration)
        {
            return PipelineException.Config(message);
        }
        if (e.ErrorClass is { } errorClass && (errorClass.StartsWith("PATH_NOT_FOUND", StringComparison.Ordinal)
                || errorClass.StartsWith("UNABLE_TO_INFER_SCHEMA", StringComparison.Ordinal)
                || errorClass.StartsWith("FAILED_READ_FILE", StringComparison.Ordinal)))
        {
            return PipelineException.Input(message, e);
        }
        return new EngineException(message, e);
    }

    [GeneratedRegex(@"^\s*DROP\s+(?:TABLE|VIEW)\s+IF\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*|`[A-Za-z_][A-Za-z0-9_]*`)\s*;?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex DropStatement();

    [GeneratedRegex(@"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+VIEW\s+([A-Za-z_][A-Za-z0-9_]*|`[A-Za-z_][A-Za-z0-9_]*`)\s+AS\b", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTempView();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex PlainIdentifier();

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]+:")]
    private static partial Regex UriScheme();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        try
        {
            // End of the stage run: every view and cache this engine created goes, dependents before their sources. Best
            // effort: a failure here must not hide the stage's own outcome, and a lost server is not asked again.
            if (!_connectionLost)
            {
                DropDeferred(_views.Names());
            }
        }
        catch (Exception e) when (e is PipelineException or InvalidOperationException)
        {
            _log?.Invoke("Spark: dropping the stage's temp views failed: " + e.Message);
        }
        finally
        {
            _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
