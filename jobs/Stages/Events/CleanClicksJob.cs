using System.Globalization;
using Pipeline.Cli;
using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Runs;

namespace Pipeline.Stages.Events;

/// <summary>
/// <c>pipeline clean-clicks</c>: raw tracker events → <c>clean/events</c> (one row per kept event, by event_date),
/// <c>sessions</c> (one row per session, by session_date) and <c>quarantine/events</c>, published atomically.
/// Accounting: read = kept + quarantined (incl. session_too_long) + duplicates + bots, exactly.
/// </summary>
public static class CleanClicksJob
{
    public const string EventsTable = "clean/events";
    public const string SessionsTable = "sessions";
    public const string QuarantineTable = "quarantine/events";

    public static StageReport Run(JobRun run)
    {
        var config = run.Config;
        var ec = config.Events;
        return run.Stage("clean-clicks", report =>
        {
            var raw = run.ReadInputs(ec.Input, new InputOptions(ec.Format, ec.Csv.Delimiter), CanonicalColumns.Events, ec.Columns, ec.Csv.Quote[0], "events");
            InputBinder.Require(raw, ["occurred_at", "event_type"], "events");
            run.Log.Info($"{raw.Groups.Sum(g => g.Files.Count)} file(s)", "clean-clicks");

            var engine = run.Engine;
            var step = run.StepTimer("clean-clicks");
            engine.RegisterRawInput("events_raw", raw);
            step("raw input registered");
            var (ipad, opad) = run.HashKey.Pads();
            engine.RegisterHashKey(ipad, opad);

            var typeMap = new Dictionary<string, string>(EventsSql.Synonyms);
            foreach (var (from, to) in ec.EventTypeMap)
            {
                typeMap[from.Trim().ToLowerInvariant()] = to;
            }
            var options = new EventsSqlOptions(
                SourceTimeZone: config.SourceTimeZone,
                TimestampFormat: ec.TimestampFormat,
                Now: run.Now,
                FutureTolerance: TimeSpan.FromMinutes(config.Quality.FutureToleranceMinutes),
                MinValidDate: DateOnly.ParseExact(config.Quality.MinValidDate, "yyyy-MM-dd", CultureInfo.InvariantCulture),
                EventTypeMap: typeMap,
                SessionTimeout: TimeSpan.FromMinutes(ec.SessionTimeoutMinutes),
                MaxSession: TimeSpan.FromHours(ec.MaxSessionHours),
                HeartbeatSeconds: ec.HeartbeatSeconds,
                MinVisitSeconds: ec.MinVisitSeconds,
                MaxEngagedGap: TimeSpan.FromMinutes(ec.MaxEngagedGapMinutes),
                MaxEventsPerMinute: ec.MaxEventsPerMinute,
                BotUserAgents: ReferenceList(ec.BotUserAgentsFile, "bot_user_agents.txt").Concat(ec.BotUserAgents.Select(s => s.ToLowerInvariant())).Distinct().ToList(),
                SearchEngines: ReferenceList(ec.SearchEnginesFile, "search_engines.txt"),
                SocialNetworks: ReferenceList(ec.SocialNetworksFile, "social_networks.txt"),
                SiteHosts: ec.SiteHosts.Select(h => h.ToLowerInvariant()).ToList(),
                KeepQueryParams: ec.KeepQueryParams,
                KeepIpNetworkKey: ec.Ip == "network_key",
                RunId: run.RunId,
                IdentifierKeys: raw.Groups.SelectMany(g => g.Projection)
                    .Where(p => p.Canonical is "anonymous_id" or "user_agent" or "ip" && p.Source is not null)
                    .Select(p => p.Source!).Distinct().ToList());

            var d = engine.Dialect;
            // Each stage is materialised once and dropped as soon as nothing reads it any more. events_typed (the wide
            // payload) lives until the clean events are written; the ordering stages in between are narrow.
            long Scalar(object? v) => v is null ? 0 : Convert.ToInt64(v, CultureInfo.InvariantCulture);
            engine.Materialize("events_typed", EventsSql.Typed(d, options));
            step("typed");
            engine.DropRawInput("events_raw");
            var typed = engine.Query(EventsSql.TypedCounts())[0];
            engine.Materialize("events_rejected", EventsSql.Rejected());
            engine.Materialize("events_kept", EventsSql.Kept(d, options));
            step("deduplicated, bots flagged");
            var kept = engine.Query(EventsSql.KeptCounts())[0];
            engine.Materialize("events_sessionized", EventsSql.Sessionized(d, options));
            step("sessionized");
            engine.Execute("DROP TABLE IF EXISTS events_kept");
            var sessionized = engine.Query(EventsSql.SessionizedCounts())[0];
            report.RowsRead = Scalar(typed[0]);
            report.Duplicates = Scalar(typed[2]) - Scalar(kept[0]);
            report.BotsByRule["user_agent"] = Scalar(kept[1]);
            report.BotsByRule["event_rate"] = Scalar(kept[2]);
            report.Bots = Scalar(kept[1]) + Scalar(kept[2]);
            report.RowsQuarantined = Scalar(typed[1]) + Scalar(sessionized[0]);
            report.RowsWritten = Scalar(sessionized[1]);
            foreach (var row in engine.Query(EventsSql.QuarantineByReason()))
            {
                report.QuarantinedByReason[(string)row[0]!] = Convert.ToInt64(row[1], CultureInfo.InvariantCulture);
            }
            if (Scalar(sessionized[0]) > 0)
            {
                report.QuarantinedByReason["session_too_long"] = Scalar(sessionized[0]);
            }
            if (report.RowsRead == 0 && !config.Quality.AllowEmptyInput)
            {
                throw PipelineException.Input("the events input has no data rows; set quality.allow_empty_input to accept empty days");
            }

            var quarantined = engine.WriteParquet(EventsSql.Quarantine(d, options), run.StagingPath(QuarantineTable), []);
            // Written straight from the join (no materialised events_clean); sessions are then aggregated from the
            // staged files, which read back only the columns they need.
            var events = engine.WriteParquet(EventsSql.CleanEvents(d, options), run.StagingPath(EventsTable), ["event_date"]);
            step("clean events written");
            // No kept event writes no file, and there is then nothing to read back: the (empty) query itself serves.
            var cleanEvents = events > 0 ? engine.ParquetRelation(run.StagingPath(EventsTable)) : $"({EventsSql.CleanEvents(d, options)}) AS no_events";
            if (events > 0)
            {
                engine.Execute("DROP TABLE IF EXISTS events_sessionized");
                engine.Execute("DROP TABLE IF EXISTS events_typed");
            }
            var sessions = engine.WriteParquet(EventsSql.Sessions(d, options, cleanEvents), run.StagingPath(SessionsTable), ["session_date"]);
            engine.Execute("DROP TABLE IF EXISTS events_sessionized");
            engine.Execute("DROP TABLE IF EXISTS events_typed");
            step("sessions written");
            report.Counts["sessions"] = sessions;
            report.Counts["converted_sessions"] = Convert.ToInt64(engine.Query(
                $"SELECT count(*) FROM {engine.ParquetRelation(run.StagingPath(SessionsTable))} WHERE is_converted")[0][0], CultureInfo.InvariantCulture);

            run.CheckStaged(EventsTable, report.RowsWritten);
            run.CheckStaged(QuarantineTable, report.RowsQuarantined);
            run.CheckQualityGates(report, "event");
            run.Publish([(EventsTable, events), (SessionsTable, sessions), (QuarantineTable, quarantined)]);
        });
    }

    /// <summary>Reads a reference list (one entry per line, '#' comments), the configured file or the shipped one.</summary>
    internal static List<string> ReferenceList(string? configured, string shipped)
    {
        var path = configured ?? Path.Combine(AppContext.BaseDirectory, "refdata", shipped);
        if (!File.Exists(path))
        {
            throw PipelineException.Config($"reference list not found: {path}");
        }
        return File.ReadAllLines(path)
            .Select(l => (l.Contains('#', StringComparison.Ordinal) ? l[..l.IndexOf('#', StringComparison.Ordinal)] : l).Trim().ToLowerInvariant())
            .Where(l => l.Length > 0)
            .Distinct()
            .ToList();
    }
}
