using System.Net;
using System.Net.Sockets;
using Apache.Arrow;
using Google.Protobuf;
using Grpc.Core;
using NUnit.Framework;
using Pipeline.Engine.Spark;
using Pipeline.Engine.Spark.Protocol;

namespace Pipeline.Tests.Engine.Spark;

[TestFixture]
public sealed class SparkConnectClientTests
{
    private static readonly SparkRetryPolicy FastRetry = new()
    {
        MaxRetries = 3,
        InitialBackoff = TimeSpan.FromMilliseconds(1),
        Multiplier = 2,
        MaxBackoff = TimeSpan.FromMilliseconds(5),
        Jitter = 0,
    };

    private static readonly string[] ExpectedColumns = ["id", "name", "amount"];
    private static readonly string[] PartitionColumns = ["year", "month"];
    private static readonly string[] ExecuteReattachExecute = ["ExecutePlan", "ReattachExecute", "ExecutePlan"];
    private static readonly string[] ReattachThenRelease = ["ReattachExecute", "ReattachExecute", "ReleaseExecute"];

    private FakeSparkServer _server = null!;
    private List<string> _log = null!;

    private FakeSparkService Fake => _server.Service;

    [SetUp]
    public async Task StartServer()
    {
        _server = await FakeSparkServer.StartAsync();
        // The persistent tables these protocol tests read (the strict fake answers TABLE_OR_VIEW_NOT_FOUND for others).
        Fake.Catalog.Tables.UnionWith(["orders", "orders_raw", "clean", "slow"]);
        _log = [];
    }

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    private SparkConnectClient NewClient(string extra = "", SparkRetryPolicy? retry = null) =>
        new(_server.ConnectionString(extra), new SparkConnectClientOptions
        {
            Retry = retry ?? FastRetry,
            Log = line =>
            {
                lock (_log)
                {
                    _log.Add(line);
                }
            },
        });

    /// <summary>3 batches of 1,000 rows interleaved with responses the client does not know.</summary>
    private static IReadOnlyList<ExecutePlanResponse> ThreeBatches()
    {
        using var b0 = SparkTestData.Rows(0, 1000);
        using var b1 = SparkTestData.Rows(1000, 1000);
        using var b2 = SparkTestData.Rows(2000, 1000);
        return
        [
            FakeSparkService.Progress(4),
            FakeSparkService.Batch(b0),
            FakeSparkService.MetricsOnly("scan"),
            FakeSparkService.Batch(b1),
            FakeSparkService.Progress(1),
            FakeSparkService.Batch(b2),
            FakeSparkService.MetricsOnly("final"),
        ];
    }

    private static void AssertRows(SparkQueryResult result, long count)
    {
        var rows = result.Batches.SelectMany(SparkTestData.Flatten).ToList();
        Assert.That(rows, Has.Count.EqualTo(count));
        Assert.That(result.RowCount, Is.EqualTo(count));
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].Id != i || rows[i].Name != (i % 7 == 0 ? null : $"n{i}") || rows[i].Amount != i / 4.0)
            {
                Assert.Fail($"row {i} is {rows[i]}");
            }
        }
    }

    private static bool IsUuid(string s) => Guid.TryParseExact(s, "D", out _);

    // ------------------------------------------------------------------ protocol

    [Test]
    public void Service_path_is_spark_connects()
    {
        // gRPC routes by package and service name; the fake shares the proto, so only this catches a rename.
        Assert.That(SparkConnectReflection.Descriptor.Services.Single().FullName, Is.EqualTo("spark.connect.SparkConnectService"));
    }

    [Test]
    public void Server_only_responses_are_on_the_wire_as_fields_the_client_does_not_declare()
    {
        // ThreeBatches' progress and metrics responses prove that unknown responses are ignored only if they are sent.
        foreach (var (response, field) in new[] { (FakeSparkService.Progress(4), 18), (FakeSparkService.MetricsOnly("scan"), 4) })
        {
            Assert.That(ExecutePlanResponse.Descriptor.FindFieldByNumber(field), Is.Null, $"field {field} is declared now");
            Assert.That(response.ResponseTypeCase, Is.EqualTo(ExecutePlanResponse.ResponseTypeOneofCase.None));
            var sent = response.Clone(); // as the fake's operations store and stamp them
            sent.ResponseId = Guid.NewGuid().ToString("D");
            var fields = new List<int>();
            using var input = new CodedInputStream(sent.ToByteArray());
            for (var tag = input.ReadTag(); tag != 0; tag = input.ReadTag())
            {
                fields.Add(WireFormat.GetTagFieldNumber(tag));
                input.SkipLastField();
            }
            Assert.That(fields, Does.Contain(field));
        }
    }

    // ------------------------------------------------------------------ results and request shape

    [Test]
    public async Task ExecuteSql_returns_all_rows_in_order_across_batches_and_ignores_unknown_responses()
    {
        const string sql = "SELECT id, name, amount FROM orders ORDER BY id";
        Fake.OnQuery = q => q == sql ? ThreeBatches() : throw new RpcException(new Status(StatusCode.InvalidArgument, "unexpected " + q));
        await using var client = NewClient();

        using var result = await client.ExecuteSqlAsync(sql);

        Assert.That(result.Batches, Has.Count.EqualTo(3));
        Assert.That(result.Schema!.FieldsList.Select(f => f.Name), Is.EqualTo(ExpectedColumns));
        AssertRows(result, 3000);
    }

    [Test]
    public async Task ExecuteSql_sends_sql_command_then_the_returned_relation_with_ids_reattach_and_client_type()
    {
        const string sql = "SELECT 1";
        Fake.OnQuery = _ => ThreeBatches();
        await using var client = NewClient(";user_id=etl");

        using (await client.ExecuteSqlAsync(sql))
        {
        }

        var executes = Fake.Requests<ExecutePlanRequest>();
        Assert.That(executes, Has.Count.EqualTo(2));
        Assert.That(executes[0].Plan.Command.SqlCommand.Sql, Is.EqualTo(sql));
        Assert.That(executes[1].Plan.OpTypeCase, Is.EqualTo(Plan.OpTypeOneofCase.Root));
        Assert.That(executes[1].Plan.Root.Sql.Query, Is.EqualTo(sql), "the relation from sql_command_result is executed as plan.root");
        foreach (var request in executes)
        {
            Assert.That(request.SessionId, Is.EqualTo(FakeSparkService.TestSessionId));
            Assert.That(IsUuid(request.OperationId), Is.True, request.OperationId);
            Assert.That(request.RequestOptions.Single().ReattachOptions.Reattachable, Is.True);
            Assert.That(request.ClientType, Does.StartWith("pipeline-dotnet/"));
            Assert.That(request.UserContext.UserId, Is.EqualTo("etl"));
        }
        Assert.That(executes[0].OperationId, Is.Not.EqualTo(executes[1].OperationId));

        var released = Fake.Requests<ReleaseExecuteRequest>();
        Assert.That(released.Select(r => r.OperationId), Is.EquivalentTo(executes.Select(e => e.OperationId)));
        Assert.That(released.All(r => r.ReleaseCase == ReleaseExecuteRequest.ReleaseOneofCase.ReleaseAll), Is.True);
        Assert.That(Fake.Requests<ReattachExecuteRequest>(), Is.Empty);
    }

    [Test]
    public async Task Generated_session_id_is_a_uuid_and_session_is_released_on_dispose()
    {
        var client = new SparkConnectClient($"sc://127.0.0.1:{_server.Address.Port}/", new SparkConnectClientOptions { Retry = FastRetry });
        Assert.That(IsUuid(client.SessionId), Is.True);
        await client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" });
        await client.DisposeAsync();

        Assert.That(Fake.Requests<ConfigRequest>().Single().SessionId, Is.EqualTo(client.SessionId));
        Assert.That(Fake.Requests<ReleaseSessionRequest>().Single().SessionId, Is.EqualTo(client.SessionId));
    }

    [Test]
    public async Task Given_session_id_is_not_released_on_dispose()
    {
        var client = NewClient();
        await client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" });
        await client.DisposeAsync();
        Assert.That(Fake.Requests<ReleaseSessionRequest>(), Is.Empty);
    }

    [Test]
    public async Task ExecuteScalarInt64_reads_a_count()
    {
        Fake.OnQuery = _ =>
        {
            var schema = new Schema.Builder().Field(f => f.Name("count(1)").DataType(Apache.Arrow.Types.Int64Type.Default)).Build();
            using var batch = new RecordBatch(schema, [new Int64Array.Builder().Append(3000).Build()], 1);
            return [FakeSparkService.Batch(batch)];
        };
        await using var client = NewClient();
        Assert.That(await client.ExecuteScalarInt64Async("SELECT count(*) FROM orders"), Is.EqualTo(3000));
    }

    [Test]
    public async Task Empty_result_keeps_the_schema()
    {
        Fake.OnQuery = _ =>
        {
            using var empty = SparkTestData.Rows(0, 0);
            return [FakeSparkService.Batch(empty)];
        };
        await using var client = NewClient();
        using var result = await client.ExecuteSqlAsync("SELECT * FROM orders WHERE false");
        Assert.That(result.RowCount, Is.Zero);
        Assert.That(result.Batches, Is.Empty);
        Assert.That(result.Schema!.FieldsList, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task SetConf_sends_the_pairs_and_GetSparkVersion_uses_AnalyzePlan()
    {
        Fake.SparkVersion = "4.0.1";
        await using var client = NewClient();

        await client.SetConfAsync(new Dictionary<string, string>
        {
            ["spark.sql.session.timeZone"] = "UTC",
            ["spark.sql.ansi.enabled"] = "true",
        });
        var version = await client.GetSparkVersionAsync();
        var conf = await client.GetConfAsync(["spark.sql.session.timeZone"]);

        var set = Fake.Requests<ConfigRequest>()[0];
        Assert.That(set.Operation.OpTypeCase, Is.EqualTo(ConfigRequest.Types.Operation.OpTypeOneofCase.Set));
        Assert.That(set.Operation.Set.Pairs.ToDictionary(p => p.Key, p => p.Value), Is.EquivalentTo(new Dictionary<string, string>
        {
            ["spark.sql.session.timeZone"] = "UTC",
            ["spark.sql.ansi.enabled"] = "true",
        }));
        Assert.That(set.SessionId, Is.EqualTo(FakeSparkService.TestSessionId));
        Assert.That(set.ClientType, Does.StartWith("pipeline-dotnet/"));
        Assert.That(version, Is.EqualTo("4.0.1"));
        Assert.That(Fake.Requests<AnalyzePlanRequest>().Single().AnalyzeCase, Is.EqualTo(AnalyzePlanRequest.AnalyzeOneofCase.SparkVersion));
        Assert.That(conf["spark.sql.session.timeZone"], Is.EqualTo("UTC"));
    }

    [Test]
    public async Task CreateTempViewFromDataSource_sends_format_schema_options_and_paths_exactly()
    {
        await using var client = NewClient();
        var options = new Dictionary<string, string> { ["header"] = "true", ["timestampFormat"] = "yyyy-MM-dd HH:mm:ss", ["mode"] = "PERMISSIVE" };
        string[] paths = ["/data/in/orders-1.csv", "/data/in/orders 2.csv"];

        await client.CreateTempViewFromDataSourceAsync("orders_raw", SparkFileFormat.Csv, "id BIGINT, name STRING, ts TIMESTAMP", options, paths);

        var command = Fake.Requests<ExecutePlanRequest>().Single().Plan.Command;
        Assert.That(command.CommandTypeCase, Is.EqualTo(Command.CommandTypeOneofCase.CreateDataframeView));
        var view = command.CreateDataframeView;
        Assert.That(view.Name, Is.EqualTo("orders_raw"));
        Assert.That(view.Replace, Is.True);
        Assert.That(view.IsGlobal, Is.False);
        var source = view.Input.Read.DataSource;
        Assert.That(source.Format, Is.EqualTo("csv"));
        Assert.That(source.Schema, Is.EqualTo("id BIGINT, name STRING, ts TIMESTAMP"));
        Assert.That(source.Options, Is.EquivalentTo(options));
        Assert.That(source.Paths, Is.EqualTo(paths));
        Assert.That(view.Input.Read.IsStreaming, Is.False);
    }

    [Test]
    public async Task CreateTempViewFromDataSource_without_schema_leaves_it_unset_for_inference()
    {
        await using var client = NewClient();
        await client.CreateTempViewFromDataSourceAsync("p", SparkFileFormat.Parquet, null, null, ["/data/p"]);
        var source = Fake.Requests<ExecutePlanRequest>().Single().Plan.Command.CreateDataframeView.Input.Read.DataSource;
        Assert.That(source.Format, Is.EqualTo("parquet"));
        Assert.That(source.HasSchema, Is.False);
        Assert.That(source.Options, Is.Empty);
    }

    [Test]
    public async Task CreateTempViewFromSql_sends_a_sql_relation()
    {
        await using var client = NewClient();
        await client.CreateTempViewFromSqlAsync("clean", "SELECT * FROM orders_raw WHERE id IS NOT NULL");
        var view = Fake.Requests<ExecutePlanRequest>().Single().Plan.Command.CreateDataframeView;
        Assert.That(view.Name, Is.EqualTo("clean"));
        Assert.That(view.Replace, Is.True);
        Assert.That(view.Input.Sql.Query, Is.EqualTo("SELECT * FROM orders_raw WHERE id IS NOT NULL"));
    }

    [Test]
    public async Task WriteParquet_sends_source_path_mode_partitioning_and_options_exactly()
    {
        await using var client = NewClient();
        var options = new Dictionary<string, string> { ["partitionOverwriteMode"] = "dynamic", ["compression"] = "zstd" };

        await client.WriteParquetAsync("SELECT * FROM clean", "/data/out/orders", PartitionColumns, SparkSaveMode.Overwrite, options);
        await client.WriteParquetAsync("SELECT 1 AS x", "/data/out/x", null, SparkSaveMode.Append);

        var writes = Fake.Requests<ExecutePlanRequest>().Select(r => r.Plan.Command.WriteOperation).ToList();
        Assert.That(writes, Has.Count.EqualTo(2));
        Assert.That(writes[0].Input.Sql.Query, Is.EqualTo("SELECT * FROM clean"));
        Assert.That(writes[0].Source, Is.EqualTo("parquet"));
        Assert.That(writes[0].SaveTypeCase, Is.EqualTo(WriteOperation.SaveTypeOneofCase.Path));
        Assert.That(writes[0].Path, Is.EqualTo("/data/out/orders"));
        Assert.That(writes[0].Mode, Is.EqualTo(WriteOperation.Types.SaveMode.Overwrite));
        Assert.That(writes[0].PartitioningColumns, Is.EqualTo(PartitionColumns));
        Assert.That(writes[0].Options, Is.EquivalentTo(options));
        Assert.That(writes[1].Mode, Is.EqualTo(WriteOperation.Types.SaveMode.Append));
        Assert.That(writes[1].PartitioningColumns, Is.Empty);
        Assert.That(writes[1].Options, Is.Empty);
    }

    [Test]
    public async Task UploadArrow_sends_a_local_relation_with_a_decodable_ipc_stream()
    {
        await using var client = NewClient();
        using var b0 = SparkTestData.Rows(0, 10);
        using var b1 = SparkTestData.Rows(10, 5);

        await client.UploadArrowAsync("lookup", [b0, b1]);

        var view = Fake.Requests<ExecutePlanRequest>().Single().Plan.Command.CreateDataframeView;
        Assert.That(view.Name, Is.EqualTo("lookup"));
        Assert.That(view.Replace, Is.True);
        Assert.That(view.Input.RelTypeCase, Is.EqualTo(Relation.RelTypeOneofCase.LocalRelation));
        var rows = SparkTestData.ReadIpc(view.Input.LocalRelation.Data);
        Assert.That(rows, Is.EqualTo(SparkTestData.Flatten(b0).Concat(SparkTestData.Flatten(b1)).ToList()));
    }

    [Test]
    public async Task UploadArrow_accepts_raw_ipc_bytes_and_rejects_garbage()
    {
        await using var client = NewClient();
        using var batch = SparkTestData.Rows(0, 3);
        var bytes = FakeSparkService.ArrowStream(batch).ToByteArray();

        await client.UploadArrowAsync("raw", bytes.AsMemory());
        Assert.That(SparkTestData.ReadIpc(Fake.Requests<ExecutePlanRequest>().Single().Plan.Command.CreateDataframeView.Input.LocalRelation.Data), Has.Count.EqualTo(3));

        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.UploadArrowAsync("bad", new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }.AsMemory()));
        Assert.That(ex!.Kind, Is.EqualTo(SparkErrorKind.Configuration));
    }

    [Test]
    public async Task Upload_larger_than_the_message_limit_is_a_configuration_error()
    {
        await using var client = NewClient(";grpc_max_message_size=100000");
        using var big = SparkTestData.Rows(0, 20_000);
        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.UploadArrowAsync("big", big));
        Assert.That(ex!.Kind, Is.EqualTo(SparkErrorKind.Configuration));
        Assert.That(Fake.Calls, Is.Empty);
    }

    [Test]
    public async Task Server_side_session_id_is_echoed_and_a_change_is_reported()
    {
        Fake.OnQuery = _ => ThreeBatches();
        Fake.ServerSideSessionId = "server-session-1";
        await using var client = NewClient();
        using (await client.ExecuteSqlAsync("SELECT 1"))
        {
        }
        Assert.That(Fake.Requests<ExecutePlanRequest>()[0].HasClientObservedServerSideSessionId, Is.False);
        Assert.That(Fake.Requests<ExecutePlanRequest>()[1].ClientObservedServerSideSessionId, Is.EqualTo("server-session-1"));

        Fake.ServerSideSessionId = "server-session-2"; // the server restarted: temp views are gone
        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.ExecuteSqlAsync("SELECT 2"));
        Assert.That(ex!.Message, Does.Contain("changed"));
    }

    // ------------------------------------------------------------------ reattach and retries

    [Test]
    public async Task Stream_ending_before_result_complete_is_reattached_from_the_last_response_id_then_released()
    {
        Fake.OnQuery = _ => ThreeBatches();
        Fake.CutStreamAfter = 3; // 7 payload responses + result_complete = 8 → ExecutePlan(3), Reattach(3), Reattach(2)
        await using var client = NewClient();

        using var result = await client.ExecuteSqlAsync("SELECT * FROM orders");

        AssertRows(result, 3000);
        var queryOp = Fake.Requests<ExecutePlanRequest>()[1].OperationId;
        var issued = Fake.IssuedResponseIds(queryOp);
        Assert.That(issued, Has.Count.EqualTo(8));
        var reattaches = Fake.Requests<ReattachExecuteRequest>().Where(r => r.OperationId == queryOp).ToList();
        Assert.That(reattaches.Select(r => r.LastResponseId), Is.EqualTo(new[] { issued[2], issued[5] }));
        Assert.That(reattaches.All(r => r.SessionId == FakeSparkService.TestSessionId && r.ClientType.StartsWith("pipeline-dotnet/", StringComparison.Ordinal)), Is.True);
        var calls = Fake.Calls.Where(c => c.Request is ReattachExecuteRequest r ? r.OperationId == queryOp
            : c.Request is ReleaseExecuteRequest rel && rel.OperationId == queryOp).Select(c => c.Rpc).ToList();
        Assert.That(calls, Is.EqualTo(ReattachThenRelease), "released after completion");
    }

    [Test]
    public async Task Stream_broken_by_unavailable_mid_way_is_reattached_without_duplicates()
    {
        Fake.OnQuery = _ => ThreeBatches();
        await using var client = NewClient();
        Fake.BreakNextQueryStreamAfter = 2; // the query's ExecutePlan: 2 responses, then UNAVAILABLE

        using var result = await client.ExecuteSqlAsync("SELECT * FROM orders");

        AssertRows(result, 3000);
        var reattach = Fake.Requests<ReattachExecuteRequest>().Single();
        Assert.That(reattach.LastResponseId, Is.EqualTo(Fake.IssuedResponseIds(reattach.OperationId)[1]));
    }

    [Test]
    public async Task Unavailable_twice_then_success_is_retried_with_the_same_operation_id()
    {
        Fake.OnQuery = _ => ThreeBatches();
        Fake.FailNext("ExecutePlan", 2, () => new RpcException(new Status(StatusCode.Unavailable, "starting up")));
        await using var client = NewClient();

        using var result = await client.ExecuteSqlAsync("SELECT * FROM orders");

        AssertRows(result, 3000);
        var executes = Fake.Requests<ExecutePlanRequest>();
        Assert.That(executes, Has.Count.EqualTo(4), "3 attempts of the sql_command, 1 of the relation");
        Assert.That(executes.Take(3).Select(e => e.OperationId).Distinct().Count(), Is.EqualTo(1));
        Assert.That(_log.Count(l => l.Contains("retry", StringComparison.Ordinal)), Is.EqualTo(2));
    }

    [Test]
    public async Task Unary_calls_retry_unavailable_too()
    {
        Fake.FailNext("Config", 2, () => new RpcException(new Status(StatusCode.Unavailable, "busy")));
        await using var client = NewClient();
        await client.SetConfAsync(new Dictionary<string, string> { ["k"] = "v" });
        Assert.That(Fake.Requests<ConfigRequest>(), Has.Count.EqualTo(3));
        Assert.That(Fake.Conf["k"], Is.EqualTo("v"));
    }

    [Test]
    public async Task Permanent_unavailable_fails_with_a_connection_error_after_max_retries()
    {
        Fake.FailAlways("ExecutePlan", () => new RpcException(new Status(StatusCode.Unavailable, "down")));
        await using var client = NewClient();

        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.ExecuteSqlAsync("SELECT 1"));

        Assert.That(ex!.Kind, Is.EqualTo(SparkErrorKind.Connection));
        Assert.That(ex.GrpcStatus, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(ex.Message, Does.Not.Contain("\n"));
        Assert.That(Fake.Requests<ExecutePlanRequest>(), Has.Count.EqualTo(1 + FastRetry.MaxRetries));
    }

    [Test]
    public async Task Resent_execute_plan_that_already_exists_on_the_server_switches_to_reattach()
    {
        Fake.OnQuery = _ => ThreeBatches();
        await using var client = NewClient();
        // The query's ExecutePlan reaches the server, which registers it, but the stream breaks before any response.
        Fake.BreakNextQueryStreamAfter = 0;

        using var result = await client.ExecuteSqlAsync("SELECT * FROM orders");

        AssertRows(result, 3000);
        var op = Fake.Requests<ExecutePlanRequest>()[^1].OperationId;
        Assert.That(Fake.Requests<ExecutePlanRequest>().Count(r => r.OperationId == op), Is.EqualTo(2), "resent once, then ALREADY_EXISTS");
        var reattach = Fake.Requests<ReattachExecuteRequest>().Single();
        Assert.That(reattach.OperationId, Is.EqualTo(op));
        Assert.That(reattach.HasLastResponseId, Is.False);
    }

    [Test]
    public async Task Reattach_to_an_operation_the_server_never_saw_resends_execute_plan()
    {
        Fake.OnQuery = _ => ThreeBatches();
        Fake.DropNextQueryExecute = true; // stream ends with nothing; the server has no such operation
        await using var client = NewClient();

        using var result = await client.ExecuteSqlAsync("SELECT * FROM orders");

        AssertRows(result, 3000);
        var op = Fake.Requests<ExecutePlanRequest>()[^1].OperationId;
        var rpcs = Fake.Calls.Where(c => c.Request is ExecutePlanRequest e ? e.OperationId == op : c.Request is ReattachExecuteRequest r && r.OperationId == op)
            .Select(c => c.Rpc).ToList();
        Assert.That(rpcs, Is.EqualTo(ExecuteReattachExecute));
    }

    [Test]
    public async Task No_server_listening_is_a_connection_error()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        // A 1 s connect budget (default 30 s): nothing ever answers, so the client tries for the whole budget.
        await using var client = new SparkConnectClient(
            $"sc://127.0.0.1:{port}/", new SparkConnectClientOptions { Retry = FastRetry, ConnectTimeout = TimeSpan.FromSeconds(1) });

        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.GetSparkVersionAsync());

        Assert.That(ex!.Kind, Is.EqualTo(SparkErrorKind.Connection));
        Assert.That(ex.Message, Does.Contain($"127.0.0.1:{port}"));
        Assert.That(ex.NeverConnected, Is.True);
    }

    [Test]
    public async Task Cancellation_surfaces_as_operation_canceled_and_releases_the_operation()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Fake.OnQuery = _ =>
        {
            started.SetResult();
            Thread.Sleep(300);
            return ThreeBatches();
        };
        await using var client = NewClient();
        using var cts = new CancellationTokenSource();
        var query = client.ExecuteSqlAsync("SELECT * FROM slow", cts.Token);
        await started.Task;
        await cts.CancelAsync();

        Assert.That(async () => await query, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Fake.Requests<ReleaseExecuteRequest>(), Has.Count.EqualTo(2));
    }

    // ------------------------------------------------------------------ errors

    [Test]
    public async Task Spark_error_details_become_a_one_line_message_with_the_error_class()
    {
        Fake.Strict = false; // the canned error below (with Spark's query context) is the point, not the fake's own
        Fake.OnQuery = sql => throw FakeSparkService.SparkError(
            StatusCode.Internal, "TABLE_OR_VIEW_NOT_FOUND", "42P01", "org.apache.spark.sql.AnalysisException",
            "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found. Verify the spelling.\n"
            + "== SQL (line 1, position 15) ==\nSELECT * FROM nope\n              ^^^^\n");
        await using var client = NewClient();

        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.ExecuteSqlAsync("SELECT * FROM nope"));

        Assert.That(ex!.Message, Does.Contain("TABLE_OR_VIEW_NOT_FOUND"));
        Assert.That(ex.Message, Does.Not.Contain("\n").And.Not.Contain("\r"));
        Assert.That(ex.Kind, Is.EqualTo(SparkErrorKind.Sql));
        Assert.That(ex.ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));
        Assert.That(ex.SqlState, Is.EqualTo("42P01"));
        Assert.That(ex.ServerExceptionClass, Is.EqualTo("org.apache.spark.sql.AnalysisException"));
        Assert.That(ex.ServerMessage, Does.Contain("== SQL"));
        Assert.That(Fake.Requests<ReattachExecuteRequest>(), Is.Empty, "a SQL error is not retried");
    }

    [Test]
    public async Task Error_class_only_in_error_info_is_added_to_the_message()
    {
        Fake.OnQuery = _ => throw FakeSparkService.SparkError(
            StatusCode.Internal, "PARSE_SYNTAX_ERROR", "42601", "org.apache.spark.sql.catalyst.parser.ParseException", "Syntax error at or near 'SELEC'");
        await using var client = NewClient();

        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.ExecuteSqlAsync("SELEC 1"));

        Assert.That(ex!.Message, Does.Contain("[PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'"));
        Assert.That(ex.Kind, Is.EqualTo(SparkErrorKind.Sql));
    }

    [Test]
    public async Task Failure_without_details_is_a_generic_failure()
    {
        Fake.OnQuery = _ => throw new RpcException(new Status(StatusCode.Internal, "Job aborted due to stage failure:\nTask 3 failed"));
        await using var client = NewClient();

        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.ExecuteSqlAsync("SELECT 1"));

        Assert.That(ex!.Kind, Is.EqualTo(SparkErrorKind.Failure));
        Assert.That(ex.Message, Does.Contain("Job aborted due to stage failure:"));
        Assert.That(ex.Message, Does.Not.Contain("\n"));
        Assert.That(ex.ErrorClass, Is.Null);
    }

    [Test]
    public async Task Unauthenticated_is_a_connection_error()
    {
        Fake.FailAlways("Config", () => new RpcException(new Status(StatusCode.Unauthenticated, "bad token")));
        await using var client = NewClient(";token=abc;use_ssl=false");
        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" }));
        Assert.That(ex!.Kind, Is.EqualTo(SparkErrorKind.Connection));
        Assert.That(Fake.Requests<ConfigRequest>(), Has.Count.EqualTo(1), "not retried");
    }

    // ------------------------------------------------------------------ auth and secrets

    [Test]
    public async Task Token_is_sent_as_bearer_metadata_and_custom_params_as_headers()
    {
        await using var client = NewClient(";token=abc;use_ssl=false;x-custom=hello;x-databricks-cluster-id=0123-abc");
        Fake.OnQuery = _ => ThreeBatches();

        await client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" });
        using (await client.ExecuteSqlAsync("SELECT 1"))
        {
        }

        Assert.That(Fake.Calls, Has.Count.GreaterThanOrEqualTo(5));
        foreach (var call in Fake.Calls)
        {
            Assert.That(call.Headers["authorization"], Is.EqualTo("Bearer abc"), call.Rpc);
            Assert.That(call.Headers["x-custom"], Is.EqualTo("hello"), call.Rpc);
            Assert.That(call.Headers["x-databricks-cluster-id"], Is.EqualTo("0123-abc"), call.Rpc);
        }
    }

    [Test]
    public async Task Without_token_no_authorization_header_is_sent()
    {
        await using var client = NewClient();
        await client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" });
        Assert.That(Fake.Calls.Single().Headers.ContainsKey("authorization"), Is.False);
    }

    [Test]
    public async Task Token_never_appears_in_ToString_messages_or_logs()
    {
        const string token = "Sup3rS3cretT0ken";
        Fake.OnQuery = _ => throw FakeSparkService.SparkError(
            StatusCode.Internal, "SOME_ERROR", null, "org.apache.spark.SparkException", $"echoing header authorization: Bearer {token}");
        Fake.FailNext("Config", 1, () => new RpcException(new Status(StatusCode.Unavailable, $"proxy says {token} is slow")));
        await using var client = NewClient($";token={token};use_ssl=false");

        await client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" });
        var ex = await Assert.ThrowsAsync<SparkConnectException>(() => client.ExecuteSqlAsync("SELECT 1"));

        Assert.That(Fake.Calls[0].Headers["authorization"], Is.EqualTo("Bearer " + token), "the token is used");
        Assert.That(client.ToString(), Does.Not.Contain(token));
        Assert.That(client.Connection.ToString(), Does.Not.Contain(token).And.Contain("token=***"));
        Assert.That(ex!.Message, Does.Not.Contain(token));
        Assert.That(ex.ToString(), Does.Not.Contain(token));
        Assert.That(ex.ServerMessage, Does.Not.Contain(token));
        Assert.That(_log, Is.Not.Empty);
        Assert.That(_log.Any(l => l.Contains(token, StringComparison.Ordinal)), Is.False);
    }
}
