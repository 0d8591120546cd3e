using System.Globalization;

namespace Pipeline.Models.Segmentation;

/// <summary>
/// A from → to matrix of customer counts between two segment assignments (e.g. last quarter's and this
/// quarter's). Rows are the previous segments plus <see cref="New"/> (customers only in the current run);
/// columns are the current segments plus <see cref="Gone"/> (customers only in the previous run). The
/// <see cref="New"/> → <see cref="Gone"/> cell is always 0.
/// </summary>
public sealed class MigrationMatrix
{
    /// <summary>Row label of customers absent from the previous assignments.</summary>
    public const string New = "new";

    /// <summary>Column label of customers absent from the current assignments.</summary>
    public const string Gone = "gone";

    private readonly int[][] _counts;

    internal MigrationMatrix(string[] from, string[] to, int[][] counts)
    {
        From = from;
        To = to;
        _counts = counts;
    }

    /// <summary>Row labels: the previous segments in ascending order, then <see cref="New"/>.</summary>
    public IReadOnlyList<string> From { get; }

    /// <summary>Column labels: the current segments in ascending order, then <see cref="Gone"/>.</summary>
    public IReadOnlyList<string> To { get; }

    /// <summary>Customers that moved from <paramref name="from"/> to <paramref name="to"/> (labels as in <see cref="From"/>/<see cref="To"/>).</summary>
    /// <exception cref="KeyNotFoundException">Unknown row or column label.</exception>
    public int this[string from, string to]
    {
        get
        {
            var row = IndexOf(From, from, "row");
            var column = IndexOf(To, to, "column");
            return _counts[row][column];
        }
    }

    /// <summary>The count at row <paramref name="row"/>, column <paramref name="column"/> (indices into <see cref="From"/> and <see cref="To"/>).</summary>
    public int CountAt(int row, int column) => _counts[row][column];

    /// <summary>Sum of all cells: the customers present on at least one side.</summary>
    public int Total => _counts.Sum(r => r.Sum());

    private static int IndexOf(IReadOnlyList<string> labels, string label, string what)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (string.Equals(labels[i], label, StringComparison.Ordinal))
            {
                return i;
            }
        }
        throw new KeyNotFoundException($"No migration {what} labelled '{label}'.");
    }
}

/// <summary>Builds segment migration matrices.</summary>
public static class SegmentMigration
{
    /// <summary>
    /// Counts customers by (previous segment, current segment). Segments are ordered by
    /// <see cref="Comparer{T}.Default"/> and labelled with their invariant-culture string, so both cluster ids
    /// (<c>int</c>) and RFM segments work. Only segments that occur are listed.
    /// </summary>
    /// <exception cref="ArgumentException">A segment's label is "new" or "gone", or two segments share a label.</exception>
    public static MigrationMatrix Compute<TSegment>(
        IReadOnlyDictionary<string, TSegment> previous, IReadOnlyDictionary<string, TSegment> current)
        where TSegment : notnull
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        var fromSegments = previous.Values.Distinct().Order().ToArray();
        var toSegments = current.Values.Distinct().Order().ToArray();
        var from = Labels(fromSegments, MigrationMatrix.New, nameof(previous));
        var to = Labels(toSegments, MigrationMatrix.Gone, nameof(current));
        var fromIndex = fromSegments.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i);
        var toIndex = toSegments.Select((s, i) => (s, i)).ToDictionary(x => x.s, x => x.i);

        var counts = new int[from.Length][];
        for (var r = 0; r < counts.Length; r++)
        {
            counts[r] = new int[to.Length];
        }
        var newRow = from.Length - 1;
        var goneColumn = to.Length - 1;
        foreach (var (customer, before) in previous)
        {
            var column = current.TryGetValue(customer, out var after) ? toIndex[after] : goneColumn;
            counts[fromIndex[before]][column]++;
        }
        foreach (var (customer, after) in current)
        {
            if (!previous.ContainsKey(customer))
            {
                counts[newRow][toIndex[after]]++;
            }
        }
        return new MigrationMatrix(from, to, counts);
    }

    private static string[] Labels<TSegment>(TSegment[] segments, string extra, string parameter)
        where TSegment : notnull
    {
        var labels = segments.Select(s => Convert.ToString(s, CultureInfo.InvariantCulture) ?? string.Empty).Append(extra).ToArray();
        if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Length ||
            labels[..^1].Any(l => l is MigrationMatrix.New or MigrationMatrix.Gone))
        {
            throw new ArgumentException(
                $"Segment labels must be distinct and not '{MigrationMatrix.New}' or '{MigrationMatrix.Gone}'.", parameter);
        }
        return labels;
    }
}
