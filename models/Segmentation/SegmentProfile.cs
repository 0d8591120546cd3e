namespace Pipeline.Models.Segmentation;

/// <summary>A segment of a model: its stable id (1 = most valuable) and readable label.</summary>
/// <param name="Id">Segment id, 1..k, ordered by the value feature's mean (see <see cref="SegmentationOptions.ValueFeature"/>).</param>
/// <param name="Label">Readable label, unique within the model (see the rules on <see cref="SegmentationModel"/>).</param>
public sealed record SegmentInfo(int Id, string Label);

/// <summary>Mean and median of one feature within one segment, in the feature's original units.</summary>
/// <param name="Feature">Feature name.</param>
/// <param name="Mean">Arithmetic mean (NaN for an empty segment).</param>
/// <param name="Median">Median; the mean of the two middle values for an even count (NaN for an empty segment).</param>
/// <param name="ZScore">
/// The segment's mean in the model's standardized space (after the log transform, if any): how far, in
/// population standard deviations, the segment sits from the population that trained the model. The labels
/// are derived from these.
/// </param>
public sealed record FeatureSummary(string Feature, double Mean, double Median, double ZScore);

/// <summary>Profile of one segment on one data set, in original units.</summary>
/// <param name="SegmentId">Segment id.</param>
/// <param name="Label">Segment label.</param>
/// <param name="Size">Customers assigned.</param>
/// <param name="Share">Size / all customers.</param>
/// <param name="ValueShare">
/// Segment's sum of the value feature / total sum (e.g. revenue share); <see langword="null"/> when the model
/// has no value feature or the total is 0.
/// </param>
/// <param name="Features">One summary per feature, in the model's feature order.</param>
public sealed record SegmentProfile(
    int SegmentId, string Label, int Size, double Share, double? ValueShare, IReadOnlyList<FeatureSummary> Features);

/// <summary>Assignments of one feature matrix to a model's segments, with their quality and profiles.</summary>
public sealed class SegmentAssignments
{
    internal SegmentAssignments(
        IReadOnlyList<string> customerIds, int[] segmentIds, double inertia, IReadOnlyList<SegmentProfile> profiles)
    {
        CustomerIds = customerIds;
        SegmentIds = segmentIds;
        Inertia = inertia;
        Profiles = profiles;
    }

    /// <summary>Customer ids, in the row order of the scored matrix.</summary>
    public IReadOnlyList<string> CustomerIds { get; }

    /// <summary>Segment id (1..k) of each row.</summary>
    public IReadOnlyList<int> SegmentIds { get; }

    /// <summary>
    /// Sum over rows of the squared Euclidean distance to the assigned centroid, in the standardized space
    /// (the k-means objective; comparable with scikit-learn's <c>inertia_</c> on the same standardized data).
    /// </summary>
    public double Inertia { get; }

    /// <summary>One profile per segment, in id order (empty segments included with size 0).</summary>
    public IReadOnlyList<SegmentProfile> Profiles { get; }

    /// <summary>Customer id → segment id, the input of <see cref="SegmentMigration.Compute{TSegment}"/>.</summary>
    public IReadOnlyDictionary<string, int> ToDictionary()
    {
        var map = new Dictionary<string, int>(CustomerIds.Count, StringComparer.Ordinal);
        for (var i = 0; i < CustomerIds.Count; i++)
        {
            map.Add(CustomerIds[i], SegmentIds[i]);
        }
        return map;
    }
}

/// <summary>The criterion and inertia of one k tried while selecting k.</summary>
/// <param name="K">Number of clusters.</param>
/// <param name="Criterion">Value of the selection criterion on the sample (NaN when it could not be computed, e.g. k = 1).</param>
/// <param name="Inertia">k-means objective on all rows, each assigned to its nearest centroid.</param>
public sealed record KCandidate(int K, double Criterion, double Inertia);

/// <summary>The result of <see cref="SegmentationModel.Fit"/>: the model, the training assignments and how k was chosen.</summary>
/// <param name="Model">The fitted model.</param>
/// <param name="Assignments">Assignments, inertia and profiles of the training data.</param>
/// <param name="Criterion">Criterion used to choose k (reported also when k was fixed).</param>
/// <param name="Candidates">Every k tried with its criterion value; a single entry when k was fixed.</param>
public sealed record SegmentationFit(
    SegmentationModel Model, SegmentAssignments Assignments, KSelectionCriterion Criterion, IReadOnlyList<KCandidate> Candidates);
