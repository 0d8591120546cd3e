using System.Text.Json.Serialization;
using Parquet.Serialization;

namespace Pipeline.Tests.Stages.Report;

/// <summary>
/// Writes kpi/daily, kpi/channels and kpi/cohorts as Parquet per the KPI tables' contract (the report's input; the
/// real tables come from `pipeline kpis`): unpartitioned, one part file each, rates DOUBLE and NULL when undefined.
/// </summary>
internal static class KpiFixtures
{
    public static void Write(string output, IReadOnlyCollection<DailyRow> daily, IReadOnlyCollection<ChannelRow> channels, IReadOnlyCollection<CohortRow> cohorts)
    {
        WriteTable(output, "daily", daily);
        WriteTable(output, "channels", channels);
        WriteTable(output, "cohorts", cohorts);
    }

    public static void WriteTable<T>(string output, string name, IReadOnlyCollection<T> rows)
    {
        var dir = Path.Combine(output, "kpi", name);
        Directory.CreateDirectory(dir);
        using var stream = File.Create(Path.Combine(dir, "part-0.parquet"));
        ParquetSerializer.SerializeAsync(rows, stream).GetAwaiter().GetResult();
        File.WriteAllText(Path.Combine(dir, "_SUCCESS"), "fixture\n");
    }

    /// <summary>A day with the rates derived from its counts, as the contract defines them.</summary>
    public static DailyRow Day(DateOnly date, long sessions, long orders, double revenue, long natural, long newCustomers, double? repeatRate,
        long productView, long addToCart, long checkout, long purchase) => new()
    {
        KpiDate = date,
        Sessions = sessions,
        Users = sessions * 8 / 10,
        NewUsers = sessions / 2,
        ReturningUsers = sessions * 8 / 10 - sessions / 2,
        Orders = orders,
        Customers = orders,
        NewCustomers = newCustomers,
        Revenue = revenue,
        ConversionRate = sessions == 0 ? null : (double)orders / sessions,
        Aov = orders == 0 ? null : revenue / orders,
        RevenuePerUser = sessions == 0 ? null : revenue / (sessions * 8 / 10),
        RevenuePerCustomer = orders == 0 ? null : revenue / orders,
        BounceRate = 0.4,
        EngagedSessionRate = 0.55,
        ProductViewSessions = productView,
        AddToCartSessions = addToCart,
        CheckoutSessions = checkout,
        PurchaseSessions = purchase,
        ViewToCartRate = productView == 0 ? null : (double)addToCart / productView,
        CartToCheckoutRate = addToCart == 0 ? null : (double)checkout / addToCart,
        CheckoutToPurchaseRate = checkout == 0 ? null : (double)purchase / checkout,
        NaturalSessions = natural,
        NaturalTrafficShare = sessions == 0 ? null : (double)natural / sessions,
        RepeatCohortCustomers = repeatRate is null ? 0 : 100,
        RepeatCustomers = repeatRate is { } r ? (long)Math.Round(r * 100) : 0,
        RepeatPurchaseRate = repeatRate,
    };

    public static ChannelRow Channel(DateOnly date, string channel, bool natural, long sessions, long daySessions, long orders, double revenue, long newCustomers, double? spend) => new()
    {
        KpiDate = date,
        Channel = channel,
        IsNatural = natural,
        Sessions = sessions,
        SessionShare = daySessions == 0 ? null : (double)sessions / daySessions,
        Orders = orders,
        Revenue = revenue,
        NewCustomers = newCustomers,
        ConversionRate = sessions == 0 ? null : (double)orders / sessions,
        Spend = spend,
        Acos = spend is { } s && revenue > 0 ? s / revenue : null,
        Roas = spend is { } s2 && s2 > 0 ? revenue / s2 : null,
        Cpa = spend is { } s3 && orders > 0 ? s3 / orders : null,
        Cac = spend is { } s4 && newCustomers > 0 ? s4 / newCustomers : null,
    };

    public static CohortRow Cohort(DateOnly month, int monthsSince, long cohortCustomers, long active, double cumulativeRevenuePerCustomer) => new()
    {
        CohortMonth = month,
        MonthsSinceFirst = monthsSince,
        CohortCustomers = cohortCustomers,
        ActiveCustomers = active,
        RetentionRate = cohortCustomers == 0 ? null : (double)active / cohortCustomers,
        Revenue = cumulativeRevenuePerCustomer * cohortCustomers / (monthsSince + 1),
        CumulativeRevenuePerCustomer = cumulativeRevenuePerCustomer,
    };

    /// <summary>
    /// Plausible KPI tables for <paramref name="days"/> days from <paramref name="start"/>: conversion and natural share
    /// climbing towards their targets, paid channels with spend, monthly cohorts. Deterministic for a seed.
    /// </summary>
    public static void WriteRealistic(string output, DateOnly start, int days, int seed = 7)
    {
        var rng = new Random(seed);
        var channels = new (string Name, bool Natural, double Weight, double SpendPerSession)[]
        {
            ("paid_search", false, 0.34, 0.55), ("paid_social", false, 0.22, 0.40), ("organic_search", true, 0.16, 0), ("direct", true, 0.09, 0),
            ("email", false, 0.08, 0), ("organic_social", true, 0.06, 0), ("referral", true, 0.05, 0),
        };
        var daily = new List<DailyRow>();
        var channelRows = new List<ChannelRow>();
        for (var d = 0; d < days; d++)
        {
            var date = start.AddDays(d);
            var progress = (double)d / Math.Max(1, days - 1);
            var weekend = date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday ? 0.85 : 1.0;
            var sessions = (long)(2400 * weekend * (0.9 + 0.2 * rng.NextDouble()));
            var naturalBoost = 1 + 0.6 * progress;
            var weights = channels.Select(c => c.Weight * (c.Natural ? naturalBoost : 1) * (0.85 + 0.3 * rng.NextDouble())).ToArray();
            var total = weights.Sum();
            long natural = 0, orders = 0, newCustomers = 0;
            double revenue = 0;
            for (var k = 0; k < channels.Length; k++)
            {
                var s = (long)Math.Round(sessions * weights[k] / total);
                var conversion = (0.016 + 0.008 * progress) * (channels[k].Natural ? 1.1 : 0.95) * (0.8 + 0.4 * rng.NextDouble());
                var o = (long)Math.Round(s * conversion);
                var rev = Math.Round(o * (55 + 20 * rng.NextDouble()), 2);
                var nc = (long)Math.Round(o * 0.6);
                double? spend = channels[k].SpendPerSession > 0 ? Math.Round(s * channels[k].SpendPerSession * (1 - 0.25 * progress), 2) : null;
                channelRows.Add(Channel(date, channels[k].Name, channels[k].Natural, s, sessions, o, rev, nc, spend));
                natural += channels[k].Natural ? s : 0;
                orders += o;
                revenue += rev;
                newCustomers += nc;
            }
            var productView = (long)(sessions * 0.55);
            var addToCart = (long)(productView * 0.22);
            var checkout = (long)(addToCart * 0.45);
            double? repeat = d < 14 ? null : 0.28 + 0.08 * progress + 0.02 * rng.NextDouble();
            daily.Add(Day(date, sessions, orders, Math.Round(revenue, 2), natural, newCustomers, repeat, productView, addToCart, Math.Max(checkout, orders), orders));
        }
        var cohorts = new List<CohortRow>();
        var first = new DateOnly(start.Year, start.Month, 1);
        var lastDay = start.AddDays(days - 1);
        var months = (lastDay.Year - first.Year) * 12 + lastDay.Month - first.Month;
        for (var c = 0; c <= months; c++)
        {
            var size = 400 + rng.Next(200);
            double cumulative = 0;
            for (var m = 0; m <= months - c; m++)
            {
                var active = m == 0 ? size : (long)(size * (0.22 + 0.05 * rng.NextDouble()) / Math.Sqrt(m));
                cumulative += (double)active / size * 68;
                cohorts.Add(Cohort(first.AddMonths(c), m, size, active, Math.Round(cumulative, 2)));
            }
        }
        Write(output, daily, channelRows, cohorts);
    }

    internal sealed class DailyRow
    {
        [JsonPropertyName("kpi_date")] public DateOnly KpiDate { get; set; }
        [JsonPropertyName("sessions")] public long Sessions { get; set; }
        [JsonPropertyName("users")] public long Users { get; set; }
        [JsonPropertyName("new_users")] public long NewUsers { get; set; }
        [JsonPropertyName("returning_users")] public long ReturningUsers { get; set; }
        [JsonPropertyName("orders")] public long Orders { get; set; }
        [JsonPropertyName("customers")] public long Customers { get; set; }
        [JsonPropertyName("new_customers")] public long NewCustomers { get; set; }
        [JsonPropertyName("revenue")] public double Revenue { get; set; }
        [JsonPropertyName("conversion_rate")] public double? ConversionRate { get; set; }
        [JsonPropertyName("aov")] public double? Aov { get; set; }
        [JsonPropertyName("revenue_per_user")] public double? RevenuePerUser { get; set; }
        [JsonPropertyName("revenue_per_customer")] public double? RevenuePerCustomer { get; set; }
        [JsonPropertyName("bounce_rate")] public double? BounceRate { get; set; }
        [JsonPropertyName("engaged_session_rate")] public double? EngagedSessionRate { get; set; }
        [JsonPropertyName("product_view_sessions")] public long ProductViewSessions { get; set; }
        [JsonPropertyName("add_to_cart_sessions")] public long AddToCartSessions { get; set; }
        [JsonPropertyName("checkout_sessions")] public long CheckoutSessions { get; set; }
        [JsonPropertyName("purchase_sessions")] public long PurchaseSessions { get; set; }
        [JsonPropertyName("view_to_cart_rate")] public double? ViewToCartRate { get; set; }
        [JsonPropertyName("cart_to_checkout_rate")] public double? CartToCheckoutRate { get; set; }
        [JsonPropertyName("checkout_to_purchase_rate")] public double? CheckoutToPurchaseRate { get; set; }
        [JsonPropertyName("natural_sessions")] public long NaturalSessions { get; set; }
        [JsonPropertyName("natural_traffic_share")] public double? NaturalTrafficShare { get; set; }
        [JsonPropertyName("repeat_cohort_customers")] public long RepeatCohortCustomers { get; set; }
        [JsonPropertyName("repeat_customers")] public long RepeatCustomers { get; set; }
        [JsonPropertyName("repeat_purchase_rate")] public double? RepeatPurchaseRate { get; set; }
    }

    internal sealed class ChannelRow
    {
        [JsonPropertyName("kpi_date")] public DateOnly KpiDate { get; set; }
        [JsonPropertyName("channel")] public string Channel { get; set; } = "";
        [JsonPropertyName("is_natural")] public bool IsNatural { get; set; }
        [JsonPropertyName("sessions")] public long Sessions { get; set; }
        [JsonPropertyName("session_share")] public double? SessionShare { get; set; }
        [JsonPropertyName("orders")] public long Orders { get; set; }
        [JsonPropertyName("revenue")] public double Revenue { get; set; }
        [JsonPropertyName("new_customers")] public long NewCustomers { get; set; }
        [JsonPropertyName("conversion_rate")] public double? ConversionRate { get; set; }
        [JsonPropertyName("spend")] public double? Spend { get; set; }
        [JsonPropertyName("acos")] public double? Acos { get; set; }
        [JsonPropertyName("roas")] public double? Roas { get; set; }
        [JsonPropertyName("cpa")] public double? Cpa { get; set; }
        [JsonPropertyName("cac")] public double? Cac { get; set; }
    }

    internal sealed class CohortRow
    {
        [JsonPropertyName("cohort_month")] public DateOnly CohortMonth { get; set; }
        [JsonPropertyName("months_since_first")] public int MonthsSinceFirst { get; set; }
        [JsonPropertyName("cohort_customers")] public long CohortCustomers { get; set; }
        [JsonPropertyName("active_customers")] public long ActiveCustomers { get; set; }
        [JsonPropertyName("retention_rate")] public double? RetentionRate { get; set; }
        [JsonPropertyName("revenue")] public double Revenue { get; set; }
        [JsonPropertyName("cumulative_revenue_per_customer")] public double? CumulativeRevenuePerCustomer { get; set; }
    }
}
