using Pipeline.Engine;

namespace Pipeline.Tools;

/// <summary>
/// The queries of <see cref="OutputComparer"/>: per table, row counts, key sets and numeric sums of one side, then
/// compared in C#. The comparer reads with an embedded DuckDB, but the queries are portable SQL plus
/// <see cref="ISqlDialect"/> calls like every other builder, so the same comparison can run on another engine. Key
/// columns are compared as text (<see cref="ISqlDialect.ToText"/>), so a key typed differently on the two sides (an
/// INTEGER partition value against a BIGINT column) still matches.
/// </summary>
public static class CompareSql
{
    /// <summary>A relation's row count.</summary>
    public static string RowCount(string relation) => $"SELECT count(*) FROM {relation}";

    /// <summary>
    /// A relation's columns as (name, engine type name) rows (<see cref="ISqlDialect.DescribeColumns"/>: neither engine
    /// has a portable spelling for reading a schema).
    /// </summary>
    public static string Columns(ISqlDialect d, string relation) => d.DescribeColumns(relation);

    /// <summary>
    /// The keys of <paramref name="relation"/> that <paramref name="otherRelation"/> does not have (set difference,
    /// duplicates ignored): how many, and the smallest one as <c>k0|k1|…</c> (an example for the message).
    /// </summary>
    public static string KeysOnlyIn(ISqlDialect d, string relation, string otherRelation, IReadOnlyList<string> keys) => $"""
        WITH only_here AS (
          SELECT {KeyList(d, keys)} FROM {relation}
          EXCEPT
          SELECT {KeyList(d, keys)} FROM {otherRelation}
        )
        SELECT count(*), min(concat_ws('|', {KeyNames(keys)}))
        FROM only_here
        """;

    /// <summary>How many keys occur on more than one row of <paramref name="relation"/>.</summary>
    public static string DuplicateKeys(ISqlDialect d, string relation, IReadOnlyList<string> keys) => $"""
        WITH keyed AS (
          SELECT {KeyList(d, keys)} FROM {relation}
        ),
        duplicated AS (
          SELECT {KeyNames(keys)} FROM keyed GROUP BY {KeyNames(keys)} HAVING count(*) > 1
        )
        SELECT count(*) FROM duplicated
        """;

    /// <summary>The sum of each of <paramref name="columns"/> as DOUBLE, in one row (NULL for a column without values).</summary>
    public static string NumericSums(ISqlDialect d, string relation, IReadOnlyList<string> columns) =>
        $"SELECT {string.Join(", ", columns.Select(c => $"sum(CAST({d.Id(c)} AS DOUBLE))"))} FROM {relation}";

    /// <summary>The key columns as text, named k0, k1, ….</summary>
    private static string KeyList(ISqlDialect d, IReadOnlyList<string> keys) =>
        string.Join(", ", keys.Select((k, i) => $"{d.ToText(d.Id(k))} AS k{i}"));

    private static string KeyNames(IReadOnlyList<string> keys) => string.Join(", ", keys.Select((_, i) => $"k{i}"));
}
