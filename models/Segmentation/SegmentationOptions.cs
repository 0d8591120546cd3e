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
    /// Clamped to the number of customers.</summary>
    public int KMax { get; init; } = 8;

    /// <summary>Criterion for choosing k (default <see cref="KSelectionCriterion.Silhouette"/>). Ties go to the smaller k.</summary>
    public KSelectionCriterion Criterion { get; init; } = KSelectionCriterion.Silhouette;

    /// <summary>
    /// Most rows the criterion is computed on (default 10,000): silhouette is quadratic in the rows, so it is
    /// computed on a uniform sample drawn without replacement with <see cref="Seed"/>; the same sample is used
    /// for every k. All rows are used when there are fewer.
    /// </summary>
    public int CriterionSampleSize { get; init; } = 10_000;

    /// <summary>Seed of the ML.NET context (k-means++ initialisation) and of the criterion sample (default 42).</summary>
    public int Seed { get; init; } = 42;

    /// <summary>
    /// Threads of the ML.NET k-means trainer (default 1). ML.NET documents that more than one thread does not
    /// guarantee determinism, and reproducible segments matter more here than wall-clock time.
    /// </summary>
    public int NumberOfThreads { get; init; } = 1;

    /// <summary>Maximum Lloyd iterations (default 1000, ML.NET's default).</summary>
    public int MaximumIterations { get; init; } = 1000;

    /// <summary>Convergence tolerance of the trainer (default 1e-7, ML.NET's default).</summary>
    public float OptimizationTolerance { get; init; } = 1e-7f;

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
