namespace Pipeline.Models.Rfm;

/// <summary>What the M (monetary) score is computed on.</summary>
public enum MonetaryBasis
{
    /// <summary>Total net revenue of the customer (the default): rewards customers who are worth the most overall.</summary>
    Total,

    /// <summary>
    /// Net revenue divided by frequency (mean value per purchase), so that M does not simply repeat F.
    /// A customer with frequency 0 gets a monetary value of 0.
    /// </summary>
    MeanPerPurchase,
}

/// <summary>Options of <see cref="RfmScorer"/>. Immutable; the defaults are the usual quintile RFM.</summary>
/// <remarks>
/// Cut points are given per dimension as exactly four non-decreasing value thresholds
/// <c>[c1, c2, c3, c4]</c> in the dimension's own units (days, purchases, revenue). A dimension whose cut points
/// are <see langword="null"/> is scored by quintile of rank (see <see cref="RfmScorer"/>); a dimension with cut
/// points is scored by threshold, so a run can be made comparable with an earlier one by feeding back that
/// run's <see cref="RfmResult.CutPoints"/>. Scoring by threshold, a value <em>equal</em> to a cut point belongs
/// to the lower-value side of that boundary (intervals are right-closed, like pandas <c>cut</c>):
/// <list type="bullet">
/// <item>F and M: v ≤ c1 → 1, c1 &lt; v ≤ c2 → 2, c2 &lt; v ≤ c3 → 3, c3 &lt; v ≤ c4 → 4, v &gt; c4 → 5.</item>
/// <item>R (recency reversed, fewer days is better): d ≤ c1 → 5, c1 &lt; d ≤ c2 → 4, c2 &lt; d ≤ c3 → 3,
/// c3 &lt; d ≤ c4 → 2, d &gt; c4 → 1.</item>
/// </list>
/// </remarks>
public sealed record RfmOptions
{
    /// <summary>Basis of the M score. Default <see cref="MonetaryBasis.Total"/>.</summary>
    public MonetaryBasis Monetary { get; init; } = MonetaryBasis.Total;

    /// <summary>Fixed recency thresholds in days (4 non-decreasing values), or <see langword="null"/> (default) for quintiles.</summary>
    public IReadOnlyList<double>? RecencyCutPoints { get; init; }

    /// <summary>Fixed frequency thresholds in purchases (4 non-decreasing values), or <see langword="null"/> (default) for quintiles.</summary>
    public IReadOnlyList<double>? FrequencyCutPoints { get; init; }

    /// <summary>
    /// Fixed monetary thresholds (4 non-decreasing values, in the units of <see cref="Monetary"/>),
    /// or <see langword="null"/> (default) for quintiles.
    /// </summary>
    public IReadOnlyList<double>? MonetaryCutPoints { get; init; }
}

/// <summary>
/// The value thresholds that separate the five scores of each dimension, as used by a scoring run: either the
/// caller's fixed thresholds or the ones derived from the quintile cut. Each list holds four non-decreasing
/// values <c>[c1, c2, c3, c4]</c>; see <see cref="RfmOptions"/> for how values on a threshold are scored.
/// </summary>
/// <remarks>
/// Derived from a quintile cut, <c>cj</c> is the largest value in the lowest <c>j</c> bins (by value), so scoring
/// the same data by these thresholds reproduces the rank scores except where equal values straddle a
/// boundary: the rank cut splits such ties by customer id, the thresholds put them all on the lower side.
/// </remarks>
public sealed class RfmCutPoints
{
    /// <summary>Creates the cut points, checking that each dimension has 4 finite non-decreasing thresholds.</summary>
    public RfmCutPoints(IReadOnlyList<double> recency, IReadOnlyList<double> frequency, IReadOnlyList<double> monetary)
    {
        Recency = Validate(recency, nameof(recency));
        Frequency = Validate(frequency, nameof(frequency));
        Monetary = Validate(monetary, nameof(monetary));
    }

    /// <summary>Recency thresholds in days, ascending (c1 separates R=5 from R=4).</summary>
    public IReadOnlyList<double> Recency { get; }

    /// <summary>Frequency thresholds, ascending (c1 separates F=1 from F=2).</summary>
    public IReadOnlyList<double> Frequency { get; }

    /// <summary>Monetary thresholds, ascending (c1 separates M=1 from M=2).</summary>
    public IReadOnlyList<double> Monetary { get; }

    internal static double[] Validate(IReadOnlyList<double> cuts, string name)
    {
        ArgumentNullException.ThrowIfNull(cuts, name);
        if (cuts.Count != 4)
        {
            throw new ArgumentException($"Cut points for {name} need exactly 4 thresholds (5 scores); got {cuts.Count}.", name);
        }
        var copy = cuts.ToArray();
        for (var i = 0; i < copy.Length; i++)
        {
            if (!double.IsFinite(copy[i]))
            {
                throw new ArgumentException($"Cut point {i + 1} for {name} is not a finite number.", name);
            }
            if (i > 0 && copy[i] < copy[i - 1])
            {
                throw new ArgumentException($"Cut points for {name} must be non-decreasing; {copy[i]} follows {copy[i - 1]}.", name);
            }
        }
        return copy;
    }
}
