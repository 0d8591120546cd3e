using System.Globalization;

namespace Pipeline.Models.Rfm;

/// <summary>One customer's RFM scores and segment.</summary>
/// <param name="CustomerId">The customer.</param>
/// <param name="R">Recency score 1–5 (5 = most recent).</param>
/// <param name="F">Frequency score 1–5 (5 = most purchases).</param>
/// <param name="M">Monetary score 1–5 (5 = most revenue, on the chosen <see cref="MonetaryBasis"/>).</param>
/// <param name="MonetaryValue">The value M was scored on (total or mean per purchase).</param>
/// <param name="Segment">The named segment of the R × F grid.</param>
public sealed record RfmScore(string CustomerId, int R, int F, int M, double MonetaryValue, RfmSegment Segment)
{
    /// <summary>The RFM cell, the three scores as digits in R, F, M order, e.g. "545".</summary>
    public string Cell => string.Create(CultureInfo.InvariantCulture, $"{R}{F}{M}");

    /// <summary>The segment's display name, e.g. "Can't Lose Them".</summary>
    public string SegmentName => Segment.DisplayName();
}

/// <summary>
/// One row of the segment summary. Revenue is always the customers' <em>total</em> net revenue, whatever the
/// monetary basis of the M score, because shares of revenue only add up on totals.
/// </summary>
/// <param name="Segment">The segment.</param>
/// <param name="Customers">Number of customers in the segment (0 for an empty segment).</param>
/// <param name="CustomerShare">Customers / all customers (0 when there are no customers).</param>
/// <param name="Revenue">Sum of the segment's total net revenue.</param>
/// <param name="RevenueShare">Revenue / total revenue of all customers; 0 for every segment when the total is 0.</param>
/// <param name="MeanR">Mean R score, or <see langword="null"/> for an empty segment.</param>
/// <param name="MeanF">Mean F score, or <see langword="null"/> for an empty segment.</param>
/// <param name="MeanM">Mean M score, or <see langword="null"/> for an empty segment.</param>
public sealed record RfmSegmentSummary(
    RfmSegment Segment,
    int Customers,
    double CustomerShare,
    double Revenue,
    double RevenueShare,
    double? MeanR,
    double? MeanF,
    double? MeanM)
{
    /// <summary>The segment's display name.</summary>
    public string SegmentName => Segment.DisplayName();
}

/// <summary>The outcome of one RFM scoring run.</summary>
public sealed class RfmResult
{
    internal RfmResult(IReadOnlyList<RfmScore> scores, RfmCutPoints? cutPoints, IReadOnlyList<RfmSegmentSummary> summary)
    {
        Scores = scores;
        CutPoints = cutPoints;
        Summary = summary;
    }

    /// <summary>One score per input customer, in input order.</summary>
    public IReadOnlyList<RfmScore> Scores { get; }

    /// <summary>
    /// The thresholds in force per dimension: the caller's overrides where given, otherwise those derived from
    /// the quintile cut. <see langword="null"/> only when there were no customers and no override for some dimension.
    /// </summary>
    public RfmCutPoints? CutPoints { get; }

    /// <summary>
    /// One row for every segment (all 11, empty ones included so reports have a fixed shape), in grid order
    /// best to worst (<see cref="RfmSegments.All"/>). Customer shares sum to 1 when there is at least one
    /// customer; revenue shares sum to 1 when total revenue is not 0.
    /// </summary>
    public IReadOnlyList<RfmSegmentSummary> Summary { get; }
}
