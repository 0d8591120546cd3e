namespace Pipeline.Models.Segmentation;

/// <summary>Internal-validity criteria for choosing k, computed on row-major standardized data.</summary>
internal static class ClusterQuality
{
    /// <summary>
    /// A uniform sample of <paramref name="size"/> distinct row indices out of <paramref name="n"/> (all rows when
    /// n ≤ size), drawn by a partial Fisher–Yates shuffle with a seeded generator and returned sorted, so the
    /// same seed always gives the same rows.
    /// </summary>
    public static int[] Sample(int n, int size, int seed)
    {
        if (n <= size)
        {
            return Enumerable.Range(0, n).ToArray();
        }
        var pool = Enumerable.Range(0, n).ToArray();
        var random = new Random(seed);
        for (var i = 0; i < size; i++)
        {
            var j = random.Next(i, n);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        var sample = pool[..size];
        Array.Sort(sample);
        return sample;
    }

    /// <summary>Index of the nearest centroid (squared Euclidean; ties to the lower index).</summary>
    public static int Nearest(double[] z, long offset, int d, double[][] centroids, out double squaredDistance)
    {
        var best = 0;
        var bestDistance = double.PositiveInfinity;
        for (var c = 0; c < centroids.Length; c++)
        {
            var centroid = centroids[c];
            var s = 0.0;
            for (var j = 0; j < d; j++)
            {
                var diff = z[offset + j] - centroid[j];
                s += diff * diff;
            }
            if (s < bestDistance)
            {
                bestDistance = s;
                best = c;
            }
        }
        squaredDistance = bestDistance;
        return best;
    }

    /// <summary>
    /// Mean silhouette over the sample rows (labels 0..k−1); NaN when fewer than 2 clusters are present.
    /// A point alone in its cluster scores 0.
    /// </summary>
    public static double Silhouette(double[] z, int d, int[] rows, int[] labels, int k)
    {
        var m = rows.Length;
        var sizes = new int[k];
        foreach (var l in labels)
        {
            sizes[l]++;
        }
        if (sizes.Count(s => s > 0) < 2)
        {
            return double.NaN;
        }

        // The sample's rows copied next to each other first: read through rows[] the pair loop jumps across the whole
        // matrix (1M × 8 doubles) for every pair, and the cache misses cost more than the arithmetic. Same values and
        // the same order of operations, so the result is bit-for-bit the one of the indirect loop.
        var points = new double[(long)m * d];
        for (var a = 0; a < m; a++)
        {
            Array.Copy(z, (long)rows[a] * d, points, (long)a * d, d);
        }

        // sums[i*k + c] = sum of distances from sample point i to the points of cluster c; each pair computed once.
        var sums = new double[(long)m * k];
        for (var a = 0; a < m; a++)
        {
            var oa = (long)a * d;
            var la = labels[a];
            for (var b = a + 1; b < m; b++)
            {
                var ob = (long)b * d;
                var s = 0.0;
                for (var j = 0; j < d; j++)
                {
                    var diff = points[oa + j] - points[ob + j];
                    s += diff * diff;
                }
                var dist = Math.Sqrt(s);
                sums[((long)a * k) + labels[b]] += dist;
                sums[((long)b * k) + la] += dist;
            }
        }

        var total = 0.0;
        for (var a = 0; a < m; a++)
        {
            var own = labels[a];
            if (sizes[own] <= 1)
            {
                continue; // silhouette 0
            }
            var within = sums[((long)a * k) + own] / (sizes[own] - 1);
            var nearest = double.PositiveInfinity;
            for (var c = 0; c < k; c++)
            {
                if (c != own && sizes[c] > 0)
                {
                    nearest = Math.Min(nearest, sums[((long)a * k) + c] / sizes[c]);
                }
            }
            var denominator = Math.Max(within, nearest);
            total += denominator > 0 ? (nearest - within) / denominator : 0.0;
        }
        return total / m;
    }

    /// <summary>
    /// Davies–Bouldin index of the sample rows: mean over clusters of the worst (S_i + S_j) / ‖c_i − c_j‖, with
    /// centroids and mean distances S from the sample. NaN when fewer than 2 clusters are present; two
    /// coincident centroids make it +∞ (the worst possible).
    /// </summary>
    public static double DaviesBouldin(double[] z, int d, int[] rows, int[] labels, int k)
    {
        var sizes = new int[k];
        var centroids = new double[k][];
        for (var c = 0; c < k; c++)
        {
            centroids[c] = new double[d];
        }
        for (var a = 0; a < rows.Length; a++)
        {
            var o = (long)rows[a] * d;
            var centroid = centroids[labels[a]];
            sizes[labels[a]]++;
            for (var j = 0; j < d; j++)
            {
                centroid[j] += z[o + j];
            }
        }
        var present = Enumerable.Range(0, k).Where(c => sizes[c] > 0).ToArray();
        if (present.Length < 2)
        {
            return double.NaN;
        }
        foreach (var c in present)
        {
            for (var j = 0; j < d; j++)
            {
                centroids[c][j] /= sizes[c];
            }
        }
        var spread = new double[k];
        for (var a = 0; a < rows.Length; a++)
        {
            var o = (long)rows[a] * d;
            spread[labels[a]] += Math.Sqrt(SquaredDistance(z, o, centroids[labels[a]], d));
        }
        foreach (var c in present)
        {
            spread[c] /= sizes[c];
        }

        var total = 0.0;
        foreach (var i in present)
        {
            var worst = 0.0;
            foreach (var j in present)
            {
                if (i == j)
                {
                    continue;
                }
                var separation = Math.Sqrt(SquaredDistance(centroids[i], 0, centroids[j], d));
                var ratio = separation > 0 ? (spread[i] + spread[j]) / separation : double.PositiveInfinity;
                worst = Math.Max(worst, ratio);
            }
            total += worst;
        }
        return total / present.Length;
    }

    private static double SquaredDistance(double[] z, long offset, double[] centroid, int d)
    {
        var s = 0.0;
        for (var j = 0; j < d; j++)
        {
            var diff = z[offset + j] - centroid[j];
            s += diff * diff;
        }
        return s;
    }
}
