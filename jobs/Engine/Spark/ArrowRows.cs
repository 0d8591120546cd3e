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

    /// <summary>
    /// Builds one record batch from rows <paramref name="start"/>..start+count−1 of local columns (all fields nullable).
    /// Every CLR type a model stage hands over maps to the Arrow type Spark reads as the matching SQL type, whatever
    /// the row source: properties of row classes, or untyped rows with a schema from Parquet.Net (which reports
    /// <c>ReadOnlyMemory&lt;char&gt;</c> for strings). Nullable&lt;T&gt; maps like T; null values are Arrow nulls.
    /// </summary>
    public static RecordBatch Batch(IReadOnlyList<LocalColumn> columns, int start, int count)
    {
        var fields = new List<Field>(columns.Count);
        var arrays = new List<IArrowArray>(columns.Count);
        foreach (var column in columns)
        {
            var values = new object?[count];
            for (var i = 0; i < count; i++)
            {
                values[i] = column.Values[start + i];
            }
            var (arrowType, array) = Column(column, values);
            fields.Add(new Field(column.Name, arrowType, nullable: true));
            arrays.Add(array);
        }
        return new RecordBatch(new Schema(fields, null), arrays, count);
    }

    /// <summary>The Arrow type and array of one column's values (a slice of <paramref name="column"/>).</summary>
    private static (IArrowType Type, IArrowArray Array) Column(LocalColumn column, object?[] values)
    {
        var type = Nullable.GetUnderlyingType(column.Type) ?? column.Type;
        try
        {
            return type switch
            {
                _ when type == typeof(string) || type == typeof(ReadOnlyMemory<char>) || type == typeof(Memory<char>) || type == typeof(char) || type == typeof(char[]) =>
                    (StringType.Default, Build(new StringArray.Builder(), values, (b, v) => b.Append(Text(v)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(int) || type == typeof(ushort) =>
                    (Int32Type.Default, Build(new Int32Array.Builder(), values, (b, v) => b.Append(Convert.ToInt32(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(long) || type == typeof(uint) =>
                    (Int64Type.Default, Build(new Int64Array.Builder(), values, (b, v) => b.Append(Convert.ToInt64(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(short) || type == typeof(byte) =>
                    (Int16Type.Default, Build(new Int16Array.Builder(), values, (b, v) => b.Append(Convert.ToInt16(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(sbyte) =>
                    (Int8Type.Default, Build(new Int8Array.Builder(), values, (b, v) => b.Append(Convert.ToSByte(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(double) =>
                    (DoubleType.Default, Build(new DoubleArray.Builder(), values, (b, v) => b.Append(Convert.ToDouble(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(float) =>
                    (FloatType.Default, Build(new FloatArray.Builder(), values, (b, v) => b.Append(Convert.ToSingle(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(decimal) => DecimalColumn(column, values),
                _ when type == typeof(bool) =>
                    (BooleanType.Default, Build(new BooleanArray.Builder(), values, (b, v) => b.Append(Convert.ToBoolean(v, CultureInfo.InvariantCulture)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(DateOnly) =>
                    (Date32Type.Default, Build(new Date32Array.Builder(), values, (b, v) => b.Append(Date(v)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(DateTime) || type == typeof(DateTimeOffset) =>
                    (UtcTimestamp, Build(new TimestampArray.Builder(UtcTimestamp), values, (b, v) => b.Append(Instant(v)), b => b.AppendNull(), b => b.Build())),
                _ when type == typeof(byte[]) || type == typeof(ReadOnlyMemory<byte>) =>
                    (BinaryType.Default, Build(new BinaryArray.Builder(), values, (b, v) => b.Append(Bytes(v)), b => b.AppendNull(), b => b.Build())),
                _ => throw new EngineException($"Spark: cannot upload a column of type {TypeName(column.Type)} ({column.Name})"),
            };
        }
        catch (Exception e) when (e is InvalidCastException or FormatException or OverflowException)
        {
            throw new EngineException($"Spark: a value of column {column.Name} does not fit its type {TypeName(column.Type)} ({e.Message})", e);
        }
    }

    /// <summary>Spark's TIMESTAMP (an instant, shown in the session time zone, UTC) as Arrow: microseconds with a zone.</summary>
    private static readonly TimestampType UtcTimestamp = new(TimeUnit.Microsecond, "UTC");

    /// <summary>The widest decimal Spark takes.</summary>
    private const int MaxDecimalPrecision = 38;

    /// <summary>
    /// The declared DECIMAL(p, s) of the column, else DECIMAL(38, s) with s the largest scale of the whole column (not
    /// just this slice: every chunk of one upload has the same type), reduced where needed so the integer digits fit;
    /// values are rounded to s.
    /// </summary>
    private static (IArrowType Type, IArrowArray Array) DecimalColumn(LocalColumn column, object?[] values)
    {
        if (column.DecimalType is { } declaredType)
        {
            // A declared DECIMAL(p, s) (money): that type, whatever the values; they are already rounded to s.
            var declared = new Decimal128Type(declaredType.Precision, declaredType.Scale);
            return (declared, Build(new Decimal128Array.Builder(declared), values,
                (b, v) => b.Append(Math.Round(Convert.ToDecimal(v, CultureInfo.InvariantCulture), declaredType.Scale, MidpointRounding.AwayFromZero)), b => b.AppendNull(), b => b.Build()));
        }
        int scale = 0, integerDigits = 1;
        foreach (var v in column.Values)
        {
            if (v is not null)
            {
                var d = Convert.ToDecimal(v, CultureInfo.InvariantCulture);
                scale = Math.Max(scale, d.Scale);
                integerDigits = Math.Max(integerDigits, decimal.Truncate(Math.Abs(d)).ToString(CultureInfo.InvariantCulture).Length);
            }
        }
        scale = Math.Min(scale, MaxDecimalPrecision - integerDigits);
        var type = new Decimal128Type(MaxDecimalPrecision, scale);
        return (type, Build(new Decimal128Array.Builder(type), values,
            (b, v) => b.Append(Math.Round(Convert.ToDecimal(v, CultureInfo.InvariantCulture), scale, MidpointRounding.ToEven)), b => b.AppendNull(), b => b.Build()));
    }

    private static string Text(object v) => v switch
    {
        string s => s,
        ReadOnlyMemory<char> m => m.ToString(),
        Memory<char> m => m.ToString(),
        char[] a => new string(a),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    private static DateOnly Date(object v) => v switch
    {
        DateOnly d => d,
        DateTime t => DateOnly.FromDateTime(t),
        DateTimeOffset o => DateOnly.FromDateTime(o.UtcDateTime),
        string s => DateOnly.Parse(s, CultureInfo.InvariantCulture),
        _ => throw new InvalidCastException($"{v.GetType().Name} is not a date"),
    };

    /// <summary>An instant: a DateTime of unspecified kind is taken as UTC (the pipeline's clock), a local one converted.</summary>
    private static DateTimeOffset Instant(object v) => v switch
    {
        DateTimeOffset o => o.ToUniversalTime(),
        DateTime { Kind: DateTimeKind.Local } t => new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero),
        DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc), TimeSpan.Zero),
        DateOnly d => new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
        _ => throw new InvalidCastException($"{v.GetType().Name} is not an instant"),
    };

    private static ReadOnlySpan<byte> Bytes(object v) => v switch
    {
        byte[] a => a,
        ReadOnlyMemory<byte> m => m.Span,
        _ => throw new InvalidCastException($"{v.GetType().Name} is not binary"),
    };

    /// <summary>A readable CLR type name (<c>ReadOnlyMemory&lt;Char&gt;</c>, not <c>ReadOnlyMemory`1</c>).</summary>
    private static string TypeName(Type t) => t.IsGenericType
        ? $"{t.Name[..t.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", t.GetGenericArguments().Select(TypeName))}>"
        : t.Name;

    private static IArrowArray Build<TBuilder>(TBuilder builder, object?[] values, Action<TBuilder, object> append, Action<TBuilder> appendNull, Func<TBuilder, IArrowArray> build)
    {
        foreach (var v in values)
        {
            if (v is null or DBNull)
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
