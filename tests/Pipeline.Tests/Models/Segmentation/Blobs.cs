using Pipeline.Models.Segmentation;

namespace Pipeline.Tests.Models.Segmentation;

/// <summary>Seeded synthetic Gaussian blobs with known centres, as a feature matrix.</summary>
internal static class Blobs
{
    public static readonly string[] FeatureNames = ["net_revenue", "orders", "recency_days", "sessions"];

    /// <summary>
    /// Four well-separated blobs (centres ≥ 30 apart in units where the spread is 1–3) in customer-like units.
    /// Blob b's net_revenue centre decreases with b, so by the documented id rule blob b must become segment b + 1.
    /// </summary>
    public static readonly double[][] Centres =
    [
        [900, 12, 10, 40],   // high value, frequent buyers, recently active, visits often
        [500, 6, 60, 15],
        [200, 2, 200, 8],
        [40, 1, 400, 2],     // low value, one-time, lapsed
    ];

    private static readonly double[] Spread = [20, 0.5, 8, 1.5];

    /// <summary><paramref name="perBlob"/> rows per blob, shuffled; <paramref name="blobOf"/> gives each row's true blob.</summary>
    public static FeatureMatrix Make(int perBlob, int seed, out int[] blobOf, string idPrefix = "c")
    {
        var random = new Random(seed);
        var n = perBlob * Centres.Length;
        var truth = Enumerable.Range(0, n).Select(i => i / perBlob).ToArray();
        random.Shuffle(truth);
        var columns = FeatureNames.Select(_ => new double[n]).ToArray();
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < FeatureNames.Length; j++)
            {
                columns[j][i] = Centres[truth[i]][j] + (Spread[j] * Gaussian(random));
            }
        }
        blobOf = truth;
        var ids = Enumerable.Range(0, n).Select(i => $"{idPrefix}{i:D6}").ToArray();
        return new FeatureMatrix(ids, FeatureNames, columns);
    }

    /// <summary>Standard normal by Box–Muller.</summary>
    public static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
