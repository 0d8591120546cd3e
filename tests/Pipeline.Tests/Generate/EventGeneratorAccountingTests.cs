using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>
/// Re-reads the generated event files with an independent classifier and checks every number of the events
/// ground truth, the file-level variety, and that every valid order has exactly one purchase event.
/// </summary>
[TestFixture(11L, 1500, 120)]
[TestFixture(5L, 2500, 365)]
public sealed class EventGeneratorAccountingTests(long seed, int customers, int days)
{
    private string _dir = "";
    private GroundTruth _truth = null!;
    private EventsTruth _events = null!;
    private EventReaderForTests.Result _read = null!;

    [OneTimeSetUp]
    public void GenerateOnce()
    {
        _dir = TestPaths.NewTempDir("generate-events");
        _truth = DatasetGenerator.Generate(new GenerateOptions
        {
            OutputDirectory = _dir, Customers = customers, Days = days, Seed = seed, Faults = true, EventFaultRate = 0.01,
        });
        _events = _truth.Events ?? throw new InvalidOperationException("no events block");
        _read = EventReaderForTests.Classify(_dir, _events.Rules.FutureTimestampAfter);
    }

    [OneTimeTearDown]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Ground_truth_file_has_the_events_block_and_round_trips()
    {
        var loaded = GroundTruth.Load(Path.Combine(_dir, GroundTruth.FileName));
        Assert.That(loaded.Events, Is.Not.Null);
        Assert.That(loaded.Events!.Kept, Is.EqualTo(_events.Kept));
        Assert.That(loaded.Events.SessionsByChannel, Is.EqualTo(_events.SessionsByChannel));
        var json = File.ReadAllText(Path.Combine(_dir, GroundTruth.FileName));
        Assert.That(json, Does.Contain("\"events\": {"));
        Assert.That(json, Does.Contain("\"sessions_by_channel\""));
        Assert.That(json, Does.Contain("\"session_too_long\""));
    }

    [Test]
    public void Invariant_rows_read_balances()
    {
        var e = _events;
        Assert.That(e.RowsRead, Is.EqualTo(e.Kept + e.Duplicates + e.Quarantined.Total + e.Bots.Total));
        Assert.That(e.RowsRead, Is.EqualTo(e.Files.Sum(f => f.Rows)));
    }

    [Test]
    public void Every_line_classified_independently_matches_the_ground_truth()
    {
        var e = _events;
        var r = _read;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(r.RowsRead, Is.EqualTo(e.RowsRead), "rows_read");
            Assert.That((long)r.Kept.Count, Is.EqualTo(e.Kept), "kept");
            Assert.That(r.Duplicates, Is.EqualTo(e.Duplicates), "duplicates");
            Assert.That(r.DuplicateLinesNotExact, Is.Empty, "duplicates are exact re-emissions");
            Assert.That(r.Quarantined["malformed_row"], Is.EqualTo(e.Quarantined.MalformedRow), "malformed_row");
            Assert.That(r.Quarantined["bad_timestamp"], Is.EqualTo(e.Quarantined.BadTimestamp), "bad_timestamp");
            Assert.That(r.Quarantined["missing_identity"], Is.EqualTo(e.Quarantined.MissingIdentity), "missing_identity");
            Assert.That(r.Quarantined["unknown_event_type"], Is.EqualTo(e.Quarantined.UnknownEventType), "unknown_event_type");
            Assert.That(r.Quarantined["future_timestamp"], Is.EqualTo(e.Quarantined.FutureTimestamp), "future_timestamp");
            Assert.That(r.Quarantined["session_too_long"], Is.EqualTo(e.Quarantined.SessionTooLong), "session_too_long");
            Assert.That(r.BotsUserAgent, Is.EqualTo(e.Bots.UserAgent), "bots.user_agent");
            Assert.That(r.BotsEventRate, Is.EqualTo(e.Bots.EventRate), "bots.event_rate");
            Assert.That((long)r.Sessions.Count, Is.EqualTo(e.Sessions), "sessions");
            Assert.That((long)r.Sessions.Count(s => s.Converted), Is.EqualTo(e.ConvertedSessions), "converted_sessions");
            Assert.That((long)r.Kept.Count(k => k.Type == "purchase"), Is.EqualTo(e.PurchaseEvents), "purchase_events");
            Assert.That((long)r.Kept.Count(k => k.Type == "login"), Is.EqualTo(e.LoginEvents), "login_events");
            Assert.That((long)r.Kept.Select(k => k.AnonymousId).Distinct().Count(), Is.EqualTo(e.AnonymousIds), "anonymous_ids");
            Assert.That((long)r.Kept.Where(k => k.UserId is not null).Select(k => k.AnonymousId).Distinct().Count(),
                Is.EqualTo(e.AnonymousIdsWithLogin), "anonymous_ids_with_login");
            Assert.That(r.Kept.Count(k => k.RawTimestamp.EndsWith("+08:00", StringComparison.Ordinal)), Is.EqualTo(e.Formats.OccurredAtIsoOffset));
            Assert.That(r.Kept.Count(k => k.RawTimestamp.Length == 13), Is.EqualTo(e.Formats.OccurredAtEpochMillis));
            Assert.That(r.Kept.Count(k => k.RawTimestamp.EndsWith('Z')), Is.EqualTo(e.Formats.OccurredAtIsoUtc));
        }

        // Every class occurs (faults on), and the variety is there.
        Assert.That(e.Duplicates, Is.GreaterThan(0));
        Assert.That(e.DuplicatesSameFile, Is.GreaterThan(0));
        Assert.That(e.DuplicatesLaterFile, Is.GreaterThan(0));
        Assert.That(new[] { e.Quarantined.MalformedRow, e.Quarantined.BadTimestamp, e.Quarantined.MissingIdentity,
            e.Quarantined.UnknownEventType, e.Quarantined.FutureTimestamp, e.Quarantined.SessionTooLong }, Has.All.GreaterThan(0));
        Assert.That(e.Bots.UserAgent, Is.GreaterThan(0));
        Assert.That(e.Bots.EventRate, Is.EqualTo(150L * e.Visitors.RateBots));
        Assert.That(e.Formats.OccurredAtIsoOffset, Is.GreaterThan(0));
        Assert.That(e.Formats.OccurredAtEpochMillis, Is.GreaterThan(0));
    }

    [Test]
    public void Sessions_by_channel_follow_the_landing_event()
    {
        var byChannel = _read.Sessions.GroupBy(s => EventReaderForTests.Channel(s.Landing)).ToDictionary(g => g.Key, g => (long)g.Count());
        long Get(string c) => byChannel.GetValueOrDefault(c);
        var expected = _events.SessionsByChannel;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Get("paid_search"), Is.EqualTo(expected.PaidSearch), "paid_search");
            Assert.That(Get("paid_social"), Is.EqualTo(expected.PaidSocial), "paid_social");
            Assert.That(Get("email"), Is.EqualTo(expected.Email), "email");
            Assert.That(Get("affiliate"), Is.EqualTo(expected.Affiliate), "affiliate");
            Assert.That(Get("organic_social"), Is.EqualTo(expected.OrganicSocial), "organic_social");
            Assert.That(Get("organic_search"), Is.EqualTo(expected.OrganicSearch), "organic_search");
            Assert.That(Get("referral"), Is.EqualTo(expected.Referral), "referral");
            Assert.That(Get("direct"), Is.EqualTo(expected.Direct), "direct");
            Assert.That(byChannel.Keys, Is.SubsetOf(EventsCatalogCodes), "no internal or unclassified landings");
        }
        Assert.That(expected.Total, Is.EqualTo(_events.Sessions));
        Assert.That(byChannel.Values, Has.All.GreaterThan(0), "every channel occurs");
    }

    private static readonly string[] EventsCatalogCodes =
        ["paid_search", "paid_social", "email", "affiliate", "organic_social", "organic_search", "referral", "direct"];

    [Test]
    public void Sessions_are_well_formed()
    {
        foreach (var s in _read.Sessions)
        {
            var gaps = s.Events.Zip(s.Events.Skip(1)).Select(p => p.Second.At - p.First.At).DefaultIfEmpty(TimeSpan.Zero).Max();
            Assert.That(gaps, Is.LessThanOrEqualTo(TimeSpan.FromMinutes(25)), s.Landing.EventId);
            Assert.That(s.Landing.Type, Is.AnyOf("page_view", "purchase"));
            // Later events carry no external referrer.
            foreach (var ev in s.Events.Skip(1))
            {
                Assert.That(ev.Referrer is null || ev.Referrer.StartsWith("https://shop.example.com/", StringComparison.Ordinal), Is.True, ev.EventId);
            }
        }
        // Bounces exist, and multi-page sessions with heartbeats.
        Assert.That(_read.Sessions.Count(s => s.Events.Count == 1), Is.GreaterThan(0));
        Assert.That(_read.Kept.Count(k => k.Type == "page_ping"), Is.GreaterThan(0));
        Assert.That(_read.Kept.Count(k => k.Type == "search"), Is.GreaterThan(0));
        Assert.That(_read.Kept.Count(k => k.Type == "remove_from_cart"), Is.GreaterThan(0));
    }

    [Test]
    public void Identity_user_id_only_after_login_on_each_device()
    {
        foreach (var device in _read.Kept.GroupBy(k => k.AnonymousId))
        {
            var events = device.OrderBy(e => e.At).ThenBy(e => e.Arrival).ToList();
            var firstUser = events.FindIndex(e => e.UserId is not null);
            if (firstUser < 0)
            {
                Assert.That(events.Any(e => e.Type == "login"), Is.False);
                continue;
            }
            Assert.That(events[firstUser].Type, Is.AnyOf("login", "purchase"));
            Assert.That(events.Skip(firstUser).All(e => e.UserId == events[firstUser].UserId), Is.True, device.Key);
            Assert.That(events.Count(e => e.Type == "login"), Is.LessThanOrEqualTo(1));
        }
        // Anonymous-only visitors exist and about 30% of visitors never log in.
        var visitors = _events.Visitors;
        Assert.That(visitors.AnonymousVisitors, Is.GreaterThan(0));
        Assert.That(_events.AnonymousIdsWithLogin, Is.LessThan(_events.AnonymousIds));
    }

    [Test]
    public void Every_valid_order_has_exactly_one_purchase_event_at_its_instant()
    {
        var orders = new Dictionary<string, string[]>();
        foreach (var line in GeneratedFiles.ReadAll(_dir).SelectMany(f => f.Lines))
        {
            var f = GeneratedFiles.ParseCsv(line);
            if (GeneratedFiles.Faults(f, _truth.Orders.FutureTimestampAfter).Count == 0)
            {
                orders.TryAdd(f[0], f);
            }
        }
        Assert.That((long)orders.Count, Is.EqualTo(_truth.Orders.RowsValidUnique));
        var purchases = _read.Kept.Where(k => k.Type == "purchase").ToList();
        Assert.That(purchases.Select(p => p.OrderId), Is.Unique);
        Assert.That(purchases.Select(p => p.OrderId!), Is.EquivalentTo(orders.Keys));
        var kept = _read.Kept.ToHashSet();
        Assert.That(_read.Valid.Where(v => v.Type == "purchase").Count(v => !kept.Contains(v)), Is.Zero, "no purchase in bot or fault traffic");

        var stitched = _read.Kept.Where(k => k.UserId is not null).GroupBy(k => k.AnonymousId!)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.At).Last().UserId);
        foreach (var p in purchases)
        {
            var order = orders[p.OrderId!];
            using (Assert.EnterMultipleScope())
            {
                Assert.That(p.At, Is.EqualTo(GeneratedFiles.Instant(order[2])), p.OrderId);
                if (order[1].Length == 0)
                {
                    Assert.That(p.UserId, Is.Null, "guest purchase is anonymous");
                    Assert.That(stitched.ContainsKey(p.AnonymousId!), Is.False);
                }
                else
                {
                    Assert.That(p.UserId, Is.EqualTo(order[1]), "logged in as the order's customer");
                    Assert.That(stitched[p.AnonymousId!], Is.EqualTo(order[1]));
                }
            }
        }
        Assert.That(_events.PurchaseEvents, Is.EqualTo(_truth.Orders.RowsValidUnique));
    }

    [Test]
    public void Files_are_daily_with_gzip_and_one_crlf_file()
    {
        var files = _read.Files;
        Assert.That(files, Has.Count.EqualTo(_truth.Days));
        Assert.That(files.Select(f => f.Name), Is.EqualTo(_events.Files.Select(f => f.Name)));
        Assert.That(files.Count(f => f.Crlf), Is.EqualTo(1));
        Assert.That(files.Count(f => f.Gzip), Is.EqualTo(_truth.Days / 7));
        Assert.That(files.Select(f => (f.Name, f.Crlf, f.Gzip, (long)f.Lines.Count)),
            Is.EqualTo(_events.Files.Select(f => (f.Name, f.Crlf, f.Gzip, f.Rows))));
        foreach (var f in files)
        {
            Assert.That(f.Name.EndsWith(f.Gzip ? ".jsonl.gz" : ".jsonl", StringComparison.Ordinal), Is.True, f.Name);
        }
        // Each valid event sits in the file of its UTC day; and lies in the period.
        foreach (var v in _read.Valid)
        {
            Assert.That(v.File, Does.StartWith("events-" + v.At.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(v.At, Is.LessThan(_truth.ObservationEnd));
        }
    }

    [Test]
    public void Raw_pii_sample_occurs_in_the_data()
    {
        var pii = _events.RawPii;
        Assert.That(pii.AnonymousIds, Has.Count.EqualTo(20));
        Assert.That(pii.Ips, Is.Not.Empty);
        Assert.That(pii.UserAgents, Is.Not.Empty);
        var anon = _read.Kept.Select(k => k.AnonymousId).ToHashSet();
        var ips = _read.Kept.Select(k => k.Ip).ToHashSet();
        var uas = _read.Kept.Select(k => k.UserAgent).ToHashSet();
        Assert.That(pii.AnonymousIds.All(anon.Contains), Is.True);
        Assert.That(pii.Ips.All(ips.Contains), Is.True);
        Assert.That(pii.UserAgents.All(uas.Contains), Is.True);
    }
}
