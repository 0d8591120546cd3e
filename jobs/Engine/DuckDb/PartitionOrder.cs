using System.Text.RegularExpressions;

namespace Pipeline.Engine.DuckDb;

/// <summary>
/// A partitioned write whose statement ends in <c>ORDER BY</c> the partition columns and then other columns: each
/// partition's file holds its rows in the order of the other keys, so the rows need not be sorted as a whole. Sorting
/// every row (payload included) before staging them was about half of writing clean/events; sorting each partition's
/// rows as it is written gives the same rows in the same order, hence the same files.
/// </summary>
internal static partial class PartitionOrder
{
    /// <summary>
    /// The statement without its final ORDER BY and the keys that order each partition (null: none), when that ORDER BY
    /// is at the top level, starts with the partition columns in their order and goes on with plain column names. Else
    /// the statement as it is (staged sorted as a whole) and null.
    /// </summary>
    public static (string Statement, string? Within) Split(string selectSql, IReadOnlyList<string> partitionBy)
    {
        var at = selectSql.LastIndexOf("ORDER BY ", StringComparison.Ordinal);
        if (at < 0 || partitionBy.Count == 0)
        {
            return (selectSql, null);
        }
        var head = selectSql[..at];
        if (head.Count(c => c == '(') != head.Count(c => c == ')'))
        {
            return (selectSql, null); // inside a subquery, a window or a function call
        }
        var keys = selectSql[(at + "ORDER BY ".Length)..].Split(',').Select(k => k.Trim()).ToList();
        if (keys.Count < partitionBy.Count || keys.Any(k => !PlainKey().IsMatch(k)))
        {
            return (selectSql, null);
        }
        for (var i = 0; i < partitionBy.Count; i++)
        {
            if (keys[i].Split(' ')[0] != partitionBy[i])
            {
                return (selectSql, null);
            }
        }
        var within = keys.Skip(partitionBy.Count).ToList();
        return (head, within.Count == 0 ? null : string.Join(", ", within));
    }

    /// <summary>The column names of keys as <see cref="Split"/> returns them.</summary>
    public static IEnumerable<string> Columns(string within) => within.Split(',').Select(k => k.Trim().Split(' ')[0]);

    /// <summary>A column name with an optional direction and NULLS placement, and nothing else.</summary>
    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*( (ASC|DESC))?( NULLS (FIRST|LAST))?$")]
    private static partial Regex PlainKey();
}
