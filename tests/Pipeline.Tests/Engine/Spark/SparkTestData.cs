using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Google.Protobuf;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>Arrow data for the Spark Connect tests, built with Apache.Arrow.</summary>
internal static class SparkTestData
{
    public static Schema Schema { get; } = new Schema.Builder()
        .Field(f => f.Name("id").DataType(Int64Type.Default).Nullable(false))
        .Field(f => f.Name("name").DataType(StringType.Default).Nullable(true))
        .Field(f => f.Name("amount").DataType(DoubleType.Default).Nullable(false))
        .Build();

    /// <summary>Rows id = start..start+count-1, name = "n{id}" (null every 7th), amount = id / 4.</summary>
    public static RecordBatch Rows(long start, int count)
    {
        var ids = new Int64Array.Builder();
        var names = new StringArray.Builder();
        var amounts = new DoubleArray.Builder();
        for (var i = 0; i < count; i++)
        {
            var id = start + i;
            ids.Append(id);
            if (id % 7 == 0)
            {
                names.AppendNull();
            }
            else
            {
                names.Append($"n{id}");
            }
            amounts.Append(id / 4.0);
        }
        return new RecordBatch(Schema, [ids.Build(), names.Build(), amounts.Build()], count);
    }

    /// <summary>Reads every row of an Arrow IPC stream as (id, name, amount).</summary>
    public static List<(long Id, string? Name, double Amount)> ReadIpc(ByteString data)
    {
        using var reader = new ArrowStreamReader(new MemoryStream(data.ToByteArray()));
        var rows = new List<(long, string?, double)>();
        while (reader.ReadNextRecordBatch() is { } batch)
        {
            using (batch)
            {
                rows.AddRange(Flatten(batch));
            }
        }
        return rows;
    }

    public static IEnumerable<(long Id, string? Name, double Amount)> Flatten(RecordBatch batch)
    {
        var ids = (Int64Array)batch.Column("id");
        var names = (StringArray)batch.Column("name");
        var amounts = (DoubleArray)batch.Column("amount");
        for (var i = 0; i < batch.Length; i++)
        {
            yield return (ids.GetValue(i)!.Value, names.GetString(i), amounts.GetValue(i)!.Value);
        }
    }
}
