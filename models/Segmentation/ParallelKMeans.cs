using System.Numerics;

namespace Pipeline.Models.Segmentation;

/// <summary>
/// Deterministic parallel k-means on row-major double data: greedy k-means++ initialisation (scikit-learn's: 2 + ⌊ln k⌋
/// D²-sampled candidates per centre, the one that lowers the potential most is kept), then Lloyd iterations
/// accelerated with Hamerly's bounds (exact: the same labels as plain Lloyd), stopping like scikit-learn (no label
/// changed, or the total squared centre shift ≤ tolerance × the mean feature variance).
/// </summary>
/// <remarks>
/// <para>
/// Determinism: rows are cut into fixed chunks of <see cref="ChunkRows"/> (boundaries independent of the thread
/// count); a chunk is the unit of parallel work, every per-chunk sum runs over its rows in order, and per-chunk
/// partial sums are added in chunk order in double precision. Random draws happen on the calling thread in a fixed
/// order. So the result is bit-for-bit the same for any degree of parallelism, including 1.
/// </para>
/// <para>
/// Distances to several centres are computed a vector lane per centre, each lane adding (x_j − c_j)² for j = 0…d−1
/// with separate multiply and add (no fused multiply-add), which is exactly the scalar loop of
/// <see cref="ClusterQuality.Nearest"/>: the vector width of the machine does not change any value.
/// </para>
/// </remarks>
internal static class ParallelKMeans
{
    /// <summary>Rows per chunk: the unit of parallel work and of reduction.</summary>
    internal const int ChunkRows = 8192;

    // Hamerly's skip test uses bounds that were adjusted by rounded moves; the relative margin keeps them conservative
    // (rounding is ~1e-16 per step), so a skipped row is one whose label plain Lloyd would not change either.
    private const double BoundMargin = 1e-9;

    internal sealed record Result(double[][] Centroids, int Iterations, bool Converged);

    internal static int ChunkCount(int n) => (n + ChunkRows - 1) / ChunkRows;

    /// <summary>Runs <paramref name="body"/>(chunk, first row, end row) for every chunk, on up to <paramref name="dop"/> threads.</summary>
    internal static void ForEachChunk(int n, int dop, Action<int, int, int> body)
    {
        var chunks = ChunkCount(n);
        if (dop <= 1 || chunks <= 1)
        {
            for (var c = 0; c < chunks; c++)
            {
                body(c, c * ChunkRows, Math.Min(n, (c + 1) * ChunkRows));
            }
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = dop },
            c => body(c, c * ChunkRows, Math.Min(n, (c + 1) * ChunkRows)));
    }

    /// <summary>Fits k centroids to the n × d rows of <paramref name="z"/> (see the class remarks).</summary>
    /// <remarks>The data must have at least k distinct rows.</remarks>
    public static Result Fit(double[] z, int n, int d, int k, int seed, int maxIterations, double tolerance, int dop)
    {
        var centroids = Initialize(z, n, d, k, seed, dop);
        return Lloyd(z, n, d, centroids, maxIterations, tolerance * MeanVariance(z, n, d, dop), dop);
    }

    /// <summary>
    /// Nearest centroid of every row (squared Euclidean, ties to the lower index: the same values as
    /// <see cref="ClusterQuality.Nearest"/>) and the inertia, summed per chunk and then in chunk order.
    /// </summary>
    public static (int[] Labels, double Inertia) Assign(double[] z, int n, int d, double[][] centroids, int dop)
    {
        var k = centroids.Length;
        var layout = Transpose(centroids, d, out var kp);
        var labels = new int[n];
        var partial = new double[ChunkCount(n)];
        ForEachChunk(n, dop, (chunk, start, end) =>
        {
            Span<double> dist = stackalloc double[kp];
            var sum = 0.0;
            for (var i = start; i < end; i++)
            {
                Distances(z, (long)i * d, d, layout, kp, dist);
                var best = 0;
                var bestDistance = dist[0];
                for (var c = 1; c < k; c++)
                {
                    if (dist[c] < bestDistance)
                    {
                        bestDistance = dist[c];
                        best = c;
                    }
                }
                labels[i] = best;
                sum += bestDistance;
            }
            partial[chunk] = sum;
        });
        var inertia = 0.0;
        foreach (var p in partial)
        {
            inertia += p;
        }
        return (labels, inertia);
    }

    /// <summary>Number of distinct rows, counting no further than <paramref name="stopAt"/>.</summary>
    public static int CountDistinctRows(double[] z, int n, int d, int stopAt)
    {
        var seen = new HashSet<RowKey>();
        for (var i = 0; i < n && seen.Count < stopAt; i++)
        {
            seen.Add(new RowKey(z, (long)i * d, d));
        }
        return seen.Count;
    }

    /// <summary>Greedy k-means++ (Arthur &amp; Vassilvitskii 2007, with scikit-learn's 2 + ⌊ln k⌋ local trials).</summary>
    internal static double[][] Initialize(double[] z, int n, int d, int k, int seed, int dop)
    {
        var random = new Random(seed);
        var chunks = ChunkCount(n);
        var trials = 2 + (int)Math.Log(k);
        var centroids = new double[k][];
        var closest = new double[n];
        var chunkPotential = new double[chunks];

        var first = random.Next(n);
        centroids[0] = Row(z, first, d);
        ForEachChunk(n, dop, (chunk, start, end) =>
        {
            var sum = 0.0;
            for (var i = start; i < end; i++)
            {
                closest[i] = ClusterQuality.SquaredDistance(z, (long)i * d, centroids[0], d);
                sum += closest[i];
            }
            chunkPotential[chunk] = sum;
        });

        var partial = new double[chunks * trials];
        var candidates = new int[trials];
        for (var c = 1; c < k; c++)
        {
            var potential = 0.0;
            foreach (var p in chunkPotential)
            {
                potential += p;
            }
            if (!(potential > 0))
            {
                throw new InvalidOperationException($"k-means++: fewer than {k} distinct rows.");
            }
            for (var t = 0; t < trials; t++)
            {
                candidates[t] = Draw(closest, chunkPotential, random.NextDouble() * potential, n);
            }
            var layout = Transpose(candidates.Select(row => Row(z, row, d)).ToArray(), d, out var tp);
            ForEachChunk(n, dop, (chunk, start, end) =>
            {
                Span<double> dist = stackalloc double[tp];
                Span<double> sums = stackalloc double[trials];
                sums.Clear();
                for (var i = start; i < end; i++)
                {
                    Distances(z, (long)i * d, d, layout, tp, dist);
                    var own = closest[i];
                    for (var t = 0; t < trials; t++)
                    {
                        sums[t] += Math.Min(own, dist[t]);
                    }
                }
                sums.CopyTo(partial.AsSpan(chunk * trials, trials));
            });
            var best = 0;
            var bestPotential = double.PositiveInfinity;
            for (var t = 0; t < trials; t++)
            {
                var total = 0.0;
                for (var chunk = 0; chunk < chunks; chunk++)
                {
                    total += partial[(chunk * trials) + t];
                }
                if (total < bestPotential)
                {
                    bestPotential = total;
                    best = t;
                }
            }
            var centre = Row(z, candidates[best], d);
            centroids[c] = centre;
            for (var chunk = 0; chunk < chunks; chunk++)
            {
                chunkPotential[chunk] = partial[(chunk * trials) + best];
            }
            if (c + 1 < k)
            {
                ForEachChunk(n, dop, (_, start, end) =>
                {
                    for (var i = start; i < end; i++)
                    {
                        closest[i] = Math.Min(closest[i], ClusterQuality.SquaredDistance(z, (long)i * d, centre, d));
                    }
                });
            }
        }
        return centroids;
    }

    /// <summary>
    /// The row where the running sum of <paramref name="weights"/> first exceeds <paramref name="target"/>: the chunk
    /// from the chunk sums, then the row inside it. Rounding can leave the target past the last positive weight; then
    /// the last row with a positive weight is taken.
    /// </summary>
    private static int Draw(double[] weights, double[] chunkSums, double target, int n)
    {
        var before = 0.0;
        for (var chunk = 0; chunk < chunkSums.Length; chunk++)
        {
            if (before + chunkSums[chunk] > target)
            {
                var start = chunk * ChunkRows;
                var end = Math.Min(n, start + ChunkRows);
                var running = before;
                var lastPositive = -1;
                for (var i = start; i < end; i++)
                {
                    if (weights[i] > 0)
                    {
                        lastPositive = i;
                        running += weights[i];
                        if (running > target)
                        {
                            return i;
                        }
                    }
                }
                if (lastPositive >= 0)
                {
                    return lastPositive;
                }
            }
            before += chunkSums[chunk];
        }
        for (var i = n - 1; i >= 0; i--)
        {
            if (weights[i] > 0)
            {
                return i;
            }
        }
        throw new InvalidOperationException("k-means++: no row with a positive weight.");
    }

    /// <summary>Mean over features of the population variance (scikit-learn scales its tolerance by it).</summary>
    private static double MeanVariance(double[] z, int n, int d, int dop)
    {
        var chunks = ChunkCount(n);
        var sums = new double[chunks * d];
        ForEachChunk(n, dop, (chunk, start, end) =>
        {
            var s = sums.AsSpan(chunk * d, d);
            for (var i = start; i < end; i++)
            {
                for (var j = 0; j < d; j++)
                {
                    s[j] += z[((long)i * d) + j];
                }
            }
        });
        var means = new double[d];
        for (var chunk = 0; chunk < chunks; chunk++)
        {
            for (var j = 0; j < d; j++)
            {
                means[j] += sums[(chunk * d) + j];
            }
        }
        for (var j = 0; j < d; j++)
        {
            means[j] /= n;
        }
        Array.Clear(sums);
        ForEachChunk(n, dop, (chunk, start, end) =>
        {
            var s = sums.AsSpan(chunk * d, d);
            for (var i = start; i < end; i++)
            {
                for (var j = 0; j < d; j++)
                {
                    var dev = z[((long)i * d) + j] - means[j];
                    s[j] += dev * dev;
                }
            }
        });
        var total = 0.0;
        for (var j = 0; j < d; j++)
        {
            var squares = 0.0;
            for (var chunk = 0; chunk < chunks; chunk++)
            {
                squares += sums[(chunk * d) + j];
            }
            total += squares / n;
        }
        return total / d;
    }

    /// <summary>
    /// Lloyd's iterations with Hamerly's upper and lower bounds. The first pass sums every cluster per chunk; after that
    /// only rows that change cluster touch the sums, as per-chunk deltas added to the totals in chunk order.
    /// </summary>
    internal static Result Lloyd(double[] z, int n, int d, double[][] initial, int maxIterations, double tolerance, int dop)
    {
        var k = initial.Length;
        var chunks = ChunkCount(n);
        var width = (k * d) + k; // per chunk: k × d coordinate sums, then k counts
        var partial = new double[chunks * width];
        var labels = new int[n];
        var upper = new double[n];
        var lower = new double[n];
        var centroids = initial.Select(c => (double[])c.Clone()).ToArray();
        var moves = new double[k];
        var half = new double[k];
        var changed = new int[chunks];
        var totals = new double[width];

        // First pass: every row against every centre, and the clusters' sums.
        var layout = Transpose(centroids, d, out var kp);
        ForEachChunk(n, dop, (chunk, start, end) =>
        {
            var sums = partial.AsSpan(chunk * width, width);
            sums.Clear();
            Span<double> dist = stackalloc double[kp];
            for (var i = start; i < end; i++)
            {
                var offset = (long)i * d;
                Distances(z, offset, d, layout, kp, dist);
                var (best, bestDistance, second) = TwoNearest(dist, k);
                labels[i] = best;
                upper[i] = Math.Sqrt(bestDistance);
                lower[i] = Math.Sqrt(second);
                var s = sums.Slice(best * d, d);
                for (var j = 0; j < d; j++)
                {
                    s[j] += z[offset + j];
                }
                sums[(k * d) + best] += 1;
            }
        });
        AddInChunkOrder(partial, chunks, width, totals);

        var iterations = 0;
        var converged = false;
        while (true)
        {
            iterations++;
            var next = Means(totals, centroids, k, d);
            var reset = Relocate(z, n, d, labels, centroids, next, totals, dop);

            var shift = 0.0;
            for (var c = 0; c < k; c++)
            {
                var squared = ClusterQuality.SquaredDistance(next[c], 0, centroids[c], d);
                moves[c] = Math.Sqrt(squared);
                shift += squared;
            }
            centroids = next;
            if (shift <= tolerance)
            {
                converged = true;
                break;
            }
            if (iterations >= maxIterations)
            {
                break;
            }

            // Bound updates: each row's centre moved by moves[label]; any other centre by at most the largest move.
            var (maxMove, maxAt, secondMove) = LargestTwo(moves);
            for (var c = 0; c < k; c++)
            {
                var nearest = double.PositiveInfinity;
                for (var other = 0; other < k; other++)
                {
                    if (other != c)
                    {
                        nearest = Math.Min(nearest, Math.Sqrt(ClusterQuality.SquaredDistance(centroids[c], 0, centroids[other], d)));
                    }
                }
                half[c] = nearest / 2;
            }
            layout = Transpose(centroids, d, out kp);
            var current = centroids;
            ForEachChunk(n, dop, (chunk, start, end) =>
            {
                var delta = partial.AsSpan(chunk * width, width);
                delta.Clear();
                Span<double> dist = stackalloc double[kp];
                var count = 0;
                for (var i = start; i < end; i++)
                {
                    var offset = (long)i * d;
                    var a = labels[i];
                    if (!reset)
                    {
                        var u = upper[i] + moves[a];
                        var l = lower[i] - (a == maxAt ? secondMove : maxMove);
                        lower[i] = l;
                        var m = Math.Max(half[a], l) * (1 - BoundMargin);
                        if (u < m)
                        {
                            upper[i] = u;
                            continue;
                        }
                        u = Math.Sqrt(ClusterQuality.SquaredDistance(z, offset, current[a], d));
                        if (u < m)
                        {
                            upper[i] = u;
                            continue;
                        }
                    }
                    Distances(z, offset, d, layout, kp, dist);
                    var (best, bestDistance, second) = TwoNearest(dist, k);
                    upper[i] = Math.Sqrt(bestDistance);
                    lower[i] = Math.Sqrt(second);
                    if (best != a)
                    {
                        count++;
                        labels[i] = best;
                        var from = delta.Slice(a * d, d);
                        var to = delta.Slice(best * d, d);
                        for (var j = 0; j < d; j++)
                        {
                            from[j] -= z[offset + j];
                            to[j] += z[offset + j];
                        }
                        delta[(k * d) + a] -= 1;
                        delta[(k * d) + best] += 1;
                    }
                }
                changed[chunk] = count;
            });
            if (changed.Sum() == 0)
            {
                // Same labels as the pass before, so the centres are already their means.
                converged = true;
                break;
            }
            AddInChunkOrder(partial, chunks, width, totals);
        }
        return new Result(centroids, iterations, converged);
    }

    /// <summary>Adds every chunk's partial sums (or deltas) to <paramref name="totals"/>, chunk after chunk.</summary>
    private static void AddInChunkOrder(double[] partial, int chunks, int width, double[] totals)
    {
        for (var chunk = 0; chunk < chunks; chunk++)
        {
            var p = partial.AsSpan(chunk * width, width);
            for (var x = 0; x < width; x++)
            {
                totals[x] += p[x];
            }
        }
    }

    /// <summary>Cluster means from the sums; an empty cluster keeps its old centre until <see cref="Relocate"/>.</summary>
    private static double[][] Means(double[] totals, double[][] old, int k, int d)
    {
        var means = new double[k][];
        for (var c = 0; c < k; c++)
        {
            var count = totals[(k * d) + c];
            means[c] = new double[d];
            for (var j = 0; j < d; j++)
            {
                means[c][j] = count > 0 ? totals[(c * d) + j] / count : old[c][j];
            }
        }
        return means;
    }

    /// <summary>
    /// Empty clusters (as scikit-learn does): each takes one of the rows farthest from their (old) centres, farthest
    /// first, ties to the lower row; the row moves there (label and sums). Returns whether any moved, in which case the
    /// next pass recomputes every row's bounds.
    /// </summary>
    private static bool Relocate(double[] z, int n, int d, int[] labels, double[][] old, double[][] next, double[] totals, int dop)
    {
        var k = old.Length;
        var empty = Enumerable.Range(0, k).Where(c => totals[(k * d) + c] == 0).ToArray();
        if (empty.Length == 0)
        {
            return false;
        }
        var distance = new double[n];
        ForEachChunk(n, dop, (_, start, end) =>
        {
            for (var i = start; i < end; i++)
            {
                distance[i] = ClusterQuality.SquaredDistance(z, (long)i * d, old[labels[i]], d);
            }
        });
        var far = Enumerable.Range(0, n).OrderByDescending(i => distance[i]).ThenBy(i => i).Take(empty.Length).ToArray();
        for (var e = 0; e < empty.Length && e < far.Length; e++)
        {
            var row = far[e];
            var from = labels[row];
            var to = empty[e];
            var count = totals[(k * d) + from];
            if (count <= 1)
            {
                continue; // the farthest row is alone in its cluster: moving it would empty that one
            }
            for (var j = 0; j < d; j++)
            {
                var x = z[((long)row * d) + j];
                totals[(from * d) + j] -= x;
                totals[(to * d) + j] = x;
                next[to][j] = x;
            }
            totals[(k * d) + from] = count - 1;
            totals[(k * d) + to] = 1;
            labels[row] = to;
            for (var j = 0; j < d; j++)
            {
                next[from][j] = totals[(from * d) + j] / (count - 1);
            }
        }
        return true;
    }

    private static (double Max, int At, double Second) LargestTwo(double[] values)
    {
        var max = double.NegativeInfinity;
        var at = -1;
        var second = double.NegativeInfinity;
        for (var c = 0; c < values.Length; c++)
        {
            if (values[c] > max)
            {
                second = max;
                max = values[c];
                at = c;
            }
            else if (values[c] > second)
            {
                second = values[c];
            }
        }
        return (max, at, values.Length > 1 ? second : 0.0);
    }

    private static (int Best, double BestDistance, double Second) TwoNearest(ReadOnlySpan<double> dist, int k)
    {
        var best = 0;
        var bestDistance = dist[0];
        var second = double.PositiveInfinity;
        for (var c = 1; c < k; c++)
        {
            var v = dist[c];
            if (v < bestDistance)
            {
                second = bestDistance;
                bestDistance = v;
                best = c;
            }
            else if (v < second)
            {
                second = v;
            }
        }
        return (best, bestDistance, second);
    }

    /// <summary>Centres transposed for <see cref="Distances"/>: layout[j × kp + c], k padded to the vector width.</summary>
    private static double[] Transpose(double[][] centres, int d, out int kp)
    {
        var w = Vector<double>.Count;
        kp = (centres.Length + w - 1) / w * w;
        var layout = new double[d * kp];
        for (var c = 0; c < centres.Length; c++)
        {
            for (var j = 0; j < d; j++)
            {
                layout[(j * kp) + c] = centres[c][j];
            }
        }
        return layout;
    }

    /// <summary>
    /// Squared distances from row <paramref name="offset"/> to every (transposed) centre: lane c adds (x_j − c_j)² for
    /// j = 0…d−1 in order, a separate multiply and add each, i.e. the scalar loop's value exactly.
    /// </summary>
    private static void Distances(double[] z, long offset, int d, double[] layout, int kp, Span<double> dist)
    {
        if (Vector.IsHardwareAccelerated)
        {
            var w = Vector<double>.Count;
            var x = z.AsSpan((int)offset, d);
            for (var b = 0; b < kp; b += w)
            {
                var acc = Vector<double>.Zero;
                for (var j = 0; j < d; j++)
                {
                    var diff = new Vector<double>(x[j]) - new Vector<double>(layout, (j * kp) + b);
                    acc += diff * diff;
                }
                acc.CopyTo(dist[b..]);
            }
            return;
        }
        for (var c = 0; c < kp; c++)
        {
            var s = 0.0;
            for (var j = 0; j < d; j++)
            {
                var diff = z[offset + j] - layout[(j * kp) + c];
                s += diff * diff;
            }
            dist[c] = s;
        }
    }

    private static double[] Row(double[] z, int row, int d) => z.AsSpan(row * d, d).ToArray();

    private readonly struct RowKey(double[] values, long offset, int width) : IEquatable<RowKey>
    {
        private ReadOnlySpan<double> Span => values.AsSpan((int)offset, width);

        public bool Equals(RowKey other) => Span.SequenceEqual(other.Span);

        public override bool Equals(object? obj) => obj is RowKey other && Equals(other);

        public override int GetHashCode()
        {
            var hash = new HashCode();
            foreach (var v in Span)
            {
                // +0 and −0 are equal rows; hash them alike.
                hash.Add(v == 0 ? 0.0 : v);
            }
            return hash.ToHashCode();
        }
    }
}
