using Pipeline.Stages;

namespace Pipeline.Tests.Support;

/// <summary>
/// Compares what two output directories publish, file by file: every Parquet (and model) file of every table must be
/// byte-identical, except the tables that carry a <c>run_id</c> column (the quarantine tables: each row names the run
/// that set it aside, so two runs can never write the same bytes), whose rows are compared field by field without it.
/// Not compared: what is not a table (<c>_runs</c>, <c>_keys</c>, <c>_staging</c>, the lock), the <c>_SUCCESS</c>
/// markers (they name the publishing run) and the report page (it shows the runs' times and durations).
/// </summary>
internal static class PublishedTables
{
    /// <summary>The tables whose rows carry the run that wrote them, from the stages' declarations.</summary>
    public static IReadOnlyList<string> WithRunId { get; } =
        StageRegistry.Tables.Where(t => t.Columns.Any(c => c.Name == "run_id")).Select(t => t.Name).ToList();

    /// <summary>Every difference between the published tables of two output directories (empty when they agree).</summary>
    /// <param name="expectedRoot">The reference output directory.</param>
    /// <param name="actualRoot">The output directory to check.</param>
    /// <param name="tables">Only these tables (all when null).</param>
    public static List<string> Differences(string expectedRoot, string actualRoot, IReadOnlyCollection<string>? tables = null)
    {
        var expected = Files(expectedRoot, tables);
        var actual = Files(actualRoot, tables);
        var differences = new List<string>();
        differences.AddRange(expected.Except(actual, StringComparer.Ordinal).Select(f => $"{f}: missing"));
        differences.AddRange(actual.Except(expected, StringComparer.Ordinal).Select(f => $"{f}: not expected"));
        var fieldByField = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in expected.Intersect(actual, StringComparer.Ordinal))
        {
            if (File.ReadAllBytes(Path.Combine(expectedRoot, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actualRoot, file))))
            {
                continue;
            }
            var table = TableOf(file);
            if (table is not null && WithRunId.Contains(table))
            {
                fieldByField.Add(table);
            }
            else
            {
                differences.Add($"{file}: bytes differ");
            }
        }
        foreach (var table in fieldByField)
        {
            var a = WithoutRunId(Path.Combine(expectedRoot, table));
            var b = WithoutRunId(Path.Combine(actualRoot, table));
            if (a.Count != b.Count)
            {
                differences.Add($"{table}: {a.Count} rows vs {b.Count}");
                continue;
            }
            for (var i = 0; i < a.Count; i++)
            {
                if (a[i] != b[i])
                {
                    differences.Add($"{table} row {i} (run_id aside): {a[i]} vs {b[i]}");
                    break;
                }
            }
        }
        return differences;
    }

    /// <summary>The relative paths of the published table files (see the class summary for what is left out).</summary>
    public static List<string> Files(string root, IReadOnlyCollection<string>? tables = null) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(r => !r.StartsWith('_') && Path.GetFileName(r) != "_SUCCESS" && TableOf(r) is { } t && t != TableNames.Report
                        && (tables is null || tables.Contains(t)))
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string? TableOf(string relativePath) =>
        StageRegistry.Tables.Select(t => t.Name).Where(n => relativePath.StartsWith(n + "/", StringComparison.Ordinal)).MaxBy(n => n.Length);

    /// <summary>A table's rows in file order, each as one line of its fields without run_id.</summary>
    private static List<string> WithoutRunId(string tableDir) =>
        ParquetTable.Read(tableDir)
            .Select(r => string.Join(" | ", r.Where(kv => kv.Key != "run_id").Select(kv => $"{kv.Key}={Show(kv.Value)}")))
            .ToList();

    private static string Show(object? v) => v switch
    {
        null => "NULL",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
