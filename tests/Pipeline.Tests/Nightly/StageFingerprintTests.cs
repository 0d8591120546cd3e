using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipeline.Config;
using Pipeline.Nightly;
using Pipeline.Stages;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Nightly;

/// <summary>
/// A stage's fingerprint covers its own settings, its raw inputs and the runs that published the tables it reads,
/// nothing else: a setting re-runs the stage it belongs to and what reads that stage's tables, and no other.
/// </summary>
public class StageFingerprintTests
{
    private static readonly string[] AllStages = ["clean-orders", "clean-clicks", "features", "rfm", "segment", "ltv", "kpis", "alerts", "experiments", "report"];

    /// <summary>A configuration change and the stages whose settings it belongs to (hand-listed from the settings' meaning).</summary>
    private static IEnumerable<TestCaseData> SettingChanges()
    {
        yield return Case("report.title", c => c with { Report = c.Report with { Title = "Another title" } }, "report");
        yield return Case("report.targets", c => c with { Report = c.Report with { Targets = c.Report.Targets with { Acos = 0.25 } } }, "report");
        yield return Case("events.session_timeout_minutes", c => c with { Events = c.Events with { SessionTimeoutMinutes = 20 } }, "clean-clicks");
        yield return Case("orders.grain", c => c with { Orders = c.Orders with { Grain = "order" } }, "clean-orders");
        yield return Case("base_currency", c => c with { BaseCurrency = "EUR" }, "clean-orders", "report");

        yield return Case("source_time_zone", c => c with { SourceTimeZone = "Europe/Paris" }, "clean-orders", "clean-clicks");
        yield return Case("quality.min_valid_date", c => c with { Quality = c.Quality with { MinValidDate = "2010-01-01" } }, "clean-orders", "clean-clicks", "kpis");
        yield return Case("analytics.time_unit", c => c with { Analytics = c.Analytics with { TimeUnit = "week" } }, "features", "rfm", "segment", "ltv");
        yield return Case("analytics.rfm.monetary", c => c with { Analytics = c.Analytics with { Rfm = c.Analytics.Rfm with { Monetary = "mean" } } }, "rfm");
        yield return Case("analytics.ltv.holdout_days", c => c with { Analytics = c.Analytics with { Ltv = c.Analytics.Ltv with { HoldoutDays = 30 } } }, "ltv");
        yield return Case("kpis.repeat_window_days", c => c with { Kpis = c.Kpis with { RepeatWindowDays = 60 } }, "kpis");
        yield return Case("alerts.sensitivity", c => c with { Alerts = c.Alerts with { Sensitivity = 5 } }, "alerts");
        yield return Case("alerts.calendar", c => c with { Alerts = c.Alerts with { Calendar = new Dictionary<string, string> { ["2024-11-11"] = "Double 11" } } }, "alerts");
        yield return Case("experiments.attribution_days", c => c with { Experiments = c.Experiments with { AttributionDays = 3 } }, "experiments");
        // Where outputs go, how fast the engine is, the snapshot date and the input paths are not settings of any stage
        // (input files are covered by their checksums, the date by the fingerprint's date).
        yield return Case("engine.threads", c => c with { Engine = c.Engine with { Threads = 1, MemoryLimit = "1GB" } });
        yield return Case("output", c => c with { Output = "/elsewhere" });
        yield return Case("analytics.as_of", c => c with { Analytics = c.Analytics with { AsOf = "2024-06-01" } });
        yield return Case("events.input", c => c with { Events = c.Events with { Input = ["/other/events/"] } });
    }

    private static TestCaseData Case(string name, Func<PipelineConfig, PipelineConfig> change, params string[] stages) =>
        new TestCaseData(change, stages) { TestName = $"A change of {name} changes the settings of {(stages.Length == 0 ? "no stage" : string.Join(", ", stages))} only" };

    [TestCaseSource(nameof(SettingChanges))]
    public void A_setting_belongs_to_the_stages_that_use_it(Func<PipelineConfig, PipelineConfig> change, string[] expected)
    {
        var before = new PipelineConfig { Orders = new() { Input = ["/in/orders/"] }, Events = new() { Input = ["/in/events/"] } };
        var after = change(before);
        var changed = StageRegistry.All.Where(s => StageRunner.SettingsHash(s, before) != StageRunner.SettingsHash(s, after)).Select(s => s.Name);
        Assert.That(changed, Is.EquivalentTo(expected));
    }

    private static IEnumerable<TestCaseData> SettingChangesWithSpend()
    {
        // With an ad spend input the KPIs convert spend to the base currency with the orders' FX table: both are theirs too.
        yield return Case("base_currency, with ad spend,", c => c with { BaseCurrency = "EUR" }, "clean-orders", "kpis", "report");
        yield return Case("orders.fx.columns, with ad spend,", c => c with
        {
            Orders = c.Orders with { Fx = c.Orders.Fx! with { Columns = new Dictionary<string, string> { ["rate"] = "Rate" } } },
        }, "clean-orders", "kpis");
        yield return Case("orders.fx.input, with ad spend,", c => c with { Orders = c.Orders with { Fx = c.Orders.Fx! with { Input = "/other/fx.csv" } } });
    }

    [TestCaseSource(nameof(SettingChangesWithSpend))]
    public void With_ad_spend_the_conversion_settings_belong_to_the_kpis_too(Func<PipelineConfig, PipelineConfig> change, string[] expected)
    {
        var before = new PipelineConfig
        {
            Orders = new() { Input = ["/in/orders/"], Fx = new FxConfig { Input = "/in/fx.csv" } },
            Events = new() { Input = ["/in/events/"] },
            Kpis = new() { AdSpend = new AdSpendConfig { Input = ["/in/spend.csv"] } },
        };
        var after = change(before);
        var changed = StageRegistry.All.Where(s => StageRunner.SettingsHash(s, before) != StageRunner.SettingsHash(s, after)).Select(s => s.Name);
        Assert.That(changed, Is.EquivalentTo(expected));
    }

    // ---- end to end: pipeline run on a copy of the sample shop --------------------------------------------------

    private string _dir = "";
    private string _config = "";

    [SetUp]
    public void SetUp()
    {
        _dir = TestPaths.NewTempDir("fingerprint");
        TestPaths.CopySampleShop(_dir);
        _config = Path.Combine(_dir, "pipeline.json");
        WriteConfig(_ => { });
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private void WriteConfig(Action<JsonObject> edit)
    {
        var config = JsonNode.Parse("""
            {
              "output": "out",
              "now": "2024-07-01T00:00:00Z",
              "orders": { "input": "orders/" },
              "events": { "input": "events/", "site_hosts": ["shop.example.com"] },
              "analytics": { "ltv": { "holdout_days": 14, "horizons_days": [30, 90] }, "segments": { "k_max": 4 } },
              "report": { "title": "Morning report" }
            }
            """)!.AsObject();
        edit(config);
        File.WriteAllText(_config, config.ToJsonString());
    }

    /// <summary>Runs <c>pipeline run</c> and returns the step statuses of its manifest: stage → status.</summary>
    private Dictionary<string, string> Run()
    {
        var r = PipelineCli.Run("run", "-c", _config);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var path = r.Stdout.Split('\n').Single(l => l.StartsWith("run manifest:", StringComparison.Ordinal))["run manifest:".Length..].Trim();
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("steps").EnumerateArray()
            .ToDictionary(s => s.GetProperty("stage").GetString()!, s => s.GetProperty("status").GetString()!);
    }

    private static Dictionary<string, string> Expect(params string[] ran) =>
        AllStages.ToDictionary(s => s, s => ran.Contains(s) ? "succeeded" : "skipped");

    /// <summary>A stage as it would be in a version whose tables have other columns (all else the same).</summary>
    private sealed class Reshaped(Stage inner, Func<TableSpec, TableSpec> reshape) : Stage
    {
        public override string Name => inner.Name;
        public override StageKind Kind => inner.Kind;
        public override string Description => inner.Description;
        public override IReadOnlyList<TableSpec> Writes => inner.Writes.Select(reshape).ToList();
        public override object SettingsOf(PipelineConfig config) => inner.SettingsOf(config);
        public override void Run(StageContext context) => inner.Run(context);
    }

    [Test]
    public void A_new_column_in_a_table_a_stage_writes_changes_its_settings_hash_so_an_old_output_is_rebuilt_not_appended_to()
    {
        var config = new PipelineConfig();
        var clicks = StageRegistry.Find("clean-clicks")!;
        var same = new Reshaped(clicks, t => t);
        var added = new Reshaped(clicks, t => t.Name == "clean/events" ? t with { Columns = [.. t.Columns, new ColumnSpec("is_new", "BOOLEAN", "")] } : t);
        var retyped = new Reshaped(clicks, t => t.Name == "sessions" ? t with { Columns = t.Columns.Select(c => c.Name == "engaged_seconds" ? c with { Type = "DECIMAL(18,3)" } : c).ToList() } : t);
        var described = new Reshaped(clicks, t => t with { Columns = t.Columns.Select(c => c with { Description = "reworded" }).ToList() });
        Assert.Multiple(() =>
        {
            Assert.That(StageRunner.SettingsHash(same, config), Is.EqualTo(StageRunner.SettingsHash(clicks, config)));
            Assert.That(StageRunner.SettingsHash(added, config), Is.Not.EqualTo(StageRunner.SettingsHash(clicks, config)), "a column added");
            Assert.That(StageRunner.SettingsHash(retyped, config), Is.Not.EqualTo(StageRunner.SettingsHash(clicks, config)), "a column's type changed");
            Assert.That(StageRunner.SettingsHash(described, config), Is.EqualTo(StageRunner.SettingsHash(clicks, config)), "documentation is not schema");
        });
    }

    [Test]
    public void An_unchanged_configuration_is_a_no_op_and_so_is_a_change_of_engine_resources()
    {
        Assert.That(Run(), Is.EqualTo(Expect(AllStages)));
        Assert.That(Run(), Is.EqualTo(Expect()));
        WriteConfig(c => c["engine"] = new JsonObject { ["threads"] = 1, ["memory_limit"] = "1GB" });
        Assert.That(Run(), Is.EqualTo(Expect()));
    }

    [Test]
    public void A_change_of_the_report_title_reruns_only_the_report()
    {
        Assert.That(Run(), Is.EqualTo(Expect(AllStages)));
        WriteConfig(c => c["report"]!["title"] = "Evening report");
        Assert.That(Run(), Is.EqualTo(Expect("report")));
        var html = File.ReadAllText(Path.Combine(_dir, "out", "report", "index.html"));
        Assert.That(html, Does.Contain("Evening report"));
    }

    [Test]
    public void A_change_of_a_clean_clicks_setting_reruns_clean_clicks_and_what_reads_its_tables_only()
    {
        Assert.That(Run(), Is.EqualTo(Expect(AllStages)));
        WriteConfig(c => c["events"]!["session_timeout_minutes"] = 20);
        // sessions feed features (and so rfm, segment, ltv), the KPIs, the alerts, the experiments and the report; clean orders do not change.
        Assert.That(Run(), Is.EqualTo(Expect("clean-clicks", "features", "rfm", "segment", "ltv", "kpis", "alerts", "experiments", "report")));
    }

    [Test]
    public void A_change_of_an_rfm_setting_reruns_rfm_and_the_report_only()
    {
        Assert.That(Run(), Is.EqualTo(Expect(AllStages)));
        WriteConfig(c => c["analytics"]!["rfm"] = new JsonObject { ["monetary"] = "mean" });
        Assert.That(Run(), Is.EqualTo(Expect("rfm", "report")));
    }
}
