namespace Pipeline.Stages.Events;

/// <summary>The tables clean-clicks publishes.</summary>
internal static class EventsTables
{
    public static readonly TableSpec Events = new(TableNames.CleanEvents, "one row per kept event", ["event_id"], ["event_date"], [])
    {
        Description = "Typed, deduplicated, bot-filtered, sessionized and identity-stitched clickstream events.",
    };

    public static readonly TableSpec Sessions = new(TableNames.Sessions, "one row per session", ["session_id"], ["session_date"], [])
    {
        Description = "Sessions (GA4/Snowplow rules: 30-minute inactivity, at most 72 hours) with their channel, engagement and funnel counts.",
    };

    public static readonly TableSpec Quarantine = new(TableNames.QuarantineEvents, "one row per rejected input row", ["source_file", "source_line"], [], [])
    {
        Description = "Every event row that was not kept (bots and duplicates are counted, not quarantined), with its reason code.",
    };
}
