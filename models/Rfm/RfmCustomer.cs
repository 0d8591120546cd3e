namespace Pipeline.Models.Rfm;

/// <summary>
/// One customer's purchase summary at the snapshot date: the raw input of RFM scoring.
/// </summary>
/// <remarks>
/// <see cref="NetRevenue"/> is always the customer's <em>total</em> net revenue (after refunds, so it may be
/// negative); whether M is scored on that total or on the mean per purchase is chosen by
/// <see cref="RfmOptions.Monetary"/>. Keeping the input as a total means the segment summary can add revenue
/// up without re-multiplying a mean.
/// </remarks>
/// <param name="CustomerId">Customer identifier; unique within one scoring call. Its ordinal order breaks ties.</param>
/// <param name="RecencyDays">Days since the last purchase at the snapshot date (≥ 0; lower is better).</param>
/// <param name="Frequency">Number of purchases (≥ 0).</param>
/// <param name="NetRevenue">Total net revenue of the customer (finite; may be negative).</param>
public sealed record RfmCustomer(string CustomerId, double RecencyDays, int Frequency, double NetRevenue);
