namespace Pipeline.Models.Ltv;

/// <summary>One purchase line: a customer, the calendar day of the purchase, and its value.</summary>
/// <param name="CustomerId">Customer identifier (governed id, never personal data).</param>
/// <param name="Date">Purchase day. Time of day is deliberately absent: the models count purchase <em>days</em>.</param>
/// <param name="Value">Monetary value of the line; several lines on one day are summed.</param>
public readonly record struct Transaction(string CustomerId, DateOnly Date, double Value);

/// <summary>
/// The per-customer recency/frequency/monetary summary used by BG/NBD and Gamma-Gamma, with the
/// <c>lifetimes</c> definitions (which differ from RFM's R and F).
/// </summary>
/// <param name="CustomerId">Customer identifier.</param>
/// <param name="Frequency">x: number of <em>repeat</em> purchase days (distinct purchase days − 1).</param>
/// <param name="Recency">t_x: time from the first to the last purchase day (0 when <paramref name="Frequency"/> = 0). Not "time since last purchase".</param>
/// <param name="T">Time from the first purchase day to the observation end.</param>
/// <param name="MonetaryValue">Mean value of the repeat purchase days (first purchase excluded); 0 when <paramref name="Frequency"/> = 0.</param>
public sealed record CustomerSummary(string CustomerId, int Frequency, double Recency, double T, double MonetaryValue);

/// <summary>
/// A customer's calibration-period summary together with what happened in the holdout period, for backtests.
/// </summary>
/// <param name="Calibration">Summary at the calibration end.</param>
/// <param name="HoldoutPurchases">x*: number of purchase days in (calibration end, holdout end].</param>
/// <param name="HoldoutValue">Total value of the holdout purchases.</param>
public sealed record CalibrationHoldoutRow(CustomerSummary Calibration, int HoldoutPurchases, double HoldoutValue);

/// <summary>A calibration/holdout split: the rows plus the length of the holdout window in the split's unit.</summary>
/// <param name="Rows">One row per customer whose first purchase is on or before the calibration end, ordered by customer id (ordinal).</param>
/// <param name="HoldoutLength">Length of (calibration end, holdout end] in <paramref name="Unit"/>; the t to predict over.</param>
/// <param name="Unit">Time unit of every duration in the split.</param>
public sealed record CalibrationHoldoutSplit(IReadOnlyList<CalibrationHoldoutRow> Rows, double HoldoutLength, TimeUnit Unit);

/// <summary>A summary table plus the facts needed to interpret it (observation end and unit).</summary>
/// <param name="Customers">One row per customer, ordered by customer id (ordinal), so output is reproducible.</param>
/// <param name="ObservationEnd">Inclusive last day of the observation window.</param>
/// <param name="Unit">Unit of <see cref="CustomerSummary.Recency"/> and <see cref="CustomerSummary.T"/>.</param>
public sealed record ClvSummary(IReadOnlyList<CustomerSummary> Customers, DateOnly ObservationEnd, TimeUnit Unit)
{
    /// <summary>
    /// Builds the summary from raw purchase lines, as <c>lifetimes.utils.summary_data_from_transaction_data</c> does:
    /// lines on the same customer-day are merged (values summed), lines after <paramref name="observationEnd"/> are ignored.
    /// </summary>
    /// <param name="transactions">Purchase lines in any order.</param>
    /// <param name="observationEnd">Inclusive observation end date.</param>
    /// <param name="unit">Unit for recency and T.</param>
    /// <exception cref="ArgumentException">A customer id is null/empty or a value is not finite.</exception>
    public static ClvSummary FromTransactions(IEnumerable<Transaction> transactions, DateOnly observationEnd, TimeUnit unit)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        var days = GroupByCustomerDay(transactions);
        var rows = new List<CustomerSummary>(days.Count);
        foreach (var (id, byDay) in days.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var summary = Summarize(id, byDay, observationEnd, unit);
            if (summary is not null)
            {
                rows.Add(summary);
            }
        }
        return new ClvSummary(rows, observationEnd, unit);
    }

    /// <summary>
    /// Splits transactions by date into a calibration summary (at <paramref name="calibrationEnd"/>) and the holdout
    /// outcome per customer: purchase days in (calibration end, holdout end] and their value.
    /// </summary>
    /// <remarks>Customers whose first purchase falls after the calibration end are not in the split: the model has nothing to condition on for them.</remarks>
    /// <exception cref="ArgumentException"><paramref name="holdoutEnd"/> is not after <paramref name="calibrationEnd"/>, or a line is invalid.</exception>
    public static CalibrationHoldoutSplit CalibrationHoldout(
        IEnumerable<Transaction> transactions, DateOnly calibrationEnd, DateOnly holdoutEnd, TimeUnit unit)
    {
        ArgumentNullException.ThrowIfNull(transactions);
        if (holdoutEnd <= calibrationEnd)
        {
            throw new ArgumentException(
                $"Holdout end {holdoutEnd:yyyy-MM-dd} must be after calibration end {calibrationEnd:yyyy-MM-dd}.", nameof(holdoutEnd));
        }
        var days = GroupByCustomerDay(transactions);
        var rows = new List<CalibrationHoldoutRow>(days.Count);
        foreach (var (id, byDay) in days.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var calibration = Summarize(id, byDay, calibrationEnd, unit);
            if (calibration is null)
            {
                continue;
            }
            int holdoutDays = 0;
            double holdoutValue = 0;
            foreach (var (day, value) in byDay)
            {
                if (day > calibrationEnd && day <= holdoutEnd)
                {
                    holdoutDays++;
                    holdoutValue += value;
                }
            }
            rows.Add(new CalibrationHoldoutRow(calibration, holdoutDays, holdoutValue));
        }
        return new CalibrationHoldoutSplit(rows, TimeUnits.Between(calibrationEnd, holdoutEnd, unit), unit);
    }

    private static Dictionary<string, SortedDictionary<DateOnly, double>> GroupByCustomerDay(IEnumerable<Transaction> transactions)
    {
        var days = new Dictionary<string, SortedDictionary<DateOnly, double>>(StringComparer.Ordinal);
        foreach (var t in transactions)
        {
            if (string.IsNullOrEmpty(t.CustomerId))
            {
                throw new ArgumentException($"A transaction on {t.Date:yyyy-MM-dd} has an empty customer id; drop or fix such rows before summarising.", nameof(transactions));
            }
            if (!double.IsFinite(t.Value))
            {
                throw new ArgumentException($"Customer '{t.CustomerId}' has a non-finite value on {t.Date:yyyy-MM-dd}; clean values before summarising.", nameof(transactions));
            }
            if (!days.TryGetValue(t.CustomerId, out var byDay))
            {
                byDay = [];
                days.Add(t.CustomerId, byDay);
            }
            byDay[t.Date] = byDay.GetValueOrDefault(t.Date) + t.Value;
        }
        return days;
    }

    /// <summary>Summary of one customer's merged purchase days up to <paramref name="end"/>; null when none are on or before it.</summary>
    private static CustomerSummary? Summarize(string id, SortedDictionary<DateOnly, double> byDay, DateOnly end, TimeUnit unit)
    {
        DateOnly first = default, last = default;
        int count = 0;
        double repeatValue = 0;
        foreach (var (day, value) in byDay)
        {
            if (day > end)
            {
                break; // sorted by day
            }
            if (count == 0)
            {
                first = day;
            }
            else
            {
                repeatValue += value;
            }
            last = day;
            count++;
        }
        if (count == 0)
        {
            return null;
        }
        int frequency = count - 1;
        return new CustomerSummary(
            id,
            frequency,
            TimeUnits.Between(first, last, unit),
            TimeUnits.Between(first, end, unit),
            frequency == 0 ? 0.0 : repeatValue / frequency);
    }
}
