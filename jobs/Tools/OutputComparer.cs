using System.Globalization;
using Pipeline.Engine;
using Pipeline.Engine.DuckDb;
using Pipeline.Stages;

namespace Pipeline.Tools;

/// <summary>One difference between two output directories.</summary>
public sealed record OutputDifference(string Table, string What)
{
    public override string ToString() => $"{Table}: {What}";
}

/// <summary>What was compared for one table.</summary>
public sealed record TableComparison(string Table, long RowsA, long RowsB, IReadOnlyList<string> Keys, int NumericColumns);

/// <summary>The result of comparing two output directories.</summary>
public sealed record OutputComparison(IReadOnlyList<TableComparison> Tables, IReadOnlyList<OutputDifference> Differences)
{
    public bool Equal => Differences.Count == 0;
}

/// <summary>
/// Compares two pipeline output directories table by table — e.g. the same inputs run on DuckDB and on Spark:
/// the set of published tables (directories holding a <c>_SUCCESS</c>), row counts, key sets (the table's grain,
/// see <see cref="KeysOf"/>) and the sum of every numeric column (relative tolerance, since engines add doubles in
/// different orders). Reads with an embedded DuckDB, so it needs only the files.
/// </summary>
public static class OutputComparer
{
    /// <summary>Relative tolerance on numeric sums.</summary>
    public const double Tolerance = 1e-6;

    /// <summary>
    /// The grain of a published table as its stage declares it (a key that must be the same set on both sides); the
    /// quarantine tables compare the reason and line instead (paths may differ in form across engines). Tables without a
    /// key compare counts and sums only.
    /// </summary>
    public static IReadOnlyList<string> KeysOf(string table) => StageRegistry.Table(table) switch
    {
        { Name: var n } when n.StartsWith("quarantine/", StringComparison.Ordinal) => ["reason_code", "source_line"],
        { } spec => spec.Key,
        null => [],
    };

    /// <summary>Published tables under an output root: relative paths of directories with a <c>_SUCCESS</c> file.</summary>
    public static IReadOnlyList<string> Tables(string root) =>
        Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "_SUCCESS", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(root, Path.GetDirectoryName(f)!).Replace('\\', '/'))
                .Where(t => !t.Split('/').Any(p => p.StartsWith('_')))
                .Order(StringComparer.Ordinal)
                .ToList()
            : [];

    public static OutputComparison Compare(string rootA, string rootB)
    {
        var differences = new List<OutputDifference>();
        var tablesA = Tables(rootA);
        var tablesB = Tables(rootB);
        foreach (var t in tablesA.Except(tablesB, StringComparer.Ordinal))
        {
            differences.Add(new OutputDifference(t, $"only in {rootA}"));
        }
        foreach (var t in tablesB.Except(tablesA, StringComparer.Ordinal))
        {
            differences.Add(new OutputDifference(t, $"only in {rootB}"));
        }
        var compared = new List<TableComparison>();
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        foreach (var table in tablesA.Intersect(tablesB, StringComparer.Ordinal))
        {
            compared.Add(CompareTable(engine, table, Path.Combine(rootA, table), Path.Combine(rootB, table), differences));
        }
        return new OutputComparison(compared, differences);
    }

    private static TableComparison CompareTable(IEngine engine, string table, string dirA, string dirB, List<OutputDifference> differences)
    {
        var d = engine.Dialect;
        var hasA = Publishing.OutputStore.HasParquet(dirA);
        var hasB = Publishing.OutputStore.HasParquet(dirB);
        if (!hasA || !hasB)
        {
            if (hasA != hasB)
            {
                differences.Add(new OutputDifference(table, $"Parquet files only on side {(hasA ? "A" : "B")}"));
            }
            return new TableComparison(table, 0, 0, [], 0);
        }
        var a = engine.ParquetRelation(dirA);
        var b = engine.ParquetRelation(dirB);
        long Count(string relation) => Convert.ToInt64(engine.Query(CompareSql.RowCount(relation))[0][0], CultureInfo.InvariantCulture);
        var rowsA = Count(a);
        var rowsB = Count(b);
        if (rowsA != rowsB)
        {
            differences.Add(new OutputDifference(table, $"row counts differ: {rowsA} vs {rowsB}"));
        }

        var columnsA = Columns(engine, a);
        var columnsB = Columns(engine, b);
        foreach (var c in columnsA.Keys.Except(columnsB.Keys, StringComparer.Ordinal))
        {
            differences.Add(new OutputDifference(table, $"column {c} only on side A"));
        }
        foreach (var c in columnsB.Keys.Except(columnsA.Keys, StringComparer.Ordinal))
        {
            differences.Add(new OutputDifference(table, $"column {c} only on side B"));
        }

        var keys = KeysOf(table).Where(k => columnsA.ContainsKey(k) && columnsB.ContainsKey(k)).ToList();
        if (keys.Count > 0)
        {
            foreach (var (from, to, side) in new[] { (a, b, "A"), (b, a, "B") })
            {
                var only = engine.Query(CompareSql.KeysOnlyIn(d, from, to, keys))[0];
                var n = Convert.ToInt64(only[0], CultureInfo.InvariantCulture);
                if (n > 0)
                {
                    differences.Add(new OutputDifference(table, $"{n} key(s) ({string.Join(", ", keys)}) only on side {side}, e.g. {only[1]}"));
                }
            }
            var duplicates = engine.Query(CompareSql.DuplicateKeys(d, a, keys))[0][0];
            if (Convert.ToInt64(duplicates, CultureInfo.InvariantCulture) > 0 && !table.StartsWith("quarantine/", StringComparison.Ordinal))
            {
                differences.Add(new OutputDifference(table, $"key ({string.Join(", ", keys)}) is not unique on side A"));
            }
        }

        var numeric = columnsA.Where(c => IsNumeric(c.Value) && columnsB.TryGetValue(c.Key, out var tb) && IsNumeric(tb) && !keys.Contains(c.Key))
            .Select(c => c.Key).Order(StringComparer.Ordinal).ToList();
        if (numeric.Count > 0)
        {
            var sa = engine.Query(CompareSql.NumericSums(d, a, numeric))[0];
            var sb = engine.Query(CompareSql.NumericSums(d, b, numeric))[0];
            for (var i = 0; i < numeric.Count; i++)
            {
                var x = sa[i] is null ? 0.0 : Convert.ToDouble(sa[i], CultureInfo.InvariantCulture);
                var y = sb[i] is null ? 0.0 : Convert.ToDouble(sb[i], CultureInfo.InvariantCulture);
                if (Math.Abs(x - y) > Tolerance * Math.Max(1.0, Math.Max(Math.Abs(x), Math.Abs(y))))
                {
                    differences.Add(new OutputDifference(table, string.Create(CultureInfo.InvariantCulture, $"sum({numeric[i]}) differs: {x:R} vs {y:R}")));
                }
            }
        }
        return new TableComparison(table, rowsA, rowsB, keys, numeric.Count);
    }

    private static Dictionary<string, string> Columns(IEngine engine, string relation) =>
        engine.Query(CompareSql.Columns(engine.Dialect, relation))
            .ToDictionary(r => (string)r[0]!, r => (string)r[1]!, StringComparer.Ordinal);

    /// <summary>A numeric type name as DuckDB (<c>BIGINT</c>, <c>DECIMAL(18,4)</c>) or Spark (<c>bigint</c>, <c>int</c>, <c>decimal(18,4)</c>) reports it.</summary>
    private static bool IsNumeric(string engineType) => engineType.ToUpperInvariant() is var t
        && (t.StartsWith("DECIMAL", StringComparison.Ordinal)
            || t is "TINYINT" or "SMALLINT" or "INTEGER" or "INT" or "BIGINT" or "HUGEINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" or "UBIGINT" or "FLOAT" or "DOUBLE");

    /// <summary>The comparison as text: one line per table, then the differences.</summary>
    public static string Report(OutputComparison c)
    {
        var lines = c.Tables.Select(t => string.Create(CultureInfo.InvariantCulture,
            $"{t.Table,-26} rows {t.RowsA,10} / {t.RowsB,-10} keys [{string.Join(", ", t.Keys)}]  numeric sums {t.NumericColumns}")).ToList();
        lines.Add(c.Equal ? "outputs match" : $"{c.Differences.Count} difference(s):");
        lines.AddRange(c.Differences.Select(d => "  " + d));
        return string.Join(Environment.NewLine, lines);
    }
}
