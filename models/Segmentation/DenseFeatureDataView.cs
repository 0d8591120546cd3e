using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipeline.Models.Segmentation;

/// <summary>
/// A read-only ML.NET view over one row-major <c>float</c> buffer (n × d) with a single fixed-size vector column.
/// </summary>
/// <remarks>
/// <c>LoadFromEnumerable</c> needs one object and one array per row: at a million customers that is two million
/// small allocations and roughly twice the memory of the numbers themselves. This view hands ML.NET slices of
/// one buffer instead. Row order is the buffer's order, no shuffling, so every pass sees the same sequence.
/// </remarks>
internal sealed class DenseFeatureDataView : IDataView
{
    private readonly float[] _values;
    private readonly int _rows;
    private readonly int _width;

    public DenseFeatureDataView(string columnName, float[] values, int rows, int width)
    {
        _values = values;
        _rows = rows;
        _width = width;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(columnName, new VectorDataViewType(NumberDataViewType.Single, width));
        Schema = builder.ToSchema();
    }

    /// <summary>
    /// Number of distinct rows, counting no further than <paramref name="stopAt"/>: ML.NET's k-means refuses
    /// more clusters than distinct rows, so callers need to know whether there are at least k of them.
    /// </summary>
    public int CountDistinctRows(int stopAt)
    {
        var seen = new HashSet<RowKey>();
        for (var i = 0; i < _rows && seen.Count < stopAt; i++)
        {
            seen.Add(new RowKey(_values, i * _width, _width));
        }
        return seen.Count;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Any(c => c.Index == 0));

    // One cursor is allowed ("up to n"); consumers that want parallelism split the work themselves.
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private readonly struct RowKey(float[] values, int offset, int width) : IEquatable<RowKey>
    {
        private ReadOnlySpan<float> Span => values.AsSpan(offset, width);

        public bool Equals(RowKey other) => Span.SequenceEqual(other.Span);

        public override bool Equals(object? obj) => obj is RowKey other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var v in Span)
            {
                hash.Add(v);
            }
            return hash.ToHashCode();
        }
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly DenseFeatureDataView _view;
        private readonly bool _active;
        private long _position = -1;

        public Cursor(DenseFeatureDataView view, bool active)
        {
            _view = view;
            _active = active;
        }

        public override long Position => _position;

        public override long Batch => 0;

        public override DataViewSchema Schema => _view.Schema;

        public override bool IsColumnActive(DataViewSchema.Column column) => column.Index == 0 && _active;

        public override bool MoveNext()
        {
            if (_position + 1 < _view._rows)
            {
                _position++;
                return true;
            }
            _position = _view._rows;
            return false;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != 0 || !_active)
            {
                throw new ArgumentOutOfRangeException(nameof(column), "Only the active features column can be read.");
            }
            if (typeof(TValue) != typeof(VBuffer<float>))
            {
                throw new InvalidOperationException($"The features column is a float vector, not {typeof(TValue).Name}.");
            }
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                if (_position < 0 || _position >= _view._rows)
                {
                    throw new InvalidOperationException("The cursor is not on a row.");
                }
                var width = _view._width;
                var editor = VBufferEditor.Create(ref value, width);
                _view._values.AsSpan((int)(_position * width), width).CopyTo(editor.Values);
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);
    }
}
