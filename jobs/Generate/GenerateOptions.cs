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

    /// <summary>First purchases are uniform over the first <c>AcquisitionFraction × Days</c> days.</summary>
    public double AcquisitionFraction { get; init; } = 0.6;

    // BG/NBD (Fader, Hardie & Lee 2005), in days: lambda ~ Gamma(shape R, rate Alpha), p ~ Beta(A, B).
    public double BgR { get; init; } = 0.75;
    public double BgAlpha { get; init; } = 40.0;
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

    /// <summary>With <see cref="Faults"/>: probability that a valid row is followed by one injected fault row.</summary>
    public double FaultRate { get; init; } = 0.01;

    /// <summary>With <see cref="Faults"/>: each fault class is topped up to at least this many rows.</summary>
    public int MinFaultsPerClass { get; init; } = 3;

    // ---- Clickstream events (DatasetGenerator / EventGenerator only; OrderGenerator ignores them) ----

    /// <summary>Also write <c>events/events-YYYY-MM-DD.jsonl</c> (used by <see cref="DatasetGenerator.Generate"/>).</summary>
    public bool Events { get; init; } = true;

    /// <summary>Also inject four A/B tests with known truth as exposure events (<c>events/experiments.jsonl</c>, <see cref="ExperimentsInjector"/>). Default off.</summary>
    public bool Experiments { get; init; }

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

    /// <summary>Share of event lines whose occurred_at is written with a +08:00 offset (same instant).</summary>
    public double EventOffsetTimestampRate { get; init; } = 0.03;

    /// <summary>Share of event lines whose occurred_at is epoch milliseconds (a 13-digit JSON string).</summary>
    public double EventEpochMillisRate { get; init; } = 0.02;

    /// <summary>Last generated day (inclusive).</summary>
    public DateOnly EndDate => StartDate.AddDays(Days - 1);

    /// <summary>Checks every option; throws <see cref="GenerateOptionsException"/> (exit 2) for the first bad one.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputDirectory))
        {
            throw new GenerateOptionsException(nameof(OutputDirectory), "is required");
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
