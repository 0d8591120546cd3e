namespace Pipeline.Stages.Events;

/// <summary>The tables clean-clicks publishes.</summary>
internal static class EventsTables
{
    public static readonly TableSpec Events = new(TableNames.CleanEvents, "one row per kept event", ["event_id"], ["event_date"],
    [
        new("event_id", "VARCHAR", "The event's id (an id with e-mail-shaped text in it: its keyed hash)."),
        new("occurred_at", "TIMESTAMP WITH TIME ZONE", "When the event happened (UTC)."),
        new("event_type", "VARCHAR", "Canonical event type (page_view, product_view, add_to_cart, purchase, …)."),
        new("anonymous_key", "VARCHAR", "HMAC-SHA256 of the anonymous id."),
        new("customer_id", "VARCHAR", "The customer's id, stitched across the visitor's events; NULL when unknown. A user id with e-mail-shaped text in it is its keyed hash, as in clean/orders."),
        new("session_id", "VARCHAR", "The session the event belongs to."),
        new("session_event_seq", "INTEGER", "Position of the event in its session (1 = landing)."),
        new("page_host", "VARCHAR", "Host of the page."),
        new("page_path", "VARCHAR", "Path of the page (e-mail-shaped text redacted)."),
        new("referrer_host", "VARCHAR", "Host of the referrer."),
        new("channel", "VARCHAR", "The session's channel."),
        new("is_natural", "BOOLEAN", "The session's channel is organic search, organic social, referral or direct."),
        new("utm_source", "VARCHAR", "The event's own utm_source (e-mail-shaped text redacted)."),
        new("utm_medium", "VARCHAR", "The event's own utm_medium (e-mail-shaped text redacted)."),
        new("utm_campaign", "VARCHAR", "The event's own utm_campaign (e-mail-shaped text redacted)."),
        new("product_id", "VARCHAR", "Product of a product event (an id with e-mail-shaped text in it: its keyed hash)."),
        new("order_id", "VARCHAR", "Order of a purchase event (an id with e-mail-shaped text in it: its keyed hash)."),
        new("search_term", "VARCHAR", "Search term (e-mail-shaped text redacted, percent-encoded too)."),
        new("device_type", "VARCHAR", "Device type (desktop, mobile, tablet, …; e-mail-shaped text redacted)."),
        new("engaged_seconds", "DOUBLE", "Engaged time credited to the event, in seconds: a page view's (Snowplow's page-ping formula), or, in a session without pings, the time to the next event."),
        new("is_page_view", "BOOLEAN", "The event stands for a page view of its session: a page_view, or the first ping of a page view whose page_view event is not in the session (an earlier session's, or lost)."),
        new("network_key", "VARCHAR", "HMAC of the IP's /24 or /48 network when `events.ip` is `network_key`, else NULL."),
        new("experiment_id", "VARCHAR", "The A/B test of an `experiment_exposure` event; NULL on other events."),
        new("variant", "VARCHAR", "The variant the visitor was shown, on an `experiment_exposure` event; NULL on other events."),
        new("event_date", "DATE", "Partition: UTC date of `occurred_at`."),
    ])
    {
        Description = "Typed, deduplicated, bot-filtered, sessionized and identity-stitched clickstream events.",
    };

    public static readonly TableSpec Sessions = new(TableNames.Sessions, "one row per session", ["session_id"], ["session_date"],
    [
        new("session_id", "VARCHAR", "The session's id."),
        new("anonymous_key", "VARCHAR", "HMAC-SHA256 of the visitor's anonymous id."),
        new("customer_id", "VARCHAR", "The stitched customer id; NULL when unknown."),
        new("started_at", "TIMESTAMP WITH TIME ZONE", "First event of the session (UTC)."),
        new("ended_at", "TIMESTAMP WITH TIME ZONE", "Last event of the session (UTC)."),
        new("duration_seconds", "DOUBLE", "ended_at − started_at, in seconds."),
        new("events", "INTEGER", "Events in the session."),
        new("page_views", "INTEGER", "Page views: page_view events, plus the page views a ping-first session's pings belong to (`is_page_view`)."),
        new("product_views", "INTEGER", "Product view events."),
        new("searches", "INTEGER", "Search events."),
        new("add_to_carts", "INTEGER", "Add-to-cart events."),
        new("checkouts", "INTEGER", "Begin-checkout events."),
        new("purchases", "INTEGER", "Orders bought: distinct `order_id` of the purchase events (a purchase event without one counts once)."),
        new("is_converted", "BOOLEAN", "The session has a purchase."),
        new("is_bounce", "BOOLEAN", "Exactly one event that is neither a ping nor an experiment exposure (a ping-first session's page view counts as one)."),
        new("is_engaged", "BOOLEAN", "GA4: engaged time > 10 s, or ≥ 2 page/product views, or a conversion."),
        new("engaged_seconds", "DOUBLE", "Engaged time, in seconds: the sum over its events."),
        new("landing_page_path", "VARCHAR", "Path of the first page."),
        new("exit_page_path", "VARCHAR", "Path of the last page."),
        new("channel", "VARCHAR", "Channel of the landing event (paid_search, paid_social, email, affiliate, organic_social, organic_search, referral, direct, other)."),
        new("is_natural", "BOOLEAN", "The channel is organic search, organic social, referral or direct."),
        new("utm_source", "VARCHAR", "utm_source of the landing event."),
        new("utm_medium", "VARCHAR", "utm_medium of the landing event."),
        new("utm_campaign", "VARCHAR", "utm_campaign of the landing event."),
        new("device_type", "VARCHAR", "Device type of the session."),
        new("session_date", "DATE", "Partition: UTC date of `started_at`."),
    ])
    {
        Description = "Sessions (GA4/Snowplow rules: 30-minute inactivity, at most 72 hours) with their channel, engagement and funnel counts.",
    };

    public static readonly TableSpec Identities = new(TableNames.CleanIdentities, "one row per anonymous key in clean/events", ["anonymous_key"], [],
    [
        new("anonymous_key", "VARCHAR", "HMAC-SHA256 of the anonymous id."),
        new("customer_id", "VARCHAR", "The customer of the key's latest event in clean/events that has one (what an incremental run stitches the key's new events with when they carry no login); NULL when none has."),
        new("first_seen", "TIMESTAMP WITH TIME ZONE", "The key's first event in clean/events (UTC)."),
        new("last_seen", "TIMESTAMP WITH TIME ZONE", "The key's last event in clean/events (UTC)."),
    ])
    {
        Description = "Every visitor of clean/events with the customer it is stitched to: kept beside the events so that a nightly run learns the known identities without reading the whole event history.",
    };

    public static readonly TableSpec EventDays = new(TableNames.CleanEventDays, "one row per UTC day of the events read", ["event_date"], [],
    [
        new("event_date", "DATE", "The UTC date of the rows' timestamps. A row whose timestamp is missing, unreadable, before `quality.min_valid_date` or in the future is on no day (it is in the run's totals and in `quarantine/events`)."),
        new("rows_read", "BIGINT", "Rows read with a timestamp on that day: rows_kept + rows_quarantined + duplicates + bots_user_agent + bots_event_rate."),
        new("rows_kept", "BIGINT", "Rows kept: the day's rows of `clean/events`."),
        new("rows_quarantined", "BIGINT", "Rows quarantined (any reason, `session_too_long` included)."),
        new("duplicates", "BIGINT", "Later copies of an event id, dropped."),
        new("bots_user_agent", "BIGINT", "First copies dropped as bots by their user agent."),
        new("bots_event_rate", "BIGINT", "First copies dropped as bots by the rate rule (`events.max_events_per_minute`)."),
        new("active_hours", "INTEGER", "Hours of the UTC day (0–24) with at least one kept event: a tracker that went quiet for part of a day shows here (the alerts watch it). NULL on days published before this column existed, until the next full run."),
    ])
    {
        Description = "The books of clean-clicks per day (read = kept + quarantined + duplicates + bots), for watching the data's health day by day: the alerts' bot share and quarantine share. An incremental run rewrites the days of its window.",
    };

    public static readonly TableSpec Quarantine = new(TableNames.QuarantineEvents, "one row per rejected input row", ["source_file", "source_line"], [],
        QuarantineTables.With("The row as text: its own anonymous id, user agent and IP replaced by `<… redacted>`, any e-mail-, IPv4- or IPv6-shaped text redacted; in a line that is not a JSON object every word with a digit in it is `#`."))
    {
        Description = "Every event row that was not kept (bots and duplicates are counted, not quarantined), with its reason code.",
    };
}
