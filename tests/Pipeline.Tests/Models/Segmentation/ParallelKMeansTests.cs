using NUnit.Framework;
using Pipeline.Models.Segmentation;

namespace Pipeline.Tests.Models.Segmentation;

/// <summary>The parallel k-means engine: hand-computed fits, known-centre recovery, and thread-count independence.</summary>
[TestFixture]
public sealed class ParallelKMeansTests
{
    private static readonly int[] ThreadCounts = [1, 2, 4, 8];

    // A mixture with known centres (6 groups in 4 features) whose groups overlap: 3 standard deviations apart on
    // some features, so the k-means objective has local optima and the initialisation matters.
    private static readonly double[][] MixtureCentres =
    [
        [0, 0, 0, 0],
        [6, 0, 0, 3],
        [0, 6, 3, 0],
        [6, 6, 0, 6],
        [3, 3, 6, 3],
        [9, 3, 3, 0],
    ];

    private static readonly string[] MixtureFeatures = ["f0", "f1", "f2", "f3"];

    [Test]
    public void Two_pairs_on_a_line_give_their_midpoints_and_a_hand_computed_inertia()
    {
        // Rows 0, 1, 10, 11 (d = 1), k = 2: centres 0.5 and 10.5, each row 0.5 away: inertia 4 × 0.25 = 1.
        double[] z = [0, 1, 10, 11];

        var fit = ParallelKMeans.Fit(z, 4, 1, 2, seed: 3, maxIterations: 100, tolerance: 1e-4, dop: 1);
        var (labels, inertia) = ParallelKMeans.Assign(z, 4, 1, fit.Centroids, dop: 1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fit.Centroids.Select(c => c[0]).Order(), Is.EqualTo(new[] { 0.5, 10.5 }));
            Assert.That(inertia, Is.EqualTo(1.0));
            Assert.That(labels[0], Is.EqualTo(labels[1]));
            Assert.That(labels[2], Is.EqualTo(labels[3]));
            Assert.That(labels[0], Is.Not.EqualTo(labels[2]));
            Assert.That(fit.Converged, Is.True);
        }
    }

    [Test]
    public void An_empty_cluster_takes_the_row_farthest_from_its_centre()
    {
        // Rows 0, 1, 2, 10; initial centres 1 and 1000. Every row joins centre 1, so centre 2 is empty after the first
        // pass; it takes the row farthest from its old centre (10, 81 away from 1) and the others average to 1.
        double[] z = [0, 1, 2, 10];

        var fit = ParallelKMeans.Lloyd(z, 4, 1, [[1.0], [1000.0]], maxIterations: 100, tolerance: 1e-12, dop: 1);
        var (labels, inertia) = ParallelKMeans.Assign(z, 4, 1, fit.Centroids, dop: 1);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fit.Centroids[0][0], Is.EqualTo(1.0));
            Assert.That(fit.Centroids[1][0], Is.EqualTo(10.0));
            Assert.That(labels, Is.EqualTo(new[] { 0, 0, 0, 1 }));
            Assert.That(inertia, Is.EqualTo(2.0), "1² + 0 + 1² + 0");
        }
    }

    [Test]
    public void The_fit_is_byte_identical_for_1_2_4_and_8_threads()
    {
        // 48,000 rows: six chunks of rows, so the thread count really changes how the work is split.
        var (data, _) = Mixture(perGroup: 8_000, seed: 31);
        var fixedK = new SegmentationOptions { K = 6, Seed = 9, Restarts = 2, LogTransformedFeatures = ["f3"], ValueFeature = "f0" };
        var chosenK = new SegmentationOptions { KMin = 2, KMax = 7, Seed = 9, CriterionSampleSize = 2_000, ValueFeature = "f0" };
        Assert.That(data.RowCount, Is.GreaterThan(4 * ParallelKMeans.ChunkRows));

        foreach (var options in new[] { fixedK, chosenK })
        {
            var fits = ThreadCounts.Select(t => SegmentationModel.Fit(data, options with { DegreeOfParallelism = t })).ToArray();
            var saved = fits.Select(f => Saved(f.Model)).ToArray();
            var rescored = fits.Select((f, i) => f.Model.Assign(data, ThreadCounts[i])).ToArray();
            using (Assert.EnterMultipleScope())
            {
                for (var t = 1; t < ThreadCounts.Length; t++)
                {
                    var label = $"{ThreadCounts[t]} threads vs 1, k {(options.K is null ? "chosen" : "fixed")}";
                    Assert.That(fits[t].Assignments.SegmentIds, Is.EqualTo(fits[0].Assignments.SegmentIds), label);
                    Assert.That(BitConverter.DoubleToInt64Bits(fits[t].Assignments.Inertia),
                        Is.EqualTo(BitConverter.DoubleToInt64Bits(fits[0].Assignments.Inertia)), label);
                    Assert.That(fits[t].Candidates.Select(c => (c.K, BitConverter.DoubleToInt64Bits(c.Criterion), BitConverter.DoubleToInt64Bits(c.Inertia))),
                        Is.EqualTo(fits[0].Candidates.Select(c => (c.K, BitConverter.DoubleToInt64Bits(c.Criterion), BitConverter.DoubleToInt64Bits(c.Inertia)))), label);
                    Assert.That(saved[t], Is.EqualTo(saved[0]), label + ": the saved model (centroids to the last bit)");
                    Assert.That(rescored[t].SegmentIds, Is.EqualTo(fits[0].Assignments.SegmentIds), label);
                    Assert.That(BitConverter.DoubleToInt64Bits(rescored[t].Inertia), Is.EqualTo(BitConverter.DoubleToInt64Bits(rescored[0].Inertia)), label);
                }
            }
        }
    }

    [Test]
    public void The_engine_itself_gives_the_same_centroids_bits_for_any_thread_count()
    {
        var (data, _) = Mixture(perGroup: 6_000, seed: 5);
        var z = Standardize(data);
        var n = data.RowCount;

        var fits = ThreadCounts.Select(t => ParallelKMeans.Fit(z, n, 4, 6, seed: 77, maxIterations: 300, tolerance: 1e-6, dop: t)).ToArray();

        var reference = fits[0].Centroids.SelectMany(c => c).Select(BitConverter.DoubleToInt64Bits).ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(fits[0].Iterations, Is.GreaterThan(2), "a fit that stops at once would prove nothing");
            foreach (var fit in fits.Skip(1))
            {
                Assert.That(fit.Centroids.SelectMany(c => c).Select(BitConverter.DoubleToInt64Bits), Is.EqualTo(reference));
                Assert.That(fit.Iterations, Is.EqualTo(fits[0].Iterations));
            }
        }
    }

    [Test]
    public void A_mixture_with_known_centres_is_recovered_with_inertia_no_higher_than_mlnet()
    {
        var (data, truth) = Mixture(perGroup: 4_000, seed: 12);
        var options = new SegmentationOptions { K = 6, Seed = 42, ValueFeature = "f0" };

        var parallel = SegmentationModel.Fit(data, options);
        var mlnet = SegmentationModel.Fit(data, options with { Engine = KMeansEngine.MlNet });

        // The inertia recomputed here from the reported segments: the test's own standardization and cluster means.
        var z = Standardize(data);
        var recomputed = InertiaOfPartition(z, 4, parallel.Assignments.SegmentIds);

        // Every true centre has a segment whose mean (original units) is within 0.15 (the spread is 1; each group has
        // 4,000 rows, so sampling error and the overlap cut are a few hundredths).
        var means = parallel.Assignments.Profiles.Select(p => p.Features.Select(f => f.Mean).ToArray()).ToArray();
        var matched = MixtureCentres.Select(centre => means.Min(m => Math.Sqrt(m.Zip(centre, (a, b) => (a - b) * (a - b)).Sum()))).ToArray();

        // And the segments are the groups: at least 97% of the rows sit with the majority of their group.
        var agreement = Enumerable.Range(0, MixtureCentres.Length).Sum(g =>
            Enumerable.Range(0, data.RowCount).Where(i => truth[i] == g).GroupBy(i => parallel.Assignments.SegmentIds[i]).Max(x => x.Count()));

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parallel.Model.Engine, Is.EqualTo(KMeansEngine.Parallel));
            Assert.That(mlnet.Model.Engine, Is.EqualTo(KMeansEngine.MlNet));
            Assert.That(matched, Has.All.LessThan(0.15));
            Assert.That(agreement, Is.GreaterThanOrEqualTo(0.97 * data.RowCount));
            Assert.That(parallel.Assignments.Inertia, Is.EqualTo(recomputed).Within(1e-3).Percent, "centroids are (up to the tolerance) the cluster means");
            Assert.That(parallel.Assignments.Inertia, Is.LessThanOrEqualTo(mlnet.Assignments.Inertia));
        }
    }

    [Test]
    public void A_parallel_model_saves_its_centroids_in_json_and_refuses_tampered_ones()
    {
        var data = Blobs.Make(perBlob: 60, seed: 4, out _);
        var model = SegmentationModel.Fit(data, new SegmentationOptions { K = 4, Seed = 7 }).Model;
        var bytes = Saved(model);

        string json;
        using (var archive = new System.IO.Compression.ZipArchive(new MemoryStream(bytes)))
        {
            Assert.That(archive.Entries.Select(e => e.FullName), Is.EqualTo(new[] { "segmentation.json" }));
            using var reader = new StreamReader(archive.GetEntry("segmentation.json")!.Open());
            json = reader.ReadToEnd();
        }
        var root = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        using (Assert.EnterMultipleScope())
        {
            Assert.That((int)root["formatVersion"]!, Is.EqualTo(2));
            Assert.That((string)root["engine"]!, Is.EqualTo("parallel"));
            Assert.That(root["centroids"]!.AsArray(), Has.Count.EqualTo(4));
            Assert.That(root["centroids"]!.AsArray().Select(c => c!.AsArray().Count), Has.All.EqualTo(4));
            Assert.That(SegmentationModel.Load(new MemoryStream(bytes)).Engine, Is.EqualTo(KMeansEngine.Parallel));
        }

        root["centroids"]![0]!.AsArray().RemoveAt(0);
        var tampered = new MemoryStream();
        using (var archive = new System.IO.Compression.ZipArchive(tampered, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using var writer = new StreamWriter(archive.CreateEntry("segmentation.json").Open());
            writer.Write(root.ToJsonString());
        }
        tampered.Position = 0;
        Assert.That(() => SegmentationModel.Load(tampered), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("centroids"));
    }

    [Test]
    public void Degree_of_parallelism_below_one_is_rejected()
    {
        var data = Blobs.Make(perBlob: 10, seed: 1, out _);
        Assert.That(() => SegmentationModel.Fit(data, new SegmentationOptions { K = 2, DegreeOfParallelism = 0 }),
            Throws.ArgumentException.With.Message.Contains("threads"));
    }

    [Test]
    public void Silhouette_is_the_same_to_the_bit_for_any_thread_count_and_matches_a_direct_computation()
    {
        var (data, _) = Mixture(perGroup: 150, seed: 2);
        var z = Standardize(data);
        var rows = Enumerable.Range(0, data.RowCount).Where(i => i % 3 != 0).ToArray();
        var labels = rows.Select(i => (int)(z[i * 4] > 0 ? 1 : 0) + (z[(i * 4) + 1] > 0 ? 2 : 0)).ToArray();

        var values = ThreadCounts.Select(t => ClusterQuality.Silhouette(z, 4, rows, labels, 4, t)).ToArray();

        // Direct definition: a(i) mean distance to its own cluster's other points, b(i) the smallest mean distance to
        // another cluster, s(i) = (b − a) / max(a, b).
        double Distance(int a, int b) => Math.Sqrt(Enumerable.Range(0, 4).Sum(j => Math.Pow(z[(a * 4) + j] - z[(b * 4) + j], 2)));
        var direct = Enumerable.Range(0, rows.Length).Average(p =>
        {
            var own = Enumerable.Range(0, rows.Length).Where(q => q != p && labels[q] == labels[p]).Select(q => Distance(rows[p], rows[q])).ToArray();
            if (own.Length == 0)
            {
                return 0.0;
            }
            var a = own.Average();
            var b = Enumerable.Range(0, 4).Where(c => c != labels[p] && labels.Contains(c))
                .Min(c => Enumerable.Range(0, rows.Length).Where(q => labels[q] == c).Average(q => Distance(rows[p], rows[q])));
            return (b - a) / Math.Max(a, b);
        });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(values.Select(BitConverter.DoubleToInt64Bits).Distinct().Count(), Is.EqualTo(1));
            Assert.That(values[0], Is.EqualTo(direct).Within(1e-12));
        }
    }

    /// <summary>Groups of equal size around <see cref="MixtureCentres"/>, unit normal noise, rows shuffled.</summary>
    private static (FeatureMatrix Data, int[] Group) Mixture(int perGroup, int seed)
    {
        var random = new Random(seed);
        var n = perGroup * MixtureCentres.Length;
        var group = Enumerable.Range(0, n).Select(i => i / perGroup).ToArray();
        random.Shuffle(group);
        var columns = MixtureFeatures.Select(_ => new double[n]).ToArray();
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < MixtureFeatures.Length; j++)
            {
                columns[j][i] = MixtureCentres[group[i]][j] + Blobs.Gaussian(random);
            }
        }
        var ids = Enumerable.Range(0, n).Select(i => $"m{i:D6}").ToArray();
        return (new FeatureMatrix(ids, MixtureFeatures, columns), group);
    }

    /// <summary>Population z-scores, row-major (no log transforms).</summary>
    private static double[] Standardize(FeatureMatrix data)
    {
        var n = data.RowCount;
        var d = data.FeatureCount;
        var z = new double[n * d];
        for (var j = 0; j < d; j++)
        {
            var x = data.Column(data.FeatureNames[j]).ToArray();
            var mean = x.Average();
            var sd = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / n);
            for (var i = 0; i < n; i++)
            {
                z[(i * d) + j] = (x[i] - mean) / sd;
            }
        }
        return z;
    }

    private static double InertiaOfPartition(double[] z, int d, IReadOnlyList<int> segments)
    {
        var total = 0.0;
        foreach (var rows in Enumerable.Range(0, segments.Count).GroupBy(i => segments[i]))
        {
            for (var j = 0; j < d; j++)
            {
                var mean = rows.Average(i => z[(i * d) + j]);
                total += rows.Sum(i => (z[(i * d) + j] - mean) * (z[(i * d) + j] - mean));
            }
        }
        return total;
    }

    private static byte[] Saved(SegmentationModel model)
    {
        using var stream = new MemoryStream();
        model.Save(stream);
        return stream.ToArray();
    }
}
