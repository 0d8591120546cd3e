using System.Globalization;
using Pipeline.Core;
using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Publishing;
using Pipeline.Runs;

namespace Pipeline.Stages.Events;

/// <summary>What an incremental clean-clicks rewrites (<paramref name="Window"/>) and the consumed files it does not read again.</summary>
public sealed record EventsIncrement(EventsWindow Window, IReadOnlyList<ConsumedFile> Previous);

/// <summary>
/// <c>pipeline clean-clicks</c>: raw tracker events → <c>clean/events</c> (one row per kept event, by event_date),
/// <c>sessions</c> (one row per session, by session_date) and <c>quarantine/events</c>, published atomically.
/// Accounting: read = kept + quarantined (incl. session_too_long) + duplicates + bots, exactly.
/// </summary>
public static class CleanClicksJob
{
    private const string EventsTable = TableNames.CleanEvents;
    private const string SessionsTable = TableNames.Sessions;
    private const string QuarantineTable = TableNames.QuarantineEvents;
    private const string IdentitiesTable = TableNames.CleanIdentities;
    private const string EventDaysTable = TableNames.CleanEventDays;

    /// <summary>
    /// Runs the stage; with <paramref name="increment"/> (from <c>pipeline run</c>) only the partitions of its window are
    /// rewritten and the quarantine rows of files this run did not read are carried over; <paramref name="files"/> are
    /// then the input files it reads (new ones and those holding the window's context).
    /// </summary>
    public static StageReport Run(StageContext run, CleanClicksSettings settings, EventsIncrement? increment, IReadOnlyList<InputFile>? files)
    {
        var ec = settings.Events;
        return run.Measure("clean-clicks", report =>
        {
            var raw = run.ReadInput("events", files);
            InputBinder.Require(raw, ["occurred_at", "event_type"], "events");
            run.Log.Info($"{raw.Groups.Sum(g => g.Files.Count)} file(s)", "clean-clicks");

            var engine = run.Engine;
            var step = run.StepTimer("clean-clicks");
            var (ipad, opad) = run.HashKey.Pads();
            engine.RegisterHashKey(ipad, opad);

            var typeMap = new Dictionary<string, string>(EventsSql.Synonyms);
            foreach (var (from, to) in ec.EventTypeMap)
            {
                typeMap[from.Trim().ToLowerInvariant()] = to;
            }
            var options = new EventsSqlOptions(
                SourceTimeZone: settings.SourceTimeZone,
                TimestampFormat: ec.TimestampFormat,
                Now: run.Now,
                FutureTolerance: settings.Quality.FutureTolerance,
                MinValidDate: settings.Quality.MinValidDate,
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
                KeepIpNetworkKey: settings.Ip == IpHandling.NetworkKey,
                RunId: run.RunId,
                Window: increment?.Window,
                IdentifierKeys: raw.Groups.SelectMany(g => g.Projection)
                    .Where(p => p.Canonical is "anonymous_id" or "user_agent" or "ip" && p.Source is not null)
                    .Select(p => p.Source!).Distinct().ToList());

            var d = engine.Dialect;
            void CheckNotEmpty(StageReport r)
            {
                if (r.RowsRead == 0 && !settings.Quality.AllowEmptyInput)
                {
                    throw PipelineException.Input("the events input has no data rows; set quality.allow_empty_input to accept empty days");
                }
            }
            long events, sessions, quarantined, identities, eventDays, carriedRows = 0;
            var allFiles = run.Files("events");
            var slicePlan = increment is null ? SlicedCleanClicks.Plan(engine, run.SliceDays, allFiles) : null;
            if (slicePlan is not null)
            {
                var outcome = SlicedCleanClicks.Run(run, options, raw, allFiles, slicePlan, report, step, CheckNotEmpty);
                RecordConsumed(run, outcome.FileRanges, null);
                (events, sessions, quarantined) = (outcome.Events, outcome.Sessions, outcome.Quarantined);
                eventDays = EventDays.Write(engine, outcome.Days, run.StagingPath(EventDaysTable), null, null);
                identities = CleanIdentities.WriteFull(run, engine, events > 0 ? engine.ParquetRelation(run.StagingPath(EventsTable)) : null);
                foreach (var row in engine.Query(EventsSql.QuarantineByReason()))
                {
                    report.QuarantinedByReason[(string)row[0]!] = Convert.ToInt64(row[1], CultureInfo.InvariantCulture);
                }
                engine.Execute("DROP TABLE IF EXISTS events_rejected");
            }
            else
            {
                // Each stage is materialised once and dropped as soon as nothing reads it any more. events_typed (the wide
                // payload) lives until the clean events are written; the ordering stages in between are narrow.
                long Scalar(object? v) => v is null ? 0 : Convert.ToInt64(v, CultureInfo.InvariantCulture);
                // The counts are taken per day (clean/event_days); the stage's totals are their sums.
                var days = new EventDays(options.MinValidDate);
                object?[] Counted(string sql, params EventDays.Figure[] figures)
                {
                    var rows = engine.Query(sql);
                    days.Add(rows.Where(r => r[0] is not null).ToList(), figures);
                    return Enumerable.Range(1, figures.Length).Select(i => (object?)rows.Sum(r => Scalar(r[i]))).ToArray();
                }
                engine.MaterializeFromRawInput("events_typed", "events_raw", raw, EventsSql.Typed(d, options));
                step("read and typed");
                var typed = Counted(EventsSql.TypedDays(d, options), EventDays.Figure.Read, EventDays.Figure.TypedQuarantined, EventDays.Figure.Valid);
                RecordConsumed(run, engine.Query(EventsSql.FileRanges()), increment);
                if (increment is not null)
                {
                    // The customers the window is stitched with: the published identities, not the event history.
                    CleanIdentities.LoadPrevious(run, engine);
                }
                engine.Materialize("events_rejected", EventsSql.Rejected());
                engine.Materialize("events_kept", EventsSql.Kept(d, options));
                step("deduplicated, bots flagged");
                var kept = Counted(EventsSql.KeptDays(d, options), EventDays.Figure.Firsts, EventDays.Figure.UserAgentBots, EventDays.Figure.RateBots);
                engine.Materialize("events_identities", EventsSql.Identities(d, options));
                engine.Materialize("events_sessionized", EventsSql.Sessionized(d, options));
                step("sessionized");
                engine.Execute("DROP TABLE IF EXISTS events_kept");
                var sessionized = Counted(EventsSql.SessionizedDays(d, options), EventDays.Figure.TooLong, EventDays.Figure.Kept, EventDays.Figure.ActiveHours);
                report.RowsRead = Scalar(typed[0]);
                report.Duplicates = Scalar(typed[2]) - Scalar(kept[0]);
                report.BotsByRule["user_agent"] = Scalar(kept[1]);
                report.BotsByRule["event_rate"] = Scalar(kept[2]);
                report.Bots = Scalar(kept[1]) + Scalar(kept[2]);
                report.RowsQuarantined = Scalar(typed[1]) + Scalar(sessionized[0]);
                report.RowsWritten = increment is null ? Scalar(sessionized[1]) : Scalar(engine.Query(EventsSql.SessionizedInWindow(d, increment.Window.From))[0][0]);
                report.RowsContext = Scalar(sessionized[1]) - report.RowsWritten;
                foreach (var row in engine.Query(EventsSql.QuarantineByReason()))
                {
                    report.QuarantinedByReason[(string)row[0]!] = Convert.ToInt64(row[1], CultureInfo.InvariantCulture);
                }
                if (Scalar(sessionized[0]) > 0)
                {
                    report.QuarantinedByReason["session_too_long"] = Scalar(sessionized[0]);
                }
                CheckNotEmpty(report);

                // Incremental: the quarantine table keeps the rows of the files this run did not read again.
                var carried = increment is not null && OutputStore.HasParquet(run.PublishedPath(QuarantineTable))
                    ? EventsSql.CarriedQuarantine(engine.ParquetRelation(run.PublishedPath(QuarantineTable)), raw.Groups.SelectMany(g => g.Files).ToList(), d)
                    : null;
                quarantined = engine.WriteParquet(carried is null ? EventsSql.Quarantine(d, options) : EventsSql.QuarantineWithCarried(EventsSql.Quarantine(d, options), carried),
                    run.StagingPath(QuarantineTable), []);
                carriedRows = carried is null ? 0 : Scalar(engine.Query(EventsSql.CarriedQuarantineRows(carried))[0][0]);
                // The tables the clean events are joined from; dropped as soon as nothing reads them.
                void DropJoinedTables()
                {
                    engine.Execute("DROP TABLE IF EXISTS events_sessionized");
                    engine.Execute("DROP TABLE IF EXISTS events_identities");
                    engine.Execute("DROP TABLE IF EXISTS events_typed");
                }
                if (increment is not null)
                {
                    // Incremental (small by design): the window's events, and the sessions starting in it aggregated over
                    // all their events, context before the window included.
                    events = engine.WriteParquet(EventsSql.CleanEventsInWindow(d, options, increment.Window.From), run.StagingPath(EventsTable), ["event_date"]);
                    sessions = engine.WriteParquet(EventsSql.SessionsInWindow(d, options, increment.Window.From), run.StagingPath(SessionsTable), ["session_date"]);
                    DropJoinedTables();
                    identities = CleanIdentities.WriteIncremental(run, engine, increment.Window.From, events, report);
                    eventDays = EventDays.Write(engine, days.OnePassRows(increment.Window.From), run.StagingPath(EventDaysTable), run.PublishedPath(EventDaysTable), increment.Window.From);
                    step("window events, sessions and identities written");
                }
                else
                {
                    // Written straight from the join (no materialised events_clean); sessions are then aggregated from the
                    // staged files, which read back only the columns they need.
                    events = engine.WriteParquet(EventsSql.CleanEvents(d, options), run.StagingPath(EventsTable), ["event_date"]);
                    step("clean events written");
                    // No kept event writes no file, and there is then nothing to read back: the (empty) query itself serves.
                    var cleanEvents = events > 0 ? engine.ParquetRelation(run.StagingPath(EventsTable)) : $"({EventsSql.CleanEvents(d, options)}) AS no_events";
                    if (events > 0)
                    {
                        DropJoinedTables(); // the sessions read the staged files, not these
                    }
                    sessions = engine.WriteParquet(EventsSql.Sessions(d, options, cleanEvents), run.StagingPath(SessionsTable), ["session_date"]);
                    identities = CleanIdentities.WriteFull(run, engine, cleanEvents);
                    eventDays = EventDays.Write(engine, days.OnePassRows(null), run.StagingPath(EventDaysTable), null, null);
                    if (events == 0)
                    {
                        DropJoinedTables(); // the empty queries above still read them
                    }
                    step("sessions and identities written");
                }
            }
            report.Counts["quarantine_rows_carried"] = carriedRows;
            report.Counts["sessions"] = sessions;
            // No session writes no file (every row rejected, or a day of bots only): nothing to count.
            report.Counts["converted_sessions"] = sessions == 0 ? 0 : Convert.ToInt64(engine.Query(
                EventsSql.ConvertedSessions(engine.ParquetRelation(run.StagingPath(SessionsTable))))[0][0], CultureInfo.InvariantCulture);

            run.CheckStaged(EventsTable, report.RowsWritten);
            run.CheckStaged(QuarantineTable, report.RowsQuarantined + carriedRows);
            run.CheckQualityGates(report, "event", settings.Quality.MaxQuarantineShare);
            // Incremental: only the window's partitions are replaced. The quarantine table (carried rows included) and the
            // identities are always replaced whole.
            var full = increment is null;
            run.Publish([(EventsTable, events, full), (SessionsTable, sessions, full), (QuarantineTable, quarantined, true), (IdentitiesTable, identities, true), (EventDaysTable, eventDays, true)]);
        });
    }

    /// <summary>
    /// The manifest's list of consumed files: the previous run's (files not read again) plus every file this run read,
    /// with its rows and the range of its valid timestamps, for the next incremental run.
    /// </summary>
    private static void RecordConsumed(StageContext run, IReadOnlyList<object?[]> ranges, EventsIncrement? increment)
    {
        var byFile = ranges.ToDictionary(r => (string)r[0]!, r => r, StringComparer.Ordinal);
        static DateTimeOffset? Ts(object? v) => v switch
        {
            DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
            DateTimeOffset t => t.ToUniversalTime(),
            _ => null,
        };
        var read = run.InputsRead.Select(f => byFile.TryGetValue(f.Path, out var r)
            ? new ConsumedFile(f.Path, f.Sha256, Convert.ToInt64(r[1], CultureInfo.InvariantCulture), Ts(r[2]), Ts(r[3]))
            : new ConsumedFile(f.Path, f.Sha256, 0, null, null)).ToList();
        var readPaths = read.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var consumed = (increment?.Previous ?? []).Where(f => !readPaths.Contains(f.Path)).Concat(read).ToList();
        consumed.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        run.RecordConsumed(consumed);
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
