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

    /// <summary>A connection string for this server with a fixed session id plus <paramref name="extra"/> parameters.</summary>
    public string ConnectionString(string extra = "") =>
        $"sc://127.0.0.1:{Address.Port}/;session_id={FakeSparkService.TestSessionId}{extra}";

    public static async Task<FakeSparkServer> StartAsync()
    {
        var service = new FakeSparkService();
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
    }
}

/// <summary>One recorded call: RPC name, request and the (non-binary) request headers.</summary>
internal sealed record RecordedCall(string Rpc, IMessage Request, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// The subset of Spark Connect the client uses, with Spark's semantics where the client depends on them
/// (UUID checks, reattachable operations buffered by response id, OPERATION_ALREADY_EXISTS/NOT_FOUND, ReleaseExecute),
/// and knobs for failures. Records every request.
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
        var payload = Execute(request.Plan);
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

    private IReadOnlyList<ExecutePlanResponse> Execute(Plan plan)
    {
        switch (plan.OpTypeCase)
        {
            case Plan.OpTypeOneofCase.Command when plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.SqlCommand:
                return [new ExecutePlanResponse
                {
                    SqlCommandResult = new ExecutePlanResponse.Types.SqlCommandResult
                    {
                        Relation = new Relation { Sql = new SQL { Query = plan.Command.SqlCommand.Sql } },
                    },
                }];
            case Plan.OpTypeOneofCase.Command:
                return [MetricsOnly("command")];
            case Plan.OpTypeOneofCase.Root when plan.Root.RelTypeCase == Relation.RelTypeOneofCase.Sql:
                return OnQuery(plan.Root.Sql.Query);
            default:
                throw new RpcException(new Grpc.Core.Status(StatusCode.Unimplemented, $"fake server: {plan.OpTypeCase}"));
        }
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
