using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Experiments;

/// <summary>
/// The assignments file (<c>experiments.input</c>) through the real clean-orders, clean-clicks and experiments, the same
/// rows as CSV, JSON lines (with GrowthBook-style column names mapped by <c>experiments.columns</c>) and Parquet. Every
/// expected number is worked out by hand in the comments below.
/// </summary>
/// <remarks>
/// The clickstream: c1 (visitor v1) sees exp1's control at 10:00 and buys O1 (100) at 10:10; v2 browses anonymously at
/// 11:00, logs in as c2 at 11:05 (so v2 is stitched to c2) and buys O2 (60) at 11:10; c3 (v3) sees exp1's B at 12:00;
/// v8 never logs in and adds to cart at 14:31. All on 2024-03-01 (UTC).
/// <para>The file, by line (header = 1):</para>
/// <list type="bullet">
/// <item>2: exp1 B 09:00 anonymous v2 → kept; unit c2 (stitched), B, converted (O2 at 11:10 is after 09:00).</item>
/// <item>3: exp1 control 09:30 c1 → kept; with the 10:00 exposure event, c1's first exposure is 09:30, 2 exposures.</item>
/// <item>4: exp1 control 13:00 c3 → kept; c3 saw B at 12:00 in the clickstream: two variants, excluded (variant B).</item>
/// <item>5: exp1 B 14:00 anonymous v8 → kept; unit a:HMAC(v8), anonymous, 1 add to cart.</item>
/// <item>6: line 2 again → a duplicate.</item>
/// <item>7: no unit → missing_unit. 8: no variant → missing_variant. 9: a 101-character variant → bad_variant.
/// 10: variant C, not in exp1's weights → unknown_variant. 11: "yesterday" → bad_timestamp. 12: no experiment →
/// missing_experiment_id. 15: 2099 → future_timestamp (its anonymous id v7 redacted in the quarantine).</item>
/// <item>13, 14: exp2 (only in the file) control c1, treatment c2 on 03-02 → kept.</item>
/// </list>
/// Books: 14 rows read = 6 kept + 7 quarantined + 1 duplicate. exp1: control {c1} (1 of 1 converted), B {c2, a:v8}
/// (1 of 2 converted), c3 excluded; exposures with a variant 2 events + 4 assignments = 6; window 03-01 (first exposure
/// 09:00 to last 14:00).
/// </remarks>
public class AssignmentsTests
{
    private string _dir = "";

    private string Output => Path.Combine(_dir, "out");

    private string KeyFile => Path.Combine(_dir, "hash.key");

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("assignments");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private const string Events = """
        event_id,occurred_at,anonymous_id,user_id,event_type,page_url,order_id,experiment_id,variant
        e01,2024-03-01T10:00:00Z,v1,c1,experiment_exposure,https://shop.example.com/,,exp1,control
        e02,2024-03-01T10:10:00Z,v1,c1,purchase,https://shop.example.com/done,O1,,
        e03,2024-03-01T11:00:00Z,v2,,page_view,https://shop.example.com/,,,
        e04,2024-03-01T11:05:00Z,v2,c2,login,https://shop.example.com/login,,,
        e05,2024-03-01T11:10:00Z,v2,c2,purchase,https://shop.example.com/done,O2,,
        e06,2024-03-01T12:00:00Z,v3,c3,experiment_exposure,https://shop.example.com/,,exp1,B
        e07,2024-03-01T14:30:00Z,v8,,page_view,https://shop.example.com/,,,
        e08,2024-03-01T14:31:00Z,v8,,add_to_cart,https://shop.example.com/p,,,
        """;

    private const string Orders = """
        order_id,customer_id,ordered_at,status,total_amount
        O1,c1,2024-03-01T10:10:00Z,completed,100
        O2,c2,2024-03-01T11:10:00Z,completed,60
        """;

    private static readonly string LongVariant = new('x', 101);

    /// <summary>The file's rows: experiment_id, variant, assigned_at, user_id, anonymous_id (null = empty).</summary>
    private static readonly string?[][] Rows =
    [
        ["exp1", "B", "2024-03-01T09:00:00Z", null, "v2"],
        ["exp1", "control", "2024-03-01T09:30:00Z", "c1", null],
        ["exp1", "control", "2024-03-01T13:00:00Z", "c3", null],
        ["exp1", "B", "2024-03-01T14:00:00Z", null, "v8"],
        ["exp1", "B", "2024-03-01T09:00:00Z", null, "v2"],
        ["exp1", "B", "2024-03-01T09:00:00Z", null, null],
        ["exp1", null, "2024-03-01T09:00:00Z", "c9", null],
        ["exp1", LongVariant, "2024-03-01T09:00:00Z", "c9", null],
        ["exp1", "C", "2024-03-01T09:00:00Z", "c9", null],
        ["exp1", "B", "yesterday", "c10", null],
        [null, "B", "2024-03-01T09:00:00Z", "c11", null],
        ["exp2", "control", "2024-03-02T10:00:00Z", "c1", null],
        ["exp2", "treatment", "2024-03-02T10:00:00Z", "c2", null],
        ["exp1", "B", "2099-01-01T00:00:00Z", null, "v7"],
    ];

    private static readonly Dictionary<long, string> ExpectedQuarantine = new()
    {
        [7] = "missing_unit",
        [8] = "missing_variant",
        [9] = "bad_variant",
        [10] = "unknown_variant",
        [11] = "bad_timestamp",
        [12] = "missing_experiment_id",
        [15] = "future_timestamp",
    };

    private string WriteAssignments(string format)
    {
        var csv = Path.Combine(_dir, "assignments.csv");
        File.WriteAllLines(csv, new[] { "experiment_id,variant,assigned_at,user_id,anonymous_id" }.Concat(Rows.Select(r => string.Join(",", r.Select(v => v ?? "")))));
        switch (format)
        {
            case "csv":
                return csv;
            case "jsonl":
            {
                // GrowthBook's export names: variation_id and timestamp (mapped by experiments.columns); absent keys = empty.
                var path = Path.Combine(_dir, "assignments.jsonl");
                File.WriteAllLines(path, Rows.Select(r =>
                {
                    var o = new JsonObject();
                    foreach (var (key, value) in new[] { "experiment_id", "variation_id", "timestamp", "user_id", "anonymous_id" }.Zip(r))
                    {
                        if (value is not null)
                        {
                            o[key] = value;
                        }
                    }
                    return o.ToJsonString();
                }));
                return path;
            }
            default:
            {
                var path = Path.Combine(_dir, "assignments.parquet");
                using var db = new DuckDBConnection("DataSource=:memory:");
                db.Open();
                using var cmd = db.CreateCommand();
                cmd.CommandText = $"COPY (SELECT * FROM read_csv('{csv}', header = true, all_varchar = true)) TO '{path}' (FORMAT PARQUET)";
                cmd.ExecuteNonQuery();
                File.Delete(csv);
                return path;
            }
        }
    }

    private string Config(string assignments, double maxQuarantineShare = 1.0)
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "events.csv"), Events.Replace("\r", "", StringComparison.Ordinal) + "\n");
        File.WriteAllText(Path.Combine(_dir, "orders.csv"), Orders.Replace("\r", "", StringComparison.Ordinal) + "\n");
        var experiments = new JsonObject
        {
            ["input"] = assignments,
            ["definitions"] = new JsonObject { ["exp1"] = new JsonObject { ["weights"] = new JsonObject { ["control"] = 1, ["B"] = 1 } } },
        };
        if (assignments.EndsWith(".jsonl", StringComparison.Ordinal))
        {
            experiments["columns"] = new JsonObject { ["variant"] = "variation_id", ["assigned_at"] = "timestamp" };
        }
        var config = new JsonObject
        {
            ["output"] = Output,
            ["now"] = "2024-12-31T00:00:00Z",
            ["orders"] = new JsonObject { ["input"] = Path.Combine(_dir, "orders.csv") },
            ["events"] = new JsonObject { ["input"] = Path.Combine(_dir, "events.csv") },
            ["quality"] = new JsonObject { ["max_quarantine_share"] = maxQuarantineShare },
            ["privacy"] = new JsonObject { ["key_file"] = KeyFile },
            ["experiments"] = experiments,
        };
        File.WriteAllText(KeyFile, "a key for the assignments tests\n");
        var path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    private static CliResult Run(string config)
    {
        foreach (var verb in new[] { "clean-orders", "clean-clicks" })
        {
            var r = PipelineCli.Run(verb, "-c", config);
            Assert.That(r.ExitCode, Is.Zero, $"{verb}: {r}");
        }
        return PipelineCli.Run("experiments", "-c", config);
    }

    [TestCase("csv")]
    [TestCase("jsonl")]
    [TestCase("parquet")]
    public void Assignments_merge_with_the_exposure_events_and_bad_rows_are_quarantined(string format)
    {
        var r = Run(Config(WriteAssignments(format)));
        Assert.That(r.ExitCode, Is.Zero, r.ToString());

        var units = ParquetTable.Read(Path.Combine(Output, "experiments", "units"));
        var exp1 = units.Where(u => (string)u["experiment_id"]! == "exp1").ToDictionary(u => (string)u["unit_id"]!);
        var v8 = "a:" + Hmac("v8");
        Assert.That(exp1.Keys, Is.EquivalentTo(new[] { "c1", "c2", "c3", v8 }));
        Assert.Multiple(() =>
        {
            Assert.That(exp1["c1"]["variant"], Is.EqualTo("control"));
            Assert.That(exp1["c1"]["exposures"], Is.EqualTo(2L), "the assignment at 09:30 and the exposure event at 10:00");
            Assert.That(Instant(exp1["c1"]["first_exposure_at"]), Is.EqualTo(new DateTimeOffset(2024, 3, 1, 9, 30, 0, TimeSpan.Zero)));
            Assert.That(exp1["c1"]["revenue"], Is.EqualTo(100m));
            Assert.That(exp1["c2"]["variant"], Is.EqualTo("B"), "v2's assignment, stitched to c2 through the clickstream");
            Assert.That(exp1["c2"]["unit_type"], Is.EqualTo("customer"));
            Assert.That(exp1["c2"]["is_converted"], Is.True);
            Assert.That(exp1["c2"]["revenue"], Is.EqualTo(60m));
            Assert.That(exp1["c3"]["is_excluded"], Is.True, "B in the clickstream, control in the file");
            Assert.That(exp1["c3"]["variants_seen"], Is.EqualTo(2L));
            Assert.That(exp1["c3"]["variant"], Is.EqualTo("B"), "its first exposure (12:00) was B");
            Assert.That(exp1[v8]["unit_type"], Is.EqualTo("anonymous"));
            Assert.That(exp1[v8]["variant"], Is.EqualTo("B"));
            Assert.That(exp1[v8]["add_to_carts"], Is.EqualTo(1L));
            Assert.That(units.Where(u => (string)u["experiment_id"]! == "exp2").Select(u => $"{u["unit_id"]} {u["variant"]}"),
                Is.EquivalentTo(new[] { "c1 control", "c2 treatment" }));
        });

        var summary = ParquetTable.Read(Path.Combine(Output, "experiments", "summary")).ToDictionary(s => (string)s["experiment_id"]!);
        Assert.That(summary.Keys, Is.EquivalentTo(new[] { "exp1", "exp2" }), "exp2 is only in the file");
        Assert.Multiple(() =>
        {
            Assert.That(summary["exp1"]["units"], Is.EqualTo(3L), "c1, c2, a:v8");
            Assert.That(summary["exp1"]["excluded_units"], Is.EqualTo(1L), "c3");
            Assert.That(summary["exp1"]["exposures"], Is.EqualTo(6L), "e01, e06 + file lines 2, 3, 4, 5");
            Assert.That(summary["exp2"]["units"], Is.EqualTo(2L));
        });
        var results = ParquetTable.Read(Path.Combine(Output, "experiments", "results"));
        double Conversion(string variant) => Convert.ToDouble(results.Single(x => (string)x["experiment_id"]! == "exp1"
            && (string)x["variant"]! == variant && (string)x["metric"]! == "conversion")["value"], CultureInfo.InvariantCulture);
        Assert.That(Conversion("control"), Is.EqualTo(1.0));
        Assert.That(Conversion("B"), Is.EqualTo(0.5), "c2 converted, a:v8 did not");

        var quarantine = ParquetTable.Read(Path.Combine(Output, "quarantine", "assignments"));
        Assert.That(quarantine.ToDictionary(q => Convert.ToInt64(q["source_line"], CultureInfo.InvariantCulture) + (format == "parquet" ? 1 : format == "jsonl" ? 1 : 0),
            q => (string)q["reason_code"]!), Is.EqualTo(ExpectedQuarantine), "by line of the CSV (JSON lines and Parquet count rows from 1)");

        var stage = Manifest("experiments").GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("stage").GetString() == "assignments");
        Assert.Multiple(() =>
        {
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(14));
            Assert.That(stage.GetProperty("rows_written").GetInt64(), Is.EqualTo(6));
            Assert.That(stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(1));
            Assert.That(stage.GetProperty("rows_quarantined").GetInt64(), Is.EqualTo(7));
            Assert.That(stage.GetProperty("balanced").GetBoolean(), Is.True);
            Assert.That(stage.GetProperty("quarantined_by_reason").GetProperty("unknown_variant").GetInt64(), Is.EqualTo(1));
        });
    }

    [Test]
    public void No_output_holds_a_raw_anonymous_id()
    {
        Assert.That(Run(Config(WriteAssignments("csv"))).ExitCode, Is.Zero);
        foreach (var table in new[] { "experiments/units", "experiments/results", "experiments/summary", "quarantine/assignments" })
        {
            var text = string.Join("\n", ParquetTable.Read(Path.Combine(Output, table)).SelectMany(r => r.Values).Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)));
            Assert.That(text, Does.Not.Match(@"(^|[^A-Za-z0-9])v[278]([^0-9]|$)"), table);
        }
        var future = ParquetTable.Read(Path.Combine(Output, "quarantine", "assignments")).Single(q => (string)q["reason_code"]! == "future_timestamp");
        Assert.That(future["raw"], Is.EqualTo("exp1,B,2099-01-01T00:00:00Z,,<anonymous_id redacted>"));
    }

    [Test]
    public void Too_many_bad_assignments_fail_the_quality_gate_and_publish_nothing()
    {
        var r = Run(Config(WriteAssignments("csv"), maxQuarantineShare: 0.05));
        Assert.That(r.ExitCode, Is.EqualTo(4), r.ToString());
        Assert.That(r.Stderr, Does.Contain("assignment"));
        Assert.That(Directory.Exists(Path.Combine(Output, "experiments")), Is.False);
        Assert.That(Directory.Exists(Path.Combine(Output, "quarantine", "assignments")), Is.False);
    }

    [Test]
    public void A_file_without_a_unit_column_is_an_input_error()
    {
        var path = Path.Combine(_dir, "no-unit.csv");
        Directory.CreateDirectory(_dir);
        File.WriteAllLines(path, ["experiment_id,variant,assigned_at", "exp1,B,2024-03-01T09:00:00Z"]);
        var r = Run(Config(path));
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stderr, Does.Contain("user_id or an anonymous_id"));
    }

    [Test]
    public void The_assignments_keys_are_validated_with_the_rest_of_the_configuration()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "bad.json");
        File.WriteAllText(path, """{ "experiments": { "input": "a.csv", "format": "xml", "columns": { "unit": "uid" } } }""");
        var r = PipelineCli.Run("validate-config", "-c", path);
        Assert.That(r.ExitCode, Is.Not.Zero);
        Assert.That(r.Stderr + r.Stdout, Does.Contain("experiments.format").And.Contain("experiments.columns"));
    }

    [Test]
    public async Task The_assignments_read_the_same_on_the_executing_strict_fake_spark_as_on_duckdb()
    {
        var config = Config(WriteAssignments("csv")); // one key file for both outputs, so that the anonymous keys compare
        Assert.That(Run(config).ExitCode, Is.Zero);

        var spark = Path.Combine(_dir, "spark");
        await using (var server = await Pipeline.Tests.Engine.Spark.FakeSparkServer.StartAsync(new Pipeline.Tests.Engine.Spark.Executing.ExecutingSparkBackend()))
        {
            foreach (var verb in new[] { "clean-orders", "clean-clicks", "experiments" })
            {
                var r = PipelineCli.Run(verb, "-c", config, "-o", spark, "--engine", "spark", "--remote", server.Remote);
                Assert.That(r.ExitCode, Is.Zero, $"{verb} on spark: {r}");
            }
        }
        var comparison = Pipeline.Tools.OutputComparer.Compare(Output, spark);
        Assert.That(comparison.Differences, Is.Empty, string.Join("\n", comparison.Differences));
        foreach (var table in new[] { "experiments/units", "quarantine/assignments" })
        {
            static string Show(Dictionary<string, object?> row) => string.Join("|", row.Where(kv => kv.Key != "run_id")
                .Select(kv => kv.Key + "=" + (kv.Value is DateTimeOffset o ? o.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture) : Convert.ToString(kv.Value, CultureInfo.InvariantCulture))));
            Assert.That(ParquetTable.Read(Path.Combine(spark, table)).Select(Show).Order(StringComparer.Ordinal),
                Is.EqualTo(ParquetTable.Read(Path.Combine(Output, table)).Select(Show).Order(StringComparer.Ordinal)), table);
        }
    }

    private JsonElement Manifest(string command) => Directory.GetFiles(Path.Combine(Output, "_runs"), "*.json")
        .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement)
        .Single(m => m.TryGetProperty("command", out var c) && c.GetString() == command);

    /// <summary>HMAC-SHA256 of the value with the run's key (PIPELINE_HASH_KEY when set, else the configured file): the anonymous key, computed here independently.</summary>
    private string Hmac(string value)
    {
        var env = Environment.GetEnvironmentVariable("PIPELINE_HASH_KEY");
        var key = Encoding.UTF8.GetBytes(string.IsNullOrEmpty(env) ? File.ReadAllText(KeyFile).Trim() : env);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(value)));
    }

    private static DateTimeOffset Instant(object? v) => v switch
    {
        DateTimeOffset o => o.ToUniversalTime(),
        DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
        _ => DateTimeOffset.Parse(Convert.ToString(v, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
    };
}
