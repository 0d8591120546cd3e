using System.Globalization;
using System.Text;

namespace Pipeline.Models.Ltv;

/// <summary>One thing wrong with a summary row, phrased so the caller knows what to fix.</summary>
/// <param name="RowIndex">Zero-based position of the row in the input.</param>
/// <param name="CustomerId">The row's customer id.</param>
/// <param name="Field">The offending column (<c>frequency</c>, <c>recency</c>, <c>T</c>, <c>monetary_value</c>, <c>customer_id</c>).</param>
/// <param name="Message">What is wrong and what to do about it.</param>
public sealed record SummaryProblem(int RowIndex, string CustomerId, string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"row {RowIndex} (customer '{CustomerId}'), {Field}: {Message}";
}

/// <summary>Thrown when a summary fails validation; carries every problem found, not just the first.</summary>
public sealed class SummaryValidationException : Exception
{
    private const int ProblemsInMessage = 20;

    /// <summary>Creates the exception from the problems found.</summary>
    public SummaryValidationException(IReadOnlyList<SummaryProblem> problems)
        : base(BuildMessage(problems))
    {
        Problems = problems;
    }

    /// <summary>Creates an exception with no problems (for serializers and tooling).</summary>
    public SummaryValidationException()
        : this([])
    {
    }

    /// <summary>Creates an exception with a message and no problems (for serializers and tooling).</summary>
    public SummaryValidationException(string message)
        : base(message)
    {
        Problems = [];
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public SummaryValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [];
    }

    /// <summary>Every problem found, in input order.</summary>
    public IReadOnlyList<SummaryProblem> Problems { get; }

    private static string BuildMessage(IReadOnlyList<SummaryProblem> problems)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"The customer summary has {problems.Count} problem(s)");
        if (problems.Count == 0)
        {
            return sb.Append('.').ToString();
        }
        sb.Append(':');
        foreach (var p in problems.Take(ProblemsInMessage))
        {
            sb.AppendLine().Append("  - ").Append(p);
        }
        if (problems.Count > ProblemsInMessage)
        {
            sb.AppendLine().Append(CultureInfo.InvariantCulture, $"  ... and {problems.Count - ProblemsInMessage} more (see Problems).");
        }
        return sb.ToString();
    }
}

/// <summary>
/// Checks a summary before fitting, because BG/NBD and Gamma-Gamma fail in confusing ways (NaN likelihoods,
/// silently wrong parameters) on rows that violate the <c>lifetimes</c> definitions.
/// </summary>
public static class SummaryValidator
{
    /// <summary>
    /// Returns every problem in <paramref name="customers"/>: non-finite or negative times, recency &gt; T,
    /// recency ≠ 0 for a one-time buyer, negative frequency, duplicate customer ids, and — when
    /// <paramref name="forGammaGamma"/> — a non-positive monetary value on a repeat buyer.
    /// </summary>
    /// <param name="customers">Rows to check.</param>
    /// <param name="forGammaGamma">Also require monetary_value &gt; 0 for rows with frequency &gt; 0 (Gamma-Gamma's support).</param>
    /// <param name="tolerance">Absolute slack for recency ≤ T, absorbing rounding in summaries read from text (e.g. 2-dp files).</param>
    public static IReadOnlyList<SummaryProblem> Validate(IReadOnlyList<CustomerSummary> customers, bool forGammaGamma = false, double tolerance = 1e-9)
    {
        ArgumentNullException.ThrowIfNull(customers);
        var problems = new List<SummaryProblem>();
        var seen = new Dictionary<string, int>(customers.Count, StringComparer.Ordinal);
        for (int i = 0; i < customers.Count; i++)
        {
            var c = customers[i];
            string id = c.CustomerId ?? string.Empty;

            if (id.Length == 0)
            {
                Add(problems, i, id, "customer_id", "customer id is empty; every row needs an id so results can be joined back.");
            }
            else if (!seen.TryAdd(id, i))
            {
                int firstRow = seen[id];
                Add(problems, i, id, "customer_id", $"duplicate of row {firstRow}; the summary must have one row per customer (aggregate transactions per customer first).");
            }

            if (c.Frequency < 0)
            {
                Add(problems, i, id, "frequency", $"frequency {c.Frequency} is negative; it counts repeat purchase days (distinct purchase days − 1) and must be ≥ 0.");
            }
            if (!double.IsFinite(c.T) || c.T < 0)
            {
                Add(problems, i, id, "T", $"T {F(c.T)} must be finite and ≥ 0 (time from first purchase to observation end); check the observation end date.");
            }
            if (!double.IsFinite(c.Recency) || c.Recency < 0)
            {
                Add(problems, i, id, "recency", $"recency {F(c.Recency)} must be finite and ≥ 0 (time from first to last purchase, not time since last purchase).");
            }
            else if (double.IsFinite(c.T) && c.Recency > c.T + tolerance)
            {
                Add(problems, i, id, "recency", $"recency {F(c.Recency)} exceeds T {F(c.T)}; recency is first→last purchase and cannot exceed first purchase→observation end. Drop purchases after the observation end.");
            }
            if (c.Frequency == 0 && double.IsFinite(c.Recency) && Math.Abs(c.Recency) > tolerance)
            {
                Add(problems, i, id, "recency", $"recency {F(c.Recency)} must be 0 when frequency is 0 (a one-time buyer's first and last purchase coincide).");
            }
            if (!double.IsFinite(c.MonetaryValue))
            {
                Add(problems, i, id, "monetary_value", $"monetary value {F(c.MonetaryValue)} is not finite.");
            }
            else if (forGammaGamma && c.Frequency > 0 && c.MonetaryValue <= 0)
            {
                Add(problems, i, id, "monetary_value", $"monetary value {F(c.MonetaryValue)} must be > 0 for Gamma-Gamma; returns and refunds make values ≤ 0: net them against their orders or exclude the customer before fitting.");
            }
        }
        return problems;
    }

    /// <summary>Throws <see cref="SummaryValidationException"/> listing every problem when <see cref="Validate"/> finds any.</summary>
    public static void ThrowIfInvalid(IReadOnlyList<CustomerSummary> customers, bool forGammaGamma = false, double tolerance = 1e-9)
    {
        var problems = Validate(customers, forGammaGamma, tolerance);
        if (problems.Count > 0)
        {
            throw new SummaryValidationException(problems);
        }
    }

    private static void Add(List<SummaryProblem> problems, int row, string id, string field, string message) =>
        problems.Add(new SummaryProblem(row, id, field, message));

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
