using System.Globalization;
using NUnit.Framework;
using Pipeline.Config;
using Pipeline.Generate;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Generate;

/// <summary>
/// <c>pipeline generate</c> writes a <c>pipeline.json</c> the pipeline runs on as it is: with faults injected, the
/// run succeeds, no clean order is dated after the observation end, and the future-timestamp faults are exactly the
/// quarantined future_timestamp rows.
/// </summary>
public class GeneratedConfigTests
{
    [Test]
    public void Generate_writes_a_config_the_pipeline_runs_on()
    {
        var dir = TestPaths.NewTempDir("generated-config");
        try
        {
            var gen = PipelineCli.Run("generate", "-o", dir, "--customers", "150", "--days", "60", "--seed", "5", "--faults");
            Assert.That(gen.ExitCode, Is.Zero, gen.ToString());
            var configPath = Path.Combine(dir, "pipeline.json");
            Assert.That(gen.Stdout, Does.Contain($"pipeline run -c {configPath}"));

            var truth = GroundTruth.Load(Path.Combine(dir, GroundTruth.FileName));
            var config = ConfigLoader.Load(configPath);
            Assert.Multiple(() =>
            {
                Assert.That(config.Output, Is.EqualTo(Path.Combine(dir, "out")));
                Assert.That(config.Orders.Input, Is.EqualTo(new[] { Path.Combine(dir, "orders/") }));
                Assert.That(config.Events.Input, Is.EqualTo(new[] { Path.Combine(dir, "events/") }));
                Assert.That(config.Events.SiteHosts, Is.EqualTo(new[] { "shop.example.com" }));
                Assert.That(DateTimeOffset.Parse(config.Now!, CultureInfo.InvariantCulture), Is.EqualTo(truth.ObservationEnd));
            });

            var run = PipelineCli.Run("run", "-c", configPath, "-q");
            Assert.That(run.ExitCode, Is.Zero, run.ToString());

            var end = DateOnly.FromDateTime(truth.ObservationEnd.UtcDateTime);
            var days = Directory.GetDirectories(Path.Combine(dir, "out", "clean", "orders"), "order_date=*")
                .Select(d => DateOnly.ParseExact(Path.GetFileName(d)["order_date=".Length..], "yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList();
            Assert.That(days, Is.Not.Empty);
            Assert.That(days, Is.All.LessThan(end), "no clean order after the observation end");

            var future = ParquetTable.Read(Path.Combine(dir, "out", "quarantine", "orders"))
                .Count(r => r["reason_code"]?.ToString() == "future_timestamp");
            Assert.That(truth.Orders.Quarantined.FutureTimestamp, Is.GreaterThan(0));
            Assert.That(future, Is.EqualTo(truth.Orders.Quarantined.FutureTimestamp));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
