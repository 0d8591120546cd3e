using NUnit.Framework;
using Pipeline.Core;
using Pipeline.Generate;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Generate;

/// <summary>
/// Tiny shops with faults on (<c>pipeline generate --customers 120 --days 20 --seed 11 --faults</c> used to exit 2
/// with "Index was out of range": the top-up of fault lines rendered its template event against the sessions of the
/// last visitor batch). Every run must succeed, and the ground truth must count exactly what the files hold: faults
/// that cannot be placed (a duplicate in a later file when there is one file, a 4-day session in a short period) are
/// left out and recorded as zero, the others are topped up to <see cref="GenerateOptions.MinFaultsPerClass"/>.
/// </summary>
[TestFixture]
public sealed class SmallShopGenerationTests
{
    private string _dir = "";

    [SetUp]
    public void NewDir() => _dir = TestPaths.NewTempDir("generate-small");

    [TearDown]
    public void Cleanup()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public void The_reported_case_generates_through_the_cli()
    {
        var result = PipelineCli.Run("generate", "--output", _dir, "--customers", "120", "--days", "20", "--seed", "11", "--faults");

        Assert.That(result.ExitCode, Is.EqualTo(ExitCodes.Success), result.ToString());
        var truth = GroundTruth.Load(Path.Combine(_dir, GroundTruth.FileName));
        AssertOrdersMatchFiles(truth);
        AssertEventsMatchFiles(truth);
    }

    [TestCase(120, 20, 11L)]
    [TestCase(10, 5, 11L)]
    [TestCase(10, 5, 3L)]
    [TestCase(3, 2, 7L)]
    [TestCase(1, 1, 1L)]
    public void Tiny_shops_with_faults_count_exactly_what_the_files_hold(int customers, int days, long seed)
    {
        var returned = DatasetGenerator.Generate(new GenerateOptions
        {
            OutputDirectory = _dir, Customers = customers, Days = days, Seed = seed, Faults = true,
        });

        var truth = GroundTruth.Load(Path.Combine(_dir, GroundTruth.FileName));
        Assert.That(truth.ToJson(), Is.EqualTo(returned.ToJson()), "ground_truth.json is what Generate returned");
        AssertOrdersMatchFiles(truth);
        AssertEventsMatchFiles(truth);

        var e = truth.Events!;
        var min = new GenerateOptions { OutputDirectory = _dir }.MinFaultsPerClass;
        using (Assert.EnterMultipleScope())
        {
            // Placeable classes are topped up; the rest are reduced, and the truth says so.
            Assert.That(new[] { e.Quarantined.MalformedRow, e.Quarantined.BadTimestamp, e.Quarantined.MissingIdentity,
                e.Quarantined.UnknownEventType, e.Quarantined.FutureTimestamp }, Has.All.GreaterThanOrEqualTo(min));
            Assert.That(e.Duplicates, Is.GreaterThanOrEqualTo(min));
            if (e.Files.Count == 1)
            {
                Assert.That(e.DuplicatesLaterFile, Is.Zero, "one file: no duplicate can land in a later file");
            }
            if (days < 5)
            {
                Assert.That(e.Visitors.LongSessionVisitors, Is.Zero, "a 4-day session does not fit the period");
                Assert.That(e.Quarantined.SessionTooLong, Is.Zero);
            }
            if (truth.Files.Count == 1)
            {
                Assert.That(truth.Orders.DuplicatesLaterFile, Is.Zero, "one orders file: no duplicate in a later file");
            }
        }
    }

    [Test]
    public void Bad_options_exit_2_and_a_generator_bug_would_not()
    {
        var bad = PipelineCli.Run("generate", "--output", _dir, "--customers", "0", "--days", "5");
        Assert.That(bad.ExitCode, Is.EqualTo(ExitCodes.UsageOrConfig), bad.ToString());
        Assert.That(bad.Stderr, Does.Contain("Customers").And.Not.Contain("unexpected"));

        // An argument exception thrown by a bug is not a usage error.
        Assert.That(Failures.Classify(new ArgumentOutOfRangeException("index")).Code, Is.EqualTo(ExitCodes.UnexpectedFailure));
        Assert.That(Failures.Classify(new GenerateOptionsException(nameof(GenerateOptions.Days), 0, "must be at least 1")).Code,
            Is.EqualTo(ExitCodes.UsageOrConfig));
    }

    /// <summary>Recounts the order files row by row (<see cref="GeneratedFiles.Recount"/>) against the truth.</summary>
    private void AssertOrdersMatchFiles(GroundTruth truth)
    {
        var files = GeneratedFiles.ReadAll(_dir);
        var (rows, validUnique, duplicates, dupSame, dupLater, quarantined) = GeneratedFiles.Recount(files, truth.Orders.FutureTimestampAfter);
        var o = truth.Orders;
        var q = o.Quarantined;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(files.Select(f => f.Name), Is.EqualTo(truth.Files.Select(f => f.Name)), "order files");
            Assert.That(rows, Is.EqualTo(o.RowsRead), "orders.rows_read");
            Assert.That(validUnique, Is.EqualTo(o.RowsValidUnique), "orders.rows_valid_unique");
            Assert.That(duplicates, Is.EqualTo(o.Duplicates), "orders.duplicates");
            Assert.That(dupSame, Is.EqualTo(o.DuplicatesSameFile), "orders.duplicates_same_file");
            Assert.That(dupLater, Is.EqualTo(o.DuplicatesLaterFile), "orders.duplicates_later_file");
            Assert.That(quarantined.GetValueOrDefault("malformed_row"), Is.EqualTo(q.MalformedRow), "orders malformed_row");
            Assert.That(quarantined.GetValueOrDefault("bad_timestamp"), Is.EqualTo(q.BadTimestamp), "orders bad_timestamp");
            Assert.That(quarantined.GetValueOrDefault("missing_order_id"), Is.EqualTo(q.MissingOrderId), "orders missing_order_id");
            Assert.That(quarantined.GetValueOrDefault("bad_amount"), Is.EqualTo(q.BadAmount), "orders bad_amount");
            Assert.That(quarantined.GetValueOrDefault("unknown_status"), Is.EqualTo(q.UnknownStatus), "orders unknown_status");
            Assert.That(quarantined.GetValueOrDefault("future_timestamp"), Is.EqualTo(q.FutureTimestamp), "orders future_timestamp");
            Assert.That(o.RowsRead, Is.EqualTo(o.RowsValidUnique + o.Duplicates + q.Total), "orders invariant");
        }
    }

    /// <summary>Classifies every event line independently (<see cref="EventReaderForTests"/>) and compares with the truth.</summary>
    private void AssertEventsMatchFiles(GroundTruth truth)
    {
        var e = truth.Events ?? throw new AssertionException("no events block");
        var r = EventReaderForTests.Classify(_dir, e.Rules.FutureTimestampAfter);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(r.RowsRead, Is.EqualTo(e.RowsRead), "events.rows_read");
            Assert.That(r.RowsRead, Is.EqualTo(e.Files.Sum(f => f.Rows)), "events files rows");
            Assert.That((long)r.Kept.Count, Is.EqualTo(e.Kept), "events.kept");
            Assert.That(r.Duplicates, Is.EqualTo(e.Duplicates), "events.duplicates");
            Assert.That(r.DuplicateLinesNotExact, Is.Empty, "duplicates are exact re-emissions");
            Assert.That(e.Duplicates, Is.EqualTo(e.DuplicatesSameFile + e.DuplicatesLaterFile), "duplicates by placement");
            Assert.That(r.Quarantined["malformed_row"], Is.EqualTo(e.Quarantined.MalformedRow), "malformed_row");
            Assert.That(r.Quarantined["bad_timestamp"], Is.EqualTo(e.Quarantined.BadTimestamp), "bad_timestamp");
            Assert.That(r.Quarantined["missing_identity"], Is.EqualTo(e.Quarantined.MissingIdentity), "missing_identity");
            Assert.That(r.Quarantined["unknown_event_type"], Is.EqualTo(e.Quarantined.UnknownEventType), "unknown_event_type");
            Assert.That(r.Quarantined["future_timestamp"], Is.EqualTo(e.Quarantined.FutureTimestamp), "future_timestamp");
            Assert.That(r.Quarantined["session_too_long"], Is.EqualTo(e.Quarantined.SessionTooLong), "session_too_long");
            Assert.That(r.BotsUserAgent, Is.EqualTo(e.Bots.UserAgent), "bots.user_agent");
            Assert.That(r.BotsEventRate, Is.EqualTo(e.Bots.EventRate), "bots.event_rate");
            Assert.That((long)r.Sessions.Count, Is.EqualTo(e.Sessions), "sessions");
            Assert.That((long)r.Kept.Count(k => k.Type == "purchase"), Is.EqualTo(e.PurchaseEvents), "purchase_events");
            Assert.That(e.RowsRead, Is.EqualTo(e.Kept + e.Duplicates + e.Quarantined.Total + e.Bots.Total), "events invariant");
        }
    }
}
