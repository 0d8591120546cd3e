using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Apache.Arrow;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pipeline.Engine.Spark.Protocol;

namespace Pipeline.Engine.Spark;

/// <summary>
/// A small Spark Connect client: one Spark session on one gRPC channel. Thread-safe; dispose it.
/// </summary>
/// <remarks>
/// Every ExecutePlan is reattachable (client operation id, <c>reattach_options.reattachable=true</c>): when the
/// stream ends or breaks before <c>result_complete</c>, the client calls ReattachExecute from the last response id,
/// and releases the operation (ReleaseExecute release_all) when done. UNAVAILABLE is retried with exponential
/// backoff (<see cref="SparkRetryPolicy"/>). Until the server has answered once, a server that cannot be reached
/// (connection refused, name not resolved, TLS handshake failed) is retried within the connect budget
/// (<see cref="SparkConnectClientOptions.ConnectTimeout"/>) instead. Failures surface as <see cref="SparkConnectException"/>.
/// Requires a Spark 3.5+ server (reattachable execution).
/// </remarks>
public sealed class SparkConnectClient : IAsyncDisposable
{
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(10);

    private readonly SparkConnectClientOptions _options;
    private readonly GrpcChannel _channel;
    private readonly SparkConnectService.SparkConnectServiceClient _stub;
    private readonly Metadata _headers;
    private readonly UserContext _userContext;
    private readonly bool _releaseSessionOnDispose;
    private readonly object _sessionLock = new();
    private string? _serverSideSessionId;
    private int _disposed;
    private int _connected;        // 1 once the server has answered a call
    private long _connectStarted;  // Stopwatch timestamp of the first attempt; 0 = none yet
    private int _connectAttempts;  // attempts that failed before the server ever answered

    /// <summary>Connects (lazily: the first call opens the channel) using a parsed connection string.</summary>
    public SparkConnectClient(SparkConnectionString connection, SparkConnectClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Connection = connection;
        _options = options ?? new SparkConnectClientOptions();
        if (_options.ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), _options.ConnectTimeout, "ConnectTimeout must be positive");
        }
        SessionId = connection.SessionId ?? Guid.NewGuid().ToString("D");
        _releaseSessionOnDispose = _options.ReleaseSessionOnDispose ?? connection.SessionId is null;
        ClientType = connection.UserAgent is null ? DefaultClientType : $"{connection.UserAgent} {DefaultClientType}";
        var userId = connection.UserId ?? Environment.UserName;
        _userContext = new UserContext { UserId = userId, UserName = userId };

        _headers = [];
        if (connection.Token is not null)
        {
            _headers.Add("authorization", "Bearer " + connection.Token);
        }
        foreach (var (name, value) in connection.Headers)
        {
            _headers.Add(name, value);
        }

        var maxMessage = connection.GrpcMaxMessageSize ?? SparkConnectClientOptions.DefaultMaxMessageSize;
        _channel = GrpcChannel.ForAddress(connection.Endpoint, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = maxMessage,
            MaxSendMessageSize = maxMessage,
            ThrowOperationCanceledOnCancellation = true,
            // No keep-alive pings: grpc-java servers (Spark) answer pings more frequent than 5 min with GOAWAY.
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                // One TCP/TLS connect: at most 30 s, never longer than the connect budget.
                ConnectTimeout = _options.ConnectTimeout < TimeSpan.FromSeconds(30) ? _options.ConnectTimeout : TimeSpan.FromSeconds(30),
            },
            // After a failed connect the channel waits before it really tries again (a call meanwhile fails at once
            // with the last error): keep those waits as short as the client's own connect retries.
            MaxReconnectBackoff = SparkConnectClientOptions.MaxConnectBackoff,
            DisposeHttpClient = true,
        });
        _stub = new SparkConnectService.SparkConnectServiceClient(_channel);
    }

    /// <summary>Parses <paramref name="connectionString"/> (see <see cref="SparkConnectionString"/>) and connects.</summary>
    public SparkConnectClient(string connectionString, SparkConnectClientOptions? options = null)
        : this(SparkConnectionString.Parse(connectionString), options)
    {
    }

    /// <summary><c>pipeline-dotnet/&lt;assembly version&gt;</c>.</summary>
    public static string DefaultClientType { get; } =
        "pipeline-dotnet/" + (typeof(SparkConnectClient).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>The connection (its <c>ToString()</c> hides the token).</summary>
    public SparkConnectionString Connection { get; }

    /// <summary>The Spark session id (UUID) sent with every request.</summary>
    public string SessionId { get; }

    /// <summary>The <c>client_type</c> sent with every request.</summary>
    public string ClientType { get; }

    /// <summary>True once the server has answered a call of this client (the connect budget no longer applies).</summary>
    public bool HasConnected => Volatile.Read(ref _connected) != 0;

    /// <summary><c>host:port</c> (IPv6 in brackets): what the server is called in messages.</summary>
    public string Address => (Connection.Host.Contains(':', StringComparison.Ordinal) ? $"[{Connection.Host}]" : Connection.Host)
        + ":" + Connection.Port.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    public override string ToString() => $"SparkConnectClient({Connection.Redacted}; session {SessionId})";

    // ------------------------------------------------------------------ config / version

    /// <summary>Sets session configuration (Config Set), e.g. <c>spark.sql.session.timeZone=UTC</c>.</summary>
    public async Task SetConfAsync(IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var set = new ConfigRequest.Types.Set();
        foreach (var (key, value) in settings.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            set.Pairs.Add(new KeyValue { Key = key, Value = value });
        }
        var request = NewConfigRequest();
        request.Operation = new ConfigRequest.Types.Operation { Set = set };
        var response = await UnaryAsync("Config", o => _stub.ConfigAsync(request, o), cancellationToken);
        foreach (var warning in response.Warnings)
        {
            Log($"Spark config warning: {warning}");
        }
    }

    /// <summary>Reads session configuration values (Config Get); unknown keys fail with <see cref="SparkErrorKind.Sql"/>.</summary>
    public async Task<IReadOnlyDictionary<string, string?>> GetConfAsync(IEnumerable<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var request = NewConfigRequest();
        request.Operation = new ConfigRequest.Types.Operation { Get = new ConfigRequest.Types.Get { Keys = { keys } } };
        var response = await UnaryAsync("Config", o => _stub.ConfigAsync(request, o), cancellationToken);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var pair in response.Pairs)
        {
            result[pair.Key] = pair.HasValue ? pair.Value : null;
        }
        return result;
    }

    /// <summary>The server's Spark version (AnalyzePlan spark_version), e.g. <c>3.5.3</c>.</summary>
    public async Task<string> GetSparkVersionAsync(CancellationToken cancellationToken = default)
    {
        var request = new AnalyzePlanRequest
        {
            SessionId = SessionId,
            UserContext = _userContext,
            ClientType = ClientType,
            SparkVersion = new AnalyzePlanRequest.Types.SparkVersion(),
        };
        if (ObservedServerSession is { } observed)
        {
            request.ClientObservedServerSideSessionId = observed;
        }
        var response = await UnaryAsync("AnalyzePlan", o => _stub.AnalyzePlanAsync(request, o), cancellationToken);
        ObserveServerSession(response.ServerSideSessionId);
        if (response.ResultCase != AnalyzePlanResponse.ResultOneofCase.SparkVersion)
        {
            throw new SparkConnectException(SparkErrorKind.Failure, "Spark AnalyzePlan returned no spark_version");
        }
        return response.SparkVersion.Version;
    }

    // ------------------------------------------------------------------ queries

    /// <summary>
    /// Runs a SQL statement and returns every result row as Arrow record batches (empty for commands without
    /// output). Flow as PySpark: <c>command.sql_command</c>; when the reply carries
    /// <c>sql_command_result.relation</c>, that relation is executed as <c>plan.root</c>.
    /// </summary>
    public async Task<SparkQueryResult> ExecuteSqlAsync(string sql, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        Relation? relation = null;
        using (var direct = new BatchCollector())
        {
            await ExecutePlanAsync(
                new Plan { Command = new Command { SqlCommand = new SqlCommand { Sql = sql } } },
                response =>
                {
                    switch (response.ResponseTypeCase)
                    {
                        case ExecutePlanResponse.ResponseTypeOneofCase.SqlCommandResult:
                            relation = response.SqlCommandResult.Relation;
                            break;
                        case ExecutePlanResponse.ResponseTypeOneofCase.ArrowBatch:
                            direct.Add(response.ArrowBatch);
                            break;
                    }
                },
                cancellationToken);
            if (relation is null)
            {
                // A server that answered the command with rows directly.
                return direct.TakeResult();
            }
        }

        using var rows = new BatchCollector();
        await ExecutePlanAsync(
            new Plan { Root = relation },
            response =>
            {
                if (response.ResponseTypeCase == ExecutePlanResponse.ResponseTypeOneofCase.ArrowBatch)
                {
                    rows.Add(response.ArrowBatch);
                }
            },
            cancellationToken);
        return rows.TakeResult();
    }

    /// <summary>
    /// Runs a query returning one integer (e.g. <c>SELECT count(*) FROM t</c>) and returns the first column of the
    /// first row as <see cref="long"/>.
    /// </summary>
    public async Task<long> ExecuteScalarInt64Async(string sql, CancellationToken cancellationToken = default)
    {
        using var result = await ExecuteSqlAsync(sql, cancellationToken);
        if (result.Batches.Count == 0 || result.Batches[0].ColumnCount == 0)
        {
            throw new SparkConnectException(SparkErrorKind.Failure, "Spark query returned no rows; expected one integer value");
        }
        var column = result.Batches[0].Column(0);
        if (column.IsNull(0))
        {
            throw new SparkConnectException(SparkErrorKind.Failure, "Spark query returned NULL; expected one integer value");
        }
        return column switch
        {
            Int64Array a => a.GetValue(0)!.Value,
            Int32Array a => a.GetValue(0)!.Value,
            Int16Array a => a.GetValue(0)!.Value,
            Int8Array a => a.GetValue(0)!.Value,
            UInt32Array a => a.GetValue(0)!.Value,
            UInt16Array a => a.GetValue(0)!.Value,
            UInt8Array a => a.GetValue(0)!.Value,
            Decimal128Array a when a.GetValue(0) is { } d && d == decimal.Truncate(d) => (long)d,
            _ => throw new SparkConnectException(
                SparkErrorKind.Failure, $"Spark query returned a {column.Data.DataType.Name} value; expected an integer"),
        };
    }

    // ------------------------------------------------------------------ commands

    /// <summary>
    /// Creates (or replaces) a session temp view over files: <c>Read.DataSource{format, schema (DDL), options,
    /// paths}</c> → <c>CreateDataFrameViewCommand{replace=true}</c>.
    /// </summary>
    /// <param name="viewName">Temp view name.</param>
    /// <param name="format">File format.</param>
    /// <param name="ddlSchema">DDL schema, e.g. <c>"a INT, b STRING"</c>; null/empty lets Spark infer it.</param>
    /// <param name="options">Reader options (e.g. <c>header=true</c>); keys are case-insensitive on the server.</param>
    /// <param name="paths">Files or directories (as the server sees them).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    public Task CreateTempViewFromDataSourceAsync(
        string viewName, SparkFileFormat format, string? ddlSchema, IReadOnlyDictionary<string, string>? options,
        IReadOnlyList<string> paths, CancellationToken cancellationToken = default) =>
        CreateTempViewFromDataSourceAsync(viewName, format, ddlSchema, options, paths, null, cancellationToken);

    /// <summary>
    /// Like <see cref="CreateTempViewFromDataSourceAsync(string, SparkFileFormat, string?, IReadOnlyDictionary{string, string}?, IReadOnlyList{string}, CancellationToken)"/>,
    /// with the read wrapped in <c>Project{expressions=[expression_string...]}</c> (PySpark's <c>selectExpr</c>) when
    /// <paramref name="selectExpressions"/> is given: file metadata columns such as <c>_metadata.file_path</c>
    /// resolve there, directly on the file scan.
    /// </summary>
    public Task CreateTempViewFromDataSourceAsync(
        string viewName, SparkFileFormat format, string? ddlSchema, IReadOnlyDictionary<string, string>? options,
        IReadOnlyList<string> paths, IReadOnlyList<string>? selectExpressions, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(viewName);
        ArgumentNullException.ThrowIfNull(paths);
        if (paths.Count == 0 || paths.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("At least one non-empty path is required", nameof(paths));
        }
        var source = new Read.Types.DataSource { Format = FormatName(format) };
        if (!string.IsNullOrWhiteSpace(ddlSchema))
        {
            source.Schema = ddlSchema;
        }
        AddAll(source.Options, options);
        source.Paths.AddRange(paths);
        var read = new Relation { Read = new Read { DataSource = source } };
        if (selectExpressions is { Count: > 0 })
        {
            var project = new Project { Input = read };
            project.Expressions.AddRange(selectExpressions.Select(e => new Expression { ExpressionString = new Expression.Types.ExpressionString { Expression = e } }));
            read = new Relation { Project = project };
        }
        return CreateViewAsync(viewName, read, cancellationToken);
    }

    /// <summary>Creates (or replaces) a session temp view defined by a SQL query.</summary>
    public Task CreateTempViewFromSqlAsync(string viewName, string sql, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(viewName);
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        return CreateViewAsync(viewName, SqlRelation(sql), cancellationToken);
    }

    /// <summary>
    /// Writes a query's result as Parquet: <c>WriteOperation{input=sql, source="parquet", path, mode,
    /// partitioning_columns, options}</c>. Options e.g. <c>partitionOverwriteMode=dynamic</c>, <c>compression=zstd</c>.
    /// </summary>
    public Task WriteParquetAsync(
        string sql, string path, IReadOnlyList<string>? partitionColumns = null, SparkSaveMode mode = SparkSaveMode.Overwrite,
        IReadOnlyDictionary<string, string>? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var write = new WriteOperation
        {
            Input = SqlRelation(sql),
            Source = "parquet",
            Path = path,
            Mode = mode switch
            {
                SparkSaveMode.Append => WriteOperation.Types.SaveMode.Append,
                SparkSaveMode.Overwrite => WriteOperation.Types.SaveMode.Overwrite,
                SparkSaveMode.ErrorIfExists => WriteOperation.Types.SaveMode.ErrorIfExists,
                SparkSaveMode.Ignore => WriteOperation.Types.SaveMode.Ignore,
                _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown save mode"),
            },
        };
        if (partitionColumns is not null)
        {
            write.PartitioningColumns.AddRange(partitionColumns);
        }
        AddAll(write.Options, options);
        return ExecuteCommandAsync(new Command { WriteOperation = write }, cancellationToken);
    }

    /// <summary>Uploads rows as a session temp view (LocalRelation carrying an Arrow IPC stream).</summary>
    public Task UploadArrowAsync(string viewName, RecordBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return UploadArrowAsync(viewName, [batch], cancellationToken);
    }

    /// <summary>Uploads rows (batches sharing the first batch's schema) as a session temp view.</summary>
    public Task UploadArrowAsync(string viewName, IReadOnlyList<RecordBatch> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (batches.Count == 0)
        {
            throw new ArgumentException("At least one record batch is required (it carries the schema)", nameof(batches));
        }
        var bytes = ArrowIpc.Encode(batches[0].Schema, batches);
        return UploadIpcAsync(viewName, bytes, cancellationToken);
    }

    /// <summary>Uploads an Arrow IPC stream (schema + batches) as a session temp view.</summary>
    public Task UploadArrowAsync(string viewName, ReadOnlyMemory<byte> arrowIpcStream, CancellationToken cancellationToken = default)
    {
        ArrowIpc.Validate(arrowIpcStream);
        return UploadIpcAsync(viewName, arrowIpcStream.ToArray(), cancellationToken); // a private copy: the caller may reuse its buffer
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_releaseSessionOnDispose && HasConnected)
        {
            try
            {
                var request = new ReleaseSessionRequest { SessionId = SessionId, UserContext = _userContext, ClientType = ClientType };
                await _stub.ReleaseSessionAsync(request, CallOptionsFor(CleanupTimeout, CancellationToken.None));
            }
            catch (RpcException ex)
            {
                // Spark 3.5 has no ReleaseSession (UNIMPLEMENTED); the session then idles out server-side.
                Log($"Spark ReleaseSession ignored: {ex.StatusCode}");
            }
        }
        _channel.Dispose();
    }

    // ------------------------------------------------------------------ internals

    /// <summary>Runs a command plan to completion (all responses consumed, operation released).</summary>
    internal Task ExecuteCommandAsync(Command command, CancellationToken cancellationToken) =>
        ExecutePlanAsync(new Plan { Command = command }, static _ => { }, cancellationToken);

    /// <summary>
    /// Reattachable execution of one plan: every response except <c>result_complete</c> goes to
    /// <paramref name="onResponse"/>, in order and exactly once.
    /// </summary>
    internal async Task ExecutePlanAsync(Plan plan, Action<ExecutePlanResponse> onResponse, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var operationId = Guid.NewGuid().ToString("D");
        var request = new ExecutePlanRequest
        {
            SessionId = SessionId,
            UserContext = _userContext,
            Plan = plan,
            ClientType = ClientType,
            OperationId = operationId,
            RequestOptions =
            {
                new ExecutePlanRequest.Types.RequestOption { ReattachOptions = new ReattachOptions { Reattachable = true } },
            },
        };
        if (ObservedServerSession is { } observed)
        {
            request.ClientObservedServerSideSessionId = observed;
        }

        string? lastResponseId = null;
        var reattach = false;     // next call: ReattachExecute (true) or (re)send ExecutePlan (false)
        var failures = 0;         // consecutive attempts without progress
        var sent = false;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rpc = reattach ? "ReattachExecute" : "ExecutePlan";
                var progressed = false;
                var complete = false;
                RpcException? failure = null;
                try
                {
                    sent = true;
                    StartConnectClock();
                    using var call = reattach
                        ? _stub.ReattachExecute(NewReattachRequest(operationId, lastResponseId), CallOptionsFor(null, cancellationToken))
                        : _stub.ExecutePlan(request, CallOptionsFor(null, cancellationToken));
                    while (await call.ResponseStream.MoveNext(cancellationToken))
                    {
                        var response = call.ResponseStream.Current;
                        progressed = true;
                        failures = 0;
                        MarkConnected();
                        ObserveServerSession(response.ServerSideSessionId);
                        if (!string.IsNullOrEmpty(response.ResponseId))
                        {
                            lastResponseId = response.ResponseId;
                        }
                        if (response.ResponseTypeCase == ExecutePlanResponse.ResponseTypeOneofCase.ResultComplete)
                        {
                            complete = true;
                            continue;
                        }
                        // Unknown response types (case None, e.g. execution_progress) are passed on and ignored there.
                        onResponse(response);
                    }
                }
                catch (RpcException ex)
                {
                    failure = ex;
                }

                if (complete)
                {
                    return;
                }
                if (failure is not null)
                {
                    if (!reattach && SparkErrors.IsOperationAlreadyExists(failure))
                    {
                        reattach = true;  // a resent ExecutePlan the server had already received
                    }
                    else if (reattach && lastResponseId is null && SparkErrors.IsOperationNotFound(failure))
                    {
                        reattach = false; // the server never received the ExecutePlan: send it again
                    }
                    else if (SparkErrors.IsRetryable(failure))
                    {
                        // Nothing received yet: resend ExecutePlan (same operation id); otherwise continue from the last response.
                        reattach = reattach || lastResponseId is not null;
                    }
                    else
                    {
                        throw Translate(failure, rpc, failures + 1);
                    }
                    await BackOffAsync(failure, rpc, operationId, ++failures, cancellationToken);
                    continue;
                }
                else
                {
                    MarkConnected(); // the stream ended normally: the server answered
                    // The stream ended without result_complete: the server wants us to reattach.
                    if (!progressed && ++failures > _options.Retry.MaxRetries)
                    {
                        throw new SparkConnectException(
                            SparkErrorKind.Failure,
                            $"Spark {rpc} of operation {operationId} ended {failures} times without results or result_complete");
                    }
                    reattach = true;
                    Log($"Spark {rpc} stream of operation {operationId} ended before result_complete; reattaching");
                    if (progressed)
                    {
                        continue;
                    }
                    await DelayAsync(failures - 1, cancellationToken);
                }
            }
        }
        finally
        {
            if (sent)
            {
                await ReleaseExecuteAsync(operationId);
            }
        }
    }

    private static string FormatName(SparkFileFormat format) => format switch
    {
        SparkFileFormat.Csv => "csv",
        SparkFileFormat.Json => "json",
        SparkFileFormat.Parquet => "parquet",
        SparkFileFormat.Text => "text",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown file format"),
    };

    private static Relation SqlRelation(string sql) => new() { Sql = new SQL { Query = sql } };

    private static void AddAll(Google.Protobuf.Collections.MapField<string, string> target, IReadOnlyDictionary<string, string>? source)
    {
        if (source is null)
        {
            return;
        }
        foreach (var (key, value) in source)
        {
            target[key] = value;
        }
    }

    private string? ObservedServerSession
    {
        get
        {
            lock (_sessionLock)
            {
                return _serverSideSessionId;
            }
        }
    }

    private Task CreateViewAsync(string viewName, Relation input, CancellationToken cancellationToken) =>
        ExecuteCommandAsync(
            new Command
            {
                CreateDataframeView = new CreateDataFrameViewCommand { Input = input, Name = viewName, IsGlobal = false, Replace = true },
            },
            cancellationToken);

    // ipcStream must be a private array: it is wrapped without copying.
    private Task UploadIpcAsync(string viewName, byte[] ipcStream, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(viewName);
        var limit = Connection.GrpcMaxMessageSize ?? SparkConnectClientOptions.DefaultMaxMessageSize;
        if (ipcStream.Length > limit - (64 * 1024))
        {
            throw new SparkConnectException(
                SparkErrorKind.Configuration,
                $"Spark upload of {ipcStream.Length.ToString(CultureInfo.InvariantCulture)} bytes exceeds the gRPC message limit ({limit.ToString(CultureInfo.InvariantCulture)}); write the data to a file and read it instead");
        }
        var relation = new Relation { LocalRelation = new LocalRelation { Data = UnsafeByteOperations.UnsafeWrap(ipcStream) } };
        return CreateViewAsync(viewName, relation, cancellationToken);
    }

    private ConfigRequest NewConfigRequest()
    {
        var request = new ConfigRequest { SessionId = SessionId, UserContext = _userContext, ClientType = ClientType };
        if (ObservedServerSession is { } observed)
        {
            request.ClientObservedServerSideSessionId = observed;
        }
        return request;
    }

    private ReattachExecuteRequest NewReattachRequest(string operationId, string? lastResponseId)
    {
        var request = new ReattachExecuteRequest
        {
            SessionId = SessionId,
            UserContext = _userContext,
            OperationId = operationId,
            ClientType = ClientType,
        };
        if (lastResponseId is not null)
        {
            request.LastResponseId = lastResponseId;
        }
        if (ObservedServerSession is { } observed)
        {
            request.ClientObservedServerSideSessionId = observed;
        }
        return request;
    }

    private async Task ReleaseExecuteAsync(string operationId)
    {
        var request = new ReleaseExecuteRequest
        {
            SessionId = SessionId,
            UserContext = _userContext,
            OperationId = operationId,
            ClientType = ClientType,
            ReleaseAll = new ReleaseExecuteRequest.Types.ReleaseAll(),
        };
        if (ObservedServerSession is { } observed)
        {
            request.ClientObservedServerSideSessionId = observed;
        }
        try
        {
            // Not cancellable by the caller: releasing also interrupts an operation abandoned by cancellation.
            await _stub.ReleaseExecuteAsync(request, CallOptionsFor(CleanupTimeout, CancellationToken.None));
        }
        catch (RpcException ex)
        {
            Log($"Spark ReleaseExecute of operation {operationId} failed ({ex.StatusCode}); ignored");
        }
        catch (ObjectDisposedException)
        {
            // The client was disposed concurrently: nothing left to release with.
        }
    }

    private async Task<T> UnaryAsync<T>(string rpc, Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        for (var attempt = 0; ; attempt++)
        {
            RpcException failure;
            try
            {
                StartConnectClock();
                var result = await call(CallOptionsFor(_options.UnaryCallTimeout, cancellationToken));
                MarkConnected();
                return result;
            }
            catch (RpcException ex) when (SparkErrors.IsRetryable(ex))
            {
                failure = ex;
            }
            catch (RpcException ex)
            {
                throw Translate(ex, rpc, attempt + 1);
            }
            await BackOffAsync(failure, rpc, null, attempt + 1, cancellationToken);
        }
    }

    /// <summary>
    /// After retryable failure number <paramref name="failures"/> (consecutive, from 1) of <paramref name="rpc"/>:
    /// logs the reason and the wait (info), waits, and returns; or throws when the client gives up. Before the server
    /// has ever answered, the connect budget bounds the time spent (and a server that cannot be reached at all is tried
    /// until the budget is spent, at most <see cref="SparkConnectClientOptions.MaxConnectBackoff"/> apart); afterwards
    /// <see cref="SparkRetryPolicy"/> alone decides, as it always did.
    /// </summary>
    private async Task BackOffAsync(RpcException failure, string rpc, string? operationId, int failures, CancellationToken cancellationToken)
    {
        var policy = _options.Retry;
        var reason = SparkErrors.Reason(failure, Connection.Token);
        if (!HasConnected)
        {
            var attempts = Interlocked.Increment(ref _connectAttempts);
            var budget = _options.ConnectTimeout;
            var elapsed = Stopwatch.GetElapsedTime(Volatile.Read(ref _connectStarted));
            var remaining = budget - elapsed;
            var unreachable = SparkErrors.IsTransportFailure(failure);
            if (remaining <= TimeSpan.Zero)
            {
                throw NeverConnected(failure, unreachable, reason, attempts);
            }
            if (!unreachable && failures > policy.MaxRetries)
            {
                throw Translate(failure, rpc, failures); // the server answers, and keeps saying UNAVAILABLE
            }
            var delay = Jittered(failures - 1);
            if (unreachable && delay > SparkConnectClientOptions.MaxConnectBackoff)
            {
                delay = SparkConnectClientOptions.MaxConnectBackoff;
            }
            if (delay > remaining)
            {
                delay = remaining; // one last attempt when the budget runs out
            }
            Info($"Spark Connect at {Address} {(unreachable ? "not reachable" : "not available")} ({reason}); retrying in {Seconds(delay, "0.0#")} s (attempt {attempts}, {Seconds(remaining - delay, "0")} s left of the {Seconds(budget, "0.###")} s connect budget)");
            await Task.Delay(delay, cancellationToken);
            return;
        }
        if (failures > policy.MaxRetries)
        {
            throw Translate(failure, rpc, failures);
        }
        var wait = Jittered(failures - 1);
        var call = operationId is null ? rpc : $"{rpc} of operation {operationId}";
        Info($"Spark {call} failed ({reason}); retrying in {Seconds(wait, "0.0#")} s (retry {failures}/{policy.MaxRetries})");
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }

    private SparkConnectException NeverConnected(RpcException failure, bool unreachable, string reason, int attempts)
    {
        var budget = Seconds(_options.ConnectTimeout, "0.###");
        var message = unreachable
            ? $"could not connect to Spark Connect at {Address} within {budget} s ({attempts} attempts; last: {reason})"
            : $"Spark Connect at {Address} did not become available within {budget} s ({attempts} attempts; last: {reason})";
        return new SparkConnectException(
            SparkErrorKind.Connection,
            SparkErrors.OneLine(SparkErrors.Scrub(message, Connection.Token) ?? ""),
            SparkErrors.FromRpc(failure, "connect", Connection.Endpoint, Connection.Token, attempts))
        {
            GrpcStatus = failure.StatusCode,
            NeverConnected = true,
            ConnectBudget = _options.ConnectTimeout,
        };
    }

    private static string Seconds(TimeSpan t, string format) =>
        Math.Max(0, t.TotalSeconds).ToString(format, CultureInfo.InvariantCulture);

    private void StartConnectClock()
    {
        if (Volatile.Read(ref _connectStarted) == 0)
        {
            Interlocked.CompareExchange(ref _connectStarted, Stopwatch.GetTimestamp(), 0);
        }
    }

    private void MarkConnected()
    {
        if (Volatile.Read(ref _connected) == 0)
        {
            Volatile.Write(ref _connected, 1);
        }
    }

    private CallOptions CallOptionsFor(TimeSpan? timeout, CancellationToken cancellationToken) =>
        new(headers: _headers, deadline: timeout is { } t ? DateTime.UtcNow + t : null, cancellationToken: cancellationToken);

    private Task DelayAsync(int retry, CancellationToken cancellationToken)
    {
        var delay = Jittered(retry);
        return delay > TimeSpan.Zero ? Task.Delay(delay, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>The policy's backoff before retry <paramref name="retry"/> (0-based), with its jitter.</summary>
    private TimeSpan Jittered(int retry)
    {
        var policy = _options.Retry;
        var delay = policy.BackoffFor(retry);
        if (policy.Jitter > 0)
        {
            var factor = 1 + (policy.Jitter * ((Random.Shared.NextDouble() * 2) - 1));
            delay = TimeSpan.FromTicks((long)(delay.Ticks * factor));
        }
        return delay;
    }

    private SparkConnectException Translate(RpcException ex, string rpc, int attempts)
    {
        if (!HasConnected && SparkErrors.IsTlsFailure(ex))
        {
            // Not worth retrying (a TLS client talking to a plain-text server, or a certificate it does not trust), and
            // gRPC reports it as INTERNAL: say what it is, like an unreachable server.
            var message = $"could not connect to Spark Connect at {Address}: {SparkErrors.Reason(ex, Connection.Token)}"
                + (Connection.UseSsl ? " (a server without TLS needs use_ssl=false; a token turns TLS on)" : "");
            return new SparkConnectException(
                SparkErrorKind.Connection,
                SparkErrors.OneLine(SparkErrors.Scrub(message, Connection.Token) ?? ""),
                SparkErrors.FromRpc(ex, rpc, Connection.Endpoint, Connection.Token, attempts))
            {
                GrpcStatus = ex.StatusCode,
                NeverConnected = true,
            };
        }
        return SparkErrors.FromRpc(ex, rpc, Connection.Endpoint, Connection.Token, attempts);
    }

    private void ObserveServerSession(string serverSideSessionId)
    {
        if (string.IsNullOrEmpty(serverSideSessionId))
        {
            return;
        }
        lock (_sessionLock)
        {
            if (_serverSideSessionId is null)
            {
                _serverSideSessionId = serverSideSessionId;
            }
            else if (_serverSideSessionId != serverSideSessionId)
            {
                throw new SparkConnectException(
                    SparkErrorKind.Connection,
                    $"Spark session {SessionId} changed on the server (server restarted?); its temp views and settings are lost");
            }
        }
    }

    private void Log(string line) => Emit(_options.Log, line);

    /// <summary>A line the user sees at normal verbosity (retries); to <see cref="Log"/> when there is no info sink.</summary>
    private void Info(string line) => Emit(_options.Info ?? _options.Log, line);

    private void Emit(Action<string>? sink, string line)
    {
        if (sink is not null)
        {
            sink(SparkErrors.OneLine(SparkErrors.Scrub(line, Connection.Token) ?? string.Empty));
        }
    }

    /// <summary>Decodes ArrowBatch payloads in arrival order.</summary>
    private sealed class BatchCollector : IDisposable
    {
        private readonly List<RecordBatch> _batches = [];
        private Schema? _schema;

        public void Add(ExecutePlanResponse.Types.ArrowBatch batch)
        {
            var schema = ArrowIpc.Decode(batch.Data, _batches);
            _schema ??= schema;
        }

        /// <summary>Hands the batches over to a result; this collector is empty afterwards.</summary>
        public SparkQueryResult TakeResult()
        {
            var result = new SparkQueryResult(_schema, [.. _batches]);
            _batches.Clear();
            return result;
        }

        public void Dispose()
        {
            foreach (var batch in _batches)
            {
                batch.Dispose();
            }
            _batches.Clear();
        }
    }
}
