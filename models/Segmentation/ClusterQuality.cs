namespace Pipeline.Models.Segmentation;

/// <summary>Internal-validity criteria for choosing k, computed on row-major standardized data.</summary>
internal static class ClusterQuality
{
    /// <summary>Sample rows per unit of parallel work in <see cref="Silhouette"/>.</summary>
    private const int SilhouetteBlock = 64;

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
    /// A point alone in its cluster scores 0. <paramref name="degreeOfParallelism"/> spreads the rows over threads;
    /// the value does not depend on it.
    /// </summary>
    public static double Silhouette(double[] z, int d, int[] rows, int[] labels, int k, int degreeOfParallelism = 1)
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

        // The sample's rows copied next to each other, one column after another (column-major), so that the distances
        // from one point to the next W points are one vector operation per feature: lane b adds (p_a,j − p_b,j)² for
        // j = 0…d−1 in order with a separate multiply and add, the value of the scalar loop, whatever the vector width.
        var columns = new double[(long)m * d];
        for (var a = 0; a < m; a++)
        {
            for (var j = 0; j < d; j++)
            {
                columns[((long)j * m) + a] = z[((long)rows[a] * d) + j];
            }
        }

        // sums[a*k + c] = sum of distances from sample point a to the points of cluster c, added in the order of b.
        // Each row's sums are its own (no pair is shared between rows), so rows run in parallel and every value is the
        // same for any thread count ((x − y)² = (y − x)², so each distance is also the one a pair loop computes).
        var sums = new double[(long)m * k];
        var blocks = (m + SilhouetteBlock - 1) / SilhouetteBlock;
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, degreeOfParallelism) }, block =>
        {
            var w = System.Numerics.Vector<double>.Count;
            Span<double> lanes = stackalloc double[w];
            Span<double> point = stackalloc double[d];
            var last = Math.Min(m, (block + 1) * SilhouetteBlock);
            for (var a = block * SilhouetteBlock; a < last; a++)
            {
                for (var j = 0; j < d; j++)
                {
                    point[j] = columns[((long)j * m) + a];
                }
                var row = sums.AsSpan((int)((long)a * k), k);
                var b = 0;
                if (System.Numerics.Vector.IsHardwareAccelerated)
                {
                    for (; b + w <= m; b += w)
                    {
                        var acc = System.Numerics.Vector<double>.Zero;
                        for (var j = 0; j < d; j++)
                        {
                            var diff = new System.Numerics.Vector<double>(point[j]) - new System.Numerics.Vector<double>(columns, (j * m) + b);
                            acc += diff * diff;
                        }
                        System.Numerics.Vector.SquareRoot(acc).CopyTo(lanes);
                        for (var lane = 0; lane < w; lane++)
                        {
                            if (b + lane != a)
                            {
                                row[labels[b + lane]] += lanes[lane];
                            }
                        }
                    }
                }
                for (; b < m; b++)
                {
                    if (b == a)
                    {
                        continue;
                    }
                    var s = 0.0;
                    for (var j = 0; j < d; j++)
                    {
                        var diff = point[j] - columns[((long)j * m) + b];
                        s += diff * diff;
                    }
                    row[labels[b]] += Math.Sqrt(s);
                }
            }
        });

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

    /// <summary>Squared Euclidean distance from row <paramref name="offset"/> of <paramref name="z"/> to <paramref name="centroid"/>, summed in column order.</summary>
    internal static double SquaredDistance(double[] z, long offset, double[] centroid, int d)
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
