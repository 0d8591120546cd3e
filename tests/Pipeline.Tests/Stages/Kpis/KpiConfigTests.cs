using NUnit.Framework;
using Pipeline.Config;

namespace Pipeline.Tests.Stages.Kpis;

/// <summary>The <c>kpis</c> section of the configuration: defaults, a single input string, and every mistake reported.</summary>
public class KpiConfigTests
{
    private static (PipelineConfig? Config, IReadOnlyList<string> Errors) Parse(string json) => ConfigLoader.Parse(json, "/base");

    [Test]
    public void Defaults_are_the_documented_ones()
    {
        var k = new PipelineConfig().Kpis;
        Assert.Multiple(() =>
        {
            Assert.That(k.RepeatWindowDays, Is.EqualTo(90));
            Assert.That(k.RepeatCohortDays, Is.EqualTo(30));
            Assert.That(k.AttributionLookbackDays, Is.EqualTo(30));
            Assert.That(k.AdSpend, Is.Null);
        });
    }

    [Test]
    public void An_ad_spend_input_may_be_one_string_and_is_resolved_against_the_file()
    {
        var (c, errors) = Parse("""
            { "kpis": { "repeat_window_days": 60, "ad_spend": { "input": "spend/*.csv", "columns": { "spend": "Cost (USD)", "date": "Day" } } } }
            """);
        Assert.That(errors, Is.Empty);
        Assert.That(c!.Kpis.RepeatWindowDays, Is.EqualTo(60));
        Assert.That(c.Kpis.AdSpend!.Input, Is.EqualTo(new[] { "/base/spend/*.csv" }));
        Assert.That(c.Kpis.AdSpend.Columns["spend"], Is.EqualTo("Cost (USD)"));
    }

    [Test]
    public void Unknown_keys_get_a_suggestion()
    {
        var (_, errors) = Parse("""{ "kpis": { "repeat_windows_days": 30, "ad_spend": { "input": "x.csv", "colums": {} } } }""");
        Assert.That(errors, Has.Some.Contains("kpis.repeat_windows_days: unknown key (did you mean 'repeat_window_days'?)"));
        Assert.That(errors, Has.Some.Contains("kpis.ad_spend.colums: unknown key (did you mean 'columns'?)"));
    }

    [Test]
    public void Every_bad_value_is_reported()
    {
        var (_, errors) = Parse("""
            { "kpis": { "repeat_window_days": 0, "repeat_cohort_days": -1, "attribution_lookback_days": 0,
                        "ad_spend": { "input": [], "format": "xml", "columns": { "cost": "x", "spend": "a;b" } } } }
            """);
        Assert.Multiple(() =>
        {
            Assert.That(errors, Has.Some.Contains("kpis.repeat_window_days: must be positive"));
            Assert.That(errors, Has.Some.Contains("kpis.repeat_cohort_days: must be positive"));
            Assert.That(errors, Has.Some.Contains("kpis.attribution_lookback_days: must be positive"));
            Assert.That(errors, Has.Some.Contains("kpis.ad_spend.input: give the ad spend file"));
            Assert.That(errors, Has.Some.Contains("kpis.ad_spend.format: 'xml'"));
            Assert.That(errors, Has.Some.Contains("kpis.ad_spend.columns.cost: unknown canonical column"));
            Assert.That(errors, Has.Some.Contains("kpis.ad_spend.columns.spend: source column name"));
            Assert.That(errors, Has.Count.EqualTo(7), string.Join("\n", errors));
        });
    }
}
