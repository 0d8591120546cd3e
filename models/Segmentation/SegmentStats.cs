namespace Pipeline.Models.Segmentation;

/// <summary>Per-segment sizes, original-unit means and medians, standardized means and value shares.</summary>
internal sealed class SegmentStats
{
    private SegmentStats(int[] sizes, double[][] means, double[][] medians, double[][] zMeans, double?[] valueShares, int total)
    {
        Sizes = sizes;
        Means = means;
        Medians = medians;
        ZMeans = zMeans;
        ValueShares = valueShares;
        Total = total;
    }

    /// <summary>Indexed by segment id − 1.</summary>
    public int[] Sizes { get; }

    /// <summary>[segment][feature], original units, features in model order.</summary>
    public double[][] Means { get; }

    public double[][] Medians { get; }

    /// <summary>[segment][feature], standardized space.</summary>
    public double[][] ZMeans { get; }

    public double?[] ValueShares { get; }

    public int Total { get; }

    /// <param name="data">The scored matrix.</param>
    /// <param name="columnOrder">columnOrder[j] = column of model feature j in <paramref name="data"/>.</param>
    /// <param name="z">Standardized rows (n × d, model feature order).</param>
    /// <param name="segmentIds">Segment id 1..k per row.</param>
    /// <param name="k">Number of segments.</param>
    /// <param name="valueColumn">Column of the value feature in <paramref name="data"/>, or −1.</param>
    public static SegmentStats Compute(FeatureMatrix data, int[] columnOrder, double[] z, int[] segmentIds, int k, int valueColumn)
    {
        var n = data.RowCount;
        var d = columnOrder.Length;
        var sizes = new int[k];
        foreach (var s in segmentIds)
        {
            sizes[s - 1]++;
        }

        // Row indices grouped by segment (counting sort), so medians need one gather + sort per segment and feature.
        var start = new int[k + 1];
        for (var c = 0; c < k; c++)
        {
            start[c + 1] = start[c] + sizes[c];
        }
        var next = start[..k];
        var grouped = new int[n];
        for (var i = 0; i < n; i++)
        {
            grouped[next[segmentIds[i] - 1]++] = i;
        }

        var means = new double[k][];
        var medians = new double[k][];
        var zMeans = new double[k][];
        for (var c = 0; c < k; c++)
        {
            means[c] = new double[d];
            medians[c] = new double[d];
            zMeans[c] = new double[d];
        }
        // Features are independent (each writes only its own column j of the results), so they run in parallel; the
        // sums inside one feature keep their order, so the values do not depend on the scheduling.
        var largest = sizes.Length == 0 ? 0 : sizes.Max();
        Parallel.For(0, d, () => new double[largest], (j, _, buffer) =>
        {
            var column = data.ColumnArray(columnOrder[j]);
            for (var c = 0; c < k; c++)
            {
                var size = sizes[c];
                if (size == 0)
                {
                    means[c][j] = medians[c][j] = zMeans[c][j] = double.NaN;
                    continue;
                }
                var sum = 0.0;
                var zSum = 0.0;
                for (var p = 0; p < size; p++)
                {
                    var row = grouped[start[c] + p];
                    buffer[p] = column[row];
                    sum += column[row];
                    zSum += z[((long)row * d) + j];
                }
                means[c][j] = sum / size;
                zMeans[c][j] = zSum / size;
                medians[c][j] = OrderStatistics.Median(buffer.AsSpan(0, size));
            }
            return buffer;
        }, _ => { });

        var valueShares = new double?[k];
        if (valueColumn >= 0)
        {
            var values = data.ColumnArray(valueColumn);
            var sums = new double[k];
            var total = 0.0;
            for (var i = 0; i < n; i++)
            {
                sums[segmentIds[i] - 1] += values[i];
                total += values[i];
            }
            for (var c = 0; c < k; c++)
            {
                valueShares[c] = total == 0.0 ? null : sums[c] / total;
            }
        }
        return new SegmentStats(sizes, means, medians, zMeans, valueShares, n);
    }

    public SegmentProfile[] ToProfiles(IReadOnlyList<string> featureNames, string[] labels)
    {
        var profiles = new SegmentProfile[Sizes.Length];
        for (var c = 0; c < Sizes.Length; c++)
        {
            var features = new FeatureSummary[featureNames.Count];
            for (var j = 0; j < features.Length; j++)
            {
                features[j] = new FeatureSummary(featureNames[j], Means[c][j], Medians[c][j], ZMeans[c][j]);
            }
            profiles[c] = new SegmentProfile(
                c + 1, labels[c], Sizes[c], Total == 0 ? 0.0 : (double)Sizes[c] / Total, ValueShares[c], features);
        }
        return profiles;
    }
}
