using System.Globalization;
using Parquet.Serialization.Attributes;
using Pipeline.Core;
using Pipeline.Engine;
using Pipeline.Inputs;
using Pipeline.Models;
using Pipeline.Models.Alerts;
using Pipeline.Publishing;
using Pipeline.Runs;

namespace Pipeline.Stages.Alerts;

/// <summary>
/// <c>pipeline alerts</c>: builds the daily series it watches (from the KPI tables, sessions and clean events, or from
/// a metrics file), judges every day of each with <see cref="AnomalyDetector"/>, explains each overall alert by the
/// channel, device or landing-page group whose deviation makes most of it, and publishes the flagged days as <c>kpi/alerts</c>. The last
/// day's alerts are logged as warnings; under <c>alerts.fail_on</c> they set the exit code (6).
/// </summary>
public static class AlertsJob
{
    private const string Table = TableNames.KpiAlerts;
    private const string BandsTable = TableNames.KpiAlertBands;
    private const string StageName = "alerts";

    /// <summary>kpi/alert_bands: series with an alert in this many last days of the data …</summary>
    internal const int BandAlertDays = 7;

    /// <summary>… get this many last days of their series, expectation and band (8 weeks).</summary>
    internal const int BandDays = 56;

    public static void Run(StageContext run, AlertsSettings settings)
    {
        var options = new DetectorOptions
        {
            WindowDays = settings.WindowDays,
            Sensitivity = settings.Sensitivity,
            CriticalSensitivity = settings.CriticalSensitivity,
            KnownEvents = settings.Calendar.Keys.Select(k => DateOnly.ParseExact(k, "yyyy-MM-dd", CultureInfo.InvariantCulture)).ToHashSet(),
        };
        var calendar = settings.Calendar.ToDictionary(kv => DateOnly.ParseExact(kv.Key, "yyyy-MM-dd", CultureInfo.InvariantCulture), kv => kv.Value);
        run.Measure(StageName, report =>
        {
            var data = settings.MetricsFile ? ReadMetricsFile(run) : ReadKpis(run);
            var bands = new List<BandRow>();
            var rows = Detect(data, options, settings.MinDenominator, settings.MinVolume, calendar, bands);
            var written = rows.Count == 0
                ? WriteEmpty(run)
                : run.Engine.WriteRows(rows, run.StagingPath(Table));
            var bandsWritten = run.Engine.WriteRows(bands, run.StagingPath(BandsTable));
            report.RowsRead = data.Series.Count;
            report.RowsWritten = written + bandsWritten;
            report.Counts["series"] = data.Series.Count;
            report.Counts["days"] = data.Days;
            report.Counts["alerts"] = rows.Count(r => r.Status != "expected");
            report.Counts["expected"] = rows.Count(r => r.Status == "expected");
            run.CheckStaged(Table, written);
            run.CheckStaged(BandsTable, bandsWritten);
            run.Publish([(Table, written), (BandsTable, bandsWritten)]);

            if (data.Days == 0)
            {
                return;
            }
            var last = data.First.AddDays(data.Days - 1);
            var today = rows.Where(r => r.AlertDate == last && r.Status != "expected").ToList();
            report.Counts["last_day_alerts"] = today.Count;
            foreach (var r in today)
            {
                run.Warn($"{last:yyyy-MM-dd} {r.Severity} alert ({r.Status}): {r.Explanation}", StageName);
            }
            var failing = settings.FailOn switch
            {
                "warning" => today.Count,
                "critical" => today.Count(r => r.Severity == "critical"),
                _ => 0,
            };
            if (failing > 0)
            {
                report.Notice = new NoticeExit(ExitCodes.Alerts,
                    $"alerts: {failing} alert(s) at or above alerts.fail_on ({settings.FailOn}) on {last:yyyy-MM-dd}; see {Table}");
            }
        });
    }

    // ---- the series ---------------------------------------------------------------------------------------------

    /// <summary>The days watched (first day and count) and the base figures per dimension value.</summary>
    internal sealed record SeriesData(DateOnly First, int Days, List<BaseSeries> Series, bool FromFile);

    /// <summary>
    /// The base figures of one dimension value (overall, a channel, a device) per day: NaN where a figure is unknown,
    /// 0 where the day exists but the segment had nothing.
    /// </summary>
    internal sealed record BaseSeries(string Dimension, string Segment, IDictionary<string, double[]> Figures);

    /// <summary>One watched metric: its kind, the base figures it is made of, the dimensions it is watched in.</summary>
    /// <param name="Volume">The figure whose median daily value decides whether a channel, device or landing-page group is watched for the metric.</param>
    /// <param name="Counted">The numerator is a count (sessions, orders, customers): a flagged day must also be unusual for a Poisson count (<see cref="CountNoise"/>).</param>
    /// <param name="Guard">The count a day needs at least <c>alerts.min_denominator</c> of to be judged (sessions for a rate of sessions, orders for
    /// an amount per or of orders: a day's AOV, revenue or ACoS of three orders is noise), in every dimension; null: every day is judged.</param>
    /// <param name="CountOf">When positive, the count held to Poisson noise is this − the value (event_hours: the hours of the day without events).</param>
    /// <param name="Clustered">The counted units arrive in clusters (bot events a crawler at a time, quarantined rows a broken file at a time):
    /// the count is held to quasi-Poisson noise, its dispersion estimated over the window (<see cref="CountNoise.Dispersion"/>).</param>
    /// <param name="DownOnly">Only a fall is an alert (bot_share: bots the rules catch reach no KPI, and a storm they miss shows in sessions;
    /// what a fall says is that the rules stopped catching what they used to).</param>
    private sealed record Metric(string Name, SeriesKind Kind, string Numerator, string? Denominator, string[] Dimensions, string Volume, bool Counted = false,
        string? Guard = null, double CountOf = 0, bool Clustered = false, bool DownOnly = false);

    private static readonly Metric[] KpiMetrics =
    [
        new("sessions", SeriesKind.Count, "sessions", null, ["overall", "channel", "device", "landing_page"], "sessions", Counted: true),
        new("orders", SeriesKind.Count, "orders", null, ["overall", "channel", "device", "landing_page"], "orders", Counted: true),
        new("revenue", SeriesKind.Amount, "revenue", null, ["overall", "channel"], "orders", Guard: "orders"),
        new("new_customers", SeriesKind.Count, "new_customers", null, ["overall", "channel"], "orders", Counted: true),
        new("conversion_rate", SeriesKind.Ratio, "orders", "sessions", ["overall", "channel", "device", "landing_page"], "sessions", Counted: true, Guard: "sessions"),
        new("aov", SeriesKind.Amount, "revenue", "orders", ["overall", "channel"], "orders", Guard: "orders"),
        new("natural_traffic_share", SeriesKind.Ratio, "natural_sessions", "sessions", ["overall", "device", "landing_page"], "sessions", Counted: true, Guard: "sessions"),
        new("ad_spend", SeriesKind.Amount, "spend", null, ["overall", "channel"], "spend"),
        new("acos", SeriesKind.Ratio, "spend", "attributed_revenue", ["overall", "channel"], "spend", Guard: "orders"),
        new("event_hours", SeriesKind.Amount, "event_hours", null, ["overall"], "event_hours", Counted: true, CountOf: 24),
        new("bot_share", SeriesKind.Ratio, "bots", "unique_rows", ["overall"], "unique_rows", Counted: true, Guard: "unique_rows", Clustered: true, DownOnly: true),
        new("quarantine_share", SeriesKind.Ratio, "rows_quarantined", "rows_read", ["overall"], "rows_read", Counted: true, Guard: "rows_read", Clustered: true),
    ];

    private static SeriesData ReadKpis(StageContext run)
    {
        var engine = run.Engine;
        var d = engine.Dialect;
        var root = run.InputRoot;
        var dailyDir = Path.Combine(root, TableNames.KpiDaily);
        if (!OutputStore.HasParquet(dailyDir))
        {
            throw PipelineException.Input($"no KPI table under {dailyDir}: run `pipeline kpis` first (or point --input at the output that has it)");
        }
        var daily = engine.Query(AlertsSql.Daily(d, engine.ParquetRelation(dailyDir)));
        if (daily.Count == 0)
        {
            return new SeriesData(default, 0, [], false);
        }
        var first = AsDate(daily[0][0]!);
        var days = AsDate(daily[^1][0]!).DayNumber - first.DayNumber + 1;
        int Index(object? date) => AsDate(date!).DayNumber - first.DayNumber;

        var overall = NewSeries("overall", "all", days, ["sessions", "orders", "revenue", "new_customers", "natural_sessions"], 0);
        foreach (var row in daily)
        {
            var i = Index(row[0]);
            Set(overall, "sessions", i, row[1]);
            Set(overall, "orders", i, row[2]);
            Set(overall, "revenue", i, row[3]);
            Set(overall, "new_customers", i, row[4]);
            Set(overall, "natural_sessions", i, row[5]);
        }
        var series = new List<BaseSeries> { overall };

        var hasSpend = false;
        var channelsDir = Path.Combine(root, TableNames.KpiChannels);
        if (OutputStore.HasParquet(channelsDir))
        {
            var byChannel = new SortedDictionary<string, BaseSeries>(StringComparer.Ordinal);
            var rows = engine.Query(AlertsSql.Channels(d, engine.ParquetRelation(channelsDir)));
            hasSpend = rows.Any(r => r[6] is not null);
            foreach (var row in rows)
            {
                var i = Index(row[0]);
                if (i < 0 || i >= days)
                {
                    continue;
                }
                var channel = (string)row[1]!;
                if (!byChannel.TryGetValue(channel, out var s))
                {
                    byChannel[channel] = s = NewSeries("channel", channel, days, ["sessions", "orders", "revenue", "new_customers", "spend"], 0);
                }
                Set(s, "sessions", i, row[2]);
                Set(s, "orders", i, row[3]);
                Set(s, "revenue", i, row[4]);
                Set(s, "new_customers", i, row[5]);
                Set(s, "spend", i, row[6] ?? 0.0);
            }
            foreach (var s in byChannel.Values)
            {
                s.Figures["attributed_revenue"] = s.Figures["revenue"];
            }
            if (hasSpend)
            {
                // Overall spend and the revenue it is compared with (attributed to a channel: ACoS is spend / that).
                overall.Figures["spend"] = Sum(byChannel.Values, "spend", days);
                overall.Figures["attributed_revenue"] = Sum(byChannel.Values.Where(c => c.Segment != "unattributed"), "revenue", days);
                // Only channels that ever had spend are watched for it.
                foreach (var s in byChannel.Values.Where(c => c.Figures["spend"].All(v => v == 0)))
                {
                    s.Figures.Remove("spend");
                }
            }
            else
            {
                foreach (var s in byChannel.Values)
                {
                    s.Figures.Remove("spend");
                }
            }
            series.AddRange(byChannel.Values);
        }

        var sessionsDir = Path.Combine(root, TableNames.Sessions);
        if (OutputStore.HasParquet(sessionsDir))
        {
            var byDevice = new SortedDictionary<string, BaseSeries>(StringComparer.Ordinal);
            foreach (var row in engine.Query(AlertsSql.Devices(d, engine.ParquetRelation(sessionsDir))))
            {
                var i = Index(row[0]);
                if (i < 0 || i >= days)
                {
                    continue;
                }
                var device = (string)row[1]!;
                if (!byDevice.TryGetValue(device, out var s))
                {
                    byDevice[device] = s = NewSeries("device", device, days, ["sessions", "orders", "natural_sessions"], 0);
                }
                Set(s, "sessions", i, row[2]);
                Set(s, "orders", i, row[3]);
                Set(s, "natural_sessions", i, row[4]);
            }
            series.AddRange(byDevice.Values);
            series.AddRange(LandingGroups(engine.Query(AlertsSql.LandingGroups(d, engine.ParquetRelation(sessionsDir))), Index, days));
        }

        var eventsDir = Path.Combine(root, TableNames.CleanEvents);
        var eventDaysDir = Path.Combine(root, TableNames.CleanEventDays);
        if (OutputStore.HasParquet(eventsDir))
        {
            var hours = new double[days];
            foreach (var row in engine.Query(EventHoursSql(engine, eventsDir, eventDaysDir)))
            {
                var i = Index(row[0]);
                if (i >= 0 && i < days)
                {
                    hours[i] = Convert.ToDouble(row[1], CultureInfo.InvariantCulture);
                }
            }
            overall.Figures["event_hours"] = hours;
        }

        // Data health: the books of clean-clicks per day (a day without a row read nothing: 0 of 0, not judged).
        if (OutputStore.HasParquet(eventDaysDir))
        {
            string[] health = ["rows_read", "rows_quarantined", "unique_rows", "bots"];
            foreach (var f in health)
            {
                overall.Figures[f] = new double[days];
            }
            foreach (var row in engine.Query(AlertsSql.EventDays(d, engine.ParquetRelation(eventDaysDir))))
            {
                var i = Index(row[0]);
                if (i < 0 || i >= days)
                {
                    continue;
                }
                for (var k = 0; k < health.Length; k++)
                {
                    Set(overall, health[k], i, row[k + 1]);
                }
            }
        }
        return new SeriesData(first, days, series, false);
    }

    /// <summary>
    /// The query for the hours with events per day (event_date, hours): from clean/event_days (one row per day) when it
    /// has them for every day of clean/events (its partition folders); an output whose event_days was published before
    /// that column existed is counted from clean/events, a scan of the whole history (≈ 3 s a night at 100M events).
    /// </summary>
    internal static string EventHoursSql(IEngine engine, string eventsDir, string eventDaysDir)
    {
        var days = engine.ParquetRelation(eventDaysDir);
        var fromDays = OutputStore.HasParquet(eventDaysDir)
            && engine.ColumnNames(days).Contains("active_hours")
            && OutputStore.PartitionValues(eventsDir, "event_date").ToHashSet(StringComparer.Ordinal)
                .IsSubsetOf(engine.Query(AlertsSql.DaysWithHours(days)).Select(r => AsDate(r[0]!).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        return fromDays ? AlertsSql.EventHoursOfDays(days) : AlertsSql.EventHours(engine.Dialect, engine.ParquetRelation(eventsDir));
    }

    /// <summary>Landing-page groups beyond the largest <see cref="MaxLandingGroups"/> (by sessions over the data) are watched together as this one.</summary>
    internal const string OtherLandingGroup = "other";

    /// <summary>How many landing-page groups are watched on their own: a site with hundreds of top-level paths gets the largest.</summary>
    internal const int MaxLandingGroups = 20;

    /// <summary>
    /// The landing-page group series (dimension <c>landing_page</c>) from <see cref="AlertsSql.LandingGroups"/> rows:
    /// the <see cref="MaxLandingGroups"/> groups with the most sessions (ties by name), the rest summed as <see cref="OtherLandingGroup"/>.
    /// </summary>
    internal static IEnumerable<BaseSeries> LandingGroups(IReadOnlyList<object?[]> rows, Func<object?, int> index, int days)
    {
        var totals = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var group = (string)row[1]!;
            totals[group] = totals.GetValueOrDefault(group) + Convert.ToDouble(row[2], CultureInfo.InvariantCulture);
        }
        var kept = totals.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(MaxLandingGroups)
            .Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
        var byGroup = new SortedDictionary<string, BaseSeries>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            var i = index(row[0]);
            if (i < 0 || i >= days)
            {
                continue;
            }
            var group = (string)row[1]!;
            group = kept.Contains(group) ? group : OtherLandingGroup;
            if (!byGroup.TryGetValue(group, out var s))
            {
                byGroup[group] = s = NewSeries("landing_page", group, days, ["sessions", "orders", "natural_sessions"], 0);
            }
            Add(s, "sessions", i, row[2]);
            Add(s, "orders", i, row[3]);
            Add(s, "natural_sessions", i, row[4]);
        }
        return byGroup.Values;
    }

    /// <summary>A metrics file: a <c>date</c> column and metric columns; each metric column is a series (overall).</summary>
    private static SeriesData ReadMetricsFile(StageContext run)
    {
        var files = run.Files(AlertsStage.MetricsInput);
        run.ReadInput(AlertsStage.MetricsInput); // records the files in the manifest
        var columns = files.SelectMany(f => f.Columns).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        var dateColumn = columns.FirstOrDefault(c => string.Equals(c, "date", StringComparison.OrdinalIgnoreCase))
            ?? throw PipelineException.Input($"{files[0].Path}: the metrics file needs a 'date' column (columns present: {string.Join(", ", columns)})");
        var metrics = columns.Where(c => !string.Equals(c, dateColumn, StringComparison.OrdinalIgnoreCase)).ToList();
        if (metrics.Count == 0)
        {
            throw PipelineException.Input($"{files[0].Path}: the metrics file has no metric column besides 'date'");
        }
        var canonical = new List<string> { "date" };
        canonical.AddRange(metrics);
        var raw = InputBinder.Bind(files, canonical, new Dictionary<string, string>(), '"', AlertsStage.MetricsInput);
        var engine = run.Engine;
        var d = engine.Dialect;
        engine.RegisterRawInput("alerts_metrics_raw", raw);
        try
        {
            var bad = engine.Query(AlertsSql.MetricsParseErrors(d, "alerts_metrics_raw"))[0];
            if (Convert.ToInt64(bad[0], CultureInfo.InvariantCulture) > 0)
            {
                throw PipelineException.Input($"metrics file: {bad[0]} row(s) could not be read (first at line {bad[1]})");
            }
            var rows = engine.Query(AlertsSql.MetricsRows(d, "alerts_metrics_raw", canonical));
            var parsed = new List<(DateOnly Date, double[] Values, long Line)>();
            foreach (var row in rows)
            {
                var text = Convert.ToString(row[1], CultureInfo.InvariantCulture)?.Trim();
                if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    throw PipelineException.Input($"metrics file: line {row[0]}: date '{text}' is not YYYY-MM-DD");
                }
                var values = new double[metrics.Count];
                for (var m = 0; m < metrics.Count; m++)
                {
                    var s = Convert.ToString(row[m + 2], CultureInfo.InvariantCulture);
                    values[m] = double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : double.NaN;
                }
                parsed.Add((date, values, Convert.ToInt64(row[0], CultureInfo.InvariantCulture)));
            }
            if (parsed.Count == 0)
            {
                return new SeriesData(default, 0, [], true);
            }
            var dup = parsed.GroupBy(p => p.Date).FirstOrDefault(g => g.Count() > 1);
            if (dup is not null)
            {
                throw PipelineException.Input($"metrics file: date {dup.Key:yyyy-MM-dd} appears on {dup.Count()} rows (one row per date)");
            }
            var first = parsed.Min(p => p.Date);
            var days = parsed.Max(p => p.Date).DayNumber - first.DayNumber + 1;
            var series = new BaseSeries("overall", "all", new Dictionary<string, double[]>(StringComparer.Ordinal));
            for (var m = 0; m < metrics.Count; m++)
            {
                var values = Enumerable.Repeat(double.NaN, days).ToArray();
                foreach (var p in parsed)
                {
                    values[p.Date.DayNumber - first.DayNumber] = p.Values[m];
                }
                series.Figures[metrics[m]] = values;
            }
            return new SeriesData(first, days, [series], true);
        }
        finally
        {
            engine.DropRawInput("alerts_metrics_raw");
        }
    }

    // ---- detection ----------------------------------------------------------------------------------------------

    /// <summary>One series judged: the detector, the Poisson cap and the sustained-shift rule where they apply, and
    /// rises dropped for the metrics watched for falls only.</summary>
    private static Assessment[] Judge(SeriesData data, Metric metric, BaseSeries s, double[] values, DetectorOptions options)
    {
        var assessments = AnomalyDetector.Assess(data.First, values, metric.Kind, options);
        if (metric.Counted && !data.FromFile)
        {
            var (observed, expected) = CapByPoisson(data.First, s, metric, values, assessments, options);
            if (!metric.Clustered)
            {
                // Clustered counts have no Poisson sum to hold a run to: a single day is judged, not a run.
                SustainedShift.Apply(assessments, options, observed, expected);
            }
        }
        else
        {
            SustainedShift.Apply(assessments, options);
        }
        if (metric.DownOnly)
        {
            for (var i = 0; i < assessments.Length; i++)
            {
                if (assessments[i].Direction > 0)
                {
                    assessments[i] = assessments[i] with { Severity = Severity.None };
                }
            }
        }
        return assessments;
    }

    /// <summary>
    /// Judges every watched series and returns the flagged days, sorted (date, metric, dimension, value). A metrics
    /// file's columns are each one overall metric (kind Amount).
    /// </summary>
    /// <param name="bands">When given, receives the kpi/alert_bands rows: the last <see cref="BandDays"/> days of every
    /// series with an alert (not a known event) in the last <see cref="BandAlertDays"/> days.</param>
    internal static List<AlertRow> Detect(SeriesData data, DetectorOptions options, double minDenominator, double minVolume, IReadOnlyDictionary<DateOnly, string> calendar,
        List<BandRow>? bands = null)
    {
        var rows = new List<AlertRow>();
        if (data.Days == 0)
        {
            return rows;
        }
        var metrics = data.FromFile
            ? data.Series[0].Figures.Keys.Select(k => new Metric(k, SeriesKind.Amount, k, null, ["overall"], "number")).ToArray()
            : KpiMetrics;
        foreach (var metric in metrics)
        {
            // Every series of the metric, judged; the overall one's alerts are explained by the others.
            var watched = new List<(BaseSeries Base, double[] Values)>();
            foreach (var s in data.Series.Where(s => metric.Dimensions.Contains(s.Dimension)))
            {
                if (s.Dimension != "overall" && !Watched(s, metric, minVolume))
                {
                    continue;
                }
                var values = Values(s, metric, data.Days, s.Dimension == "overall" ? 0 : minDenominator);
                if (values is not null && metric.Guard is not null && s.Figures.TryGetValue(metric.Guard, out var guard))
                {
                    values = values.Select((v, i) => guard[i] >= minDenominator ? v : double.NaN).ToArray();
                }
                if (values is not null)
                {
                    watched.Add((s, values));
                }
            }
            // The series are independent: judged on every core, each into its own slot, so the rows are the same
            // for any number of threads.
            var assessed = new Assessment[watched.Count][];
            Parallel.For(0, watched.Count, k => assessed[k] = Judge(data, metric, watched[k].Base, watched[k].Values, options));
            var judged = watched.Select((w, k) => (w.Base, w.Values, Assessments: assessed[k])).ToList();
            foreach (var (s, values, assessments) in judged)
            {
                var flags = AlertFlags.Flag(data.First, assessments);
                if (bands is not null)
                {
                    AddBands(bands, data, metric.Name, s, values, assessments, flags, options);
                }
                foreach (var f in flags)
                {
                    var i = f.Date.DayNumber - data.First.DayNumber;
                    var inARow = f.Assessment.Sustained >= 2 ? $", for {f.Assessment.Sustained} days in a row" : "";
                    var explanation = s.Dimension == "overall"
                        ? Change(metric, f.Assessment) + inARow + Source(metric, judged, i, f.Direction)
                        : $"{metric.Name} of {s.Dimension} {s.Segment} {Change(metric, f.Assessment)[(metric.Name.Length + 1)..]}{inARow}";
                    if (calendar.TryGetValue(f.Date, out var name))
                    {
                        explanation += $"; known event: {name}";
                    }
                    var (low, high) = AnomalyDetector.Band(f.Assessment, options);
                    rows.Add(new AlertRow
                    {
                        AlertDate = f.Date,
                        Metric = metric.Name,
                        Dimension = s.Dimension,
                        DimensionValue = s.Segment,
                        Value = Decimal6(f.Assessment.Value, metric.Name),
                        Expected = Decimal6(f.Assessment.Expected, metric.Name),
                        BandLow = Decimal6(low, metric.Name),
                        BandHigh = Decimal6(high, metric.Name),
                        Score = Math.Round(f.Assessment.Score, 2),
                        Severity = f.Assessment.Severity == Severity.Critical ? "critical" : "warning",
                        Direction = f.Direction > 0 ? "up" : "down",
                        Status = StatusText(f.Status),
                        Explanation = explanation,
                    });
                }
            }
        }
        bands?.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.Metric, b.Metric);
            c = c != 0 ? c : string.CompareOrdinal(a.Dimension, b.Dimension);
            c = c != 0 ? c : string.CompareOrdinal(a.DimensionValue, b.DimensionValue);
            return c != 0 ? c : a.BandDate.CompareTo(b.BandDate);
        });
        return rows.OrderBy(r => r.AlertDate).ThenBy(r => r.Metric, StringComparer.Ordinal).ThenBy(r => r.Dimension, StringComparer.Ordinal)
            .ThenBy(r => r.DimensionValue, StringComparer.Ordinal).ToList();
    }

    /// <summary>A flagged day's status as <c>kpi/alerts</c> and <c>kpi/alert_bands</c> write it.</summary>
    private static string StatusText(AlertStatus status) => status switch { AlertStatus.New => "new", AlertStatus.Ongoing => "ongoing", _ => "expected" };

    /// <summary>The band rows of one series, when it has an alert (not a known event) in the last <see cref="BandAlertDays"/> days.</summary>
    private static void AddBands(List<BandRow> bands, SeriesData data, string metric, BaseSeries s, double[] values, Assessment[] assessments,
        List<FlaggedDay> flags, DetectorOptions options)
    {
        var last = data.First.AddDays(data.Days - 1);
        if (!flags.Any(f => f.Status != AlertStatus.Expected && f.Date > last.AddDays(-BandAlertDays)))
        {
            return;
        }
        var status = flags.ToDictionary(f => f.Date, f => StatusText(f.Status));
        for (var i = Math.Max(0, data.Days - BandDays); i < data.Days; i++)
        {
            var a = assessments[i];
            var date = data.First.AddDays(i);
            var (low, high) = AnomalyDetector.Band(a, options);
            bands.Add(new BandRow
            {
                Metric = metric,
                Dimension = s.Dimension,
                DimensionValue = s.Segment,
                BandDate = date,
                Value = double.IsFinite(values[i]) ? Decimal6(values[i], metric) : null,
                Expected = a.Assessed ? Decimal6(a.Expected, metric) : null,
                BandLow = a.Assessed ? Decimal6(low, metric) : null,
                BandHigh = a.Assessed ? Decimal6(high, metric) : null,
                Status = status.GetValueOrDefault(date),
            });
        }
    }

    /// <summary>
    /// Counts and rates of counts: a flagged day keeps at most the severity of its count's Poisson deviate (the count that
    /// day against the expected count: the expectation, or the expected rate × that day's denominator), so a channel's 4
    /// orders against an expected 1 is not an alert however regular its past days were. Returns each day's observed and
    /// expected count (NaN where the day is not judged), which <see cref="SustainedShift"/> sums over a run.
    /// </summary>
    private static (double[] Observed, double[] Expected) CapByPoisson(DateOnly first, BaseSeries s, Metric metric, double[] values, Assessment[] assessments, DetectorOptions options)
    {
        var observedCounts = new double[assessments.Length];
        var expectedCounts = new double[assessments.Length];
        for (var i = 0; i < assessments.Length; i++)
        {
            var a = assessments[i];
            (observedCounts[i], expectedCounts[i]) = metric.CountOf > 0 ? (metric.CountOf - a.Value, metric.CountOf - a.Expected)
                : metric.Denominator is null ? (a.Value, a.Expected)
                : (s.Figures[metric.Numerator][i], a.Expected * s.Figures[metric.Denominator][i]);
        }
        // Clustered counts: each day's count and exposure (known events and unguarded days left out), for the dispersion.
        double[]? counts = null, exposure = null;
        if (metric.Clustered)
        {
            var n = s.Figures[metric.Numerator];
            var den = metric.Denominator is null ? null : s.Figures[metric.Denominator];
            counts = new double[assessments.Length];
            exposure = new double[assessments.Length];
            for (var i = 0; i < assessments.Length; i++)
            {
                var used = !options.KnownEvents.Contains(first.AddDays(i)) && double.IsFinite(values[i]);
                counts[i] = used ? n[i] : double.NaN;
                exposure[i] = den is null ? 1 : den[i];
            }
        }
        for (var i = 0; i < assessments.Length; i++)
        {
            var a = assessments[i];
            if (a.Severity == Severity.None)
            {
                continue;
            }
            if (counts is not null)
            {
                // Clustered: the day's count against the window's pooled rate, in quasi-Poisson standard deviations.
                var from = Math.Max(0, i - options.WindowDays);
                var z = CountNoise.ClusteredScore(counts.AsSpan(from, i - from), exposure!.AsSpan(from, i - from), observedCounts[i], exposure![i]);
                var severity = Math.Abs(z) >= options.CriticalSensitivity ? Severity.Critical : Math.Abs(z) >= options.Sensitivity ? Severity.Warning : Severity.None;
                assessments[i] = a with { Severity = severity < a.Severity ? severity : a.Severity };
                continue;
            }
            assessments[i] = a with { Severity = CountNoise.Cap(a.Severity, observedCounts[i], expectedCounts[i], options.Sensitivity, options.CriticalSensitivity) };
        }
        return (observedCounts, expectedCounts);
    }

    /// <summary>
    /// Whether a channel, device or landing-page group is big enough to be watched for a metric: the median of its daily volume figure
    /// (sessions, orders) is at least <paramref name="minVolume"/>; for spend, it had spend on most days.
    /// </summary>
    private static bool Watched(BaseSeries s, Metric metric, double minVolume)
    {
        if (!s.Figures.TryGetValue(metric.Volume, out var volume))
        {
            return false;
        }
        var copy = volume.Where(v => !double.IsNaN(v)).ToArray();
        var median = OrderStatistics.Median(copy);
        return metric.Volume == "spend" ? median > 0 : median >= minVolume;
    }

    /// <summary>The metric's daily values in a series, or null when the series lacks a figure it needs.</summary>
    private static double[]? Values(BaseSeries s, Metric metric, int days, double minDenominator)
    {
        if (!s.Figures.TryGetValue(metric.Numerator, out var n))
        {
            return null;
        }
        if (metric.Denominator is null)
        {
            return n;
        }
        if (!s.Figures.TryGetValue(metric.Denominator, out var den))
        {
            return null;
        }
        var values = new double[days];
        for (var i = 0; i < days; i++)
        {
            values[i] = den[i] > 0 && den[i] >= minDenominator ? n[i] / den[i] : double.NaN;
        }
        return values;
    }

    /// <summary>"conversion_rate −41% vs expected (0.0142 vs 0.024)".</summary>
    private static string Change(Metric metric, Assessment a)
    {
        var pct = a.Expected == 0 ? "" : (a.Value - a.Expected) / Math.Abs(a.Expected) is var p && double.IsFinite(p)
            ? (p >= 0 ? "+" : "−") + Math.Abs(p * 100).ToString("0", CultureInfo.InvariantCulture) + "% "
            : "";
        var change = pct.Length > 0 ? pct : a.Value > a.Expected ? "above " : "below ";
        return $"{metric.Name} {change}vs expected ({Number(a.Value)} vs {Number(a.Expected)})";
    }

    /// <summary>"; device mobile accounts for 88% of it", from the segments' contributions on day i.</summary>
    private static string Source(Metric metric, List<(BaseSeries Base, double[] Values, Assessment[] Assessments)> judged, int i, int direction)
    {
        var overall = judged.First(j => j.Base.Dimension == "overall");
        var contributions = new List<SegmentContribution>();
        foreach (var (s, _, a) in judged.Where(j => j.Base.Dimension != "overall"))
        {
            if (!a[i].Assessed)
            {
                continue;
            }
            double c;
            if (metric.Denominator is null)
            {
                c = DeviationAttribution.Additive(a[i].Value, a[i].Expected);
            }
            else
            {
                var overallDen = overall.Base.Figures[metric.Denominator][i];
                // A device's figures come from sessions, a channel's from kpi/channels: each segment is compared with
                // the total of its own dimension.
                var dimensionDen = judged.Where(j => j.Base.Dimension == s.Dimension).Sum(j => j.Base.Figures[metric.Denominator][i]);
                c = DeviationAttribution.Ratio(s.Figures[metric.Denominator][i], a[i].Value, a[i].Expected, dimensionDen > 0 ? dimensionDen : overallDen);
            }
            contributions.Add(new SegmentContribution(s.Dimension, s.Segment, c));
        }
        var top = DeviationAttribution.Explain(direction, contributions);
        return top is null ? "" : $"; {top.Dimension} {top.Segment} accounts for {(top.Share * 100).ToString("0", CultureInfo.InvariantCulture)}% of it";
    }

    private static string Number(double v) => Math.Abs(v) >= 100
        ? v.ToString("0", CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>The largest |value| a DECIMAL(28,6) column holds (22 integer digits).</summary>
    private const decimal DecimalLimit = 1e22m;

    /// <summary>
    /// A value as published in a DECIMAL(28,6) column: the double's shortest round-trip decimal digits (not the 15
    /// significant digits of a double → decimal cast), rounded half away from zero to 6 decimals. Amounts in the base
    /// currency come out as the exact cents they were (kpi/daily's DECIMAL(18,2) → double → decimal keeps them), ratios
    /// to 6 decimals. A value beyond 22 integer digits (only a metrics file can have one) is an input error.
    /// </summary>
    internal static decimal Decimal6(double v, string metric)
    {
        if (!double.IsFinite(v) || Math.Abs(v) >= (double)DecimalLimit)
        {
            throw PipelineException.Input($"alerts: metric '{metric}' has a value or band of {v.ToString("R", CultureInfo.InvariantCulture)}, beyond what kpi/alerts' DECIMAL(28,6) columns hold (|x| < 1e22)");
        }
        var d = decimal.Parse(v.ToString("R", CultureInfo.InvariantCulture), NumberStyles.Float, CultureInfo.InvariantCulture);
        return Math.Round(d, 6, MidpointRounding.AwayFromZero);
    }

    private static BaseSeries NewSeries(string dimension, string segment, int days, string[] figures, double fill)
    {
        var s = new BaseSeries(dimension, segment, new Dictionary<string, double[]>(StringComparer.Ordinal));
        foreach (var f in figures)
        {
            s.Figures[f] = Enumerable.Repeat(fill, days).ToArray();
        }
        return s;
    }

    private static void Set(BaseSeries s, string figure, int i, object? value) =>
        s.Figures[figure][i] = value is null ? double.NaN : Convert.ToDouble(value, CultureInfo.InvariantCulture);

    private static void Add(BaseSeries s, string figure, int i, object? value) =>
        s.Figures[figure][i] += Convert.ToDouble(value, CultureInfo.InvariantCulture);

    private static double[] Sum(IEnumerable<BaseSeries> series, string figure, int days)
    {
        var sum = new double[days];
        foreach (var s in series)
        {
            var f = s.Figures[figure];
            for (var i = 0; i < days; i++)
            {
                sum[i] += f[i];
            }
        }
        return sum;
    }

    private static long WriteEmpty(StageContext run)
    {
        // No flagged day: an empty table with the declared columns (Parquet.Net writes the schema of the type).
        return run.Engine.WriteRows(Array.Empty<AlertRow>(), run.StagingPath(Table));
    }

    private static DateOnly AsDate(object value) => value switch
    {
        DateOnly d => d,
        DateTime dt => DateOnly.FromDateTime(dt),
        _ => DateOnly.Parse(Convert.ToString(value, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
    };
}

/// <summary>One row of kpi/alert_bands (column names from <see cref="AlertsTables.Bands"/>).</summary>
internal sealed class BandRow
{
    [System.Text.Json.Serialization.JsonPropertyName("metric")] public string Metric { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("dimension")] public string Dimension { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("dimension_value")] public string DimensionValue { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("band_date")] public DateOnly BandDate { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("value")] [ParquetDecimal(28, 6)] public decimal? Value { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("expected")] [ParquetDecimal(28, 6)] public decimal? Expected { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("band_low")] [ParquetDecimal(28, 6)] public decimal? BandLow { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("band_high")] [ParquetDecimal(28, 6)] public decimal? BandHigh { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("status")] public string? Status { get; set; }
}

/// <summary>One row of kpi/alerts (column names from <see cref="AlertsTables.Alerts"/>).</summary>
internal sealed class AlertRow
{
    [System.Text.Json.Serialization.JsonPropertyName("alert_date")] public DateOnly AlertDate { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("metric")] public string Metric { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("dimension")] public string Dimension { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("dimension_value")] public string DimensionValue { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("value")] [ParquetDecimal(28, 6)] public decimal Value { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("expected")] [ParquetDecimal(28, 6)] public decimal Expected { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("band_low")] [ParquetDecimal(28, 6)] public decimal BandLow { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("band_high")] [ParquetDecimal(28, 6)] public decimal BandHigh { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("score")] public double Score { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("severity")] public string Severity { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("direction")] public string Direction { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("status")] public string Status { get; set; } = "";
    [System.Text.Json.Serialization.JsonPropertyName("explanation")] public string Explanation { get; set; } = "";
}
