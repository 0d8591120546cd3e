using System.Globalization;
using Pipeline.Core;
using Pipeline.Engine;
using Pipeline.Inputs;
using Pipeline.Runs;

namespace Pipeline.Stages.Events;

/// <summary>How a full clean-clicks run cuts the history: fixed days per slice, or as many days as fit a row budget.</summary>
/// <param name="Days">Days per slice (<c>engine.slice_days</c>), or 0 to fill each slice up to <paramref name="RowBudget"/>.</param>
/// <param name="RowBudget">Events one slice (and one typing chunk of input files) may hold.</param>
public sealed record SlicePlan(int Days, long RowBudget);

/// <summary>
/// A full clean-clicks run in time slices, for histories larger than the engine's memory (100M events on one machine).
/// The one-pass run holds every event in one table while it sorts them for dedup and sessions, and at 100M events
/// the spilled copies of that table filled 65 GB of disk. Here the working state is bounded by a slice:
/// <list type="number">
/// <item>The input files are typed in chunks (whole files, each chunk within the row budget) straight into scratch
/// Parquet, a file per batch of consecutive input files, in their order: compressed, and read back per slice by a
/// time range that the row groups' statistics narrow to the few that hold it. That takes input files in time order,
/// as exports come; a scratch file whose row groups the slices would each read (files in no order of time) is sorted
/// by time first (<see cref="FilesToSort"/>).</item>
/// <item>What reaches across the whole history needs narrow keys only: duplicates by event id (hashes first, then the
/// ids of the few candidates), then per slice the rate-bot ids (a minute never crosses a day) and each anonymous id's
/// last user_id, combined into the one-pass identity table.</item>
/// <item>Slices are sessionized in time order with the one-pass SQL. A session still open at a slice's end (its last
/// event within the session timeout of it) is carried, events and payload, into the next slice, so sessions that
/// cross borders, and the too-long rule, come out as in one pass. Closed sessions' events and session rows wait in
/// small tables until their dates are final (no open session started on or before them), then each date's partition is
/// written once, in the one-pass order: the same files as the one-pass run.</item>
/// </list>
/// </summary>
public static class SlicedCleanClicks
{
    /// <summary>
    /// Memory planned per event of a slice: a slice's typed rows (≈ 300 bytes with their strings), the narrow session
    /// tables and the sorts over them, with room for DuckDB's own overhead.
    /// </summary>
    public const long BytesPerSliceEvent = 1000;

    /// <summary>
    /// Memory per event up to which the automatic plan runs one pass (15M events at a 6 GB limit). What slices bound is
    /// the spill, and the one pass spills little below that: on the generated 10M set (2026-12-04, memory_limit 6GB,
    /// 2 threads) one pass peaked at 5.1 GiB RSS and 3.3 GB of spill and took 126 s, against 148 s in two slices
    /// (scratch Parquet written and read back, open sessions carried); at 100M it needed ≈ 65 GB of spill.
    /// </summary>
    public const long BytesPerOnePassEvent = 400;

    /// <summary>
    /// The plan for a full run, or null for one pass: the engine has no memory bound of its own (Spark),
    /// <paramref name="sliceDays"/> is −1, or it is 0 (automatic) and the input's estimated events are within
    /// <see cref="BytesPerOnePassEvent"/> of the memory limit. Slices hold up to the limit at <see cref="BytesPerSliceEvent"/>.
    /// </summary>
    public static SlicePlan? Plan(IEngine engine, int sliceDays, IReadOnlyList<InputFile> files)
    {
        if (engine.MemoryLimitBytes is not { } memory || files.Count == 0 || sliceDays < 0)
        {
            return null;
        }
        var budget = Math.Max(100_000, memory / BytesPerSliceEvent);
        if (sliceDays > 0)
        {
            return new SlicePlan(sliceDays, budget);
        }
        return files.Sum(EstimatedRows) > Math.Max(budget, memory / BytesPerOnePassEvent) ? new SlicePlan(0, budget) : null;
    }

    /// <summary>
    /// Rows a file holds, estimated before it is read: its text size over the mean length of the lines in its first
    /// <see cref="SampleBytes"/> (a gzip file's text size is the size its trailer records when that cannot have wrapped,
    /// else its size times the sample's compression ratio), or ≈ 300 bytes a row when no line ends in the sample (gzip
    /// ≈ 10× smaller); Parquet ≈ 4× its size in text. Only decides
    /// whether to slice and how files are chunked for typing; the slices themselves are cut on the counted rows.
    /// </summary>
    public static long EstimatedRows(InputFile file)
    {
        if (file.Format != "parquet")
        {
            try
            {
                var (textBytes, lineBytes) = SampleText(file);
                if (lineBytes > 0)
                {
                    return Math.Max(1, (long)Math.Ceiling(textBytes / lineBytes));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                // Unreadable here means unreadable later too, where the error is reported properly: estimate by size.
            }
        }
        var bytes = file.Bytes * (file.Gzip ? 10 : 1) * (file.Format == "parquet" ? 4 : 1);
        return Math.Max(1, bytes / 300);
    }

    /// <summary>Text read from the start of a file to measure its line length.</summary>
    private const int SampleBytes = 256 * 1024;

    /// <summary>The file's size as text, and the mean length of the whole lines in its first <see cref="SampleBytes"/> (0: none).</summary>
    private static (double TextBytes, double LineBytes) SampleText(InputFile file)
    {
        using var raw = File.OpenRead(file.Path);
        uint trailerSize = 0;
        if (file.Gzip)
        {
            trailerSize = InputResolver.GzipTrailerSize(raw);
            raw.Seek(0, SeekOrigin.Begin);
        }
        using Stream text = file.Gzip ? new System.IO.Compression.GZipStream(raw, System.IO.Compression.CompressionMode.Decompress, leaveOpen: true) : raw;
        var buffer = new byte[SampleBytes];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = text.Read(buffer, read, buffer.Length - read)) > 0)
        {
            read += n;
        }
        double textBytes = file.Bytes;
        if (file.Gzip)
        {
            // The trailer (the text size modulo 2^32) cannot have wrapped below 200 MB of gzip: the text would be over
            // 20× that. Above, or if it is smaller than the file, the sample's own compression ratio.
            textBytes = trailerSize >= file.Bytes && file.Bytes < 200L << 20
                ? trailerSize
                : file.Bytes * (read > 0 && raw.Position > 0 ? Math.Max(1.0, read / (double)raw.Position) : 10.0);
        }
        var sample = buffer.AsSpan(0, read);
        var lines = sample.Count((byte)'\n');
        return lines == 0 ? (textBytes, 0) : (textBytes, (sample.LastIndexOf((byte)'\n') + 1) / (double)lines);
    }

    /// <summary>Counts the sliced run adds up for the stage report.</summary>
    /// <param name="Days">The rows of clean/event_days.</param>
    public sealed record Outcome(long Events, long Sessions, long Quarantined, IReadOnlyList<object?[]> FileRanges, List<EventDayRow> Days);

    /// <summary>Runs the full stage in slices; fills <paramref name="report"/> as the one-pass run does and stages the three tables.</summary>
    public static Outcome Run(StageContext run, EventsSqlOptions o, RawInput raw, IReadOnlyList<InputFile> files, SlicePlan plan,
        StageReport report, Action<string> step, Action<StageReport> checkNotEmpty)
    {
        var engine = run.Engine;
        var d = engine.Dialect;
        var work = run.StagingPath(Path.Combine("_work", "clean-clicks"));
        try
        {
            // 1. Typing, in chunks of whole files, straight to scratch Parquet (valid and rejected rows together).
            var ranges = new List<object?[]>();
            long read = 0, rejected = 0, valid = 0;
            var days = new EventDays(o.MinValidDate);
            void AddDays(string sql, params EventDays.Figure[] figures) => days.Add(engine.Query(sql).Where(r => r[0] is not null).ToList(), figures);
            var chunks = Chunks(files, plan.RowBudget);
            for (var k = 0; k < chunks.Count; k++)
            {
                var inChunk = chunks[k].Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
                var part = new RawInput(raw.Groups.Select(g => g with { Files = g.Files.Where(inChunk.Contains).ToList() })
                    .Where(g => g.Files.Count > 0).ToList());
                // Zero-padded, so the files list in chunk order (c10 would sort before c2).
                var chunkFolder = Path.Combine(work, "typed", "c" + k.ToString("0000", CultureInfo.InvariantCulture));
                engine.WriteScratchFromRawInput("events_raw", part, EventsSliceSql.Scratch(EventsSql.Typed(d, o)), chunkFolder);
                // The chunk's counts, from the narrow columns of its files.
                engine.Execute($"CREATE OR REPLACE TEMP VIEW events_typed AS SELECT * FROM {engine.ParquetFiles(ScratchFiles(chunkFolder))} s");
                var typedDays = engine.Query(EventsSql.TypedDays(d, o));
                days.Add(typedDays.Where(r => r[0] is not null).ToList(), EventDays.Figure.Read, EventDays.Figure.TypedQuarantined, EventDays.Figure.Valid);
                read += typedDays.Sum(r => Long(r[1]));
                rejected += typedDays.Sum(r => Long(r[2]));
                valid += typedDays.Sum(r => Long(r[3]));
                ranges.AddRange(engine.Query(EventsSql.FileRanges()));
                engine.Execute("DROP VIEW IF EXISTS events_typed");
                step($"read and typed (chunk {k + 1} of {chunks.Count}: {chunks[k].Count} file(s))");
            }
            report.RowsRead = read;
            checkNotEmpty(report);
            // Cut by the valid rows per day as the books count them: a valid row's timestamp is never missing, before
            // min_valid_date or in the future, so every valid row is on a day.
            var slices = Slices(days.Counts(EventDays.Figure.Valid), plan);
            var typedFiles = SortedWhereNeeded(engine, ScratchFiles(Path.Combine(work, "typed")), slices, step);
            run.Log.Info($"{read} row(s) read; {slices.Count} slice(s) of {(plan.Days > 0 ? $"{plan.Days} day(s)" : $"up to {plan.RowBudget} events")}", "clean-clicks");

            // 2. Duplicates over the whole history, on hashes of the ids.
            var allValid = typedFiles.Count == 0 ? null : EventsSliceSql.Valid(engine.ParquetFiles(typedFiles));
            engine.Materialize("events_duplicate_hashes", allValid is null ? "SELECT CAST(0 AS UBIGINT) AS h WHERE 1 = 0" : EventsSliceSql.DuplicateHashes(d, allValid));
            engine.Materialize("events_losers", allValid is null
                ? $"SELECT CAST(NULL AS {d.StringType}) AS _source_file, CAST(NULL AS BIGINT) AS _source_line, CAST(NULL AS TIMESTAMP) AS occurred_at WHERE 1 = 0"
                : EventsSliceSql.Losers(d, allValid));
            engine.Execute("DROP TABLE IF EXISTS events_duplicate_hashes");
            var duplicates = Long(engine.Query("SELECT count(*) FROM events_losers")[0][0]);
            if (duplicates > 0)
            {
                AddDays(EventsSliceSql.LoserDays(d, o), EventDays.Figure.Duplicates);
            }
            step("duplicates found");

            // 3. Per slice: rate-bot ids and identity parts; then the history's identities.
            long uaBots = 0;
            var created = new HashSet<string>(StringComparer.Ordinal);
            void Append(string table, string sql)
            {
                if (created.Add(table))
                {
                    engine.Materialize(table, sql);
                }
                else
                {
                    engine.Execute($"INSERT INTO {d.Id(table)} {sql}");
                }
            }
            engine.Materialize("events_fast", $"SELECT CAST(NULL AS {d.StringType}) AS anon_src WHERE 1 = 0");
            created.Add("events_fast");
            foreach (var slice in slices)
            {
                engine.Materialize("events_slice_firsts", EventsSliceSql.Firsts(SliceRelation(engine, typedFiles, slice)));
                uaBots += Long(engine.Query(EventsSliceSql.UserAgentBots())[0][0]);
                AddDays(EventsSliceSql.UserAgentBotDays(d, o), EventDays.Figure.UserAgentBots);
                Append("events_fast", EventsSql.FastAnonymousIds(d, o, "events_slice_firsts"));
                Append("events_identity_parts", EventsSliceSql.IdentityPart(d));
            }
            var rateBots = created.Contains("events_identity_parts") ? Long(engine.Query(EventsSliceSql.RateBots())[0][0]) : 0;
            engine.Execute("DROP TABLE IF EXISTS events_slice_firsts");
            engine.Materialize("events_identities", created.Contains("events_identity_parts")
                ? EventsSliceSql.Identities(d)
                : $"SELECT CAST(NULL AS {d.StringType}) AS anon_src, CAST(NULL AS {d.StringType}) AS stitched_customer, CAST(NULL AS {d.StringType}) AS anonymous_key WHERE 1 = 0");
            engine.Execute("DROP TABLE IF EXISTS events_identity_parts");
            step("bots flagged, identities stitched");

            // 4. Per slice, in time order: sessions, with the open ones carried; final dates written.
            long events = 0, sessions = 0;
            var eventsPath = run.StagingPath(TableNames.CleanEvents);
            var sessionsPath = run.StagingPath(TableNames.Sessions);
            var carry = false;
            for (var i = 0; i < slices.Count; i++)
            {
                var slice = slices[i];
                var last = i == slices.Count - 1;
                var relation = SliceRelation(engine, typedFiles, slice);
                engine.Materialize("events_typed", EventsSliceSql.SliceTyped(relation, carry));
                engine.Materialize("events_kept", EventsSliceSql.Kept(d));
                engine.Materialize("events_sessionized", EventsSql.Sessionized(d, o, withBounds: true));
                engine.Execute("DROP TABLE IF EXISTS events_kept");
                var sliceEnd = slice.Last.AddDays(1);
                var closed = last ? null : EventsSliceSql.Closed(d, o, sliceEnd);
                // Shared: each is written by the engine as it is (Flush), not copied into a table of its own first.
                engine.MaterializeShared("events_slice_clean", EventsSql.CleanEvents(d, o, closed, ordered: false));
                engine.MaterializeShared("sessions_slice", EventsSql.Sessions(d, o, "events_slice_clean", ordered: false));
                Append("events_too_long", EventsSql.TooLongEvents(closed));
                DateOnly? final = null;
                if (closed is not null)
                {
                    engine.Materialize("events_carry_next", EventsSliceSql.Carry(closed));
                    final = engine.Query(EventsSliceSql.EarliestOpenStart(closed))[0][0] is DateTime openStart
                        ? Min(sliceEnd, DateOnly.FromDateTime(openStart))
                        : sliceEnd;
                }
                engine.Execute("DROP TABLE IF EXISTS events_sessionized");
                engine.Execute("DROP TABLE IF EXISTS events_typed");
                engine.Execute("DROP TABLE IF EXISTS events_carry");
                carry = closed is not null;
                if (carry)
                {
                    engine.Materialize("events_carry", "SELECT * FROM events_carry_next");
                    engine.Execute("DROP TABLE IF EXISTS events_carry_next");
                }
                events += Flush("events_slice_clean", "events_pending", "event_date", EventsSql.EventsOrder, eventsPath, final);
                sessions += Flush("sessions_slice", "sessions_pending", "session_date", EventsSql.SessionsOrder, sessionsPath, final);
                step($"slice {i + 1} of {slices.Count} ({slice.First:yyyy-MM-dd} to {slice.Last:yyyy-MM-dd}) sessionized and written");
            }

            // 5. The quarantine: the rejected rows of every chunk, and the events of too-long sessions.
            engine.Materialize("events_rejected", EventsSliceSql.Rejected(engine.ParquetFiles(typedFiles)));
            var tooLong = created.Contains("events_too_long") ? Long(engine.Query("SELECT count(*) FROM events_too_long")[0][0]) : 0;
            if (tooLong > 0)
            {
                AddDays(EventsSliceSql.TooLongDays(d, o), EventDays.Figure.TooLong);
            }
            if (events > 0)
            {
                AddDays(EventsSliceSql.WrittenDays(d, engine.ParquetRelation(eventsPath)), EventDays.Figure.Kept, EventDays.Figure.ActiveHours);
            }
            var quarantined = engine.WriteParquet(EventsSql.Quarantine(d, o, created.Contains("events_too_long")
                    ? "SELECT * FROM events_too_long"
                    : "SELECT _source_file, _source_line, event_id, occurred_at, event_type FROM events_rejected WHERE 1 = 0"),
                run.StagingPath(TableNames.QuarantineEvents), []);
            foreach (var table in new[] { "events_slice_clean", "sessions_slice", "events_too_long", "events_pending", "sessions_pending", "events_losers", "events_fast", "events_identities" })
            {
                engine.Execute($"DROP TABLE IF EXISTS {table}");
            }
            step("quarantine written");

            report.Duplicates = duplicates;
            report.BotsByRule["user_agent"] = uaBots;
            report.BotsByRule["event_rate"] = rateBots;
            report.Bots = uaBots + rateBots;
            report.RowsQuarantined = rejected + tooLong;
            report.RowsWritten = events;
            report.RowsContext = 0;
            if (tooLong > 0)
            {
                report.QuarantinedByReason["session_too_long"] = tooLong;
            }
            if (valid - duplicates - uaBots - rateBots != events + tooLong)
            {
                throw PipelineException.Quality($"clean-clicks in slices: {valid} valid rows, {duplicates} duplicates, {uaBots + rateBots} bots, " +
                    $"{tooLong} in too-long sessions and {events} written do not add up");
            }
            return new Outcome(events, sessions, quarantined, ranges, days.SlicedRows());

            // A slice's rows (its clean events, its sessions: `fresh`) are written together with the (few) rows still
            // pending from earlier slices, for the dates before `before` (all of them after the last slice); only the
            // later dates' rows wait in `pending`. The pending rows (a day or two) join the slice's table and the later
            // dates leave it, so the table is written as it is: copying every slice's events into the pending table cost
            // a wide copy of the whole history (5.6 s at 10M events), and staging a copy of each slice for the write
            // 0.95 s of a 16 s slice of 8M events.
            long Flush(string fresh, string pending, string dateColumn, string order, string path, DateOnly? before)
            {
                if (created.Remove(pending))
                {
                    engine.Execute($"INSERT INTO {fresh} SELECT * FROM {pending}");
                    engine.Execute($"DROP TABLE {pending}");
                }
                if (before is { } kept)
                {
                    Append(pending, $"SELECT * FROM {fresh} WHERE {dateColumn} >= {d.DateLiteral(kept)}");
                    engine.Execute($"DELETE FROM {fresh} WHERE {dateColumn} >= {d.DateLiteral(kept)}");
                }
                return engine.WriteTableParquet(fresh, order, path, [dateColumn]);
            }
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>A slice: whole UTC days, <paramref name="First"/> to <paramref name="Last"/>.</summary>
    public sealed record Slice(DateOnly First, DateOnly Last);

    /// <summary>
    /// Consecutive days with events cut into slices: fixed calendar blocks of <see cref="SlicePlan.Days"/>, or as many days
    /// as fit the row budget (a day larger than the budget is a slice of its own).
    /// </summary>
    public static List<Slice> Slices(IReadOnlyDictionary<DateOnly, long> rowsByDay, SlicePlan plan)
    {
        var slices = new List<Slice>();
        var days = rowsByDay.Keys.Order().ToList();
        if (days.Count == 0)
        {
            return slices;
        }
        DateOnly first = days[0], lastDay = days[0];
        long rows = 0;
        foreach (var day in days)
        {
            var full = plan.Days > 0
                ? day.DayNumber - first.DayNumber >= plan.Days
                : rows > 0 && rows + rowsByDay[day] > plan.RowBudget;
            if (full)
            {
                slices.Add(new Slice(first, lastDay));
                first = plan.Days > 0 ? first.AddDays((day.DayNumber - first.DayNumber) / plan.Days * plan.Days) : day;
                rows = 0;
            }
            rows += rowsByDay[day];
            lastDay = day;
        }
        slices.Add(new Slice(first, lastDay));
        return slices;
    }

    /// <summary>Input files in their order, cut into chunks whose estimated rows fit the budget (a file is never split).</summary>
    private static List<List<InputFile>> Chunks(IReadOnlyList<InputFile> files, long budget)
    {
        var chunks = new List<List<InputFile>> { new() };
        long rows = 0;
        foreach (var file in files)
        {
            var estimate = EstimatedRows(file);
            if (chunks[^1].Count > 0 && rows + estimate > budget)
            {
                chunks.Add([]);
                rows = 0;
            }
            chunks[^1].Add(file);
            rows += estimate;
        }
        return chunks;
    }

    /// <summary>
    /// Reads per row above which a scratch file is sorted: its row groups are read by this many slices on average. Typed
    /// from input files in time order, a row group is read by one slice (two at a border); typed from files in no
    /// order of time, every slice reads every row group.
    /// </summary>
    public const double MaxReadsPerRow = 2.0;

    /// <summary>
    /// The scratch files, with those whose rows the slices would read too often (<see cref="FilesToSort"/>) rewritten
    /// sorted by valid_at, in the same order. All of them when the engine cannot tell its row groups' ranges.
    /// </summary>
    private static List<string> SortedWhereNeeded(IEngine engine, List<string> files, IReadOnlyList<Slice> slices, Action<string> step)
    {
        var ranges = engine.RowGroupRanges(files, "valid_at");
        var toSort = (ranges is null ? files : FilesToSort(ranges, slices)).ToHashSet(StringComparer.Ordinal);
        if (toSort.Count == 0)
        {
            return files;
        }
        var sorted = new List<string>();
        foreach (var file in files)
        {
            if (!toSort.Contains(file))
            {
                sorted.Add(file);
                continue;
            }
            // Beside the file, in a folder named after it: the files keep their order.
            var folder = Path.ChangeExtension(file, null) + "-sorted";
            engine.WriteScratchParquet($"SELECT * FROM {engine.ParquetFiles([file])} s", folder, "valid_at");
            File.Delete(file);
            sorted.AddRange(ScratchFiles(folder));
        }
        step($"{toSort.Count} of {files.Count} scratch file(s) sorted by time");
        return sorted;
    }

    /// <summary>
    /// The files whose row groups would be read more than <see cref="MaxReadsPerRow"/> times per row by the slices
    /// (a row group is read by every slice its range of valid_at overlaps), and which sorting can help: more than one
    /// row group. Input files not in time order make such files; sorting them bounds the slices' reading again.
    /// </summary>
    public static IReadOnlyList<string> FilesToSort(IReadOnlyList<RowGroupRange> rowGroups, IReadOnlyList<Slice> slices)
    {
        var bounds = slices.Select(s => (Start: Micros(s.First), End: Micros(s.Last.AddDays(1)))).ToList();
        return rowGroups.GroupBy(g => g.File, StringComparer.Ordinal)
            .Where(f => f.Count() > 1)
            .Where(f =>
            {
                var rows = f.Sum(g => g.Rows);
                var reads = f.Sum(g => g.MinMicros is { } min && g.MaxMicros is { } max
                    ? g.Rows * bounds.Count(b => min < b.End && max >= b.Start)
                    : 0);
                return reads > MaxReadsPerRow * rows;
            })
            .Select(f => f.Key)
            .ToList();

        static long Micros(DateOnly day) => (day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) - DateTime.UnixEpoch).Ticks / 10;
    }

    /// <summary>The scratch files under one folder (<c>typed/c{chunk}/*.parquet</c>), in chunk order.</summary>
    private static List<string> ScratchFiles(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFiles(folder, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>The typed rows of a slice's days (a slice is cut from days that have rows, so there are files).</summary>
    private static string SliceRelation(IEngine engine, IReadOnlyList<string> typedFiles, Slice slice) =>
        EventsSliceSql.DayRange(engine.Dialect, engine.ParquetFiles(typedFiles), slice.First, slice.Last);

    private static DateOnly Min(DateOnly a, DateOnly b) => a < b ? a : b;

    private static long Long(object? value) => value is null ? 0 : Convert.ToInt64(value, CultureInfo.InvariantCulture);
}
