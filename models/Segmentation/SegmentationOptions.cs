namespace Pipeline.Models.Segmentation;

/// <summary>How the number of clusters is chosen when it is not fixed.</summary>
public enum KSelectionCriterion
{
    /// <summary>
    /// Mean silhouette coefficient (higher is better) on the criterion sample, Euclidean distance in the
    /// standardized space; a point alone in its cluster scores 0 (the scikit-learn convention). The default:
    /// it judges both cohesion and separation per point and is the criterion most readers know.
    /// </summary>
    Silhouette,

    /// <summary>
    /// Davies–Bouldin index (lower is better) on the criterion sample, with centroids and spreads taken from the
    /// sample's own points (as scikit-learn does). Cheaper than silhouette (linear in the sample size).
    /// </summary>
    DaviesBouldin,
}

/// <summary>Which k-means implementation fits the model.</summary>
public enum KMeansEngine
{
    /// <summary>
    /// The default: this project's deterministic parallel k-means (<c>ParallelKMeans</c>): scikit-learn's greedy
    /// k-means++ initialisation, then Lloyd iterations with Hamerly's bounds, spread over
    /// <see cref="SegmentationOptions.DegreeOfParallelism"/> threads. Rows are cut into fixed chunks and every sum is
    /// reduced in chunk order in double precision, so the model is bit-for-bit the same for any thread count.
    /// </summary>
    Parallel,

    /// <summary>
    /// ML.NET's <c>KMeansTrainer</c> with <see cref="SegmentationOptions.NumberOfThreads"/> threads (default 1: ML.NET
    /// does not promise the same model for other thread counts) and <see cref="SegmentationOptions.Initialization"/>;
    /// the saved model then holds the ML.NET model and scores with it.
    /// </summary>
    MlNet,
}

/// <summary>How ML.NET's k-means places its initial centroids (<see cref="KMeansEngine.MlNet"/> only).</summary>
public enum KMeansInitialization
{
    /// <summary>
    /// k-means++ (D² sampling, one candidate per centroid): ML.NET's <c>KMeansPlusPlus</c>. Unlike
    /// scikit-learn's greedy k-means++ it draws a single candidate per step, so on data whose groups overlap
    /// it often lands in a worse local optimum; use <see cref="SegmentationOptions.Restarts"/> or
    /// <see cref="KMeansParallel"/> when the objective matters.
    /// </summary>
    KMeansPlusPlus,

    /// <summary>
    /// k-means|| ("scalable k-means++", Bahmani et al. 2012): ML.NET's <c>KMeansYinyang</c> initialisation,
    /// which oversamples candidates in a few passes and reduces them with weighted k-means++. Measured on
    /// 1M × 8 it reaches scikit-learn's inertia in one run and is faster than <see cref="KMeansPlusPlus"/>.
    /// </summary>
    KMeansParallel,
}

/// <summary>Options of <see cref="SegmentationModel.Fit"/>. Immutable; every default is stated.</summary>
public sealed record SegmentationOptions
{
    /// <summary>
    /// A fixed number of clusters, or <see langword="null"/> (default) to choose k in
    /// [<see cref="KMin"/>, <see cref="KMax"/>] by <see cref="Criterion"/>. Quarterly refits that must stay
    /// comparable usually fix k once it has been chosen.
    /// </summary>
    public int? K { get; init; }

    /// <summary>Smallest k tried when selecting (default 2, the smallest k a criterion can judge).</summary>
    public int KMin { get; init; } = 2;

    /// <summary>Largest k tried when selecting (default 8; more segments than that are rarely actionable).
    /// Clamped to the number of distinct customer profiles (ML.NET cannot place more centroids than distinct rows).</summary>
    public int KMax { get; init; } = 8;

    /// <summary>Criterion for choosing k (default <see cref="KSelectionCriterion.Silhouette"/>). Ties go to the smaller k;
    /// when no k has a finite criterion (e.g. every cluster but one is empty in the sample) the smallest k is kept.</summary>
    public KSelectionCriterion Criterion { get; init; } = KSelectionCriterion.Silhouette;

    /// <summary>
    /// Most rows the criterion is computed on (default 10,000): silhouette is quadratic in the rows, so it is
    /// computed on a uniform sample drawn without replacement with <see cref="Seed"/>; the same sample is used
    /// for every k. All rows are used when there are fewer.
    /// </summary>
    public int CriterionSampleSize { get; init; } = 10_000;

    /// <summary>Seed of the k-means initialisation (restart r uses Seed + r) and of the criterion sample (default 42).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// The k-means implementation (default <see cref="KMeansEngine.Parallel"/>; <see cref="KMeansEngine.MlNet"/> is
    /// ML.NET's trainer, single-threaded).
    /// </summary>
    public KMeansEngine Engine { get; init; } = KMeansEngine.Parallel;

    /// <summary>
    /// Threads of the <see cref="KMeansEngine.Parallel"/> engine (default: the processor count). The result does not
    /// depend on it (fixed chunks, chunk-order reduction); only the wall-clock time does. Restarts and the k range run
    /// one after another, each over this many threads.
    /// </summary>
    public int DegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Threads of the ML.NET k-means trainer (<see cref="KMeansEngine.MlNet"/>, default 1). ML.NET documents that more than one thread does not
    /// guarantee determinism, and reproducible segments matter more here than wall-clock time.
    /// </summary>
    public int NumberOfThreads { get; init; } = 1;

    /// <summary>
    /// Initial centroid placement of the ML.NET engine (the parallel engine always uses greedy k-means++; default <see cref="KMeansInitialization.KMeansParallel"/>: on the 1M × 8 benchmark
    /// one k-means|| run reaches scikit-learn's inertia, where ML.NET's k-means++ needed best-of-4).
    /// </summary>
    public KMeansInitialization Initialization { get; init; } = KMeansInitialization.KMeansParallel;

    /// <summary>
    /// Independent k-means runs per k, with seeds <see cref="Seed"/>, Seed + 1, …; the run with the lowest
    /// inertia is kept (ties to the earlier seed), like scikit-learn's <c>n_init</c>. Default 2: the second run is
    /// insurance against an unlucky seed. On the 1M-row benchmark the parallel engine's greedy k-means++ runs with seeds
    /// 42…47 ended 0.00%, 0.00%, 0.20%, 0.16%, 0.04% and 1.04% above the best of them; the first two already beat
    /// scikit-learn's and ML.NET's inertia. The parallel engine runs restarts one after another (each over all threads);
    /// ML.NET's train side by side (see <see cref="MaxParallelRuns"/>). With ML.NET's
    /// <see cref="KMeansInitialization.KMeansPlusPlus"/> use 4 or more: about half of its single k-means++ runs on that
    /// benchmark ended in a local optimum 30–60% worse than scikit-learn's.
    /// </summary>
    public int Restarts { get; init; } = 2;

    /// <summary>
    /// How many ML.NET k-means runs (over all k and restarts) may train at once (default: the processor count; the
    /// parallel engine runs them one after another, each over <see cref="DegreeOfParallelism"/> threads).
    /// Each run is single-threaded and seeded on its own, so this changes the wall-clock time, never the result;
    /// lower it to leave cores to other work, or when memory is tight.
    /// </summary>
    public int MaxParallelRuns { get; init; } = Environment.ProcessorCount;

    /// <summary>Maximum Lloyd iterations (default 1000, ML.NET's default; scikit-learn's is 300).</summary>
    public int MaximumIterations { get; init; } = 1000;

    /// <summary>
    /// Convergence tolerance (default 1e-4, scikit-learn's default <c>tol</c>). The parallel engine reads it as scikit-learn
    /// does: stop when the summed squared centroid shift of one iteration is at most tol × the mean feature variance (or
    /// when no label changed). ML.NET reads it as a relative improvement of its objective (its own default is 1e-7; on
    /// the 1M × 8 benchmark 1e-7 took 1.7× the time for an inertia 0.007% lower).
    /// </summary>
    public float OptimizationTolerance { get; init; } = 1e-4f;

    /// <summary>
    /// Heavy-tailed features (revenue, orders, sessions…) that are transformed with
    /// <c>sign(x)·log(1 + |x|)</c> before standardizing, so a few whales do not become clusters of their own.
    /// The signed form keeps negative values (net revenue after refunds) finite and monotone. Default: none.
    /// </summary>
    public IReadOnlyList<string> LogTransformedFeatures { get; init; } = [];

    /// <summary>
    /// Feature whose cluster mean (original units) orders the segment ids, id 1 = highest mean, ties by size
    /// (larger first), and whose cluster sums give <see cref="SegmentProfile.ValueShare"/>. Default
    /// "net_revenue". <see langword="null"/> orders by size only (largest first).
    /// </summary>
    public string? ValueFeature { get; init; } = "net_revenue";

    /// <summary>
    /// |z| of a cluster mean (standardized space) from which a feature is mentioned in the cluster's label
    /// (default 0.5 standard deviations: a visible but not extreme departure from the population).
    /// </summary>
    public double LabelThreshold { get; init; } = 0.5;

    /// <summary>Most descriptors joined into one label (default 2: short enough to read in a chart legend).</summary>
    public int MaxLabelDescriptors { get; init; } = 2;
}
