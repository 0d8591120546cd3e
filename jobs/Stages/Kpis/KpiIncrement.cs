using System.Globalization;
using Pipeline.Engine;
using Pipeline.Publishing;
using Pipeline.Runs;

namespace Pipeline.Stages.Kpis;

/// <summary>
/// Decides from which day a nightly kpis run recomputes <c>kpi/daily</c> and <c>kpi/channels</c>; the rows before it
/// are carried from the published tables. Every row of a day d depends only on inputs dated on or before d (sessions
/// started and orders placed by d, attribution candidates from the lookback before the order), plus what links an
/// order to the session of its purchase event. So the first day whose inputs changed bounds what can change:
/// <list type="bullet">
/// <item>sessions: a <c>session_date</c> partition whose files changed (clean-clicks replaces the partitions it rewrites);</item>
/// <item>orders and ad spend: a day whose digest of rows changed (clean-orders rewrites its table whole);</item>
/// <item>purchase links: the orders linked by the links of a changed <c>event_date</c> partition (before and after),
/// and by the links from the first changed session day on (the session they point to may have changed).</item>
/// </list>
/// The signatures are kept in the run manifest (<see cref="RunManifest.InputDays"/>). Anything else — no previous
/// run, other settings, engine or input folder, a table not published by that run — means a full recomputation.
/// </summary>
internal static class KpiIncrement
{
    public const string Sessions = "sessions";
    public const string Events = "events";
    public const string Orders = "orders";
    public const string Spend = "spend";
    private const string Root = "root";

    /// <summary>What this run recomputes: <see cref="From"/> null = everything (<see cref="Reason"/> says why).</summary>
    /// <param name="From">The first day recomputed; the published rows before it are kept.</param>
    /// <param name="EventDays">The <c>event_date</c> partitions whose purchase links are read again (the others are kept).</param>
    /// <param name="FirstSessionDay">The first changed session day, if any: links on or after it may point to a changed session.</param>
    public sealed record Plan(DateOnly? From, IReadOnlyList<DateOnly> EventDays, DateOnly? FirstSessionDay, string Reason);

    /// <summary>The signatures of the input days as they are now (partitions by their files; orders and spend by digest).</summary>
    public static List<InputDay> Current(IEngine engine, string inputRoot, string ordersRelation, string? spendRelation)
    {
        var days = new List<InputDay> { new(Root, "", Path.GetFullPath(inputRoot)) };
        days.AddRange(PartitionSignatures(Sessions, Path.Combine(inputRoot, TableNames.Sessions), "session_date"));
        days.AddRange(PartitionSignatures(Events, Path.Combine(inputRoot, TableNames.CleanEvents), "event_date"));
        var d = engine.Dialect;
        days.AddRange(engine.Query(KpiSql.OrderDayDigests(d, ordersRelation)).Select(r => new InputDay(Orders, Text(r[0]), Text(r[1]))));
        if (spendRelation is not null)
        {
            days.AddRange(engine.Query(KpiSql.SpendDayDigests(d, spendRelation)).Select(r => new InputDay(Spend, Text(r[0]), Text(r[1]))));
        }
        return days;
    }

    /// <summary>
    /// Compares <paramref name="current"/> with what the run that published the KPI tables recorded. A plan with a
    /// day still has to widen it with the orders its purchase links point to (<see cref="Widen"/>).
    /// </summary>
    public static Plan Make(StageContext run, IReadOnlyList<InputDay> current)
    {
        if (!run.Incremental)
        {
            return Full("not an incremental run");
        }
        var store = new OutputStore(run.OutputRoot);
        var publisher = store.PublishedBy(TableNames.KpiDaily);
        if (publisher is null || store.PublishedBy(TableNames.KpiChannels) != publisher || store.PublishedBy(TableNames.KpiPurchaseLinks) != publisher)
        {
            return Full("no KPI tables published together with their purchase links");
        }
        if (!OutputStore.HasParquet(run.PublishedPath(TableNames.KpiDaily)) || !OutputStore.HasParquet(run.PublishedPath(TableNames.KpiChannels)))
        {
            return Full("the published KPI tables hold no rows to keep");
        }
        var manifest = store.ManifestPath(publisher);
        var previous = File.Exists(manifest) ? RunManifest.ReadSummary(manifest) : null;
        if (previous is not { Status: "succeeded", InputDays: { } before })
        {
            return Full("the run that published the KPI tables recorded no input days");
        }
        if (previous.SettingsHash != run.SettingsHash || previous.Engine != run.EngineName)
        {
            return Full("the KPI settings or the engine changed");
        }
        if (previous.Build != RunManifest.CurrentBuild)
        {
            // A fix to a KPI's formula changes no setting and no column: the kept days would keep the old formula's values.
            return Full("the pipeline's code changed since the KPI tables were published");
        }
        var old = before.ToDictionary(x => (x.Source, x.Day), x => x.Signature);
        var now = current.ToDictionary(x => (x.Source, x.Day), x => x.Signature);
        if (!old.TryGetValue((Root, ""), out var oldRoot) || oldRoot != now[(Root, "")])
        {
            return Full("the upstream tables are read from another folder");
        }
        var changed = old.Keys.Union(now.Keys)
            .Where(k => k.Item1 != Root && (!old.TryGetValue(k, out var a) || !now.TryGetValue(k, out var b) || a != b))
            .ToList();
        DateOnly? Parse(string day) => DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var v) ? v : null;
        if (changed.Any(k => Parse(k.Item2) is null))
        {
            return Full("an input day without a date changed");
        }
        DateOnly? First(string source) => changed.Where(k => k.Item1 == source).Select(k => Parse(k.Item2)).Min();
        var eventDays = changed.Where(k => k.Item1 == Events).Select(k => Parse(k.Item2)!.Value).Order().ToList();
        var firstSession = First(Sessions);
        var from = new[] { firstSession, First(Orders), First(Spend) }.Where(x => x is not null).Min();
        return new Plan(from ?? DateOnly.MaxValue, eventDays, firstSession, $"{changed.Count} input day(s) changed");
    }

    /// <summary>The plan's day, moved back to the earliest order date the changed purchase links point to.</summary>
    /// <param name="earliestLinked">The earliest order date of the links of the changed event days (old and new) and of those on or after the first changed session day.</param>
    public static Plan Widen(Plan plan, DateOnly? earliestLinked) =>
        plan.From is { } from && earliestLinked is { } linked && linked < from ? plan with { From = linked } : plan;

    private static Plan Full(string reason) => new(null, [], null, reason);

    /// <summary>
    /// One signature per Hive partition folder (<c>column=value</c>): its Parquet files' names, sizes and write times.
    /// A partition a run rewrote gets new files, and a copied output new times: both read as changed, never the reverse.
    /// </summary>
    internal static IEnumerable<InputDay> PartitionSignatures(string source, string tableDir, string column) =>
        OutputStore.PartitionFolders(tableDir, column).Select(p => new InputDay(source, p.Value, string.Join(';',
            Directory.GetFiles(p.Folder, "*.parquet").Order(StringComparer.Ordinal)
                .Select(f => new FileInfo(f))
                .Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}")))));

    private static string Text(object? v) => v switch
    {
        null => "",
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => DateOnly.FromDateTime(t).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "",
    };
}
