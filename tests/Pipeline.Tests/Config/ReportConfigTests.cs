using NUnit.Framework;
using Pipeline.Config;

namespace Pipeline.Tests.Config;

/// <summary>The <c>report</c> section: the plan's targets as defaults, flat keys, unknown keys and bad values refused.</summary>
public class ReportConfigTests
{
    private static (PipelineConfig? Config, IReadOnlyList<string> Errors) Parse(string json) => ConfigLoader.Parse(json, "/base");

    [Test]
    public void Defaults_are_the_domain_targets()
    {
        var t = ConfigLoader.Load(null).Report.Targets;
        Assert.Multiple(() =>
        {
            Assert.That((t.ConversionRateBaseline, t.ConversionRate), Is.EqualTo((0.015, 0.028)));
            Assert.That((t.RepeatPurchaseRateBaseline, t.RepeatPurchaseRate), Is.EqualTo((0.30, 0.45)));
            Assert.That((t.NaturalTrafficShareBaseline, t.NaturalTrafficShare), Is.EqualTo((0.20, 0.35)));
            Assert.That(t.Acos, Is.EqualTo(0.30));
            Assert.That(t.AcquisitionCostReduction, Is.EqualTo(0.30));
            Assert.That(t.AcquisitionCostBaseline, Is.Null);
        });
    }

    [Test]
    public void Setting_one_target_keeps_the_others()
    {
        var (c, errors) = Parse("""{ "report": { "window_days": 14, "targets": { "conversion_rate": 0.03, "acquisition_cost_baseline": 42.5 } } }""");
        Assert.That(errors, Is.Empty);
        var r = c!.Report;
        Assert.Multiple(() =>
        {
            Assert.That(r.WindowDays, Is.EqualTo(14));
            Assert.That(r.Targets.ConversionRate, Is.EqualTo(0.03));
            Assert.That(r.Targets.ConversionRateBaseline, Is.EqualTo(0.015));
            Assert.That(r.Targets.AcquisitionCostBaseline, Is.EqualTo(42.5));
            Assert.That(r.Targets.Acos, Is.EqualTo(0.30));
        });
    }

    [Test]
    public void Unknown_keys_and_bad_values_are_all_reported()
    {
        var (_, unknown) = Parse("""{ "report": { "targets": { "conversion": 0.03 } } }""");
        Assert.That(unknown, Has.Some.Contains("report.targets.conversion: unknown key (did you mean 'conversion_rate'?)"));

        var (_, errors) = Parse("""
            { "report": { "window_days": 0, "recent_runs": -1,
                          "targets": { "conversion_rate": 0.01, "natural_traffic_share": 1.5, "acos": 0, "acquisition_cost_reduction": 1, "acquisition_cost_baseline": -3 } } }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(errors, Has.Some.StartsWith("report.window_days"));
            Assert.That(errors, Has.Some.StartsWith("report.recent_runs"));
            Assert.That(errors, Has.Some.StartsWith("report.targets.conversion_rate"), "target below its baseline");
            Assert.That(errors, Has.Some.StartsWith("report.targets.natural_traffic_share"));
            Assert.That(errors, Has.Some.StartsWith("report.targets.acos"));
            Assert.That(errors, Has.Some.StartsWith("report.targets.acquisition_cost_reduction"));
            Assert.That(errors, Has.Some.StartsWith("report.targets.acquisition_cost_baseline"));
        });
    }
}
