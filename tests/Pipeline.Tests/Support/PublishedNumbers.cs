using Pipeline.Tools;

namespace Pipeline.Tests.Support;

/// <summary>Checks on every number a run published, read back with Parquet.Net (independent of the engine that wrote it).</summary>
internal static class PublishedNumbers
{
    /// <summary>
    /// Every NaN or ±∞ in the published Parquet tables under <paramref name="output"/>, as "table.column = value"
    /// (at most one entry per column). Empty when every floating-point value is finite (NULLs are fine).
    /// </summary>
    public static List<string> NonFinite(string output)
    {
        var found = new List<string>();
        foreach (var table in OutputComparer.Tables(output))
        {
            var dir = Path.Combine(output, table);
            if (!Directory.EnumerateFiles(dir, "*.parquet", SearchOption.AllDirectories).Any())
            {
                continue; // the report page, the model file
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var row in ParquetTable.Read(dir))
            {
                foreach (var (column, value) in row)
                {
                    var bad = value switch
                    {
                        double d => !double.IsFinite(d),
                        float f => !float.IsFinite(f),
                        _ => false,
                    };
                    if (bad && seen.Add(column))
                    {
                        found.Add($"{table}.{column} = {value}");
                    }
                }
            }
        }
        return found;
    }
}
