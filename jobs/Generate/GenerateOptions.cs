namespace Pipeline.Generate;

/// <summary>
/// Everything <see cref="OrderGenerator.Generate"/> needs. Immutable; same options give byte-identical files.
/// Time unit of every model parameter is the DAY.
/// </summary>
public sealed record GenerateOptions
{
    /// <summary>Folder receiving <c>orders/</c> and <c>ground_truth.json</c>.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Number of customers (each makes at least one purchase: their acquisition).</summary>
    public int Customers { get; init; } = 10_000;

    /// <summary>Length of the generated period in days; the last day is <c>StartDate + Days - 1</c>.</summary>
    public int Days { get; init; } = 365;

    public long Seed { get; init; } = 42;

    /// <summary>Inject extra faulty rows and the file-level variety (BOM, CRLF, gzip), all counted in ground_truth.json.</summary>
    public bool Faults { get; init; }

    public DateOnly StartDate { get; init; } = new(2024, 1, 1);

    /// <summary>
    /// First purchases fall in the first <c>AcquisitionFraction × Days</c> days (default: all of them, so customers are
    /// acquired every day): uniformly, or weighted by <see cref="ShopPlan.DayWeight"/> with <see cref="SeasonalAcquisition"/>.
    /// </summary>
    public double AcquisitionFraction { get; init; } = 1.0;

    /// <summary>Acquisition (and, with <see cref="TargetConversion"/>, traffic) follows the week (weekends busier) and the promotion peaks (618, Double 11).</summary>
    public bool SeasonalAcquisition { get; init; } = true;

    /// <summary>The KPI path: the plan's starting point held all period, or moving toward the targets over three years.</summary>
    public ShopScenario Scenario { get; init; } = ShopScenario.Baseline;

    // BG/NBD (Fader, Hardie & Lee 2005), in days: lambda ~ Gamma(shape R, rate Alpha), p ~ Beta(A, B).
    // Defaults: P(second purchase within 90 days) = 1 − (α/(α+90))^r = 30%, the plan's new-customer repurchase rate
    // (the plan scenario lowers α per customer by acquisition day toward 45%, see ShopPlan.AlphaFor).
    public double BgR { get; init; } = 0.5;
    public double BgAlpha { get; init; } = ShopPlan.BaselineAlpha;
    public double BgA { get; init; } = 0.8;
    public double BgB { get; init; } = 2.5;

    // Gamma-Gamma spend (Fader, Hardie & Lee 2005b): nu ~ Gamma(shape GgQ, rate GgGamma), z ~ Gamma(shape GgP, rate nu).
    public double GgP { get; init; } = 6.0;
    public double GgQ { get; init; } = 4.0;
    public double GgGamma { get; init; } = 40.0;

    // Noise orders, outside the purchase process; each drawn as a Bernoulli per process purchase.
    public double CancelledRate { get; init; } = 0.03;
    public double RefundedRate { get; init; } = 0.02;
    public double GuestRate { get; init; } = 0.05;

    // Valid representation variety (always applied; set to 0 for canonical rows only).
    /// <summary>Share of rows whose ordered_at is written with a +08:00 offset (same instant).</summary>
    public double OffsetTimestampRate { get; init; } = 0.04;
    public double EpochSecondsRate { get; init; } = 0.02;
    public double EpochMillisRate { get; init; } = 0.02;
    /// <summary>Share of rows whose status is written capitalised (<c>Completed</c>) or upper-case.</summary>
    public double StatusCaseVariantRate { get; init; } = 0.05;
    /// <summary>Share of rows with an empty e-mail.</summary>
    public double MissingEmailRate { get; init; } = 0.02;

    /// <summary>
    /// Order channel weights, in <see cref="OrderGenerator.Channels"/> order (organic_search, paid_search, email, direct,
    /// social, referral): paid-heavy like the plan's shop. <see cref="LegacyOrderChannelWeights"/>: the earlier defaults.
    /// </summary>
    public IReadOnlyList<double> OrderChannelWeights { get; init; } = [0.10, 0.36, 0.10, 0.08, 0.28, 0.08];

    /// <summary>The order channel weights before the plan's shop (organic-heavy).</summary>
    public static IReadOnlyList<double> LegacyOrderChannelWeights { get; } = [0.30, 0.20, 0.12, 0.20, 0.12, 0.06];

    /// <summary>With <see cref="Faults"/>: probability that a valid row is followed by one injected fault row.</summary>
    public double FaultRate { get; init; } = 0.01;

    /// <summary>With <see cref="Faults"/>: each fault class is topped up to at least this many rows.</summary>
    public int MinFaultsPerClass { get; init; } = 3;

    // ---- Clickstream events (DatasetGenerator / EventGenerator only; OrderGenerator ignores them) ----

    /// <summary>Also write <c>events/events-YYYY-MM-DD.jsonl</c> (used by <see cref="DatasetGenerator.Generate"/>).</summary>
    public bool Events { get; init; } = true;

    /// <summary>Also inject four A/B tests with known truth as exposure events (<c>events/experiments.jsonl</c>, <see cref="ExperimentsInjector"/>). Default off.</summary>
    public bool Experiments { get; init; }

    /// <summary>
    /// Also inject five incidents with known truth (<see cref="AnomalyPlan"/>: a tracking outage, a mobile checkout bug, a
    /// bot storm, an AOV price glitch, an ad spend gap) for the KPI alerts to find; their truth goes to ground_truth.json's
    /// <c>anomalies</c>. Needs the clickstream, the shop traffic (<see cref="TargetConversion"/>) and at least
    /// <see cref="AnomalyPlan.MinDays"/> days. Default off.
    /// </summary>
    public bool Anomalies { get; init; }

    /// <summary>Browse sessions (no purchase) per customer: uniform on 0..this.</summary>
    public int MaxBrowseSessionsPerCustomer { get; init; } = 4;

    /// <summary>Visitors who never log in nor buy; null = 45% of <see cref="Customers"/> (about 30% of all visitors).</summary>
    public int? AnonymousVisitors { get; init; }

    /// <summary>Anonymous ids with a crawler / headless user agent (excluded by the user-agent rule).</summary>
    public int UserAgentBots { get; init; } = 6;

    /// <summary>Anonymous ids with a browser user agent that emit more than 60 events in one calendar minute.</summary>
    public int RateBots { get; init; } = 3;

    /// <summary>With <see cref="Faults"/>: anonymous ids whose single session lasts 4 days (quarantined as session_too_long).</summary>
    public int LongSessionVisitors { get; init; } = 3;

    /// <summary>With <see cref="Faults"/>: probability that a valid event line is followed by one injected fault line.</summary>
    public double EventFaultRate { get; init; } = 0.002;

    /// <summary>
    /// Session conversion (orders ÷ sessions) the traffic is sized for: after the customers' own sessions, anonymous
    /// one-session visitors are added per day until the day's sessions reach its orders ÷ this rate (a 15-day order
    /// average shaped by the day's weight). Null: no such traffic (only <see cref="AnonymousVisitors"/>).
    /// The plan scenario moves it toward 2.8%.
    /// </summary>
    public double? TargetConversion { get; init; } = ShopPlan.Baseline.Conversion;

    /// <summary>With <see cref="TargetConversion"/>: the share of each day's sessions from natural channels (organic search, organic social, referral, direct).</summary>
    public double NaturalShare { get; init; } = ShopPlan.Baseline.NaturalShare;

    /// <summary>
    /// ACoS of the generated ad spend (<c>ad_spend/ad_spend.csv</c>, with <see cref="TargetConversion"/>): spend per paid
    /// channel and day ≈ this × a weekly budget sized on the channel's order revenue of the five weeks around (±5% noise, raised on promotion days), times a per-channel factor
    /// (<see cref="ShopPlan.ChannelAcosFactor"/>: paid social dearer, e-mail and affiliates cheaper).
    /// </summary>
    public double Acos { get; init; } = ShopPlan.Baseline.Acos;

    /// <summary>Share of all event lines from bots (crawlers sized to it at the end); null: a fixed 2–4 crawls per crawler id.</summary>
    public double? BotEventShare { get; init; } = 0.03;

    /// <summary>Share of event lines whose occurred_at is written with a +08:00 offset (same instant).</summary>
    public double EventOffsetTimestampRate { get; init; } = 0.03;

    /// <summary>Share of event lines whose occurred_at is epoch milliseconds (a 13-digit JSON string).</summary>
    public double EventEpochMillisRate { get; init; } = 0.02;

    /// <summary>
    /// These options with the generator's defaults from before the plan's shop: first purchases uniform over the first
    /// 60% of the days, BG/NBD r = 0.75, α = 40, organic-heavy order channels, no traffic sized to a conversion rate (so
    /// no ad spend file and no shop block), a fixed 2–4 crawls per crawler id. Same seed → the same files as then.
    /// </summary>
    public GenerateOptions WithLegacyDefaults() => this with
    {
        AcquisitionFraction = 0.6,
        SeasonalAcquisition = false,
        Scenario = ShopScenario.Baseline,
        BgR = 0.75,
        BgAlpha = 40.0,
        OrderChannelWeights = LegacyOrderChannelWeights,
        TargetConversion = null,
        BotEventShare = null,
    };

    /// <summary>Last generated day (inclusive).</summary>
    public DateOnly EndDate => StartDate.AddDays(Days - 1);

    /// <summary>Checks every option; throws <see cref="GenerateOptionsException"/> (exit 2) for the first bad one.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new GenerateOptionsException(nameof(OutputDirectory), "is required");
        }
        if (Core.WritablePaths.DirectoryProblem(OutputDirectory) is { } problem)
        {
            throw new GenerateOptionsException(nameof(OutputDirectory), $"'{Path.GetFullPath(OutputDirectory)}' {problem} (--output)");
        }
        AtLeast(Customers, 1, nameof(Customers));
        if (Experiments && !Events)
        {
            throw new GenerateOptionsException(nameof(Experiments), "needs the clickstream (the exposures are events): drop --no-events");
        }
        if (Experiments && Days < 40)
        {
            throw new GenerateOptionsException(nameof(Days), Days, "must be at least 40 with --experiments (the tests run in the last five weeks)");
        }
        if (Anomalies && (!Events || TargetConversion is null))
        {
            throw new GenerateOptionsException(nameof(Anomalies), "needs the clickstream and the shop's traffic and ad spend: drop --no-events and --legacy-defaults");
        }
        if (Anomalies && Days < AnomalyPlan.MinDays)
        {
            throw new GenerateOptionsException(nameof(Days), Days, $"must be at least {AnomalyPlan.MinDays} with --anomalies (they come after the detector's 9-week warm-up)");
        }
        AtLeast(Days, 1, nameof(Days));
        AtLeast(MinFaultsPerClass, 0, nameof(MinFaultsPerClass));
        Positive(BgR, nameof(BgR));
        Positive(BgAlpha, nameof(BgAlpha));
        Positive(BgA, nameof(BgA));
        Positive(BgB, nameof(BgB));
        Positive(GgP, nameof(GgP));
        Positive(GgQ, nameof(GgQ));
        Positive(GgGamma, nameof(GgGamma));
        if (!(AcquisitionFraction > 0.0 && AcquisitionFraction <= 1.0))
        {
            throw new GenerateOptionsException(nameof(AcquisitionFraction), AcquisitionFraction, "must be in (0, 1]");
        }
        Probability(CancelledRate, nameof(CancelledRate));
        Probability(RefundedRate, nameof(RefundedRate));
        Probability(GuestRate, nameof(GuestRate));
        Probability(StatusCaseVariantRate, nameof(StatusCaseVariantRate));
        Probability(MissingEmailRate, nameof(MissingEmailRate));
        Probability(FaultRate, nameof(FaultRate));
        Probability(OffsetTimestampRate, nameof(OffsetTimestampRate));
        Probability(EpochSecondsRate, nameof(EpochSecondsRate));
        Probability(EpochMillisRate, nameof(EpochMillisRate));
        Probability(OffsetTimestampRate + EpochSecondsRate + EpochMillisRate, "timestamp variety rates (sum)");
        if (OrderChannelWeights.Count != OrderGenerator.Channels.Count || OrderChannelWeights.Any(w => !(w >= 0) || double.IsInfinity(w)) || !(OrderChannelWeights.Sum() > 0))
        {
            throw new GenerateOptionsException(nameof(OrderChannelWeights), $"must be {OrderGenerator.Channels.Count} non-negative weights with a positive sum");
        }
        if (TargetConversion is { } conversion && !(conversion > 0 && conversion < 1))
        {
            throw new GenerateOptionsException(nameof(TargetConversion), conversion, "must be in (0, 1)");
        }
        Probability(NaturalShare, nameof(NaturalShare));
        if (!(Acos >= 0 && Acos <= 10))
        {
            throw new GenerateOptionsException(nameof(Acos), Acos, "must be in [0, 10]");
        }
        if (BotEventShare is { } bots && !(bots >= 0 && bots < 0.5))
        {
            throw new GenerateOptionsException(nameof(BotEventShare), bots, "must be in [0, 0.5)");
        }
        if (StartDate.AddDays(Days - 1).Year > 9000)
        {
            throw new GenerateOptionsException(nameof(Days), Days, "makes the period end too late");
        }
    }

    internal static void AtLeast(int value, int minimum, string name)
    {
        if (value < minimum)
        {
            throw new GenerateOptionsException(name, value, minimum == 0 ? "must not be negative" : $"must be at least {minimum}");
        }
    }

    private static void Positive(double value, string name)
    {
        if (!(value > 0.0) || double.IsInfinity(value))
        {
            throw new GenerateOptionsException(name, value, "must be a positive finite number");
        }
    }

    internal static void Probability(double value, string name)
    {
        if (!(value >= 0.0 && value <= 1.0))
        {
            throw new GenerateOptionsException(name, value, "must be a probability in [0, 1]");
        }
    }
}

/// <summary>
/// A generator option out of range: a usage error (exit 2), unlike any other exception from the generator, which is
/// a bug. <see cref="ParamName"/> is the <see cref="GenerateOptions"/> property.
/// </summary>
public sealed class GenerateOptionsException : Core.PipelineException
{
    public GenerateOptionsException(string paramName, string problem)
        : base(Core.ExitCodes.UsageOrConfig, $"generate: {paramName} {problem}") => ParamName = paramName;

    public GenerateOptionsException(string paramName, object? value, string problem)
        : base(Core.ExitCodes.UsageOrConfig, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"generate: {paramName} {problem} (got {value})")) => ParamName = paramName;

    public GenerateOptionsException() : base(Core.ExitCodes.UsageOrConfig, "generate: invalid option") => ParamName = "";

    public GenerateOptionsException(string message) : base(Core.ExitCodes.UsageOrConfig, message) => ParamName = "";

    public GenerateOptionsException(string message, Exception inner) : base(Core.ExitCodes.UsageOrConfig, message, inner) => ParamName = "";

    /// <summary>The option's property name on <see cref="GenerateOptions"/>.</summary>
    public string ParamName { get; }
}
