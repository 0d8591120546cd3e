using System.Security.Cryptography;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Inputs;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Inputs;

/// <summary>
/// The checksums kept across runs: trusted only for a file of the same size and modification time, never for a file
/// hashed in the instant it was written, ignored by <c>--full-refresh</c>; and what a nightly run actually records.
/// </summary>
public class ChecksumStoreTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("checksums");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static readonly DateTime HourAgo = DateTime.UtcNow.AddHours(-1);

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private string File1(string content = "a,b\n1,2\n", DateTime? modified = null)
    {
        var p = Path.Combine(_dir, "in", "a.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
        File.SetLastWriteTimeUtc(p, modified ?? HourAgo);
        return p;
    }

    [Test]
    public void A_stored_checksum_is_trusted_only_while_size_and_modification_time_are_unchanged()
    {
        var p = File1();
        var store = ChecksumStore.Open(_dir);
        store.Record(p, 8, HourAgo, new string('a', 64), DateTime.UtcNow);
        store.Save();

        var again = ChecksumStore.Open(_dir);
        Assert.Multiple(() =>
        {
            Assert.That(again.Known(p, 8, HourAgo), Is.EqualTo(new string('a', 64)));
            Assert.That(again.Known(p, 9, HourAgo), Is.Null, "another size");
            Assert.That(again.Known(p, 8, HourAgo.AddTicks(1)), Is.Null, "another modification time, to the tick");
            Assert.That(again.Known(p + "x", 8, HourAgo), Is.Null, "another file");
            Assert.That(ChecksumStore.Open(_dir, trustStored: false).Known(p, 8, HourAgo), Is.Null, "--full-refresh trusts nothing stored");
        });
    }

    [Test]
    public void A_file_hashed_in_the_instant_it_was_written_is_not_stored()
    {
        var p = File1();
        var store = ChecksumStore.Open(_dir);
        var now = DateTime.UtcNow;
        store.Record(p, 8, now.AddSeconds(-1), new string('b', 64), now);
        store.Save();
        Assert.That(ChecksumStore.Open(_dir).Known(p, 8, now.AddSeconds(-1)), Is.Null);
        Assert.That(File.Exists(Path.Combine(_dir, ChecksumStore.FileName)), Is.False, "nothing changed, nothing written");
    }

    [Test]
    public void Files_that_are_gone_are_dropped_and_an_unreadable_store_is_an_empty_one()
    {
        var p = File1();
        var store = ChecksumStore.Open(_dir);
        store.Record(p, 8, HourAgo, new string('c', 64), DateTime.UtcNow);
        store.Record(Path.Combine(_dir, "gone.csv"), 8, HourAgo, new string('d', 64), DateTime.UtcNow);
        store.Save();
        var lines = File.ReadAllLines(Path.Combine(_dir, ChecksumStore.FileName));
        Assert.That(lines, Is.EqualTo(new[] { "path\tbytes\tmodified_ticks\tsha256", $"{p}\t8\t{HourAgo.Ticks}\t{new string('c', 64)}" }));

        File.WriteAllText(Path.Combine(_dir, ChecksumStore.FileName), "garbage\nnot\ta\tstore\n\u0000");
        Assert.That(ChecksumStore.Open(_dir).Known(p, 8, HourAgo), Is.Null);
    }

    [Test]
    public void Resolving_records_the_true_checksum_and_reuses_it_across_runs()
    {
        var p = File1();
        var store = ChecksumStore.Open(_dir);
        var first = InputResolver.Resolve([p], new InputOptions(), "orders", store).Single();
        Assert.That(first.Sha256, Is.EqualTo(Sha(p)));
        store.Save();
        Assert.That(File.ReadAllText(Path.Combine(_dir, ChecksumStore.FileName)), Does.Contain($"{p}\t8\t{HourAgo.Ticks}\t{Sha(p)}"));

        // A rewrite with a new modification time is hashed again (the in-process cache is keyed the same way).
        File1("a,b\n3,4\n", HourAgo.AddMinutes(1));
        var second = InputResolver.Resolve([p], new InputOptions(), "orders", ChecksumStore.Open(_dir)).Single();
        Assert.That(second.Sha256, Is.EqualTo(Sha(p)).And.Not.EqualTo(first.Sha256));
    }

    // ------------------------------------------------------------------ pipeline run

    private (string Config, string Orders) Shop()
    {
        TestPaths.CopySampleShop(_dir);
        foreach (var f in Directory.EnumerateFiles(Path.Combine(_dir, "orders")))
        {
            File.SetLastWriteTimeUtc(f, HourAgo);
        }
        var config = Path.Combine(_dir, "pipeline.json");
        File.WriteAllText(config, """
            { "output": "out", "now": "2024-07-01T00:00:00Z", "orders": { "input": "orders/" } }
            """);
        return (config, Directory.EnumerateFiles(Path.Combine(_dir, "orders")).Order(StringComparer.Ordinal).First());
    }

    /// <summary>
    /// The SHA-256 the clean-orders step of run <paramref name="r"/> recorded for <paramref name="file"/> (found through the
    /// run manifest it names: run ids only order to the second).
    /// </summary>
    private static string RecordedSha(CliResult r, string file)
    {
        var top = r.Stdout.Split('\n').Single(l => l.StartsWith("run manifest:", StringComparison.Ordinal))["run manifest:".Length..].Trim();
        using var run = JsonDocument.Parse(File.ReadAllText(top));
        var step = run.RootElement.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("stage").GetString() == "clean-orders");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(top)!, step.GetProperty("run_id").GetString() + ".json")));
        return doc.RootElement.GetProperty("inputs").EnumerateArray().Single(i => i.GetProperty("path").GetString() == file).GetProperty("sha256").GetString()!;
    }

    [Test]
    public void A_nightly_run_uses_the_stored_checksums_and_full_refresh_hashes_every_file_again()
    {
        var (config, orders) = Shop();
        var first = PipelineCli.Run("run", "-c", config, "--only", "clean-orders");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(RecordedSha(first, orders), Is.EqualTo(Sha(orders)));
        var store = Path.Combine(_dir, "out", ChecksumStore.FileName);
        Assert.That(File.ReadAllText(store), Does.Contain($"{orders}\t{new FileInfo(orders).Length}\t{HourAgo.Ticks}\t{Sha(orders)}"));

        // Plant a wrong checksum for an unchanged file: a run that trusts the store sees a changed input and records
        // the planted value (so the store is what it read), a --full-refresh run hashes the file and records the truth.
        var planted = new string('0', 64);
        File.WriteAllText(store, File.ReadAllText(store).Replace(Sha(orders), planted, StringComparison.Ordinal));
        var trusting = PipelineCli.Run("run", "-c", config, "--only", "clean-orders");
        Assert.That(trusting.ExitCode, Is.Zero, trusting.ToString());
        Assert.That(RecordedSha(trusting, orders), Is.EqualTo(planted));

        var refresh = PipelineCli.Run("run", "-c", config, "--only", "clean-orders", "--full-refresh");
        Assert.That(refresh.ExitCode, Is.Zero, refresh.ToString());
        Assert.That(RecordedSha(refresh, orders), Is.EqualTo(Sha(orders)));
        Assert.That(File.ReadAllText(store), Does.Contain(Sha(orders)).And.Not.Contain(planted), "the full refresh rewrote the store");
    }
}
