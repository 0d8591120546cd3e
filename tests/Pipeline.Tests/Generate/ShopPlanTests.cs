using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>The plan's KPI path and calendar, against the plan's own numbers (domain reference) and closed forms.</summary>
public class ShopPlanTests
{
    private static readonly GenerateOptions Plan = new() { OutputDirectory = "unused", Scenario = ShopScenario.Plan };

    [Test]
    public void The_plan_scenario_runs_from_the_starting_point_to_the_targets_in_three_years()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ShopPlan.At(Plan, 0), Is.EqualTo(new ShopKpis(0.015, 0.20, 0.30, 0.35)).Using<ShopKpis>((x, y) => Close(x, y)));
            Assert.That(ShopPlan.At(Plan, 3 * 365), Is.EqualTo(new ShopKpis(0.028, 0.35, 0.45, 0.28)).Using<ShopKpis>((x, y) => Close(x, y)));
            Assert.That(ShopPlan.At(Plan, 5 * 365), Is.EqualTo(new ShopKpis(0.028, 0.35, 0.45, 0.28)).Using<ShopKpis>((x, y) => Close(x, y)), "held after");
            Assert.That(ShopPlan.At(Plan, 1.5 * 365).Conversion, Is.EqualTo((0.015 + 0.028) / 2).Within(1e-12));
            Assert.That(ShopPlan.At(Plan with { Scenario = ShopScenario.Baseline }, 1000).Conversion, Is.EqualTo(0.015).Within(1e-12));
        });
    }

    [Test]
    public void Alpha_gives_the_repurchase_rate_asked_for()
    {
        // P(second purchase within 90 days) = 1 − (α/(α+90))^r; the default α gives 30% with r = 0.5.
        Assert.Multiple(() =>
        {
            Assert.That(1 - Math.Pow(ShopPlan.BaselineAlpha / (ShopPlan.BaselineAlpha + 90), 0.5), Is.EqualTo(0.30).Within(1e-12));
            Assert.That(ShopPlan.Repurchase(0.5, ShopPlan.AlphaFor(0.5, 0.45)), Is.EqualTo(0.45).Within(1e-12));
            Assert.That(ShopPlan.AlphaAt(Plan, 3 * 365), Is.LessThan(ShopPlan.AlphaAt(Plan, 0)), "faster repurchase toward the target");
        });
    }

    [Test]
    public void Promotion_days_and_weekends_weigh_more()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ShopPlan.DayWeight(new DateOnly(2024, 11, 11)), Is.GreaterThan(3 * ShopPlan.DayWeight(new DateOnly(2024, 11, 19))));
            Assert.That(ShopPlan.DayWeight(new DateOnly(2024, 6, 18)), Is.GreaterThan(2 * ShopPlan.DayWeight(new DateOnly(2024, 6, 25))));
            Assert.That(ShopPlan.DayWeight(new DateOnly(2024, 3, 9)), Is.GreaterThan(ShopPlan.DayWeight(new DateOnly(2024, 3, 6))), "Saturday over Wednesday");
            var cumulative = ShopPlan.CumulativeWeights(new DateOnly(2024, 1, 1), 3);
            Assert.That(ShopPlan.InverseCdf(cumulative, 0), Is.EqualTo(0));
            Assert.That(ShopPlan.InverseCdf(cumulative, 0.999999), Is.InRange(2.0, 3.0));
        });
    }

    private static bool Close(ShopKpis x, ShopKpis y) =>
        Math.Abs(x.Conversion - y.Conversion) < 1e-12 && Math.Abs(x.NaturalShare - y.NaturalShare) < 1e-12
        && Math.Abs(x.Repurchase - y.Repurchase) < 1e-9 && Math.Abs(x.Acos - y.Acos) < 1e-12;

    [Test]
    public void The_promotions_in_the_period_become_the_alerts_calendar_and_the_config_loader_accepts_it()
    {
        // The quick-start period, 2024-03-01 + 117 days (to 06-25): 618 and its warm-up, no Double 11 or 12.
        Assert.That(ShopPlan.Promotions(new DateOnly(2024, 3, 1), 117), Is.EqualTo(new Dictionary<string, string>
        {
            ["2024-06-01..2024-06-17"] = "618 warm-up",
            ["2024-06-18"] = "618",
        }));
        // A period that ends on 2024-06-10 touches the warm-up only; one across the new year has both years' events.
        Assert.That(ShopPlan.Promotions(new DateOnly(2024, 5, 1), 41).Keys, Is.EqualTo(new[] { "2024-06-01..2024-06-17" }));
        Assert.That(ShopPlan.Promotions(new DateOnly(2024, 11, 11), 400).Values, Is.EqualTo(new[]
            { "Double 11", "Double 12", "618 warm-up", "618", "Double 11 warm-up", "Double 11", "Double 12" }));
        var json = "{ \"alerts\": { \"calendar\": { " + string.Join(", ", ShopPlan.Promotions(new DateOnly(2024, 1, 1), 366)
            .Select(p => $"\"{p.Key}\": \"{p.Value}\"")) + " } } }";
        var (config, errors) = Pipeline.Config.ConfigLoader.Parse(json, TestPaths.RepoRoot);
        Assert.That(errors, Is.Empty);
        Assert.That(config!.Alerts.Calendar, Has.Count.EqualTo(5));
    }
}
