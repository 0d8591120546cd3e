using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Generate;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Events;

/// <summary>
/// `pipeline generate --faults` writes events with known numbers of every fault class, bot, session and channel;
/// `pipeline clean-clicks` must account for exactly those numbers, and no raw identifier may reach an output.
/// </summary>
public class GeneratedEventsTests
{
    [Test]
    public void Clean_clicks_accounting_sessions_and_channels_equal_the_ground_truth()
    {
        var dir = TestPaths.NewTempDir("gen-events");
        try
        {
            var gen = PipelineCli.Run("generate", "--legacy-defaults", "-o", Path.Combine(dir, "data"), "--customers", "800", "--days", "90", "--seed", "21", "--faults");
            Assert.That(gen.ExitCode, Is.Zero, gen.ToString());
            var truth = GroundTruth.Load(Path.Combine(dir, "data", "ground_truth.json")).Events!;
            var config = Path.Combine(dir, "c.json");
            // session_too_long faults are whole sessions: they can exceed the default 5% gate on a small dataset.
            File.WriteAllText(config, "{ \"quality\": { \"max_quarantine_share\": 0.5 } }");
            var now = truth.Rules.FutureTimestampAfter.ToString("O", CultureInfo.InvariantCulture);
            var output = Path.Combine(dir, "out");
            var clean = PipelineCli.Run("clean-clicks", "-c", config, "-i", Path.Combine(dir, "data", "events"), "-o", output, "--now", now);
            Assert.That(clean.ExitCode, Is.Zero, clean.ToString());

            var stage = JsonDocument.Parse(File.ReadAllText(Directory.GetFiles(Path.Combine(output, "_runs")).Single())).RootElement.GetProperty("stages")[0];
            var reasons = stage.GetProperty("quarantined_by_reason");
            long Reason(string code) => reasons.TryGetProperty(code, out var v) ? v.GetInt64() : 0;
            var q = truth.Quarantined;
            var sessions = ParquetTable.Read(Path.Combine(output, "sessions"));
            long Channel(string c) => sessions.Count(s => (string)s["channel"]! == c);
            var ch = truth.SessionsByChannel;
            Assert.Multiple(() =>
            {
                Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(truth.RowsRead));
                Assert.That(stage.GetProperty("rows_written").GetInt64(), Is.EqualTo(truth.Kept));
                Assert.That(stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(truth.Duplicates));
                Assert.That(stage.GetProperty("bots_by_rule").GetProperty("user_agent").GetInt64(), Is.EqualTo(truth.Bots.UserAgent));
                Assert.That(stage.GetProperty("bots_by_rule").GetProperty("event_rate").GetInt64(), Is.EqualTo(truth.Bots.EventRate));
                Assert.That(Reason("malformed_row"), Is.EqualTo(q.MalformedRow));
                Assert.That(Reason("bad_timestamp"), Is.EqualTo(q.BadTimestamp));
                Assert.That(Reason("missing_identity"), Is.EqualTo(q.MissingIdentity));
                Assert.That(Reason("unknown_event_type"), Is.EqualTo(q.UnknownEventType));
                Assert.That(Reason("future_timestamp"), Is.EqualTo(q.FutureTimestamp));
                Assert.That(Reason("session_too_long"), Is.EqualTo(q.SessionTooLong));
                Assert.That(stage.GetProperty("balanced").GetBoolean(), Is.True);
                Assert.That(sessions, Has.Count.EqualTo(truth.Sessions));
                Assert.That(sessions.Count(s => (bool)s["is_converted"]!), Is.EqualTo(truth.ConvertedSessions));
                Assert.That(Channel("paid_search"), Is.EqualTo(ch.PaidSearch));
                Assert.That(Channel("paid_social"), Is.EqualTo(ch.PaidSocial));
                Assert.That(Channel("email"), Is.EqualTo(ch.Email));
                Assert.That(Channel("affiliate"), Is.EqualTo(ch.Affiliate));
                Assert.That(Channel("organic_social"), Is.EqualTo(ch.OrganicSocial));
                Assert.That(Channel("organic_search"), Is.EqualTo(ch.OrganicSearch));
                Assert.That(Channel("referral"), Is.EqualTo(ch.Referral));
                Assert.That(Channel("direct"), Is.EqualTo(ch.Direct));
            });

            // No raw identifier that went into the input appears in any column of any output table.
            var strings = new[] { "clean/events", "sessions", "quarantine/events" }
                .SelectMany(t => ParquetTable.Read(Path.Combine(output, t)))
                .SelectMany(r => r.Values).OfType<string>().ToList();
            var secrets = truth.RawPii.AnonymousIds.Concat(truth.RawPii.Ips).Concat(truth.RawPii.UserAgents).Where(s => s.Length >= 6).ToList();
            Assert.That(secrets, Is.Not.Empty);
            var leaks = secrets.Where(s => strings.Any(v => v.Contains(s, StringComparison.Ordinal))).ToList();
            Assert.That(leaks, Is.Empty);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
