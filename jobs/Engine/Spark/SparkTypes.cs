using Apache.Arrow;

namespace Pipeline.Engine.Spark;

/// <summary>File formats a temp view can be read from.</summary>
public enum SparkFileFormat
{
    /// <summary>CSV (<c>format="csv"</c>).</summary>
    Csv,

    /// <summary>JSON lines (<c>format="json"</c>).</summary>
    Json,

    /// <summary>Parquet (<c>format="parquet"</c>).</summary>
    Parquet,

    /// <summary>Text lines, one row per line in a column <c>value</c> (<c>format="text"</c>).</summary>
    Text,
}

/// <summary>What a write does when the target path already has data (Spark's SaveMode).</summary>
public enum SparkSaveMode
{
    /// <summary>Add files to the existing data.</summary>
    Append,

    /// <summary>Replace the data (with <c>partitionOverwriteMode=dynamic</c>: only the partitions written).</summary>
    Overwrite,

    /// <summary>Fail when the path already has data.</summary>
    ErrorIfExists,

    /// <summary>Do nothing when the path already has data.</summary>
    Ignore,
}

/// <summary>
/// The rows a query returned, as Arrow record batches in server order. Owns the batches: dispose it.
/// </summary>
public sealed class SparkQueryResult : IDisposable
{
    private readonly List<RecordBatch> _batches;

    internal SparkQueryResult(Schema? schema, List<RecordBatch> batches)
    {
        Schema = schema;
        _batches = batches;
        RowCount = batches.Sum(b => (long)b.Length);
    }

    /// <summary>The result schema (from the first Arrow batch); null only if the server sent no batch at all.</summary>
    public Schema? Schema { get; }

    /// <summary>Non-empty record batches, in the order the server sent them.</summary>
    public IReadOnlyList<RecordBatch> Batches => _batches;

    /// <summary>Total number of rows.</summary>
    public long RowCount { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var batch in _batches)
        {
            batch.Dispose();
        }
        _batches.Clear();
    }
}
