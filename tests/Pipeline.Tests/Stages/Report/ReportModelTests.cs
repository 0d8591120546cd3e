using System.Text.RegularExpressions;
using NUnit.Framework;
using Pipeline.Config;
using Pipeline.Engine.DuckDb;
using Pipeline.Stages.Report;
using Pipeline.Tests.Support;
using static Pipeline.Tests.Stages.Report.KpiFixtures;

namespace Pipeline.Tests.Stages.Report;

/// <summary>
/// The report's numbers on small hand-made KPI tables and manifests, worked out by hand: what the model holds and what
/// the HTML shows. Also: hostile strings are escaped, and missing tables give a note instead of a failure.
/// </summary>
public partial class ReportModelTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("report");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Output => Path.Combine(_dir, "out");

    private static readonly DateOnly D1 = new(2024, 6, 1);
    private static readonly DateOnly D2 = new(2024, 6, 2);
    private static readonly DateOnly D3 = new(2024, 6, 3);

    /// <summary>
    /// Three days. Sessions 1000 + 800 + 1200 = 3000; orders 20 + 24 + 30 = 74; natural 250 + 240 + 420 = 910;
    /// revenue 2000 + 1800 + 3300 = 7100; new customers 10 + 8 + 12 = 30; funnel views 1800, carts 470, checkouts 190,
    /// purchases 74. Paid search spends 450 + 400 + 500 = 1350 against its revenue 1500 + 1350 + 2200 = 5050.
    /// </summary>
    private void WriteSmallKpis(string channelName = "paid_search")
    {
        Write(Output,
            [
                Day(D1, 1000, 20, 2000, 250, 10, null, 600, 150, 60, 20),
                Day(D2, 800, 24, 1800, 240, 8, 0.32, 500, 120, 50, 24),
                Day(D3, 1200, 30, 3300, 420, 12, 0.36, 700, 200, 80, 30),
            ],
            [
                Channel(D1, "organic_search", true, 250, 1000, 5, 500, 3, null),
                Channel(D1, channelName, false, 750, 1000, 15, 1500, 7, 450),
                Channel(D2, "organic_search", true, 240, 800, 6, 450, 2, null),
                Channel(D2, channelName, false, 560, 800, 18, 1350, 6, 400),
                Channel(D3, "organic_search", true, 420, 1200, 10, 1100, 4, null),
                Channel(D3, channelName, false, 780, 1200, 20, 2200, 8, 500),
            ],
            [
                Cohort(new DateOnly(2024, 4, 1), 0, 100, 100, 80),
                Cohort(new DateOnly(2024, 4, 1), 1, 100, 25, 95),
                Cohort(new DateOnly(2024, 4, 1), 2, 100, 20, 110),
                Cohort(new DateOnly(2024, 5, 1), 0, 50, 50, 70),
                Cohort(new DateOnly(2024, 5, 1), 1, 50, 15, 90),
            ]);
    }

    private ReportModel Load(PipelineConfig? config = null)
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        config ??= new PipelineConfig();
        return ReportData.Load(engine, Output, new ReportStage().Settings(config), ConfigValues.AsOf(config), "test-run", new DateTimeOffset(2024, 6, 4, 6, 0, 0, TimeSpan.Zero));
    }

    private string RunReport(params string[] extra)
    {
        var r = PipelineCli.Run(["report", "-o", Output, .. extra]);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var file = Path.Combine(Output, "report", "index.html");
        Assert.That(File.Exists(file), Is.True, r.ToString());
        return File.ReadAllText(file);
    }

    /// <summary>The text of a tile's big number in the page.</summary>
    private static string TileValue(string html, string key)
    {
        var m = Regex.Match(html, $"data-kpi=\"{key}\">.*?<div class=\"value\">(.*?)</div>", RegexOptions.Singleline);
        Assert.That(m.Success, Is.True, $"no tile {key}");
        return m.Groups[1].Value;
    }

    private static string SectionHtml(string html, string id)
    {
        var m = Regex.Match(html, $"<section id=\"{id}\">(.*?)</section>", RegexOptions.Singleline);
        Assert.That(m.Success, Is.True, $"no section {id}");
        return m.Groups[1].Value;
    }

    [Test]
    public void Kpi_tiles_are_window_totals_against_the_targets()
    {
        WriteSmallKpis();
        var config = new PipelineConfig { Report = new ReportConfig { Targets = new ReportTargetsConfig { AcquisitionCostBaseline = 60 } } };
        var k = Load(config).Kpis!;
        var tile = k.Tiles.ToDictionary(t => t.Key);
        Assert.Multiple(() =>
        {
            Assert.That(k.From, Is.EqualTo(new DateOnly(2024, 5, 7)), "28 days to the last KPI date");
            Assert.That(k.To, Is.EqualTo(D3));
            Assert.That(tile["conversion_rate"].Value, Is.EqualTo(74.0 / 3000).Within(1e-12));
            Assert.That(tile["conversion_rate"].Status, Is.EqualTo(KpiStatus.Improving), "between 1.5% and 2.8%");
            Assert.That(tile["conversion_rate"].Progress, Is.EqualTo((74.0 / 3000 - 0.015) / (0.028 - 0.015)).Within(1e-12));
            Assert.That(tile["natural_traffic_share"].Value, Is.EqualTo(910.0 / 3000).Within(1e-12));
            Assert.That(tile["natural_traffic_share"].Status, Is.EqualTo(KpiStatus.Improving));
            Assert.That(tile["repeat_purchase_rate"].Value, Is.EqualTo(0.36), "the latest defined value");
            Assert.That(tile["repeat_purchase_rate"].Status, Is.EqualTo(KpiStatus.Improving));
            Assert.That(tile["acos"].Value, Is.EqualTo(1350.0 / 5050).Within(1e-12));
            Assert.That(tile["acos"].Status, Is.EqualTo(KpiStatus.OnTarget), "26.7% <= 30%");
            Assert.That(tile["acquisition_cost"].Value, Is.EqualTo(1350.0 / 30).Within(1e-12), "all new customers");
            Assert.That(tile["acquisition_cost"].Target, Is.EqualTo(42.0).Within(1e-12), "60 less 30%");
            Assert.That(tile["acquisition_cost"].Status, Is.EqualTo(KpiStatus.Improving), "45 is below 60, above 42");
            Assert.That(k.Context.Single(c => c.Key == "aov").Value, Is.EqualTo(7100.0 / 74).Within(1e-12));
            Assert.That(k.Context.Single(c => c.Key == "revenue").Value, Is.EqualTo(7100.0));
        });

        var html = RunReport();
        Assert.Multiple(() =>
        {
            Assert.That(TileValue(html, "conversion_rate"), Is.EqualTo("2.47%"));
            Assert.That(TileValue(html, "natural_traffic_share"), Is.EqualTo("30.3%"));
            Assert.That(TileValue(html, "repeat_purchase_rate"), Is.EqualTo("36.0%"));
            Assert.That(TileValue(html, "acos"), Is.EqualTo("26.7%"));
            Assert.That(TileValue(html, "acquisition_cost"), Is.EqualTo("45.00 <small>USD</small>"));
            Assert.That(html, Does.Contain("target 2.80% · baseline 1.50%"));
            Assert.That(html, Does.Contain("Data through <b>2024-06-03</b>"));
        });
    }

    [Test]
    public void Without_a_configured_baseline_acquisition_cost_is_compared_with_the_first_window()
    {
        WriteSmallKpis();
        var tile = Load().Kpis!.Tiles.Single(t => t.Key == "acquisition_cost");
        // The data is shorter than one window: the baseline window is the same three days, 1350 / 30 = 45.
        Assert.That(tile.Baseline, Is.EqualTo(45.0).Within(1e-12));
        Assert.That(tile.Target, Is.EqualTo(31.5).Within(1e-12));
        Assert.That(tile.Status, Is.EqualTo(KpiStatus.OffTarget));
    }

    [Test]
    public void Rolling_values_sum_numerators_and_denominators_over_calendar_days()
    {
        var rows = new[] { (D1, 1.0, 10.0), (D2, 3.0, 10.0), (new DateOnly(2024, 6, 5), 6.0, 20.0) };
        var rolling = ReportData.Rolling(rows, r => r.Item1, r => r.Item2, r => r.Item3, 3);
        Assert.That(rolling.Select(r => r.Value), Is.EqualTo(new double?[] { 0.1, 0.2, 0.3 }).Within(1e-12),
            "06-05's window (06-03..06-05) leaves 06-01 and 06-02 out");
    }

    [Test]
    public void Funnel_channels_and_cohorts_hold_the_fixture_values()
    {
        WriteSmallKpis();
        var m = Load();
        var steps = m.Funnel!.Steps;
        Assert.Multiple(() =>
        {
            Assert.That(steps.Select(s => s.Sessions), Is.EqualTo(new long[] { 3000, 1800, 470, 190, 74 }));
            Assert.That(steps[1].ShareOfSessions, Is.EqualTo(0.6).Within(1e-12));
            Assert.That(steps[2].FromPrevious, Is.EqualTo(470.0 / 1800).Within(1e-12));
            Assert.That(steps[4].FromPrevious, Is.EqualTo(74.0 / 190).Within(1e-12));

            var paid = m.Channels!.Totals.Single(c => c.Channel == "paid_search");
            Assert.That(paid.Sessions, Is.EqualTo(2090));
            Assert.That(paid.SessionShare, Is.EqualTo(2090.0 / 3000).Within(1e-12));
            Assert.That(paid.Spend, Is.EqualTo(1350.0));
            Assert.That(paid.Roas, Is.EqualTo(5050.0 / 1350).Within(1e-12));
            Assert.That(paid.Cac, Is.EqualTo(1350.0 / 21).Within(1e-12));
            Assert.That(m.Channels.Totals.Single(c => c.Channel == "organic_search").Spend, Is.Null);
            // Sat 06-01 and Sun 06-02 are in the week of Monday 05-27; Monday 06-03 starts the next.
            Assert.That(m.Channels.Periods.Select(p => p.PeriodStart), Is.EqualTo(new[] { new DateOnly(2024, 5, 27), D3 }));
            Assert.That(m.Channels.Periods[0].NaturalShare, Is.EqualTo(490.0 / 1800).Within(1e-12));
            Assert.That(m.Channels.Periods[0].SessionsByChannel["paid_search"], Is.EqualTo(1310));

            Assert.That(m.Cohorts!.Cohorts, Is.EqualTo(new[] { new DateOnly(2024, 4, 1), new DateOnly(2024, 5, 1) }));
            Assert.That(m.Cohorts.Cells.Single(c => c.CohortMonth.Month == 5 && c.MonthsSinceFirst == 1).RetentionRate, Is.EqualTo(0.3).Within(1e-12));
        });

        var html = RunReport();
        var funnel = SectionHtml(html, "funnel");
        var cohorts = SectionHtml(html, "cohorts");
        Assert.Multiple(() =>
        {
            Assert.That(funnel, Does.Contain("<td>Add to cart</td><td class=\"num\">470</td><td class=\"num\">15.7%</td><td class=\"num\">26.1%</td>"));
            Assert.That(SectionHtml(html, "channels"), Does.Contain("<td>paid_search</td><td>paid / other</td><td class=\"num\">2,090</td><td class=\"num\">69.7%</td>"));
            Assert.That(cohorts, Does.Contain(">2024-05</th><td class=\"num\">50</td>"));
            Assert.That(cohorts, Does.Contain(">30.0%</td>"));
            Assert.That(cohorts, Does.Contain(">25.0%</td>"));
        });
    }

    [Test]
    public void Quality_comes_from_the_run_manifests()
    {
        var runs = Path.Combine(Output, "_runs");
        Directory.CreateDirectory(runs);
        File.WriteAllText(Path.Combine(runs, "a.json"), Manifest("r1", "clean-orders", "2024-06-01T01:00:00Z", "succeeded", 100, 90, 6, 4, 0, """{"bad_amount": 4, "missing_order_id": 2}"""));
        File.WriteAllText(Path.Combine(runs, "b.json"), Manifest("r2", "clean-orders", "2024-06-02T01:00:00Z", "succeeded", 200, 190, 8, 2, 0, """{"bad_amount": 8}"""));
        File.WriteAllText(Path.Combine(runs, "c.json"), Manifest("r3", "clean-clicks", "2024-06-02T02:00:00Z", "quality_gate_failed", 1000, 700, 100, 50, 150, """{"bad_timestamp": 100}"""));
        File.WriteAllText(Path.Combine(runs, "broken.json"), "{ not json");
        var q = Load().Quality!;
        Assert.Multiple(() =>
        {
            Assert.That(q.Latest.Select(s => (s.Stage, s.RunId)), Is.EqualTo(new[] { ("clean-clicks", "r3"), ("clean-orders", "r2") }));
            var orders = q.Latest.Single(s => s.Stage == "clean-orders");
            Assert.That((orders.RowsRead, orders.RowsWritten, orders.RowsQuarantined, orders.Duplicates), Is.EqualTo((200L, 190L, 8L, 2L)));
            Assert.That(orders.QuarantinedShare, Is.EqualTo(0.04).Within(1e-12));
            Assert.That(q.Trend.Select(s => s.RunId), Is.EqualTo(new[] { "r1", "r2", "r3" }), "oldest first");
            Assert.That(q.RecentRuns.Select(r => r.RunId), Is.EqualTo(new[] { "r3", "r2", "r1" }), "newest first; the broken file is left out");
            Assert.That(q.Inputs.Select(i => i.File), Is.EqualTo(new[] { "/in/r3.jsonl", "/in/r2.csv" }), "the latest run of each command");
        });
        var html = RunReport();
        var quality = SectionHtml(html, "quality");
        Assert.Multiple(() =>
        {
            Assert.That(quality, Does.Contain("<tr data-stage=\"clean-clicks\"><td>clean-clicks</td><td>2024-06-02 02:00</td><td><span class=\"pill warn\">quality gate failed</span></td><td class=\"num\">1,000</td><td class=\"num\">700</td><td class=\"num\">100</td><td class=\"num\">50</td><td class=\"num\">150</td><td class=\"num\">10.0%</td>"));
            Assert.That(quality, Does.Contain("<td>clean-orders</td><td>quarantined: bad_amount</td><td class=\"num\">8</td><td class=\"num\">4.00%</td>"));
            Assert.That(quality, Does.Contain("<svg"), "the trend chart");
        });
    }

    private static string Manifest(string runId, string command, string started, string status, long read, long written, long quarantined, long duplicates, long bots, string reasons) => $$"""
        {
          "run_id": "{{runId}}", "command": "{{command}}", "version": "0.1.0", "engine": "duckdb", "config_hash": "x",
          "started_at": "{{started}}", "finished_at": "{{started}}", "status": "{{status}}", "exit_code": 0,
          "inputs": [ { "path": "/in/{{runId}}.{{(command == "clean-orders" ? "csv" : "jsonl")}}", "format": "csv", "bytes": 1234, "sha256": "00", "gzip": false } ],
          "stages": [ { "stage": "{{command}}", "rows_read": {{read}}, "rows_written": {{written}}, "rows_quarantined": {{quarantined}},
                        "duplicates": {{duplicates}}, "bots": {{bots}}, "quarantined_by_reason": {{reasons}}, "bots_by_rule": {},
                        "counts": {}, "seconds": 1.5, "balanced": true } ],
          "outputs": [], "warnings": []
        }
        """;

    [Test]
    public void Hostile_strings_are_escaped_everywhere()
    {
        const string channel = "<script>alert(\"x\")</script>";
        WriteSmallKpis(channel);
        var runs = Path.Combine(Output, "_runs");
        Directory.CreateDirectory(runs);
        File.WriteAllText(Path.Combine(runs, "a.json"), Manifest("<b>r1</b>", "clean-orders", "2024-06-01T01:00:00Z", "<img src=x onerror=alert(1)>", 10, 10, 0, 0, 0, "{}")
            .Replace("\"exit_code\": 0", "\"exit_code\": 1, \"message\": \"</td><script>bad()</script>\"", StringComparison.Ordinal));
        var config = Path.Combine(_dir, "report.json");
        File.WriteAllText(config, """{ "report": { "title": "Q3 <img src=x onerror=alert(2)> & \"friends\"" } }""");
        var html = RunReport("-c", config);
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Not.Contain("<script"), "no script element at all");
            Assert.That(html, Does.Not.Contain("<img"));
            Assert.That(html, Does.Not.Contain("<b>r1</b>"));
            Assert.That(html, Does.Contain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), "the channel, escaped in the table");
            Assert.That(html, Does.Contain("<title>Q3 &lt;img src=x onerror=alert(2)&gt; &amp; &quot;friends&quot;</title>"));
            Assert.That(html, Does.Contain("&lt;/td&gt;&lt;script&gt;bad()&lt;/script&gt;"), "the manifest message");
        });
    }

    [Test]
    public void Missing_tables_give_a_note_naming_the_command_and_the_report_still_succeeds()
    {
        var html = RunReport();
        var expected = new Dictionary<string, string>
        {
            ["kpis"] = "pipeline kpis", ["channels"] = "pipeline kpis", ["funnel"] = "pipeline kpis", ["cohorts"] = "pipeline kpis",
            ["rfm"] = "pipeline rfm", ["segments"] = "pipeline segment", ["ltv"] = "pipeline ltv", ["quality"] = "pipeline clean-orders",
        };
        Assert.Multiple(() =>
        {
            foreach (var (id, command) in expected)
            {
                var section = SectionHtml(html, id);
                Assert.That(section, Does.Contain("<p class=\"missing\">Not available — run <code>" + command), id);
                Assert.That(section, Does.Not.Contain("<svg"), id);
            }
        });
        var manifest = Directory.GetFiles(Path.Combine(Output, "_runs"), "*.json").Single();
        Assert.That(File.ReadAllText(manifest), Does.Contain("\"sections_missing\": 8"));
    }

    [Test]
    public void Kpi_tables_without_spend_say_that_acos_needs_an_ad_spend_input()
    {
        Write(Output,
            [Day(D1, 1000, 30, 2000, 400, 10, 0.5, 600, 150, 60, 30)],
            [Channel(D1, "direct", true, 400, 1000, 12, 800, 4, null), Channel(D1, "email", false, 600, 1000, 18, 1200, 6, null)],
            []);
        var m = Load();
        var tiles = m.Kpis!.Tiles.ToDictionary(t => t.Key);
        Assert.Multiple(() =>
        {
            Assert.That(tiles["acos"].Value, Is.Null);
            Assert.That(tiles["acos"].Status, Is.EqualTo(KpiStatus.Unknown));
            Assert.That(tiles["acquisition_cost"].Value, Is.Null);
            Assert.That(tiles["conversion_rate"].Status, Is.EqualTo(KpiStatus.OnTarget), "3% >= 2.8%");
            Assert.That(tiles["repeat_purchase_rate"].Status, Is.EqualTo(KpiStatus.OnTarget), "50% >= 45%");
            Assert.That(m.Cohorts, Is.Null, "an empty cohorts table");
            Assert.That(m.Missing["cohorts"], Does.Contain("pipeline kpis"));
        });
        var html = RunReport();
        Assert.That(TileValue(html, "acos"), Is.EqualTo("—"));
        Assert.That(SectionHtml(html, "kpis"), Does.Contain("need an ad spend input"));
    }
}
