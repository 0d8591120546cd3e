using System.Security.Cryptography;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Publishing;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Nightly;

/// <summary>
/// <c>pipeline run</c> on a copy of the sample shop: every stage in order, nothing redone when nothing changed, only
/// what depends on a changed input redone, a failure stops the run with its stage's exit code and leaves earlier
/// outputs published, one run at a time.
/// </summary>
public class NightlyRunTests
{
    private string _dir = "";
    private string _config = "";
    private string _output = "";

    private static readonly string[] AllStages = ["clean-orders", "clean-clicks", "features", "rfm", "segment", "ltv", "kpis", "alerts", "experiments", "report"];

    [SetUp]
    public void SetUp()
    {
        _dir = TestPaths.NewTempDir("nightly");
        TestPaths.CopySampleShop(_dir);
        _output = Path.Combine(_dir, "out");
        _config = Path.Combine(_dir, "pipeline.json");
        File.WriteAllText(_config, """
            {
              "output": "out",
              "now": "2024-07-01T00:00:00Z",
              "orders": { "input": "orders/" },
              "events": { "input": "events/", "site_hosts": ["shop.example.com"] },
              "analytics": { "ltv": { "holdout_days": 14, "horizons_days": [30, 90] }, "segments": { "k_max": 4 } }
            }
            """);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>The steps of the run manifest named on stdout: stage → status.</summary>
    private static Dictionary<string, string> Steps(CliResult r)
    {
        var path = r.Stdout.Split('\n').Single(l => l.StartsWith("run manifest:", StringComparison.Ordinal))["run manifest:".Length..].Trim();
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        Assert.That(doc.RootElement.GetProperty("command").GetString(), Is.EqualTo("run"));
        return doc.RootElement.GetProperty("steps").EnumerateArray()
            .ToDictionary(s => s.GetProperty("stage").GetString()!, s => s.GetProperty("status").GetString()!);
    }

    /// <summary>Relative path → SHA-256 of every published data file.</summary>
    private Dictionary<string, string> Published() =>
        Directory.EnumerateFiles(_output, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(_output, f))
            .Where(r => !r.StartsWith('_'))
            .ToDictionary(r => r, r => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(_output, r)))));

    [Test]
    public void A_first_run_runs_every_stage_and_a_rerun_of_the_same_night_changes_nothing()
    {
        var first = PipelineCli.Run("run", "-c", _config);
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(Steps(first), Is.EqualTo(AllStages.ToDictionary(s => s, _ => "succeeded")));
        foreach (var table in new[] { "clean/orders", "clean/events", "sessions", "customers/features", "rfm/scores", "segments/assignments", "ltv/customers" })
        {
            Assert.That(File.Exists(Path.Combine(_output, table, "_SUCCESS")), Is.True, table);
        }
        var published = Published();

        var second = PipelineCli.Run("run", "-c", _config);
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        Assert.That(Steps(second), Is.EqualTo(AllStages.ToDictionary(s => s, _ => "skipped")));
        Assert.That(Published(), Is.EqualTo(published), "a no-op rerun leaves every published file byte-identical");
    }

    [Test]
    public void A_new_orders_file_reruns_the_orders_and_everything_downstream_but_not_the_clickstream()
    {
        Assert.That(PipelineCli.Run("run", "-c", _config).ExitCode, Is.Zero);
        File.WriteAllText(Path.Combine(_dir, "orders", "orders-2024-06-late.csv"),
            "order_id,customer_id,ordered_at,total_amount,currency,status\nLATE-1,C00001,2024-06-14T09:00:00Z,42.50,USD,completed\n");

        var r = PipelineCli.Run("run", "-c", _config);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var steps = Steps(r);
        Assert.That(steps["clean-orders"], Is.EqualTo("succeeded"));
        Assert.That(steps["clean-clicks"], Is.EqualTo("skipped"));
        Assert.That(new[] { "features", "rfm", "segment", "ltv" }.Select(s => steps[s]), Is.All.EqualTo("succeeded"));
        var orders = ParquetTable.Read(Path.Combine(_output, "clean", "orders"));
        Assert.That(orders.Count(o => (string)o["order_id"]! == "LATE-1"), Is.EqualTo(1));
    }

    [Test]
    public void Only_and_skip_select_stages_and_a_snapshot_date_makes_its_as_of_partition()
    {
        var r = PipelineCli.Run("run", "-c", _config, "--only", "clean-orders,clean-clicks,features", "--skip", "clean-clicks", "--date", "2024-06-01");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(Steps(r), Is.EqualTo(new Dictionary<string, string> { ["clean-orders"] = "succeeded", ["features 2024-06-01"] = "succeeded" }));
        Assert.That(Directory.Exists(Path.Combine(_output, "customers", "features", "as_of=2024-06-01")), Is.True);
        Assert.That(Directory.Exists(Path.Combine(_output, "clean", "events")), Is.False);

        var backfill = PipelineCli.Run("run", "-c", _config, "--only", "features", "--from", "2024-06-01", "--to", "2024-06-03");
        Assert.That(backfill.ExitCode, Is.Zero, backfill.ToString());
        Assert.That(Steps(backfill), Is.EqualTo(new Dictionary<string, string>
        {
            ["features 2024-06-01"] = "skipped", // same upstream, same date: up to date
            ["features 2024-06-02"] = "succeeded",
            ["features 2024-06-03"] = "succeeded",
        }));

        var bad = PipelineCli.Run("run", "-c", _config, "--only", "clean-order");
        Assert.That(bad.ExitCode, Is.EqualTo(2));
        Assert.That(bad.Stderr, Does.Contain("unknown stage 'clean-order'"));
        Assert.That(PipelineCli.Run("run", "-c", _config, "--date", "2024-06-01", "--from", "2024-06-01", "--to", "2024-06-02").ExitCode, Is.EqualTo(2));
    }

    [Test]
    public void A_failing_stage_stops_the_run_with_its_exit_code_and_earlier_outputs_stay_published()
    {
        Assert.That(PipelineCli.Run("run", "-c", _config).ExitCode, Is.Zero);
        var before = Published();
        // A truncated gzip file: an input problem (exit 3) in clean-clicks, after clean-orders.
        var gz = Directory.GetFiles(Path.Combine(_dir, "events")).First();
        var bytes = File.ReadAllBytes(gz);
        File.WriteAllBytes(Path.Combine(_dir, "events", "events-truncated.jsonl.gz"), bytes[..(bytes.Length / 2)]);
        File.WriteAllText(Path.Combine(_dir, "orders", "orders-extra.csv"),
            "order_id,customer_id,ordered_at,total_amount\nEXTRA-1,C00002,2024-06-10T09:00:00Z,10.00\n");

        var r = PipelineCli.Run("run", "-c", _config);
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stderr, Does.Contain("error: clean-clicks"));
        var steps = Steps(r);
        Assert.That(steps, Is.EqualTo(new Dictionary<string, string> { ["clean-orders"] = "succeeded", ["clean-clicks"] = "failed" }));
        var after = Published();
        Assert.That(after.Where(kv => kv.Key.StartsWith("clean/events", StringComparison.Ordinal) || kv.Key.StartsWith("sessions", StringComparison.Ordinal)),
            Is.EquivalentTo(before.Where(kv => kv.Key.StartsWith("clean/events", StringComparison.Ordinal) || kv.Key.StartsWith("sessions", StringComparison.Ordinal))));
        Assert.That(ParquetTable.Read(Path.Combine(_output, "clean", "orders")).Any(o => (string)o["order_id"]! == "EXTRA-1"), Is.True,
            "the stage before the failure published");
    }

    [Test]
    public void A_second_concurrent_run_is_refused_with_exit_5()
    {
        using var held = RunLock.Acquire(_output, "test-holder");
        var r = PipelineCli.Run("run", "-c", _config);
        Assert.That(r.ExitCode, Is.EqualTo(5), r.ToString());
        Assert.That(r.Stderr, Does.Contain("another pipeline run is using"));
    }

    [Test]
    public void A_run_killed_at_random_moments_leaves_good_outputs_and_the_next_run_finishes_the_work()
    {
        // The reference: what an uninterrupted run publishes, in another directory.
        var reference = PipelineCli.RunProcess(null, "run", "-c", _config, "-o", Path.Combine(_dir, "reference"));
        Assert.That(reference.ExitCode, Is.Zero, reference.ToString());
        static Dictionary<string, int> Rows(string root) => new[] { "clean/orders", "clean/events", "sessions", "customers/features", "rfm/scores", "ltv/customers" }
            .ToDictionary(t => t, t => ParquetTable.Read(Path.Combine(root, t)).Count);
        var expected = Rows(Path.Combine(_dir, "reference"));

        var random = new Random(20261125);
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using (var p = PipelineCli.Start(null, "run", "-c", _config, "--full-refresh"))
            {
                Thread.Sleep(random.Next(300, 4000));
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }
            var next = PipelineCli.RunProcess(null, "run", "-c", _config);
            Assert.That(next.ExitCode, Is.Zero, next.ToString());
            Assert.That(Rows(_output), Is.EqualTo(expected), $"attempt {attempt}");
            // Byte for byte what the uninterrupted run published (the quarantine tables field by field: their rows carry
            // the run id; the report shows run times), whichever moment the kill hit and whatever the next run redid.
            Assert.That(PublishedTables.Differences(Path.Combine(_dir, "reference"), _output), Is.Empty, $"attempt {attempt}");
        }
    }
}
