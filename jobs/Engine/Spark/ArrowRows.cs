using System.Data;
using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Pipeline.Engine.Spark;

/// <summary>Arrow ↔ .NET values for the Spark engine: result rows as objects / IDataRecord, local rows as record batches.</summary>
internal static class ArrowRows
{
    /// <summary>The value at <paramref name="index"/> as the .NET type the DuckDB engine would return (null for NULL).</summary>
    public static object? Value(IArrowArray array, int index)
    {
        if (array.IsNull(index))
        {
            return null;
        }
        return array switch
        {
            BooleanArray a => a.GetValue(index),
            Int8Array a => a.GetValue(index),
            Int16Array a => a.GetValue(index),
            Int32Array a => a.GetValue(index),
            Int64Array a => a.GetValue(index),
            UInt8Array a => a.GetValue(index),
            UInt16Array a => a.GetValue(index),
            UInt32Array a => a.GetValue(index),
            UInt64Array a => a.GetValue(index),
            FloatArray a => a.GetValue(index),
            DoubleArray a => a.GetValue(index),
            StringArray a => a.GetString(index),
            LargeStringArray a => a.GetString(index),
            BinaryArray a => a.GetBytes(index).ToArray(),
            Date32Array a => a.GetDateOnly(index),
            Date64Array a => a.GetDateOnly(index),
            TimestampArray a => a.GetTimestamp(index),
            Decimal128Array a => DecimalValue(a, index),
            _ => throw new EngineException($"Spark: result column of Arrow type {array.Data.DataType.Name} is not supported"),
        };
    }

    private static object? DecimalValue(Decimal128Array a, int index)
    {
        try
        {
            return a.GetValue(index);
        }
        catch (OverflowException)
        {
            return double.Parse(a.GetString(index), CultureInfo.InvariantCulture); // more than 28 digits: as double
        }
    }

    /// <summary>All rows of a query result as object arrays.</summary>
    public static List<object?[]> Rows(SparkQueryResult result)
    {
        var rows = new List<object?[]>();
        foreach (var batch in result.Batches)
        {
            for (var r = 0; r < batch.Length; r++)
            {
                var row = new object?[batch.ColumnCount];
                for (var c = 0; c < row.Length; c++)
                {
                    row[c] = Value(batch.Column(c), r);
                }
                rows.Add(row);
            }
        }
        return rows;
    }

    /// <summary>Builds one record batch from local columns (all fields nullable).</summary>
    public static RecordBatch Batch(IReadOnlyList<LocalColumn> columns, int start, int count)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        foreach (var column in columns)
        {
            var type = Nullable.GetUnderlyingType(column.Type) ?? column.Type;
            var values = Enumerable.Range(start, count).Select(i => column.Values[i]).ToList();
            (IArrowType arrowType, IArrowArray array) = type switch
            {
                _ when type == typeof(string) => ((IArrowType)StringType.Default, Build(new StringArray.Builder(), values, (b, v) => b.Append(Convert.ToString(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(int) => (Int32Type.Default, Build(new Int32Array.Builder(), values, (b, v) => b.Append(Convert.ToInt32(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(long) => (Int64Type.Default, Build(new Int64Array.Builder(), values, (b, v) => b.Append(Convert.ToInt64(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(double) => (DoubleType.Default, Build(new DoubleArray.Builder(), values, (b, v) => b.Append(Convert.ToDouble(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(float) => (FloatType.Default, Build(new FloatArray.Builder(), values, (b, v) => b.Append(Convert.ToSingle(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(bool) => (BooleanType.Default, Build(new BooleanArray.Builder(), values, (b, v) => b.Append((bool)v), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(DateOnly) => (Date32Type.Default, Build(new Date32Array.Builder(), values, (b, v) => b.Append((DateOnly)v), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(byte[]) => (BinaryType.Default, Build(new BinaryArray.Builder(), values, (b, v) => b.Append(((byte[])v).AsSpan()), b => b.AppendNull(), b => b.Build())),
                _ => throw new EngineException($"Spark: cannot upload a column of type {type.Name} ({column.Name})"),
            };
            fields.Add(new Field(column.Name, arrowType, nullable: true));
            arrays.Add(array);
        }
        return new RecordBatch(new Schema(fields, null), arrays, count);
    }

    private static IArrowArray Build<TBuilder>(TBuilder builder, List<object?> values, Action<TBuilder, object> append, Action<TBuilder> appendNull, Func<TBuilder, IArrowArray> build)
    {
        foreach (var v in values)
        {
            if (v is null)
            {
                appendNull(builder);
            }
            else
            {
                append(builder, v);
            }
        }
        return build(builder);
    }
}

/// <summary>One row of an Arrow record batch seen as an <see cref="IDataRecord"/> (what model stages read).</summary>
internal sealed class ArrowDataRecord : IDataRecord
{
    private RecordBatch _batch = null!;
    private int _row;

    public void MoveTo(RecordBatch batch, int row)
    {
        _batch = batch;
        _row = row;
    }

    public int FieldCount => _batch.ColumnCount;

    public object this[int i] => GetValue(i);

    public object this[string name] => GetValue(GetOrdinal(name));

    public object GetValue(int i) => ArrowRows.Value(_batch.Column(i), _row) ?? DBNull.Value;

    public bool IsDBNull(int i) => _batch.Column(i).IsNull(_row);

    public string GetName(int i) => _batch.Schema.GetFieldByIndex(i).Name;

    public int GetOrdinal(string name) => _batch.Schema.GetFieldIndex(name);

    public string GetDataTypeName(int i) => _batch.Schema.GetFieldByIndex(i).DataType.Name;

    public Type GetFieldType(int i) => ArrowRows.Value(_batch.Column(i), _row)?.GetType() ?? typeof(object);

    public string GetString(int i) => Convert.ToString(GetValue(i), CultureInfo.InvariantCulture)!;

    public double GetDouble(int i) => Convert.ToDouble(GetValue(i), CultureInfo.InvariantCulture);

    public float GetFloat(int i) => Convert.ToSingle(GetValue(i), CultureInfo.InvariantCulture);

    public decimal GetDecimal(int i) => Convert.ToDecimal(GetValue(i), CultureInfo.InvariantCulture);

    public int GetInt32(int i) => Convert.ToInt32(GetValue(i), CultureInfo.InvariantCulture);

    public long GetInt64(int i) => Convert.ToInt64(GetValue(i), CultureInfo.InvariantCulture);

    public short GetInt16(int i) => Convert.ToInt16(GetValue(i), CultureInfo.InvariantCulture);

    public byte GetByte(int i) => Convert.ToByte(GetValue(i), CultureInfo.InvariantCulture);

    public bool GetBoolean(int i) => Convert.ToBoolean(GetValue(i), CultureInfo.InvariantCulture);

    public char GetChar(int i) => GetString(i)[0];

    public Guid GetGuid(int i) => Guid.Parse(GetString(i));

    public DateTime GetDateTime(int i) => GetValue(i) switch
    {
        DateTimeOffset o => o.UtcDateTime,
        DateOnly d => d.ToDateTime(TimeOnly.MinValue),
        var v => Convert.ToDateTime(v, CultureInfo.InvariantCulture),
    };

    public long GetBytes(int i, long fieldOffset, byte[]? buffer, int bufferoffset, int length)
    {
        var bytes = (byte[])GetValue(i);
        if (buffer is null)
        {
            return bytes.Length;
        }
        var n = (int)Math.Min(length, bytes.Length - fieldOffset);
        System.Array.Copy(bytes, fieldOffset, buffer, bufferoffset, n);
        return n;
    }

    public long GetChars(int i, long fieldoffset, char[]? buffer, int bufferoffset, int length)
    {
        var chars = GetString(i);
        if (buffer is null)
        {
            return chars.Length;
        }
        var n = (int)Math.Min(length, chars.Length - fieldoffset);
        chars.CopyTo((int)fieldoffset, buffer, bufferoffset, n);
        return n;
    }

    public IDataReader GetData(int i) => throw new NotSupportedException();

    public int GetValues(object[] values)
    {
        var n = Math.Min(values.Length, FieldCount);
        for (var i = 0; i < n; i++)
        {
            values[i] = GetValue(i);
        }
        return n;
    }
}
