namespace Pipeline.Stages.Kpis;

/// <summary>The tables the kpis stage publishes, each recomputed from the full clean tables and replaced whole.</summary>
internal static class KpiTables
{
    public static readonly TableSpec Daily = new(TableNames.KpiDaily, "one row per date", ["date"], [], [])
    {
        Description = "Business KPIs per day: sessions, orders, revenue, conversion, new and repeat customers, natural-traffic share, spend, ACoS, acquisition cost.",
    };

    public static readonly TableSpec Channels = new(TableNames.KpiChannels, "one row per date and channel", ["date", "channel"], [], [])
    {
        Description = "Sessions, attributed orders and revenue, and ad spend per channel and day (last non-direct touch within the lookback).",
    };

    public static readonly TableSpec Cohorts = new(TableNames.KpiCohorts, "one row per acquisition month and month since", ["cohort_month", "months_since"], [], [])
    {
        Description = "Customer cohorts by first-purchase month: active customers, orders and revenue in each later month.",
    };

    public static readonly TableSpec AdSpendQuarantine = new(TableNames.QuarantineAdSpend, "one row per rejected ad spend row", ["source_file", "source_line"], [], [])
    {
        Optional = true,
        Description = "Every ad spend row that was not kept, with its reason code (only with an ad spend input).",
    };
}
