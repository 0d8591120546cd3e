using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Generate;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Orders;

/// <summary>
/// `pipeline generate --faults` records how many rows of each fault class it injected; `pipeline clean-orders` must
/// account for exactly those numbers (both run through the CLI, as a user would).
/// </summary>
public class GeneratedFaultsTests
{
    [Test]
    public void Manifest_accounting_equals_the_generators_ground_truth()
    {
        var dir = TestPaths.NewTempDir("faults");
        try
        {
            var gen = PipelineCli.Run("generate", "--legacy-defaults", "-o", Path.Combine(dir, "data"), "--customers", "3000", "--days", "200", "--seed", "11", "--faults");
            Assert.That(gen.ExitCode, Is.Zero, gen.ToString());
            var truth = GroundTruth.Load(Path.Combine(dir, "data", "ground_truth.json"));
            var now = truth.ObservationEnd.ToString("O", CultureInfo.InvariantCulture);
            var clean = PipelineCli.Run("clean-orders", "-i", Path.Combine(dir, "data", "orders"), "-o", Path.Combine(dir, "out"), "--now", now);
            Assert.That(clean.ExitCode, Is.Zero, clean.ToString());

            var manifest = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(dir, "out", "_runs")).Single())).RootElement;
            var stage = manifest.GetProperty("stages")[0];
            var reasons = stage.GetProperty("quarantined_by_reason");
            long Reason(string code) => reasons.TryGetProperty(code, out var v) ? v.GetInt64() : 0;
            var q = truth.Orders.Quarantined;
            Assert.Multiple(() =>
            {
                Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(truth.Orders.RowsRead));
                Assert.That(stage.GetProperty("rows_written").GetInt64(), Is.EqualTo(truth.Orders.RowsValidUnique));
                Assert.That(stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(truth.Orders.Duplicates));
                Assert.That(stage.GetProperty("rows_quarantined").GetInt64(), Is.EqualTo(q.Total));
                Assert.That(Reason("malformed_row"), Is.EqualTo(q.MalformedRow));
                Assert.That(Reason("bad_timestamp"), Is.EqualTo(q.BadTimestamp));
                Assert.That(Reason("missing_order_id"), Is.EqualTo(q.MissingOrderId));
                Assert.That(Reason("bad_amount"), Is.EqualTo(q.BadAmount));
                Assert.That(Reason("unknown_status"), Is.EqualTo(q.UnknownStatus));
                Assert.That(Reason("future_timestamp"), Is.EqualTo(q.FutureTimestamp));
                Assert.That(stage.GetProperty("balanced").GetBoolean(), Is.True);
                Assert.That(manifest.GetProperty("inputs").GetArrayLength(), Is.EqualTo(truth.Files.Count));
            });
            // The table itself: one row per valid order, net revenue of the process purchases as generated.
            var orders = ParquetTable.Read(Path.Combine(dir, "out", "clean", "orders"));
            Assert.That(orders, Has.Count.EqualTo(truth.Orders.RowsValidUnique));
            var processRevenue = orders.Where(o => (string)o["status"]! == "completed" && o["customer_id"] is not null).Sum(o => (decimal)o["net_revenue"]!);
            Assert.That(processRevenue, Is.EqualTo(truth.Counts.ProcessRevenue));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
