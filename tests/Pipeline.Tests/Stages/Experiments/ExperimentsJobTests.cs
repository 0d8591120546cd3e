using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Experiments;

/// <summary>
/// <c>pipeline experiments</c> on a hand-built shop, through the real clean-orders and clean-clicks: every expected number
/// is worked out by hand in the comments. Experiment <c>exp1</c> (control, B) runs 2024-03-01 … 03-02, attribution
/// 7 days, so outcomes count from each unit's first exposure to 2024-03-10 00:00.
/// </summary>
public class ExperimentsJobTests
{
    private string _dir = "";

    private string Output => Path.Combine(_dir, "out");

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("experiments");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // c1: control, buys O1 (100) after exposure → converted.  v2 (anonymous): control, adds to cart, no order.
    // c3: B, buys O3 (50); O3b on 03-20 is after the outcome window.  v4 (anonymous): B then control → excluded.
    // v5 (anonymous): B, guest order G5 (30) linked by its purchase event.  c6: control, bought O6 (40) on 02-20, before
    // exposure (pre-exposure revenue); a lone page view after the exposure (a bounce).  v7: an exposure without variant.
    // Experiment_viewed / variation_id (GrowthBook's names) map by the built-in synonym and the column mapping.
    private const string Events = """
        event_id,occurred_at,anonymous_id,user_id,event_type,page_url,order_id,experiment_id,variation_id
        e01,2024-03-01T10:00:00Z,v1,c1,experiment_viewed,https://shop.example.com/,,exp1,control
        e02,2024-03-01T10:01:00Z,v1,c1,page_view,https://shop.example.com/p,,,
        e03,2024-03-01T10:10:00Z,v1,c1,purchase,https://shop.example.com/done,O1,,
        e04,2024-03-01T11:00:00Z,v2,,experiment_exposure,https://shop.example.com/,,exp1,control
        e05,2024-03-01T11:01:00Z,v2,,page_view,https://shop.example.com/p,,,
        e06,2024-03-01T11:02:00Z,v2,,add_to_cart,https://shop.example.com/p,,,
        e07,2024-03-01T12:00:00Z,v3,c3,experiment_exposure,https://shop.example.com/,,exp1,B
        e08,2024-03-01T12:05:00Z,v3,c3,purchase,https://shop.example.com/done,O3,,
        e09,2024-03-02T09:00:00Z,v4,,experiment_exposure,https://shop.example.com/,,exp1,B
        e10,2024-03-02T09:05:00Z,v4,,experiment_exposure,https://shop.example.com/,,exp1,control
        e11,2024-03-02T10:00:00Z,v5,,experiment_exposure,https://shop.example.com/,,exp1,B
        e12,2024-03-02T10:10:00Z,v5,,purchase,https://shop.example.com/done,G5,,
        e13,2024-03-02T11:00:00Z,v6,c6,experiment_exposure,https://shop.example.com/,,exp1,control
        e14,2024-03-02T11:01:00Z,v6,c6,page_view,https://shop.example.com/,,,
        e15,2024-03-02T12:00:00Z,v7,,experiment_exposure,https://shop.example.com/,,exp1,
        """;

    private const string Orders = """
        order_id,customer_id,ordered_at,status,total_amount
        O6,c6,2024-02-20T10:00:00Z,completed,40
        O1,c1,2024-03-01T10:10:00Z,completed,100
        O3,c3,2024-03-01T12:05:00Z,completed,50
        G5,,2024-03-02T10:10:00Z,completed,30
        O3b,c3,2024-03-20T10:00:00Z,completed,70
        """;

    private string Setup(string events = Events, JsonObject? experiments = null)
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "events.csv"), events.Replace("\r", "", StringComparison.Ordinal) + "\n");
        File.WriteAllText(Path.Combine(_dir, "orders.csv"), Orders.Replace("\r", "", StringComparison.Ordinal) + "\n");
        var config = new JsonObject
        {
            ["output"] = Output,
            ["now"] = "2024-12-31T00:00:00Z",
            ["orders"] = new JsonObject { ["input"] = Path.Combine(_dir, "orders.csv") },
            ["events"] = new JsonObject
            {
                ["input"] = Path.Combine(_dir, "events.csv"),
                ["columns"] = new JsonObject { ["variant"] = "variation_id" },
            },
            ["experiments"] = experiments ?? new JsonObject { ["attribution_days"] = 7, ["cuped"] = true },
        };
        var path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, config.ToJsonString());
        foreach (var verb in new[] { "clean-orders", "clean-clicks", "experiments" })
        {
            var r = PipelineCli.Run(verb, "-c", path);
            Assert.That(r.ExitCode, Is.Zero, $"{verb}: {r}");
            _lastStderr = r.Stderr;
        }
        return path;
    }

    private string _lastStderr = "";

    [Test]
    public void Units_take_the_first_exposure_exclude_switchers_and_count_outcomes_in_the_window()
    {
        Setup();
        var units = ParquetTable.Read(Path.Combine(Output, "experiments", "units"));
        Assert.That(units, Has.Count.EqualTo(6), "c1, v2, c3, v4, v5, c6 (v7's exposure names no variant)");
        var byId = units.ToDictionary(u => (string)u["unit_id"]!);
        Assert.Multiple(() =>
        {
            Assert.That(byId["c1"]["variant"], Is.EqualTo("control"));
            Assert.That(byId["c1"]["revenue"], Is.EqualTo(100m));
            Assert.That(byId["c1"]["is_converted"], Is.True);
            Assert.That(byId["c3"]["variant"], Is.EqualTo("B"));
            Assert.That(byId["c3"]["orders"], Is.EqualTo(1L), "O3b (03-20) is after 03-10");
            Assert.That(byId["c3"]["revenue"], Is.EqualTo(50m));
            Assert.That(byId["c6"]["pre_revenue"], Is.EqualTo(40m));
            Assert.That(byId["c6"]["is_converted"], Is.False);
            Assert.That(byId["c6"]["bounced_sessions"], Is.EqualTo(1L), "exposure + one page view is a bounce");
            var anonymous = units.Where(u => (string)u["unit_type"]! == "anonymous").ToList();
            Assert.That(anonymous, Has.Count.EqualTo(3));
            Assert.That(anonymous.Select(u => (string)u["unit_id"]!), Has.All.StartWith("a:").And.None.Contains("v2").And.None.Contains("v4").And.None.Contains("v5"));
            var v4 = anonymous.Single(u => (bool)u["is_excluded"]!);
            Assert.That(v4["variant"], Is.EqualTo("B"));
            Assert.That(v4["variants_seen"], Is.EqualTo(2L));
            var v5 = anonymous.Single(u => (string)u["variant"]! == "B" && !(bool)u["is_excluded"]!);
            Assert.That(v5["revenue"], Is.EqualTo(30m), "the guest order G5, through its purchase event");
            var v2 = anonymous.Single(u => (string)u["variant"]! == "control");
            Assert.That(v2["add_to_carts"], Is.EqualTo(1L));
        });
    }

    [Test]
    public void Results_and_summary_follow_from_the_units()
    {
        Setup();
        var results = ParquetTable.Read(Path.Combine(Output, "experiments", "results"));
        double V(string variant, string metric, string column) =>
            Convert.ToDouble(results.Single(r => (string)r["variant"]! == variant && (string)r["metric"]! == metric)[column], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Multiple(() =>
        {
            // control: c1, v2, c6 (1 of 3 converted; revenue 100, 0, 0); B: c3, v5 (both converted; 50, 30).
            Assert.That(V("control", "conversion", "units"), Is.EqualTo(3));
            Assert.That(V("B", "conversion", "units"), Is.EqualTo(2));
            Assert.That(V("control", "conversion", "value"), Is.EqualTo(1.0 / 3).Within(1e-12));
            Assert.That(V("B", "conversion", "value"), Is.EqualTo(1.0).Within(1e-12));
            Assert.That(V("B", "conversion", "rel_uplift"), Is.EqualTo(2.0).Within(1e-12), "(1 − 1/3) / (1/3)");
            Assert.That(V("B", "revenue_per_unit", "abs_uplift"), Is.EqualTo(40 - 100.0 / 3).Within(1e-9));
            Assert.That(V("B", "revenue_per_unit", "rel_uplift"), Is.EqualTo(0.2).Within(1e-12), "40 / 33.33 − 1");
            Assert.That(V("B", "aov", "value"), Is.EqualTo(40.0).Within(1e-12), "80 / 2 orders");
            Assert.That(V("control", "aov", "value"), Is.EqualTo(100.0).Within(1e-12));
            Assert.That(V("control", "add_to_cart_rate", "value"), Is.EqualTo(1.0 / 3).Within(1e-12));
            Assert.That(results.Select(r => (string)r["metric"]!).Distinct(), Does.Contain("revenue_per_unit_cuped"));
        });
        var summary = ParquetTable.Read(Path.Combine(Output, "experiments", "summary")).Single();
        Assert.Multiple(() =>
        {
            Assert.That(summary["experiment_id"], Is.EqualTo("exp1"));
            Assert.That(summary["control_variant"], Is.EqualTo("control"));
            Assert.That(summary["units"], Is.EqualTo(5L));
            Assert.That(summary["excluded_units"], Is.EqualTo(1L));
            Assert.That(summary["exposures_without_variant"], Is.EqualTo(1L));
            Assert.That(summary["exposures"], Is.EqualTo(7L), "e01, e04, e07, e09, e10, e11, e13: 7 exposures with a variant");
            // 3 vs 2 against 50/50: χ² = 2·0.5²/2.5 = 0.2, p = 2(1 − Φ(√0.2)) = 0.654721.
            Assert.That((double)summary["srm_chi_square"]!, Is.EqualTo(0.2).Within(1e-12));
            Assert.That((double)summary["srm_p_value"]!, Is.EqualTo(0.654721).Within(1e-6));
            Assert.That(summary["is_srm"], Is.False);
            Assert.That(summary["start_date"]?.ToString(), Does.StartWith("2024-03-01").Or.Contain("3/1/2024").Or.Contain("03/01/2024"));
            Assert.That(summary["status"], Is.EqualTo("running"), "its window ends 03-02, the day of the data's last event (e15)");
        });
    }

    // The event scans read only the days of the windows (clean/events is partitioned by day): the borders, worked by
    // hand. exp1 is declared 2024-03-02 … 03-03 with 2 attribution days, so exposures count on 03-02 00:00 … 03-04 00:00
    // and outcomes until 03-06 00:00. v1's exposure on 03-01 23:59 is before the start (no unit); v2 is exposed at
    // 03-02 00:00 exactly, adds to cart at 03-05 23:59:59 (counts) and at 03-06 00:00 (does not); v3 is exposed at
    // 03-03 23:59:59 (counts), again at 03-04 00:00 (after the end: not an exposure of the window), and added to cart at
    // 03-03 12:00, before its first exposure (does not count). e20 and e21 are exposures without an experiment id.
    private const string BorderEvents = """
        event_id,occurred_at,anonymous_id,user_id,event_type,page_url,order_id,experiment_id,variation_id
        e01,2024-03-01T23:59:00Z,v1,,experiment_exposure,https://shop.example.com/,,exp1,control
        e02,2024-03-02T00:00:00Z,v2,,experiment_exposure,https://shop.example.com/,,exp1,control
        e03,2024-03-05T23:59:59Z,v2,,add_to_cart,https://shop.example.com/p,,,
        e04,2024-03-06T00:00:00Z,v2,,add_to_cart,https://shop.example.com/p,,,
        e05,2024-03-03T12:00:00Z,v3,,add_to_cart,https://shop.example.com/p,,,
        e06,2024-03-03T23:59:59Z,v3,,experiment_exposure,https://shop.example.com/,,exp1,B
        e07,2024-03-04T00:00:00Z,v3,,experiment_exposure,https://shop.example.com/,,exp1,control
        e20,2024-03-02T08:00:00Z,v8,,experiment_exposure,https://shop.example.com/,,,control
        e21,2024-03-20T08:00:00Z,v8,,experiment_exposure,https://shop.example.com/,,,B
        """;

    [Test]
    public void Exposures_and_carts_count_exactly_to_the_day_borders_of_the_windows()
    {
        Setup(BorderEvents, new JsonObject
        {
            ["attribution_days"] = 2,
            ["definitions"] = new JsonObject { ["exp1"] = new JsonObject { ["start"] = "2024-03-02", ["end"] = "2024-03-03" } },
        });
        var units = ParquetTable.Read(Path.Combine(Output, "experiments", "units"));
        Assert.That(units, Has.Count.EqualTo(2), "v2 and v3; v1 was exposed before the start");
        var v2 = units.Single(u => (string)u["variant"]! == "control");
        var v3 = units.Single(u => (string)u["variant"]! == "B");
        Assert.Multiple(() =>
        {
            Assert.That(v2["add_to_carts"], Is.EqualTo(1L), "03-05 23:59:59 counts, 03-06 00:00 does not");
            Assert.That(v3["exposures"], Is.EqualTo(1L), "03-03 23:59:59 counts, 03-04 00:00 is after the end");
            Assert.That(v3["is_excluded"], Is.False, "its control exposure is outside the window");
            Assert.That(v3["add_to_carts"], Is.EqualTo(0L), "its cart came before its first exposure");
            Assert.That(_lastStderr, Does.Contain("2 experiment exposure event(s) without an experiment_id were ignored"));
            Assert.That(ParquetTable.Read(Path.Combine(Output, "experiments", "summary")).Single()["status"], Is.EqualTo("ended"),
                "the window ended 03-03, the data on 03-20 (e21)");
        });
    }

    [Test]
    public void Without_experiments_the_tables_are_empty_with_their_declared_columns()
    {
        Setup(string.Join("\n", Events.Split('\n').Where(l => !l.Contains("experiment", StringComparison.Ordinal) || l.StartsWith("event_id", StringComparison.Ordinal))));
        var units = Path.Combine(Output, "experiments", "units");
        Assert.That(ParquetTable.Read(units), Is.Empty);
        using var engine = new Pipeline.Engine.DuckDb.DuckDbEngine(new Pipeline.Engine.DuckDb.DuckDbOptions(Threads: 1));
        var actual = engine.Query($"DESCRIBE SELECT * FROM read_parquet('{units}/**/*.parquet')").Select(r => ((string)r[0]!, (string)r[1]!)).ToList();
        Assert.That(actual, Is.EqualTo(Pipeline.Stages.Experiments.ExperimentsTables.Units.Columns.Select(c => (c.Name, c.Type)).ToList()));
        Assert.That(ParquetTable.Read(Path.Combine(Output, "experiments", "summary")), Is.Empty);
        Assert.That(_lastStderr, Does.Not.Contain("without an experiment_id"));
    }
}
