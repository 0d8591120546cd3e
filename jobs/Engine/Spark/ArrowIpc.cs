using Apache.Arrow;
using Apache.Arrow.Ipc;
using Google.Protobuf;

namespace Pipeline.Engine.Spark;

/// <summary>Arrow IPC stream encoding/decoding for Spark Connect payloads.</summary>
internal static class ArrowIpc
{
    /// <summary>Decodes one self-contained Arrow IPC stream (schema + batches) and appends its non-empty batches.</summary>
    /// <returns>The stream's schema.</returns>
    public static Schema Decode(ByteString data, List<RecordBatch> into)
    {
        try
        {
            using var stream = new MemoryStream(data.ToByteArray(), writable: false);
            using var reader = new ArrowStreamReader(stream);
            while (reader.ReadNextRecordBatch() is { } batch)
            {
                if (batch.Length > 0)
                {
                    into.Add(batch);
                }
                else
                {
                    batch.Dispose();
                }
            }
            return reader.Schema ?? throw new InvalidDataException("Arrow IPC stream has no schema");
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or ArgumentException or IOException or OverflowException or IndexOutOfRangeException)
        {
            throw new SparkConnectException(SparkErrorKind.Failure, $"Spark Connect: could not decode an Arrow batch from the server ({ex.GetType().Name}: {ex.Message})", ex);
        }
    }

    /// <summary>Encodes batches sharing one schema as an Arrow IPC stream.</summary>
    public static byte[] Encode(Schema schema, IEnumerable<RecordBatch> batches)
    {
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, schema, leaveOpen: true))
        {
            foreach (var batch in batches)
            {
                writer.WriteRecordBatch(batch);
            }
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    /// <summary>Checks that bytes are a readable Arrow IPC stream with a schema; returns the number of rows.</summary>
    public static long Validate(ReadOnlyMemory<byte> ipcStream)
    {
        try
        {
            using var stream = new MemoryStream(ipcStream.ToArray(), writable: false);
            using var reader = new ArrowStreamReader(stream);
            long rows = 0;
            while (reader.ReadNextRecordBatch() is { } batch)
            {
                rows += batch.Length;
                batch.Dispose();
            }
            _ = reader.Schema ?? throw new InvalidDataException("no schema");
            return rows;
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or ArgumentException or IOException or OverflowException or IndexOutOfRangeException)
        {
            throw new SparkConnectException(SparkErrorKind.Configuration, $"Spark Connect: the data to upload is not an Arrow IPC stream ({ex.GetType().Name})", ex);
        }
    }
}
