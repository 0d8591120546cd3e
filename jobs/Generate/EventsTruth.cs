using System.Text.Json.Serialization;

namespace Pipeline.Generate;

/// <summary>
/// Clickstream ground truth (the <c>events</c> block of <c>ground_truth.json</c>).
/// Invariant: <c>rows_read = kept + duplicates + Σ quarantined + Σ bots</c>.
/// </summary>
public sealed record EventsTruth
{
    /// <summary>All data lines of all event files (faults included; there are no headers).</summary>
    public required long RowsRead { get; init; }
    /// <summary>Valid, first-seen, non-bot events that are not in a too-long session.</summary>
    public required long Kept { get; init; }
    /// <summary>Exact re-emissions of a kept event line (same event_id).</summary>
    public required long Duplicates { get; init; }
    public required long DuplicatesSameFile { get; init; }
    public required long DuplicatesLaterFile { get; init; }
    public required EventQuarantineCounts Quarantined { get; init; }
    public required BotCounts Bots { get; init; }
    /// <summary>Sessions among kept events, split per anonymous_id on gaps &gt; <see cref="EventRules.SessionTimeoutMinutes"/>.</summary>
    public required long Sessions { get; init; }
    /// <summary>Sessions containing at least one purchase event.</summary>
    public required long ConvertedSessions { get; init; }
    /// <summary>Sessions by the channel of their landing (first) event.</summary>
    public required ChannelCounts SessionsByChannel { get; init; }
    /// <summary>Kept purchase events (one per valid order: process, cancelled, refunded and guest orders).</summary>
    public required long PurchaseEvents { get; init; }
    /// <summary>Distinct anonymous_id values among kept events.</summary>
    public required long AnonymousIds { get; init; }
    /// <summary>Distinct anonymous_id values whose kept events carry a user_id at least once (stitched to a customer).</summary>
    public required long AnonymousIdsWithLogin { get; init; }
    /// <summary>Kept login events.</summary>
    public required long LoginEvents { get; init; }
    public required VisitorCounts Visitors { get; init; }
    public required EventFormatCounts Formats { get; init; }
    public required EventRules Rules { get; init; }
    public required IReadOnlyList<EventFileInfo> Files { get; init; }
    /// <summary>Raw identifiers that occur in the event files (for privacy scans of the outputs).</summary>
    public required RawPiiSample RawPii { get; init; }
}

/// <summary>Quarantined event lines by reason code (the property names are the codes).</summary>
public sealed record EventQuarantineCounts(
    long MalformedRow,
    long BadTimestamp,
    long MissingIdentity,
    long UnknownEventType,
    long FutureTimestamp,
    long SessionTooLong)
{
    /// <summary>Sum of the counts (not serialised: summing the JSON object's values gives the same).</summary>
    [JsonIgnore]
    public long Total => MalformedRow + BadTimestamp + MissingIdentity + UnknownEventType + FutureTimestamp + SessionTooLong;
}

/// <summary>Bot events by rule: <c>user_agent</c> (crawler pattern) and <c>event_rate</c> (&gt; 60 events in one calendar minute).</summary>
public sealed record BotCounts(long UserAgent, long EventRate)
{
    /// <summary>Sum of the counts (not serialised: summing the JSON object's values gives the same).</summary>
    [JsonIgnore]
    public long Total => UserAgent + EventRate;
}

/// <summary>Sessions by channel (the property names are the channel codes).</summary>
public sealed record ChannelCounts(
    long PaidSearch,
    long PaidSocial,
    long Email,
    long Affiliate,
    long OrganicSocial,
    long OrganicSearch,
    long Referral,
    long Direct)
{
    /// <summary>Sum of the counts (not serialised: summing the JSON object's values gives the same).</summary>
    [JsonIgnore]
    public long Total => PaidSearch + PaidSocial + Email + Affiliate + OrganicSocial + OrganicSearch + Referral + Direct;
}

/// <summary>Anonymous ids (devices) generated, by kind.</summary>
public sealed record VisitorCounts(
    long CustomerDevices,
    long GuestDevices,
    long AnonymousVisitors,
    long UserAgentBots,
    long RateBots,
    long LongSessionVisitors);

/// <summary>How occurred_at was written on kept events (every form denotes the same instant).</summary>
public sealed record EventFormatCounts(long OccurredAtIsoUtc, long OccurredAtIsoOffset, long OccurredAtEpochMillis);

/// <summary>The rules the counts above assume (the pipeline's defaults).</summary>
public sealed record EventRules
{
    public required int SessionTimeoutMinutes { get; init; }
    public required int MaxSessionDays { get; init; }
    public required int MaxEventsPerMinute { get; init; }
    /// <summary>Events with occurred_at after this instant are <c>future_timestamp</c> faults (end date + 365 days).</summary>
    public required DateTimeOffset FutureTimestampAfter { get; init; }
    /// <summary>Case-insensitive substrings of bot user agents.</summary>
    public required IReadOnlyList<string> BotUserAgentPatterns { get; init; }
    public required IReadOnlyList<string> EventTypes { get; init; }
}

/// <summary>One delivered event file (<c>events/</c>).</summary>
public sealed record EventFileInfo(string Name, bool Crlf, bool Gzip, long Rows);

/// <summary>Up to 20 raw values of each identifier that occur in the data.</summary>
public sealed record RawPiiSample(IReadOnlyList<string> AnonymousIds, IReadOnlyList<string> Ips, IReadOnlyList<string> UserAgents);
