namespace Pipeline.Models.Ltv;

/// <summary>Holdout purchases aggregated over customers with the same calibration frequency.</summary>
/// <param name="Frequency">Calibration frequency x of the bucket; for the last bucket, its lower bound.</param>
/// <param name="IsOpenEnded">True for the last bucket ("7+" by default), which holds every x ≥ <paramref name="Frequency"/>.</param>
/// <param name="Customers">Customers in the bucket.</param>
/// <param name="MeanActual">Mean actual holdout purchases (x*).</param>
/// <param name="MeanPredicted">Mean predicted holdout purchases.</param>
public sealed record FrequencyBucket(int Frequency, bool IsOpenEnded, int Customers, double MeanActual, double MeanPredicted)
{
    /// <summary>"0", "1", …, "7+".</summary>
    public string Label => IsOpenEnded ? $"{Frequency}+" : Frequency.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Predicted-versus-actual holdout metrics: the numbers behind the "calibration vs holdout purchases" plot.</summary>
/// <param name="Customers">Customers compared.</param>
/// <param name="MeanAbsoluteError">Mean |predicted − actual| per customer.</param>
/// <param name="RootMeanSquaredError">√mean (predicted − actual)².</param>
/// <param name="Bias">Mean (predicted − actual): negative means the model under-predicts.</param>
/// <param name="TotalPredicted">Σ predicted.</param>
/// <param name="TotalActual">Σ actual.</param>
/// <param name="Buckets">Aggregates by calibration frequency 0, 1, …, (max−1), max+; empty buckets are kept with NaN means so the table shape is stable.</param>
public sealed record BacktestReport(
    int Customers,
    double MeanAbsoluteError,
    double RootMeanSquaredError,
    double Bias,
    double TotalPredicted,
    double TotalActual,
    IReadOnlyList<FrequencyBucket> Buckets);

/// <summary>Calibration/holdout evaluation of transaction predictions.</summary>
public static class Backtest
{
    /// <summary>Compares per-customer predictions with actual holdout purchases.</summary>
    /// <param name="calibrationFrequency">x of each customer in the calibration period (for bucketing).</param>
    /// <param name="predicted">Predicted holdout purchases.</param>
    /// <param name="actual">Actual holdout purchases (x*).</param>
    /// <param name="openBucketFrom">First frequency pooled into the open-ended bucket. Default 7 (buckets 0…6, 7+), as in FHL 2005 figure 4.</param>
    public static BacktestReport Evaluate(
        IReadOnlyList<int> calibrationFrequency, IReadOnlyList<double> predicted, IReadOnlyList<double> actual, int openBucketFrom = 7)
    {
        ArgumentNullException.ThrowIfNull(calibrationFrequency);
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentOutOfRangeException.ThrowIfNegative(openBucketFrom);
        int n = calibrationFrequency.Count;
        if (predicted.Count != n || actual.Count != n)
        {
            throw new ArgumentException($"Lengths differ: {n} frequencies, {predicted.Count} predictions, {actual.Count} actuals; pass one entry per customer.");
        }
        if (n == 0)
        {
            throw new ArgumentException("Nothing to evaluate: no customers.", nameof(calibrationFrequency));
        }
        var count = new int[openBucketFrom + 1];
        var sumActual = new double[openBucketFrom + 1];
        var sumPredicted = new double[openBucketFrom + 1];
        double abs = 0, sq = 0, diff = 0, totalP = 0, totalA = 0;
        for (int i = 0; i < n; i++)
        {
            int x = calibrationFrequency[i];
            if (x < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(calibrationFrequency), x, $"Customer {i} has a negative calibration frequency.");
            }
            double p = predicted[i], a = actual[i];
            double e = p - a;
            abs += Math.Abs(e);
            sq += e * e;
            diff += e;
            totalP += p;
            totalA += a;
            int k = Math.Min(x, openBucketFrom);
            count[k]++;
            sumActual[k] += a;
            sumPredicted[k] += p;
        }
        var buckets = new FrequencyBucket[openBucketFrom + 1];
        for (int k = 0; k <= openBucketFrom; k++)
        {
            buckets[k] = new FrequencyBucket(
                k, k == openBucketFrom, count[k],
                count[k] > 0 ? sumActual[k] / count[k] : double.NaN,
                count[k] > 0 ? sumPredicted[k] / count[k] : double.NaN);
        }
        return new BacktestReport(n, abs / n, Math.Sqrt(sq / n), diff / n, totalP, totalA, buckets);
    }

    /// <summary>
    /// Predicts each customer's holdout purchases with BG/NBD conditional expectations over the split's holdout length,
    /// then <see cref="Evaluate"/>s them against the actual x*.
    /// </summary>
    public static (double[] Predicted, BacktestReport Report) Run(BgNbdParameters parameters, CalibrationHoldoutSplit split, int openBucketFrom = 7)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(split);
        var rows = split.Rows;
        var predicted = new double[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            var c = rows[i].Calibration;
            predicted[i] = BgNbd.ConditionalExpectedPurchases(parameters, split.HoldoutLength, c.Frequency, c.Recency, c.T);
        }
        var report = Evaluate(
            rows.Select(r => r.Calibration.Frequency).ToArray(), predicted,
            rows.Select(r => (double)r.HoldoutPurchases).ToArray(), openBucketFrom);
        return (predicted, report);
    }
}
