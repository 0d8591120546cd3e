using System.Globalization;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Events;

/// <summary>
/// Hand-built fixtures for each clickstream rule, run through the real CLI and read back with Parquet.Net.
/// Expected values are worked out in comments.
/// </summary>
public class CleanClicksJobTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("clicks");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private sealed record Ev(string Id, string At, string? Anon, string Type, string? User = null, string? Url = null, string? Ref = null,
        string? Ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", string? Ip = null, string? Order = null, string? PageView = null);

    /// <summary>The JSON key the page view id is written under (a mapped name when a test maps it).</summary>
    private string _pageViewKey = "page_view_id";

    private string Write(string name, IEnumerable<Ev> events)
    {
        var sb = new StringBuilder();
        foreach (var e in events)
        {
            var o = new Dictionary<string, string?>
            {
                ["event_id"] = e.Id, ["occurred_at"] = e.At, ["anonymous_id"] = e.Anon, ["user_id"] = e.User, ["event_type"] = e.Type,
                ["page_url"] = e.Url ?? "https://shop.example.com/", ["referrer_url"] = e.Ref, ["user_agent"] = e.Ua, ["ip"] = e.Ip, ["order_id"] = e.Order,
                [_pageViewKey] = e.PageView,
            };
            sb.Append(JsonSerializer.Serialize(o.Where(kv => kv.Value is not null).ToDictionary(kv => kv.Key, kv => kv.Value))).Append('\n');
        }
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private string Config(string extra = "")
    {
        var path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, "{ \"now\": \"2024-06-01T00:00:00Z\", \"quality\": { \"max_quarantine_share\": 1 } " + extra + " }");
        return path;
    }

    private sealed record Outputs(List<Dictionary<string, object?>> Events, List<Dictionary<string, object?>> Sessions,
        List<Dictionary<string, object?>> Quarantine, JsonElement Stage, string Output);

    private Outputs Clean(string input, string? config = null)
    {
        var output = Path.Combine(_dir, "out-" + Guid.NewGuid().ToString("N")[..6]);
        var r = PipelineCli.Run("clean-clicks", "-i", input, "-o", output, "-c", config ?? Config());
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var manifest = Directory.GetFiles(Path.Combine(output, "_runs")).Single();
        return new Outputs(
            ParquetTable.Read(Path.Combine(output, "clean", "events")),
            ParquetTable.Read(Path.Combine(output, "sessions")),
            ParquetTable.Read(Path.Combine(output, "quarantine", "events")),
            JsonDocument.Parse(File.ReadAllText(manifest)).RootElement.GetProperty("stages")[0].Clone(),
            output);
    }

    private static Dictionary<string, object?> E(Outputs o, string id) => o.Events.Single(e => (string)e["event_id"]! == id);

    [Test]
    public void A_gap_of_exactly_30_minutes_stays_and_one_millisecond_more_splits()
    {
        var o = Clean(Write("gap.jsonl", [
            new("g1", "2024-03-01T10:00:00Z", "a", "page_view"),
            new("g2", "2024-03-01T10:30:00Z", "a", "page_view"),       // +30:00.000 → same session
            new("g3", "2024-03-01T11:00:00.001Z", "a", "page_view"),   // +30:00.001 → new session
        ]));
        Assert.That(E(o, "g2")["session_id"], Is.EqualTo(E(o, "g1")["session_id"]));
        Assert.That(E(o, "g3")["session_id"], Is.Not.EqualTo(E(o, "g1")["session_id"]));
        Assert.That(o.Sessions, Has.Count.EqualTo(2));
    }

    [Test]
    public void Values_padded_with_ascii_or_unicode_spaces_are_trimmed_and_non_ascii_values_are_kept()
    {
        var o = Clean(Write("pad.jsonl", [
            new("p1 ", "2024-03-01T10:00:00Z", "dev", "page_view"),
            new("\u00a0p2", " 2024-03-01T10:05:00Z\u3000", "\u00a0dev\u2003", "\u3000page_view ", Url: "https://shop.example.com/café"),
            new("p3\u202f", "2024-03-01T10:06:00Z", "dev\u3000", "product_view\u00a0", Url: "https://shop.example.com/ü "),
        ]));
        Assert.That(o.Quarantine, Is.Empty, "every padded value is trimmed before it is checked");
        Assert.That(o.Events.Select(e => (string)e["event_id"]!), Is.EquivalentTo(new[] { "p1", "p2", "p3" }));
        Assert.That(o.Sessions, Has.Count.EqualTo(1), "'dev' with and without padding is one visitor");
        Assert.That(E(o, "p2")["event_type"], Is.EqualTo("page_view"));
        Assert.That(E(o, "p3")["event_type"], Is.EqualTo("product_view"));
        Assert.That(E(o, "p2")["page_path"], Is.EqualTo("/café"));
        Assert.That(E(o, "p3")["page_path"], Is.EqualTo("/ü"));
    }

    [Test]
    public void Sessions_are_not_cut_at_midnight_and_too_long_sessions_are_quarantined()
    {
        var events = new List<Ev>
        {
            new("m1", "2024-03-01T23:50:00Z", "night", "page_view"),
            new("m2", "2024-03-02T00:10:00Z", "night", "page_view"), // 20 min later, next day: same session
        };
        // A stuck tab: a page view every 20 minutes for 4 days (> 72 h) → every one of its 289 events is quarantined.
        var start = new DateTime(2024, 3, 10, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i <= 4 * 72; i++)
        {
            events.Add(new($"s{i}", start.AddMinutes(20 * i).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), "stuck", "page_view"));
        }
        var o = Clean(Write("night.jsonl", events));
        Assert.Multiple(() =>
        {
            Assert.That(E(o, "m2")["session_id"], Is.EqualTo(E(o, "m1")["session_id"]));
            Assert.That(E(o, "m2")["event_date"], Is.EqualTo("2024-03-02"));
            var s = o.Sessions.Single();
            Assert.That(s["session_date"], Is.EqualTo("2024-03-01"));
            Assert.That(s["duration_seconds"], Is.EqualTo(1200.0));
            Assert.That(o.Quarantine.Count(q => (string)q["reason_code"]! == "session_too_long"), Is.EqualTo(289));
            Assert.That(o.Stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(291));
            Assert.That(o.Stage.GetProperty("rows_written").GetInt64(), Is.EqualTo(2));
        });
    }

    [Test]
    public void Identity_is_stitched_to_every_event_of_the_device_including_earlier_sessions()
    {
        var o = Clean(Write("stitch.jsonl", [
            new("i1", "2024-03-01T09:00:00Z", "dev1", "page_view"),                  // session 1, anonymous
            new("i2", "2024-03-01T12:00:00Z", "dev1", "page_view"),                  // session 2 starts anonymous
            new("i3", "2024-03-01T12:05:00Z", "dev1", "login", User: "C7"),          // login mid-session
            new("i4", "2024-03-01T12:06:00Z", "dev1", "product_view", User: "C7"),
            new("i5", "2024-03-02T12:00:00Z", "dev1", "page_view"),                  // later session, logged out
            new("i6", "2024-03-01T09:00:00Z", "dev2", "page_view"),                  // a device that never logs in
            new("i7", "2024-03-03T09:00:00Z", "dev3", "login", User: "C1"),
            new("i8", "2024-03-04T09:00:00Z", "dev3", "login", User: "C2"),          // the last user seen wins → C2
        ]));
        Assert.Multiple(() =>
        {
            foreach (var id in new[] { "i1", "i2", "i3", "i4", "i5" })
            {
                Assert.That(E(o, id)["customer_id"], Is.EqualTo("C7"), id);
            }
            Assert.That(E(o, "i6")["customer_id"], Is.Null);
            Assert.That(E(o, "i7")["customer_id"], Is.EqualTo("C2"));
            Assert.That(o.Sessions.Count(s => (string?)s["customer_id"] == "C7"), Is.EqualTo(3));
        });
    }

    [Test]
    public void Engaged_time_uses_ping_buckets_when_there_are_pings_and_capped_gaps_otherwise()
    {
        var o = Clean(Write("engaged.jsonl", [
            // With pings: view p1 has pings in buckets :00, :10, :20 (the :21 ping repeats bucket :20) → 5 + 10 × (3 − 1) = 25 s.
            new("p1", "2024-03-01T10:00:00Z", "pinger", "page_view"),
            new("p2", "2024-03-01T10:00:05Z", "pinger", "page_ping"),
            new("p3", "2024-03-01T10:00:15Z", "pinger", "page_ping"),
            new("p4", "2024-03-01T10:00:25Z", "pinger", "page_ping"),
            new("p5", "2024-03-01T10:00:26Z", "pinger", "page_ping"),
            new("p6", "2024-03-01T10:01:00Z", "pinger", "product_view"),   // no pings after it → 0
            // Without pings: time to the next event, capped at 30 min; the last event 0.
            new("n1", "2024-03-01T10:00:00Z", "nopings", "page_view"),     // 90 s
            new("n2", "2024-03-01T10:01:30Z", "nopings", "product_view"),  // 29 min 59 s = 1799 s
            new("n3", "2024-03-01T10:31:29Z", "nopings", "add_to_cart"),   // last of its session → 0, although…
            new("n4", "2024-03-01T11:01:30Z", "nopings", "page_view"),     // …the visitor returns 30:01 later (a new session); last → 0
        ]));
        Assert.Multiple(() =>
        {
            Assert.That(E(o, "p1")["engaged_seconds"], Is.EqualTo(25.0));
            Assert.That(E(o, "p2")["engaged_seconds"], Is.EqualTo(0.0));
            Assert.That(E(o, "p6")["engaged_seconds"], Is.EqualTo(0.0));
            Assert.That(E(o, "n1")["engaged_seconds"], Is.EqualTo(90.0));
            Assert.That(E(o, "n2")["engaged_seconds"], Is.EqualTo(1799.0));
            Assert.That(E(o, "n3")["engaged_seconds"], Is.EqualTo(0.0), "the gap to the next session is not engaged time");
            Assert.That(E(o, "n4")["engaged_seconds"], Is.EqualTo(0.0));
            Assert.That(E(o, "n4")["session_id"], Is.Not.EqualTo(E(o, "n3")["session_id"]));
            var returning = o.Sessions.Single(s => (string)s["session_id"]! == (string)E(o, "n4")["session_id"]!);
            Assert.That(returning["is_engaged"], Is.False, "a one-page session with no engaged time is not engaged");
            var pinger = o.Sessions.Single(s => (string)s["session_id"]! == (string)E(o, "p1")["session_id"]!);
            Assert.That(pinger["engaged_seconds"], Is.EqualTo(25.0));
            Assert.That(pinger["is_engaged"], Is.True);
            Assert.That(pinger["is_bounce"], Is.False);
        });
    }

    private static Dictionary<string, object?> SessionOf(Outputs o, string eventId) =>
        o.Sessions.Single(s => (string)s["session_id"]! == (string)E(o, eventId)["session_id"]!);

    // Engaged time as dbt-snowplow-web defines it (snowplow_web_pv_engaged_time, limit_page_views_to_session):
    // per page view and session, heartbeat × (distinct floor(epoch / heartbeat) slots of its pings − 1) + min visit;
    // pings whose page view is not in their session make a "stray" page view of that session. Defaults: heartbeat 10,
    // min visit 5. Slots below are the 10-second slots of the clock (:10–:19 is one slot).

    [Test]
    public void A_session_that_starts_with_pings_gets_their_engaged_time_and_their_page_view()
    {
        var o = Clean(Write("ping-first.jsonl", [
            // Session 1: the page view and two pings (slots :10, :20) → 5 + 10 × (2 − 1) = 15 s.
            new("a1", "2024-03-01T10:00:00Z", "idle", "page_view", Url: "https://shop.example.com/a"),
            new("a2", "2024-03-01T10:00:10Z", "idle", "page_ping", Url: "https://shop.example.com/a"),
            new("a3", "2024-03-01T10:00:20Z", "idle", "page_ping", Url: "https://shop.example.com/a"),
            // 40 minutes idle on the same page, then pings again: a new session whose page view was in the first.
            // Slots :20, :30, :40 (the :45 ping) → 5 + 10 × (3 − 1) = 25 s, carried by its first ping.
            new("a4", "2024-03-01T10:40:20Z", "idle", "page_ping", Url: "https://shop.example.com/a"),
            new("a5", "2024-03-01T10:40:30Z", "idle", "page_ping", Url: "https://shop.example.com/a"),
            new("a6", "2024-03-01T10:40:45Z", "idle", "page_ping", Url: "https://shop.example.com/a"),
            // The page view was lost: pings only, slots :00, :10, :20 → 25 s.
            new("l1", "2024-03-01T11:00:05Z", "lost", "page_ping", Url: "https://shop.example.com/b"),
            new("l2", "2024-03-01T11:00:15Z", "lost", "page_ping", Url: "https://shop.example.com/b"),
            new("l3", "2024-03-01T11:00:25Z", "lost", "page_ping", Url: "https://shop.example.com/b"),
        ]));
        Assert.Multiple(() =>
        {
            Assert.That(E(o, "a1")["engaged_seconds"], Is.EqualTo(15.0));
            Assert.That(E(o, "a4")["session_id"], Is.Not.EqualTo(E(o, "a1")["session_id"]), "40 minutes idle starts a session");
            Assert.That(E(o, "a4")["engaged_seconds"], Is.EqualTo(25.0));
            Assert.That(E(o, "a4")["is_page_view"], Is.True);
            Assert.That(E(o, "a5")["is_page_view"], Is.False);
            Assert.That(E(o, "a2")["is_page_view"], Is.False);
            Assert.That(E(o, "a1")["is_page_view"], Is.True);
            var first = SessionOf(o, "a1");
            Assert.That((first["page_views"], first["engaged_seconds"]), Is.EqualTo((1, 15.0)));
            var second = SessionOf(o, "a4");
            Assert.That((second["page_views"], second["engaged_seconds"], second["events"]), Is.EqualTo((1, 25.0, 3)));
            Assert.That(second["is_engaged"], Is.True, "25 s > 10 s");
            var lost = SessionOf(o, "l1");
            Assert.That((lost["page_views"], lost["engaged_seconds"]), Is.EqualTo((1, 25.0)));
            Assert.That(lost["is_bounce"], Is.True, "one page, viewed once");
            Assert.That(E(o, "l1")["engaged_seconds"], Is.EqualTo(25.0));
        });
    }

    [Test]
    public void Pings_after_an_add_to_cart_belong_to_the_page_view_they_are_on()
    {
        var o = Clean(Write("cart.jsonl", [
            // Pings in slots :10, :20, :30, :40 on the page of c1 → 5 + 10 × (4 − 1) = 35 s (the add_to_cart is not a page).
            new("c1", "2024-03-01T12:00:00Z", "cart", "page_view", Url: "https://shop.example.com/p/1"),
            new("c2", "2024-03-01T12:00:10Z", "cart", "page_ping", Url: "https://shop.example.com/p/1"),
            new("c3", "2024-03-01T12:00:15Z", "cart", "add_to_cart", Url: "https://shop.example.com/p/1"),
            new("c4", "2024-03-01T12:00:20Z", "cart", "page_ping", Url: "https://shop.example.com/p/1"),
            new("c5", "2024-03-01T12:00:30Z", "cart", "page_ping", Url: "https://shop.example.com/p/1"),
            new("c6", "2024-03-01T12:00:40Z", "cart", "page_ping", Url: "https://shop.example.com/p/1"),
            // Two tabs: pings go to the latest page view of their own page. t1 gets slots :10 and :30 (:31 repeats
            // it) → 15 s; t3 gets slot :20 → 5 s.
            new("t1", "2024-03-01T16:00:00Z", "tabs", "page_view", Url: "https://shop.example.com/a"),
            new("t2", "2024-03-01T16:00:10Z", "tabs", "page_ping", Url: "https://shop.example.com/a"),
            new("t3", "2024-03-01T16:00:15Z", "tabs", "page_view", Url: "https://shop.example.com/b"),
            new("t4", "2024-03-01T16:00:25Z", "tabs", "page_ping", Url: "https://shop.example.com/b"),
            new("t5", "2024-03-01T16:00:30Z", "tabs", "page_ping", Url: "https://shop.example.com/a"),
            new("t6", "2024-03-01T16:00:31Z", "tabs", "page_ping", Url: "https://shop.example.com/a"),
        ]));
        Assert.Multiple(() =>
        {
            Assert.That(E(o, "c1")["engaged_seconds"], Is.EqualTo(35.0));
            Assert.That(E(o, "c3")["engaged_seconds"], Is.EqualTo(0.0));
            Assert.That((SessionOf(o, "c1")["engaged_seconds"], SessionOf(o, "c1")["page_views"]), Is.EqualTo((35.0, 1)));
            Assert.That(E(o, "t1")["engaged_seconds"], Is.EqualTo(15.0));
            Assert.That(E(o, "t3")["engaged_seconds"], Is.EqualTo(5.0));
            Assert.That(o.Events.Where(e => ((string)e["event_id"]!).StartsWith('t') && (string)e["event_type"]! == "page_ping")
                .Select(e => e["engaged_seconds"]), Is.All.EqualTo(0.0));
            Assert.That((SessionOf(o, "t1")["engaged_seconds"], SessionOf(o, "t1")["page_views"]), Is.EqualTo((20.0, 2)));
        });
    }

    [Test]
    public void Pings_resuming_after_a_session_timeout_are_a_page_view_of_the_new_session()
    {
        var o = Clean(Write("resume.jsonl", [
            // Session 1: r1 with one ping (slot :10) → 5 s.
            new("r1", "2024-03-01T14:00:00Z", "back", "page_view", Url: "https://shop.example.com/a"),
            new("r2", "2024-03-01T14:00:10Z", "back", "page_ping", Url: "https://shop.example.com/a"),
            // 35 minutes later the pings on /a resume: session 2. Its /a pings (r3, r4 and, after the page view of /b,
            // r7 again on /a) have no page view of /a in the session: one page view, slots :10, :20, :50 → 25 s on r3.
            new("r3", "2024-03-01T14:35:10Z", "back", "page_ping", Url: "https://shop.example.com/a"),
            new("r4", "2024-03-01T14:35:20Z", "back", "page_ping", Url: "https://shop.example.com/a"),
            new("r5", "2024-03-01T14:35:30Z", "back", "page_view", Url: "https://shop.example.com/b"),
            new("r6", "2024-03-01T14:35:40Z", "back", "page_ping", Url: "https://shop.example.com/b"),   // slot :40 → r5 5 s
            new("r7", "2024-03-01T14:35:50Z", "back", "page_ping", Url: "https://shop.example.com/a"),
        ]));
        Assert.Multiple(() =>
        {
            Assert.That(E(o, "r1")["engaged_seconds"], Is.EqualTo(5.0));
            Assert.That(E(o, "r3")["engaged_seconds"], Is.EqualTo(25.0));
            Assert.That(E(o, "r3")["is_page_view"], Is.True);
            Assert.That(E(o, "r5")["engaged_seconds"], Is.EqualTo(5.0));
            Assert.That(E(o, "r7")["engaged_seconds"], Is.EqualTo(0.0));
            Assert.That(E(o, "r7")["is_page_view"], Is.False, "the /a pings of session 2 are one page view");
            var second = SessionOf(o, "r3");
            Assert.That((second["page_views"], second["engaged_seconds"], second["events"]), Is.EqualTo((2, 30.0, 5)));
            Assert.That(second["landing_page_path"], Is.EqualTo("/a"));
            Assert.That(second["is_bounce"], Is.False);
            Assert.That((SessionOf(o, "r1")["page_views"], SessionOf(o, "r1")["engaged_seconds"]), Is.EqualTo((1, 5.0)));
        });
    }

    [Test]
    public void Pings_are_attributed_by_page_view_id_when_the_input_has_one([Values] bool withIds)
    {
        // Two tabs on the same URL. By page view id: P1's pings (slots :10, :20, :30) → v1 25 s; P2's ping (slot :10)
        // → v2 5 s; P3's page view is not in the session, so its ping is one (5 s): 3 page views, 35 s. Without ids
        // every ping goes to the latest page view of the URL, v2: slots :10, :20, :30 and 18:01:00 → 5 + 30 = 35 s,
        // v1 none: 2 page views, 35 s. The id is read from a column of another name, mapped with events.columns.
        _pageViewKey = "pv_id";
        const string url = "https://shop.example.com/x";
        var o = Clean(Write("ids.jsonl", [
            new("v1", "2024-03-01T18:00:00Z", "two", "page_view", Url: url, PageView: withIds ? "P1" : null),
            new("v2", "2024-03-01T18:00:05Z", "two", "page_view", Url: url, PageView: withIds ? "P2" : null),
            new("v3", "2024-03-01T18:00:10Z", "two", "page_ping", Url: url, PageView: withIds ? "P1" : null),
            new("v6", "2024-03-01T18:00:15Z", "two", "page_ping", Url: url, PageView: withIds ? "P2" : null),
            new("v4", "2024-03-01T18:00:20Z", "two", "page_ping", Url: url, PageView: withIds ? "P1" : null),
            new("v5", "2024-03-01T18:00:30Z", "two", "page_ping", Url: url, PageView: withIds ? "P1" : null),
            // By id, a ping of a page view that is not in the session is a page view of its own (P3, slot :00 → 5 s).
            new("v7", "2024-03-01T18:01:00Z", "two", "page_ping", Url: url, PageView: withIds ? "P3" : null),
        ]), Config(", \"events\": { \"columns\": { \"page_view_id\": \"pv_id\" } }"));
        Assert.Multiple(() =>
        {
            Assert.That(E(o, "v1")["engaged_seconds"], Is.EqualTo(withIds ? 25.0 : 0.0));
            Assert.That(E(o, "v2")["engaged_seconds"], Is.EqualTo(withIds ? 5.0 : 35.0));
            Assert.That(E(o, "v7")["engaged_seconds"], Is.EqualTo(withIds ? 5.0 : 0.0));
            Assert.That(E(o, "v7")["is_page_view"], Is.EqualTo(withIds));
            var s = o.Sessions.Single();
            Assert.That((s["page_views"], s["engaged_seconds"]), Is.EqualTo(withIds ? (3, 35.0) : (2, 35.0)));
        });
    }

    [Test]
    public void A_re_sent_transaction_is_one_purchase_of_its_session()
    {
        var o = Clean(Write("resent.jsonl", [
            // The tracker sends order O1 again a second later under a new event id: one order bought.
            new("o1", "2024-03-01T09:00:00Z", "buyer", "page_view"),
            new("o2", "2024-03-01T09:05:00Z", "buyer", "purchase", Order: "O1"),
            new("o3", "2024-03-01T09:05:01Z", "buyer", "purchase", Order: "O1"),
            // Orders O2, O3 (O3 twice) and two purchase events without an order id (each counts): 2 + 2 = 4.
            new("m1", "2024-03-02T09:00:00Z", "many", "purchase", Order: "O2"),
            new("m2", "2024-03-02T09:01:00Z", "many", "purchase", Order: "O3"),
            new("m3", "2024-03-02T09:01:01Z", "many", "purchase", Order: "O3"),
            new("m4", "2024-03-02T09:02:00Z", "many", "purchase"),
            new("m5", "2024-03-02T09:03:00Z", "many", "purchase"),
        ]));
        Assert.Multiple(() =>
        {
            Assert.That(SessionOf(o, "o2")["purchases"], Is.EqualTo(1));
            Assert.That(SessionOf(o, "o2")["is_converted"], Is.True);
            Assert.That(o.Events.Count(e => (string?)e["order_id"] == "O1"), Is.EqualTo(2), "both events are kept");
            Assert.That(SessionOf(o, "m1")["purchases"], Is.EqualTo(4));
        });
    }

    [Test]
    public void Impossible_utc_offsets_are_bad_timestamps_and_valid_ones_shift_the_time()
    {
        var o = Clean(Write("offsets.jsonl", [
            new("o1", "2024-03-01T10:00:00+99:99", "a", "page_view"),   // was read as 2024-02-26 05:21Z
            new("o2", "2024-03-01T10:00:00+24:00", "a", "page_view"),   // was a day earlier
            new("o3", "2024-03-01T10:00:00-24:00", "a", "page_view"),   // was a day later
            new("o4", "2024-03-01T10:00:00+08:60", "a", "page_view"),   // minutes ≥ 60
            new("o5", "2024-03-01T10:00:00+18:00", "b", "page_view"),   // the largest offset: 2024-02-29 16:00Z
            new("o6", "2024-03-01T10:00:00-05:30", "c", "page_view"),   // 15:30Z
            new("o7", "2024-03-01T10:00:00Z", "d", "page_view"),
        ]));
        Assert.Multiple(() =>
        {
            Assert.That(o.Quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)),
                Is.EquivalentTo(new[] { (1L, "bad_timestamp"), (2L, "bad_timestamp"), (3L, "bad_timestamp"), (4L, "bad_timestamp") }));
            Assert.That(AsUtc(E(o, "o5")["occurred_at"]), Is.EqualTo(new DateTime(2024, 2, 29, 16, 0, 0, DateTimeKind.Utc)));
            Assert.That(AsUtc(E(o, "o6")["occurred_at"]), Is.EqualTo(new DateTime(2024, 3, 1, 15, 30, 0, DateTimeKind.Utc)));
            Assert.That(AsUtc(E(o, "o7")["occurred_at"]), Is.EqualTo(new DateTime(2024, 3, 1, 10, 0, 0, DateTimeKind.Utc)));
        });
    }

    private static DateTime AsUtc(object? v) => v switch
    {
        DateTime d => d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : DateTime.SpecifyKind(d, DateTimeKind.Utc),
        DateTimeOffset t => t.UtcDateTime,
        _ => throw new AssertionException($"not a timestamp: {v}"),
    };

    [Test]
    public void A_run_whose_every_row_is_rejected_publishes_empty_tables_and_its_quarantine()
    {
        var input = Write("all-bad.jsonl", [new("b1", "not a time", "a1", "page_view"), new("b2", "2024-03-01T10:00:00Z", "a1", "teleport")]);
        var output = Path.Combine(_dir, "out-all-bad");
        var r = PipelineCli.Run("clean-clicks", "-i", input, "-o", output, "-c", Config());
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(ParquetTable.Read(Path.Combine(output, "quarantine", "events")).Select(q => (string)q["reason_code"]!),
            Is.EquivalentTo(new[] { "bad_timestamp", "unknown_event_type" }));
        var stage = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(output, "_runs")).Single())).RootElement.GetProperty("stages")[0];
        Assert.That(stage.GetProperty("rows_written").GetInt64(), Is.Zero);
        Assert.That(stage.GetProperty("counts").GetProperty("sessions").GetInt64(), Is.Zero);
        Assert.That(stage.GetProperty("balanced").GetBoolean(), Is.True);
        Assert.That(Directory.Exists(Path.Combine(output, "sessions")) ? Directory.GetFiles(Path.Combine(output, "sessions"), "*.parquet", SearchOption.AllDirectories) : [],
            Is.Empty);
    }

    [Test]
    public void Line_numbers_are_exact_whether_the_files_are_read_in_batches_or_together_and_after_rejected_lines(
        [Values(1, 2)] int threads)
    {
        // One thread: the files are read, numbered and typed in batches (several files per batch here: 6 files, at most
        // 4 batches). Two threads: a.jsonl holds more than half of the bytes, so all files are read in one ordered pass.
        var dir = Path.Combine(_dir, "in");
        Directory.CreateDirectory(dir);
        static string Line(string id, int minute, int pad = 0) =>
            $$"""{"event_id":"{{id}}","occurred_at":"2024-03-01T10:{{minute:00}}:00Z","anonymous_id":"a-{{id}}","event_type":"page_view","page_url":"https://shop.example.com/{{new string('x', pad)}}"}""";
        // a.jsonl: line 2 is not UTF-8 (the reader itself rejects it), line 4 is not JSON.
        var a = new List<byte>();
        foreach (var line in new[] { Line("a1", 1, 2000), null, Line("a3", 3, 2000), "not json", Line("a5", 5, 2000) })
        {
            a.AddRange(line is null ? [0x7b, 0x22, 0x78, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d] : Encoding.UTF8.GetBytes(line));
            a.Add((byte)'\n');
        }
        File.WriteAllBytes(Path.Combine(dir, "a.jsonl"), [.. a]);
        // b..f: three lines each, the one at line (position of the letter) - 1 is malformed: b:1, c:2, d:3, e:1, f:2.
        foreach (var (name, bad) in new[] { ("b", 1), ("c", 2), ("d", 3), ("e", 1), ("f", 2) })
        {
            File.WriteAllLines(Path.Combine(dir, name + ".jsonl"), Enumerable.Range(1, 3).Select(i => i == bad ? "{oops" : Line($"{name}{i}", i)));
        }

        var o = Clean(dir, Config($", \"engine\": {{ \"threads\": {threads} }}"));

        var quarantined = o.Quarantine.Select(q => (Path.GetFileName((string)q["source_file"]!), Convert.ToInt64(q["source_line"], CultureInfo.InvariantCulture), (string)q["reason_code"]!));
        Assert.That(quarantined, Is.EquivalentTo(new[]
        {
            ("a.jsonl", 2L, "invalid_encoding"), ("a.jsonl", 4L, "malformed_row"), ("b.jsonl", 1L, "malformed_row"),
            ("c.jsonl", 2L, "malformed_row"), ("d.jsonl", 3L, "malformed_row"), ("e.jsonl", 1L, "malformed_row"), ("f.jsonl", 2L, "malformed_row"),
        }));
        // Every good line once: a line numbered like a rejected one would be joined to two typed rows.
        Assert.That(o.Events.Select(e => (string)e["event_id"]!), Is.EquivalentTo(new[]
            { "a1", "a3", "a5", "b2", "b3", "c1", "c3", "d1", "d2", "e2", "e3", "f1", "f3" }));
        Assert.That(o.Stage.GetProperty("balanced").GetBoolean(), Is.True);
    }

    [Test]
    public void Channels_follow_the_grouping_rules()
    {
        var i = 0;
        Ev Landing(string anon, string url, string? referrer) => new($"c{++i}", "2024-03-01T10:00:00Z", anon, "page_view", Url: url, Ref: referrer);
        const string shop = "https://shop.example.com/";
        var o = Clean(Write("channels.jsonl", [
            Landing("paid_search", shop + "?utm_source=google&utm_medium=cpc", "https://www.google.com/"),
            Landing("paid_social", shop + "?utm_source=douyin&utm_medium=cpc", null),
            Landing("email", shop + "?utm_source=newsletter&utm_medium=email&utm_campaign=may", null),
            Landing("affiliate", shop + "?utm_source=partner&utm_medium=affiliate", null),
            Landing("organic_social", shop, "https://www.xiaohongshu.com/explore/1"),
            Landing("organic_search", shop, "https://www.baidu.com/s?wd=shoes"),
            Landing("organic_search_tld", shop, "https://www.google.co.uk/"),
            Landing("referral", shop, "https://blog.example.org/post"),
            Landing("direct", shop, null),
            Landing("internal", shop + "cart", "https://shop.example.com/"),   // own host → direct
            Landing("other", shop + "?utm_source=tv&utm_medium=offline", null),
        ]));
        string Channel(string anon) => (string)o.Sessions.Single(s => (string)s["landing_page_path"]! != "" &&
            o.Events.Any(e => e["session_id"]!.Equals(s["session_id"]) && (string)e["event_id"]! == $"c{Array.IndexOf(Anons, anon) + 1}"))["channel"]!;
        Assert.Multiple(() =>
        {
            foreach (var anon in Anons)
            {
                var expected = anon switch { "organic_search_tld" => "organic_search", "internal" => "direct", _ => anon };
                Assert.That(Channel(anon), Is.EqualTo(expected), anon);
            }
            Assert.That(o.Sessions.Count(s => (bool)s["is_natural"]!), Is.EqualTo(6), "organic search ×2, organic social, referral, direct ×2");
            Assert.That(E(o, "c3")["utm_campaign"], Is.EqualTo("may"));
            Assert.That(E(o, "c1")["page_path"], Is.EqualTo("/"), "utm parameters are not kept in page_path");
        });
    }

    private static readonly string[] Anons =
        ["paid_search", "paid_social", "email", "affiliate", "organic_social", "organic_search", "organic_search_tld", "referral", "direct", "internal", "other"];

    /// <summary>
    /// A line is a JSON object when it starts with <c>{</c> and is valid JSON: the lines json_valid rejects — broken syntax, trailing text, two objects on one line — and valid JSON that is not an
    /// object are malformed_row, by line; leading blanks are fine, and of a duplicated key the first value is read.
    /// </summary>
    [Test]
    public void Lines_that_are_not_one_valid_json_object_are_malformed_rows()
    {
        const string tail = "\"anonymous_id\":\"a\",\"event_type\":\"page_view\"";
        string[] lines =
        [
            "{\"event_id\":\"k1\",\"occurred_at\":\"2024-03-01T10:00:00Z\"," + tail + "}",
            "{bad",
            "{\"event_id\":\"x2\",\"occurred_at\":\"2024-03-01T10:00:00Z\"," + tail + "} junk",
            "{\"event_id\":\"x3\",\"occurred_at\":\"2024-03-01T10:00:00Z\"," + tail + "}{\"event_id\":\"x4\"}",
            "[1,2]",
            "\"text\"",
            "123",
            "null",
            "   {\"event_id\":\"k3\",\"occurred_at\":\"2024-03-01T10:01:00Z\"," + tail + "}",
            "{\"event_id\":\"k4\",\"event_id\":\"second\",\"occurred_at\":\"2024-03-01T10:02:00Z\"," + tail + "}",
        ];
        var path = Path.Combine(_dir, "mixed.jsonl");
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        var o = Clean(path);
        Assert.That(o.Quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)).OrderBy(x => x.Item1),
            Is.EqualTo(Enumerable.Range(2, 7).Select(l => ((long)l, "malformed_row"))));
        Assert.That(o.Events.Select(e => (string)e["event_id"]!).Order(StringComparer.Ordinal), Is.EqualTo(new[] { "k1", "k3", "k4" }));
    }

    [Test]
    public void Bots_are_excluded_by_user_agent_and_by_event_rate_and_counted_by_rule()
    {
        var events = new List<Ev>
        {
            new("h1", "2024-03-01T10:00:00Z", "human", "page_view"),
            new("u1", "2024-03-01T10:00:00Z", "crawler", "page_view", Ua: "Mozilla/5.0 (compatible; Baiduspider/2.0)"),
            new("u2", "2024-03-01T10:00:10Z", "crawler", "page_view", Ua: "Mozilla/5.0 (compatible; Baiduspider/2.0)"),
        };
        // 61 events inside one calendar minute (10:05:00–10:05:30) from one id with a normal browser UA → all are rate bots.
        for (var k = 0; k < 61; k++)
        {
            events.Add(new($"r{k}", new DateTime(2024, 3, 1, 10, 5, 0, DateTimeKind.Utc).AddMilliseconds(500 * k).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), "fast", "page_view"));
        }
        // 60 in one minute is still human (the rule is "more than 60").
        for (var k = 0; k < 60; k++)
        {
            events.Add(new($"q{k}", new DateTime(2024, 3, 1, 11, 5, 0, DateTimeKind.Utc).AddMilliseconds(500 * k).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture), "busy", "page_view"));
        }
        var o = Clean(Write("bots.jsonl", events));
        var bots = o.Stage.GetProperty("bots_by_rule");
        Assert.Multiple(() =>
        {
            Assert.That(bots.GetProperty("user_agent").GetInt64(), Is.EqualTo(2));
            Assert.That(bots.GetProperty("event_rate").GetInt64(), Is.EqualTo(61));
            Assert.That(o.Stage.GetProperty("bots").GetInt64(), Is.EqualTo(63));
            Assert.That(o.Events, Has.Count.EqualTo(61));
            Assert.That(o.Stage.GetProperty("balanced").GetBoolean(), Is.True);
        });
    }

    [Test]
    public void Out_of_order_input_and_duplicates_give_the_same_sessions_as_ordered_input()
    {
        Ev[] ordered =
        [
            new("o1", "2024-03-01T10:00:00Z", "x", "page_view"),
            new("o2", "2024-03-01T10:10:00Z", "x", "product_view"),
            new("o3", "2024-03-01T10:20:00+08:00", "x", "page_view"),   // = 02:20Z: earlier, a session of its own
            new("o4", "2024-03-01T10:15:00Z", "x", "add_to_cart", Order: null),
        ];
        var a = Clean(Write("ordered.jsonl", ordered));
        var shuffled = new[] { ordered[3], ordered[1], ordered[3], ordered[0], ordered[2], ordered[1] };  // o4 and o2 twice
        var b = Clean(Write("shuffled.jsonl", shuffled));
        static string Key(Dictionary<string, object?> e) => $"{e["event_id"]}|{e["session_id"]}|{e["session_event_seq"]}";
        Assert.Multiple(() =>
        {
            Assert.That(b.Events.Select(Key), Is.EquivalentTo(a.Events.Select(Key)));
            Assert.That(b.Stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(2));
            Assert.That(a.Sessions, Has.Count.EqualTo(2));
            Assert.That(E(a, "o4")["session_event_seq"], Is.EqualTo(3));
        });
    }

    [Test]
    public void No_personal_data_reaches_any_output_column()
    {
        var o = Clean(Write("pii.jsonl", [
            new("p1", "2024-03-01T10:00:00Z", "cookie-7f3a9c", "page_view", Ip: "203.0.113.77", Ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148",
                Url: "https://shop.example.com/search?q=jane.doe@mail.example"),
            new("p2", "2024-03-01T10:01:00Z", "cookie-7f3a9c", "search", Ip: "203.0.113.77", User: "C9"),
            new("p3", "not a time", "cookie-7f3a9c", "page_view", Ip: "203.0.113.77", Ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"), // quarantined: raw kept, identifiers redacted
        ]), Config(", \"events\": { \"ip\": \"network_key\" }"));
        string[] secrets = ["cookie-7f3a9c", "203.0.113.77", "iPhone OS 17_0", "jane.doe@mail.example"];
        var everything = o.Events.Concat(o.Sessions).Concat(o.Quarantine).SelectMany(r => r.Values).OfType<string>().ToList();
        Assert.Multiple(() =>
        {
            foreach (var s in secrets)
            {
                Assert.That(everything.Where(v => v.Contains(s, StringComparison.OrdinalIgnoreCase)), Is.Empty, s);
            }
            Assert.That(E(o, "p1")["anonymous_key"], Has.Length.EqualTo(64));
            Assert.That(E(o, "p1")["network_key"], Is.EqualTo(E(o, "p2")["network_key"]).And.Not.Null);
            Assert.That(E(o, "p1")["device_type"], Is.EqualTo("mobile"));
            Assert.That(o.Quarantine.Single()["raw"], Does.Contain("\"anonymous_id\":\"<redacted>\"").And.Contains("\"user_agent\":\"<redacted>\"").And.Contains("\"ip\":\"<redacted>\""));
        });
    }
}
