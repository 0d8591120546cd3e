using NUnit.Framework;
using System.Security.Cryptography;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

[TestFixture]
public sealed class OrderGeneratorDeterminismTests
{
    private static readonly string[] TwoMonths = ["orders-2024-01.csv", "orders-2024-02.csv"];
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

    private Dictionary<string, string> GenerateAndHash(long seed, bool faults = true, IOrderObserver? observer = null)
    {
        var dir = TestPaths.NewTempDir("generate-determinism");
        _dirs.Add(dir);
        OrderGenerator.Generate(new GenerateOptions { OutputDirectory = dir, Customers = 1500, Days = 200, Seed = seed, Faults = faults }, observer);
        return Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
    }

    [Test]
    public void Same_options_give_byte_identical_files()
    {
        var a = GenerateAndHash(5);
        var b = GenerateAndHash(5);
        Assert.That(a, Has.Count.GreaterThan(5));
        Assert.That(a.Keys, Does.Contain("ground_truth.json"));
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Different_seed_gives_different_files()
    {
        var a = GenerateAndHash(5);
        var b = GenerateAndHash(6);
        Assert.That(b.Keys, Is.EquivalentTo(a.Keys));
        var differing = a.Keys.Count(k => a[k] != b[k]);
        Assert.That(differing, Is.EqualTo(a.Count), "every file differs");
    }

    [Test]
    public void An_observer_does_not_change_the_output()
    {
        var a = GenerateAndHash(9);
        var b = GenerateAndHash(9, observer: new CountingObserver());
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void Rerun_into_the_same_folder_replaces_stale_files()
    {
        var dir = TestPaths.NewTempDir("generate-rerun");
        _dirs.Add(dir);
        OrderGenerator.Generate(new GenerateOptions { OutputDirectory = dir, Customers = 100, Days = 120, Seed = 1, Faults = true });
        var truth = OrderGenerator.Generate(new GenerateOptions { OutputDirectory = dir, Customers = 100, Days = 40, Seed = 1 });
        var names = Directory.GetFiles(Path.Combine(dir, "orders")).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.That(names, Is.EqualTo(truth.Files.Select(f => f.Name)));
        Assert.That(names, Is.EqualTo(TwoMonths));
    }

    private sealed class CountingObserver : IOrderObserver
    {
        public long Orders { get; private set; }

        public void OnCustomer(in CustomerFact customer, IReadOnlyList<OrderFact> orders) => Orders += orders.Count;

        public void OnGuestOrder(in OrderFact order) => Orders++;
    }
}
