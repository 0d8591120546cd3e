using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Publishing;
using Pipeline.Runs;
using Pipeline.Stages;
using Pipeline.Stages.Kpis;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Kpis;

/// <summary>
/// The nightly kpis update (recompute from the first day whose inputs changed, keep the rows before it), checked night
/// after night against a full recomputation from the same clean tables (<c>pipeline kpis --input</c>): the KPI files
/// byte for byte. The nights change what the day bound must catch: new events only, late and amended orders, ad
/// spend of an old day, a purchase event that arrives weeks after its order and moves its attribution, a whole order
/// day deleted, and a touch at the far end of the attribution lookback; and what must recompute every day: other KPI
/// settings, --full-refresh, a new build of the pipeline, an event day that lost every purchase link.
/// </summary>
public partial class KpiIncrementTests
{
    private const string RelinkedOrderDay = "2024-03-06";
    private string _dir = "";
    private string _data = "";
    private readonly List<string> _held = [];
    private string _relinked = "";
    private List<string> _messages = [];

    [OneTimeSetUp]
    public void Generate()
    {
        _dir = TestPaths.NewTempDir("kpi-increment");
        _data = Path.Combine(_dir, "data");
        var gen = PipelineCli.Run("generate", "--output", _data, "--customers", "200", "--days", "30", "--seed", "5", "--start-date", "2024-03-01");
        Assert.That(gen.ExitCode, Is.Zero, gen.ToString());
        var events = Path.Combine(_data, "events");
        Directory.CreateDirectory(Path.Combine(_dir, "held"));
        foreach (var f in Directory.GetFiles(events).Order(StringComparer.Ordinal).TakeLast(4))
        {
            var held = Path.Combine(_dir, "held", Path.GetFileName(f));
            File.Move(f, held);
            _held.Add(held);
        }
        // One order of an early day loses its purchase event: until a later night brings one, only its customer's
        // sessions can explain it.
        var orders = File.ReadAllLines(OrdersFile);
        _relinked = orders.Skip(1).Select(l => l.Split(',')).First(c => c[2].StartsWith(RelinkedOrderDay, StringComparison.Ordinal) && c[3] == "completed")[0];
        foreach (var f in Directory.GetFiles(events))
        {
            var lines = File.ReadAllLines(f);
            File.WriteAllLines(f, lines.Where(l => !l.Contains($"\"order_id\":\"{_relinked}\"", StringComparison.Ordinal)));
        }
        // A new customer whose one order (March 25th, 10:00) has one touch: an e-mail session 6 days and 23.5 hours
        // before it, on March 18th. With a 7-day lookback only the candidate sessions' day bound can lose it.
        File.AppendAllText(OrdersFile,
            "O09900001,C0999999,2024-03-25T10:00:00Z,completed,USD,50.00,0.00,0.00,0.00,,c0999999@example.com,email\n");
        File.AppendAllText(Path.Combine(events, "events-2024-03-18.jsonl"),
            EmailEvent("E-LOOKBACK-1", "2024-03-18T10:30:00.000Z", "a-lookback-edge", "C0999999", "page_view", "/", null, "192.0.2.201", "s-lookback-edge"));
    }

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_dir, recursive: true);

    private string Config(int lookbackDays = 30) => WriteConfig("pipeline.json", $$"""
        { "output": "out", "now": "2024-04-01T00:00:00Z",
          "orders": { "input": "data/orders/" },
          "events": { "input": "data/events/", "site_hosts": ["shop.example.com"] },
          "kpis": { "ad_spend": { "input": "data/ad_spend/ad_spend.csv" }, "attribution_lookback_days": {{lookbackDays}} } }
        """);

    private string WriteConfig(string name, string json)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Runs the night, then recomputes the KPIs in full from its clean tables; returns the day the night recomputed from (null: all).</summary>
    private DateOnly? Night(string config, params string[] extra)
    {
        var r = PipelineCli.Run(["run", "-c", config, .. extra]);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        // The stage's own lines ("[kpis] ..."); the run's summary line of the stage is "[kpis] succeeded ...".
        var messages = r.Stderr.Split('\n').Where(l => l.StartsWith("[kpis] ", StringComparison.Ordinal)).Select(l => l["[kpis] ".Length..].TrimEnd()).ToList();
        _messages = messages;
        var full = Path.Combine(_dir, "full");
        if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }
        var reference = PipelineCli.Run("kpis", "-c", config, "-o", full, "-i", Path.Combine(_dir, "out"));
        Assert.That(reference.ExitCode, Is.Zero, reference.ToString());
        foreach (var table in new[] { "kpi/daily", "kpi/channels", "kpi/cohorts" })
        {
            Assert.That(File.ReadAllBytes(OnlyFile(Path.Combine(_dir, "out"), table)), Is.EqualTo(File.ReadAllBytes(OnlyFile(full, table))),
                $"{table}: the nightly update is the full recomputation, byte for byte ({string.Join(" | ", messages)})");
        }
        Assert.That(Links(Path.Combine(_dir, "out")), Is.EqualTo(Links(full)), "kpi/purchase_links: the kept days and the re-read ones are every link");
        if (messages.Any(m => m.StartsWith("every day recomputed", StringComparison.Ordinal)))
        {
            return null;
        }
        var from = messages.Select(m => FromDay().Match(m)).Single(m => m.Success);
        return DateOnly.ParseExact(from.Groups[1].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^days from (\d{4}-\d{2}-\d{2}) recomputed")]
    private static partial Regex FromDay();

    private static string OnlyFile(string output, string table) => Directory.GetFiles(Path.Combine(output, table), "*.parquet").Single();

    private static List<string> Links(string output) => ParquetTable.Read(Path.Combine(output, "kpi", "purchase_links"))
        .Select(r => string.Join('|', r["event_date"], r["event_id"], r["order_id"], r["session_id"], r["occurred_at"])).Order(StringComparer.Ordinal).ToList();

    /// <summary>Adds <paramref name="by"/> to the amount of the first order placed on <paramref name="day"/>.</summary>
    private void AmendOrderOn(string day, decimal by = 1m)
    {
        var lines = File.ReadAllLines(OrdersFile).ToList();
        var amended = lines.FindIndex(l => l.Split(',')[2].StartsWith(day, StringComparison.Ordinal));
        var cells = lines[amended].Split(',');
        cells[5] = (decimal.Parse(cells[5], CultureInfo.InvariantCulture) + by).ToString("0.00", CultureInfo.InvariantCulture);
        lines[amended] = string.Join(',', cells);
        File.WriteAllLines(OrdersFile, lines);
    }

    /// <summary>One raw event line, as the generator writes them, of a desktop visitor who came from the newsletter.</summary>
    private static string EmailEvent(string eventId, string occurredAt, string anonymousId, string? userId, string eventType, string path,
        string? orderId, string ip, string sessionId) => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["event_id"] = eventId, ["occurred_at"] = occurredAt, ["anonymous_id"] = anonymousId, ["user_id"] = userId,
            ["event_type"] = eventType, ["page_url"] = $"https://shop.example.com{path}?utm_source=newsletter&utm_medium=email",
            ["referrer_url"] = null, ["product_id"] = null, ["order_id"] = orderId, ["search_term"] = null,
            ["user_agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            ["ip"] = ip, ["device_type"] = "desktop", ["session_id"] = sessionId,
        }) + "\n";

    /// <summary>The generated shop's one orders file.</summary>
    private string OrdersFile => Directory.GetFiles(Path.Combine(_data, "orders")).Single();

    private void AddHeldDay(int i) => File.Move(_held[i], Path.Combine(_data, "events", Path.GetFileName(_held[i])));

    private long EmailOrdersOn(string day) => ParquetTable.Read(Path.Combine(_dir, "out", "kpi", "channels"))
        .Where(r => $"{r["kpi_date"]:yyyy-MM-dd}" == day && (string)r["channel"]! == "email").Sum(r => (long)r["orders"]!);

    [Test]
    public void Each_night_recomputes_from_the_first_changed_day_and_equals_a_full_recomputation()
    {
        var config = Config();
        Assert.That(Night(config), Is.Null, "the first run computes every day");

        // 1. A new day of events: only the clean-clicks window's days change.
        AddHeldDay(0);
        var from = Night(config);
        Assert.That(from, Is.GreaterThan(new DateOnly(2024, 3, 20)), "new events only: the days before the clean-clicks window are kept");

        // 2. Orders amended: a late order placed on March 3rd, an amount corrected on an order of March 5th.
        AddHeldDay(1);
        AmendOrderOn("2024-03-05", by: 10m);
        var late = File.ReadLines(OrdersFile).Skip(1).First().Split(',');
        late[0] = "O09999999";
        late[2] = "2024-03-03T09:30:00Z";
        File.AppendAllText(OrdersFile, string.Join(',', late) + "\n");
        Assert.That(Night(config), Is.EqualTo(new DateOnly(2024, 3, 3)), "the late order's day");

        // 3. Ad spend of March 8th corrected.
        AddHeldDay(2);
        var spendFile = Path.Combine(_data, "ad_spend", "ad_spend.csv");
        var spend = File.ReadAllLines(spendFile).ToList();
        var row = spend.FindIndex(l => l.StartsWith("2024-03-08,", StringComparison.Ordinal));
        var spendCells = spend[row].Split(',');
        spendCells[3] = (decimal.Parse(spendCells[3], CultureInfo.InvariantCulture) + 1m).ToString("0.00", CultureInfo.InvariantCulture);
        spend[row] = string.Join(',', spendCells);
        File.WriteAllLines(spendFile, spend);
        Assert.That(Night(config), Is.EqualTo(new DateOnly(2024, 3, 8)), "the corrected spend's day");

        // 4. The purchase event of an order of March 6th arrives with the last day, in an e-mail session: the order's
        //    last non-direct touch becomes that session, on a day far before every changed partition.
        var emailBefore = EmailOrdersOn(RelinkedOrderDay);
        var lastDay = Path.GetFileName(_held[3])["events-".Length..^".jsonl".Length];
        File.AppendAllText(_held[3],
            EmailEvent("E-RELINK-1", $"{lastDay}T12:00:00.000Z", "a-relinked-order", null, "purchase", "/checkout/confirmation", _relinked, "192.0.2.200", "s-relinked"));
        AddHeldDay(3);
        Assert.That(Night(config), Is.EqualTo(DateOnly.ParseExact(RelinkedOrderDay, "yyyy-MM-dd", CultureInfo.InvariantCulture)), "the relinked order's day");
        Assert.That(EmailOrdersOn(RelinkedOrderDay), Is.EqualTo(emailBefore + 1), "the order moved to the e-mail channel on its own day");

        // 5. Another attribution lookback: the KPIs are not the same function of their inputs any more.
        Assert.That(Night(Config(lookbackDays: 14)), Is.Null, "changed KPI settings recompute every day");
        // 6. --full-refresh recomputes every day.
        Assert.That(Night(Config(lookbackDays: 14), "--full-refresh"), Is.Null, "--full-refresh recomputes every day");

        // 7. The same settings and columns, another build of the pipeline (a KPI formula fixed, say): the kept days would
        //    hold the old code's values. First an amended order alone, which is recomputed from its day; then another
        //    with the publishing run's manifest made to come from another build.
        AmendOrderOn("2024-03-12");
        Assert.That(Night(Config(lookbackDays: 14)), Is.EqualTo(new DateOnly(2024, 3, 12)), "the same build: from the amended order's day");
        var store = new OutputStore(Path.Combine(_dir, "out"));
        var manifest = store.ManifestPath(store.PublishedBy(TableNames.KpiDaily)!);
        var json = File.ReadAllText(manifest);
        Assert.That(json, Does.Contain($"\"build\": \"{RunManifest.CurrentBuild}\""), "the manifest names the build that wrote it");
        File.WriteAllText(manifest, json.Replace(RunManifest.CurrentBuild, new string('0', RunManifest.CurrentBuild.Length), StringComparison.Ordinal));
        AmendOrderOn("2024-03-14");
        Assert.That(Night(Config(lookbackDays: 14)), Is.Null, "another build recomputes every day");
        Assert.That(_messages, Has.Some.Contains("the pipeline's code changed"), string.Join(" | ", _messages));

        // 8. Every order of March 16th deleted: a day that is no longer there at all is a changed day too.
        var all = File.ReadAllLines(OrdersFile);
        var kept = all.Where(l => !l.Split(',')[2].StartsWith("2024-03-16", StringComparison.Ordinal)).ToList();
        Assert.That(kept, Has.Count.LessThan(all.Length), "the fixture has orders on March 16th");
        File.WriteAllLines(OrdersFile, kept);
        Assert.That(Night(Config(lookbackDays: 14)), Is.EqualTo(new DateOnly(2024, 3, 16)), "the deleted day");

        // 9. A 7-day lookback and a night recomputed from March 25th: the session day bound (from, less the lookback and
        //    two days' margin) must still reach the e-mail session of March 18th that is the new customer's one touch.
        Assert.That(Night(Config(lookbackDays: 7)), Is.Null, "another lookback recomputes every day");
        var email = EmailOrdersOn("2024-03-25");
        Assert.That(email, Is.GreaterThanOrEqualTo(1), "the new customer's order is an e-mail order");
        AmendOrderOn("2024-03-25");
        Assert.That(Night(Config(lookbackDays: 7)), Is.EqualTo(new DateOnly(2024, 3, 25)), "from the amended order's day");
        Assert.That(EmailOrdersOn("2024-03-25"), Is.EqualTo(email), "still attributed to its e-mail session");

        // 10. The newest events file sent again without its purchase events: its day's links are all gone. A partial
        //     publication replaces only the partitions it stages and would keep that day's old links, so the night
        //     recomputes every day and restages every link.
        var newest = Path.Combine(_data, "events", Path.GetFileName(_held[3]));
        var newestLinks = Path.Combine(_dir, "out", "kpi", "purchase_links", $"event_date={Path.GetFileName(newest)["events-".Length..^".jsonl".Length]}");
        Assert.That(Directory.Exists(newestLinks), Is.True, "the newest day has purchase links before");
        File.WriteAllLines(newest, File.ReadAllLines(newest).Where(l => !l.Contains("\"event_type\":\"purchase\"", StringComparison.Ordinal)));
        Assert.That(Night(Config(lookbackDays: 7)), Is.Null, "a changed event day without links recomputes every day");
        Assert.That(_messages, Has.Some.Contains("no purchase link any more"), string.Join(" | ", _messages));
        Assert.That(Directory.Exists(newestLinks), Is.False, "the day's partition is gone");
    }

    [Test]
    public void A_changed_session_day_alone_widens_the_day_to_the_orders_its_links_and_later_ones_point_to()
    {
        // Links (event day → order): an order of March 2nd bought on the 9th, one of the 5th on the 10th, one of the 8th
        // on the 8th. Orders placed on their own day.
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        engine.Execute("""
            CREATE TABLE links AS SELECT * FROM (VALUES
              (DATE '2024-03-09', 'O1'), (DATE '2024-03-10', 'O2'), (DATE '2024-03-08', 'O3')) v(event_date, order_id);
            CREATE TABLE orders AS SELECT * FROM (VALUES
              ('O1', DATE '2024-03-02'), ('O2', DATE '2024-03-05'), ('O3', DATE '2024-03-08')) v(order_id, order_date);
            """);
        DateOnly? Earliest(IReadOnlyList<DateOnly> eventDays, DateOnly? sessionDay) =>
            engine.Query(KpiSql.EarliestLinkedOrder(DuckDbDialect.Instance, "links", "orders", eventDays, sessionDay))[0][0] as DateOnly?;
        var march = (int day) => new DateOnly(2024, 3, day);

        // No changed event day: a session day of the 10th reaches the link of the 10th only (order of the 5th); of the
        // 9th, also the order of the 2nd; of the 11th, nothing.
        Assert.That(Earliest([], march(10)), Is.EqualTo(march(5)));
        Assert.That(Earliest([], march(9)), Is.EqualTo(march(2)));
        Assert.That(Earliest([], march(11)), Is.Null);
        Assert.That(Earliest([], null), Is.Null, "nothing changed, nothing to widen");
        // With the event day of the 8th changed too: either reaches.
        Assert.That(Earliest([march(8)], march(10)), Is.EqualTo(march(5)));
        Assert.That(Earliest([march(8)], null), Is.EqualTo(march(8)));

        // The plan moves back, never forward.
        var plan = new KpiIncrement.Plan(march(10), [], march(10), "test");
        Assert.That(KpiIncrement.Widen(plan, march(5)).From, Is.EqualTo(march(5)));
        Assert.That(KpiIncrement.Widen(plan, march(12)).From, Is.EqualTo(march(10)));
        Assert.That(KpiIncrement.Widen(plan, null).From, Is.EqualTo(march(10)));
        Assert.That(KpiIncrement.Widen(plan with { From = null }, march(5)).From, Is.Null, "a full plan stays full");
    }

    [Test]
    public void A_lookback_longer_than_the_calendar_bounds_the_candidate_sessions_at_its_first_day()
    {
        // The config only asks for a positive lookback; from 2024-03-10 a billion days back is before year 1.
        var sql = KpiSql.Channels(DuckDbDialect.Instance,
            new KpiSqlOptions("orders", "sessions", "links", null, 90, 30, 1_000_000_000, new DateOnly(2024, 3, 10)));
        Assert.That(sql, Does.Contain("s.session_date >= DATE '0001-01-01'"));
        var week = KpiSql.Channels(DuckDbDialect.Instance,
            new KpiSqlOptions("orders", "sessions", "links", null, 90, 30, 7, new DateOnly(2024, 3, 10)));
        Assert.That(week, Does.Contain("s.session_date >= DATE '2024-03-01'"), "7 days back and two days' margin");
    }
}
