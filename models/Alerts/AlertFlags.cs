namespace Pipeline.Models.Alerts;

/// <summary>Whether a flagged day starts an anomaly, continues yesterday's, or is a known event.</summary>
public enum AlertStatus
{
    /// <summary>Outside the band, and the day before was not (in the same direction).</summary>
    New,

    /// <summary>Outside the band in the same direction as the day before.</summary>
    Ongoing,

    /// <summary>Outside the band on a known-event day (promotion, holiday): expected, not an alert.</summary>
    Expected,
}

/// <summary>One flagged day of a series.</summary>
public sealed record FlaggedDay(DateOnly Date, Assessment Assessment, AlertStatus Status)
{
    public int Direction => Assessment.Direction;
}

/// <summary>Turns a series' assessments into its flagged days, with their status.</summary>
public static class AlertFlags
{
    /// <summary>
    /// The days outside the warning band: known-event days as <see cref="AlertStatus.Expected"/>, the others
    /// <see cref="AlertStatus.Ongoing"/> when the day before was flagged (not as expected) in the same direction, else
    /// <see cref="AlertStatus.New"/>.
    /// </summary>
    public static List<FlaggedDay> Flag(DateOnly first, IReadOnlyList<Assessment> assessments)
    {
        var flagged = new List<FlaggedDay>();
        var previousDirection = 0;
        for (var i = 0; i < assessments.Count; i++)
        {
            var a = assessments[i];
            if (!a.Assessed || a.Severity == Severity.None)
            {
                previousDirection = 0;
                continue;
            }
            if (a.KnownEvent)
            {
                flagged.Add(new FlaggedDay(first.AddDays(i), a, AlertStatus.Expected));
                previousDirection = 0;
                continue;
            }
            var status = previousDirection == a.Direction ? AlertStatus.Ongoing : AlertStatus.New;
            flagged.Add(new FlaggedDay(first.AddDays(i), a, status));
            previousDirection = a.Direction;
        }
        return flagged;
    }
}

/// <summary>A segment's part in an overall deviation (a channel, a device type).</summary>
/// <param name="Dimension">What the segments split (<c>channel</c>, <c>device</c>).</param>
/// <param name="Segment">The segment (<c>mobile</c>).</param>
/// <param name="Contribution">How much of the overall metric's deviation (value − expected, in its units) the segment's own deviation makes.</param>
public sealed record SegmentContribution(string Dimension, string Segment, double Contribution);

/// <summary>Where an overall deviation came from.</summary>
/// <param name="Share">The segment's contribution / the sum of the contributions in the deviation's direction (0–1).</param>
public sealed record Attribution(string Dimension, string Segment, double Share);

/// <summary>
/// Which segment explains an overall deviation. The contribution of a segment to an additive metric (sessions,
/// revenue) is its own value − expected; to a ratio N/D (conversion = orders / sessions, AOV = revenue / orders) it is
/// D_segment × (ratio_segment − expected ratio_segment) / D_overall: how far the overall ratio would move back if only
/// that segment returned to its expectation.
/// </summary>
public static class DeviationAttribution
{
    /// <summary>Contribution of a segment to an additive metric.</summary>
    public static double Additive(double value, double expected) => value - expected;

    /// <summary>Contribution of a segment to a ratio metric.</summary>
    public static double Ratio(double segmentDenominator, double segmentRatio, double segmentExpectedRatio, double overallDenominator) =>
        overallDenominator == 0 ? 0 : segmentDenominator * (segmentRatio - segmentExpectedRatio) / overallDenominator;

    /// <summary>
    /// The segment with the largest share of the deviation, per dimension compared by share: within each dimension a
    /// segment's share is its contribution in the direction of the deviation over the sum of those of its dimension.
    /// Null when no segment moved in that direction. Ties go to the first dimension, then the segment's name (ordinal).
    /// </summary>
    /// <param name="direction">+1 for a deviation above the expectation, −1 below.</param>
    public static Attribution? Explain(int direction, IEnumerable<SegmentContribution> contributions)
    {
        Attribution? best = null;
        foreach (var dimension in contributions.GroupBy(c => c.Dimension, StringComparer.Ordinal))
        {
            var same = dimension.Where(c => !double.IsNaN(c.Contribution) && Math.Sign(c.Contribution) == direction && direction != 0).ToList();
            var total = same.Sum(c => Math.Abs(c.Contribution));
            if (total <= 0)
            {
                continue;
            }
            var top = same.OrderByDescending(c => Math.Abs(c.Contribution)).ThenBy(c => c.Segment, StringComparer.Ordinal).First();
            var share = Math.Abs(top.Contribution) / total;
            if (best is null || share > best.Share)
            {
                best = new Attribution(dimension.Key, top.Segment, share);
            }
        }
        return best;
    }
}
