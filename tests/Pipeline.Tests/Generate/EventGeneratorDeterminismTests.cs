using System.Security.Cryptography;
using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

[TestFixture]
public sealed class EventGeneratorDeterminismTests
{
    private readonly List<string> _dirs = [];

    [TearDown]
    public void Cleanup()
    {
        foreach (var d in _dirs)
        {
            Directory.Delete(d, recursive: true);
        }
        _dirs.Clear();
    }

    private static GenerateOptions Options(string dir, long seed) =>
        new() { OutputDirectory = dir, Customers = 600, Days = 60, Seed = seed, Faults = true };

    private (GroundTruth Truth, Dictionary<string, string> Hashes) Run(long seed, bool events = true)
    {
        var dir = TestPaths.NewTempDir("generate-events-determinism");
        _dirs.Add(dir);
        var truth = events ? DatasetGenerator.Generate(Options(dir, seed)) : OrderGenerator.Generate(Options(dir, seed));
        var hashes = Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
        return (truth, hashes);
    }

    [Test]
    public void Same_options_give_byte_identical_event_files()
    {
        var a = Run(3).Hashes;
        var b = Run(3).Hashes;
        Assert.That(a.Keys.Count(k => k.StartsWith("events", StringComparison.Ordinal)), Is.EqualTo(60));
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Different_seed_gives_different_event_files()
    {
        var a = Run(3).Hashes;
        var b = Run(4).Hashes;
        var events = a.Keys.Where(k => k.StartsWith("events", StringComparison.Ordinal)).ToList();
        Assert.That(events.Count(k => a[k] != b[k]), Is.EqualTo(events.Count));
    }

    [Test]
    public void Orders_files_and_orders_truth_are_unchanged_by_events()
    {
        var (withEvents, hashesWith) = Run(8);
        var (ordersOnly, hashesWithout) = Run(8, events: false);
        var orders = hashesWithout.Keys.Where(k => k.StartsWith("orders", StringComparison.Ordinal)).ToList();
        Assert.That(orders, Is.Not.Empty);
        Assert.That(orders.Select(k => hashesWith[k]), Is.EqualTo(orders.Select(k => hashesWithout[k])));
        Assert.That(withEvents.Events, Is.Not.Null);
        Assert.That(ordersOnly.Events, Is.Null);
        // The shop block (true KPIs, ad spend) is derived from the clickstream too.
        Assert.That((withEvents with { Events = null, Shop = null }).ToJson(), Is.EqualTo(ordersOnly.ToJson()));
        Assert.That(ordersOnly.ToJson(), Does.Not.Contain("\"events\""));
    }

    [Test]
    public void Events_off_writes_orders_only_and_removes_stale_event_files()
    {
        var dir = TestPaths.NewTempDir("generate-events-off");
        _dirs.Add(dir);
        DatasetGenerator.Generate(Options(dir, 1));
        Assert.That(Directory.GetFiles(Path.Combine(dir, "events")), Is.Not.Empty);
        var truth = DatasetGenerator.Generate(Options(dir, 1) with { Events = false });
        Assert.That(truth.Events, Is.Null);
        Assert.That(Directory.GetFiles(Path.Combine(dir, "events")), Is.Empty);
    }

    [Test]
    public void No_faults_means_no_fault_lines_and_plain_files()
    {
        var dir = TestPaths.NewTempDir("generate-events-clean");
        _dirs.Add(dir);
        var truth = DatasetGenerator.Generate(Options(dir, 2) with { Faults = false });
        var e = truth.Events!;
        Assert.That(e.Duplicates + e.Quarantined.Total, Is.Zero);
        Assert.That(e.Files.Any(f => f.Gzip || f.Crlf), Is.False);
        var read = EventReaderForTests.Classify(dir, e.Rules.FutureTimestampAfter);
        Assert.That((long)read.Kept.Count, Is.EqualTo(e.Kept));
        Assert.That((long)read.Sessions.Count, Is.EqualTo(e.Sessions));
        Assert.That(read.BotsUserAgent + read.BotsEventRate, Is.EqualTo(e.Bots.Total));
    }

    [Test]
    public void Invalid_event_options_are_rejected()
    {
        var dir = Path.Combine(Path.GetTempPath(), "never-created-" + Guid.NewGuid().ToString("N"));
        var ok = Options(dir, 1);
        Assert.Throws<GenerateOptionsException>(() => DatasetGenerator.Generate(ok with { RateBots = -1 }));
        Assert.Throws<GenerateOptionsException>(() => DatasetGenerator.Generate(ok with { EventFaultRate = 2 }));
        Assert.Throws<GenerateOptionsException>(() => DatasetGenerator.Generate(ok with { AnonymousVisitors = -5 }));
        Assert.Throws<GenerateOptionsException>(() => DatasetGenerator.Generate(ok with { EventOffsetTimestampRate = 0.7, EventEpochMillisRate = 0.7 }));
        Assert.That(Directory.Exists(dir), Is.False);
    }
}
