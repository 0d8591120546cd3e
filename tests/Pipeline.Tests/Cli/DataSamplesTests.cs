using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Cli;

/// <summary>The committed samples and configs keep working with every command the README shows for them.</summary>
public class DataSamplesTests
{
    private static string Sample(string file) => Path.Combine(TestPaths.RepoRoot, "data-samples", file);

    /// <summary>Every configuration in data-samples/, found on disk, so a new sample is covered without editing this test.</summary>
    private static IEnumerable<string> SampleConfigs() =>
        Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "data-samples"), "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    [TestCase("pipeline.json", new[] { "clean-orders", "features", "rfm", "segment", "ltv", "kpis" })]
    [TestCase("online-retail.json", new[] { "clean-orders", "features", "rfm", "segment", "ltv", "kpis" })]
    [TestCase("shop.json", new[] { "clean-orders", "clean-clicks", "features", "rfm", "segment", "ltv", "kpis" })]
    public void Every_sample_config_runs_end_to_end(string config, string[] commands)
    {
        var output = TestPaths.NewTempDir("samples");
        try
        {
            var check = PipelineCli.Run("validate-config", "-c", Sample(config));
            Assert.That(check.ExitCode, Is.Zero, check.ToString());
            foreach (var command in commands)
            {
                var r = PipelineCli.Run(command, "-c", Sample(config), "-o", output);
                Assert.That(r.ExitCode, Is.Zero, $"{command}: {r}");
            }
            Assert.That(ParquetTable.Read(Path.Combine(output, "clean", "orders")), Is.Not.Empty);
            Assert.That(Directory.GetFiles(Path.Combine(output, "_runs")), Has.Length.EqualTo(commands.Length));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [TestCaseSource(nameof(SampleConfigs))]
    public void Every_sample_config_goes_through_pipeline_run_with_every_stage(string config)
    {
        var output = TestPaths.NewTempDir("samples-run");
        try
        {
            var r = PipelineCli.Run("run", "-c", Sample(config), "-o", output);
            Assert.That(r.ExitCode, Is.Zero, r.ToString());
            // Every stage ran, or had nothing to do (clean-clicks without an events input): none failed.
            foreach (var stage in new[] { "clean-orders", "features", "rfm", "segment", "ltv", "kpis", "report" })
            {
                Assert.That(r.Stderr, Does.Contain($"[{stage}] succeeded"), stage);
            }
            Assert.That(r.Stderr, Does.Not.Contain("] failed"));
            foreach (var table in new[] { "clean/orders", "customers/features", "rfm/scores", "segments/assignments", "ltv/customers", "ltv/params", "kpi/daily" })
            {
                Assert.That(ParquetTable.Read(Path.Combine(output, table)), Is.Not.Empty, table);
            }
            Assert.That(File.Exists(Path.Combine(output, "report", "index.html")), Is.True, "the report");
            Assert.That(PublishedNumbers.NonFinite(output), Is.Empty, "NaN or infinity in a published table");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
