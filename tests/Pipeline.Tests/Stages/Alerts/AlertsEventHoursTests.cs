using System.Globalization;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Generate;
using Pipeline.Stages.Alerts;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Alerts;

/// <summary>
/// The alerts' event_hours series (hours of a day with at least one clean event) comes from clean/event_days'
/// active_hours, which clean-clicks counts, instead of a scan of the whole event history every night; an output whose
/// event_days predates that column is still counted from clean/events. Both are held to the same truth: the distinct
/// hours of each day's clean events, counted here with DuckDB straight from clean/events.
/// </summary>
[NonParallelizable]
public sealed class AlertsEventHoursTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void NewDir() => _dir = TestPaths.NewTempDir("alerts-hours");

    [OneTimeTearDown]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Event_hours_are_the_hours_of_the_clean_events_from_event_days_or_from_the_events()
    {
        // A small shop over 20 days whose tracker went quiet on the last day from 02:00 to 07:00 (that day has 19 hours
        // with events, the others 24), through clean-clicks.
        var options = new GenerateOptions { OutputDirectory = _dir, Customers = 300, Days = 20, Seed = 3 };
        var truth = DatasetGenerator.Generate(options);
        var config = GeneratedConfig.Write(options, truth);
        var files = Directory.GetFiles(Path.Combine(_dir, "events")).Order(StringComparer.Ordinal).ToList();
        var day = Path.GetFileName(files[^1])["events-".Length..("events-".Length + 10)];
        // The trackers write UTC, local times with their offset (+08:00) and epoch milliseconds: the quiet hours are UTC hours.
        bool Quiet(string line)
        {
            var text = System.Text.RegularExpressions.Regex.Match(line, "\"occurred_at\":\"([^\"]+)\"").Groups[1].Value;
            var at = (text.All(char.IsAsciiDigit)
                ? DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(text, CultureInfo.InvariantCulture))
                : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture)).UtcDateTime;
            return at.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) == day && at.Hour is >= 2 and < 7;
        }
        Assert.That(files.Sum(f => File.ReadLines(f).Count(Quiet)), Is.GreaterThan(0), "the quiet hours had events");
        foreach (var f in files)
        {
            // A day's events can be in other days' files too (sessions over midnight, late arrivals).
            File.WriteAllLines(f, File.ReadAllLines(f).Where(l => !Quiet(l)));
        }
        var run = PipelineCli.Run("clean-clicks", "-c", config, "-q");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var output = Path.Combine(_dir, GeneratedConfig.OutputFolder);
        var events = Path.Combine(output, "clean", "events");
        var eventDays = Path.Combine(output, "clean", "event_days");

        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        var counted = Hours(engine, $"""
            SELECT event_date, count(DISTINCT epoch_us(occurred_at) // 3600000000)
            FROM read_parquet('{events}/**/*.parquet', hive_partitioning = true) GROUP BY event_date
            """);
        Assert.That(counted, Has.Count.EqualTo(20));
        Assert.That(counted[day], Is.EqualTo(19), "the quiet day");
        Assert.That(counted.Where(kv => kv.Key != day).Select(kv => kv.Value), Has.All.EqualTo(24L));

        var fromDays = AlertsJob.EventHoursSql(engine, events, eventDays);
        Assert.That(fromDays, Does.Contain("event_days").And.Not.Contain("clean/events"), "read from clean/event_days");
        Assert.That(Hours(engine, fromDays), Is.EqualTo(counted));

        // event_days as published before active_hours existed: counted from clean/events.
        var file = Directory.GetFiles(eventDays, "*.parquet").Single();
        var original = Path.Combine(_dir, "event_days.parquet");
        File.Copy(file, original);
        engine.Execute($"COPY (SELECT * EXCLUDE (active_hours) FROM read_parquet('{original}')) TO '{file}' (FORMAT PARQUET)");
        var fromEvents = AlertsJob.EventHoursSql(engine, events, eventDays);
        Assert.That(fromEvents, Does.Contain("clean/events"), "read from clean/events");
        Assert.That(Hours(engine, fromEvents), Is.EqualTo(counted));

        // Nor when event_days lacks a day of clean/events (an output older than event_days, then run incrementally).
        engine.Execute($"COPY (SELECT * FROM read_parquet('{original}') WHERE event_date <> DATE '{day}') TO '{file}' (FORMAT PARQUET)");
        var partial = AlertsJob.EventHoursSql(engine, events, eventDays);
        Assert.That(partial, Does.Contain("clean/events"));
        Assert.That(Hours(engine, partial), Is.EqualTo(counted));
    }

    private static Dictionary<string, long> Hours(DuckDbEngine engine, string sql) =>
        engine.Query(sql).ToDictionary(
            r => r[0] is DateOnly d ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : Convert.ToDateTime(r[0], CultureInfo.InvariantCulture).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            r => Convert.ToInt64(r[1], CultureInfo.InvariantCulture));
}
