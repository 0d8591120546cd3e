using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Nightly;

/// <summary>
/// Incremental clean-clicks under <c>pipeline run</c>, checked against a full run of the same files (the full run is
/// itself checked against the generator's ground truth elsewhere): night after night only the new file and the files
/// of the lookback window are read, and the window's partitions equal the full run's exactly.
/// </summary>
public class IncrementalEventsTests
{
    private string _dir = "";
    private string _events = "";
    private string _held = "";

    [OneTimeSetUp]
    public void Generate()
    {
        _dir = TestPaths.NewTempDir("incremental");
        var gen = PipelineCli.Run("generate", "--legacy-defaults", "--output", Path.Combine(_dir, "data"), "--customers", "150", "--days", "20", "--seed", "11", "--start-date", "2024-03-01");
        Assert.That(gen.ExitCode, Is.Zero, gen.ToString());
        _events = Path.Combine(_dir, "data", "events");
        _held = Path.Combine(_dir, "held");
        Directory.CreateDirectory(_held);
    }

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_dir, recursive: true);

    private string Config(string name, string output)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, $$"""
            { "output": "{{output}}", "now": "2024-04-01T00:00:00Z",
              "orders": { "input": "data/orders/" },
              "events": { "input": "data/events/", "site_hosts": ["shop.example.com"], "lookback_days": 2 } }
            """);
        return path;
    }

    /// <summary>
    /// The stage's latest manifest by its start time. Not by file name: run ids have one-second resolution and a random
    /// suffix, so two runs started in the same second sort at random (this test failed now and then that way).
    /// </summary>
    private static JsonElement StageManifest(string output, string stage) =>
        Directory.GetFiles(Path.Combine(output, "_runs"), $"*-{stage}.json")
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())
            .MaxBy(m => m.GetProperty("started_at").GetDateTimeOffset());

    /// <summary>A partition value: read back from the folder name as text, or typed.</summary>
    private static DateOnly Day(object? v) => v is DateTime t ? DateOnly.FromDateTime(t)
        : DateOnly.Parse(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!, System.Globalization.CultureInfo.InvariantCulture);

    private static HashSet<string> Events(string output, DateOnly? from = null) =>
        ParquetTable.Read(Path.Combine(output, "clean", "events"))
            .Where(r => from is null || Day(r["event_date"]) >= from)
            .Select(r => string.Join('|', r["event_id"], r["session_id"], r["session_event_seq"], r["customer_id"], r["engaged_seconds"], r["channel"], r["page_path"]))
            .ToHashSet();

    private static HashSet<string> Sessions(string output, DateOnly? from = null) =>
        ParquetTable.Read(Path.Combine(output, "sessions"))
            .Where(r => from is null || Day(r["session_date"]) >= from)
            .Select(r => string.Join('|', r["session_id"], r["customer_id"], r["events"], r["started_at"], r["ended_at"], r["is_converted"], r["engaged_seconds"]))
            .ToHashSet();

    [Test]
    public void Each_night_reads_only_the_new_file_and_its_window_and_the_window_equals_a_full_run()
    {
        var files = Directory.GetFiles(_events).Order(StringComparer.Ordinal).ToList();
        Assert.That(files, Has.Count.GreaterThanOrEqualTo(20));
        var nights = files.TakeLast(2).ToList();
        foreach (var f in nights)
        {
            File.Move(f, Path.Combine(_held, Path.GetFileName(f)));
        }
        var incremental = Path.Combine(_dir, "inc");
        var config = Config("inc.json", "inc");
        var first = PipelineCli.Run("run", "-c", config, "--only", "clean-clicks");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(first.Stderr, Does.Contain("full run"));

        foreach (var night in nights)
        {
            File.Move(Path.Combine(_held, Path.GetFileName(night)), night);
            var r = PipelineCli.Run("run", "-c", config, "--only", "clean-clicks");
            Assert.That(r.ExitCode, Is.Zero, r.ToString());
            Assert.That(r.Stderr, Does.Contain("incremental: 1 new file(s)"));

            var manifest = StageManifest(incremental, "clean-clicks");
            var read = manifest.GetProperty("inputs").EnumerateArray().Select(i => Path.GetFileName(i.GetProperty("path").GetString()!)).ToList();
            Assert.That(read, Does.Contain(Path.GetFileName(night)));
            Assert.That(read.Count, Is.LessThanOrEqualTo(6), "the new file, the 2-day window and 3 days (max_session_hours) of session context before it; not the whole history");
            var stage = manifest.GetProperty("stages")[0];
            Assert.That(stage.GetProperty("balanced").GetBoolean(), Is.True);
            Assert.That(manifest.GetProperty("consumed").GetArrayLength(), Is.EqualTo(Directory.GetFiles(_events).Length));

            // The same files, cleaned in one full run with the same key.
            var full = Path.Combine(_dir, "full-" + Path.GetFileNameWithoutExtension(night));
            var reference = PipelineCli.Run("clean-clicks", "-c", Config("full.json", full));
            Assert.That(reference.ExitCode, Is.Zero, reference.ToString());

            var from = DateOnly.FromDateTime(manifest.GetProperty("consumed").EnumerateArray()
                .Max(c => c.GetProperty("max_occurred_at").GetDateTimeOffset()).UtcDateTime).AddDays(-1);
            var lastBefore = DateOnly.Parse(Path.GetFileName(night)["events-".Length..^".jsonl".Length], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(from, Is.LessThanOrEqualTo(lastBefore), "the window covers the new day");
            Assert.That(Events(incremental, from), Is.EquivalentTo(Events(full, from)), "every event of the window, field for field");
            Assert.That(Sessions(incremental, from), Is.EquivalentTo(Sessions(full, from)), "every session of the window, field for field");
            var ids = (string output) => ParquetTable.Read(Path.Combine(output, "clean", "events")).Select(e => (string)e["event_id"]!).ToHashSet();
            Assert.That(ids(incremental), Is.EquivalentTo(ids(full)), "no event lost or doubled outside the window");
            Assert.That(ParquetTable.Read(Path.Combine(incremental, "quarantine", "events")).Count,
                Is.EqualTo(ParquetTable.Read(Path.Combine(full, "quarantine", "events")).Count), "quarantine rows of files not re-read are carried over");
            Assert.That(PublishedIdentities.Read(incremental), Is.EqualTo(PublishedIdentities.OfEvents(incremental)), "clean/identities is its definition over the published events");
            Assert.That(PublishedIdentities.Read(incremental), Is.EqualTo(PublishedIdentities.Read(full)), "and the full run's, row for row");
            static List<string> Books(string output) => ParquetTable.Read(Path.Combine(output, "clean", "event_days"))
                .Select(r => string.Join('|', r.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"))).ToList();
            Assert.That(Books(incremental), Is.EqualTo(Books(full)), "clean/event_days: the window's days recounted, the earlier ones carried, as the full run counts them");
        }
    }

    [Test]
    public void An_event_older_than_the_window_in_a_new_file_is_quarantined_as_late_event()
    {
        var output = Path.Combine(_dir, "late");
        var config = Config("late.json", "late");
        Assert.That(PipelineCli.Run("run", "-c", config, "--only", "clean-clicks").ExitCode, Is.Zero);
        var late = Path.Combine(_events, "late-arrivals.jsonl");
        File.WriteAllText(late,
            """{"event_id":"LATE-1","occurred_at":"2024-03-02T10:00:00Z","anonymous_id":"a-late","event_type":"page_view","page_url":"https://shop.example.com/"}""" + "\n");
        try
        {
            var r = PipelineCli.Run("run", "-c", config, "--only", "clean-clicks");
            Assert.That(r.ExitCode, Is.Zero, r.ToString());
            var quarantine = ParquetTable.Read(Path.Combine(output, "quarantine", "events"));
            Assert.That(quarantine.Where(q => (string)q["reason_code"]! == "late_event").Select(q => Path.GetFileName((string)q["source_file"]!)),
                Is.EqualTo(new[] { "late-arrivals.jsonl" }));
            Assert.That(ParquetTable.Read(Path.Combine(output, "clean", "events")).Any(e => (string)e["event_id"]! == "LATE-1"), Is.False);
        }
        finally
        {
            File.Delete(late);
        }
    }
}
