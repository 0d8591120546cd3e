using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Generate;

/// <summary>What the generator knows to be true; serialised (snake_case) to <c>ground_truth.json</c>.</summary>
public sealed record GroundTruth
{
    public const string FileName = "ground_truth.json";

    public required string Generator { get; init; }
    public required long Seed { get; init; }
    public required bool Faults { get; init; }
    /// <summary>Time unit of every model parameter: "day".</summary>
    public required string Unit { get; init; }
    public required DateOnly StartDate { get; init; }
    /// <summary>Last generated day (inclusive).</summary>
    public required DateOnly EndDate { get; init; }
    public required int Days { get; init; }
    /// <summary>Exclusive end of the observation window: midnight UTC after <see cref="EndDate"/>.</summary>
    public required DateTimeOffset ObservationEnd { get; init; }
    public required string Currency { get; init; }
    public required double AcquisitionFraction { get; init; }
    public required BgNbdTruth BgNbd { get; init; }
    public required GammaGammaTruth GammaGamma { get; init; }
    public required ProcessCounts Counts { get; init; }
    public required OrdersAccounting Orders { get; init; }
    public required FormatCounts Formats { get; init; }
    public required IReadOnlyList<OrderFileInfo> Files { get; init; }
    public required string Notes { get; init; }
    /// <summary>Clickstream accounting; null (and omitted from the JSON) when no events were generated.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public EventsTruth? Events { get; init; }
    /// <summary>The plan's shop: true daily KPIs and the ad spend file; null (omitted) without <see cref="GenerateOptions.TargetConversion"/>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ShopTruth? Shop { get; init; }

    /// <summary>The injected A/B tests (<c>--experiments</c>); null (and omitted) otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ExperimentTruth>? Experiments { get; init; }

    /// <summary>The injected incidents (<c>--anomalies</c>, <see cref="AnomalyPlan"/>); null (and omitted) otherwise.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<AnomalyTruth>? Anomalies { get; init; }

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new UtcInstantConverter() },
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static GroundTruth Load(string path) =>
        JsonSerializer.Deserialize<GroundTruth>(File.ReadAllText(path), JsonOptions)
        ?? throw new InvalidDataException($"{path}: empty ground truth.");
}

/// <summary>BG/NBD: lambda ~ Gamma(shape r, rate alpha) per day, p ~ Beta(a, b).</summary>
public sealed record BgNbdTruth(double R, double Alpha, double A, double B);

/// <summary>Gamma-Gamma: nu ~ Gamma(shape q, rate gamma), spend z ~ Gamma(shape p, rate nu); E[z] = p·gamma/(q−1).</summary>
public sealed record GammaGammaTruth(double P, double Q, double Gamma);

public sealed record ProcessCounts
{
    public required long Customers { get; init; }
    /// <summary>All process purchases, first purchases included (= customers + repeat purchases).</summary>
    public required long ProcessPurchases { get; init; }
    public required long RepeatPurchases { get; init; }
    /// <summary>Customers not dropped out at the end of the period (latent, for P(alive) checks).</summary>
    public required long CustomersAliveAtEnd { get; init; }
    /// <summary>Customers with ≥ 2 process purchases on the same UTC day at least once.</summary>
    public required long CustomersWithSameDayRepeats { get; init; }
    /// <summary>Sum of total_amount over process purchases, in USD.</summary>
    public required decimal ProcessRevenue { get; init; }
    public required NoiseCounts NoiseOrders { get; init; }
    /// <summary>Guest orders (empty customer_id); same number as noise_orders.guest.</summary>
    public required long Guests { get; init; }
}

public sealed record NoiseCounts(long Cancelled, long Refunded, long Guest)
{
    public long Total => Cancelled + Refunded + Guest;
}

public sealed record OrdersAccounting
{
    /// <summary>Data rows in all files (headers excluded).</summary>
    public required long RowsRead { get; init; }
    /// <summary>Orders the pipeline should write: process + noise rows, each once.</summary>
    public required long RowsValidUnique { get; init; }
    /// <summary>Exact re-deliveries of a valid row (same order_id); counted, not quarantined.</summary>
    public required long Duplicates { get; init; }
    public required long DuplicatesSameFile { get; init; }
    public required long DuplicatesLaterFile { get; init; }
    public required QuarantineCounts Quarantined { get; init; }
    /// <summary>Rows with ordered_at after this instant are <c>future_timestamp</c> faults (end date + 365 days).</summary>
    public required DateTimeOffset FutureTimestampAfter { get; init; }
}

/// <summary>Quarantined rows by reason code (the property names are the codes).</summary>
public sealed record QuarantineCounts(
    long MalformedRow,
    long BadTimestamp,
    long MissingOrderId,
    long BadAmount,
    long UnknownStatus,
    long FutureTimestamp)
{
    public long Total => MalformedRow + BadTimestamp + MissingOrderId + BadAmount + UnknownStatus + FutureTimestamp;
}

/// <summary>How the valid rows were written (all forms are valid and denote the same instant / status).</summary>
public sealed record FormatCounts
{
    public required long OrderedAtIsoUtc { get; init; }
    public required long OrderedAtIsoOffset { get; init; }
    public required long OrderedAtEpochSeconds { get; init; }
    public required long OrderedAtEpochMillis { get; init; }
    public required long StatusCaseVariants { get; init; }
    public required long EmptyEmail { get; init; }
}

/// <summary>One delivered file.</summary>
/// <param name="Name">File name inside <c>orders/</c>.</param>
/// <param name="Bom">Starts with a UTF-8 byte order mark.</param>
/// <param name="Crlf">Lines end with CRLF (else LF).</param>
/// <param name="Gzip">gzip-compressed (<c>.csv.gz</c>).</param>
/// <param name="Rows">Data rows, header excluded.</param>
public sealed record OrderFileInfo(string Name, bool Bom, bool Crlf, bool Gzip, long Rows);

/// <summary>Instants as <c>2024-12-31T00:00:00Z</c> (UTC, whole seconds).</summary>
internal sealed class UtcInstantConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString() ?? throw new JsonException("instant expected"), System.Globalization.CultureInfo.InvariantCulture);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture));
}
