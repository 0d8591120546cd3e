using NUnit.Framework;
using Pipeline.Models.Segmentation;

namespace Pipeline.Tests.Models.Segmentation;

[TestFixture]
public sealed class SegmentationModelTests
{
    private static readonly string[] LogFeatures = ["net_revenue", "sessions"];
    private static readonly int[] OneToFour = [1, 2, 3, 4];
    private static readonly int[] TwoAndThree = [2, 3];
    private static readonly string[] EntryNames = ["kmeans.mlnet.zip", "segmentation.json"];
    private static readonly SegmentationOptions FourClusters = new() { K = 4, Seed = 7 };
    private static readonly SegmentationOptions FourClustersMlNet = FourClusters with { Engine = KMeansEngine.MlNet };

    [Test]
    public void Well_separated_blobs_are_recovered_with_full_purity()
    {
        var data = Blobs.Make(perBlob: 250, seed: 1, out var blobOf);

        var fit = SegmentationModel.Fit(data, FourClusters);

        var segments = fit.Assignments.SegmentIds;
        var pairs = blobOf.Zip(segments).Distinct().ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(pairs, Has.Length.EqualTo(4), "each blob maps to exactly one segment and no segment mixes blobs");
            Assert.That(pairs.Select(p => p.First).Distinct().Count(), Is.EqualTo(4));
            Assert.That(pairs.Select(p => p.Second).Distinct().Count(), Is.EqualTo(4));
        }
    }

    [Test]
    public void Segment_ids_follow_the_value_feature_descending()
    {
        var data = Blobs.Make(perBlob: 250, seed: 2, out var blobOf);

        var fit = SegmentationModel.Fit(data, FourClusters);

        // Blob b has the (b+1)-th highest net_revenue centre, so it must be segment b + 1.
        var segments = fit.Assignments.SegmentIds;
        Assert.That(Enumerable.Range(0, blobOf.Length).All(i => segments[i] == blobOf[i] + 1), Is.True);
        var revenueMeans = fit.Assignments.Profiles.Select(p => p.Features.Single(f => f.Feature == "net_revenue").Mean).ToArray();
        Assert.That(revenueMeans, Is.Ordered.Descending);
    }

    [Test]
    public void Same_seed_gives_the_same_assignments()
    {
        var data = Blobs.Make(perBlob: 300, seed: 3, out _);
        var options = new SegmentationOptions { K = 5, Seed = 11 }; // k ≠ true k: the split of a blob depends on the init

        var first = SegmentationModel.Fit(data, options);
        var second = SegmentationModel.Fit(data, options);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(second.Assignments.SegmentIds, Is.EqualTo(first.Assignments.SegmentIds));
            Assert.That(second.Assignments.Inertia, Is.EqualTo(first.Assignments.Inertia));
            Assert.That(second.Model.Segments, Is.EqualTo(first.Model.Segments));
        }
    }

    [Test]
    public void Parallel_mlnet_runs_do_not_change_the_result()
    {
        var data = Blobs.Make(perBlob: 200, seed: 16, out _);
        var options = new SegmentationOptions { KMin = 2, KMax = 6, Restarts = 3, Seed = 21, Engine = KMeansEngine.MlNet };

        var serial = SegmentationModel.Fit(data, options with { MaxParallelRuns = 1 });
        var parallel = SegmentationModel.Fit(data, options with { MaxParallelRuns = 4 });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(parallel.Candidates, Is.EqualTo(serial.Candidates));
            Assert.That(parallel.Assignments.SegmentIds, Is.EqualTo(serial.Assignments.SegmentIds));
        }
    }

    [Test]
    public void Restarts_keep_the_lowest_inertia_run()
    {
        var data = Blobs.Make(perBlob: 200, seed: 17, out _);
        var options = new SegmentationOptions { K = 7, Seed = 3 };

        // Seeds {3} ⊂ {3, 4, 5, 6, 7}: the best of five can only be as good or better than the first alone.
        var one = SegmentationModel.Fit(data, options with { Restarts = 1 });
        var five = SegmentationModel.Fit(data, options with { Restarts = 5 });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(five.Candidates[0].Inertia, Is.LessThanOrEqualTo(one.Candidates[0].Inertia));
            Assert.That(five.Assignments.Inertia, Is.EqualTo(five.Candidates[0].Inertia).Within(1e-6).Percent);
        }
    }

    [Test]
    public void Mlnet_engine_with_either_initialisation_recovers_the_blobs()
    {
        var data = Blobs.Make(perBlob: 250, seed: 18, out var blobOf);

        var plusPlus = SegmentationModel.Fit(data, FourClustersMlNet with { Initialization = KMeansInitialization.KMeansPlusPlus });
        var fit = SegmentationModel.Fit(data, FourClustersMlNet with { Initialization = KMeansInitialization.KMeansParallel });
        Assert.That(Enumerable.Range(0, blobOf.Length).All(i => plusPlus.Assignments.SegmentIds[i] == blobOf[i] + 1), Is.True);

        Assert.That(Enumerable.Range(0, blobOf.Length).All(i => fit.Assignments.SegmentIds[i] == blobOf[i] + 1), Is.True);
    }

    [TestCase(KSelectionCriterion.Silhouette)]
    [TestCase(KSelectionCriterion.DaviesBouldin)]
    public void K_selection_picks_the_true_k_on_blobs(KSelectionCriterion criterion)
    {
        var data = Blobs.Make(perBlob: 200, seed: 4, out _);

        var fit = SegmentationModel.Fit(data, new SegmentationOptions { KMin = 2, KMax = 7, Criterion = criterion, Seed = 5 });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fit.Model.K, Is.EqualTo(4));
            Assert.That(fit.Criterion, Is.EqualTo(criterion));
            Assert.That(fit.Candidates.Select(c => c.K), Is.EqualTo(Enumerable.Range(2, 6)));
            Assert.That(fit.Candidates.All(c => double.IsFinite(c.Criterion) && c.Inertia > 0), Is.True);
            Assert.That(fit.Candidates.Select(c => c.Inertia), Is.Ordered.Descending, "more clusters never fit worse here");
        }
    }

    [Test]
    public void Criterion_sample_is_bounded_and_seeded()
    {
        var data = Blobs.Make(perBlob: 400, seed: 12, out _);
        var options = new SegmentationOptions { KMin = 3, KMax = 5, CriterionSampleSize = 300, Seed = 9 };

        var first = SegmentationModel.Fit(data, options);
        var second = SegmentationModel.Fit(data, options);

        Assert.That(second.Candidates, Is.EqualTo(first.Candidates));
        Assert.That(first.Model.K, Is.EqualTo(4));
    }

    [TestCase(KMeansEngine.Parallel)]
    [TestCase(KMeansEngine.MlNet)]
    public void Save_load_and_score_a_new_snapshot_gives_identical_assignments(KMeansEngine engine)
    {
        var train = Blobs.Make(perBlob: 250, seed: 5, out _);
        var fit = SegmentationModel.Fit(train, FourClusters with { LogTransformedFeatures = LogFeatures, Engine = engine });
        var snapshot = Blobs.Make(perBlob: 150, seed: 6, out var blobOf, idPrefix: "n");

        using var stream = new MemoryStream();
        fit.Model.Save(stream);
        stream.Position = 0;
        var loaded = SegmentationModel.Load(stream);

        var original = fit.Model.Assign(snapshot);
        var reloaded = loaded.Assign(snapshot);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reloaded.SegmentIds, Is.EqualTo(original.SegmentIds));
            Assert.That(reloaded.Inertia, Is.EqualTo(original.Inertia));
            Assert.That(loaded.Segments, Is.EqualTo(fit.Model.Segments));
            Assert.That(loaded.FeatureNames, Is.EqualTo(fit.Model.FeatureNames));
            Assert.That(loaded.LogTransformedFeatures, Is.EquivalentTo(LogFeatures));
            Assert.That(loaded.ValueFeature, Is.EqualTo("net_revenue"));
            Assert.That(loaded.Engine, Is.EqualTo(engine));
            // The new snapshot comes from the same blobs, so each blob lands in "its" segment.
            Assert.That(Enumerable.Range(0, blobOf.Length).All(i => reloaded.SegmentIds[i] == blobOf[i] + 1), Is.True);
        }
    }

    [Test]
    public void A_saved_model_carries_no_clock_so_reruns_write_the_same_bytes()
    {
        // Zip entries (ours and those of ML.NET's inner zip) carry a time stamp; ML.NET uses the clock. Every entry of
        // both levels must carry the fixed instant instead, and two saves must give the same bytes.
        var data = Blobs.Make(perBlob: 50, seed: 22, out _);
        var model = SegmentationModel.Fit(data, FourClustersMlNet with { LogTransformedFeatures = LogFeatures }).Model;
        using var first = new MemoryStream();
        model.Save(first);
        using var archive = new System.IO.Compression.ZipArchive(new MemoryStream(first.ToArray()));
        var fixedTime = new DateTime(1980, 1, 1);
        Assert.That(archive.Entries.Select(e => e.LastWriteTime.DateTime), Is.All.EqualTo(fixedTime));
        using (var inner = new MemoryStream())
        {
            using (var entry = archive.GetEntry("kmeans.mlnet.zip")!.Open())
            {
                entry.CopyTo(inner);
            }
            using var mlnet = new System.IO.Compression.ZipArchive(new MemoryStream(inner.ToArray()));
            Assert.That(mlnet.Entries, Is.Not.Empty);
            Assert.That(mlnet.Entries.Select(e => e.LastWriteTime.DateTime), Is.All.EqualTo(fixedTime));
        }
        using var second = new MemoryStream();
        model.Save(second);
        Assert.That(second.ToArray(), Is.EqualTo(first.ToArray()));
    }

    [Test]
    public void Saved_mlnet_model_is_a_zip_of_the_mlnet_model_and_json_metadata_and_tampering_is_detected()
    {
        var data = Blobs.Make(perBlob: 50, seed: 22, out _);
        var model = SegmentationModel.Fit(data, FourClustersMlNet with { LogTransformedFeatures = LogFeatures }).Model;
        using var stream = new MemoryStream();
        model.Save(stream);

        string json;
        using (var archive = new System.IO.Compression.ZipArchive(new MemoryStream(stream.ToArray())))
        {
            Assert.That(archive.Entries.Select(e => e.FullName), Is.EquivalentTo(EntryNames));
            using var reader = new StreamReader(archive.GetEntry("segmentation.json")!.Open());
            json = reader.ReadToEnd();
        }
        using var document = System.Text.Json.JsonDocument.Parse(json);
        var root = document.RootElement;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.GetProperty("features").GetArrayLength(), Is.EqualTo(4));
            Assert.That(root.GetProperty("logTransformedFeatures").EnumerateArray().Select(e => e.GetString()), Is.EquivalentTo(LogFeatures));
            Assert.That(root.GetProperty("segments").EnumerateArray().Select(e => e.GetProperty("label").GetString()),
                Is.EquivalentTo(model.Segments.Select(x => x.Label)));
        }

        // Drop one segment from the map: loading must refuse rather than mis-number clusters.
        var tampered = new MemoryStream();
        tampered.Write(stream.ToArray());
        using (var archive = new System.IO.Compression.ZipArchive(tampered, System.IO.Compression.ZipArchiveMode.Update, leaveOpen: true))
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
            node["segments"]!.AsArray().RemoveAt(0);
            archive.GetEntry("segmentation.json")!.Delete();
            using var writer = new StreamWriter(archive.CreateEntry("segmentation.json").Open());
            writer.Write(node.ToJsonString());
        }
        tampered.Position = 0;
        Assert.That(() => SegmentationModel.Load(tampered), Throws.InstanceOf<InvalidDataException>());
    }

    [TestCase(KMeansEngine.Parallel)]
    [TestCase(KMeansEngine.MlNet)]
    public void Training_data_scored_again_gives_the_training_assignments(KMeansEngine engine)
    {
        var data = Blobs.Make(perBlob: 200, seed: 13, out _);
        var fit = SegmentationModel.Fit(data, FourClusters with { Engine = engine });

        var again = fit.Model.Assign(data);

        Assert.That(again.SegmentIds, Is.EqualTo(fit.Assignments.SegmentIds));
    }

    [Test]
    public void Scoring_accepts_reordered_columns_and_rejects_missing_or_extra_ones()
    {
        var data = Blobs.Make(perBlob: 100, seed: 8, out _);
        var model = SegmentationModel.Fit(data, FourClusters).Model;
        var ids = data.CustomerIds;
        double[] Col(string name) => data.Column(name).ToArray();

        var reordered = new FeatureMatrix(ids, ["sessions", "recency_days", "orders", "net_revenue"],
            [Col("sessions"), Col("recency_days"), Col("orders"), Col("net_revenue")]);
        var missing = new FeatureMatrix(ids, ["net_revenue", "orders", "recency_days"],
            [Col("net_revenue"), Col("orders"), Col("recency_days")]);
        var extra = new FeatureMatrix(ids, [.. Blobs.FeatureNames, "tenure_days"],
            [Col("net_revenue"), Col("orders"), Col("recency_days"), Col("sessions"), new double[ids.Count]]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(model.Assign(reordered).SegmentIds, Is.EqualTo(model.Assign(data).SegmentIds));
            Assert.That(() => model.Assign(missing), Throws.ArgumentException.With.Message.Contains("missing [sessions]"));
            Assert.That(() => model.Assign(extra), Throws.ArgumentException.With.Message.Contains("unexpected [tenure_days]"));
        }
    }

    [Test]
    public void Labels_are_non_empty_unique_and_describe_the_extreme_blobs()
    {
        var data = Blobs.Make(perBlob: 250, seed: 9, out _);

        var fit = SegmentationModel.Fit(data, FourClusters);
        var labels = fit.Model.Segments.Select(s => s.Label).ToArray();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(labels, Has.All.Not.Empty);
            Assert.That(labels, Is.Unique);
            Assert.That(fit.Assignments.Profiles.Select(p => p.Label), Is.EqualTo(labels));
            // Segment 1 (blob 0): revenue, orders, sessions far above and recency far below the mean.
            Assert.That(labels[0], Does.Contain("high value").Or.Contain("frequent buyers").Or.Contain("visits often").Or.Contain("recently active"));
            // Segment 4 (blob 3): lowest revenue, one order, longest since last purchase.
            Assert.That(labels[3], Does.Contain("low value").Or.Contain("one-time buyers").Or.Contain("lapsed"));
        }
    }

    [Test]
    public void Profiles_are_in_original_units_and_inertia_matches_an_independent_computation()
    {
        var data = Blobs.Make(perBlob: 200, seed: 10, out _);
        var fit = SegmentationModel.Fit(data, FourClusters);
        var a = fit.Assignments;
        var n = data.RowCount;

        // Independent standardization (no log transforms here): population mean and standard deviation.
        var z = Blobs.FeatureNames.Select(name =>
        {
            var x = data.Column(name).ToArray();
            var mean = x.Average();
            var sd = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / x.Length);
            return x.Select(v => (v - mean) / sd).ToArray();
        }).ToArray();
        var inertia = 0.0;
        for (var s = 1; s <= 4; s++)
        {
            var rows = Enumerable.Range(0, n).Where(i => a.SegmentIds[i] == s).ToArray();
            foreach (var col in z)
            {
                var centre = rows.Average(i => col[i]);
                inertia += rows.Sum(i => (col[i] - centre) * (col[i] - centre));
            }
        }

        var segment2 = Enumerable.Range(0, n).Where(i => a.SegmentIds[i] == 2).ToArray();
        var orders2 = segment2.Select(i => data.Column("orders")[i]).Order().ToArray();
        var profile2 = a.Profiles[1].Features.Single(f => f.Feature == "orders");
        var totalRevenue = data.Column("net_revenue").Sum();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(a.Inertia, Is.EqualTo(inertia).Within(1e-4).Percent);
            Assert.That(a.Profiles.Select(p => p.SegmentId), Is.EqualTo(OneToFour));
            Assert.That(a.Profiles.Sum(p => p.Share), Is.EqualTo(1.0).Within(1e-12));
            Assert.That(a.Profiles.Sum(p => p.ValueShare!.Value), Is.EqualTo(1.0).Within(1e-12));
            Assert.That(a.Profiles[1].Size, Is.EqualTo(segment2.Length));
            Assert.That(profile2.Mean, Is.EqualTo(orders2.Average()).Within(1e-9));
            Assert.That(profile2.Median, Is.EqualTo((orders2[(orders2.Length / 2) - 1] + orders2[orders2.Length / 2]) / 2).Within(1e-12));
            Assert.That(a.Profiles[0].ValueShare, Is.EqualTo(segment2.Length == 0 ? 0 :
                Enumerable.Range(0, n).Where(i => a.SegmentIds[i] == 1).Sum(i => data.Column("net_revenue")[i]) / totalRevenue).Within(1e-12));
        }
    }

    [Test]
    public void Constant_columns_and_negative_heavy_tailed_values_are_handled()
    {
        var data = Blobs.Make(perBlob: 100, seed: 14, out var blobOf);
        var n = data.RowCount;
        // Net revenue shifted negative for some customers (refunds), plus a constant column.
        var revenue = data.Column("net_revenue").Select(v => v - 300).ToArray();
        var matrix = new FeatureMatrix(data.CustomerIds, ["net_revenue", "recency_days", "constant"],
            [revenue, data.Column("recency_days").ToArray(), Enumerable.Repeat(5.0, n).ToArray()]);

        var fit = SegmentationModel.Fit(matrix, FourClusters with { LogTransformedFeatures = ["net_revenue"] });

        var pairs = blobOf.Zip(fit.Assignments.SegmentIds).Distinct().Count();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(double.IsFinite(fit.Assignments.Inertia), Is.True);
            Assert.That(pairs, Is.EqualTo(4), "blobs still separate after the signed log");
            Assert.That(fit.Assignments.Profiles.SelectMany(p => p.Features).Where(f => f.Feature == "constant").Select(f => f.ZScore),
                Has.All.EqualTo(0.0), "a zero-variance column standardizes to 0");
        }
    }

    [Test]
    public void Identical_customers_fail_clearly_and_few_distinct_profiles_clamp_the_k_range()
    {
        var ids = Enumerable.Range(0, 20).Select(i => $"s{i}").ToArray();
        var same = new FeatureMatrix(ids, ["net_revenue", "orders"], [Enumerable.Repeat(10.0, 20).ToArray(), Enumerable.Repeat(1.0, 20).ToArray()]);
        // Three distinct profiles: revenue 10, 50 or 90 (ids round-robin), one order each.
        var three = new FeatureMatrix(ids, ["net_revenue", "orders"],
            [Enumerable.Range(0, 20).Select(i => 10.0 + (40 * (i % 3))).ToArray(), Enumerable.Repeat(1.0, 20).ToArray()]);

        var fit = SegmentationModel.Fit(three, new SegmentationOptions { KMin = 2, KMax = 6 });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => SegmentationModel.Fit(same, new SegmentationOptions { KMin = 2, KMax = 4 }),
                Throws.ArgumentException.With.Message.Contains("Only 1 distinct"));
            Assert.That(fit.Candidates.Select(c => c.K), Is.EqualTo(TwoAndThree));
            Assert.That(fit.Model.K, Is.EqualTo(3), "three exact profiles: silhouette 1 at k = 3");
            Assert.That(fit.Assignments.Inertia, Is.EqualTo(0).Within(1e-9), "float centroids on the points");
        }
    }

    [Test]
    public void Without_a_value_feature_ids_follow_size()
    {
        var data = Blobs.Make(perBlob: 100, seed: 19, out _);
        var big = Blobs.Make(perBlob: 300, seed: 19, out var bigBlobs, idPrefix: "b");
        // Keep all of blob 2 from the big draw and 100 of every other blob from the small one: blob 2 is the largest.
        var rows = Enumerable.Range(0, big.RowCount).Where(i => bigBlobs[i] == 2).ToArray();
        var ids = data.CustomerIds.Concat(rows.Select(i => big.CustomerIds[i])).ToArray();
        var columns = Blobs.FeatureNames.Select(f => data.Column(f).Concat(rows.Select(i => big.Column(f)[i])).ToArray()).ToArray();
        var matrix = new FeatureMatrix(ids, Blobs.FeatureNames, columns);

        var fit = SegmentationModel.Fit(matrix, FourClusters with { ValueFeature = null });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(fit.Assignments.Profiles.Select(p => p.Size), Is.Ordered.Descending);
            Assert.That(fit.Assignments.Profiles[0].Size, Is.EqualTo(400));
            Assert.That(fit.Assignments.Profiles.Select(p => p.ValueShare), Has.All.Null);
        }
    }

    [Test]
    public void Invalid_inputs_fail_with_clear_messages()
    {
        var data = Blobs.Make(perBlob: 10, seed: 15, out _);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => SegmentationModel.Fit(data, new SegmentationOptions { K = 100 }),
                Throws.ArgumentException.With.Message.Contains("k = 100"));
            Assert.That(() => SegmentationModel.Fit(data, new SegmentationOptions { LogTransformedFeatures = ["aov"] }),
                Throws.ArgumentException.With.Message.Contains("'aov'"));
            Assert.That(() => SegmentationModel.Fit(data, new SegmentationOptions { ValueFeature = "ltv" }),
                Throws.ArgumentException.With.Message.Contains("'ltv'"));
            Assert.That(() => new FeatureMatrix(["a", "b"], ["x"], [[1.0, double.NaN]]),
                Throws.ArgumentException.With.Message.Contains("impute"));
            Assert.That(() => new FeatureMatrix(["a", "a"], ["x"], [[1.0, 2.0]]),
                Throws.ArgumentException.With.Message.Contains("more than once"));
            Assert.That(() => SegmentationModel.Load(new MemoryStream([1, 2, 3])), Throws.InstanceOf<InvalidDataException>());
        }
    }
}
