using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Engine.Spark.Executing;
using Pipeline.Tests.Support;
using Pipeline.Tools;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// <c>pipeline run --engine spark</c>, every stage, against the strict fake Spark Connect server in its executing mode
/// (real gRPC on loopback; what the strict catalog accepts runs on an embedded DuckDB through
/// <see cref="SparkToDuckDbSql"/>), on the quick-start shop and on generated data with faults; then the same
/// configuration on the DuckDB engine, and the two outputs compared table by table and value by value.
/// </summary>
/// <remarks>
/// What must agree, and how closely: every published table, its row count and its key set exactly
/// (<see cref="OutputComparer"/>); then, row by row on the key, every column: text, integers, dates, timestamps and
/// decimals exactly (both sides compute them with the same SQL logic, only spelled for another engine), doubles to a
/// relative 1e-9 (sums and averages may add in another order: the Spark side reads its inputs back through Arrow and
/// Parquet in another row order). Not compared: <c>run_id</c> (each run has its own), and in the quarantine tables
/// the reader's own words for a row the file reader rejected (<c>raw</c> and <c>reason_detail</c> of a
/// <c>malformed_row</c> or <c>invalid_encoding</c>: Spark's record text and message are not DuckDB's; its file, line
/// and reason code are compared). The generated data also checks the Spark run
/// against the generator's ground truth (<c>ground_truth.json</c>: rows kept, quarantined by reason, duplicates, bots,
/// sessions), a value derived independently of both engines.
/// </remarks>
[TestFixture]
[NonParallelizable]
public sealed class ExecutingSparkRunTests
{
    private static readonly string[] AllStages = ["clean-orders", "clean-clicks", "features", "rfm", "segment", "ltv", "kpis", "alerts", "experiments", "report"];

    private string _dir = "";

    [SetUp]
    public void CreateDir() => _dir = TestPaths.NewTempDir("spark-exec");

    [TearDown]
    public void DeleteDir()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public async Task The_quick_start_runs_every_stage_on_the_executing_strict_fake_as_on_duckdb()
    {
        var config = Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json");
        var (duck, spark) = await RunBoth(config);

        var comparison = OutputComparer.Compare(duck, spark);
        Assert.That(comparison.Differences, Is.Empty, string.Join("\n", comparison.Differences));
        Assert.That(comparison.Tables.Select(t => t.Table), Is.SupersetOf(new[] { "clean/orders", "clean/events", "sessions", "customers/features",
            "rfm/scores", "segments/assignments", "ltv/customers", "kpi/daily", "kpi/channels", "kpi/cohorts", "quarantine/ad_spend" }));
        AssertSameValues(duck, spark, comparison);
        // The sample shop's own facts: its generator's ground truth (valid orders, customers) and the three bad ad spend
        // rows scripts/make-shop-sample.py appends.
        using var shopTruth = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "ground_truth.json")));
        Assert.That(Rows(comparison, "clean/orders"), Is.EqualTo(shopTruth.RootElement.GetProperty("orders").GetProperty("rows_valid_unique").GetInt64()));
        Assert.That(Rows(comparison, "quarantine/ad_spend"), Is.EqualTo(3));
        Assert.That(Rows(comparison, "customers/features"), Is.EqualTo(shopTruth.RootElement.GetProperty("counts").GetProperty("customers").GetInt64()));
    }

    [Test]
    public async Task Generated_data_with_faults_runs_every_stage_on_the_executing_strict_fake_as_on_duckdb()
    {
        var data = Path.Combine(_dir, "data");
        var generated = PipelineCli.Run("generate", "--legacy-defaults", "--output", data, "--customers", "120", "--days", "20", "--seed", "11", "--faults");
        Assert.That(generated.ExitCode, Is.EqualTo(0), generated.ToString());
        var (duck, spark) = await RunBoth(Path.Combine(data, "pipeline.json"));

        var comparison = OutputComparer.Compare(duck, spark);
        Assert.That(comparison.Differences, Is.Empty, string.Join("\n", comparison.Differences));
        AssertSameValues(duck, spark, comparison);

        // The generator's ground truth, independent of both engines.
        using var truth = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "ground_truth.json")));
        var orders = truth.RootElement.GetProperty("orders");
        var events = truth.RootElement.GetProperty("events");
        Assert.That(Rows(comparison, "clean/orders"), Is.EqualTo(orders.GetProperty("rows_valid_unique").GetInt64()));
        Assert.That(QuarantineReasons(spark, "quarantine/orders"), Is.EquivalentTo(Reasons(orders.GetProperty("quarantined"))));
        Assert.That(Rows(comparison, "clean/events"), Is.EqualTo(events.GetProperty("kept").GetInt64()));
        Assert.That(QuarantineReasons(spark, "quarantine/events"), Is.EquivalentTo(Reasons(events.GetProperty("quarantined"))));
        Assert.That(Rows(comparison, "sessions"), Is.EqualTo(events.GetProperty("sessions").GetInt64()));
        Assert.That(ParquetTable.Read(Path.Combine(spark, "sessions")).Count(r => r["is_converted"] is true),
            Is.EqualTo(events.GetProperty("converted_sessions").GetInt64()));
    }

    [Test]
    public async Task An_incremental_night_of_clean_clicks_on_the_executing_strict_fake_is_as_on_duckdb()
    {
        var data = Path.Combine(_dir, "data");
        var generated = PipelineCli.Run("generate", "--legacy-defaults", "--output", data, "--customers", "120", "--days", "20", "--seed", "11", "--faults");
        Assert.That(generated.ExitCode, Is.EqualTo(0), generated.ToString());
        var config = Path.Combine(data, "pipeline.json");
        // The first night without the last two days' events; the second night with them: clean-clicks re-reads only the
        // window (the published events and quarantine are read back through parquet.`…` relations).
        var held = Directory.GetFiles(Path.Combine(data, "events")).Order(StringComparer.Ordinal).TakeLast(2).ToList();
        foreach (var file in held)
        {
            File.Move(file, file + ".held");
        }
        await RunBoth(config);
        foreach (var file in held)
        {
            File.Move(file + ".held", file);
        }
        var expected = AllStages.ToDictionary(s => s, s => s == "clean-orders" ? "skipped" : "succeeded");
        var (duck, spark) = await RunBoth(config, expected, run =>
        {
            Assert.That(run.Stderr, Does.Contain("[clean-clicks] incremental: 2 new file(s)"));
            Assert.That(run.Stderr, Does.Contain("[kpis] days from "), "kpis updates the days from the first changed one (the digests and links on each engine)");
        });

        var comparison = OutputComparer.Compare(duck, spark);
        Assert.That(comparison.Differences, Is.Empty, string.Join("\n", comparison.Differences));
        AssertSameValues(duck, spark, comparison);
    }

    [Test]
    public async Task Page_pings_and_a_re_sent_purchase_come_out_on_the_executing_strict_fake_as_on_duckdb()
    {
        // The attribution paths of the ping rules (CleanClicksJobTests works each out in full): a ping-first session, a
        // ping back on an earlier tab's page (found by the join), pings matched by page_view_id, and a re-sent order.
        static string L(string id, string at, string anon, string type, string path, string? pageView = null, string? order = null) =>
            JsonSerializer.Serialize(new Dictionary<string, string?>
            {
                ["event_id"] = id, ["occurred_at"] = at, ["anonymous_id"] = anon, ["event_type"] = type,
                ["page_url"] = "https://shop.example.com" + path, ["page_view_id"] = pageView, ["order_id"] = order,
            }.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value));
        var input = Path.Combine(_dir, "pings.jsonl");
        File.WriteAllLines(input, [
            // 15 s (slots :10, :20); 40 minutes later a session of pings only: 15 s (slots :20, :30).
            L("a1", "2024-03-01T10:00:00Z", "idle", "page_view", "/a"), L("a2", "2024-03-01T10:00:10Z", "idle", "page_ping", "/a"),
            L("a3", "2024-03-01T10:00:20Z", "idle", "page_ping", "/a"), L("a4", "2024-03-01T10:40:20Z", "idle", "page_ping", "/a"),
            L("a5", "2024-03-01T10:40:30Z", "idle", "page_ping", "/a"),
            // t1: slots :10 and :30 → 15 s; t3: slot :20 → 5 s.
            L("t1", "2024-03-01T16:00:00Z", "tabs", "page_view", "/a"), L("t2", "2024-03-01T16:00:10Z", "tabs", "page_ping", "/a"),
            L("t3", "2024-03-01T16:00:15Z", "tabs", "page_view", "/b"), L("t4", "2024-03-01T16:00:25Z", "tabs", "page_ping", "/b"),
            L("t5", "2024-03-01T16:00:30Z", "tabs", "page_ping", "/a"),
            // By id: v1 gets slots :10, :20 → 15 s; v2 (same URL, opened later) none.
            L("v1", "2024-03-01T18:00:00Z", "ids", "page_view", "/x", "P1"), L("v2", "2024-03-01T18:00:05Z", "ids", "page_view", "/x", "P2"),
            L("v3", "2024-03-01T18:00:10Z", "ids", "page_ping", "/x", "P1"), L("v4", "2024-03-01T18:00:20Z", "ids", "page_ping", "/x", "P1"),
            // No pings: time to the next event (300 + 1 + 59 s); O1 sent twice and one purchase without an order: 2 purchases.
            L("b1", "2024-03-01T09:00:00Z", "buyer", "page_view", "/"), L("b2", "2024-03-01T09:05:00Z", "buyer", "purchase", "/done", order: "O1"),
            L("b3", "2024-03-01T09:05:01Z", "buyer", "purchase", "/done", order: "O1"), L("b4", "2024-03-01T09:06:00Z", "buyer", "purchase", "/done"),
        ]);
        var config = Path.Combine(_dir, "pings.json");
        File.WriteAllText(config, """{ "now": "2024-06-01T00:00:00Z", "quality": { "max_quarantine_share": 1 } }""");
        var (duck, spark) = await RunVerbOnBoth("clean-clicks", input, config);

        var comparison = OutputComparer.Compare(duck, spark);
        Assert.That(comparison.Differences, Is.Empty, string.Join("\n", comparison.Differences));
        AssertSameValues(duck, spark, comparison);
        var sessions = ParquetTable.Read(Path.Combine(spark, "sessions"))
            .Select(s => $"{s["page_views"]} {Convert.ToString(s["engaged_seconds"], CultureInfo.InvariantCulture)} {s["purchases"]}");
        Assert.That(sessions, Is.EquivalentTo(new[] { "1 15 0", "1 15 0", "2 20 0", "2 15 0", "1 360 2" }));
    }

    [Test]
    public async Task An_order_json_line_with_a_key_twice_is_a_malformed_row_on_the_executing_strict_fake_as_on_duckdb()
    {
        // Spark's from_json keeps the last of duplicate keys and DuckDB's json_transform the first: orders reject the line.
        var input = Path.Combine(_dir, "dup.jsonl");
        File.WriteAllLines(input, [
            """{"order_id":"D1","ordered_at":"2024-03-01T10:00:00Z","total_amount":1e3,"total_amount":7}""",
            """{"order_id":"D2","ordered_at":"2024-03-01T10:00:00Z","total_amount":5,"meta":{"a":1,"a":2}}""",
            """{"order_id":"D3","ordered_at":"2024-03-01T10:00:00Z","x":1,"total_amount":6,"x":2}""",
        ]);
        var config = Path.Combine(_dir, "dup.json");
        File.WriteAllText(config, """{ "now": "2024-06-01T00:00:00Z", "quality": { "max_quarantine_share": 1 } }""");
        var (duck, spark) = await RunVerbOnBoth("clean-orders", input, config);
        foreach (var output in new[] { duck, spark })
        {
            Assert.That(ParquetTable.Read(Path.Combine(output, "clean", "orders")).Select(o => o["order_id"]), Is.EqualTo(new[] { "D2" }), output);
            Assert.That(ParquetTable.Read(Path.Combine(output, "quarantine", "orders"))
                    .Select(q => (Convert.ToInt64(q["source_line"], CultureInfo.InvariantCulture), (string)q["reason_code"]!, (string)q["reason_detail"]!)),
                Is.EquivalentTo(new[] { (1L, "malformed_row", "duplicate key total_amount"), (3L, "malformed_row", "duplicate key x") }), output);
        }
    }

    // ------------------------------------------------------------------ runs

    /// <summary>
    /// Runs the configuration on DuckDB and on the executing fake (each into its own output directory of this test, so a
    /// second call is the next night); returns the two output directories.
    /// </summary>
    private async Task<(string DuckDb, string Spark)> RunBoth(string config, IReadOnlyDictionary<string, string>? steps = null, Action<CliResult>? check = null)
    {
        var duck = Path.Combine(_dir, "duckdb");
        var spark = Path.Combine(_dir, "spark");
        steps ??= AllStages.ToDictionary(s => s, _ => "succeeded");
        var duckRun = PipelineCli.Run("run", "-c", config, "-o", duck);
        Assert.That(duckRun.ExitCode, Is.EqualTo(0), duckRun.ToString());
        Assert.That(Steps(duckRun), Is.EqualTo(steps));
        check?.Invoke(duckRun);

        await using var server = await FakeSparkServer.StartAsync(new ExecutingSparkBackend());
        var sparkRun = PipelineCli.Run("run", "-c", config, "-o", spark, "--engine", "spark", "--remote", server.Remote);
        Assert.That(sparkRun.ExitCode, Is.EqualTo(0), sparkRun + LastStatement(server));
        Assert.That(Steps(sparkRun), Is.EqualTo(steps));
        check?.Invoke(sparkRun);
        Assert.That(Manifests(spark).Select(m => m.Engine).Distinct(), Is.EqualTo(new[] { "spark" }));
        // It was executed, not answered with canned rows: statements went through the translation and every stage's
        // session was opened and released.
        Assert.That(server.Service.Executor!.Translated, Is.Not.Empty);
        Assert.That(server.Service.Calls.Count(c => c.Rpc == "ReleaseSession"), Is.GreaterThanOrEqualTo(steps.Count(s => s.Value == "succeeded")));

        var report = File.ReadAllText(Path.Combine(spark, "report", "index.html"));
        Assert.That(report, Does.Not.Contain("not available"), "every report section has its data");
        return (duck, spark);
    }

    /// <summary>One stage verb on <paramref name="input"/>, on DuckDB and on the executing fake Spark server; both must succeed.</summary>
    private async Task<(string DuckDb, string Spark)> RunVerbOnBoth(string verb, string input, string config)
    {
        var duck = Path.Combine(_dir, "duckdb");
        var spark = Path.Combine(_dir, "spark");
        var duckRun = PipelineCli.Run(verb, "-i", input, "-o", duck, "-c", config);
        Assert.That(duckRun.ExitCode, Is.EqualTo(0), duckRun.ToString());
        await using var server = await FakeSparkServer.StartAsync(new ExecutingSparkBackend());
        var sparkRun = PipelineCli.Run(verb, "-i", input, "-o", spark, "-c", config, "--engine", "spark", "--remote", server.Remote);
        Assert.That(sparkRun.ExitCode, Is.EqualTo(0), sparkRun + LastStatement(server));
        return (duck, spark);
    }

    private static string LastStatement(FakeSparkServer server)
    {
        var last = server.Service.Executor!.Translated.LastOrDefault();
        return last.Spark is null ? "" : $"\nlast statement executed:\n{last.Spark}\n-- as DuckDB:\n{last.DuckDb}";
    }

    /// <summary>The steps of the run manifest named on stdout: stage → status.</summary>
    private static Dictionary<string, string> Steps(CliResult r)
    {
        var path = r.Stdout.Split('\n').Single(l => l.StartsWith("run manifest:", StringComparison.Ordinal))["run manifest:".Length..].Trim();
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("steps").EnumerateArray()
            .ToDictionary(s => s.GetProperty("stage").GetString()!, s => s.GetProperty("status").GetString()!);
    }

    private static List<(string Command, string Engine)> Manifests(string output) =>
        [.. Directory.EnumerateFiles(Path.Combine(output, "_runs"), "*.json").Select(f =>
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(f));
            return (doc.RootElement.GetProperty("command").GetString()!, doc.RootElement.GetProperty("engine").GetString()!);
        })];

    private static long Rows(OutputComparison comparison, string table) => comparison.Tables.Single(t => t.Table == table).RowsB;

    private static Dictionary<string, long> QuarantineReasons(string output, string table) =>
        ParquetTable.Read(Path.Combine(output, table)).GroupBy(r => (string)r["reason_code"]!).ToDictionary(g => g.Key, g => (long)g.Count());

    private static Dictionary<string, long> Reasons(JsonElement quarantined) =>
        quarantined.EnumerateObject().Where(p => p.Name != "total" && p.Value.GetInt64() > 0).ToDictionary(p => p.Name, p => p.Value.GetInt64());

    // ------------------------------------------------------------------ values

    /// <summary>Columns that differ by design between two runs (see the class remarks).</summary>
    private static bool Compared(string column) => column != "run_id";

    /// <summary>A row the file reader itself rejected: its text and message are the reader's (Spark's record text and words are not DuckDB's).</summary>
    private static bool ReaderWords(string table, string column, Dictionary<string, object?> row) =>
        table.StartsWith("quarantine/", StringComparison.Ordinal) && column is "raw" or "reason_detail"
        && row.GetValueOrDefault("reason_code") is "malformed_row" or "invalid_encoding";

    /// <summary>Every keyed table: the same rows on the key, every compared column equal (doubles to a relative 1e-9).</summary>
    private static void AssertSameValues(string duck, string spark, OutputComparison comparison)
    {
        var problems = new List<string>();
        foreach (var table in comparison.Tables.Where(t => t.Keys.Count > 0 && t.RowsA > 0))
        {
            var keys = table.Table.StartsWith("quarantine/", StringComparison.Ordinal) ? ["source_file", "source_line", "reason_code"] : table.Keys;
            var a = ByKey(ParquetTable.Read(Path.Combine(duck, table.Table)), keys, table.Table, problems);
            var b = ByKey(ParquetTable.Read(Path.Combine(spark, table.Table)), keys, table.Table, problems);
            var columnsA = a.Values.First().Keys.Where(Compared).ToHashSet();
            var columnsB = b.Values.First().Keys.Where(Compared).ToHashSet();
            if (!columnsA.SetEquals(columnsB))
            {
                problems.Add($"{table.Table}: columns {string.Join(",", columnsA.Order())} vs {string.Join(",", columnsB.Order())}");
                continue;
            }
            var differing = new Dictionary<string, int>();
            foreach (var (key, rowA) in a)
            {
                if (!b.TryGetValue(key, out var rowB))
                {
                    problems.Add($"{table.Table}: key {key} only in the DuckDB run");
                    continue;
                }
                foreach (var column in columnsA.Where(c => !ReaderWords(table.Table, c, rowA) && !Same(rowA[c], rowB[c])))
                {
                    if (differing.TryAdd(column, 1))
                    {
                        problems.Add($"{table.Table}.{column} at {key}: DuckDB {Show(rowA[column])}, Spark {Show(rowB[column])}");
                    }
                    else
                    {
                        differing[column]++;
                    }
                }
            }
            problems.AddRange(differing.Where(d => d.Value > 1).Select(d => $"{table.Table}.{d.Key}: {d.Value} rows differ"));
        }
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    private static Dictionary<string, Dictionary<string, object?>> ByKey(List<Dictionary<string, object?>> rows, IReadOnlyList<string> keys, string table, List<string> problems)
    {
        var byKey = new Dictionary<string, Dictionary<string, object?>>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var key = string.Join("|", keys.Select(k => Show(row.GetValueOrDefault(k))));
            if (!byKey.TryAdd(key, row))
            {
                problems.Add($"{table}: key {key} twice");
            }
        }
        return byKey;
    }

    private static bool Same(object? a, object? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }
        if (IsNumber(a) && IsNumber(b) && (a is double or float || b is double or float))
        {
            var x = Convert.ToDouble(a, CultureInfo.InvariantCulture);
            var y = Convert.ToDouble(b, CultureInfo.InvariantCulture);
            return x.Equals(y) || Math.Abs(x - y) <= 1e-9 * Math.Max(Math.Abs(x), Math.Abs(y));
        }
        if (IsNumber(a) && IsNumber(b))
        {
            return Convert.ToDecimal(a, CultureInfo.InvariantCulture) == Convert.ToDecimal(b, CultureInfo.InvariantCulture);
        }
        return Show(a) == Show(b);
    }

    private static bool IsNumber(object v) => v is sbyte or byte or short or ushort or int or uint or long or ulong or float or double or decimal;

    private static string Show(object? v) => v switch
    {
        null => "NULL",
        DateTime t => t.ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
