namespace Pipeline.Stages.Report;

// What the report shows, as plain numbers: loaded from the published tables and run manifests by ReportData, turned
// into HTML by ReportHtml. Every section is null when its tables are missing, and then Missing holds the note.

/// <summary>The whole report.</summary>
public sealed record ReportModel
{
    public required string Title { get; init; }
    public required string RunId { get; init; }
    public required DateTimeOffset GeneratedAt { get; init; }
    public required string BaseCurrency { get; init; }

    /// <summary>The latest customer snapshot date among rfm, segments and ltv (null when none exist).</summary>
    public string? AsOf { get; init; }

    /// <summary>The last date of kpi/daily (null without KPI tables).</summary>
    public DateOnly? DataThrough { get; init; }

    public KpiSection? Kpis { get; init; }
    public ChannelSection? Channels { get; init; }
    public FunnelSection? Funnel { get; init; }
    public RfmSection? Rfm { get; init; }
    public SegmentSection? Segments { get; init; }
    public LtvSection? Ltv { get; init; }
    public CohortSection? Cohorts { get; init; }
    public QualitySection? Quality { get; init; }

    /// <summary>Section id → why it is not available ("not available — run `pipeline kpis`").</summary>
    public IReadOnlyDictionary<string, string> Missing { get; init; } = new Dictionary<string, string>();

    /// <summary>The last day's KPI alerts (ReportAlerts.cs); null without kpi/alerts.</summary>
    public AlertBanner? Alerts { get; init; }

    /// <summary>The A/B tests (ReportExperiments); null when there are none (the section is then left out).</summary>
    public IReadOnlyList<ReportExperiments.Experiment>? Experiments { get; init; }

    /// <summary>The stable ids of the sections, in page order.</summary>
    public static readonly IReadOnlyList<string> SectionIds = ["kpis", "channels", "funnel", "rfm", "segments", "ltv", "cohorts", "quality"];
}

/// <summary>Where a KPI stands against its target.</summary>
public enum KpiStatus
{
    /// <summary>No value (no data, or no spend input).</summary>
    Unknown,

    /// <summary>Target met.</summary>
    OnTarget,

    /// <summary>Better than the baseline (or within reach of a ceiling), target not met yet.</summary>
    Improving,

    /// <summary>At or worse than the baseline.</summary>
    OffTarget,
}

/// <summary>How a value is printed.</summary>
public enum ValueFormat
{
    Percent,
    Money,
    Count,
    Number,
}

/// <summary>One big-number tile: the latest value over the window, its target and status.</summary>
public sealed record KpiTile(string Key, string Name, ValueFormat Format, double? Value, double? Target, double? Baseline,
    bool LowerIsBetter, KpiStatus Status, string Explanation)
{
    /// <summary>Share of the way from baseline to target (0 = baseline, 1 = target), null when not meaningful.</summary>
    public double? Progress => Value is { } v && Target is { } t && Baseline is { } b && t != b ? (v - b) / (t - b) : null;
}

/// <summary>A dated value (null: undefined that day).</summary>
public sealed record DatedValue(DateOnly Date, double? Value);

/// <summary>A KPI's daily values, their rolling aggregate, and the reference lines.</summary>
public sealed record KpiTrend(string Key, string Name, ValueFormat Format, IReadOnlyList<DatedValue> Daily, IReadOnlyList<DatedValue> Rolling,
    int RollingDays, double? Target, double? Baseline)
{
    /// <summary>Why the series has no value at all (shown instead of an empty chart); null: a generic note.</summary>
    public string? EmptyReason { get; init; }
}

/// <summary>KPI tiles (trailing window) and trends.</summary>
public sealed record KpiSection(DateOnly From, DateOnly To, int WindowDays, IReadOnlyList<KpiTile> Tiles, IReadOnlyList<KpiTile> Context,
    IReadOnlyList<KpiTrend> Trends, bool HasSpend);

/// <summary>One channel's totals over the window.</summary>
public sealed record ChannelTotals(string Channel, bool IsNatural, long Sessions, double SessionShare, long Orders, double Revenue,
    long NewCustomers, double? ConversionRate, double? Spend, double? Acos, double? Roas, double? Cpa, double? Cac);

/// <summary>Sessions per channel per period (week or month), for the mix chart.</summary>
/// <param name="Days">Days of the period inside the data's span (first to last KPI date).</param>
/// <param name="PeriodDays">Days of the whole period (7, or the month's length).</param>
public sealed record ChannelPeriod(DateOnly PeriodStart, IReadOnlyDictionary<string, long> SessionsByChannel, double? NaturalShare, int Days = 7, int PeriodDays = 7)
{
    /// <summary>The data covers only part of the period (the first or the last one): its bar is not comparable with a full one.</summary>
    public bool IsPartial => Days < PeriodDays;
}

public sealed record ChannelSection(DateOnly From, DateOnly To, string PeriodName, IReadOnlyList<string> ChannelOrder,
    IReadOnlyList<ChannelPeriod> Periods, IReadOnlyList<ChannelTotals> Totals, double NaturalTarget, double NaturalBaseline);

/// <summary>One funnel step: sessions reaching it, share of all sessions, and the rate from the previous step.</summary>
public sealed record FunnelStep(string Name, long Sessions, double? ShareOfSessions, double? FromPrevious);

public sealed record FunnelSection(DateOnly From, DateOnly To, IReadOnlyList<FunnelStep> Steps);

/// <summary>One cell of the R × F grid.</summary>
public sealed record RfmCell(int R, int F, string Segment, long Customers, double Revenue);

/// <summary>One named RFM segment (rfm/segments).</summary>
public sealed record RfmSegmentRow(string Segment, long Customers, double CustomerShare, double Revenue, double RevenueShare,
    double? MeanR, double? MeanF, double? MeanM);

public sealed record RfmSection(string AsOf, IReadOnlyList<RfmCell> Cells, IReadOnlyList<RfmSegmentRow> Segments, long Customers, double Revenue);

/// <summary>A k-means segment's profile: size, value share and feature means (original units) with z-scores.</summary>
public sealed record SegmentProfile(int Id, string Label, long Customers, double CustomerShare, double? RevenueShare,
    IReadOnlyDictionary<string, (double Mean, double ZScore)> Features);

public sealed record MigrationCell(string From, string To, long Customers);

public sealed record SegmentSection(string AsOf, IReadOnlyList<SegmentProfile> Profiles, IReadOnlyList<string> FeatureOrder,
    string? MigrationFrom, IReadOnlyList<MigrationCell> Migration);

/// <summary>A CLV decile (1 = the top 10% of customers by CLV).</summary>
public sealed record LtvDecile(int Decile, long Customers, double MinClv, double MeanClv, double TotalClv, double ShareOfClv, double MeanPAlive,
    double MeanExpectedPurchases);

public sealed record HistogramBin(double From, double To, long Count);

public sealed record BacktestBucket(string Bucket, long Customers, double MeanActual, double MeanPredicted);

public sealed record BacktestMetrics(string CalibrationEnd, int HoldoutDays, long Customers, double Mae, double Rmse, double Bias,
    double TotalPredicted, double TotalActual, double ValueMae, double ValueBias);

public sealed record LtvSection(string AsOf, int HorizonDays, long Customers, double TotalClv, double MeanClv, double MeanPAlive,
    IReadOnlyList<HistogramBin> Histogram, IReadOnlyList<LtvDecile> Deciles, IReadOnlyList<BacktestBucket> Buckets, BacktestMetrics? Metrics)
{
    /// <summary>The status of each fit (ltv/params), or null when the tables predate fit diagnostics.</summary>
    public IReadOnlyList<LtvFitStatus>? Fits { get; init; }

    /// <summary>Why the backtest was skipped (ltv/backtest_metrics), or null when it ran.</summary>
    public string? BacktestSkipped { get; init; }

    /// <summary>The status of one fit, or null when the tables do not say.</summary>
    public LtvFitStatus? Fit(string fit, string model) => Fits?.FirstOrDefault(f => f.Fit == fit && f.Model == model);
}

/// <summary>One fit's diagnosis from ltv/params: <c>fit</c> (full, calibration), <c>model</c> (bg_nbd, gamma_gamma), status, estimator, reasons.</summary>
public sealed record LtvFitStatus(string Fit, string Model, string Status, string Estimator, string Reasons)
{
    public bool IsOk => Status == "ok";

    /// <summary>Degenerate or too little data: the figures come from the fallback's default assumptions more than from the data.</summary>
    public bool IsUnreliable => Status is "degenerate" or "insufficient_data";
}

/// <summary>One cohort × months-since-first cell of kpi/cohorts.</summary>
public sealed record CohortCell(DateOnly CohortMonth, int MonthsSinceFirst, long CohortCustomers, long ActiveCustomers, double? RetentionRate,
    double? CumulativeRevenuePerCustomer);

public sealed record CohortSection(IReadOnlyList<DateOnly> Cohorts, int MaxMonths, IReadOnlyList<CohortCell> Cells);

/// <summary>A stage's row accounting from one run manifest.</summary>
public sealed record StageQuality(string RunId, string Command, string Stage, DateTimeOffset StartedAt, string Status, long RowsRead,
    long RowsWritten, long RowsQuarantined, long Duplicates, long Bots, bool Balanced, double Seconds,
    IReadOnlyDictionary<string, long> QuarantinedByReason, IReadOnlyDictionary<string, long> BotsByRule, string? Message)
{
    public double? QuarantinedShare => RowsRead == 0 ? null : (double)RowsQuarantined / RowsRead;
    public double? DuplicateShare => RowsRead == 0 ? null : (double)Duplicates / RowsRead;
    public double? BotShare => RowsRead == 0 ? null : (double)Bots / RowsRead;
}

/// <summary>One input file of the latest cleaning runs, with its quarantined rows by reason (from the quarantine tables).</summary>
public sealed record InputQuality(string Stage, string File, string Format, long Bytes, long? Kept, IReadOnlyDictionary<string, long> QuarantinedByReason);

/// <summary>One run in the recent-runs list (any command).</summary>
public sealed record RunSummary(string RunId, string Command, DateTimeOffset StartedAt, double? Seconds, string Status, int ExitCode, string? Message);

public sealed record QualitySection(IReadOnlyList<StageQuality> Latest, IReadOnlyList<InputQuality> Inputs, IReadOnlyList<StageQuality> Trend,
    IReadOnlyList<RunSummary> RecentRuns);
