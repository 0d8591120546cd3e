using System.Globalization;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipeline.Generate;
using Pipeline.Models.Ltv;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Customers;

/// <summary>
/// The cases of issue #16 through the CLI: the 109-customer online-retail sample (ltv used to exit 1 on a = 9.35e7),
/// the 50-customer quick-start shop (a degenerate fit that said P(alive) = 1.0 for everybody), and 120 generated days
/// with a 90-day holdout (30 days of calibration, a = b = 0, a backtest reported as if it meant something). Every
/// expectation is derived here, from the published inputs or the models fitted directly, not from the stage's output.
/// </summary>
[NonParallelizable]
public class LtvDiagnosticsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("ltv-diagnostics");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Output => Path.Combine(_dir, "out");

    private static string Sample(string file) => Path.Combine(TestPaths.RepoRoot, "data-samples", file);

    private static void Ok(params string[] args)
    {
        var r = PipelineCli.Run(args);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
    }

    private List<Dictionary<string, object?>> Table(string name) => ParquetTable.Read(Path.Combine(Output, name));

    private static Dictionary<string, object?> FitRow(List<Dictionary<string, object?>> rows, string fit, string model) =>
        rows.First(r => (string)r["fit"]! == fit && (string)r["model"]! == model);

    private List<CustomerSummary> Summary() =>
        Table("customers/features").Select(r => new CustomerSummary((string)r["customer_id"]!, (int)r["frequency"]!, (double)r["recency"]!, (double)r["T"]!, Convert.ToDouble(r["monetary_value"], CultureInfo.InvariantCulture))).ToList();

    private (DateOnly First, DateOnly Last) OrderDates()
    {
        var dates = Table("clean/orders").Select(r => DateOnly.ParseExact((string)r["order_date"]!, "yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList();
        return (dates.Min(), dates.Max());
    }

    private static void CentsOnly(IEnumerable<Dictionary<string, object?>> rows, params string[] columns)
    {
        foreach (var row in rows)
        {
            foreach (var column in columns)
            {
                // Money is an exact DECIMAL(18,2): a double here (even one "in cents") would only be near the amount.
                Assert.That(row[column], Is.Null.Or.InstanceOf<decimal>(), $"{column} is not a decimal");
                if (row[column] is decimal v)
                {
                    Assert.That(v, Is.EqualTo(Math.Round(v, 2)), $"{column} = {v.ToString(CultureInfo.InvariantCulture)} is not in cents");
                }
            }
        }
    }

    [Test]
    public void Online_retail_sample_runs_every_stage_with_a_fallback_fit_and_a_skipped_backtest()
    {
        var run = PipelineCli.Run("run", "-c", Sample("online-retail.json"), "-o", Output);
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(PublishedNumbers.NonFinite(Output), Is.Empty, "NaN or infinity in a published table");

        // The plain maximum likelihood fit on the published features runs off to a ≈ 1e8 (far beyond the sane 1000).
        var summary = Summary();
        Assert.That(summary, Has.Count.EqualTo(109));
        var mle = BgNbd.Fit(summary);
        Assert.That(mle.Parameters.A, Is.GreaterThan(1e3), "the degenerate fit the issue reports");

        var p = Table("ltv/params");
        var bg = FitRow(p, "full", "bg_nbd");
        Assert.Multiple(() =>
        {
            Assert.That(bg["status"], Is.EqualTo("degenerate"));
            Assert.That((string)bg["reasons"]!, Does.Contain("a = ").And.Contain("outside the sane range"));
            Assert.That(bg["estimator"], Is.EqualTo("map"));
            Assert.That(p.Where(r => (string)r["model"]! == "bg_nbd").Select(r => (double)r["value"]!), Is.All.InRange(1e-3, 1e3), "the fallback stays in range");
        });

        // Calibration period: the first order day to as_of − 90 days, both from clean/orders.
        var (first, last) = OrderDates();
        var calibrationDays = last.AddDays(-90).DayNumber - first.DayNumber + 1;
        Assert.That(calibrationDays, Is.LessThan(90));
        var metrics = Table("ltv/backtest_metrics").Single();
        Assert.Multiple(() =>
        {
            Assert.That(metrics["status"], Is.EqualTo("skipped"));
            Assert.That((string)metrics["reason"]!, Does.Contain($"calibration period ({calibrationDays} days").And.Contain("shorter than the 90-day holdout"));
            Assert.That(metrics["mae"], Is.Null);
            Assert.That(p.Where(r => (string)r["fit"]! == "calibration"), Is.Empty, "no calibration fit without a backtest");
            Assert.That(Table("ltv/backtest"), Is.Empty);
        });
        Assert.That(run.Stderr, Does.Contain("LTV figures to read with care").And.Contain("backtest skipped"));
        Assert.That(File.ReadAllText(Path.Combine(Output, "report", "index.html")), Does.Contain("data-caveat=\"ltv-fit\"").And.Contain("Backtest skipped"));
    }

    [Test]
    public void Quick_start_shop_records_the_fallback_and_the_report_never_states_p_alive_as_a_fact()
    {
        var run = PipelineCli.Run("run", "-c", Sample("shop.json"), "-o", Output);
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(PublishedNumbers.NonFinite(Output), Is.Empty, "NaN or infinity in a published table");

        // The plain fit on the sample's customers (its generator's ground truth says how many) runs off the sane range
        // (a and b → 0 on this 117-day history): the fallback must take over.
        var summary = Summary();
        using var truth = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "ground_truth.json")));
        Assert.That(summary, Has.Count.EqualTo(truth.RootElement.GetProperty("counts").GetProperty("customers").GetInt32()));
        var mle = BgNbd.Fit(summary);
        Assert.That(new[] { mle.Parameters.A, mle.Parameters.B }, Has.Some.Not.InRange(0.001, 1000.0), "a shape outside [0.001, 1000]");

        var p = Table("ltv/params");
        var bg = FitRow(p, "full", "bg_nbd");
        var gg = FitRow(p, "full", "gamma_gamma");
        var customers = Table("ltv/customers");
        Assert.Multiple(() =>
        {
            Assert.That(bg["status"], Is.Not.EqualTo("ok"));
            Assert.That(bg["estimator"], Is.EqualTo("map"), "the fallback is recorded");
            Assert.That(gg["status"], Is.Not.EqualTo("ok"));
            Assert.That(p.Select(r => r["standard_error"]), Is.All.Null.Or.InstanceOf<double>());
            // BG/NBD gives one-time buyers P(alive) = 1 by construction; repeat buyers who went quiet are now below it.
            var repeat = customers.Where(c => (int)c["frequency"]! > 0).Select(c => (double)c["p_alive"]!).ToList();
            Assert.That(repeat, Has.Count.EqualTo(summary.Count(c => c.Frequency > 0)));
            Assert.That(repeat.Count(v => v < 0.9), Is.GreaterThan(0), "some repeat buyers look lapsed");
            Assert.That(customers.Count(c => (double)c["p_alive"]! >= 0.999999), Is.LessThan(customers.Count), "not P(alive) = 1 for everybody");
        });
        CentsOnly(customers, "expected_order_value", "clv_30d", "clv_90d");
        CentsOnly(Table("ltv/backtest"), "predicted_value", "actual_value");

        var html = File.ReadAllText(Path.Combine(Output, "report", "index.html"));
        var ltv = html[html.IndexOf("<section id=\"ltv\">", StringComparison.Ordinal)..];
        ltv = ltv[..ltv.IndexOf("</section>", StringComparison.Ordinal)];
        Assert.Multiple(() =>
        {
            Assert.That(ltv, Does.Contain("data-caveat=\"ltv-fit\""), "the caveat next to the LTV figures");
            Assert.That(ltv, Does.Contain("data-kpi=\"mean_p_alive\"><span>Mean P(alive)</span><b>not shown</b>"));
            Assert.That(ltv, Does.Not.Contain("100.0%"), "no P(alive) of 100% presented as a fact");
            Assert.That(ltv, Does.Contain("data-kpi=\"mean_clv\"><span>Mean CLV</span><b>").And.Contain("rough estimate"));
        });
    }

    [Test]
    public void Generated_120_days_with_a_90_day_holdout_skip_the_backtest_with_the_reason()
    {
        var data = Path.Combine(_dir, "data");
        Ok("generate", "--legacy-defaults", "-o", data, "--customers", "2000", "--days", "120", "--seed", "16");
        var truth = GroundTruth.Load(Path.Combine(data, "ground_truth.json"));
        var config = Path.Combine(_dir, "holdout90.json");
        File.WriteAllText(config, new JsonObject { ["analytics"] = new JsonObject { ["ltv"] = new JsonObject { ["holdout_days"] = 90 } } }.ToJsonString());
        Ok("clean-orders", "-c", config, "-i", Path.Combine(data, "orders"), "-o", Output, "--now", truth.ObservationEnd.ToString("O", CultureInfo.InvariantCulture));
        Ok("features", "-c", config, "-o", Output);
        var ltv = PipelineCli.Run("ltv", "-c", config, "-o", Output);
        Assert.That(ltv.ExitCode, Is.Zero, ltv.ToString());

        var (first, last) = OrderDates();
        var calibrationEnd = last.AddDays(-90);
        var calibrationDays = calibrationEnd.DayNumber - first.DayNumber + 1;
        Assert.That(calibrationDays, Is.InRange(25, 35), "about 30 days of calibration for a 90-day holdout");
        var metrics = Table("ltv/backtest_metrics").Single();
        Assert.Multiple(() =>
        {
            Assert.That(metrics["status"], Is.EqualTo("skipped"));
            Assert.That(metrics["calibration_end"], Is.EqualTo(calibrationEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
            Assert.That((string)metrics["reason"]!, Does.Contain(
                $"the calibration period ({calibrationDays} days, {first:yyyy-MM-dd} to {calibrationEnd:yyyy-MM-dd}) is shorter than the 90-day holdout"));
            Assert.That(metrics["bias"], Is.Null);
            Assert.That((int)metrics["customers"]!, Is.GreaterThan(0), "customers who bought in the calibration period");
            Assert.That(Table("ltv/params").Select(r => r["fit"]).Distinct(), Is.EqualTo(new[] { "full" }));
            Assert.That(Table("ltv/backtest_buckets"), Is.Empty);
            Assert.That(ltv.Stderr, Does.Contain("backtest skipped: the calibration period"));
        });
        Assert.That(PublishedNumbers.NonFinite(Output), Is.Empty);

        // A holdout of a quarter of the period (what `pipeline generate` writes in its pipeline.json) leaves enough.
        var shorter = Path.Combine(_dir, "holdout30.json");
        File.WriteAllText(shorter, new JsonObject { ["analytics"] = new JsonObject { ["ltv"] = new JsonObject { ["holdout_days"] = 30 } } }.ToJsonString());
        Ok("ltv", "-c", shorter, "-o", Output);
        var ran = Table("ltv/backtest_metrics").Single();
        Assert.Multiple(() =>
        {
            Assert.That(ran["status"], Is.EqualTo("ran"));
            Assert.That(ran["reason"], Is.Null);
            Assert.That(ran["mae"], Is.InstanceOf<double>());
            Assert.That(Table("ltv/backtest_buckets").Select(b => b["mean_actual_purchases"]), Is.All.Null.Or.InstanceOf<double>(), "empty buckets are NULL, not NaN");
        });
        Assert.That(PublishedNumbers.NonFinite(Output), Is.Empty);
    }
}
