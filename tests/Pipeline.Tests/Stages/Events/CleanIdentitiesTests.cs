using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NUnit.Framework;
using Pipeline.Tests.Support;
using static Pipeline.Tests.Support.TrackerLines;

namespace Pipeline.Tests.Stages.Events;

/// <summary>
/// <c>clean/identities</c>, which clean-clicks keeps beside the events so that a nightly run reads it instead of the
/// whole event history: after every run it must be what its definition says over the published <c>clean/events</c>
/// (recomputed here in C# from the events read back with Parquet.Net), and an incremental night must give what a full
/// run of the same files gives. The facts are worked out by hand on a hand-made week (six days published, the 7th
/// added), with <c>events.lookback_days</c> 2 and <c>events.max_session_hours</c> 4, so that the incremental night
/// rewrites the 5th to the 7th and re-reads the files of the 5th and 6th only: whatever it knows of the 1st to the 4th
/// comes from the identities table.
/// </summary>
public class CleanIdentitiesTests
{
    private string _dir = "";
    private static DateTime At(int day, int hour, int minute, int second = 0) => new(2024, 3, day, hour, minute, second, DateTimeKind.Utc);

    [OneTimeSetUp]
    public void Create() => _dir = TestPaths.NewTempDir("identities");

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The stitching week. L: anonymous on the 2nd, 5th and 6th, logs in on the 7th (the new day). K: logs in on the
    /// 1st, anonymous on the 6th and the 7th. S: logs in as s-1 on the 2nd and as s-2 on the 6th, anonymous on the 7th.
    /// N: anonymous on the 3rd only. Every day also has a filler visitor so that each file has events.
    /// </summary>
    private static Dictionary<int, List<string>> StitchingWeek()
    {
        var days = Enumerable.Range(1, 7).ToDictionary(d => d, _ => new List<string>());
        void Event(string id, DateTime at, string anon, string type, string? user = null) => days[at.Day].Add(Line(id, at, anon, type, user));
        Event("l1", At(2, 10, 0), "anon-l", "page_view");
        Event("l2", At(5, 10, 0), "anon-l", "page_view");
        Event("l3", At(6, 10, 0), "anon-l", "product_view");
        Event("l4", At(7, 10, 0), "anon-l", "login", "cust-l");
        Event("k1", At(1, 9, 0), "anon-k", "login", "cust-k");
        Event("k2", At(6, 9, 0), "anon-k", "page_view");
        Event("k3", At(7, 9, 0), "anon-k", "page_view");
        Event("s1", At(2, 8, 0), "anon-s", "login", "cust-s-1");
        Event("s2", At(6, 8, 0), "anon-s", "login", "cust-s-2");
        Event("s3", At(7, 8, 0), "anon-s", "page_view");
        Event("n1", At(3, 11, 0), "anon-n", "page_view");
        for (var d = 1; d <= 7; d++)
        {
            Event($"x{d}", At(d, 12, 0), $"anon-x{d}", "page_view");
        }
        return days;
    }

    /// <summary>
    /// The re-read week. R: logs in on the 1st, anonymous on the 5th; on the 7th a burst of 70 events in one minute
    /// makes it a rate bot, so the incremental night drops its events of the files it reads (the 5th and the 7th) and
    /// keeps the published 1st: its identity must then come from its events before the window, read again.
    /// </summary>
    private static Dictionary<int, List<string>> RereadWeek()
    {
        var days = Enumerable.Range(1, 7).ToDictionary(d => d, _ => new List<string>());
        void Event(string id, DateTime at, string anon, string type, string? user = null) => days[at.Day].Add(Line(id, at, anon, type, user));
        Event("r1", At(1, 10, 0), "anon-r", "login", "cust-r");
        Event("r2", At(5, 10, 0), "anon-r", "page_view");
        for (var i = 0; i < 70; i++)
        {
            Event($"r-burst-{i}", At(7, 14, 0, i % 60).AddMilliseconds(i), "anon-r", "page_view");
        }
        for (var d = 1; d <= 7; d++)
        {
            Event($"x{d}", At(d, 12, 0), $"anon-x{d}", "page_view");
        }
        return days;
    }

    /// <summary>Writes days 1–6 into <c>name/events</c> and holds the 7th back; returns the folder.</summary>
    private string Setup(string name, Dictionary<int, List<string>> days)
    {
        var events = Path.Combine(_dir, name, "events");
        var held = Path.Combine(_dir, name, "held");
        Directory.CreateDirectory(events);
        Directory.CreateDirectory(held);
        foreach (var (day, lines) in days)
        {
            File.WriteAllText(Path.Combine(day == 7 ? held : events, $"events-2024-03-0{day}.jsonl"), string.Join('\n', lines) + "\n", new UTF8Encoding(false));
        }
        return Path.Combine(_dir, name);
    }

    private static void AddNewDay(string root) =>
        File.Move(Path.Combine(root, "held", "events-2024-03-07.jsonl"), Path.Combine(root, "events", "events-2024-03-07.jsonl"));

    private static string Config(string root, string output)
    {
        var path = Path.Combine(root, output + ".json");
        File.WriteAllText(path, $$"""
            { "output": "{{output}}", "now": "2024-03-10T00:00:00Z", "quality": { "max_quarantine_share": 1 },
              "events": { "input": "events/", "site_hosts": ["shop.example.com"], "lookback_days": 2, "max_session_hours": 4 } }
            """);
        return path;
    }

    private static CliResult Nightly(string root, string output)
    {
        var r = PipelineCli.Run("run", "-c", Config(root, output), "--only", "clean-clicks");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        return r;
    }

    private static string FullRun(string root, string output)
    {
        var r = PipelineCli.Run("clean-clicks", "-c", Config(root, output));
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        return Path.Combine(root, output);
    }

    private static string Hand(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);

    /// <summary>The identities row of the visitor whose event <paramref name="eventId"/> is, as "customer|first|last".</summary>
    private static string RowOf(string output, string eventId)
    {
        var key = ParquetTable.Read(Path.Combine(output, "clean", "events")).Single(e => (string)e["event_id"]! == eventId)["anonymous_key"];
        return PublishedIdentities.Read(output).Single(r => r.StartsWith(key + "|", StringComparison.Ordinal)).Split('|', 2)[1];
    }

    private static Dictionary<string, string> Customers(string output) =>
        ParquetTable.Read(Path.Combine(output, "clean", "events")).ToDictionary(e => (string)e["event_id"]!, e => (string?)e["customer_id"] ?? "NULL");

    private static JsonElement LastManifest(string output) =>
        Directory.GetFiles(Path.Combine(output, "_runs"), "*-clean-clicks.json")
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())
            .MaxBy(m => m.GetProperty("started_at").GetDateTimeOffset());

    [Test]
    public void A_late_login_on_the_new_day_stitches_the_window_and_the_identities_equal_a_full_run()
    {
        var root = Setup("stitching", StitchingWeek());
        var first = Nightly(root, "inc");
        Assert.That(first.Stderr, Does.Contain("full run"));
        var inc = Path.Combine(root, "inc");
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.OfEvents(inc)), "a full run's table is its definition over its events");
        Assert.That(RowOf(inc, "l1"), Is.EqualTo($"NULL|{Hand(At(2, 10, 0))}|{Hand(At(6, 10, 0))}"), "L has not logged in yet");

        AddNewDay(root);
        var night = Nightly(root, "inc");
        Assert.That(night.Stderr, Does.Contain("incremental: 1 new file(s)"));
        var read = LastManifest(inc).GetProperty("inputs").EnumerateArray().Select(i => Path.GetFileName(i.GetProperty("path").GetString()!)).Order(StringComparer.Ordinal).ToList();
        Assert.That(read, Is.EqualTo(new[] { "events-2024-03-05.jsonl", "events-2024-03-06.jsonl", "events-2024-03-07.jsonl" }), "K's login on the 1st is not re-read");
        var full = FullRun(root, "full");

        // Worked out by hand.
        Assert.That(RowOf(inc, "l4"), Is.EqualTo($"cust-l|{Hand(At(2, 10, 0))}|{Hand(At(7, 10, 0))}"), "L: first seen on the 2nd (the table), logged in on the 7th");
        Assert.That(RowOf(inc, "k3"), Is.EqualTo($"cust-k|{Hand(At(1, 9, 0))}|{Hand(At(7, 9, 0))}"), "K: its login on the 1st, known from the table");
        Assert.That(RowOf(inc, "s3"), Is.EqualTo($"cust-s-2|{Hand(At(2, 8, 0))}|{Hand(At(7, 8, 0))}"), "S: the later login");
        Assert.That(RowOf(inc, "n1"), Is.EqualTo($"NULL|{Hand(At(3, 11, 0))}|{Hand(At(3, 11, 0))}"), "N: untouched");
        var customers = Customers(inc);
        Assert.That(new[] { customers["l2"], customers["l3"], customers["l4"] }, Is.All.EqualTo("cust-l"), "the late login stitches L's earlier days in the window");
        Assert.That(customers["l1"], Is.EqualTo("NULL"), "the 2nd is before the window: not rewritten (a full run stitches it)");
        Assert.That(new[] { customers["k2"], customers["k3"] }, Is.All.EqualTo("cust-k"), "K's new event stitched through the table");
        Assert.That(customers["s3"], Is.EqualTo("cust-s-2"));

        // Against its definition and against a full run of the same files.
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.OfEvents(inc)));
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.Read(full)), "the identities, row for row and field for field");
        var fullCustomers = Customers(full);
        Assert.That(fullCustomers["l1"], Is.EqualTo("cust-l"));
        Assert.That(customers.Where(c => c.Key != "l1"), Is.EquivalentTo(fullCustomers.Where(c => c.Key != "l1")), "every other event's customer as in the full run");
        Assert.That(LastManifest(inc).GetProperty("stages")[0].GetProperty("counts").GetProperty("identities_reread").GetInt64(), Is.Zero);
    }

    [Test]
    public void A_visitor_whose_window_events_vanish_gets_its_identity_from_its_events_before_the_window()
    {
        var root = Setup("reread", RereadWeek());
        Nightly(root, "inc");
        var inc = Path.Combine(root, "inc");
        Assert.That(RowOf(inc, "r1"), Is.EqualTo($"cust-r|{Hand(At(1, 10, 0))}|{Hand(At(5, 10, 0))}"));

        AddNewDay(root);
        Assert.That(Nightly(root, "inc").Stderr, Does.Contain("incremental: 1 new file(s)"));
        var ids = Customers(inc).Keys.ToList();
        Assert.That(ids, Does.Contain("r1").And.Not.Contains("r2"), "R's events of the re-read files are a bot's now; the 1st stays published");
        Assert.That(RowOf(inc, "r1"), Is.EqualTo($"cust-r|{Hand(At(1, 10, 0))}|{Hand(At(1, 10, 0))}"), "only the 1st is left of R");
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.OfEvents(inc)));
        Assert.That(LastManifest(inc).GetProperty("stages")[0].GetProperty("counts").GetProperty("identities_reread").GetInt64(), Is.EqualTo(1), "R alone");
    }

    [Test]
    public void An_output_published_before_the_table_existed_is_rebuilt_in_full()
    {
        var root = Setup("upgrade", StitchingWeek());
        Nightly(root, "inc");
        var inc = Path.Combine(root, "inc");
        // What an older version left: no clean/identities, and a manifest whose settings hash did not cover it.
        Directory.Delete(Path.Combine(inc, "clean", "identities"), recursive: true);
        var manifestPath = Directory.GetFiles(Path.Combine(inc, "_runs"), "*-clean-clicks.json").Single();
        var manifest = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        Assert.That((string?)manifest["settings_hash"], Is.Not.Null.And.Not.Empty);
        manifest["settings_hash"] = new string('0', 64);
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        AddNewDay(root);
        var r = Nightly(root, "inc");
        Assert.That(r.Stderr, Does.Contain("full run (no incremental history with these settings)"));
        var full = FullRun(root, "full");
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.OfEvents(inc)));
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.Read(full)));
        Assert.That(Customers(inc)["l1"], Is.EqualTo("cust-l"), "rebuilt in full: the 2nd is stitched too");

        // The next night is incremental again, from the table.
        File.WriteAllText(Path.Combine(root, "events", "events-2024-03-07-late.jsonl"), Line("k4", At(7, 20, 0), "anon-k", "page_view") + "\n");
        Assert.That(Nightly(root, "inc").Stderr, Does.Contain("incremental: 1 new file(s)"));
        Assert.That(RowOf(inc, "k4"), Is.EqualTo($"cust-k|{Hand(At(1, 9, 0))}|{Hand(At(7, 20, 0))}"));
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.OfEvents(inc)));
    }

    [Test]
    public void An_incremental_output_without_the_table_builds_it_once_from_the_published_events()
    {
        var root = Setup("missing", StitchingWeek());
        Nightly(root, "inc");
        var inc = Path.Combine(root, "inc");
        Directory.Delete(Path.Combine(inc, "clean", "identities"), recursive: true);
        AddNewDay(root);
        var r = Nightly(root, "inc");
        Assert.That(r.Stderr, Does.Contain("incremental: 1 new file(s)"));
        Assert.That(r.Stderr, Does.Contain("no clean/identities yet"));
        var full = FullRun(root, "full");
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.OfEvents(inc)));
        Assert.That(PublishedIdentities.Read(inc), Is.EqualTo(PublishedIdentities.Read(full)));
    }
}
