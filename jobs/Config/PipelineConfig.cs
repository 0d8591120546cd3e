namespace Pipeline.Config;

// The whole configuration as immutable records. Every property has the documented default, so `new PipelineConfig()`
// is the configuration used when no file is given. JSON names are snake_case (see ConfigLoader). docs/configuration.md
// lists the same knobs; keep the two in step.

/// <summary>Root of the configuration file.</summary>
public sealed record PipelineConfig
{
    /// <summary>Output directory: clean tables, quarantine, run manifests and the hash key live under it. Default <c>out</c>.</summary>
    public string Output { get; init; } = "out";

    /// <summary>ISO-4217 code every amount is converted to (net_revenue). Default <c>USD</c>.</summary>
    public string BaseCurrency { get; init; } = "USD";

    /// <summary>IANA time zone of timestamps that carry no offset. Outputs are always UTC. Default <c>UTC</c>.</summary>
    public string SourceTimeZone { get; init; } = "UTC";

    /// <summary>
    /// The run's reference "now" (ISO-8601), used for the future-timestamp rule. Default: the wall clock at start.
    /// Set it to make reruns of old data reproducible.
    /// </summary>
    public string? Now { get; init; }

    public EngineConfig Engine { get; init; } = new();
    public QualityConfig Quality { get; init; } = new();
    public PrivacyConfig Privacy { get; init; } = new();
    public OrdersConfig Orders { get; init; } = new();
    public EventsConfig Events { get; init; } = new();
    public AnalyticsConfig Analytics { get; init; } = new();
    public KpisConfig Kpis { get; init; } = new();
    public AlertsConfig Alerts { get; init; } = new();
    public ExperimentsConfig Experiments { get; init; } = new();
    public ReportConfig Report { get; init; } = new();
}

/// <summary>Which engine runs the relational stages, and its resource limits.</summary>
public sealed record EngineConfig
{
    /// <summary><c>duckdb</c> (embedded, default) or <c>spark</c> (Spark Connect).</summary>
    public string Kind { get; init; } = "duckdb";

    /// <summary>Worker threads for DuckDB; 0 = one per core. Default 0.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// DuckDB memory limit such as <c>8GB</c>; empty = DuckDB's default (80% of RAM). Beyond it DuckDB spills to disk.
    /// Default <see cref="DefaultMemoryLimit"/>: DuckDB's own default lets one large run (clean-clicks at ten million
    /// events) take most of a machine that other work shares, and the stages spill gracefully below it.
    /// </summary>
    public string? MemoryLimit { get; init; } = DefaultMemoryLimit;

    /// <summary>Half the memory this process may use (the machine's, or its container's), at most 5GB.</summary>
    public static string DefaultMemoryLimit { get; } =
        Math.Min(5L * 1024, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2 / (1024 * 1024)).ToString(System.Globalization.CultureInfo.InvariantCulture) + "MB";

    /// <summary>Where DuckDB spills; empty = <c>&lt;output&gt;/_tmp</c>.</summary>
    public string? TempDirectory { get; init; }

    /// <summary>
    /// Spark Connect connection string <c>sc://host[:port]/;token=…</c> for <c>kind: spark</c>. The environment variable
    /// <c>SPARK_REMOTE</c> overrides it and <c>--remote</c> overrides both. Keep tokens out of files: use SPARK_REMOTE.
    /// </summary>
    public string? Remote { get; init; }

    /// <summary>
    /// Spark's connect budget in seconds (1–3600): how long a run keeps trying a Spark Connect server that has not answered
    /// yet (connection refused, name not resolved, TLS handshake failed), retrying at most 5 s apart and logging each
    /// attempt, before it fails with exit 1. Once the server has answered, a connection lost during a long query is
    /// retried and reattached as before, whatever this says. Default 30.
    /// </summary>
    public int ConnectTimeoutSeconds { get; init; } = 30;

    /// <summary>
    /// DuckDB: how many days of events clean-clicks processes at once in a full run (1–3660). 0, the default, decides
    /// from <see cref="MemoryLimit"/>: one pass when the events fit it, else slices of as many days as fit; −1 is always
    /// one pass. The output is the same whatever this says (it is not part of any fingerprint); only memory, spill and
    /// time differ.
    /// </summary>
    public int SliceDays { get; init; }

    // Records print every property in ToString(): the connection string may hold a token, so print it redacted.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append("Kind = ").Append(Kind).Append(", Threads = ").Append(Threads)
            .Append(", MemoryLimit = ").Append(MemoryLimit).Append(", TempDirectory = ").Append(TempDirectory)
            .Append(", ConnectTimeoutSeconds = ").Append(ConnectTimeoutSeconds).Append(", SliceDays = ").Append(SliceDays)
            .Append(", Remote = ").Append(Remote is null ? "" : Pipeline.Engine.Spark.SparkConnectionString.TryParse(Remote, out var c) ? c!.Redacted : "(unparsable)");
        return true;
    }
}

/// <summary>Data-quality gates and validity rules.</summary>
public sealed record QualityConfig
{
    /// <summary>Largest acceptable share of quarantined rows among rows read (0–1). Above it the run fails with exit 4. Default 0.05.</summary>
    public double MaxQuarantineShare { get; init; } = 0.05;

    /// <summary>Timestamps later than now + this many minutes are quarantined as <c>future_timestamp</c>. Default 60.</summary>
    public int FutureToleranceMinutes { get; init; } = 60;

    /// <summary>Timestamps before this date are <c>bad_timestamp</c> (catches epoch-unit mix-ups). Default 2000-01-01.</summary>
    public string MinValidDate { get; init; } = "2000-01-01";

    /// <summary>When false (default), inputs with no data rows at all are an input error (exit 3), not an empty success.</summary>
    public bool AllowEmptyInput { get; init; }
}

/// <summary>Pseudonymisation of personal identifiers.</summary>
public sealed record PrivacyConfig
{
    /// <summary>
    /// File holding the HMAC key. Default: <c>&lt;output&gt;/_keys/hash.key</c>, generated on first use. The environment
    /// variable <c>PIPELINE_HASH_KEY</c> overrides both.
    /// </summary>
    public string? KeyFile { get; init; }
}

/// <summary>How raw order files are read and mapped.</summary>
public sealed record OrdersConfig
{
    /// <summary>Input files: one path, a directory or a glob (string), or a list of them. Default none (give <c>--input</c>).</summary>
    public IReadOnlyList<string> Input { get; init; } = [];

    /// <summary><c>auto</c> (by extension), <c>csv</c>, <c>jsonl</c> or <c>parquet</c>. Default auto.</summary>
    public string Format { get; init; } = "auto";

    /// <summary><c>auto</c> (line-level when quantity and unit_price are present and total_amount is not), <c>order</c> or <c>line</c>.</summary>
    public string Grain { get; init; } = "auto";

    public CsvConfig Csv { get; init; } = new();

    /// <summary>Canonical column → the source's column name. Unmapped canonical columns are looked up by their own name (case-insensitive).</summary>
    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();

    /// <summary>Source status value (case-insensitive) → canonical status. Added to the built-in synonyms.</summary>
    public IReadOnlyDictionary<string, string> StatusMap { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// A strptime-style format for <c>ordered_at</c> values that are not in one of the built-in forms
    /// (for example <c>%Y%m%d</c> or <c>%d/%m/%Y %H:%M</c>). Default none.
    /// </summary>
    public string? TimestampFormat { get; init; }

    /// <summary>Optional FX table (date, currency, rate to the base currency).</summary>
    public FxConfig? Fx { get; init; }
}

/// <summary>CSV dialect. Defaults read RFC 4180 files with any common delimiter.</summary>
public sealed record CsvConfig
{
    /// <summary><c>auto</c> (sniffed from the header among , ; tab |) or a single character. Default auto.</summary>
    public string Delimiter { get; init; } = "auto";

    /// <summary>Quote character. Default <c>"</c>.</summary>
    public string Quote { get; init; } = "\"";
}

/// <summary>FX rates: amount_in_base = amount × rate, using the latest rate on or before the order's date.</summary>
public sealed record FxConfig
{
    /// <summary>The FX file (CSV/JSONL/Parquet) with columns date, currency, rate (mappable below).</summary>
    public string Input { get; init; } = "";

    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();
}

/// <summary>How clickstream events are read, cleaned and sessionized. Defaults follow GA4 / Snowplow conventions.</summary>
public sealed record EventsConfig
{
    /// <summary>Input files: one path, a directory or a glob, or a list. Default none (give <c>--input</c>).</summary>
    public IReadOnlyList<string> Input { get; init; } = [];

    /// <summary><c>auto</c> (by extension), <c>csv</c>, <c>jsonl</c> or <c>parquet</c>.</summary>
    public string Format { get; init; } = "auto";

    public CsvConfig Csv { get; init; } = new();

    /// <summary>Canonical column → the source's column (or JSON key) name.</summary>
    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();

    /// <summary>Source event type (case-insensitive) → canonical type; added to the built-in synonyms. Unknown types are quarantined.</summary>
    public IReadOnlyDictionary<string, string> EventTypeMap { get; init; } = new Dictionary<string, string>();

    /// <summary>Extra strptime format for <c>occurred_at</c>.</summary>
    public string? TimestampFormat { get; init; }

    /// <summary>A new session starts after a gap of MORE than this many minutes (exactly this stays in the session). Default 30.</summary>
    public double SessionTimeoutMinutes { get; init; } = 30;

    /// <summary>Sessions longer than this many hours are quarantined (<c>session_too_long</c>). Default 72 (Snowplow's 3 days).</summary>
    public double MaxSessionHours { get; init; } = 72;

    /// <summary>
    /// <c>pipeline run</c>, incremental: the days before the last published event date that a nightly run re-processes
    /// for late events (their partitions are rewritten). Events older than the window in new files are quarantined as
    /// <c>late_event</c>. Default 3.
    /// </summary>
    public int LookbackDays { get; init; } = 3;

    /// <summary>Tracker heartbeat of page_ping events, seconds. Default 10.</summary>
    public int HeartbeatSeconds { get; init; } = 10;

    /// <summary>Seconds before the first ping fires (Snowplow min visit length). Default 5.</summary>
    public int MinVisitSeconds { get; init; } = 5;

    /// <summary>Without pings, engaged time of an event is the time to the next event, capped at this many minutes. Default 30.</summary>
    public double MaxEngagedGapMinutes { get; init; } = 30;

    /// <summary>An anonymous id with more events than this in one calendar minute is a bot (rule <c>event_rate</c>). Default 60.</summary>
    public int MaxEventsPerMinute { get; init; } = 60;

    /// <summary>File of user-agent substrings marking bots (one per line, # comments). Default: the shipped <c>refdata/bot_user_agents.txt</c>.</summary>
    public string? BotUserAgentsFile { get; init; }

    /// <summary>Extra bot user-agent substrings, added to the file's.</summary>
    public IReadOnlyList<string> BotUserAgents { get; init; } = [];

    /// <summary>Search-engine hosts file (host suffixes, <c>name.*</c> for any TLD). Default: shipped <c>refdata/search_engines.txt</c>.</summary>
    public string? SearchEnginesFile { get; init; }

    /// <summary>Social-network hosts file. Default: shipped <c>refdata/social_networks.txt</c>.</summary>
    public string? SocialNetworksFile { get; init; }

    /// <summary>The shop's own hosts: a referrer on one of them is internal navigation, not a referral. Default: the page's own host.</summary>
    public IReadOnlyList<string> SiteHosts { get; init; } = [];

    /// <summary>Query parameters kept in page_path (all others, including utm_*, are dropped). Default none.</summary>
    public IReadOnlyList<string> KeepQueryParams { get; init; } = [];

    /// <summary><c>drop</c> (default): IPs are not kept at all. <c>network_key</c>: keyed hash of the /24 (IPv4) or /48 (IPv6) prefix.</summary>
    public string Ip { get; init; } = "drop";
}

/// <summary>Customer analytics: features, RFM, k-means segments, LTV.</summary>
public sealed record AnalyticsConfig
{
    /// <summary>Snapshot date YYYY-MM-DD, inclusive. Default: the date of the last order seen.</summary>
    public string? AsOf { get; init; }

    /// <summary><c>day</c> or <c>week</c> (weeks = days / 7, fractional): the unit of frequency/recency/T and of LTV horizons.</summary>
    public string TimeUnit { get; init; } = "day";

    /// <summary>Behaviour features use sessions of the trailing this-many days up to as_of. Default 90.</summary>
    public int BehaviourWindowDays { get; init; } = 90;

    public RfmConfig Rfm { get; init; } = new();
    public SegmentsConfig Segments { get; init; } = new();
    public LtvConfig Ltv { get; init; } = new();
}

/// <summary>RFM scoring.</summary>
public sealed record RfmConfig
{
    /// <summary><c>total</c> (default) or <c>mean</c> net revenue per purchase as M.</summary>
    public string Monetary { get; init; } = "total";

    /// <summary>Fixed cut points (4 ascending values each) instead of quintiles; null = quintiles of this snapshot.</summary>
    public IReadOnlyList<double>? RecencyCutPoints { get; init; }
    public IReadOnlyList<double>? FrequencyCutPoints { get; init; }
    public IReadOnlyList<double>? MonetaryCutPoints { get; init; }
}

/// <summary>k-means behavioural segments.</summary>
public sealed record SegmentsConfig
{
    /// <summary>Fixed k; null = choose in [k_min, k_max] by <see cref="Criterion"/>.</summary>
    public int? K { get; init; }
    public int KMin { get; init; } = 2;
    public int KMax { get; init; } = 8;

    /// <summary><c>silhouette</c> (default, higher is better) or <c>davies_bouldin</c> (lower is better), on a bounded sample.</summary>
    public string Criterion { get; init; } = "silhouette";

    /// <summary>Feature columns of customers/features used for clustering.</summary>
    public IReadOnlyList<string> Features { get; init; } =
        ["recency_days", "orders", "net_revenue", "avg_order_value", "tenure_days", "sessions", "engaged_seconds_avg", "natural_traffic_share"];

    /// <summary>Heavy-tailed features log-transformed (sign·log1p|x|) before standardising.</summary>
    public IReadOnlyList<string> LogFeatures { get; init; } = ["orders", "net_revenue", "avg_order_value", "sessions", "engaged_seconds_avg"];

    public int Seed { get; init; } = 42;
    public int SampleSize { get; init; } = 10_000;

    /// <summary>
    /// k-means implementation: <c>parallel</c> (default: the deterministic parallel engine, the same model for any
    /// thread count) or <c>mlnet</c> (ML.NET's trainer, single-threaded, k-means|| initialisation).
    /// </summary>
    public string Engine { get; init; } = "parallel";

    /// <summary>k-means runs per k (seeds seed, seed + 1, …), best inertia kept (like scikit-learn's n_init). Default 2.</summary>
    public int Restarts { get; init; } = 2;

    /// <summary>
    /// When k is chosen (not fixed) and there are more customers than this, k is chosen on a seeded sample of this
    /// size and the final model is fitted on everyone with that k. Default 50,000.
    /// </summary>
    public int KSelectionSample { get; init; } = 50_000;
}

/// <summary>BG/NBD + Gamma-Gamma lifetime value.</summary>
public sealed record LtvConfig
{
    /// <summary>Prediction horizons in days (converted to the time unit): expected_purchases_&lt;h&gt;d and clv_&lt;h&gt;d columns.</summary>
    public IReadOnlyList<int> HorizonsDays { get; init; } = [90, 365];

    /// <summary>Discount rate per period of the time unit (0.01 = 1% per day or per week). Default 0.</summary>
    public double DiscountRatePerPeriod { get; init; }

    /// <summary>Backtest holdout length in days; calibration ends at as_of minus this. Default 90.</summary>
    public int HoldoutDays { get; init; } = 90;

    /// <summary>L2 penalizer on the BG/NBD parameters (lifetimes' penalizer_coef). Default 0.</summary>
    public double Penalizer { get; init; }

    /// <summary>|Pearson correlation| of frequency and monetary value above which the manifest warns (Gamma-Gamma assumes independence).</summary>
    public double CorrelationWarning { get; init; } = 0.3;
}

/// <summary>Business KPI tables (kpi/daily, kpi/channels, kpi/cohorts) and their optional ad spend input.</summary>
public sealed record KpisConfig
{
    /// <summary>
    /// N of the repeat-purchase rate: a customer repeats when their second purchase is at most this many days after
    /// the first (dates). Default 90.
    /// </summary>
    public int RepeatWindowDays { get; init; } = 90;

    /// <summary>
    /// W of the repeat-purchase rate: on day d the cohort is the customers whose first purchase date is in
    /// (d − N − W, d − N], so each had the full N days to come back. Default 30.
    /// </summary>
    public int RepeatCohortDays { get; init; } = 30;

    /// <summary>An order is attributed to a session of its customer that started at most this many days before it. Default 30.</summary>
    public int AttributionLookbackDays { get; init; } = 30;

    /// <summary>Optional ad spend table (date, channel, campaign, spend, currency: converted with orders.fx like orders). Default none: spend columns are NULL.</summary>
    public AdSpendConfig? AdSpend { get; init; }
}

/// <summary>Ad spend input: read like orders (file, directory or glob; CSV, JSON lines or Parquet; gzip).</summary>
public sealed record AdSpendConfig
{
    /// <summary>Input files: one path, a directory or a glob (string), or a list of them.</summary>
    public IReadOnlyList<string> Input { get; init; } = [];

    /// <summary><c>auto</c> (by extension), <c>csv</c>, <c>jsonl</c> or <c>parquet</c>. Default auto.</summary>
    public string Format { get; init; } = "auto";

    public CsvConfig Csv { get; init; } = new();

    /// <summary>Canonical column (date, channel, campaign, spend, currency) → the source's column name.</summary>
    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();
}

/// <summary>KPI anomaly alerts (<c>pipeline alerts</c> → <c>kpi/alerts</c>): the detector's sensitivity, the known-events calendar, the exit code.</summary>
public sealed record AlertsConfig
{
    /// <summary>A day is a warning when it is at least this many robust standard deviations from its expectation. Default 4.</summary>
    public double Sensitivity { get; init; } = 4.0;

    /// <summary>… and critical from this many. Default 6.</summary>
    public double CriticalSensitivity { get; init; } = 6.0;

    /// <summary>Trailing days a day's expectation is estimated from (a multiple of 7, 42 to 364; a day needs 6 weeks of history). Default 56.</summary>
    public int WindowDays { get; init; } = 56;

    /// <summary>
    /// Ratios of a channel or device (conversion, AOV, ACoS) are only judged on days whose denominator (sessions,
    /// orders, revenue) is at least this; in every dimension, overall included, conversion and natural share need this
    /// many sessions, revenue, AOV and ACoS this many orders. Default 30.
    /// </summary>
    public double MinDenominator { get; init; } = 30;

    /// <summary>
    /// A channel or device is watched for a metric when the median of its daily sessions (sessions, conversion,
    /// natural share) or orders (orders, revenue, new customers, AOV) is at least this; for ad spend and ACoS when it
    /// had spend on most days. Overall metrics are always watched. Default 20.
    /// </summary>
    public double MinVolume { get; init; } = 20;

    /// <summary>
    /// Known events: a date <c>YYYY-MM-DD</c> or a range <c>YYYY-MM-DD..YYYY-MM-DD</c> → its name (<c>"2024-11-11": "Double 11"</c>).
    /// Their days are left out of the expectations and reported with status <c>expected</c>, never as alerts. Default none.
    /// </summary>
    public IReadOnlyDictionary<string, string> Calendar { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// <c>none</c> (default), <c>warning</c> or <c>critical</c>: a run whose alerts stage finds an alert at least this
    /// severe on the last day exits with code 6 after publishing everything (so cron's MAILTO mails the team).
    /// </summary>
    public string FailOn { get; init; } = "none";

    /// <summary>
    /// A table of a <c>date</c> column and metric columns (CSV, JSON lines or Parquet; <c>pipeline alerts --metrics</c>)
    /// to watch instead of the KPI tables. Default none: the KPI tables.
    /// </summary>
    public string? Metrics { get; init; }
}

/// <summary>
/// A/B-test readouts (<c>pipeline experiments</c>): exposures come from the clickstream's <c>experiment_exposure</c>
/// events and, optionally, an assignments file; every experiment found is read out, the definitions only add what the
/// data cannot say (control, intended split, dates).
/// </summary>
public sealed record ExperimentsConfig
{
    /// <summary>Optional assignments file(s) (experiment_id, variant, assigned_at, user_id and/or anonymous_id): one path, a directory or a glob (string), or a list. Default none.</summary>
    public IReadOnlyList<string> Input { get; init; } = [];

    /// <summary><c>auto</c> (by extension), <c>csv</c>, <c>jsonl</c> or <c>parquet</c>. Default auto.</summary>
    public string Format { get; init; } = "auto";

    public CsvConfig Csv { get; init; } = new();

    /// <summary>Canonical assignment column (experiment_id, variant, assigned_at, user_id, anonymous_id) → the source's column name.</summary>
    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();

    /// <summary>Outcomes count from a unit's first exposure up to this many days after the experiment's last day. Default 7.</summary>
    public int AttributionDays { get; init; } = 7;

    /// <summary>Sample-ratio mismatch is flagged below this p-value (GrowthBook's default). Default 0.001.</summary>
    public double SrmThreshold { get; init; } = 0.001;

    /// <summary>1 − the intervals' level. Default 0.05 (95% intervals).</summary>
    public double Alpha { get; init; } = 0.05;

    /// <summary>Power for the minimum detectable effect. Default 0.8.</summary>
    public double Power { get; init; } = 0.8;

    /// <summary>Relative conversion uplift the experiment should be able to detect; "days needed" is how much longer it must run for it. Default 0.05 (5%).</summary>
    public double TargetMde { get; init; } = 0.05;

    /// <summary>Also report revenue per unit adjusted by CUPED, with each unit's revenue in the <see cref="CupedLookbackDays"/> before its first exposure as the covariate. Default false.</summary>
    public bool Cuped { get; init; }

    /// <summary>Days before a unit's first exposure whose revenue is its CUPED covariate. Default 90.</summary>
    public int CupedLookbackDays { get; init; } = 90;

    /// <summary>Optional metadata per experiment id: control variant, intended split, dates. Default none (control = the variant named <c>control</c>, else the first by name; equal split; dates from the exposures).</summary>
    public IReadOnlyDictionary<string, ExperimentDefinition> Definitions { get; init; } = new Dictionary<string, ExperimentDefinition>();
}

/// <summary>What the data cannot say about one experiment.</summary>
public sealed record ExperimentDefinition
{
    /// <summary>The control variant. Default: the variant named <c>control</c>, else the first by name.</summary>
    public string? Control { get; init; }

    /// <summary>Intended share of units per variant (any positive numbers; normalised). Default: equal.</summary>
    public IReadOnlyDictionary<string, double>? Weights { get; init; }

    /// <summary>First day (UTC, YYYY-MM-DD): earlier exposures are ignored. Default: the first exposure's day.</summary>
    public string? Start { get; init; }

    /// <summary>Last day (UTC, YYYY-MM-DD): later exposures are ignored. Default: the last exposure's day.</summary>
    public string? End { get; init; }
}

/// <summary>The HTML report (<c>pipeline report</c>): KPI targets and the windows its figures are taken over.</summary>
public sealed record ReportConfig
{
    /// <summary>Title at the top of the page.</summary>
    public string Title { get; init; } = "Marketing analytics report";

    /// <summary>KPI tiles aggregate the trailing this-many days up to the last KPI date. Default 28.</summary>
    public int WindowDays { get; init; } = 28;

    /// <summary>Trend charts show a rolling aggregate over this many days next to the daily values. Default 7.</summary>
    public int RollingDays { get; init; } = 7;

    /// <summary>Runs shown in the data-quality trend (the most recent manifests). Default 30.</summary>
    public int RecentRuns { get; init; } = 30;

    public ReportTargetsConfig Targets { get; init; } = new();
}

/// <summary>
/// The plan's targets (domain reference): where each KPI should get to, and where it stands today (the baseline the
/// tiles measure progress from). Flat keys, so setting one leaves the others at their defaults.
/// </summary>
public sealed record ReportTargetsConfig
{
    /// <summary>Orders / sessions: target 2.8%.</summary>
    public double ConversionRate { get; init; } = 0.028;

    /// <summary>Conversion rate today: 1.5%.</summary>
    public double ConversionRateBaseline { get; init; } = 0.015;

    /// <summary>Share of new customers who buy again: target 45%.</summary>
    public double RepeatPurchaseRate { get; init; } = 0.45;

    /// <summary>Repeat-purchase rate today: 30%.</summary>
    public double RepeatPurchaseRateBaseline { get; init; } = 0.30;

    /// <summary>Natural (non-paid) share of sessions: target 35%.</summary>
    public double NaturalTrafficShare { get; init; } = 0.35;

    /// <summary>Natural traffic share today: 20%.</summary>
    public double NaturalTrafficShareBaseline { get; init; } = 0.20;

    /// <summary>Ad spend / ad-attributed revenue: at most 30%.</summary>
    public double Acos { get; init; } = 0.30;

    /// <summary>Acquisition cost (ad spend / new customers) to cut by this share of its baseline: 30%.</summary>
    public double AcquisitionCostReduction { get; init; } = 0.30;

    /// <summary>Acquisition cost to cut from, in the base currency; null = its value over the first report window of the data.</summary>
    public double? AcquisitionCostBaseline { get; init; }
}

/// <summary>The canonical column sets of each input, in the order docs/inputs.md documents them.</summary>
public static class CanonicalColumns
{
    public static readonly IReadOnlyList<string> Orders =
    [
        "order_id", "customer_id", "ordered_at", "updated_at", "status", "currency", "total_amount", "discount_amount",
        "shipping_amount", "tax_amount", "refunded_amount", "email", "channel", "quantity", "unit_price", "product_id",
        "category",
    ];

    public static readonly IReadOnlyList<string> Fx = ["date", "currency", "rate"];

    public static readonly IReadOnlyList<string> AdSpend = ["date", "channel", "campaign", "spend", "currency"];

    public static readonly IReadOnlyList<string> Events =
    [
        "event_id", "occurred_at", "anonymous_id", "user_id", "event_type", "page_url", "referrer_url", "product_id",
        "order_id", "search_term", "user_agent", "ip", "device_type", "utm_source", "utm_medium", "utm_campaign", "session_id",
        "page_view_id", "experiment_id", "variant",
    ];

    /// <summary>The optional A/B-test assignments file (<c>experiments.input</c>).</summary>
    public static readonly IReadOnlyList<string> Assignments = ["experiment_id", "variant", "assigned_at", "user_id", "anonymous_id"];

    public static readonly IReadOnlyList<string> EventTypes =
        ["page_view", "page_ping", "product_view", "search", "add_to_cart", "remove_from_cart", "begin_checkout", "purchase", "login", "experiment_exposure"];
}

/// <summary>The numeric columns of customers/features (what segments may cluster on).</summary>
public static class FeatureColumns
{
    public static readonly IReadOnlyList<string> Numeric =
    [
        "orders", "net_revenue", "avg_order_value", "recency_days", "tenure_days", "refund_rate", "discount_share",
        "sessions", "engaged_seconds_avg", "product_views", "add_to_carts", "cart_add_rate", "session_conversion_rate",
        "natural_traffic_share", "days_since_last_session", "mobile_share", "frequency", "recency", "T", "monetary_value",
    ];
}
