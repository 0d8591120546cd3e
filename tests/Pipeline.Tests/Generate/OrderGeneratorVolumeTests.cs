using NUnit.Framework;
using System.Diagnostics;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>1,000,000+ orders streamed with bounded memory. Slow: run explicitly.</summary>
[TestFixture]
[Explicit("writes ~1M orders (~100 MB)")]
[Category("Slow")]
public sealed class OrderGeneratorVolumeTests
{
    [Test]
    public void Generates_a_million_orders_fast_with_bounded_memory()
    {
        var dir = TestPaths.NewTempDir("generate-volume");
        try
        {
            var probe = new HeapProbe();
            GC.Collect();
            var baseline = GC.GetTotalMemory(forceFullCollection: true);
            var sw = Stopwatch.StartNew();
            var truth = OrderGenerator.Generate(
                new GenerateOptions { OutputDirectory = dir, Customers = 260_000, Days = 365, Seed = 1, Faults = true }, probe);
            sw.Stop();
            var bytes = Directory.GetFiles(Path.Combine(dir, "orders")).Sum(f => new FileInfo(f).Length);
            TestContext.Out.WriteLine(
                $"rows {truth.Orders.RowsRead:N0} ({truth.Orders.RowsValidUnique:N0} valid) in {sw.Elapsed.TotalSeconds:F2} s, "
                + $"{bytes / 1e6:F0} MB on disk; managed heap baseline {baseline / 1e6:F1} MB, peak sampled {probe.PeakHeap / 1e6:F1} MB, "
                + $"process peak working set {Environment.WorkingSet / 1e6:F0} MB now / {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB peak");

            Assert.That(truth.Orders.RowsValidUnique, Is.GreaterThanOrEqualTo(1_000_000));
            // Bounded: the live heap grows by far less than the ~100 MB of rows written.
            Assert.That(probe.PeakHeap - baseline, Is.LessThan(48_000_000));
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed class HeapProbe : IOrderObserver
    {
        private long _customers;
        public long PeakHeap { get; private set; }

        public void OnCustomer(in CustomerFact customer, IReadOnlyList<OrderFact> orders)
        {
            if (++_customers % 5000 == 0)
            {
                PeakHeap = Math.Max(PeakHeap, GC.GetTotalMemory(forceFullCollection: false));
            }
        }

        public void OnGuestOrder(in OrderFact order)
        {
        }
    }
}
