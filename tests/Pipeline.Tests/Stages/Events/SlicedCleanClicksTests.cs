using System.Globalization;
using System.Text;
using NUnit.Framework;
using Pipeline.Engine;
using Pipeline.Stages.Events;
using Pipeline.Tests.Support;
using static Pipeline.Tests.Support.TrackerLines;

namespace Pipeline.Tests.Stages.Events;

/// <summary>
/// clean-clicks in time slices (<c>engine.slice_days</c>) against one pass over the same files: the three tables must be
/// the same, field for field, and the facts that reach across slice borders must come out as worked out by hand below
/// (a session across midnight, one carried over two borders, a late login stitching earlier days, a duplicate in a
/// later slice, a too-long session across borders, a rate bot in one slice with events in others, page pings across
/// midnight and a ping-first session after them).
/// </summary>
public class SlicedCleanClicksTests
{
    private string _dir = "";
    private static DateTime At(int day, int hour, int minute, int second = 0) => new(2024, 3, day, hour, minute, second, DateTimeKind.Utc);

    [OneTimeSetUp]
    public void Write()
    {
        _dir = TestPaths.NewTempDir("sliced");
        var days = Enumerable.Range(1, 4).ToDictionary(d => d, _ => new List<string>());
        void Add(string line, DateTime at) => days[at.Day].Add(line);
        void Event(string id, DateTime at, string anon, string type, string? user = null, string ua = Ua) => Add(Line(id, at, anon, type, user, ua: ua), at);

        // A: one session across midnight (1st 23:50 → 2nd 00:10).
        Event("a1", At(1, 23, 50), "anon-a", "page_view");
        Event("a2", At(2, 0, 10), "anon-a", "product_view");
        // B: anonymous on the 1st, logs in on the 3rd: every B event belongs to cust-9.
        Event("b1", At(1, 9, 0), "anon-b", "page_view");
        Event("b2", At(1, 9, 5), "anon-b", "page_view");
        Event("b3", At(3, 12, 0), "anon-b", "login", "cust-9");
        // C: events every 25 minutes from the 1st 00:00 to the 4th 02:05 (74 h): one session > 72 h, quarantined whole.
        var c = 0;
        for (var t = At(1, 0, 0); t <= At(4, 2, 5); t = t.AddMinutes(25))
        {
            Event($"c{c++}", t, "anon-c", "page_view");
        }
        // D: a rate bot on the 2nd (70 events in one minute), also seen on the 1st and the 4th.
        Event("d-early", At(1, 8, 0), "anon-d", "page_view");
        for (var i = 0; i < 70; i++)
        {
            Event($"d{i}", At(2, 14, 0, i % 60).AddMilliseconds(i), "anon-d", "page_view");
        }
        Event("d-late", At(4, 8, 0), "anon-d", "page_view");
        // E: every 20 minutes from the 1st 22:00 to the 3rd 02:00 (28 h): one session carried over two borders.
        var e = 0;
        for (var t = At(1, 22, 0); t <= At(3, 2, 0); t = t.AddMinutes(20))
        {
            Event($"e{e++}", t, "anon-e", "page_view");
        }
        // F: an event replayed two days later with another time (the earlier copy is kept), and a user-agent bot.
        Event("f1", At(2, 10, 0), "anon-f", "page_view");
        Event("f2", At(2, 10, 1), "anon-f", "add_to_cart");
        Event("f1", At(4, 10, 0), "anon-f", "page_view");
        Event("g1", At(3, 5, 0), "anon-g", "page_view", ua: "Googlebot/2.1 (+http://www.google.com/bot.html)");
        // H: a page view on the 1st with pings on both sides of midnight and an add_to_cart among them: one page view
        // of 5 + 10 × (4 − 1) = 35 s (slots 23:55:10, 23:59:50, 00:00:00, 00:00:20). 40 minutes later its pings resume:
        // a session of pings only, one page view of 5 + 10 × (2 − 1) = 15 s (slots 00:40:20, 00:40:30) on its first ping.
        Event("h1", At(1, 23, 55), "anon-h", "page_view");
        Event("h2", At(1, 23, 55, 10), "anon-h", "page_ping");
        Event("h3", At(1, 23, 59, 55), "anon-h", "page_ping");
        Event("h4", At(2, 0, 0, 5), "anon-h", "page_ping");
        Event("h5", At(2, 0, 0, 15), "anon-h", "add_to_cart");
        Event("h6", At(2, 0, 0, 25), "anon-h", "page_ping");
        Event("h7", At(2, 0, 40, 25), "anon-h", "page_ping");
        Event("h8", At(2, 0, 40, 35), "anon-h", "page_ping");

        var events = Path.Combine(_dir, "events");
        Directory.CreateDirectory(events);
        foreach (var (day, lines) in days)
        {
            File.WriteAllText(Path.Combine(events, $"events-2024-03-0{day}.jsonl"), string.Join('\n', lines) + "\n", new UTF8Encoding(false));
        }
        // A late file: one more copy of a2 (same time; dropped) and a rejected row.
        File.WriteAllText(Path.Combine(events, "events-2024-03-05-replay.jsonl"),
            Line("a2", At(2, 0, 10), "anon-a", "product_view") + "\n{\"event_id\":\"bad\",\"occurred_at\":\"yesterday\"}\n");
    }

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_dir, recursive: true);

    private string Run(string name, int sliceDays) => RunIn(_dir, name, sliceDays).Output;

    /// <summary>A partition value: read back from the folder name as text, or typed.</summary>
    private static DateOnly Day(object? v) => v is DateTime t ? DateOnly.FromDateTime(t)
        : DateOnly.Parse(Convert.ToString(v, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture);

    private static List<string> Rows(string table, params string[] skip) =>
        ParquetTable.Read(table)
            .Select(r => string.Join('|', r.Where(kv => !skip.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => kv.Key + "=" + Convert.ToString(kv.Value, CultureInfo.InvariantCulture))))
            .Order(StringComparer.Ordinal).ToList();

    [Test]
    public void One_day_slices_give_the_tables_of_one_pass_field_for_field()
    {
        var onePass = Run("one-pass", -1);
        var (sliced, log) = RunIn(_dir, "sliced", 1);
        // The slices are cut from the typed days' counts of valid rows: the 1st to the 4th (the replay file's rows are
        // dated the 2nd; "yesterday" has no day), one slice each.
        Assert.That(log, Does.Contain("4 slice(s) of 1 day(s)"));
        Assert.That(log, Does.Contain("slice 1 of 4 (2024-03-01 to 2024-03-01)").And.Contain("slice 4 of 4 (2024-03-04 to 2024-03-04)"));
        Assert.That(Rows(Path.Combine(sliced, "clean", "events")), Is.EqualTo(Rows(Path.Combine(onePass, "clean", "events"))));
        Assert.That(Rows(Path.Combine(sliced, "sessions")), Is.EqualTo(Rows(Path.Combine(onePass, "sessions"))));
        // Same rows in the same order: the files themselves are the same bytes.
        AssertSameTables(onePass, sliced);
    }

    /// <summary>
    /// clean/event_days by hand, from the fixture above (C: 25-minute steps from the 1st 00:00 to the 4th 02:05 are 58,
    /// 58, 57 and 5 events a day, every one in the > 72 h session; E: 20-minute steps from the 1st 22:00 to the 3rd
    /// 02:00 are 6, 72 and 7; D is a rate bot on every day it appears):
    /// <list type="bullet">
    /// <item>1st: a1, b1, b2, E×6, h1–h3 kept (12); C×58 quarantined; d-early a rate bot: read 71.</item>
    /// <item>2nd: a2, E×72, f1, f2, h4–h8 kept (80); C×58; a2's replayed copy a duplicate; d0–d69 rate bots (70): read 209.</item>
    /// <item>3rd: b3, E×7 kept (8); C×57; g1 a user-agent bot: read 66.</item>
    /// <item>4th: C×5; f1's later copy a duplicate; d-late a rate bot: read 7.</item>
    /// </list>
    /// The row "yesterday" has no day: the days' reads are the run's 354 minus 1.
    /// </summary>
    [TestCase(-1)]
    [TestCase(1)]
    public void The_books_of_each_day_are_worked_out_by_hand(int sliceDays)
    {
        var output = Run(sliceDays < 0 ? "books-one-pass" : "books-sliced", sliceDays);
        var rows = ParquetTable.Read(Path.Combine(output, "clean", "event_days")).Select(r =>
            $"{Day(r["event_date"]):dd}: {r["rows_read"]} = {r["rows_kept"]} + {r["rows_quarantined"]} + {r["duplicates"]} + {r["bots_user_agent"]} + {r["bots_event_rate"]}; {r["active_hours"]} h");
        // Hours with a kept event: the 1st 09 (b1, b2), 22 and 23 (E, a1, h1–h3); the 2nd all 24 (E every 20 minutes);
        // the 3rd 00, 01, 02 (E) and 12 (b3); the 4th none (C quarantined, the rest dropped).
        Assert.That(rows, Is.EqualTo(new[]
        {
            "01: 71 = 12 + 58 + 0 + 0 + 1; 3 h",
            "02: 209 = 80 + 58 + 1 + 0 + 70; 24 h",
            "03: 66 = 8 + 57 + 0 + 1 + 0; 4 h",
            "04: 7 = 0 + 5 + 1 + 0 + 1; 0 h",
        }));
        var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(output, "_runs")).Single())).RootElement;
        Assert.That(manifest.GetProperty("stages")[0].GetProperty("rows_read").GetInt64(), Is.EqualTo(71 + 209 + 66 + 7 + 1));
    }

    [Test]
    public void What_crosses_slice_borders_comes_out_as_worked_out_by_hand()
    {
        var sliced = Run("sliced-facts", 1);
        var events = ParquetTable.Read(Path.Combine(sliced, "clean", "events")).ToDictionary(r => (string)r["event_id"]!);
        var sessions = ParquetTable.Read(Path.Combine(sliced, "sessions")).ToDictionary(r => (string)r["session_id"]!);
        var quarantine = ParquetTable.Read(Path.Combine(sliced, "quarantine", "events"));

        // A: one session over midnight, dated by its start.
        Assert.That(events["a2"]["session_id"], Is.EqualTo(events["a1"]["session_id"]));
        Assert.That(events["a2"]["session_event_seq"], Is.EqualTo(2));
        var a = sessions[(string)events["a1"]["session_id"]!];
        Assert.That(a["events"], Is.EqualTo(2));
        Assert.That(Day(a["session_date"]), Is.EqualTo(new DateOnly(2024, 3, 1)));
        // B: the login on the 3rd stitches the 1st's anonymous events.
        Assert.That(new[] { "b1", "b2", "b3" }.Select(id => events[id]["customer_id"]), Is.All.EqualTo("cust-9"));
        // C: 74 h of events 25 minutes apart: every one quarantined as session_too_long, none clean.
        var cEvents = (int)((At(4, 2, 5) - At(1, 0, 0)).TotalMinutes / 25) + 1;
        Assert.That(quarantine.Count(q => (string)q["reason_code"]! == "session_too_long"), Is.EqualTo(cEvents));
        Assert.That(events.Keys.Where(k => k.StartsWith('c')), Is.Empty);
        // D: too fast on the 2nd, so a bot on every day.
        Assert.That(events.Keys.Where(k => k.StartsWith('d')), Is.Empty);
        // E: 28 h, one session of 85 events over three dates.
        var eSession = events["e0"]["session_id"];
        var eEvents = (int)((At(3, 2, 0) - At(1, 22, 0)).TotalMinutes / 20) + 1;
        Assert.That(events.Values.Count(r => Equals(r["session_id"], eSession)), Is.EqualTo(eEvents));
        Assert.That(sessions[(string)eSession!]["events"], Is.EqualTo(eEvents));
        // F: the copy two days later is dropped, the first kept on its own date; the user-agent bot is gone.
        Assert.That(events["f1"]["occurred_at"], Is.EqualTo(At(2, 10, 0)));
        Assert.That(events.ContainsKey("g1"), Is.False);
        // H: engaged time of a session carried over the border, and a ping-first session after it.
        Assert.That(events["h1"]["engaged_seconds"], Is.EqualTo(35.0));
        var h = sessions[(string)events["h1"]["session_id"]!];
        Assert.That((h["events"], h["page_views"], h["engaged_seconds"]), Is.EqualTo((6, 1, 35.0)));
        Assert.That(events["h7"]["engaged_seconds"], Is.EqualTo(15.0));
        Assert.That(events["h7"]["is_page_view"], Is.True);
        var h2 = sessions[(string)events["h7"]["session_id"]!];
        Assert.That((h2["events"], h2["page_views"], h2["engaged_seconds"]), Is.EqualTo((2, 1, 15.0)));

        // The books: 2 + 3 + C + 72 + E + 3 + 1 + 8 (H) read from the day files, 2 from the replay file.
        var manifest = File.ReadAllText(Directory.GetFiles(Path.Combine(sliced, "_runs"), "*.json").Single());
        var read = 2 + 3 + cEvents + 72 + eEvents + 3 + 1 + 8 + 2;
        Assert.That(manifest, Does.Contain($"\"rows_read\": {read}"));
        Assert.That(manifest, Does.Contain("\"duplicates\": 2"), "f1's second copy and a2's replay");
        Assert.That(events.Count, Is.EqualTo(read - 1 - 2 - 72 - 1 - cEvents), "minus the rejected row, the 2 duplicates, D's 72 and g1, and C");
    }

    /// <summary>Runs clean-clicks on <paramref name="dir"/>/events with two threads; the output folder and the verbose log.</summary>
    private static (string Output, string Log) RunIn(string dir, string name, int sliceDays)
    {
        var config = Path.Combine(dir, name + ".json");
        File.WriteAllText(config, $$"""
            { "output": "{{name}}", "now": "2024-03-10T00:00:00Z", "engine": { "slice_days": {{sliceDays}}, "threads": 2 },
              "quality": { "max_quarantine_share": 1 }, "events": { "input": "events/", "site_hosts": ["shop.example.com"] } }
            """);
        var r = PipelineCli.Run("clean-clicks", "-c", config, "--verbose");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        return (Path.Combine(dir, name), r.Stderr);
    }

    /// <summary>The sliced run's tables are the one-pass run's: the same rows, and the same files byte for byte.</summary>
    private static void AssertSameTables(string onePass, string sliced)
    {
        Assert.That(Rows(Path.Combine(sliced, "quarantine", "events"), "run_id"), Is.EqualTo(Rows(Path.Combine(onePass, "quarantine", "events"), "run_id")));
        foreach (var table in new[] { "clean/events", "sessions", "clean/identities", "clean/event_days" })
        {
            var files = Directory.GetFiles(Path.Combine(onePass, table), "*.parquet", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(onePass, f)).Order(StringComparer.Ordinal).ToList();
            Assert.That(files, Is.Not.Empty);
            Assert.That(Directory.GetFiles(Path.Combine(sliced, table), "*.parquet", SearchOption.AllDirectories).Length, Is.EqualTo(files.Count), table);
            foreach (var f in files)
            {
                Assert.That(File.ReadAllBytes(Path.Combine(sliced, f)), Is.EqualTo(File.ReadAllBytes(Path.Combine(onePass, f))), f);
            }
        }
    }

    [Test]
    public void Input_files_in_no_order_of_time_are_sorted_before_slicing_and_give_the_tables_of_one_pass()
    {
        // 260,000 events over four days in random order, in two files of unequal size (typed together into one scratch
        // file): its three row groups each span the four days, so each of the four one-day slices would read all of
        // them (4 reads a row, above 2). With duplicates across the files, logins, and a line of invalid UTF-8.
        var dir = TestPaths.NewTempDir("sliced-unordered");
        var events = Path.Combine(dir, "events");
        Directory.CreateDirectory(events);
        var random = new Random(20241205);
        foreach (var (file, count) in new[] { ("events-a.jsonl", 150_000), ("events-b.jsonl", 110_000) })
        {
            using var stream = File.Create(Path.Combine(events, file));
            for (var i = 0; i < count; i++)
            {
                var at = At(1, 0, 0).AddSeconds(random.Next(4 * 86_400));
                var login = i % 50 == 0;
                var id = file == "events-b.jsonl" && i % 10_000 == 0 ? $"events-a.jsonl-{i}" : $"{file}-{i}";
                stream.Write(Encoding.UTF8.GetBytes(Line(id, at, $"anon-{random.Next(3000)}", login ? "login" : "page_view",
                    login ? $"cust-{random.Next(1000)}" : null) + "\n"));
                if (file == "events-a.jsonl" && i == 1000)
                {
                    stream.Write([(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}', (byte)'\n']);
                }
            }
        }

        var (onePass, _) = RunIn(dir, "one-pass", -1);
        var (sliced, log) = RunIn(dir, "sliced", 1);
        Assert.That(log, Does.Contain("1 of 1 scratch file(s) sorted by time"));
        AssertSameTables(onePass, sliced);
        var quarantine = ParquetTable.Read(Path.Combine(sliced, "quarantine", "events"));
        Assert.That(quarantine.Where(q => (string)q["reason_code"]! == "invalid_encoding").Select(q => (q["source_line"], Path.GetFileName((string)q["source_file"]!))),
            Is.EqualTo(new[] { ((object?)1002L, "events-a.jsonl") }));
        var manifest = File.ReadAllText(Directory.GetFiles(Path.Combine(sliced, "_runs"), "*.json").Single());
        Assert.That(manifest, Does.Contain("\"rows_read\": 260001"));
        Assert.That(manifest, Does.Contain("\"duplicates\": 11"), "events-b's copies of events-a's ids 0, 10,000, ..., 100,000");
    }

    [Test]
    public void Batches_typed_straight_to_scratch_number_the_lines_after_a_rejected_one_as_one_pass_does()
    {
        // Four day files of similar size, so the batches go straight from the files to scratch Parquet on two
        // connections; the 2nd's line 11 is not UTF-8, so its batch is typed again, numbered past it.
        var dir = TestPaths.NewTempDir("sliced-batches");
        var events = Path.Combine(dir, "events");
        Directory.CreateDirectory(events);
        for (var day = 1; day <= 4; day++)
        {
            using var stream = File.Create(Path.Combine(events, $"events-2024-03-0{day}.jsonl"));
            for (var i = 0; i < 60; i++)
            {
                if (day == 2 && i == 10)
                {
                    stream.Write([(byte)'{', (byte)'"', 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}', (byte)'\n']);
                }
                // Every 23 minutes from 00:00, four in a row from one of five visitors (one session each time).
                stream.Write(Encoding.UTF8.GetBytes(Line($"d{day}-{i}", At(day, 0, 0).AddMinutes(23 * i + (day - 1) * 7), $"anon-{i / 4 % 5}",
                    i == 30 ? "login" : "page_view", i == 30 ? $"cust-{day}" : null) + "\n"));
            }
        }

        var (onePass, _) = RunIn(dir, "one-pass", -1);
        var (sliced, log) = RunIn(dir, "sliced", 1);
        Assert.That(log, Does.Not.Contain("sorted by time"), "one row group a file: nothing to sort");
        AssertSameTables(onePass, sliced);
        var quarantine = ParquetTable.Read(Path.Combine(sliced, "quarantine", "events"));
        Assert.That(quarantine.Select(q => ((string)q["reason_code"]!, q["source_line"], Path.GetFileName((string)q["source_file"]!))),
            Is.EqualTo(new[] { ("invalid_encoding", (object?)11L, "events-2024-03-02.jsonl") }));
        Assert.That(ParquetTable.Read(Path.Combine(sliced, "clean", "events")).Count, Is.EqualTo(240), "every valid event kept");
    }

    [Test]
    public void Scratch_files_are_sorted_when_the_slices_would_read_their_rows_more_than_twice()
    {
        var day = new DateOnly(2024, 3, 1);
        var slices = Enumerable.Range(0, 4).Select(i => new SlicedCleanClicks.Slice(day.AddDays(i), day.AddDays(i))).ToList();
        long At(int d, int hour) => (new DateTime(2024, 3, d, hour, 0, 0, DateTimeKind.Utc) - DateTime.UnixEpoch).Ticks / 10;
        RowGroupRange[] groups =
        [
            // In time order: read by 1, 2 (ends at the 2nd's first instant) and 2 slices: 500 reads for 300 rows.
            new("in-order", 100, At(1, 0), At(1, 23)),
            new("in-order", 100, At(1, 23), At(2, 0)),
            new("in-order", 100, At(2, 10), At(3, 5)),
            // Shuffled: each row group spans the four days, 4 reads a row.
            new("shuffled", 100, At(1, 0), At(4, 23)),
            new("shuffled", 50, At(1, 1), At(4, 22)),
            // One row group: sorting cannot narrow it.
            new("single", 100, At(1, 0), At(4, 23)),
            // Rejected rows only (no valid_at): no slice reads them.
            new("rejected", 100, null, null),
            new("rejected", 100, null, null),
            // Just above: 201 reads for 100 rows.
            new("borderline", 99, At(1, 0), At(2, 1)),
            new("borderline", 1, At(1, 0), At(3, 1)),
        ];
        Assert.That(SlicedCleanClicks.FilesToSort(groups, slices), Is.EqualTo(new[] { "shuffled", "borderline" }));
        Assert.That(SlicedCleanClicks.FilesToSort(groups.Where(g => g.File == "borderline").Select(g => g with { MaxMicros = g.MinMicros }).ToList(), slices),
            Is.Empty, "both within the 1st: one read a row");
    }

    [Test]
    public void Slices_are_whole_days_cut_by_the_row_budget_or_by_fixed_blocks()
    {
        var day = new DateOnly(2024, 3, 1);
        var rows = new Dictionary<DateOnly, long> { [day] = 40, [day.AddDays(1)] = 40, [day.AddDays(2)] = 40, [day.AddDays(5)] = 10, [day.AddDays(6)] = 500 };
        Assert.That(SlicedCleanClicks.Slices(rows, new SlicePlan(0, 100)).Select(s => $"{s.First:dd}-{s.Last:dd}"),
            Is.EqualTo(new[] { "01-02", "03-06", "07-07" }), "greedy by rows; a day over the budget alone");
        Assert.That(SlicedCleanClicks.Slices(rows, new SlicePlan(3, 100)).Select(s => $"{s.First:dd}-{s.Last:dd}"),
            Is.EqualTo(new[] { "01-03", "04-06", "07-07" }), "calendar blocks of 3 days from the first");
        Assert.That(SlicedCleanClicks.Slices(new Dictionary<DateOnly, long>(), new SlicePlan(1, 100)), Is.Empty);
    }

    [Test]
    public void Rows_are_estimated_from_the_line_length_of_a_sample_and_the_text_size()
    {
        var dir = TestPaths.NewTempDir("estimate");
        // 12,000 lines of exactly 100 bytes (99 + '\n'): 1.2 MB of text, more than the 256 KB sample.
        var text = string.Concat(Enumerable.Range(0, 12_000).Select(i => $"{{\"event_id\":\"e{i:00000}\",\"pad\":\"" + new string('x', 100 - 31) + "\"}\n"));
        Assert.That(text.Length, Is.EqualTo(1_200_000), "the fixture's lines are 100 bytes each");
        var plain = Path.Combine(dir, "events-1.jsonl");
        File.WriteAllText(plain, text);
        var gz = Path.Combine(dir, "events-2.jsonl.gz");
        using (var stream = new System.IO.Compression.GZipStream(File.Create(gz), System.IO.Compression.CompressionLevel.Fastest))
        {
            stream.Write(Encoding.UTF8.GetBytes(text));
        }
        var files = Pipeline.Inputs.InputResolver.Resolve([dir], new Pipeline.Inputs.InputOptions(), "events");
        Assert.That(files.Select(SlicedCleanClicks.EstimatedRows), Is.EqualTo(new long[] { 12_000, 12_000 }),
            "1.2 MB of text (the gzip trailer's size) over 100-byte lines, whatever the compression ratio");
        // Without a line end in the sample: 300 bytes a row of the file's size.
        var oneLine = Path.Combine(TestPaths.NewTempDir("estimate-one"), "events-3.jsonl");
        File.WriteAllText(oneLine, "{\"event_id\":\"" + new string('y', 600_000 - 15) + "\"}");
        var single = Pipeline.Inputs.InputResolver.Resolve([oneLine], new Pipeline.Inputs.InputOptions(), "events").Single();
        Assert.That(SlicedCleanClicks.EstimatedRows(single), Is.EqualTo(600_000 / 300));

        // The plan: one pass up to memory / 400 bytes an event (here 100 MB: ≈ 250,000 events), slices of memory / 1000
        // bytes (100,000 at least) above; a fixed slice_days always slices, -1 never.
        using var engine = new Pipeline.Engine.DuckDb.DuckDbEngine(new Pipeline.Engine.DuckDb.DuckDbOptions(Threads: 1, MemoryLimit: "100MB"));
        Assert.That(engine.MemoryLimitBytes, Is.EqualTo(100_000_000).Within(0.1).Percent, "as DuckDB reads it back (95.3 MiB)");
        var many = Enumerable.Repeat(files[0], 20).ToList(); // 240,000 estimated events
        Assert.That(SlicedCleanClicks.Plan(engine, 0, many), Is.Null, "240,000 ≤ 250,000: one pass");
        Assert.That(SlicedCleanClicks.Plan(engine, 0, Enumerable.Repeat(files[0], 21).ToList()), Is.EqualTo(new SlicePlan(0, 100_000)),
            "252,000 > 250,000: slices within the budget");
        Assert.That(SlicedCleanClicks.Plan(engine, 7, many), Is.EqualTo(new SlicePlan(7, 100_000)));
        Assert.That(SlicedCleanClicks.Plan(engine, -1, Enumerable.Repeat(files[0], 100).ToList()), Is.Null);
    }
}
