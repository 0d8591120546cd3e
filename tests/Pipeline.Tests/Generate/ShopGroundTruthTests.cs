using System.Globalization;
using NUnit.Framework;
using Pipeline.Generate;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Generate;

/// <summary>
/// A generated year of the plan's shop (200 customers, the default calibration) through clean-orders, clean-clicks and
/// kpis: the pipeline's KPI tables recover the generator's true daily KPIs (ground_truth.json's shop block, counted by the
/// generator from what it wrote), and those sit near the plan's starting point the generator aims at. Tolerances:
/// sessions, orders, natural sessions and new customers per day exactly (same definitions); repeat rate per cohort
/// window exactly; ACoS within 3 points (the pipeline's last non-direct-touch attribution may credit a paid channel
/// with a direct purchase session's order); truth vs aim: conversion ±0.15 points, natural share ±1 point (both are
/// sized per day), repurchase ±12 points (≈ 3 binomial standard errors at ~150 cohort customers), ACoS ±4 points.
/// </summary>
[NonParallelizable]
public class ShopGroundTruthTests
{
    private string _dir = "";
    private GroundTruth _truth = null!;
    private List<Dictionary<string, object?>> _daily = [];
    private List<Dictionary<string, object?>> _channels = [];

    [OneTimeSetUp]
    public void GenerateAndRun()
    {
        _dir = TestPaths.NewTempDir("shop-truth");
        var options = new GenerateOptions { OutputDirectory = _dir, Customers = 200, Days = 365, Seed = 11 };
        _truth = DatasetGenerator.Generate(options);
        var config = GeneratedConfig.Write(options, _truth);
        var run = PipelineCli.Run("run", "-c", config, "--only", "clean-orders,clean-clicks,kpis", "-q");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var output = Path.Combine(_dir, GeneratedConfig.OutputFolder);
        _daily = ParquetTable.Read(Path.Combine(output, "kpi", "daily"));
        _channels = ParquetTable.Read(Path.Combine(output, "kpi", "channels"));
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (_dir.Length > 0)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static long L(object? o) => o is null ? 0 : Convert.ToInt64(o, CultureInfo.InvariantCulture);

    private static double D(object? o) => o is null ? 0 : Convert.ToDouble(o, CultureInfo.InvariantCulture);

    private static DateOnly Day(object? o) => o is DateOnly d ? d : DateOnly.FromDateTime(Convert.ToDateTime(o, CultureInfo.InvariantCulture));

    private ShopTruth Shop => _truth.Shop ?? throw new AssertionException("no shop block in ground_truth.json");

    [Test]
    public void Daily_sessions_orders_natural_sessions_and_new_customers_are_recovered_exactly()
    {
        var byDate = _daily.ToDictionary(r => Day(r["kpi_date"]));
        Assert.Multiple(() =>
        {
            foreach (var t in Shop.Daily.Where(d => d.Sessions > 0 || d.Orders > 0))
            {
                Assert.That(byDate.ContainsKey(t.Date), Is.True, $"{t.Date} in kpi/daily");
                if (!byDate.TryGetValue(t.Date, out var r))
                {
                    continue;
                }
                Assert.That(L(r["sessions"]), Is.EqualTo(t.Sessions), $"sessions {t.Date}");
                Assert.That(L(r["orders"]), Is.EqualTo(t.Orders), $"orders {t.Date}");
                Assert.That(L(r["natural_sessions"]), Is.EqualTo(t.NaturalSessions), $"natural sessions {t.Date}");
                Assert.That(L(r["new_customers"]), Is.EqualTo(t.NewCustomers), $"new customers {t.Date}");
            }
        });
    }

    [Test]
    public void Conversion_and_natural_share_are_the_plans_starting_point()
    {
        var sessions = _daily.Sum(r => L(r["sessions"]));
        var conversion = (double)_daily.Sum(r => L(r["orders"])) / sessions;
        var natural = (double)_daily.Sum(r => L(r["natural_sessions"])) / sessions;
        Assert.Multiple(() =>
        {
            Assert.That(conversion, Is.EqualTo(Shop.Conversion!.Value).Within(1e-12), "pipeline = truth");
            Assert.That(natural, Is.EqualTo(Shop.NaturalShare!.Value).Within(1e-12), "pipeline = truth");
            Assert.That(Shop.Conversion!.Value, Is.EqualTo(0.015).Within(0.0015), "truth ≈ the plan's 1.5%");
            Assert.That(Shop.NaturalShare!.Value, Is.EqualTo(0.20).Within(0.01), "truth ≈ the plan's 20%");
            // Acquisition all year (200 customers ≈ 4 a week: every month has new customers, roughly in proportion).
            var months = _daily.GroupBy(r => Day(r["kpi_date"]).Month).Select(g => g.Sum(r => L(r["new_customers"]))).ToList();
            Assert.That(months, Has.Count.EqualTo(12));
            Assert.That(months, Has.All.InRange(5, 40), "new customers per month");
        });
    }

    [Test]
    public void The_repeat_purchase_rate_is_recovered_per_cohort_window_and_is_about_thirty_percent()
    {
        // kpi/daily on day d: first purchases in (d − 90 − 30, d − 90]; recompute that window from the truth's days.
        var truthByDate = Shop.Daily.ToDictionary(d => d.Date);
        var checkedDays = 0;
        Assert.Multiple(() =>
        {
            foreach (var r in _daily.Where(r => r["repeat_purchase_rate"] is not null))
            {
                var d = Day(r["kpi_date"]);
                var window = Enumerable.Range(0, 30).Select(k => d.AddDays(-90 - k)).Where(truthByDate.ContainsKey).Select(x => truthByDate[x]).ToList();
                Assert.That(L(r["repeat_cohort_customers"]), Is.EqualTo(window.Sum(x => x.NewCustomers)), $"cohort {d}");
                Assert.That(L(r["repeat_customers"]), Is.EqualTo(window.Sum(x => x.Repeaters)), $"repeaters {d}");
                checkedDays++;
            }
            Assert.That(checkedDays, Is.GreaterThan(200));
            Assert.That(Shop.RepeatCohortCustomers, Is.GreaterThan(100));
            Assert.That(Shop.RepurchaseRate!.Value, Is.EqualTo(0.30).Within(0.12), "truth ≈ the plan's 30%");
        });
    }

    [Test]
    public void Acos_of_the_generated_ad_spend_is_recovered()
    {
        var paid = _channels.Where(r => r["spend"] is not null && D(r["spend"]) > 0).ToList();
        var spend = paid.Sum(r => D(r["spend"]));
        var revenue = _channels.Where(r => Shop.AcosByChannel.ContainsKey((string)r["channel"]!)).Sum(r => D(r["revenue"]));
        Assert.Multiple(() =>
        {
            Assert.That(spend, Is.EqualTo((double)Shop.AdSpend).Within(0.01), "every spend row is read");
            Assert.That(spend / revenue, Is.EqualTo(Shop.Acos!.Value).Within(0.03), "pipeline ≈ truth");
            Assert.That(Shop.Acos!.Value, Is.EqualTo(0.35).Within(0.04), "truth ≈ the aimed 35%");
            foreach (var (channel, acos) in Shop.AcosByChannel)
            {
                Assert.That(acos, Is.InRange(0.25, 0.45), channel);
            }
        });
    }

    [Test]
    public void Bots_are_a_few_percent_of_the_events()
    {
        var events = _truth.Events!;
        var share = (double)(events.Bots.UserAgent + events.Bots.EventRate) / events.RowsRead;
        Assert.That(share, Is.InRange(0.02, 0.05));
    }
}
