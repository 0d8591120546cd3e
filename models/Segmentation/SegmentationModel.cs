using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Pipeline.Models.Segmentation;

/// <summary>
/// A behavioural segmentation: signed-log + z-score pre-processing, a k-means model, stable segment
/// ids and readable labels. Fit it with <see cref="Fit"/>, score new snapshots with <see cref="Assign"/>, and
/// keep it between runs with <see cref="Save"/> / <see cref="Load"/>.
/// </summary>
/// <remarks>
/// <para>
/// Training: features are pre-processed (<see cref="SegmentationOptions.LogTransformedFeatures"/>, then z-score
/// with the population standard deviation; constant columns become 0), then k-means runs with a fixed seed:
/// by default the deterministic parallel engine (<see cref="KMeansEngine.Parallel"/>: greedy k-means++, Hamerly-bounded
/// Lloyd over fixed row chunks, the same model for any <see cref="SegmentationOptions.DegreeOfParallelism"/>), or
/// ML.NET's trainer with a fixed thread count (<see cref="KMeansEngine.MlNet"/>); either way the same data and options
/// give the same model. When k is not fixed, every k in the range is fitted on all rows and judged by the criterion on one
/// seeded sample (see <see cref="SegmentationOptions.CriterionSampleSize"/>); the best wins, ties to the smaller k.
/// </para>
/// <para>
/// Ids: k-means numbers clusters arbitrarily, so segments are renumbered 1..k by the training mean of the
/// value feature in original units, highest first; ties by size (larger first), then by cluster index; empty
/// clusters last. Id 1 is thus the most valuable segment of this model.
/// </para>
/// <para>
/// Labels are computed once on the training data and stored with the model. They come from the z-scores of
/// the cluster means (standardized space): every feature with |z| ≥ <see cref="SegmentationOptions.LabelThreshold"/>
/// contributes a descriptor in words chosen by its well-known name — value (net_revenue, revenue, monetary…) "high/low
/// value"; purchases (orders, frequency…) "frequent buyers"/"infrequent buyers", or "one-time buyers" when the
/// cluster's median is one purchase at most; recency_days "lapsed"/"recently active"; tenure "long-standing"/"new";
/// sessions "visits often"/"rarely visits"; engaged time "long visits"/"short visits"; and so on for every column of
/// customers/features (the table in <see cref="SegmentLabeler"/>), never a column name. The
/// <see cref="SegmentationOptions.MaxLabelDescriptors"/> strongest are joined in that role order (e.g.
/// "high value, frequent buyers", "rarely visits, short visits"); none gives "average", an empty cluster "empty"; clashes get
/// " (2)", " (3)"… in id order so labels are unique within a model.
/// </para>
/// <para>
/// Inertia is always the sum of squared Euclidean distances to the assigned centroid in the standardized space.
/// </para>
/// </remarks>
public sealed class SegmentationModel
{
    private const string FeaturesColumn = "Features";
    private const string PredictedLabelColumn = "PredictedLabel";
    private const string ModelEntry = "kmeans.mlnet.zip";
    private const string MetadataEntry = "segmentation.json";
    private const int MlNetFormatVersion = 1;   // kmeans.mlnet.zip + segmentation.json
    private const int ParallelFormatVersion = 2; // segmentation.json with the centroids

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly MLContext? _ml;             // null for the parallel engine
    private readonly ITransformer? _transformer; // null for the parallel engine
    private readonly FeatureScaler _scaler;
    private readonly double[][] _centroids;      // by cluster index (0-based), standardized space
    private readonly int[] _segmentIdByMlIndex;  // cluster index (0-based) → segment id 1..k
    private readonly string[] _labels;           // by segment id − 1
    private readonly int _seed;

    private SegmentationModel(
        MLContext? ml, ITransformer? transformer, FeatureScaler scaler, double[][] centroids,
        int[] segmentIdByMlIndex, string[] labels, string? valueFeature, int seed)
    {
        _ml = ml;
        _transformer = transformer;
        _scaler = scaler;
        _centroids = centroids;
        _segmentIdByMlIndex = segmentIdByMlIndex;
        _labels = labels;
        _seed = seed;
        ValueFeature = valueFeature;
        Segments = labels.Select((label, i) => new SegmentInfo(i + 1, label)).ToArray();
        LogTransformedFeatures = scaler.Names.Where((_, j) => scaler.Log[j]).ToArray();
    }

    /// <summary>The implementation that fitted the model (and scores with it).</summary>
    public KMeansEngine Engine => _transformer is null ? KMeansEngine.Parallel : KMeansEngine.MlNet;

    /// <summary>Number of segments.</summary>
    public int K => _labels.Length;

    /// <summary>The features the model expects, in its order (a scored matrix may order them differently).</summary>
    public IReadOnlyList<string> FeatureNames => _scaler.Names;

    /// <summary>The features that are signed-log transformed before standardizing.</summary>
    public IReadOnlyList<string> LogTransformedFeatures { get; }

    /// <summary>The feature that orders segment ids, or <see langword="null"/> when ordered by size.</summary>
    public string? ValueFeature { get; }

    /// <summary>The segments, id 1..k, with their labels.</summary>
    public IReadOnlyList<SegmentInfo> Segments { get; }

    /// <summary>Fits a segmentation to <paramref name="data"/> (see the class remarks for the procedure).</summary>
    /// <exception cref="ArgumentException">Invalid options, unknown feature names in them, or too few customers for k.</exception>
    public static SegmentationFit Fit(FeatureMatrix data, SegmentationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= new SegmentationOptions();
        var ks = CandidateKs(data, options);

        var scaler = FeatureScaler.Fit(data, options.LogTransformedFeatures, options.DegreeOfParallelism);
        var d = data.FeatureCount;
        var n = data.RowCount;
        var identity = Enumerable.Range(0, d).ToArray();
        var z = scaler.Transform(data, identity, options.DegreeOfParallelism);
        var native = options.Engine == KMeansEngine.Parallel;
        var dataView = native ? null : BuildDataView(z, n, d);
        var distinct = dataView?.CountDistinctRows(ks[^1]) ?? ParallelKMeans.CountDistinctRows(z, n, d, ks[^1]);
        if (distinct < ks[0])
        {
            throw new ArgumentException(
                $"Only {distinct} distinct customer profile(s) after scaling; k = {ks[0]} needs at least {ks[0]}.", nameof(data));
        }
        ks = ks.Where(k => k <= distinct).ToList();

        var sample = ClusterQuality.Sample(n, options.CriterionSampleSize, options.Seed);

        // Every (k, restart) run is independent, seeded Seed + restart. Results land in fixed slots and are compared in
        // slot order, so the choice is the same for any scheduling.
        var runs = ks.SelectMany(k => Enumerable.Range(0, options.Restarts).Select(restart => (K: k, Restart: restart))).ToArray();
        var results = new Run[runs.Length];
        if (native)
        {
            // One run after another, each spread over DegreeOfParallelism threads (the result does not depend on it).
            for (var r = 0; r < runs.Length; r++)
            {
                var fitted = ParallelKMeans.Fit(z, n, d, runs[r].K, unchecked(options.Seed + runs[r].Restart),
                    options.MaximumIterations, options.OptimizationTolerance, options.DegreeOfParallelism);
                var (runLabels, inertia) = ParallelKMeans.Assign(z, n, d, fitted.Centroids, options.DegreeOfParallelism);
                results[r] = new Run(null, null, fitted.Centroids, inertia, runLabels);
                    }
        }
        else
        {
            // ML.NET: each run has its own MLContext and a single-threaded trainer, so running them concurrently changes
            // nothing but the wall-clock time.
            try
            {
                Parallel.For(0, runs.Length, new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelRuns }, r =>
                {
                    var ml = new MLContext(unchecked(options.Seed + runs[r].Restart));
                    var transformer = Train(ml, dataView!, runs[r].K, options);
                    var centroids = Centroids(transformer.Model, d);
                    var inertia = 0.0;
                    for (var i = 0; i < n; i++)
                    {
                        ClusterQuality.Nearest(z, (long)i * d, d, centroids, out var squared);
                        inertia += squared;
                    }
                    results[r] = new Run(ml, transformer, centroids, inertia, null);
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // Surface the first failure as itself rather than wrapped by the parallel loop.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                throw;
            }
        }

        var candidates = new List<KCandidate>(ks.Count);
        Run? best = null;
        var bestCriterion = double.NaN;
        foreach (var k in ks)
        {
            // Restarts of one k: the lowest inertia wins, ties to the earlier seed.
            var run = Enumerable.Range(0, runs.Length)
                .Where(r => runs[r].K == k)
                .Select(r => results[r])
                .Aggregate((kept, next) => next.Inertia < kept.Inertia ? next : kept);
            var sampleLabels = sample
                .Select(row => ClusterQuality.Nearest(z, (long)row * d, d, run.Centroids, out _))
                .ToArray();
            var criterion = options.Criterion == KSelectionCriterion.Silhouette
                ? ClusterQuality.Silhouette(z, d, sample, sampleLabels, k, options.DegreeOfParallelism)
                : ClusterQuality.DaviesBouldin(z, d, sample, sampleLabels, k);
            candidates.Add(new KCandidate(k, criterion, run.Inertia));

            if (best is null || IsBetter(criterion, bestCriterion, options.Criterion))
            {
                best = run;
                bestCriterion = criterion;
            }
        }

        var chosenMl = best!.Ml;
        var chosen = best.Transformer;
        var chosenCentroids = best.Centroids;
        var mlIndex = best.Labels ?? PredictMlIndex(chosen!, dataView!, n);
        var chosenK = chosenCentroids.Length;

        // Renumber: value mean (original units) desc, size desc, cluster index asc; empty clusters last.
        var sizes = new int[chosenK];
        var valueSums = new double[chosenK];
        var valueColumn = options.ValueFeature is null ? null : data.ColumnArray(data.IndexOf(options.ValueFeature));
        for (var i = 0; i < n; i++)
        {
            sizes[mlIndex[i]]++;
            if (valueColumn is not null)
            {
                valueSums[mlIndex[i]] += valueColumn[i];
            }
        }
        var order = Enumerable.Range(0, chosenK)
            .OrderBy(c => sizes[c] == 0 ? 1 : 0)
            .ThenByDescending(c => valueColumn is null || sizes[c] == 0 ? 0.0 : valueSums[c] / sizes[c])
            .ThenByDescending(c => sizes[c])
            .ThenBy(c => c)
            .ToArray();
        var segmentIdByMlIndex = new int[chosenK];
        for (var rank = 0; rank < chosenK; rank++)
        {
            segmentIdByMlIndex[order[rank]] = rank + 1;
        }

        var segmentIds = mlIndex.Select(c => segmentIdByMlIndex[c]).ToArray();
        var stats = SegmentStats.Compute(data, identity, z, segmentIds, chosenK, options.ValueFeature is null ? -1 : data.IndexOf(options.ValueFeature));
        var labels = SegmentLabeler.Label(
            scaler.Names, stats.ZMeans, stats.Medians, stats.Sizes, options.LabelThreshold, options.MaxLabelDescriptors);

        var model = new SegmentationModel(
            chosenMl, chosen, scaler, chosenCentroids, segmentIdByMlIndex, labels, options.ValueFeature, options.Seed);
        var assignments = new SegmentAssignments(
            data.CustomerIds, segmentIds, best.Labels is null ? Inertia(z, d, mlIndex, chosenCentroids) : best.Inertia,
            stats.ToProfiles(scaler.Names, labels));
        return new SegmentationFit(model, assignments, options.Criterion, candidates);
    }

    /// <summary>
    /// Assigns every customer of <paramref name="data"/> to a segment with the stored scaler and k-means model,
    /// and profiles the result. The matrix must have exactly the model's features (any order).
    /// <paramref name="degreeOfParallelism"/> (default: the processor count) spreads the parallel engine's scoring; the
    /// result does not depend on it.
    /// </summary>
    /// <exception cref="ArgumentException">Missing or unexpected feature columns (all of them are named).</exception>
    public SegmentAssignments Assign(FeatureMatrix data, int? degreeOfParallelism = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var missing = _scaler.Names.Where(name => !data.HasFeature(name)).ToArray();
        var extra = data.FeatureNames.Where(name => !_scaler.Names.Contains(name, StringComparer.Ordinal)).ToArray();
        if (missing.Length > 0 || extra.Length > 0)
        {
            throw new ArgumentException(
                "The feature matrix does not match the model's features: missing [" + string.Join(", ", missing) +
                "], unexpected [" + string.Join(", ", extra) + "]; expected exactly [" + string.Join(", ", _scaler.Names) + "].",
                nameof(data));
        }

        var d = _scaler.Count;
        var n = data.RowCount;
        var order = _scaler.Names.Select(data.IndexOf).ToArray();
        var dop = Math.Max(1, degreeOfParallelism ?? Environment.ProcessorCount);
        var z = _scaler.Transform(data, order, dop);
        int[] mlIndex;
        double inertia;
        if (_transformer is null)
        {
            (mlIndex, inertia) = ParallelKMeans.Assign(z, n, d, _centroids, dop);
        }
        else
        {
            mlIndex = PredictMlIndex(_transformer, BuildDataView(z, n, d), n);
            inertia = Inertia(z, d, mlIndex, _centroids);
        }
        var segmentIds = mlIndex.Select(c => _segmentIdByMlIndex[c]).ToArray();
        var valueIndex = ValueFeature is null ? -1 : data.IndexOf(ValueFeature);
        var stats = SegmentStats.Compute(data, order, z, segmentIds, K, valueIndex);
        return new SegmentAssignments(data.CustomerIds, segmentIds, inertia, stats.ToProfiles(_scaler.Names, _labels));
    }

    /// <summary>
    /// Writes the model to <paramref name="stream"/> as a zip holding a JSON document (<c>segmentation.json</c>) with
    /// the scaler parameters, the feature and log-transform lists, the cluster-index → segment-id map and the labels,
    /// plus the centroids (parallel engine, format 2) or, for an ML.NET model (format 1), the ML.NET model
    /// (<c>kmeans.mlnet.zip</c>). The stream is left open.
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);

        if (_transformer is not null)
        {
            using var buffer = new MemoryStream();
            _ml!.Model.Save(_transformer, BuildDataView([], 0, _scaler.Count).Schema, buffer);
            buffer.Position = 0;
            var modelEntry = archive.CreateEntry(ModelEntry, CompressionLevel.Optimal);
            modelEntry.LastWriteTime = EntryTime;
            using var entry = modelEntry.Open();
            CopyWithFixedTimes(buffer, entry);
        }

        var document = new ModelDocument(
            _transformer is null ? ParallelFormatVersion : MlNetFormatVersion,
            _seed,
            ValueFeature,
            _scaler.Names.Select((name, j) => new FeatureDocument(name, _scaler.Log[j], _scaler.Means[j], _scaler.Scales[j])).ToArray(),
            LogTransformedFeatures.ToArray(),
            _segmentIdByMlIndex.Select((id, c) => new SegmentDocument(c + 1, id, _labels[id - 1])).ToArray())
        {
            Engine = _transformer is null ? "parallel" : null,
            Centroids = _transformer is null ? _centroids : null,
        };
        var metadataEntry = archive.CreateEntry(MetadataEntry, CompressionLevel.Optimal);
        metadataEntry.LastWriteTime = EntryTime;
        using var json = metadataEntry.Open();
        JsonSerializer.Serialize(json, document, JsonOptions);
    }

    /// <summary>
    /// The time stamped on every zip entry: a fixed instant (the zip format's epoch), so the same model saves to the
    /// same bytes on every run — ML.NET stamps its own zip with the clock.
    /// </summary>
    internal static readonly DateTimeOffset EntryTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Copies a zip (ML.NET's model) entry by entry, in order, with <see cref="EntryTime"/> on each.</summary>
    private static void CopyWithFixedTimes(Stream source, Stream target)
    {
        using var from = new ZipArchive(source, ZipArchiveMode.Read, leaveOpen: true);
        using var to = new ZipArchive(target, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var entry in from.Entries)
        {
            var copy = to.CreateEntry(entry.FullName, CompressionLevel.Optimal);
            copy.LastWriteTime = EntryTime;
            using var input = entry.Open();
            using var output = copy.Open();
            input.CopyTo(output);
        }
    }

    /// <summary>Reads a model written by <see cref="Save"/>. The stream is left open.</summary>
    /// <exception cref="InvalidDataException">The stream is not a segmentation model or is inconsistent.</exception>
    public static SegmentationModel Load(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        var metadataEntry = archive.GetEntry(MetadataEntry) ?? throw new InvalidDataException($"Not a segmentation model: no '{MetadataEntry}'.");

        ModelDocument document;
        using (var json = metadataEntry.Open())
        {
            document = JsonSerializer.Deserialize<ModelDocument>(json, JsonOptions)
                ?? throw new InvalidDataException("Empty segmentation metadata.");
        }
        if (document.FormatVersion is not (MlNetFormatVersion or ParallelFormatVersion))
        {
            throw new InvalidDataException(
                $"Unsupported segmentation model format {document.FormatVersion} (expected {MlNetFormatVersion} or {ParallelFormatVersion}).");
        }

        var features = document.Features ?? throw new InvalidDataException("No features in the segmentation metadata.");
        var scaler = new FeatureScaler(
            features.Select(f => f.Name).ToArray(),
            features.Select(f => f.Log).ToArray(),
            features.Select(f => f.Mean).ToArray(),
            features.Select(f => f.Scale).ToArray());
        var flagged = scaler.Names.Where((_, j) => scaler.Log[j]);
        if (!flagged.Order(StringComparer.Ordinal).SequenceEqual((document.LogTransformedFeatures ?? []).Order(StringComparer.Ordinal)))
        {
            throw new InvalidDataException("The log-transform list disagrees with the per-feature log flags in the segmentation metadata.");
        }
        MLContext? ml = null;
        ITransformer? transformer = null;
        double[][] centroids;
        if (document.FormatVersion == MlNetFormatVersion)
        {
            var modelEntry = archive.GetEntry(ModelEntry) ?? throw new InvalidDataException($"Not a segmentation model: no '{ModelEntry}'.");
            ml = new MLContext(document.Seed);
            using (var buffer = new MemoryStream())
            {
                using (var entry = modelEntry.Open())
                {
                    entry.CopyTo(buffer);
                }
                buffer.Position = 0;
                transformer = ml.Model.Load(buffer, out _);
            }
            // A loaded transformer is typed on ML.NET's internal predictor interface, not on KMeansModelParameters,
            // so the k-means parameters are reached through the covariant prediction-transformer interface.
            if (transformer is not IPredictionTransformer<object> { Model: KMeansModelParameters kmeans })
            {
                throw new InvalidDataException($"The stored ML.NET model is a {transformer.GetType().Name}, not a k-means model.");
            }
            centroids = Centroids(kmeans, scaler.Count);
        }
        else
        {
            if (document.Engine != "parallel")
            {
                throw new InvalidDataException($"Format {ParallelFormatVersion} needs engine 'parallel', not '{document.Engine}'.");
            }
            centroids = document.Centroids ?? throw new InvalidDataException("No centroids in the segmentation metadata.");
            if (centroids.Length == 0 || centroids.Any(c => c is null || c.Length != scaler.Count || !c.All(double.IsFinite)))
            {
                throw new InvalidDataException($"The centroids in the segmentation metadata must be {scaler.Count} finite numbers each.");
            }
        }
        var k = centroids.Length;

        var segments = document.Segments ?? throw new InvalidDataException("No segments in the segmentation metadata.");
        var map = new int[k];
        var labels = new string[k];
        foreach (var s in segments)
        {
            if (s.MlClusterIndex < 1 || s.MlClusterIndex > k || s.SegmentId < 1 || s.SegmentId > k ||
                map[s.MlClusterIndex - 1] != 0 || labels[s.SegmentId - 1] is not null)
            {
                throw new InvalidDataException($"Inconsistent segment map in the segmentation metadata (k = {k}).");
            }
            map[s.MlClusterIndex - 1] = s.SegmentId;
            labels[s.SegmentId - 1] = s.Label;
        }
        if (segments.Length != k)
        {
            throw new InvalidDataException($"The metadata maps {segments.Length} segments but the model has {k} clusters.");
        }
        return new SegmentationModel(ml, transformer, scaler, centroids, map, labels, document.ValueFeature, document.Seed);
    }

    private static List<int> CandidateKs(FeatureMatrix data, SegmentationOptions options)
    {
        var n = data.RowCount;
        if (n == 0)
        {
            throw new ArgumentException("Cannot segment an empty feature matrix.", nameof(data));
        }
        foreach (var name in options.LogTransformedFeatures)
        {
            if (!data.HasFeature(name))
            {
                throw new ArgumentException($"Log-transformed feature '{name}' is not in the feature matrix.", nameof(options));
            }
        }
        if (options.ValueFeature is not null && !data.HasFeature(options.ValueFeature))
        {
            throw new ArgumentException($"Value feature '{options.ValueFeature}' is not in the feature matrix.", nameof(options));
        }
        if (options.NumberOfThreads < 1 || options.DegreeOfParallelism < 1 || options.Restarts < 1 || options.MaxParallelRuns < 1 || options.MaximumIterations < 1 || options.CriterionSampleSize < 2 ||
            options.MaxLabelDescriptors < 1 || !(options.OptimizationTolerance > 0) || !(options.LabelThreshold >= 0))
        {
            throw new ArgumentException(
                "Options out of range: threads, restarts, parallel runs, iterations and descriptors must be ≥ 1, the sample ≥ 2, the tolerance > 0 and the label threshold ≥ 0.",
                nameof(options));
        }
        if (options.K is int fixedK)
        {
            if (fixedK < 1 || fixedK > n)
            {
                throw new ArgumentException($"k = {fixedK} needs 1 ≤ k ≤ number of customers ({n}).", nameof(options));
            }
            return [fixedK];
        }
        if (options.KMin < 2 || options.KMax < options.KMin)
        {
            throw new ArgumentException($"The k range [{options.KMin}, {options.KMax}] needs 2 ≤ KMin ≤ KMax.", nameof(options));
        }
        if (options.KMin > n)
        {
            throw new ArgumentException($"KMin = {options.KMin} exceeds the number of customers ({n}).", nameof(options));
        }
        return Enumerable.Range(options.KMin, Math.Min(options.KMax, n) - options.KMin + 1).ToList();
    }

    private static bool IsBetter(double candidate, double incumbent, KSelectionCriterion criterion)
    {
        if (double.IsNaN(candidate))
        {
            return false;
        }
        if (double.IsNaN(incumbent))
        {
            return true;
        }
        // Strict comparison: on a tie the earlier (smaller) k stays.
        return criterion == KSelectionCriterion.Silhouette ? candidate > incumbent : candidate < incumbent;
    }

    private static ClusteringPredictionTransformer<KMeansModelParameters> Train(
        MLContext ml, IDataView data, int k, SegmentationOptions options)
    {
        var trainer = ml.Clustering.Trainers.KMeans(new KMeansTrainer.Options
        {
            FeatureColumnName = FeaturesColumn,
            NumberOfClusters = k,
            InitializationAlgorithm = options.Initialization == KMeansInitialization.KMeansParallel
                ? KMeansTrainer.InitializationAlgorithm.KMeansYinyang
                : KMeansTrainer.InitializationAlgorithm.KMeansPlusPlus,
            NumberOfThreads = options.NumberOfThreads,
            MaximumNumberOfIterations = options.MaximumIterations,
            OptimizationTolerance = options.OptimizationTolerance,
        });
        return trainer.Fit(data);
    }

    private static double[][] Centroids(KMeansModelParameters model, int d)
    {
        VBuffer<float>[] buffers = [];
        model.GetClusterCentroids(ref buffers, out var k);
        var centroids = new double[k][];
        for (var c = 0; c < k; c++)
        {
            var values = buffers[c].DenseValues().Select(v => (double)v).ToArray();
            if (values.Length != d)
            {
                throw new InvalidDataException($"Centroid {c + 1} has {values.Length} dimensions; the features are {d}.");
            }
            centroids[c] = values;
        }
        return centroids;
    }

    /// <summary>ML.NET's predicted cluster of each row, as a 0-based index.</summary>
    private static int[] PredictMlIndex(ITransformer transformer, IDataView data, int n)
    {
        var scored = transformer.Transform(data);
        var result = new int[n];
        var column = scored.Schema[PredictedLabelColumn];
        using var cursor = scored.GetRowCursor([column]);
        var getter = cursor.GetGetter<uint>(column);
        uint label = 0;
        var i = 0;
        while (cursor.MoveNext())
        {
            getter(ref label);
            result[i++] = checked((int)label - 1);
        }
        if (i != n)
        {
            throw new InvalidOperationException($"ML.NET scored {i} rows of {n}.");
        }
        return result;
    }

    private static double Inertia(double[] z, int d, int[] mlIndex, double[][] centroids)
    {
        var total = 0.0;
        for (var i = 0; i < mlIndex.Length; i++)
        {
            var centroid = centroids[mlIndex[i]];
            var offset = (long)i * d;
            for (var j = 0; j < d; j++)
            {
                var diff = z[offset + j] - centroid[j];
                total += diff * diff;
            }
        }
        return total;
    }

    private static DenseFeatureDataView BuildDataView(double[] z, int n, int d)
    {
        var values = new float[(long)n * d];
        for (long i = 0; i < values.Length; i++)
        {
            values[i] = (float)z[i];
        }
        return new DenseFeatureDataView(FeaturesColumn, values, n, d);
    }
}

/// <summary>One k-means run of <see cref="SegmentationModel.Fit"/>: ML.NET's (transformer) or the parallel engine's (labels).</summary>
internal sealed record Run(
    MLContext? Ml, ClusteringPredictionTransformer<KMeansModelParameters>? Transformer, double[][] Centroids, double Inertia, int[]? Labels);

/// <summary>
/// The JSON half of a saved model (<c>segmentation.json</c>). Format 1: ML.NET model beside it; format 2: the parallel
/// engine's centroids (standardized space, by cluster index) in <see cref="Centroids"/>.
/// </summary>
internal sealed record ModelDocument(
    int FormatVersion, int Seed, string? ValueFeature, FeatureDocument[] Features, string[] LogTransformedFeatures, SegmentDocument[] Segments)
{
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Engine { get; init; }

    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public double[][]? Centroids { get; init; }
}

/// <summary>One feature's pre-processing: signed log1p or not, then (x − Mean) / Scale.</summary>
internal sealed record FeatureDocument(string Name, bool Log, double Mean, double Scale);

/// <summary>The model's 1-based cluster index (ML.NET's, or the parallel engine's) → stable segment id and its label.</summary>
internal sealed record SegmentDocument(int MlClusterIndex, int SegmentId, string Label);
