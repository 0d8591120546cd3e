using System.Security.Cryptography;
using NUnit.Framework;
using Pipeline.Publishing;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Publishing;

/// <summary>
/// A run killed (SIGKILL, a real child process) while writing or while publishing never leaves a damaged table:
/// before publication the previous outputs stay byte-identical; during publication the next run completes it.
/// </summary>
public class AtomicPublishTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("atomic");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Orders(string name, int first, int count)
    {
        var path = Path.Combine(_dir, name);
        using var w = new StreamWriter(path);
        w.WriteLine("order_id,customer_id,ordered_at,total_amount");
        for (var i = first; i < first + count; i++)
        {
            w.WriteLine($"O{i},C{i % 50},2024-01-{1 + i % 28:00}T10:00:00Z,{i % 90 + 1}.25");
        }
        return path;
    }

    /// <summary>Relative path → SHA-256 of every published file (staging, runs, lock and key excluded).</summary>
    private static Dictionary<string, string> Snapshot(string output) =>
        Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(output, f))
            .Where(r => r.StartsWith("clean", StringComparison.Ordinal) || r.StartsWith("quarantine", StringComparison.Ordinal))
            .ToDictionary(r => r, r => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(output, r)))));

    [Test]
    public void A_run_killed_before_publishing_leaves_the_previous_outputs_byte_identical()
    {
        var output = Path.Combine(_dir, "out");
        var first = PipelineCli.RunProcess(null, "clean-orders", "-i", Orders("a.csv", 0, 500), "-o", output);
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        var before = Snapshot(output);

        var killed = PipelineCli.RunProcess(new Dictionary<string, string> { ["PIPELINE_TEST_CRASH_AT"] = "before-publish" },
            "clean-orders", "-i", Orders("b.csv", 1000, 700), "-o", output);
        Assert.That(killed.ExitCode, Is.Not.Zero, "the child was killed");
        Assert.That(Snapshot(output), Is.EqualTo(before));
        Assert.That(Directory.GetDirectories(Path.Combine(output, "_staging")), Has.Length.EqualTo(1), "the dead run's staging folder is left behind");

        var rerun = PipelineCli.RunProcess(null, "clean-orders", "-i", Path.Combine(_dir, "b.csv"), "-o", output);
        Assert.That(rerun.ExitCode, Is.Zero, rerun.ToString());
        Assert.That(rerun.Stderr, Does.Contain("discarded the unpublished outputs"));
        Assert.That(Directory.Exists(Path.Combine(output, "_staging")), Is.False, "recovered and published: no staging left, not even the empty root");
        Assert.That(ParquetTable.Read(Path.Combine(output, "clean", "orders")), Has.Count.EqualTo(700));
        AssertSameAsAnUninterruptedRun(output, "b.csv");
    }

    /// <summary>The published tables equal, byte for byte, those of one uninterrupted run of the same input elsewhere.</summary>
    private void AssertSameAsAnUninterruptedRun(string output, string input)
    {
        var reference = Path.Combine(_dir, "uninterrupted-" + input);
        var clean = PipelineCli.RunProcess(null, "clean-orders", "-i", Path.Combine(_dir, input), "-o", reference);
        Assert.That(clean.ExitCode, Is.Zero, clean.ToString());
        Assert.That(PublishedTables.Differences(reference, output), Is.Empty);
    }

    [Test]
    public void A_run_killed_mid_publish_is_completed_by_the_next_run()
    {
        var output = Path.Combine(_dir, "out");
        Assert.That(PipelineCli.RunProcess(null, "clean-orders", "-i", Orders("a.csv", 0, 500), "-o", output).ExitCode, Is.Zero);
        var killed = PipelineCli.RunProcess(new Dictionary<string, string> { ["PIPELINE_TEST_CRASH_AT"] = "mid-publish" },
            "clean-orders", "-i", Orders("b.csv", 1000, 700), "-o", output);
        Assert.That(killed.ExitCode, Is.Not.Zero);
        Assert.That(File.Exists(Path.Combine(output, "clean", "orders", "_SUCCESS")), Is.False, "_SUCCESS is removed while a table is being swapped");

        // The next run (any command on this output) finishes the interrupted publication first.
        var next = PipelineCli.RunProcess(null, "clean-orders", "-i", Orders("c.csv", 5000, 10), "-o", Path.Combine(_dir, "elsewhere"));
        Assert.That(next.ExitCode, Is.Zero);
        var recover = PipelineCli.RunProcess(null, "clean-orders", "-i", Path.Combine(_dir, "b.csv"), "-o", output);
        Assert.That(recover.ExitCode, Is.Zero, recover.ToString());
        Assert.That(recover.Stderr, Does.Contain("completed the interrupted publication"));
        var ids = ParquetTable.Read(Path.Combine(output, "clean", "orders")).Select(r => (string)r["order_id"]!).ToList();
        Assert.That(ids, Has.Count.EqualTo(700));
        Assert.That(ids, Is.Unique);
        Assert.That(ids.All(i => int.Parse(i[1..], System.Globalization.CultureInfo.InvariantCulture) >= 1000), Is.True, "no partition of the old table survives");
        AssertSameAsAnUninterruptedRun(output, "b.csv");
    }

    [Test]
    public void Recovery_rolls_forward_in_process_too()
    {
        // Same protocol without a child process: the hook throws after the first partition move.
        var output = Path.Combine(_dir, "out2");
        Assert.That(PipelineCli.Run("clean-orders", "-i", Orders("a.csv", 0, 300), "-o", output).ExitCode, Is.Zero);
        var store = new OutputStore(output);
        var staged = Path.Combine(store.StagingDir("manual"), "clean", "orders", "order_date=2030-01-01");
        Directory.CreateDirectory(staged);
        File.WriteAllText(Path.Combine(staged, "part-0.parquet"), "x");
        var crashing = new OutputStore(output) { OnPartitionMoved = _ => throw new IOException("simulated crash") };
        Assert.Throws<IOException>(() => crashing.Publish("manual", ["clean/orders"]));
        Assert.That(store.Recover(), Has.Some.Contains("manual"));
        Assert.That(Directory.GetDirectories(Path.Combine(output, "clean", "orders")).Select(Path.GetFileName), Is.EqualTo(new[] { "order_date=2030-01-01" }));
        Assert.That(File.ReadAllText(Path.Combine(output, "clean", "orders", "_SUCCESS")).Trim(), Is.EqualTo("manual"));
    }

    [Test]
    public void A_second_concurrent_run_is_refused_with_exit_code_5()
    {
        var output = Path.Combine(_dir, "locked");
        using (RunLock.Acquire(output, "test-holder"))
        {
            var second = PipelineCli.RunProcess(null, "clean-orders", "-i", Orders("a.csv", 0, 10), "-o", output);
            Assert.That(second.ExitCode, Is.EqualTo(5), second.ToString());
            Assert.That(second.Stderr, Does.Contain("another pipeline run is using"));
            Assert.That(second.Stderr, Does.Contain("test-holder"));
        }
        var after = PipelineCli.RunProcess(null, "clean-orders", "-i", Path.Combine(_dir, "a.csv"), "-o", output);
        Assert.That(after.ExitCode, Is.Zero, after.ToString());
    }
}
