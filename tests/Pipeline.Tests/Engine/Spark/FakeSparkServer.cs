using System.Collections.Concurrent;
using System.Net;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Engine.Spark.Protocol;
using Pipeline.Tests.Engine.Spark.Executing;
using Rpc = Pipeline.Engine.Spark.Protocol.Rpc;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>A real Kestrel gRPC server on 127.0.0.1 (ephemeral port, h2c) hosting <see cref="FakeSparkService"/>.</summary>
internal sealed class FakeSparkServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeSparkServer(WebApplication app, FakeSparkService service, Uri address)
    {
        _app = app;
        Service = service;
        Address = address;
    }

    public FakeSparkService Service { get; }

    public Uri Address { get; }

    /// <summary>A connection string for this server without a session id: each client (each stage's engine) opens its own session.</summary>
    public string Remote => $"sc://127.0.0.1:{Address.Port}";

    /// <summary>A connection string for this server with a fixed session id plus <paramref name="extra"/> parameters.</summary>
    public string ConnectionString(string extra = "") =>
        $"sc://127.0.0.1:{Address.Port}/;session_id={FakeSparkService.TestSessionId}{extra}";

    /// <summary>Starts the fake; with <paramref name="executor"/> it executes what it accepts (see <see cref="FakeSparkService.Executor"/>).</summary>
    public static async Task<FakeSparkServer> StartAsync(ExecutingSparkBackend? executor = null)
    {
        var service = new FakeSparkService { Executor = executor };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = 256 * 1024 * 1024;
            o.MaxSendMessageSize = 256 * 1024 * 1024;
        });
        builder.Services.AddSingleton(service);
        var app = builder.Build();
        app.MapGrpcService<FakeSparkService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FakeSparkServer(app, service, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Service.Executor?.Dispose();
    }
}

/// <summary>One recorded call: RPC name, request and the (non-binary) request headers.</summary>
internal sealed record RecordedCall(string Rpc, IMessage Request, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// The subset of Spark Connect the client uses, with Spark's semantics where the client depends on them
/// (UUID checks, reattachable operations buffered by response id, OPERATION_ALREADY_EXISTS/NOT_FOUND, ReleaseExecute),
/// and knobs for failures. Records every request. Strict by default (<see cref="StrictSparkCatalog"/>): SQL Spark 3.5
/// would reject, and reads of views that are unknown or whose sources were dropped, fail with Spark's errors. Queries
/// answer canned rows (<see cref="OnQuery"/>), unless an <see cref="Executor"/> executes what passed the checks.
/// </summary>
internal sealed class FakeSparkService : SparkConnectService.SparkConnectServiceBase
{
    public const string TestSessionId = "0f8e2a3c-5b1d-4c7e-9a6f-2d4b8c1e3f5a";

    private readonly ConcurrentQueue<RecordedCall> _calls = new();
    private readonly ConcurrentDictionary<string, Operation> _operations = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Func<RpcException>>> _failures = new();
    private readonly ConcurrentDictionary<string, Func<RpcException>> _permanentFailures = new();

    /// <summary>Session config received through Config Set.</summary>
    public ConcurrentDictionary<string, string> Conf { get; } = new();

    /// <summary>Answers <c>plan.root.sql</c>: the payload responses (Arrow batches, progress, metrics) for a query.</summary>
    public Func<string, IReadOnlyList<ExecutePlanResponse>> OnQuery { get; set; } =
        sql => throw SparkError(StatusCode.Internal, "TABLE_OR_VIEW_NOT_FOUND", "42P01", "org.apache.spark.sql.AnalysisException",
            $"[TABLE_OR_VIEW_NOT_FOUND] The table or view cannot be found for query: {sql}");

    /// <summary>Every ExecutePlan/ReattachExecute stream ends (status OK, no result_complete) after this many responses.</summary>
    public int CutStreamAfter { get; set; } = int.MaxValue;

    /// <summary>The next ExecutePlan of a query (plan.root) fails with UNAVAILABLE after this many responses (once).</summary>
    public int? BreakNextQueryStreamAfter { get; set; }

    /// <summary>The next ExecutePlan of a query ends OK at once without registering the operation (a lost request).</summary>
    public bool DropNextQueryExecute { get; set; }

    public string SparkVersion { get; set; } = "3.5.3";

    /// <summary>Whether SQL and relations are checked against <see cref="Catalog"/> as Spark 3.5 would (default: yes).</summary>
    public bool Strict { get; set; } = true;

    /// <summary>The session's temp views and cached tables, and the persistent tables a test declares.</summary>
    /// <remarks>One catalog for every session unless an <see cref="Executor"/> is set: then each session has its own (<see cref="CatalogOf"/>), as in Spark.</remarks>
    public StrictSparkCatalog Catalog { get; } = new();

    private readonly ConcurrentDictionary<string, StrictSparkCatalog> _sessionCatalogs = new(StringComparer.Ordinal);

    /// <summary>
    /// Executing mode: when set, what passes the strict checks is executed (on an embedded DuckDB, the Spark SQL
    /// translated: <see cref="ExecutingSparkBackend"/>) and queries answer their real rows, instead of <see cref="OnQuery"/>.
    /// </summary>
    public ExecutingSparkBackend? Executor { get; init; }

    /// <summary>The strict catalog of a session: <see cref="Catalog"/>, or with an <see cref="Executor"/> the session's own.</summary>
    public StrictSparkCatalog CatalogOf(string sessionId) => Executor is null ? Catalog : _sessionCatalogs.GetOrAdd(sessionId, _ => new StrictSparkCatalog());

    /// <summary>Stamped on every ExecutePlan response (Spark 4.0's server_side_session_id); empty = not sent.</summary>
    public string ServerSideSessionId { get; set; } = string.Empty;

    public IReadOnlyList<RecordedCall> Calls => [.. _calls];

    public IReadOnlyList<T> Requests<T>()
        where T : IMessage => [.. _calls.Select(c => c.Request).OfType<T>()];

    /// <summary>Response ids the server issued per operation, in order (including result_complete's).</summary>
    public IReadOnlyList<string> IssuedResponseIds(string operationId) =>
        _operations.TryGetValue(operationId, out var op) ? [.. op.Responses.Select(r => r.ResponseId)] : [];

    /// <summary>The next <paramref name="times"/> calls of <paramref name="rpc"/> fail with <paramref name="error"/>.</summary>
    public void FailNext(string rpc, int times, Func<RpcException> error)
    {
        var queue = _failures.GetOrAdd(rpc, _ => new ConcurrentQueue<Func<RpcException>>());
        for (var i = 0; i < times; i++)
        {
            queue.Enqueue(error);
        }
    }

    /// <summary>Every call of <paramref name="rpc"/> fails with <paramref name="error"/> (null: stop failing).</summary>
    public void FailAlways(string rpc, Func<RpcException>? error)
    {
        if (error is null)
        {
            _permanentFailures.TryRemove(rpc, out _);
        }
        else
        {
            _permanentFailures[rpc] = error;
        }
    }

    /// <summary>An RpcException shaped like Spark's: google.rpc.Status with ErrorInfo in grpc-status-details-bin.</summary>
    public static RpcException SparkError(StatusCode code, string? errorClass, string? sqlState, string reason, string message)
    {
        var info = new Rpc.ErrorInfo { Reason = reason, Domain = "org.apache.spark" };
        info.Metadata["classes"] = $"[\"{reason}\",\"java.lang.Exception\"]";
        if (errorClass is not null)
        {
            info.Metadata["errorClass"] = errorClass;
        }
        if (sqlState is not null)
        {
            info.Metadata["sqlState"] = sqlState;
        }
        var status = new Rpc.Status { Code = (int)code, Message = message, Details = { Any.Pack(info) } };
        return new RpcException(new Grpc.Core.Status(code, message), new Metadata { { "grpc-status-details-bin", status.ToByteArray() } });
    }

    public static ByteString ArrowStream(RecordBatch batch)
    {
        using var ms = new MemoryStream();
        using (var writer = new ArrowStreamWriter(ms, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return ByteString.CopyFrom(ms.ToArray());
    }

    public static ExecutePlanResponse Batch(RecordBatch batch) =>
        new() { ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = batch.Length, Data = ArrowStream(batch) } };

    // Responses Spark sends that the client deliberately does not declare (so the shared proto does not either):
    // written as raw fields with Spark's numbers, they reach the client as unknown fields, exactly as from Spark, and
    // prove that unknown responses are ignored. Parsed messages keep unknown fields through Clone and serialization.

    /// <summary>Spark 4.0's <c>execution_progress = 18</c> (a response_type oneof member): <c>{ num_inflight_tasks = 2 }</c>.</summary>
    public static ExecutePlanResponse Progress(int inflight) =>
        ExecutePlanResponse.Parser.ParseFrom(Encode(o => WriteMessage(o, 18, p =>
        {
            p.WriteTag(2, WireFormat.WireType.Varint);
            p.WriteInt64(inflight);
        })));

    /// <summary><c>metrics = 4</c> alone: <c>{ metrics = 1: [ { name = 1 } ] }</c>.</summary>
    public static ExecutePlanResponse MetricsOnly(string name) =>
        ExecutePlanResponse.Parser.ParseFrom(Encode(o => WriteMessage(o, 4, m => WriteMessage(m, 1, metric =>
        {
            metric.WriteTag(1, WireFormat.WireType.LengthDelimited);
            metric.WriteString(name);
        }))));

    private static void WriteMessage(CodedOutputStream output, int field, Action<CodedOutputStream> body)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(Encode(body));
    }

    private static ByteString Encode(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        using (var output = new CodedOutputStream(ms, leaveOpen: true))
        {
            write(output);
        }
        return ByteString.CopyFrom(ms.ToArray());
    }

    public override async Task ExecutePlan(ExecutePlanRequest request, IServerStreamWriter<ExecutePlanResponse> responseStream, ServerCallContext context)
    {
        Record("ExecutePlan", request, context);
        InjectFailure("ExecutePlan");
        RequireUuid(request.SessionId, "session_id");
        RequireUuid(request.OperationId, "operation_id");
        if (request.Plan.OpTypeCase == Plan.OpTypeOneofCase.Root && DropNextQueryExecute)
        {
            DropNextQueryExecute = false;
            return;
        }
        var reattachable = request.RequestOptions.Any(o => o.ReattachOptions?.Reattachable == true);
        if (_operations.ContainsKey(request.OperationId))
        {
            // Before executing: a resent command must not take effect twice.
            throw SparkError(StatusCode.InvalidArgument, "INVALID_HANDLE.OPERATION_ALREADY_EXISTS", null,
                "org.apache.spark.SparkSQLException", "[INVALID_HANDLE.OPERATION_ALREADY_EXISTS] Operation already exists.");
        }
        var payload = Execute(request.Plan, request.SessionId);
        var operation = new Operation(request.SessionId, request.OperationId, ServerSideSessionId) { CutAfter = CutStreamAfter };
        foreach (var r in payload)
        {
            operation.Add(r);
        }
        if (reattachable)
        {
            operation.Add(new ExecutePlanResponse { ResultComplete = new ExecutePlanResponse.Types.ResultComplete() });
        }
        if (!_operations.TryAdd(request.OperationId, operation))
        {
            throw SparkError(StatusCode.InvalidArgument, "INVALID_HANDLE.OPERATION_ALREADY_EXISTS", null,
                "org.apache.spark.SparkSQLException", "[INVALID_HANDLE.OPERATION_ALREADY_EXISTS] Operation already exists.");
        }
        int? breakAfter = null;
        if (request.Plan.OpTypeCase == Plan.OpTypeOneofCase.Root)
        {
            breakAfter = BreakNextQueryStreamAfter;
            BreakNextQueryStreamAfter = null;
        }
        await Stream(operation, 0, responseStream, breakAfter, context.CancellationToken);
    }

    public override async Task ReattachExecute(ReattachExecuteRequest request, IServerStreamWriter<ExecutePlanResponse> responseStream, ServerCallContext context)
    {
        Record("ReattachExecute", request, context);
        InjectFailure("ReattachExecute");
        if (!_operations.TryGetValue(request.OperationId, out var operation) || operation.Released)
        {
            throw SparkError(StatusCode.Internal, "INVALID_HANDLE.OPERATION_NOT_FOUND", null,
                "org.apache.spark.SparkSQLException", "[INVALID_HANDLE.OPERATION_NOT_FOUND] Operation not found.");
        }
        var start = 0;
        if (request.HasLastResponseId)
        {
            var index = operation.Responses.FindIndex(r => r.ResponseId == request.LastResponseId);
            if (index < 0)
            {
                throw SparkError(StatusCode.Internal, "INVALID_CURSOR.POSITION_NOT_AVAILABLE", null,
                    "org.apache.spark.SparkSQLException", "[INVALID_CURSOR.POSITION_NOT_AVAILABLE] Response id not found.");
            }
            start = index + 1;
        }
        await Stream(operation, start, responseStream, null, context.CancellationToken);
    }

    public override Task<ReleaseExecuteResponse> ReleaseExecute(ReleaseExecuteRequest request, ServerCallContext context)
    {
        Record("ReleaseExecute", request, context);
        InjectFailure("ReleaseExecute");
        var response = new ReleaseExecuteResponse { SessionId = request.SessionId };
        if (_operations.TryGetValue(request.OperationId, out var operation))
        {
            operation.Released = request.ReleaseCase == ReleaseExecuteRequest.ReleaseOneofCase.ReleaseAll;
            response.OperationId = request.OperationId;
        }
        return Task.FromResult(response);
    }

    public override Task<ConfigResponse> Config(ConfigRequest request, ServerCallContext context)
    {
        Record("Config", request, context);
        InjectFailure("Config");
        RequireUuid(request.SessionId, "session_id");
        var response = new ConfigResponse { SessionId = request.SessionId };
        switch (request.Operation.OpTypeCase)
        {
            case ConfigRequest.Types.Operation.OpTypeOneofCase.Set:
                foreach (var pair in request.Operation.Set.Pairs)
                {
                    Conf[pair.Key] = pair.Value;
                }
                break;
            case ConfigRequest.Types.Operation.OpTypeOneofCase.Get:
                foreach (var key in request.Operation.Get.Keys)
                {
                    if (!Conf.TryGetValue(key, out var value))
                    {
                        throw SparkError(StatusCode.Internal, "SQL_CONF_NOT_FOUND", "42K0I", "org.apache.spark.sql.AnalysisException",
                            $"[SQL_CONF_NOT_FOUND] The SQL config \"{key}\" cannot be found.");
                    }
                    response.Pairs.Add(new KeyValue { Key = key, Value = value });
                }
                break;
        }
        return Task.FromResult(response);
    }

    public override Task<AnalyzePlanResponse> AnalyzePlan(AnalyzePlanRequest request, ServerCallContext context)
    {
        Record("AnalyzePlan", request, context);
        InjectFailure("AnalyzePlan");
        RequireUuid(request.SessionId, "session_id");
        if (request.AnalyzeCase != AnalyzePlanRequest.AnalyzeOneofCase.SparkVersion)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, "only spark_version"));
        }
        return Task.FromResult(new AnalyzePlanResponse
        {
            SessionId = request.SessionId,
            SparkVersion = new AnalyzePlanResponse.Types.SparkVersion { Version = SparkVersion },
        });
    }

    public override Task<ReleaseSessionResponse> ReleaseSession(ReleaseSessionRequest request, ServerCallContext context)
    {
        Record("ReleaseSession", request, context);
        Executor?.Release(request.SessionId);
        _sessionCatalogs.TryRemove(request.SessionId, out _);
        return Task.FromResult(new ReleaseSessionResponse { SessionId = request.SessionId });
    }

    private static void RequireUuid(string value, string field)
    {
        if (!Guid.TryParseExact(value, "D", out _))
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, $"[INVALID_HANDLE.FORMAT] {field} must be a UUID"));
        }
    }

    private static async Task Stream(Operation operation, int start, IServerStreamWriter<ExecutePlanResponse> stream, int? breakAfter, CancellationToken ct)
    {
        var sent = 0;
        for (var i = start; i < operation.Responses.Count; i++)
        {
            if (sent == breakAfter)
            {
                throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "connection reset (injected)"));
            }
            await stream.WriteAsync(operation.Responses[i], ct);
            sent++;
            if (sent >= operation.CutAfter)
            {
                return; // ends the stream OK without result_complete: the client must reattach
            }
        }
    }

    private IReadOnlyList<ExecutePlanResponse> Execute(Plan plan, string sessionId)
    {
        var catalog = CatalogOf(sessionId);
        var session = Executor?.Session(sessionId);
        switch (plan.OpTypeCase)
        {
            case Plan.OpTypeOneofCase.Command when plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.SqlCommand:
            {
                var sql = plan.Command.SqlCommand.Sql;
                if (Strict)
                {
                    catalog.Sql(sql, command: true);
                }
                // Spark runs a command now and answers its output as a LocalRelation; a query comes back as the relation to execute.
                var output = session?.Command(sql);
                return [new ExecutePlanResponse
                {
                    SqlCommandResult = new ExecutePlanResponse.Types.SqlCommandResult
                    {
                        Relation = output is null
                            ? new Relation { Sql = new SQL { Query = sql } }
                            : new Relation { LocalRelation = new LocalRelation { Data = ByteString.CopyFrom(output) } },
                    },
                }];
            }
            case Plan.OpTypeOneofCase.Command:
                if (plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.CreateDataframeView)
                {
                    var view = plan.Command.CreateDataframeView;
                    if (Strict)
                    {
                        catalog.DataFrameView(view.Name, view.Replace, view.Input);
                    }
                    session?.CreateView(view.Name, view.Replace, view.Input);
                }
                else if (plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.WriteOperation)
                {
                    if (Strict)
                    {
                        catalog.ReadRelation(plan.Command.WriteOperation.Input);
                    }
                    session?.Write(plan.Command.WriteOperation);
                }
                return [MetricsOnly("command")];
            case Plan.OpTypeOneofCase.Root when plan.Root.RelTypeCase == Relation.RelTypeOneofCase.Sql:
                if (Strict)
                {
                    catalog.Sql(plan.Root.Sql.Query, command: false);
                }
                return session is null ? OnQuery(plan.Root.Sql.Query) : [.. session.Query(plan.Root.Sql.Query).Select(Batch)];
            case Plan.OpTypeOneofCase.Root when plan.Root.RelTypeCase == Relation.RelTypeOneofCase.LocalRelation:
                // A command's output (see above), executed as the client does with PySpark's flow.
                return [new ExecutePlanResponse
                {
                    ArrowBatch = new ExecutePlanResponse.Types.ArrowBatch { RowCount = RowCount(plan.Root.LocalRelation.Data), Data = plan.Root.LocalRelation.Data },
                }];
            default:
                throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, $"fake server: {plan.OpTypeCase}"));
        }
    }

    private static long RowCount(ByteString ipc)
    {
        using var reader = new ArrowStreamReader(new MemoryStream(ipc.ToByteArray()));
        long rows = 0;
        while (reader.ReadNextRecordBatch() is { } batch)
        {
            rows += batch.Length;
            batch.Dispose();
        }
        return rows;
    }

    private void Record(string rpc, IMessage request, ServerCallContext context)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.IsBinary)
            {
                headers[entry.Key] = entry.Value;
            }
        }
        _calls.Enqueue(new RecordedCall(rpc, request, headers));
    }

    private void InjectFailure(string rpc)
    {
        if (_permanentFailures.TryGetValue(rpc, out var always))
        {
            throw always();
        }
        if (_failures.TryGetValue(rpc, out var queue) && queue.TryDequeue(out var error))
        {
            throw error();
        }
    }

    private sealed class Operation(string sessionId, string operationId, string serverSideSessionId)
    {
        public List<ExecutePlanResponse> Responses { get; } = [];

        public int CutAfter { get; set; } = int.MaxValue;

        public bool Released { get; set; }

        public void Add(ExecutePlanResponse response)
        {
            var r = response.Clone();
            r.SessionId = sessionId;
            r.OperationId = operationId;
            r.ServerSideSessionId = serverSideSessionId;
            r.ResponseId = Guid.NewGuid().ToString("D");
            Responses.Add(r);
        }
    }
}

/// <summary>
/// What the strict fake knows of the session's catalog, and the checks it runs on every SQL text before answering:
/// it rejects, with the error Spark would send (same google.rpc.Status + ErrorInfo shape, error class and SQLSTATE),
/// what Spark 3.5 would reject, so a test fails where Spark would — without executing anything.
/// </summary>
/// <remarks>
/// Catalog: temp views (SQL views, DataFrame views, <c>CACHE TABLE … AS</c>) with their SQL text and the names it reads,
/// plus the "persistent" tables a test declares (<see cref="Tables"/>). As in Spark (views made from SQL are kept as text
/// and analysed again on every use, <c>spark.sql.legacy.storeAnalyzedPlanForView=false</c>), a statement reading a view
/// resolves every name the view reads, recursively: after <c>DROP VIEW</c>/<c>DROP TABLE</c> of a source, its dependents
/// answer <c>TABLE_OR_VIEW_NOT_FOUND</c> (42P01) — CachedTableSuite "cascading cache invalidation - drop temporary view".
/// <c>UNCACHE TABLE</c> of a temp view only removes its cache: the view and its dependents (and their caches) stay valid
/// (UncacheTableExec(cascade = !isTempView); CachedTableSuite "Non-cascading Cache Invalidation - uncache temporary view").
/// Table references are the names after FROM (of a SELECT) and JOIN, minus CTE names; qualified names
/// (<c>parquet.`/dir`</c>, <c>db.t</c>) and table functions are not checked.
/// Rejected SQL: calls of functions Spark 3.5 does not have (UNRESOLVED_ROUTINE, 42883; the list in
/// Data/spark-functions.txt), VARCHAR without a length (DATATYPE_MISSING_SIZE, 42K01), DESCRIBE inside a subquery,
/// QUALIFY, <c>::</c> casts (PARSE_SYNTAX_ERROR, 42601: none of them parses in Spark 3.5), and double-quoted tokens
/// (a string literal in Spark, never an identifier: Spark would silently compare with a constant, the fake refuses).
/// Single-quoted literals (with Spark's backslash escapes), backticked identifiers and comments are skipped first.
/// </remarks>
internal sealed class StrictSparkCatalog
{
    private readonly object _lock = new();
    private readonly Dictionary<string, CatalogView> _views = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A temp view: its SQL (null for a DataFrame over files or local data), the names it reads, whether it is cached.</summary>
    public sealed record CatalogView(string Name, string? Sql, IReadOnlySet<string> Reads, bool Cached);

    /// <summary>Persistent tables the session can read (declared by a test; Spark's catalog would have them).</summary>
    public HashSet<string> Tables { get; } = new(StringComparer.OrdinalIgnoreCase);

    public CatalogView? View(string name)
    {
        lock (_lock)
        {
            return _views.GetValueOrDefault(name);
        }
    }

    public IReadOnlyList<string> ViewNames()
    {
        lock (_lock)
        {
            return [.. _views.Keys.Order(StringComparer.OrdinalIgnoreCase)];
        }
    }

    /// <summary>A SQL text sent as <c>command.sql_command</c> (commands take effect) or as a relation (queries only).</summary>
    public void Sql(string sql, bool command)
    {
        lock (_lock)
        {
            var tokens = SqlTokens.Tokenize(sql);
            CheckSyntax(tokens, sql);
            var first = tokens.FirstOrDefault(t => t.Kind != SqlTokens.Kind.Symbol || t.Text != "(")?.Upper ?? "";
            switch (first)
            {
                case "CREATE" when command:
                    CreateView(tokens, sql);
                    break;
                case "CACHE" when command:
                    CacheTable(tokens, sql);
                    break;
                case "UNCACHE" when command:
                    Uncache(tokens);
                    break;
                case "DROP" when command:
                    Drop(tokens);
                    break;
                case "CREATE" or "CACHE" or "UNCACHE" or "DROP":
                    break; // the relation a command's SqlCommandResult echoes: already done
                default:
                    ResolveAll(SqlTokens.References(tokens));
                    break;
            }
        }
    }

    /// <summary><c>CreateDataFrameViewCommand</c>: a view over a relation (files, local data, SQL, a named table).</summary>
    public void DataFrameView(string name, bool replace, Relation input)
    {
        lock (_lock)
        {
            var reads = RelationReads(input);
            ResolveAll(reads);
            if (!replace && _views.ContainsKey(name))
            {
                throw AlreadyExists(name);
            }
            _views[name] = new CatalogView(name, input.RelTypeCase == Relation.RelTypeOneofCase.Sql ? input.Sql.Query : null, reads, false);
        }
    }

    /// <summary>A relation to execute (plan.root, WriteOperation.input): every name it reads must resolve.</summary>
    public void ReadRelation(Relation relation)
    {
        lock (_lock)
        {
            if (relation.RelTypeCase == Relation.RelTypeOneofCase.Sql)
            {
                Sql(relation.Sql.Query, command: false);
                return;
            }
            ResolveAll(RelationReads(relation));
        }
    }

    private static HashSet<string> RelationReads(Relation relation)
    {
        var reads = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        switch (relation.RelTypeCase)
        {
            case Relation.RelTypeOneofCase.Sql:
                var tokens = SqlTokens.Tokenize(relation.Sql.Query);
                CheckSyntax(tokens, relation.Sql.Query);
                reads.UnionWith(SqlTokens.References(tokens));
                break;
            case Relation.RelTypeOneofCase.Read when relation.Read.ReadTypeCase == Read.ReadTypeOneofCase.NamedTable:
                reads.Add(relation.Read.NamedTable.UnparsedIdentifier.Trim('`'));
                break;
            case Relation.RelTypeOneofCase.Project:
                reads.UnionWith(RelationReads(relation.Project.Input));
                break;
        }
        return reads;
    }

    // CREATE [OR REPLACE] [GLOBAL] TEMP[ORARY] VIEW [IF NOT EXISTS] name [(cols)] AS query
    private void CreateView(IReadOnlyList<SqlTokens.Token> t, string sql)
    {
        var i = 1;
        var replace = false;
        if (Is(t, i, "OR") && Is(t, i + 1, "REPLACE"))
        {
            replace = true;
            i += 2;
        }
        if (Is(t, i, "GLOBAL"))
        {
            i++;
        }
        var temp = Is(t, i, "TEMP") || Is(t, i, "TEMPORARY");
        if (temp)
        {
            i++;
        }
        if (!Is(t, i, "VIEW"))
        {
            ResolveAll(SqlTokens.References(t)); // CREATE TABLE … AS and the like: reads only
            return;
        }
        i++;
        var ifNotExists = Is(t, i, "IF") && Is(t, i + 1, "NOT") && Is(t, i + 2, "EXISTS");
        if (ifNotExists)
        {
            i += 3;
        }
        var name = t[i].Value;
        var reads = SqlTokens.References(t);
        ResolveAll(reads);
        if (_views.ContainsKey(name) && !replace)
        {
            if (ifNotExists)
            {
                return;
            }
            throw AlreadyExists(name);
        }
        _views[name] = new CatalogView(name, sql, reads, false);
    }

    // CACHE [LAZY] TABLE name [OPTIONS (…)] [[AS] query]
    private void CacheTable(IReadOnlyList<SqlTokens.Token> t, string sql)
    {
        var i = 1;
        if (Is(t, i, "LAZY"))
        {
            i++;
        }
        i++; // TABLE
        var name = t[i].Value;
        i++;
        if (Is(t, i, "OPTIONS"))
        {
            i = SqlTokens.Close(t, i + 1) + 1;
        }
        if (i >= t.Count)
        {
            Resolve(name, []);
            _views[name] = _views.TryGetValue(name, out var v) ? v with { Cached = true } : new CatalogView(name, null, new HashSet<string>(), true);
            return;
        }
        var reads = SqlTokens.References(t);
        ResolveAll(reads);
        if (_views.ContainsKey(name))
        {
            throw AlreadyExists(name); // CacheTableAsSelectExec creates the view with replace = false
        }
        _views[name] = new CatalogView(name, sql, reads, true);
    }

    // UNCACHE TABLE [IF EXISTS] name: the view stays, so do its dependents (non-cascading for temp views).
    private void Uncache(IReadOnlyList<SqlTokens.Token> t)
    {
        var ifExists = Is(t, 2, "IF") && Is(t, 3, "EXISTS");
        var name = t[ifExists ? 4 : 2].Value;
        if (!_views.ContainsKey(name) && !Tables.Contains(name))
        {
            if (ifExists)
            {
                return;
            }
            throw NotFound(name);
        }
        Resolve(name, []);
        if (_views.TryGetValue(name, out var view))
        {
            _views[name] = view with { Cached = false };
        }
    }

    // DROP VIEW|TABLE [IF EXISTS] name: dependents are not dropped, they fail when next read (and lose their caches).
    private void Drop(IReadOnlyList<SqlTokens.Token> t)
    {
        var ifExists = Is(t, 2, "IF") && Is(t, 3, "EXISTS");
        var name = t[ifExists ? 4 : 2].Value;
        if (_views.Remove(name) || Tables.Remove(name))
        {
            foreach (var dependent in Dependents(name))
            {
                _views[dependent] = _views[dependent] with { Cached = false };
            }
            return;
        }
        if (!ifExists)
        {
            throw NotFound(name);
        }
    }

    private List<string> Dependents(string name)
    {
        var found = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var queue = new Queue<string>([name]);
        while (queue.TryDequeue(out var n))
        {
            foreach (var v in _views.Values.Where(v => v.Reads.Contains(n) && found.Add(v.Name)))
            {
                queue.Enqueue(v.Name);
            }
        }
        return [.. found];
    }

    private void ResolveAll(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            Resolve(name, []);
        }
    }

    /// <summary>Resolves a name as Spark's analyzer would: a view's text is analysed again, so every name it reads must exist now.</summary>
    private void Resolve(string name, HashSet<string> visiting)
    {
        if (Tables.Contains(name))
        {
            return;
        }
        if (!_views.TryGetValue(name, out var view))
        {
            throw NotFound(name);
        }
        if (!visiting.Add(name))
        {
            return;
        }
        foreach (var read in view.Reads)
        {
            Resolve(read, visiting);
        }
    }

    private static bool Is(IReadOnlyList<SqlTokens.Token> t, int i, string word) =>
        i < t.Count && t[i].Kind == SqlTokens.Kind.Word && t[i].Upper == word;

    private static void CheckSyntax(IReadOnlyList<SqlTokens.Token> t, string sql)
    {
        for (var i = 0; i < t.Count; i++)
        {
            var token = t[i];
            switch (token.Kind)
            {
                case SqlTokens.Kind.DoubleQuoted:
                    throw ParseError(token.Text, "a double-quoted token is a string literal in Spark, not an identifier (quote identifiers with backticks)");
                case SqlTokens.Kind.Symbol when token.Text == "::":
                    throw ParseError(":", "Spark 3.5 has no :: cast; use CAST(x AS type)");
                case SqlTokens.Kind.Symbol when token.Text == "(" && (Is(t, i + 1, "DESCRIBE") || Is(t, i + 1, "DESC")):
                    throw ParseError(t[i + 1].Text, "DESCRIBE is a statement, it cannot be a subquery");
                case SqlTokens.Kind.Word when token.Upper == "QUALIFY":
                    throw ParseError(token.Text, "QUALIFY is not in open-source Spark; filter the window in a subquery");
                case SqlTokens.Kind.Word when token.Upper is "VARCHAR" && !(i + 1 < t.Count && t[i + 1].Text == "("):
                    throw FakeSparkService.SparkError(StatusCode.Internal, "DATATYPE_MISSING_SIZE", "42K01", "org.apache.spark.sql.catalyst.parser.ParseException",
                        $"[DATATYPE_MISSING_SIZE] DataType \"VARCHAR\" requires a length parameter, for example \"VARCHAR\"(10). Please specify the length.\n== SQL ==\n{sql}");
                case SqlTokens.Kind.Word when OrderedWindowFunctions.Contains(token.Upper) && i + 1 < t.Count && t[i + 1].Text == "(" && !Ordered(t, i):
                    // WindowOrderResolver: a ranking or offset window function needs an ordered window (3.5: _LEGACY_ERROR_TEMP_1037).
                    throw FakeSparkService.SparkError(StatusCode.Internal, "_LEGACY_ERROR_TEMP_1037", null, "org.apache.spark.sql.AnalysisException",
                        $"Window function {token.Value.ToLowerInvariant()}() requires window to be ordered, please add ORDER BY clause.");
                case SqlTokens.Kind.Word when i + 1 < t.Count && t[i + 1].Text == "(" && IsCall(t, i) && !SparkFunctions.InOldestVersion.Contains(token.Value.ToLowerInvariant()):
                    throw FakeSparkService.SparkError(StatusCode.Internal, "UNRESOLVED_ROUTINE", "42883", "org.apache.spark.sql.AnalysisException",
                        $"[UNRESOLVED_ROUTINE] Cannot resolve function `{token.Value}` on search path [`system`.`builtin`, `system`.`session`, `spark_catalog`.`default`].");
            }
        }
    }

    /// <summary>Spark's <c>WindowFunction</c>s that need an ORDER BY in their window (ranking and offset functions).</summary>
    private static readonly HashSet<string> OrderedWindowFunctions = new(StringComparer.OrdinalIgnoreCase)
    {
        "ROW_NUMBER", "RANK", "DENSE_RANK", "PERCENT_RANK", "CUME_DIST", "NTILE", "LAG", "LEAD",
    };

    /// <summary>Whether the call at <paramref name="i"/> is not a window call (OVER a named window counts as ordered) or its OVER (…) has an ORDER BY.</summary>
    private static bool Ordered(IReadOnlyList<SqlTokens.Token> t, int i)
    {
        var close = SqlTokens.Close(t, i + 1);
        if (!Is(t, close + 1, "OVER") || close + 2 >= t.Count || t[close + 2].Text != "(")
        {
            return true;
        }
        var end = SqlTokens.Close(t, close + 2);
        for (var j = close + 3; j < end; j++)
        {
            if (Is(t, j, "ORDER") && Is(t, j + 1, "BY"))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A word followed by '(' that is a function call: not syntax, not qualified, not an alias with a column list, not a table function.</summary>
    private static bool IsCall(IReadOnlyList<SqlTokens.Token> t, int i)
    {
        if (SqlTokens.Syntax.Contains(t[i].Upper))
        {
            return false;
        }
        if (i > 0 && (t[i - 1].Text == "." || t[i - 1].Kind == SqlTokens.Kind.Word && t[i - 1].Upper is "AS" or "FROM" or "JOIN" or "VIEW" or "TABLE"))
        {
            return false;
        }
        return true;
    }

    private static RpcException ParseError(string near, string why) =>
        FakeSparkService.SparkError(StatusCode.Internal, "PARSE_SYNTAX_ERROR", "42601", "org.apache.spark.sql.catalyst.parser.ParseException",
            $"[PARSE_SYNTAX_ERROR] Syntax error at or near '{near}'. (strict fake: {why})");

    public static RpcException NotFound(string name) =>
        FakeSparkService.SparkError(StatusCode.Internal, "TABLE_OR_VIEW_NOT_FOUND", "42P01", "org.apache.spark.sql.AnalysisException",
            $"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{name}` cannot be found. Verify the spelling and correctness of the schema and catalog.");

    private static RpcException AlreadyExists(string name) =>
        FakeSparkService.SparkError(StatusCode.Internal, "TEMP_TABLE_OR_VIEW_ALREADY_EXISTS", "42P07", "org.apache.spark.sql.catalyst.analysis.TempTableAlreadyExistsException",
            $"[TEMP_TABLE_OR_VIEW_ALREADY_EXISTS] Cannot create the temporary view `{name}` because it already exists.");
}

/// <summary>A small SQL tokenizer for the strict fake (Spark's lexical rules) and the table references of a statement.</summary>
internal static class SqlTokens
{
    public enum Kind { Word, Backticked, String, DoubleQuoted, Number, Symbol }

    /// <summary>One token: <see cref="Value"/> is the identifier (backticks removed) or the text.</summary>
    public sealed record Token(Kind Kind, string Text, string Value)
    {
        public string Upper { get; } = Kind == Kind.Word ? Text.ToUpperInvariant() : Text;
    }

    /// <summary>Words followed by '(' that are syntax, not function calls (keywords, type names with a size, clauses).</summary>
    public static readonly HashSet<string> Syntax = new(StringComparer.OrdinalIgnoreCase)
    {
        "AS", "IN", "ON", "AND", "OR", "NOT", "OVER", "FROM", "JOIN", "SELECT", "WHERE", "EXISTS", "VALUES", "USING", "WITHIN",
        "FILTER", "CAST", "TRY_CAST", "CASE", "WHEN", "THEN", "ELSE", "BY", "ALL", "ANY", "SOME", "UNION", "EXCEPT", "INTERSECT",
        "MINUS", "PARTITION", "TABLE", "LATERAL", "DECIMAL", "DEC", "NUMERIC", "VARCHAR", "CHAR", "CHARACTER", "WITH", "IS", "LIKE",
        "ILIKE", "RLIKE", "REGEXP", "BETWEEN", "DISTINCT", "EXTRACT", "INTERVAL", "OPTIONS", "INTO", "LIMIT", "HAVING", "GROUPING",
        "SETS", "ROLLUP", "CUBE", "WINDOW", "ROWS", "RANGE", "TABLESAMPLE", "DIV", "STRUCT", "ARRAY", "MAP", "IF", "QUERY", "RETURN",
    };

    public static List<Token> Tokenize(string sql)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end + 1;
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
            }
            else if (c is '\'' or '"')
            {
                var start = i++;
                while (i < sql.Length && sql[i] != c)
                {
                    i += sql[i] == '\\' ? 2 : 1;
                }
                i = Math.Min(i + 1, sql.Length);
                var text = sql[start..i];
                tokens.Add(new Token(c == '"' ? Kind.DoubleQuoted : Kind.String, text, text));
            }
            else if (c == '`')
            {
                var start = i++;
                var value = new System.Text.StringBuilder();
                while (i < sql.Length)
                {
                    if (sql[i] == '`')
                    {
                        if (i + 1 < sql.Length && sql[i + 1] == '`')
                        {
                            value.Append('`');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    value.Append(sql[i++]);
                }
                i = Math.Min(i + 1, sql.Length);
                tokens.Add(new Token(Kind.Backticked, sql[start..i], value.ToString()));
            }
            else if (char.IsDigit(c))
            {
                var start = i;
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] == '.' || sql[i] == '_'
                           || (sql[i] is '+' or '-' && (sql[i - 1] is 'e' or 'E'))))
                {
                    i++;
                }
                tokens.Add(new Token(Kind.Number, sql[start..i], sql[start..i]));
            }
            else if (char.IsLetter(c) || c == '_' || c == '$')
            {
                var start = i;
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] == '_' || sql[i] == '$'))
                {
                    i++;
                }
                tokens.Add(new Token(Kind.Word, sql[start..i], sql[start..i]));
            }
            else if (c == ':' && i + 1 < sql.Length && sql[i + 1] == ':')
            {
                tokens.Add(new Token(Kind.Symbol, "::", "::"));
                i += 2;
            }
            else
            {
                tokens.Add(new Token(Kind.Symbol, c.ToString(), c.ToString()));
                i++;
            }
        }
        return tokens;
    }

    /// <summary>The index of the ')' closing the '(' at <paramref name="open"/> (or the last token).</summary>
    public static int Close(IReadOnlyList<Token> t, int open)
    {
        var depth = 0;
        for (var i = open; i < t.Count; i++)
        {
            if (t[i].Text == "(" && t[i].Kind == Kind.Symbol)
            {
                depth++;
            }
            else if (t[i].Text == ")" && t[i].Kind == Kind.Symbol && --depth == 0)
            {
                return i;
            }
        }
        return t.Count - 1;
    }

    private static readonly HashSet<string> NotATable = new(StringComparer.OrdinalIgnoreCase)
    {
        "LATERAL", "VALUES", "SELECT", "WITH", "TABLE", "UNNEST",
    };

    /// <summary>
    /// The unqualified table/view names a statement reads: the relation after a JOIN, or after the FROM of a SELECT
    /// (a FROM in the same parenthesised group as a SELECT; <c>EXTRACT(x FROM y)</c> and <c>trim(a FROM b)</c> have none),
    /// with comma-separated FROM lists; CTE names excluded.
    /// </summary>
    public static HashSet<string> References(IReadOnlyList<Token> t)
    {
        var ctes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i + 2 < t.Count; i++)
        {
            if ((t[i - 1].Upper is "WITH" or "," || t[i - 1].Upper == "RECURSIVE") && t[i].Kind is Kind.Word or Kind.Backticked
                && t[i + 1].Upper == "AS" && t[i + 2].Text == "(")
            {
                ctes.Add(t[i].Value);
            }
        }
        var refs = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        // For each open group (index 0 = top level): whether a SELECT was seen in it.
        var selectSeen = new List<bool> { false };
        for (var i = 0; i < t.Count; i++)
        {
            var token = t[i];
            if (token.Kind == Kind.Symbol && token.Text == "(")
            {
                selectSeen.Add(false);
                continue;
            }
            if (token.Kind == Kind.Symbol && token.Text == ")")
            {
                if (selectSeen.Count > 1)
                {
                    selectSeen.RemoveAt(selectSeen.Count - 1);
                }
                continue;
            }
            if (token.Kind != Kind.Word)
            {
                continue;
            }
            if (token.Upper == "SELECT")
            {
                selectSeen[^1] = true;
            }
            else if (token.Upper == "JOIN" || token.Upper == "FROM" && selectSeen[^1])
            {
                var j = i + 1;
                while (true)
                {
                    j = Relation(t, j, refs, ctes);
                    if (token.Upper != "FROM" || j >= t.Count || t[j].Text != ",")
                    {
                        break;
                    }
                    j++;
                }
            }
        }
        return refs;
    }

    /// <summary>Reads one relation at <paramref name="i"/>; returns the index after it and its alias.</summary>
    private static int Relation(IReadOnlyList<Token> t, int i, HashSet<string> refs, HashSet<string> ctes)
    {
        if (i >= t.Count)
        {
            return i;
        }
        if (t[i].Text == "(")
        {
            i = Close(t, i) + 1; // a subquery: its own FROMs are found on their own
        }
        else if (t[i].Kind is Kind.Word or Kind.Backticked)
        {
            var qualified = i + 1 < t.Count && t[i + 1].Text == ".";
            var function = i + 1 < t.Count && t[i + 1].Text == "(";
            if (qualified)
            {
                i += 2; // parquet.`/dir`, db.table: not in the session's temp views
                while (i + 1 < t.Count && t[i + 1].Text == ".")
                {
                    i += 2;
                }
                i++;
            }
            else if (function)
            {
                i = Close(t, i + 1) + 1;
            }
            else
            {
                if (!(t[i].Kind == Kind.Word && NotATable.Contains(t[i].Upper)) && !ctes.Contains(t[i].Value))
                {
                    refs.Add(t[i].Value);
                }
                i++;
            }
        }
        // alias: [AS] name [(columns)]
        if (i < t.Count && t[i].Upper == "AS")
        {
            i++;
        }
        if (i < t.Count && t[i].Kind is Kind.Word or Kind.Backticked && !AfterRelation.Contains(t[i].Upper))
        {
            i++;
            if (i < t.Count && t[i].Text == "(")
            {
                i = Close(t, i) + 1;
            }
        }
        return i;
    }

    private static readonly HashSet<string> AfterRelation = new(StringComparer.OrdinalIgnoreCase)
    {
        "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "JOIN", "LEFT", "RIGHT", "FULL", "INNER", "OUTER", "CROSS", "SEMI", "ANTI",
        "ON", "USING", "UNION", "EXCEPT", "INTERSECT", "MINUS", "WINDOW", "LATERAL", "NATURAL", "SORT", "CLUSTER", "DISTRIBUTE",
        "TABLESAMPLE", "PIVOT", "UNPIVOT", "QUALIFY", "OFFSET",
    };
}
