using NUnit.Framework;
using Pipeline.Stages.Report;

namespace Pipeline.Tests.Stages.Report;

/// <summary>The report's A/B-test section: health in plain words, the SRM warning before any number, the uplift chart.</summary>
public class ReportExperimentsTests
{
    private static ReportExperiments.Experiment Experiment(string id, bool srm) => new(id, "running", "2024-03-01", "2024-03-14", "control", 2000, 12,
        "control 50% / B 50%", srm ? "control 40% / B 60%" : "control 50.2% / B 49.8%", srm ? 3e-19 : 0.85, srm, srm ? "sample ratio mismatch: units split control 40% / B 60%" : "",
        srm ? "Do not trust this result: the units were not split as intended, so the variants are not comparable." : "B converts 12% better than control.",
        [new("B", "conversion", 0.112, 0.1, 0.12, 0.02, 0.22, 0.99, true, true), new("B", "bounce_rate", 0.3, 0.31, -0.03, -0.09, 0.03, 0.84, false, false)]);

    [Test]
    public void A_split_mismatch_says_do_not_trust_before_any_number()
    {
        var html = ReportExperiments.Html([Experiment("broken", srm: true), Experiment("sound", srm: false)]);
        var broken = html[html.IndexOf("<h3>broken", StringComparison.Ordinal)..html.IndexOf("<h3>sound", StringComparison.Ordinal)];
        var warning = broken.IndexOf("Do not trust this result", StringComparison.Ordinal);
        Assert.That(warning, Is.GreaterThan(0));
        Assert.That(broken.IndexOf("2,000", StringComparison.Ordinal), Is.GreaterThan(warning), "units after the warning");
        Assert.That(broken.IndexOf("<svg", StringComparison.Ordinal), Is.GreaterThan(warning), "the chart after the warning");
        var sound = html[html.IndexOf("<h3>sound", StringComparison.Ordinal)..];
        Assert.That(sound, Does.Not.Contain("Do not trust"));
        Assert.That(sound, Does.Contain("the split matches the plan"));
    }

    [Test]
    public void The_chart_draws_each_interval_around_zero()
    {
        var svg = ReportExperiments.Chart(Experiment("x", srm: false).Uplifts);
        // Scale ±22% (the widest bound) over 420 px centred at 230 + 210 = 440, half-width 200: 0.12 → 440 + 0.12/0.22·200 = 549.1.
        Assert.That(svg, Does.Contain("cx=\"549.1\""));
        Assert.That(svg, Does.Contain("+12% [+2.0%, +22%]"));
        Assert.That(svg, Does.Contain("stroke=\"#1a7f37\""), "a significant gain is green");
        Assert.That(ReportExperiments.Html(null), Is.Empty);
        Assert.That(ReportExperiments.Html([]), Is.Empty);
    }
}
