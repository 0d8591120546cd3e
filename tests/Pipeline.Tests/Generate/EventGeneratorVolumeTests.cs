using System.Diagnostics;
using System.Reflection;
using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>10,000,000+ events streamed with bounded memory. Slow: run explicitly.</summary>
[TestFixture]
[Explicit("writes 10M+ events (~4 GB)")]
[Category("Slow")]
public sealed class EventGeneratorVolumeTests
{
    [Test]
    public void Generates_ten_million_events_fast_with_bounded_memory()
    {
        var dir = TestPaths.NewTempDir("generate-events-volume");
        try
        {
            GC.Collect();
            var baseline = GC.GetTotalMemory(forceFullCollection: true);
            var peak = baseline;
            using var cts = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!cts.IsCancelled())
                {
                    peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false));
                    await Task.Delay(50);
                }
            });
            var sw = Stopwatch.StartNew();
            var truth = DatasetGenerator.Generate(
                new GenerateOptions { OutputDirectory = dir, Customers = 100_000, Days = 365, Seed = 1, Faults = true });
            sw.Stop();
            cts.Cancel();
            sampler.Wait();
            var e = truth.Events!;
            var bytes = Directory.GetFiles(Path.Combine(dir, "events")).Sum(f => new FileInfo(f).Length);
            TestContext.Out.WriteLine(
                $"events {e.RowsRead:N0} lines ({e.Kept:N0} kept, {e.Sessions:N0} sessions) + orders {truth.Orders.RowsRead:N0} in {sw.Elapsed.TotalSeconds:F1} s, "
                + $"{bytes / 1e6:F0} MB on disk; managed heap baseline {baseline / 1e6:F1} MB, peak sampled {peak / 1e6:F1} MB, "
                + $"process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");

            Assert.That(e.RowsRead, Is.GreaterThanOrEqualTo(10_000_000));
            Assert.That(e.RowsRead, Is.EqualTo(e.Kept + e.Duplicates + e.Quarantined.Total + e.Bots.Total));
            // Bounded: the live heap stays far below the gigabytes written.
            Assert.That(peak - baseline, Is.LessThan(200_000_000));
            // The target (well under a minute) is for an optimised build; a Debug test build runs ~3x slower.
            var optimised = !(typeof(EventGenerator).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled ?? false);
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(optimised ? 60 : 180)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

internal static class CancellationExtensions
{
    public static bool IsCancelled(this CancellationTokenSource cts) => cts.IsCancellationRequested;
}
