namespace Pipeline.Models.Segmentation;

/// <summary>
/// The fitted pre-processing of one model: optional signed log1p per feature, then z-score with the training
/// mean and population standard deviation (ddof 0, like scikit-learn's StandardScaler).
/// </summary>
/// <remarks>
/// A zero-variance (constant) column gets scale 1 so it becomes all zeros instead of NaN: it carries no
/// information for the clustering and must not poison the distances.
/// </remarks>
internal sealed class FeatureScaler
{
    public FeatureScaler(string[] names, bool[] log, double[] means, double[] scales)
    {
        Names = names;
        Log = log;
        Means = means;
        Scales = scales;
    }

    public string[] Names { get; }

    public bool[] Log { get; }

    public double[] Means { get; }

    public double[] Scales { get; }

    public int Count => Names.Length;

    public static double SignedLog1P(double x) => Math.Sign(x) * Math.Log(1.0 + Math.Abs(x));

    /// <summary>Fits on the columns of <paramref name="data"/> in its own feature order.</summary>
    /// <remarks>Columns are independent, so they run on up to <paramref name="degreeOfParallelism"/> threads; each column's
    /// sums keep their order, so the values do not depend on it.</remarks>
    public static FeatureScaler Fit(FeatureMatrix data, IReadOnlyCollection<string> logFeatures, int degreeOfParallelism = 1)
    {
        var d = data.FeatureCount;
        var n = data.RowCount;
        var names = data.FeatureNames.ToArray();
        var log = new bool[d];
        var means = new double[d];
        var scales = new double[d];
        for (var j = 0; j < d; j++)
        {
            log[j] = logFeatures.Contains(names[j]);
        }
        Parallel.For(0, d, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, degreeOfParallelism) }, j =>
        {
            var column = data.ColumnArray(j);
            var sum = 0.0;
            for (var i = 0; i < n; i++)
            {
                sum += log[j] ? SignedLog1P(column[i]) : column[i];
            }
            var mean = n == 0 ? 0.0 : sum / n;
            var squares = 0.0;
            for (var i = 0; i < n; i++)
            {
                var dev = (log[j] ? SignedLog1P(column[i]) : column[i]) - mean;
                squares += dev * dev;
            }
            var std = n == 0 ? 0.0 : Math.Sqrt(squares / n);
            // Relative guard: a column whose spread is only rounding noise is constant for our purposes.
            means[j] = mean;
            scales[j] = std > 1e-12 * Math.Max(1.0, Math.Abs(mean)) ? std : 1.0;
        });
        return new FeatureScaler(names, log, means, scales);
    }

    /// <summary>
    /// Standardized rows, row-major (n × d), for the columns of <paramref name="data"/> taken in this scaler's
    /// feature order (<paramref name="columnOrder"/>[j] = column index in <paramref name="data"/> of feature j).
    /// </summary>
    /// <remarks>Every value is computed on its own, so blocks of rows run on up to <paramref name="degreeOfParallelism"/> threads.</remarks>
    public double[] Transform(FeatureMatrix data, int[] columnOrder, int degreeOfParallelism = 1)
    {
        const int block = 8192;
        var d = Count;
        var n = data.RowCount;
        var z = new double[(long)n * d];
        var columns = columnOrder.Select(data.ColumnArray).ToArray();
        Parallel.For(0, (n + block - 1) / block, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, degreeOfParallelism) }, b =>
        {
            var end = Math.Min(n, (b + 1) * block);
            for (var j = 0; j < d; j++)
            {
                var column = columns[j];
                var log = Log[j];
                var mean = Means[j];
                var scale = Scales[j];
                for (var i = b * block; i < end; i++)
                {
                    var x = log ? SignedLog1P(column[i]) : column[i];
                    z[((long)i * d) + j] = (x - mean) / scale;
                }
            }
        });
        return z;
    }
}
