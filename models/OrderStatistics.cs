namespace Pipeline.Models;

/// <summary>
/// Medians and other order statistics by selection instead of sorting: the same values, in linear time. The k-means
/// profiles and the anomaly detector take thousands of medians each, which is where sorting showed in their profiles.
/// </summary>
public static class OrderStatistics
{
    /// <summary>
    /// The median of <paramref name="values"/> (the mean of the two middle values for an even count; NaN for none).
    /// Reorders the span. Values must not be NaN.
    /// </summary>
    public static double Median(Span<double> values)
    {
        var size = values.Length;
        if (size == 0)
        {
            return double.NaN;
        }
        var upper = Select(values, size / 2);
        if (size % 2 == 1)
        {
            return upper;
        }
        // After the selection every value left of size / 2 is ≤ the upper middle one: the lower middle is their maximum.
        var lower = double.NegativeInfinity;
        foreach (var v in values[..(size / 2)])
        {
            lower = Math.Max(lower, v);
        }
        return (lower + upper) / 2.0;
    }

    /// <summary>
    /// The <paramref name="rank"/>-th smallest value (0-based), by quickselect with a median-of-three pivot and Hoare
    /// partitioning (runs of equal values split evenly, so repeated values stay linear). Afterwards values left of
    /// <paramref name="rank"/> are ≤ it and values right of it ≥ it. Values must not be NaN.
    /// </summary>
    public static double Select(Span<double> a, int rank)
    {
        var lo = 0;
        var hi = a.Length - 1;
        while (hi > lo)
        {
            var mid = lo + ((hi - lo) / 2);
            double x = a[lo], y = a[mid], w = a[hi];
            var pivot = Math.Max(Math.Min(x, y), Math.Min(Math.Max(x, y), w));
            var i = lo;
            var j = hi;
            while (i <= j)
            {
                while (a[i] < pivot)
                {
                    i++;
                }
                while (a[j] > pivot)
                {
                    j--;
                }
                if (i <= j)
                {
                    (a[i], a[j]) = (a[j], a[i]);
                    i++;
                    j--;
                }
            }
            // Now a[lo..j] ≤ pivot, a[i..hi] ≥ pivot, and anything between equals the pivot.
            if (rank <= j)
            {
                hi = j;
            }
            else if (rank >= i)
            {
                lo = i;
            }
            else
            {
                return a[rank];
            }
        }
        return a[rank];
    }
}
