using System.Globalization;
using System.Text.Json;
using Pipeline.Config;
using Pipeline.Engine;
using Pipeline.Models.Rfm;
using Pipeline.Publishing;

namespace Pipeline.Stages.Report;

/// <summary>
/// Reads what the report shows from the published tables (through the run's engine) and the run manifests. Each
/// section is loaded on its own: missing tables, or tables an engine cannot read, give that section a note instead of
/// failing the report.
/// </summary>
public sealed class ReportData
{
    private readonly IEngine _engine;
    private readonly string _root;
    private readonly ReportSettings _settings;
    private readonly DateOnly? _asOf;
    private readonly Dictionary<string, string> _missing = new(StringComparer.Ordinal);

    private ReportData(IEngine engine, string root, ReportSettings settings, DateOnly? asOf)
    {
        _engine = engine;
        _root = root;
        _settings = settings;
        _asOf = asOf;
    }

    private ReportConfig Options => _settings.Report;

    /// <summary>Loads every section from the output directory <paramref name="root"/>, snapshots up to <paramref name="snapshot"/> (null: the latest).</summary>
    public static ReportModel Load(IEngine engine, string root, ReportSettings settings, DateOnly? snapshot, string runId, DateTimeOffset generatedAt)
    {
        var d = new ReportData(engine, root, settings, snapshot);
        var daily = d.Section("kpis", "kpis", () => d.LoadDaily());
        var channels = d.Section("channels", "kpis", () => d.LoadChannels());
        var kpis = daily is null ? null : d.Section("kpis", "kpis", () => d.Kpis(daily, channels));
        var channelSection = daily is null || channels is null ? null : d.Section("channels", "kpis", () => d.ChannelMix(daily, channels));
        var funnel = daily is null ? null : d.Section("funnel", "kpis", () => d.Funnel(daily));
        if (daily is null)
        {
            // Without kpi/daily there is no window: the channel mix and the funnel say why.
            d._missing.TryAdd("channels", d._missing["kpis"]);
            d._missing.TryAdd("funnel", d._missing["kpis"]);
        }
        var rfm = d.Section("rfm", "rfm", d.LoadRfm);
        var segments = d.Section("segments", "segment", d.LoadSegments);
        var ltv = d.Section("ltv", "ltv", d.LoadLtv);
        var cohorts = d.Section("cohorts", "kpis", d.LoadCohorts);
        var quality = d.Section("quality", "clean-orders` / `pipeline clean-clicks", d.LoadQuality);
        var asOf = new[] { rfm?.AsOf, segments?.AsOf, ltv?.AsOf }.Where(a => a is not null).Order(StringComparer.Ordinal).LastOrDefault();
        return new ReportModel
        {
            Title = settings.Report.Title,
            RunId = runId,
            GeneratedAt = generatedAt,
            BaseCurrency = settings.BaseCurrency,
            AsOf = asOf,
            DataThrough = daily is { Count: > 0 } ? daily[^1].Date : null,
            Kpis = kpis,
            Channels = channelSection,
            Funnel = funnel,
            Rfm = rfm,
            Segments = segments,
            Ltv = ltv,
            Cohorts = cohorts,
            Quality = quality,
            Missing = d._missing,
            Alerts = ReportAlerts.Load(engine, root, daily is { Count: > 0 } ? daily[^1].Date : null),
            Experiments = ReportExperiments.Load(engine, root),
        };
    }

    /// <summary>Runs a section's loader; a missing table (null) or an unreadable one becomes the section's note.</summary>
    private T? Section<T>(string id, string command, Func<T?> load) where T : class
    {
        try
        {
            var result = load();
            if (result is null)
            {
                _missing.TryAdd(id, $"not available — run `pipeline {command}` first");
            }
            return result;
        }
        catch (EngineException e)
        {
            _missing.TryAdd(id, $"not available: its tables could not be read ({e.Message.Split('\n')[0]}) — rerun `pipeline {command}`");
            return null;
        }
    }

    // ---- tables ---------------------------------------------------------------------------------------------------

    private string TableDir(string table) => Path.Combine(_root, table.Replace('/', Path.DirectorySeparatorChar));

    private string? Relation(string table) => OutputStore.HasParquet(TableDir(table)) ? _engine.ParquetRelation(TableDir(table)) : null;

    /// <summary>The latest <c>as_of=</c> partition of a table (not after analytics.as_of when that is set), or null.</summary>
    private string? LatestAsOf(string table)
    {
        var dir = TableDir(table);
        if (!Directory.Exists(dir))
        {
            return null;
        }
        return Directory.GetDirectories(dir, "as_of=*")
            .Where(OutputStore.HasParquet)
            .Select(p => Path.GetFileName(p)!["as_of=".Length..])
            .Where(d => _asOf is not { } max || string.CompareOrdinal(d, max.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)) <= 0)
            .Order(StringComparer.Ordinal)
            .LastOrDefault();
    }

    /// <summary>
    /// When a snapshot table has partitions but none on or before <c>--as-of</c>, the section's note says so and how to make
    /// one (a later snapshot would show figures from after the date asked for). Returns null for the caller to return.
    /// </summary>
    private T? NoSnapshotBefore<T>(string id, string table, string command) where T : class
    {
        var dir = TableDir(table);
        if (_asOf is { } max && Directory.Exists(dir))
        {
            var later = Directory.GetDirectories(dir, "as_of=*").Where(OutputStore.HasParquet)
                .Select(p => Path.GetFileName(p)!["as_of=".Length..]).Order(StringComparer.Ordinal).ToList();
            if (later.Count > 0)
            {
                var day = max.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                _missing.TryAdd(id, $"no snapshot on or before {day} (the earliest is {later[0]}) — run `pipeline {command} --as-of {day}` first");
            }
        }
        return null;
    }

    private string? Partition(string table, string asOf)
    {
        var dir = Path.Combine(TableDir(table), "as_of=" + asOf);
        return OutputStore.HasParquet(dir) ? _engine.ParquetRelation(dir) : null;
    }

    private ISqlDialect Sql => _engine.Dialect;

    /// <summary>
    /// The column names of a table directory, read from its Parquet footers in C# (the union over its files, like the
    /// engines' union-by-name reads), so no engine is asked to describe a relation: DESCRIBE has no portable spelling.
    /// An unreadable footer fails the section like an unreadable table.
    /// </summary>
    private static IReadOnlyList<string> ParquetColumns(string dir)
    {
        var names = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            try
            {
                using var stream = File.OpenRead(file);
                var reader = Parquet.ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
                try
                {
                    names.AddRange(reader.Schema.Fields.Select(f => f.Name).Where(n => !names.Contains(n, StringComparer.Ordinal)));
                }
                finally
                {
                    reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
            catch (Exception e)
            {
                // Whatever Parquet.Net throws on a damaged or half-written file (its exception types are not a contract).
                throw new EngineException($"{Path.GetFileName(file)}: not a readable Parquet file ({e.Message.Split('\n')[0]})", e);
            }
        }
        return names;
    }

    private static double D(object? o) => o is null ? 0 : Convert.ToDouble(o, CultureInfo.InvariantCulture);

    private static double? N(object? o) => o is null ? null : Convert.ToDouble(o, CultureInfo.InvariantCulture) is var d && double.IsFinite(d) ? d : null;

    private static long L(object? o) => o is null ? 0 : Convert.ToInt64(o, CultureInfo.InvariantCulture);

    private static string S(object? o) => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "";

    private static DateOnly Day(object? o) => DateOnly.ParseExact(S(o), "yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static double? Ratio(double numerator, double denominator) => denominator > 0 ? numerator / denominator : null;

    // ---- KPIs -----------------------------------------------------------------------------------------------------

    /// <summary>One kpi/daily row (counts as doubles, to sum).</summary>
    internal sealed record Day_(DateOnly Date, double Sessions, double Orders, double Revenue, double NewCustomers, double NaturalSessions,
        double? ConversionRate, double? NaturalShare, double? RepeatRate, double ProductView, double AddToCart, double Checkout, double Purchase);

    /// <summary>One kpi/channels row.</summary>
    internal sealed record ChannelDay(DateOnly Date, string Channel, bool IsNatural, double Sessions, double Orders, double Revenue, double NewCustomers, double? Spend);

    private List<Day_>? LoadDaily()
    {
        if (Relation(TableNames.KpiDaily) is not { } rel)
        {
            return null;
        }
        return _engine.Query(ReportSql.Daily(Sql, rel)).Select(r => new Day_(Day(r[0]), D(r[1]), D(r[2]), D(r[3]), D(r[4]), D(r[5]), N(r[6]), N(r[7]), N(r[8]), D(r[9]), D(r[10]), D(r[11]), D(r[12])))
            .Where(x => _asOf is not { } max || x.Date <= max)
            .ToList();
    }

    private List<ChannelDay>? LoadChannels()
    {
        if (Relation(TableNames.KpiChannels) is not { } rel)
        {
            return null;
        }
        return _engine.Query(ReportSql.Channels(Sql, rel)).Select(r => new ChannelDay(Day(r[0]), S(r[1]), r[2] is true, D(r[3]), D(r[4]), D(r[5]), D(r[6]), N(r[7])))
            .Where(x => _asOf is not { } max || x.Date <= max)
            .ToList();
    }

    private KpiSection? Kpis(List<Day_> daily, List<ChannelDay>? channels)
    {
        if (daily.Count == 0)
        {
            return null;
        }
        var t = Options.Targets;
        var to = daily[^1].Date;
        var from = to.AddDays(1 - Options.WindowDays);
        var window = daily.Where(x => x.Date >= from).ToList();
        double Sum(Func<Day_, double> f) => window.Sum(f);

        var conversion = Ratio(Sum(x => x.Orders), Sum(x => x.Sessions));
        var natural = Ratio(Sum(x => x.NaturalSessions), Sum(x => x.Sessions));
        var lastRepeat = daily.LastOrDefault(x => x.RepeatRate is not null);

        // With an ad spend input every channel row has a spend (0 where none): ACoS is over the channels that have spend,
        // not diluted by the revenue of organic ones.
        var paidChannels = channels?.Where(c => c.Spend > 0).Select(c => c.Channel).ToHashSet(StringComparer.Ordinal) ?? [];
        var hasSpend = channels?.Any(c => c.Spend is not null) ?? false;
        var spendRows = channels?.Where(c => c.Spend is not null && (paidChannels.Count == 0 || paidChannels.Contains(c.Channel))).ToList() ?? [];
        var windowSpend = spendRows.Where(c => c.Date >= from).ToList();
        var acos = hasSpend ? Ratio(windowSpend.Sum(c => c.Spend!.Value), windowSpend.Sum(c => c.Revenue)) : null;
        var allNew = channels?.Where(c => c.Date >= from).Sum(c => c.NewCustomers) ?? 0;
        var cac = hasSpend ? Ratio(windowSpend.Sum(c => c.Spend!.Value), allNew) : null;
        double? cacBaseline = t.AcquisitionCostBaseline;
        var baselineNote = "the configured baseline";
        if (cacBaseline is null && hasSpend)
        {
            var first = spendRows.Min(c => c.Date);
            var last = first.AddDays(Options.WindowDays - 1);
            var firstWindow = channels!.Where(c => c.Date >= first && c.Date <= last).ToList();
            cacBaseline = Ratio(firstWindow.Where(c => c.Spend is not null).Sum(c => c.Spend!.Value), firstWindow.Sum(c => c.NewCustomers));
            baselineNote = $"its value over the first {Options.WindowDays} days with spend ({first:yyyy-MM-dd} to {last:yyyy-MM-dd})";
        }
        double? cacTarget = cacBaseline * (1 - t.AcquisitionCostReduction);

        var tiles = new List<KpiTile>
        {
            Rate("conversion_rate", "Conversion rate", conversion, t.ConversionRate, t.ConversionRateBaseline,
                $"orders ÷ sessions over the {Options.WindowDays} days to {to:yyyy-MM-dd}"),
            Rate("repeat_purchase_rate", "Repeat-purchase rate", lastRepeat?.RepeatRate, t.RepeatPurchaseRate, t.RepeatPurchaseRateBaseline,
                lastRepeat is null ? "not defined yet: no new-customer cohort has had time to buy again" : $"new customers who bought again (kpi/daily, {lastRepeat.Date:yyyy-MM-dd})"),
            Rate("natural_traffic_share", "Natural traffic share", natural, t.NaturalTrafficShare, t.NaturalTrafficShareBaseline,
                $"organic search, organic social, referral and direct sessions ÷ all sessions, {Options.WindowDays} days"),
            new KpiTile("acos", "ACoS", ValueFormat.Percent, acos, t.Acos, null, LowerIsBetter: true,
                acos is not { } a ? KpiStatus.Unknown : a <= t.Acos ? KpiStatus.OnTarget : a <= t.Acos * 1.25 ? KpiStatus.Improving : KpiStatus.OffTarget,
                hasSpend ? $"ad spend ÷ revenue of the channels with spend, {Options.WindowDays} days" : "needs an ad spend input (kpi/channels has no spend)"),
            new KpiTile("acquisition_cost", "Acquisition cost", ValueFormat.Money, cac, cacTarget, cacBaseline, LowerIsBetter: true,
                cac is not { } c || cacTarget is not { } ct || cacBaseline is not { } cb ? KpiStatus.Unknown : c <= ct ? KpiStatus.OnTarget : c < cb ? KpiStatus.Improving : KpiStatus.OffTarget,
                hasSpend ? $"ad spend ÷ new customers (all channels), {Options.WindowDays} days; target {t.AcquisitionCostReduction:0%} below {baselineNote}"
                    : "needs an ad spend input (kpi/channels has no spend)"),
        };
        var context = new List<KpiTile>
        {
            Plain("revenue", "Revenue", ValueFormat.Money, Sum(x => x.Revenue)),
            Plain("orders", "Orders", ValueFormat.Count, Sum(x => x.Orders)),
            Plain("sessions", "Sessions", ValueFormat.Count, Sum(x => x.Sessions)),
            Plain("aov", "Average order value", ValueFormat.Money, Ratio(Sum(x => x.Revenue), Sum(x => x.Orders))),
            Plain("new_customers", "New customers", ValueFormat.Count, Sum(x => x.NewCustomers)),
        };

        var rolling = Options.RollingDays;
        var trends = new List<KpiTrend>
        {
            new("conversion_rate", "Conversion rate", ValueFormat.Percent, daily.Select(x => new DatedValue(x.Date, x.ConversionRate)).ToList(),
                Rolling(daily, x => x.Date, x => x.Orders, x => x.Sessions, rolling), rolling, t.ConversionRate, t.ConversionRateBaseline),
            new("repeat_purchase_rate", "Repeat-purchase rate", ValueFormat.Percent, daily.Select(x => new DatedValue(x.Date, x.RepeatRate)).ToList(),
                [], rolling, t.RepeatPurchaseRate, t.RepeatPurchaseRateBaseline)
            {
                EmptyReason = $"no value yet: a day's rate needs new customers whose first purchase is at least the repeat window (kpis.repeat_window_days) old, and the data spans {daily[^1].Date.DayNumber - daily[0].Date.DayNumber + 1} days",
            },
            new("natural_traffic_share", "Natural traffic share", ValueFormat.Percent, daily.Select(x => new DatedValue(x.Date, x.NaturalShare)).ToList(),
                Rolling(daily, x => x.Date, x => x.NaturalSessions, x => x.Sessions, rolling), rolling, t.NaturalTrafficShare, t.NaturalTrafficShareBaseline),
        };
        if (hasSpend)
        {
            var byDay = channels!.GroupBy(c => c.Date).OrderBy(g => g.Key)
                .Select(g => (Date: g.Key, Spend: g.Where(c => c.Spend is not null).Sum(c => c.Spend!.Value),
                    PaidRevenue: g.Where(c => c.Spend is not null && paidChannels.Contains(c.Channel)).Sum(c => c.Revenue), New: g.Sum(c => c.NewCustomers)))
                .ToList();
            trends.Add(new KpiTrend("acos", "ACoS", ValueFormat.Percent, byDay.Select(x => new DatedValue(x.Date, Ratio(x.Spend, x.PaidRevenue))).ToList(),
                Rolling(byDay, x => x.Date, x => x.Spend, x => x.PaidRevenue, rolling), rolling, t.Acos, null));
            trends.Add(new KpiTrend("acquisition_cost", "Acquisition cost", ValueFormat.Money, byDay.Select(x => new DatedValue(x.Date, Ratio(x.Spend, x.New))).ToList(),
                Rolling(byDay, x => x.Date, x => x.Spend, x => x.New, rolling), rolling, cacTarget, cacBaseline));
        }
        return new KpiSection(from, to, Options.WindowDays, tiles, context, trends, hasSpend);

        static KpiTile Rate(string key, string name, double? value, double target, double baseline, string explanation) =>
            new(key, name, ValueFormat.Percent, value, target, baseline, LowerIsBetter: false,
                value is not { } v ? KpiStatus.Unknown : v >= target ? KpiStatus.OnTarget : v > baseline ? KpiStatus.Improving : KpiStatus.OffTarget,
                explanation);

        static KpiTile Plain(string key, string name, ValueFormat format, double? value) =>
            new(key, name, format, value, null, null, LowerIsBetter: false, KpiStatus.Unknown, "");
    }

    /// <summary>Σ numerator ÷ Σ denominator over the <paramref name="days"/> calendar days ending at each row's date.</summary>
    internal static List<DatedValue> Rolling<T>(IReadOnlyList<T> rows, Func<T, DateOnly> date, Func<T, double> numerator, Func<T, double> denominator, int days)
    {
        var result = new List<DatedValue>(rows.Count);
        var start = 0;
        double num = 0, den = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            num += numerator(rows[i]);
            den += denominator(rows[i]);
            var first = date(rows[i]).AddDays(1 - days);
            while (date(rows[start]) < first)
            {
                num -= numerator(rows[start]);
                den -= denominator(rows[start]);
                start++;
            }
            result.Add(new DatedValue(date(rows[i]), den > 0 ? num / den : null));
        }
        return result;
    }

    private ChannelSection? ChannelMix(List<Day_> daily, List<ChannelDay> channels)
    {
        if (daily.Count == 0 || channels.Count == 0)
        {
            return null;
        }
        var to = daily[^1].Date;
        var from = to.AddDays(1 - Options.WindowDays);
        var span = channels[^1].Date.DayNumber - channels[0].Date.DayNumber;
        var monthly = span > 26 * 7;
        DateOnly PeriodOf(DateOnly d) => monthly ? new DateOnly(d.Year, d.Month, 1) : d.AddDays(-(((int)d.DayOfWeek + 6) % 7));
        var order = channels.GroupBy(c => c.Channel, StringComparer.Ordinal)
            .OrderByDescending(g => g.Sum(c => c.Sessions)).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).ToList();
        // The data's span: a period only partly inside it (a week the data starts or ends in) is marked partial.
        var first = daily[0].Date;
        DateOnly PeriodEnd(DateOnly start) => monthly ? start.AddMonths(1).AddDays(-1) : start.AddDays(6);
        int Covered(DateOnly start)
        {
            var a = start < first ? first : start;
            var b = PeriodEnd(start) > to ? to : PeriodEnd(start);
            return b.DayNumber - a.DayNumber + 1;
        }
        var periods = channels.GroupBy(c => PeriodOf(c.Date)).OrderBy(g => g.Key)
            .Select(g => new ChannelPeriod(g.Key,
                g.GroupBy(c => c.Channel, StringComparer.Ordinal).ToDictionary(x => x.Key, x => (long)x.Sum(c => c.Sessions), StringComparer.Ordinal),
                Ratio(g.Where(c => c.IsNatural).Sum(c => c.Sessions), g.Sum(c => c.Sessions)),
                Covered(g.Key), PeriodEnd(g.Key).DayNumber - g.Key.DayNumber + 1))
            .ToList();
        var window = channels.Where(c => c.Date >= from && c.Date <= to).ToList();
        var allSessions = window.Sum(c => c.Sessions);
        var totals = window.GroupBy(c => c.Channel, StringComparer.Ordinal)
            .Select(g =>
            {
                var sessions = g.Sum(c => c.Sessions);
                var orders = g.Sum(c => c.Orders);
                var revenue = g.Sum(c => c.Revenue);
                var newCustomers = g.Sum(c => c.NewCustomers);
                // kpi/channels writes spend 0 for every channel without any when there is an ad spend input: "—", not "0.00 / 0%".
                double? spend = g.Any(c => c.Spend > 0) ? g.Sum(c => c.Spend ?? 0) : null;
                return new ChannelTotals(g.Key, g.Any(c => c.IsNatural), (long)sessions, Ratio(sessions, allSessions) ?? 0, (long)orders, revenue,
                    (long)newCustomers, Ratio(orders, sessions), spend,
                    spend is { } s1 ? Ratio(s1, revenue) : null, spend is { } s2 ? Ratio(revenue, s2) : null,
                    spend is { } s3 ? Ratio(s3, orders) : null, spend is { } s4 ? Ratio(s4, newCustomers) : null);
            })
            .OrderByDescending(c => c.Sessions).ThenBy(c => c.Channel, StringComparer.Ordinal)
            .ToList();
        return new ChannelSection(from, to, monthly ? "month" : "week", order, periods, totals,
            Options.Targets.NaturalTrafficShare, Options.Targets.NaturalTrafficShareBaseline);
    }

    private FunnelSection? Funnel(List<Day_> daily)
    {
        if (daily.Count == 0)
        {
            return null;
        }
        var to = daily[^1].Date;
        var from = to.AddDays(1 - Options.WindowDays);
        var w = daily.Where(x => x.Date >= from).ToList();
        var sessions = w.Sum(x => x.Sessions);
        var counts = new (string Name, double Value)[]
        {
            ("Sessions", sessions),
            ("Product view", w.Sum(x => x.ProductView)),
            ("Add to cart", w.Sum(x => x.AddToCart)),
            ("Checkout", w.Sum(x => x.Checkout)),
            ("Purchase", w.Sum(x => x.Purchase)),
        };
        var steps = counts.Select((c, i) => new FunnelStep(c.Name, (long)c.Value, Ratio(c.Value, sessions), i == 0 ? null : Ratio(c.Value, counts[i - 1].Value)))
            .ToList();
        return new FunnelSection(from, to, steps);
    }

    private CohortSection? LoadCohorts()
    {
        if (Relation(TableNames.KpiCohorts) is not { } rel)
        {
            return null;
        }
        // With --as-of, months after the as-of month are left out (the month of the as-of date itself may be partial).
        var cells = _engine.Query(ReportSql.Cohorts(Sql, rel)).Select(r => new CohortCell(Day(r[0]), (int)L(r[1]), L(r[2]), L(r[3]), N(r[4]), N(r[5])))
            .Where(c => _asOf is not { } max || c.CohortMonth.AddMonths(c.MonthsSinceFirst) <= new DateOnly(max.Year, max.Month, 1))
            .ToList();
        if (cells.Count == 0)
        {
            return null;
        }
        var cohorts = cells.Select(c => c.CohortMonth).Distinct().Order().ToList();
        return new CohortSection(cohorts, cells.Max(c => c.MonthsSinceFirst), cells);
    }

    // ---- customer snapshots ---------------------------------------------------------------------------------------

    private RfmSection? LoadRfm()
    {
        if (LatestAsOf(TableNames.RfmScores) is not { } asOf || Partition(TableNames.RfmScores, asOf) is not { } scores)
        {
            return NoSnapshotBefore<RfmSection>("rfm", TableNames.RfmScores, "rfm");
        }
        // Revenue per cell: total net revenue from the same snapshot's features (M may be a mean per purchase).
        var features = Partition(TableNames.Features, asOf);
        var counts = _engine.Query(features is null ? ReportSql.RfmCells(Sql, scores) : ReportSql.RfmCellsWithRevenue(Sql, scores, features)).ToDictionary(r => ((int)L(r[0]), (int)L(r[1])), r => (Customers: L(r[2]), Revenue: D(r[3])));
        var cells = new List<RfmCell>();
        for (var r = 5; r >= 1; r--)
        {
            for (var f = 1; f <= 5; f++)
            {
                var (n, rev) = counts.TryGetValue((r, f), out var c) ? c : (0, 0.0);
                cells.Add(new RfmCell(r, f, RfmSegments.Classify(r, f).DisplayName(), n, rev));
            }
        }
        var segments = Partition(TableNames.RfmSegments, asOf) is { } seg
            ? _engine.Query(ReportSql.RfmSegments(Sql, seg)).Select(r => new RfmSegmentRow(S(r[0]), L(r[1]), D(r[2]), D(r[3]), D(r[4]), N(r[5]), N(r[6]), N(r[7]))).ToList()
            : [];
        // Keep the domain's order (best to worst) rather than the file's.
        var rank = RfmSegments.All.Select((s, i) => (s.DisplayName(), i)).ToDictionary(x => x.Item1, x => x.i, StringComparer.Ordinal);
        segments = segments.OrderBy(s => rank.GetValueOrDefault(s.Segment, int.MaxValue)).ThenBy(s => s.Segment, StringComparer.Ordinal).ToList();
        return new RfmSection(asOf, cells, segments, cells.Sum(c => c.Customers), cells.Sum(c => c.Revenue));
    }

    private SegmentSection? LoadSegments()
    {
        if (LatestAsOf(TableNames.SegmentProfiles) is not { } asOf || Partition(TableNames.SegmentProfiles, asOf) is not { } rel)
        {
            return NoSnapshotBefore<SegmentSection>("segments", TableNames.SegmentProfiles, "segment");
        }
        var rows = _engine.Query(ReportSql.SegmentProfiles(Sql, rel));
        var featureOrder = new List<string>();
        foreach (var f in rows.Select(r => S(r[5])).Where(f => !featureOrder.Contains(f)))
        {
            featureOrder.Add(f);
        }
        var profiles = rows.GroupBy(r => (int)L(r[0])).OrderBy(g => g.Key)
            .Select(g =>
            {
                var first = g.First();
                return new SegmentProfile(g.Key, S(first[1]), L(first[2]), D(first[3]), N(first[4]),
                    g.ToDictionary(r => S(r[5]), r => (D(r[6]), D(r[7])), StringComparer.Ordinal));
            })
            .ToList();
        string? from = null;
        var migration = new List<MigrationCell>();
        if (Partition(TableNames.SegmentMigration, asOf) is { } mig)
        {
            foreach (var r in _engine.Query(ReportSql.SegmentMigration(Sql, mig)))
            {
                from ??= S(r[0]);
                migration.Add(new MigrationCell(S(r[1]), S(r[2]), L(r[3])));
            }
        }
        return new SegmentSection(asOf, profiles, featureOrder, from, migration);
    }

    private LtvSection? LoadLtv()
    {
        if (LatestAsOf(TableNames.LtvCustomers) is not { } asOf || Partition(TableNames.LtvCustomers, asOf) is not { } rel)
        {
            return NoSnapshotBefore<LtvSection>("ltv", TableNames.LtvCustomers, "ltv");
        }
        var horizons = ParquetColumns(Path.Combine(TableDir(TableNames.LtvCustomers), "as_of=" + asOf))
            .Select(c => c.StartsWith("clv_", StringComparison.Ordinal) && c.EndsWith('d') && int.TryParse(c[4..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var h) ? h : -1)
            .Where(h => h > 0).Order().ToList();
        if (horizons.Count == 0)
        {
            return null;
        }
        var h = horizons[^1];
        var summary = _engine.Query(ReportSql.LtvSummary(Sql, rel, h))[0];
        var customers = L(summary[0]);
        if (customers == 0)
        {
            return null;
        }
        var deciles = _engine.Query(ReportSql.LtvDeciles(Sql, rel, h));
        var total = D(summary[1]);
        var decileRows = deciles.Select(r => new LtvDecile((int)L(r[0]), L(r[1]), D(r[2]), D(r[3]), D(r[4]), total != 0 ? D(r[4]) / total : 0, D(r[5]), D(r[6])))
            .ToList();

        // Histogram: 20 equal bins from min(0, lowest) to the 99th percentile; the last bin also holds the top 1%.
        const int bins = 20;
        var lo = Math.Min(0, D(summary[4]));
        var hi = D(summary[5]);
        if (hi <= lo)
        {
            hi = Math.Max(D(summary[6]), lo + 1);
        }
        var width = (hi - lo) / bins;
        var counts = _engine.Query(ReportSql.LtvHistogram(Sql, rel, h, lo, width, bins)).ToDictionary(r => (int)L(r[0]), r => L(r[1]));
        var histogram = Enumerable.Range(0, bins).Select(i => new HistogramBin(lo + i * width, lo + (i + 1) * width, counts.GetValueOrDefault(i))).ToList();

        var buckets = Partition(TableNames.LtvBacktestBuckets, asOf) is { } b
            // An empty bucket's means are NULL (NaN in tables written before): NaN here, a gap in the chart, not a point at 0.
            ? _engine.Query(ReportSql.LtvBacktestBuckets(Sql, b)).Select(r => new BacktestBucket(S(r[0]), L(r[1]), N(r[2]) ?? double.NaN, N(r[3]) ?? double.NaN)).ToList()
            : [];
        BacktestMetrics? metrics = null;
        string? skipped = null;
        if (Partition(TableNames.LtvBacktestMetrics, asOf) is { } m)
        {
            // Tables written before the backtest could be skipped have no status column: they always ran.
            if (ParquetColumns(Path.Combine(TableDir(TableNames.LtvBacktestMetrics), "as_of=" + asOf)).Contains("status", StringComparer.Ordinal))
            {
                var status = _engine.Query(ReportSql.LtvBacktestStatus(Sql, m));
                if (status.Count > 0 && S(status[0][0]) == "skipped")
                {
                    skipped = S(status[0][1]);
                }
            }
            var rows = _engine.Query(ReportSql.LtvBacktestMetrics(Sql, m));
            if (rows.Count > 0 && skipped is null)
            {
                var r = rows[0];
                metrics = new BacktestMetrics(S(r[0]), (int)L(r[1]), L(r[2]), D(r[3]), D(r[4]), D(r[5]), D(r[6]), D(r[7]), D(r[8]), D(r[9]));
            }
        }
        // The fits' statuses; null for tables written before fit diagnostics (the page then says so).
        List<LtvFitStatus>? fits = null;
        if (Partition(TableNames.LtvParams, asOf) is { } p
            && ParquetColumns(Path.Combine(TableDir(TableNames.LtvParams), "as_of=" + asOf)).Contains("status", StringComparer.Ordinal))
        {
            fits = _engine.Query(ReportSql.LtvFitStatuses(Sql, p)).Select(r => new LtvFitStatus(S(r[0]), S(r[1]), S(r[2]), S(r[3]), S(r[4]))).ToList();
        }
        return new LtvSection(asOf, h, customers, total, D(summary[2]), D(summary[3]), histogram, decileRows, buckets, metrics)
        {
            Fits = fits,
            BacktestSkipped = skipped,
        };
    }

    // ---- data quality (run manifests) -----------------------------------------------------------------------------

    private QualitySection? LoadQuality()
    {
        var dir = Path.Combine(_root, OutputStore.RunsFolder);
        if (!Directory.Exists(dir))
        {
            return null;
        }
        var manifests = new List<JsonElement>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.json"))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("run_id", out _))
                {
                    manifests.Add(doc.RootElement.Clone());
                }
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
            {
                // A manifest being written or damaged by hand: leave it out of the report.
            }
        }
        if (manifests.Count == 0)
        {
            return null;
        }
        var runs = manifests.Select(m => (Manifest: m, Started: Date(m, "started_at") ?? DateTimeOffset.MinValue))
            .OrderByDescending(x => x.Started).ThenByDescending(x => Str(x.Manifest, "run_id"), StringComparer.Ordinal).ToList();
        var stages = runs.SelectMany(x => Stages(x.Manifest, x.Started)).Where(s => s.Stage != ReportJob.StageName).ToList();
        var latest = stages.GroupBy(s => s.Stage, StringComparer.Ordinal).Select(g => g.First())
            .OrderBy(s => IsCleaning(s.Stage) ? 0 : 1).ThenBy(s => s.Stage, StringComparer.Ordinal).ToList();
        var trend = stages.Where(s => IsCleaning(s.Stage)).Take(Options.RecentRuns).OrderBy(s => s.StartedAt).ToList();
        var recent = runs.Take(Options.RecentRuns).Select(x => new RunSummary(Str(x.Manifest, "run_id"), Str(x.Manifest, "command"), x.Started,
            Date(x.Manifest, "finished_at") is { } f ? Math.Round((f - x.Started).TotalSeconds, 1) : null, Str(x.Manifest, "status"),
            x.Manifest.TryGetProperty("exit_code", out var ec) && ec.TryGetInt32(out var code) ? code : 0,
            x.Manifest.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String ? msg.GetString() : null)).ToList();
        return new QualitySection(latest, Inputs(runs.Select(x => x.Manifest).ToList()), trend, recent);
    }

    private static bool IsCleaning(string stage) => stage.StartsWith("clean", StringComparison.Ordinal);

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";

    private static long Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : 0;

    private static DateTimeOffset? Date(JsonElement e, string name) =>
        DateTimeOffset.TryParse(Str(e, name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null;

    private static SortedDictionary<string, long> Counts(JsonElement e, string name)
    {
        var result = new SortedDictionary<string, long>(StringComparer.Ordinal);
        if (e.TryGetProperty(name, out var obj) && obj.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in obj.EnumerateObject())
            {
                if (p.Value.TryGetInt64(out var n))
                {
                    result[p.Name] = n;
                }
            }
        }
        return result;
    }

    private static IEnumerable<StageQuality> Stages(JsonElement manifest, DateTimeOffset started)
    {
        if (!manifest.TryGetProperty("stages", out var stages) || stages.ValueKind != JsonValueKind.Array)
        {
            yield break;
        }
        foreach (var s in stages.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object))
        {
            var seconds = s.TryGetProperty("seconds", out var sec) && sec.TryGetDouble(out var x) ? x : 0;
            yield return new StageQuality(Str(manifest, "run_id"), Str(manifest, "command"), Str(s, "stage"), started, Str(manifest, "status"),
                Num(s, "rows_read"), Num(s, "rows_written"), Num(s, "rows_quarantined"), Num(s, "duplicates"), Num(s, "bots"),
                !s.TryGetProperty("balanced", out var bal) || bal.ValueKind != JsonValueKind.False, seconds,
                Counts(s, "quarantined_by_reason"), Counts(s, "bots_by_rule"),
                manifest.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null);
        }
    }

    /// <summary>The input files of the latest run of each command that read any, with quarantined rows per file and reason.</summary>
    private List<InputQuality> Inputs(List<JsonElement> newestFirst)
    {
        var quarantined = new Dictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal);
        foreach (var table in new[] { TableNames.QuarantineOrders, TableNames.QuarantineEvents })
        {
            if (Relation(table) is { } rel)
            {
                foreach (var r in _engine.Query(ReportSql.QuarantinedByFile(Sql, rel)))
                {
                    var file = S(r[0]);
                    if (!quarantined.TryGetValue(file, out var byReason))
                    {
                        quarantined[file] = byReason = new SortedDictionary<string, long>(StringComparer.Ordinal);
                    }
                    byReason[S(r[1])] = L(r[2]);
                }
            }
        }
        var kept = Relation(TableNames.CleanOrders) is { } orders
            ? _engine.Query(ReportSql.KeptByFile(Sql, orders)).ToDictionary(r => S(r[0]), r => L(r[1]), StringComparer.Ordinal)
            : new Dictionary<string, long>(StringComparer.Ordinal);
        var result = new List<InputQuality>();
        var seenCommands = new HashSet<string>(StringComparer.Ordinal);
        var seenFiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in newestFirst)
        {
            if (!m.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array || inputs.GetArrayLength() == 0
                || !seenCommands.Add(Str(m, "command")))
            {
                continue;
            }
            foreach (var i in inputs.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object))
            {
                var path = Str(i, "path");
                if (seenFiles.Add(path))
                {
                    result.Add(new InputQuality(Str(m, "command"), path, Str(i, "format"), Num(i, "bytes"),
                        kept.TryGetValue(path, out var k) ? k : null,
                        quarantined.TryGetValue(path, out var q) ? q : new SortedDictionary<string, long>(StringComparer.Ordinal)));
                }
            }
        }
        return result.OrderBy(r => r.Stage, StringComparer.Ordinal).ThenBy(r => r.File, StringComparer.Ordinal).ToList();
    }
}
