using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using NUnit.Framework;
using Pipeline.Config;
using Pipeline.Engine.Spark;
using Pipeline.Engine.Spark.Protocol;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// The connect budget: a Spark Connect server that has never answered is tried for engine.connect_timeout_seconds
/// (default 30 s), each retry logged at info, then one error line; once it has answered, the retry policy alone applies.
/// </summary>
[TestFixture]
public sealed class SparkConnectBudgetTests
{
    private static readonly SparkRetryPolicy FastRetry = new()
    {
        MaxRetries = 3,
        InitialBackoff = TimeSpan.FromMilliseconds(1),
        Multiplier = 2,
        MaxBackoff = TimeSpan.FromMilliseconds(5),
        Jitter = 0,
    };

    private readonly List<string> _dirs = [];

    [TearDown]
    public void RemoveTempDirs()
    {
        foreach (var dir in _dirs)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // best effort
            }
        }
        _dirs.Clear();
    }

    private string TempDir()
    {
        var dir = TestPaths.NewTempDir("spark-budget");
        _dirs.Add(dir);
        return dir;
    }

    /// <summary>A loopback port nothing listens on (bound, noted, released).</summary>
    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// The jobs project's own pipeline.dll. The copy next to the tests cannot talk gRPC as a process: the tests get
    /// Microsoft.Extensions.Logging.Abstractions from the ASP.NET Core shared framework (the fake server), so it is not
    /// copied there, while pipeline.runtimeconfig.json names only Microsoft.NETCore.App.
    /// </summary>
    private static string JobsPipelineDll()
    {
        var tfm = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        var dll = Path.Combine(TestPaths.RepoRoot, "jobs", "bin", tfm.Parent!.Name, tfm.Name, "pipeline.dll");
        Assert.That(File.Exists(dll), Is.True, $"{dll} not built");
        return dll;
    }

    private (CliResult Result, TimeSpan Elapsed) CleanOrdersOnSpark(int port, params string[] extra)
    {
        string[] args =
        [
            "clean-orders", "-i", Path.Combine(TestPaths.RepoRoot, "data-samples", "orders"), "-o", Path.Combine(TempDir(), "out"),
            "--engine", "spark", "--remote", $"sc://127.0.0.1:{port}", .. extra,
        ];
        var clock = Stopwatch.StartNew();
        var result = PipelineCli.RunDll(JobsPipelineDll(), new Dictionary<string, string> { ["SPARK_REMOTE"] = "" }, args);
        return (result, clock.Elapsed);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // ------------------------------------------------------------------ the CLI

    [Test]
    public void Unreachable_server_fails_after_the_default_30_s_budget_with_retries_logged_and_one_error_line()
    {
        var port = ClosedPort();

        var (result, elapsed) = CleanOrdersOnSpark(port);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        // The upper bound leaves room for process start-up on a loaded CI machine (seen at 5+ s); what it guards against
        // is trying on well past the budget (e.g. a retry count of attempts after it). The timing of the budget itself is
        // checked in-process, without start-up, by Unreachable_server_is_tried_for_the_whole_budget_whatever_the_retry_count.
        Assert.That(elapsed, Is.GreaterThan(TimeSpan.FromSeconds(29)).And.LessThan(TimeSpan.FromSeconds(50)), result.ToString());
        var lines = Lines(result.Stderr);
        var errors = lines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), result.ToString());
        Assert.That(errors[0], Does.StartWith($"error: Spark: could not connect to Spark Connect at 127.0.0.1:{port} within 30 s ("));
        Assert.That(errors[0], Does.Contain("last: connection refused").And.Contain("--remote / SPARK_REMOTE / engine.remote"));
        Assert.That(errors[0], Does.Not.Contain("--verbose"));
        // Retry lines at normal verbosity (no --verbose), with the reason, the wait and what is left of the budget.
        var retries = lines.Where(l => l.StartsWith($"Spark Connect at 127.0.0.1:{port} not reachable (connection refused); retrying in ", StringComparison.Ordinal)).ToList();
        Assert.That(retries, Has.Count.GreaterThanOrEqualTo(5), result.ToString());
        Assert.That(retries, Has.All.Match(@"\(attempt \d+, \d+ s left of the 30 s connect budget\)$"));
        Assert.That(lines.Any(l => l.StartsWith("debug:", StringComparison.Ordinal)), Is.False, "nothing at debug level without --verbose");
        var attempts = int.Parse(System.Text.RegularExpressions.Regex.Match(errors[0], @"within 30 s \((\d+) attempts").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(attempts, Is.EqualTo(retries.Count + 1), "every failed attempt but the last is a retry line");
    }

    [Test]
    public void A_configured_2_s_budget_is_honoured()
    {
        var port = ClosedPort();
        var config = Path.Combine(TempDir(), "pipeline.json");
        File.WriteAllText(config, """{ "engine": { "connect_timeout_seconds": 2 } }""");

        var (result, elapsed) = CleanOrdersOnSpark(port, "--config", config);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        // Well under the default 30 s budget, with room for process start-up on a loaded machine.
        Assert.That(elapsed, Is.GreaterThan(TimeSpan.FromSeconds(2)).And.LessThan(TimeSpan.FromSeconds(20)), result.ToString());
        var errors = Lines(result.Stderr).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), result.ToString());
        Assert.That(errors[0], Does.Contain($"127.0.0.1:{port} within 2 s"));
        Assert.That(result.Stderr, Does.Contain("left of the 2 s connect budget)"));
    }

    [Test]
    public void The_budget_is_validated()
    {
        foreach (var bad in new[] { 0, -5, 3601 })
        {
            var (_, errors) = ConfigLoader.Parse($$"""{ "engine": { "connect_timeout_seconds": {{bad}} } }""", TestPaths.RepoRoot);
            Assert.That(errors, Has.Some.StartWith("engine.connect_timeout_seconds: must be between 1 and 3600"), $"{bad}");
        }
        var (config, none) = ConfigLoader.Parse("""{ "engine": { "connect_timeout_seconds": 3600 } }""", TestPaths.RepoRoot);
        Assert.That(none, Is.Empty);
        Assert.That(config!.Engine.ConnectTimeoutSeconds, Is.EqualTo(3600));
        Assert.That(new EngineConfig().ConnectTimeoutSeconds, Is.EqualTo(30));
        Assert.That(new EngineConfig().ToString(), Does.Contain("ConnectTimeoutSeconds = 30"));
    }

    // ------------------------------------------------------------------ the client

    [Test]
    public async Task Unreachable_server_is_tried_for_the_whole_budget_whatever_the_retry_count()
    {
        var port = ClosedPort();
        var info = new List<string>();
        var debug = new List<string>();
        var budget = TimeSpan.FromMilliseconds(1500);
        await using var client = new SparkConnectClient($"sc://127.0.0.1:{port}/", new SparkConnectClientOptions
        {
            Retry = FastRetry, // 3 retries: the budget, not the count, ends the attempts
            ConnectTimeout = budget,
            Info = info.Add,
            Log = debug.Add,
        });

        var clock = Stopwatch.StartNew();
        var ex = (await Assert.ThrowsAsync<SparkConnectException>(() => client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" })))!;

        Assert.That(clock.Elapsed, Is.GreaterThanOrEqualTo(budget - TimeSpan.FromMilliseconds(50)).And.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(ex.NeverConnected, Is.True);
        Assert.That(ex.Kind, Is.EqualTo(SparkErrorKind.Connection));
        Assert.That(ex.GrpcStatus, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(ex.Message, Does.Match($@"^could not connect to Spark Connect at 127\.0\.0\.1:{port} within 1\.5 s \(\d+ attempts; last: connection refused\)$"));
        Assert.That(info, Has.Count.GreaterThan(FastRetry.MaxRetries + 1), "more attempts than the policy's retry count");
        Assert.That(info, Has.All.Contain("not reachable (connection refused); retrying in"));
        Assert.That(debug, Has.None.Contain("retrying"), "retry lines go to the info sink only");
        Assert.That(client.HasConnected, Is.False);
    }

    [Test]
    public async Task Server_answering_unavailable_before_the_first_success_is_bounded_by_the_budget_too()
    {
        await using var server = await FakeSparkServer.StartAsync();
        server.Service.FailAlways("Config", () => new RpcException(new Status(StatusCode.Unavailable, "starting up")));
        var info = new List<string>();
        await using var client = new SparkConnectClient(server.ConnectionString(), new SparkConnectClientOptions
        {
            // Without the budget this policy would take 15 × 1 min.
            Retry = FastRetry with { MaxRetries = 15, InitialBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromMinutes(1), Multiplier = 4 },
            ConnectTimeout = TimeSpan.FromSeconds(1),
            Info = info.Add,
        });

        var clock = Stopwatch.StartNew();
        var ex = (await Assert.ThrowsAsync<SparkConnectException>(() => client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" })))!;

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(ex.NeverConnected, Is.True);
        Assert.That(ex.Message, Does.StartWith($"Spark Connect at 127.0.0.1:{server.Address.Port} did not become available within 1 s (").And.EndWith("last: Unavailable: starting up)"));
        Assert.That(info, Has.All.Contain("not available (Unavailable: starting up); retrying in"));
    }

    [Test]
    public async Task Tls_handshake_failure_is_said_at_once_without_retrying()
    {
        await using var server = await FakeSparkServer.StartAsync(); // plain-text HTTP/2; a token turns TLS on
        var info = new List<string>();
        await using var client = new SparkConnectClient($"sc://127.0.0.1:{server.Address.Port}/;token=t0k3n", new SparkConnectClientOptions { Info = info.Add });

        var clock = Stopwatch.StartNew();
        var ex = (await Assert.ThrowsAsync<SparkConnectException>(() => client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" })))!;

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        Assert.That(ex.NeverConnected, Is.True);
        Assert.That(ex.Kind, Is.EqualTo(SparkErrorKind.Connection));
        Assert.That(ex.Message, Does.StartWith($"could not connect to Spark Connect at 127.0.0.1:{server.Address.Port}: TLS handshake failed")
            .And.EndWith("(a server without TLS needs use_ssl=false; a token turns TLS on)")
            .And.Not.Contain("t0k3n"));
        Assert.That(info, Is.Empty, "nothing to retry");
        Assert.That(server.Service.Calls, Is.Empty);
    }

    [Test]
    public async Task After_the_first_answer_unavailable_mid_query_is_reattached_by_the_retry_policy_whatever_the_budget()
    {
        await using var server = await FakeSparkServer.StartAsync();
        server.Service.Catalog.Tables.Add("orders");
        var info = new List<string>();
        await using var client = new SparkConnectClient(server.ConnectionString(), new SparkConnectClientOptions
        {
            Retry = FastRetry,
            ConnectTimeout = TimeSpan.FromMilliseconds(100),
            Info = info.Add,
        });
        await client.SetConfAsync(new Dictionary<string, string> { ["a"] = "b" });
        Assert.That(client.HasConnected, Is.True);
        await Task.Delay(300); // the budget is long spent: it must not matter any more

        server.Service.OnQuery = _ =>
        {
            using var b0 = SparkTestData.Rows(0, 10);
            using var b1 = SparkTestData.Rows(10, 10);
            return [FakeSparkService.Batch(b0), FakeSparkService.Batch(b1)];
        };
        server.Service.BreakNextQueryStreamAfter = 1; // the query's stream: 1 response, then UNAVAILABLE
        server.Service.FailNext("ReattachExecute", 2, () => new RpcException(new Status(StatusCode.Unavailable, "restarting")));
        using var result = await client.ExecuteSqlAsync("SELECT * FROM orders");

        Assert.That(result.RowCount, Is.EqualTo(20));
        Assert.That(info.Where(l => l.Contains("ReattachExecute", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(2)
            .And.All.Match(@"failed \(Unavailable: restarting\); retrying in [0-9.]+ s \(retry \d/3\)$"));
        Assert.That(info, Has.None.Contain("connect budget"));

        // The retry count still ends it, not the budget.
        server.Service.FailAlways("ExecutePlan", () => new RpcException(new Status(StatusCode.Unavailable, "down")));
        var ex = (await Assert.ThrowsAsync<SparkConnectException>(() => client.ExecuteSqlAsync("SELECT 1")))!;
        Assert.That(ex.NeverConnected, Is.False);
        Assert.That(ex.Message, Does.Contain("is unavailable (ExecutePlan call, 4 attempts)"));
    }
}
