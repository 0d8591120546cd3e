using System.Globalization;
using Pipeline.Core;
using Pipeline.Engine;
using Pipeline.Publishing;

namespace Pipeline.Stages.Events;

/// <summary>
/// <c>clean/event_days</c>: clean-clicks' books per UTC day of the rows read (read = kept + quarantined + duplicates +
/// bots), so the data health of each day (bot share, quarantine share) can be watched like a KPI. A row is on the day of
/// its timestamp; a row whose timestamp is missing, unreadable, before <c>quality.min_valid_date</c> or in the future is
/// on no day (it is in the stage's totals and in quarantine/events).
/// <para>
/// Both runs count the same rows, from the tables each already has: the one-pass run from its typed, kept and
/// sessionized tables (<see cref="EventsSql.TypedDays"/>, <see cref="EventsSql.KeptDays"/>, <see cref="EventsSql.SessionizedDays"/>);
/// the sliced run from each chunk's typed rows, the duplicate losers, each slice's user-agent bots, the too-long
/// sessions' events and the written events, its rate bots being what is left (<see cref="EventsSliceSql"/>). Every day
/// must balance, or the stage fails.
/// </para>
/// </summary>
/// <param name="dayZero">Day 0 of the day numbers the queries give (<see cref="EventsSql.DayIndex"/>: quality.min_valid_date).</param>
internal sealed class EventDays(DateOnly dayZero)
{
    /// <summary>The figures gathered per day.</summary>
    internal enum Figure { Read, TypedQuarantined, Valid, Duplicates, Firsts, UserAgentBots, RateBots, TooLong, Kept, ActiveHours }

    private readonly SortedDictionary<DateOnly, long[]> _days = [];

    /// <summary>Adds query rows (day, then one count per figure of <paramref name="figures"/>, in order).</summary>
    public void Add(IReadOnlyList<object?[]> rows, params Figure[] figures)
    {
        foreach (var row in rows)
        {
            var day = row[0] is long or int ? dayZero.AddDays(Convert.ToInt32(row[0], CultureInfo.InvariantCulture)) : AsDate(row[0]);
            if (!_days.TryGetValue(day, out var f))
            {
                _days[day] = f = new long[Enum.GetValues<Figure>().Length];
            }
            for (var i = 0; i < figures.Length; i++)
            {
                f[(int)figures[i]] += row[i + 1] is null ? 0 : Convert.ToInt64(row[i + 1], CultureInfo.InvariantCulture);
            }
        }
    }

    /// <summary>The days with a non-zero <paramref name="figure"/>, and its count.</summary>
    public IReadOnlyDictionary<DateOnly, long> Counts(Figure figure) =>
        _days.Where(kv => kv.Value[(int)figure] != 0).ToDictionary(kv => kv.Key, kv => kv.Value[(int)figure]);

    /// <summary>The rows of a one-pass run (duplicates = valid − first copies), from <paramref name="from"/> on when given.</summary>
    public List<EventDayRow> OnePassRows(DateOnly? from) => Rows(from, f =>
    {
        f[(int)Figure.Duplicates] = f[(int)Figure.Valid] - f[(int)Figure.Firsts];
        return f[(int)Figure.Firsts] == f[(int)Figure.UserAgentBots] + f[(int)Figure.RateBots] + f[(int)Figure.TooLong] + f[(int)Figure.Kept];
    });

    /// <summary>The rows of a sliced run (rate bots = valid − duplicates − user-agent bots − too long − kept).</summary>
    public List<EventDayRow> SlicedRows() => Rows(null, f =>
    {
        f[(int)Figure.RateBots] = f[(int)Figure.Valid] - f[(int)Figure.Duplicates] - f[(int)Figure.UserAgentBots] - f[(int)Figure.TooLong] - f[(int)Figure.Kept];
        return f[(int)Figure.RateBots] >= 0;
    });

    private List<EventDayRow> Rows(DateOnly? from, Func<long[], bool> derive)
    {
        var rows = new List<EventDayRow>();
        foreach (var (day, f) in _days)
        {
            if (from is { } start && day < start)
            {
                continue;
            }
            if (!derive(f) || f[(int)Figure.Read] != f[(int)Figure.TypedQuarantined] + f[(int)Figure.Valid])
            {
                throw PipelineException.Quality($"clean-clicks: the books of {day:yyyy-MM-dd} do not balance ({string.Join(", ", Enum.GetValues<Figure>().Select(x => $"{x} {f[(int)x]}"))})");
            }
            var row = new EventDayRow
            {
                EventDate = day,
                RowsRead = f[(int)Figure.Read],
                RowsKept = f[(int)Figure.Kept],
                RowsQuarantined = f[(int)Figure.TypedQuarantined] + f[(int)Figure.TooLong],
                Duplicates = f[(int)Figure.Duplicates],
                BotsUserAgent = f[(int)Figure.UserAgentBots],
                BotsEventRate = f[(int)Figure.RateBots],
                ActiveHours = (int)f[(int)Figure.ActiveHours],
            };
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// Writes the staged table: <paramref name="rows"/>, after the published table's days before <paramref name="from"/>
    /// (an incremental run rewrites the days of its window only; an output made before this table existed gets its
    /// earlier days from the next full run).
    /// </summary>
    public static long Write(IEngine engine, List<EventDayRow> rows, string stagingPath, string? publishedPath, DateOnly? from)
    {
        var all = new List<EventDayRow>();
        if (from is { } start && publishedPath is not null && OutputStore.HasParquet(publishedPath))
        {
            var d = engine.Dialect;
            var relation = engine.ParquetRelation(publishedPath);
            // A table published before active_hours existed has no such column: its days keep NULL there.
            var hasHours = engine.ColumnNames(relation).Contains("active_hours");
            foreach (var r in engine.Query(
                $"SELECT event_date, rows_read, rows_kept, rows_quarantined, duplicates, bots_user_agent, bots_event_rate, {(hasHours ? "active_hours" : "CAST(NULL AS INTEGER)")} FROM {relation} " +
                $"WHERE event_date < {d.DateLiteral(start)} ORDER BY event_date"))
            {
                long L(int i) => Convert.ToInt64(r[i], CultureInfo.InvariantCulture);
                all.Add(new EventDayRow
                {
                    EventDate = AsDate(r[0]), RowsRead = L(1), RowsKept = L(2), RowsQuarantined = L(3), Duplicates = L(4), BotsUserAgent = L(5), BotsEventRate = L(6),
                    ActiveHours = r[7] is null ? null : Convert.ToInt32(r[7], CultureInfo.InvariantCulture),
                });
            }
        }
        all.AddRange(rows);
        return engine.WriteRows(all, stagingPath);
    }

    private static DateOnly AsDate(object? value) => value switch
    {
        DateOnly d => d,
        DateTime dt => DateOnly.FromDateTime(dt),
        _ => DateOnly.Parse(Convert.ToString(value, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
    };
}

/// <summary>One row of clean/event_days (column names from <see cref="EventsTables.EventDays"/>).</summary>
public sealed class EventDayRow
{
    [System.Text.Json.Serialization.JsonPropertyName("event_date")] public DateOnly EventDate { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("rows_read")] public long RowsRead { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("rows_kept")] public long RowsKept { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("rows_quarantined")] public long RowsQuarantined { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("duplicates")] public long Duplicates { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("bots_user_agent")] public long BotsUserAgent { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("bots_event_rate")] public long BotsEventRate { get; set; }
    [System.Text.Json.Serialization.JsonPropertyName("active_hours")] public int? ActiveHours { get; set; }
}
