using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Cli;

/// <summary>The committed samples and configs keep working with every command the README shows for them.</summary>
public class DataSamplesTests
{
    private static string Sample(string file) => Path.Combine(TestPaths.RepoRoot, "data-samples", file);

    [TestCase("pipeline.json", new[] { "clean-orders", "features", "rfm", "segment", "ltv", "kpis" })]
    [TestCase("online-retail.json", new[] { "clean-orders", "features", "rfm" })]
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
}
