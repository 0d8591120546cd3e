using System.Globalization;
using Pipeline.Engine;
using Pipeline.Publishing;
using Pipeline.Runs;

namespace Pipeline.Stages.Events;

/// <summary>
/// clean-clicks' upkeep of <c>clean/identities</c> (see <see cref="EventsIdentitySql"/>): written whole by every run,
/// from the written events in a full run, from the previous table and the window's events in an incremental one, which
/// reads it (not the whole published event history) for the customers it stitches its window with.
/// </summary>
internal static class CleanIdentities
{
    private const string Previous = "_identities_previous";
    private const string Window = "_identities_window";
    private const string Straddling = "_identities_straddling";

    /// <summary>The table clean-clicks stitches an incremental window with (<see cref="EventsSql.Identities"/>).</summary>
    public const string HistoryTable = "_identity_history";

    /// <summary>
    /// Incremental, before stitching: the previous identities (the published table; built from the published events
    /// once when an output has events but not the table yet) and, from them, <see cref="HistoryTable"/>.
    /// </summary>
    public static void LoadPrevious(StageContext run, IEngine engine)
    {
        var d = engine.Dialect;
        var identities = run.PublishedPath(TableNames.CleanIdentities);
        var events = run.PublishedPath(TableNames.CleanEvents);
        string sql;
        if (OutputStore.HasParquet(identities))
        {
            sql = EventsIdentitySql.Published(engine.ParquetRelation(identities));
        }
        else if (OutputStore.HasParquet(events))
        {
            run.Log.Info($"no {TableNames.CleanIdentities} yet: built from the published events", "clean-clicks");
            sql = EventsIdentitySql.Of(d, engine.ParquetRelation(events));
        }
        else
        {
            sql = EventsIdentitySql.None(d);
        }
        engine.Materialize(Previous, sql);
        engine.Materialize(HistoryTable, EventsIdentitySql.History(Previous));
    }

    /// <summary>Full run: the identities of the written events (<paramref name="cleanEvents"/>, a relation; null when none were written), staged.</summary>
    public static long WriteFull(StageContext run, IEngine engine, string? cleanEvents) =>
        engine.WriteParquet(EventsIdentitySql.Ordered(cleanEvents is null ? EventsIdentitySql.None(engine.Dialect) : EventsIdentitySql.Of(engine.Dialect, cleanEvents)),
            run.StagingPath(TableNames.CleanIdentities), []);

    /// <summary>
    /// Incremental, once the window's events (every date from <paramref name="from"/> on) are staged: the previous
    /// identities merged with the window's, staged. Counts the keys whose events before the window had to be reread.
    /// </summary>
    public static long WriteIncremental(StageContext run, IEngine engine, DateOnly from, long windowEvents, StageReport report)
    {
        var d = engine.Dialect;
        engine.Materialize(Window, windowEvents > 0
            ? EventsIdentitySql.Of(d, engine.ParquetRelation(run.StagingPath(TableNames.CleanEvents)))
            : EventsIdentitySql.None(d));
        engine.Materialize(Straddling, EventsIdentitySql.Straddling(d, Previous, Window, from));
        var reread = Convert.ToInt64(engine.Query(EventsIdentitySql.Count(Straddling))[0][0], CultureInfo.InvariantCulture);
        var published = run.PublishedPath(TableNames.CleanEvents);
        var rereadSql = reread > 0 && OutputStore.HasParquet(published)
            ? EventsIdentitySql.Of(d, EventsIdentitySql.EventsBefore(d, engine.ParquetRelation(published), Straddling, from))
            : EventsIdentitySql.None(d);
        var rows = engine.WriteParquet(EventsIdentitySql.Merged(d, Previous, Window, $"({rereadSql}) reread", from),
            run.StagingPath(TableNames.CleanIdentities), []);
        report.Counts["identities_reread"] = reread;
        foreach (var table in new[] { Straddling, Window, Previous, HistoryTable })
        {
            engine.Execute($"DROP TABLE IF EXISTS {table}");
        }
        return rows;
    }
}
