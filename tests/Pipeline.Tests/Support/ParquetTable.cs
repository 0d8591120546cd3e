using Parquet;
using Parquet.Schema;

namespace Pipeline.Tests.Support;

/// <summary>
/// Reads a published table back with Parquet.Net — a reader independent of the engine that wrote it — into rows of
/// column → value, adding Hive partition values (<c>key=value</c> folder names) as string columns.
/// </summary>
internal static class ParquetTable
{
    public static List<Dictionary<string, object?>> Read(string tableDir)
    {
        var rows = new List<Dictionary<string, object?>>();
        foreach (var file in Directory.EnumerateFiles(tableDir, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var partitions = Path.GetRelativePath(tableDir, Path.GetDirectoryName(file)!)
                .Split(Path.DirectorySeparatorChar)
                .Where(p => p.Contains('=', StringComparison.Ordinal))
                .Select(p => p.Split('=', 2))
                .ToList();
            rows.AddRange(ReadFile(file, partitions));
        }
        return rows;
    }

    public static ParquetSchema Schema(string file)
    {
        using var stream = File.OpenRead(file);
        var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
        try
        {
            return reader.Schema;
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static List<Dictionary<string, object?>> ReadFile(string file, List<string[]> partitions)
    {
        using var stream = File.OpenRead(file);
        var reader = ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
        try
        {
            var result = new List<Dictionary<string, object?>>();
            var fields = reader.Schema.GetDataFields();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var columns = fields.Select(f => group.ReadColumnAsync(f).GetAwaiter().GetResult().Data).ToList();
                var n = columns.Count == 0 ? 0 : columns[0].Length;
                for (var i = 0; i < n; i++)
                {
                    var row = new Dictionary<string, object?>(StringComparer.Ordinal);
                    for (var c = 0; c < fields.Length; c++)
                    {
                        row[fields[c].Name] = columns[c].GetValue(i);
                    }
                    foreach (var p in partitions)
                    {
                        row[p[0]] = p[1];
                    }
                    result.Add(row);
                }
            }
            return result;
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
