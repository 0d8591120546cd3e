using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Experiments;

/// <summary>
/// <c>pipeline generate --experiments</c> injects four A/B tests with known truth (ground_truth.json); <c>pipeline run</c>
/// must recover them: each treatment's 95% interval of the relative conversion uplift covers the true lift, the
/// sample-ratio test flags the broken split and only it, and the units exposed to two variants are exactly the injected
/// switchers. The seed is fixed, so the draw is the same every run; that a correct 95% interval covers its truth 95% of
/// the time (and so may miss on another seed) is what the simulation tests check.
/// </summary>
[NonParallelizable]
public class GeneratedExperimentsTests
{
    [Test]
    public void Pipeline_run_recovers_the_injected_experiments()
    {
        var dir = TestPaths.NewTempDir("generated-experiments");
        try
        {
            var data = Path.Combine(dir, "data");
            var gen = PipelineCli.Run("generate", "-o", data, "--customers", "1500", "--days", "60", "--seed", "12", "--experiments");
            Assert.That(gen.ExitCode, Is.Zero, gen.ToString());
            var run = PipelineCli.Run("run", "-c", Path.Combine(data, "pipeline.json"), "--only", "clean-orders,clean-clicks,experiments");
            Assert.That(run.ExitCode, Is.Zero, run.ToString());

            using var truth = JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "ground_truth.json")));
            var experiments = truth.RootElement.GetProperty("experiments").EnumerateArray().ToList();
            Assert.That(experiments.Select(e => e.GetProperty("kind").GetString()), Is.EquivalentTo(new[] { "creative_test", "aa_test", "broken_split", "three_variant" }));

            var output = Path.Combine(data, "out");
            var summary = ParquetTable.Read(Path.Combine(output, "experiments", "summary")).ToDictionary(r => (string)r["experiment_id"]!);
            var results = ParquetTable.Read(Path.Combine(output, "experiments", "results"));
            Assert.Multiple(() =>
            {
                foreach (var e in experiments)
                {
                    var id = e.GetProperty("experiment_id").GetString()!;
                    Assert.That(summary.ContainsKey(id), id);
                    var s = summary[id];
                    Assert.That(s["is_srm"], Is.EqualTo(e.GetProperty("expect_srm").GetBoolean()), $"{id}: SRM flag (p = {s["srm_p_value"]})");
                    Assert.That(s["excluded_units"], Is.EqualTo(e.GetProperty("switchers").GetInt64()), $"{id}: units with two variants");
                    Assert.That((long)s["units"]! + (long)s["excluded_units"]!, Is.EqualTo(e.GetProperty("units").GetInt64()), $"{id}: units");
                    Assert.That(s["control_variant"], Is.EqualTo(e.GetProperty("control").GetString()));
                    if (e.GetProperty("expect_srm").GetBoolean())
                    {
                        Assert.That((string)s["verdict"]!, Does.StartWith("Do not trust this result"), id);
                    }
                    foreach (var lift in e.GetProperty("true_conversion_lift").EnumerateObject().Where(l => l.Name != e.GetProperty("control").GetString()))
                    {
                        var r = results.Single(x => (string)x["experiment_id"]! == id && (string)x["variant"]! == lift.Name && (string)x["metric"]! == "conversion");
                        double lo = Convert.ToDouble(r["rel_ci_lower"], CultureInfo.InvariantCulture), hi = Convert.ToDouble(r["rel_ci_upper"], CultureInfo.InvariantCulture);
                        TestContext.Out.WriteLine($"{id} {lift.Name}: true {lift.Value.GetDouble():0.###}, estimate {r["rel_uplift"]:0.###}, interval [{lo:0.###}, {hi:0.###}]");
                        Assert.That(lift.Value.GetDouble(), Is.InRange(lo, hi), $"{id} {lift.Name}: the true lift within the interval");
                    }
                }
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
