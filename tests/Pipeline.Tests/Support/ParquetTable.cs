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
        var untyped = Parquet.Serialization.ParquetSerializer.DeserializeUntypedAsync(stream).GetAwaiter().GetResult();
        var result = new List<Dictionary<string, object?>>();
        var names = untyped.Schema.GetDataFields().Select(f => f.Name).ToList();
        foreach (var data in untyped.Data)
        {
            // The untyped reader leaves NULL values out of the dictionary: put every column back.
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                row[name] = data.TryGetValue(name, out var v) ? v : null;
            }
            foreach (var p in partitions)
            {
                row[p[0]] = p[1];
            }
            result.Add(row);
        }
        return result;
    }
}
