using System.Globalization;
using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>
/// <c>generate --anomalies</c>: the incidents are where ground_truth.json says, read back from the files with the
/// tests' own event reader (no generator code): no event in the outage's six hours, no ad spend row on the gap day, the
/// storm's direct one-page sessions, no purchase in the checkout-bug window on a mobile user agent beyond half the rate,
/// and the dates away from the warm-up and the promotions.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AnomalyInjectionTests
{
    private string _dir = "";
    private GroundTruth _truth = null!;
    private EventReaderForTests.Result _events = null!;
    private GenerateOptions _options = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        _dir = TestPaths.NewTempDir("anomalies-gen");
        _options = new GenerateOptions
        {
            OutputDirectory = _dir, Customers = 4000, Days = 119, Seed = 5, StartDate = new DateOnly(2024, 4, 8), Anomalies = true,
            TargetConversion = 0.5, MaxBrowseSessionsPerCustomer = 0, AnonymousVisitors = 0,
        };
        _truth = DatasetGenerator.Generate(_options);
        _events = EventReaderForTests.Classify(_dir, _truth.Events!.Rules.FutureTimestampAfter);
    }

    [OneTimeTearDown]
    public void Cleanup()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private AnomalyTruth Of(string kind) => _truth.Anomalies!.Single(a => a.Kind == kind);

    [Test]
    public void Five_incidents_after_the_warm_up_away_from_the_promotions_and_each_other()
    {
        var anomalies = _truth.Anomalies!;
        Assert.That(anomalies.Select(a => a.Kind), Is.EquivalentTo(new[] { "tracking_outage", "mobile_checkout_bug", "bot_storm", "aov_price_glitch", "ad_spend_gap" }));
        // 618: June 1–18 of 2024; the period starts April 8, so day 63 is June 10.
        var promoFrom = new DateOnly(2024, 6, 1);
        var promoTo = new DateOnly(2024, 6, 18);
        using (Assert.EnterMultipleScope())
        {
            foreach (var a in anomalies)
            {
                Assert.That(a.StartDate, Is.GreaterThanOrEqualTo(new DateOnly(2024, 6, 10)), a.Kind);
                Assert.That(a.EndDate, Is.LessThanOrEqualTo(_options.EndDate), a.Kind);
                Assert.That(a.EndDate < promoFrom.AddDays(-3) || a.StartDate > promoTo.AddDays(14), Is.True, $"{a.Kind} away from 618");
                Assert.That(a.EndDate.DayNumber - a.StartDate.DayNumber + 1, Is.EqualTo(a.Kind == "mobile_checkout_bug" ? 3 : 1), a.Kind);
                foreach (var b in anomalies.Where(b => b != a))
                {
                    Assert.That(b.StartDate > a.EndDate.AddDays(4) || b.EndDate < a.StartDate.AddDays(-4), Is.True, $"{a.Kind} and {b.Kind} apart");
                }
            }
        }
        var again = DatasetGenerator.Generate(_options with { OutputDirectory = Directory.CreateDirectory(Path.Combine(_dir, "again")).FullName, Customers = 10 });
        Assert.That(again.Anomalies!.Select(a => (a.Kind, a.StartDate)), Is.EqualTo(anomalies.Select(a => (a.Kind, a.StartDate))), "dates depend on the seed and period only");
    }

    [Test]
    public void No_event_in_the_outages_six_hours_and_events_around_them()
    {
        var outage = Of("tracking_outage");
        var hour = int.Parse(outage.Description.AsSpan("No event written from ".Length, 2), CultureInfo.InvariantCulture);
        var from = new DateTimeOffset(outage.StartDate.ToDateTime(new TimeOnly(hour, 0)), TimeSpan.Zero);
        var to = from.AddHours(AnomalyPlan.OutageHours);
        Assert.That(_events.Valid.Count(e => e.At >= from && e.At < to), Is.Zero, "nothing recorded in the outage");
        Assert.That(_events.Valid.Count(e => e.At >= from.AddHours(-6) && e.At < from), Is.GreaterThan(100), "the six hours before are recorded");
    }

    [Test]
    public void No_ad_spend_row_on_the_gap_day_and_rows_on_every_other_day()
    {
        var gap = Of("ad_spend_gap").StartDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var dates = File.ReadAllLines(Path.Combine(_dir, EventGenerator.AdSpendFile)).Skip(1).Select(l => l[..10]).ToHashSet();
        Assert.That(dates, Does.Not.Contain(gap));
        Assert.That(dates, Has.Count.EqualTo(_options.Days - 1));
    }

    [Test]
    public void The_storm_day_has_about_60_percent_more_sessions_all_one_page_direct_landings()
    {
        var storm = Of("bot_storm").StartDate;
        var perDay = _events.Sessions.GroupBy(s => DateOnly.FromDateTime(s.Landing.At.UtcDateTime)).ToDictionary(g => g.Key, g => g.ToList());
        var before = Enumerable.Range(1, 7).Select(k => perDay[storm.AddDays(-k)].Count).Average();
        var onePageDirect = perDay[storm].Count(s => s.Events.Count == 1 && EventReaderForTests.Channel(s.Landing) == "direct");
        var usual = Enumerable.Range(1, 7).Select(k => perDay[storm.AddDays(-k)].Count(s => s.Events.Count == 1 && EventReaderForTests.Channel(s.Landing) == "direct")).Average();
        // 0.6 × the period's mean daily sessions (lower than the last week's: the shop grows), on top of the usual ones.
        Assert.That(onePageDirect - usual, Is.InRange(0.3 * before, 0.7 * before));
    }

    [Test]
    public void Mobile_purchases_in_the_checkout_bug_window_are_about_half_their_share()
    {
        var bug = Of("mobile_checkout_bug");
        bool InWindow(DateTimeOffset at) => DateOnly.FromDateTime(at.UtcDateTime) is var d && d >= bug.StartDate && d <= bug.EndDate;
        bool Mobile(EventReaderForTests.Event e) => e.UserAgent is { } ua && (ua.Contains("iPhone", StringComparison.Ordinal) || ua.Contains("Android", StringComparison.Ordinal) && ua.Contains("Mobile", StringComparison.Ordinal));
        var purchases = _events.Kept.Where(e => e.Type == "purchase" && InWindow(e.At)).ToList();
        var checkouts = _events.Kept.Where(e => e.Type == "begin_checkout" && InWindow(e.At)).ToList();
        // Orders: mobile 0.52 × ½ of the window's attempts, desktop and tablet 0.48: mobile's share of purchases 0.26 / 0.74 = 35%.
        var mobileShare = purchases.Count(Mobile) / (double)purchases.Count;
        TestContext.Out.WriteLine($"window purchases {purchases.Count}, mobile share {mobileShare:0.000}, begin_checkouts {checkouts.Count}");
        Assert.That(mobileShare, Is.InRange(0.35 - 0.1, 0.35 + 0.1), "without the bug mobile makes about half the purchases");
        Assert.That(checkouts.Count - purchases.Count, Is.GreaterThan(0.2 * purchases.Count), "the failed checkouts stay as sessions that end at begin_checkout");
    }
}
