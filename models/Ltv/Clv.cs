namespace Pipeline.Models.Ltv;

/// <summary>
/// How to turn BG/NBD + Gamma-Gamma predictions into a discounted lifetime value.
/// </summary>
/// <param name="HorizonPeriods">H: number of future periods summed (e.g. 12 for a year of monthly periods).</param>
/// <param name="DiscountRatePerPeriod">d: discount rate per period (0.01 = 1% per period); cash flow of period i is divided by (1+d)^i.</param>
/// <param name="PeriodLengthInSummaryUnits">
/// Length of one period in the <em>summary's</em> time unit. Default 1 (periods = summary units: weeks for a weekly
/// summary). There is deliberately no "month" default: a monthly period is ≈ 30.44 for a daily summary and ≈ 4.35 for a
/// weekly one, and <c>lifetimes</c>' hard-coded 30 silently means 30 <em>weeks</em> on weekly data.
/// </param>
public sealed record ClvOptions(int HorizonPeriods, double DiscountRatePerPeriod, double PeriodLengthInSummaryUnits = 1.0)
{
    internal void Validate()
    {
        if (HorizonPeriods < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(HorizonPeriods), HorizonPeriods, "The CLV horizon must be at least one period.");
        }
        if (!(double.IsFinite(DiscountRatePerPeriod) && DiscountRatePerPeriod > -1))
        {
            throw new ArgumentOutOfRangeException(nameof(DiscountRatePerPeriod), DiscountRatePerPeriod, "The discount rate per period must be finite and > −1 (0.01 = 1% per period).");
        }
        if (!(double.IsFinite(PeriodLengthInSummaryUnits) && PeriodLengthInSummaryUnits > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(PeriodLengthInSummaryUnits), PeriodLengthInSummaryUnits, "The period length must be finite and > 0, in the summary's time unit.");
        }
    }
}

/// <summary>
/// Customer lifetime value = Σ_{i=1..H} (E[N(i·L)] − E[N((i−1)·L)]) × E(Z | x, z̄) / (1 + d)^i, with E[N(·)] the BG/NBD
/// conditional expected purchases, E(Z|·) the Gamma-Gamma expected average value and L the period length
/// (the discrete approach of <c>lifetimes</c>' <c>customer_lifetime_value</c>, with the period length made explicit).
/// </summary>
public static class Clv
{
    /// <summary>CLV of one customer.</summary>
    /// <param name="bgNbd">Fitted BG/NBD parameters (same time unit as the summary).</param>
    /// <param name="gammaGamma">Fitted Gamma-Gamma parameters.</param>
    /// <param name="customer">The customer's summary; one-time buyers get the population mean value.</param>
    /// <param name="options">Horizon, discount rate and period length.</param>
    public static double CustomerLifetimeValue(BgNbdParameters bgNbd, GammaGammaParameters gammaGamma, CustomerSummary customer, ClvOptions options)
    {
        ArgumentNullException.ThrowIfNull(bgNbd);
        ArgumentNullException.ThrowIfNull(gammaGamma);
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        double value = GammaGamma.ConditionalExpectedAverageValue(gammaGamma, customer.Frequency, customer.MonetaryValue);
        if (!double.IsFinite(value))
        {
            throw new InvalidOperationException(
                $"Expected average value for customer '{customer.CustomerId}' is not finite (Gamma-Gamma q = {gammaGamma.Q} ≤ 1 gives an infinite population mean); refit or cap values.");
        }
        return CustomerLifetimeValue(bgNbd, value, customer, options);
    }

    /// <summary>
    /// CLV of one customer with the expected value per purchase given by the caller (e.g. the population mean for a
    /// repeat buyer whose refunds left no positive spend to condition on).
    /// </summary>
    public static double CustomerLifetimeValue(BgNbdParameters bgNbd, double value, CustomerSummary customer, ClvOptions options)
    {
        ArgumentNullException.ThrowIfNull(bgNbd);
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.DiscountRatePerPeriod == 0)
        {
            // Without discounting the sum telescopes to E[N(H·L)] × value: one 2F1 evaluation instead of H.
            return options.HorizonPeriods == 0 ? 0 : BgNbd.ConditionalExpectedPurchases(
                bgNbd, options.HorizonPeriods * options.PeriodLengthInSummaryUnits, customer.Frequency, customer.Recency, customer.T) * value;
        }
        double total = 0, previous = 0, discount = 1;
        for (int i = 1; i <= options.HorizonPeriods; i++)
        {
            double cumulative = BgNbd.ConditionalExpectedPurchases(
                bgNbd, i * options.PeriodLengthInSummaryUnits, customer.Frequency, customer.Recency, customer.T);
            discount *= 1 + options.DiscountRatePerPeriod;
            total += (cumulative - previous) * value / discount;
            previous = cumulative;
        }
        return total;
    }

    /// <summary>CLV for every customer, in input order.</summary>
    public static double[] CustomerLifetimeValues(
        BgNbdParameters bgNbd, GammaGammaParameters gammaGamma, IReadOnlyList<CustomerSummary> customers, ClvOptions options)
    {
        ArgumentNullException.ThrowIfNull(customers);
        var result = new double[customers.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = CustomerLifetimeValue(bgNbd, gammaGamma, customers[i], options);
        }
        return result;
    }
}
