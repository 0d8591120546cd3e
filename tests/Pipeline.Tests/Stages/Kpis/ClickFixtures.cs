using System.Globalization;
using Pipeline.Engine.DuckDb;

namespace Pipeline.Tests.Stages.Kpis;

/// <summary>One hand-written session: the fields the KPI tables read; the rest get plausible values.</summary>
internal sealed record FixtureSession(string Id, string Anon, string? Customer, string StartedAt, string Channel,
    int ProductViews = 0, int AddToCarts = 0, int Checkouts = 0, int Purchases = 0, bool Bounce = false, bool Engaged = true);

/// <summary>One purchase event: links an order to the session it happened in.</summary>
internal sealed record FixturePurchase(string OrderId, string SessionId, string OccurredAt);

/// <summary>
/// Writes <c>sessions</c> and <c>clean/events</c> exactly as clean-clicks lays them out (same columns and types, Hive
/// partitions by date), so the KPI tests control every session's channel, start and funnel counts. The end-to-end
/// test checks these columns against what clean-clicks really writes.
/// </summary>
internal static class ClickFixtures
{
    public static readonly string[] NaturalChannels = ["organic_search", "organic_social", "referral", "direct"];

    public static void WriteSessions(string output, IReadOnlyList<FixtureSession> sessions)
    {
        var rows = sessions.Select(s => $"""
            ({S(s.Id)}, {S(s.Anon)}, {S(s.Customer)}, TIMESTAMPTZ '{s.StartedAt}+00', TIMESTAMPTZ '{s.StartedAt}+00' + INTERVAL 5 MINUTE,
             300.0, {s.ProductViews + s.AddToCarts + s.Checkouts + s.Purchases + 1}, 1, {s.ProductViews}, 0, {s.AddToCarts}, {s.Checkouts},
             {s.Purchases}, {B(s.Purchases > 0)}, {B(s.Bounce)}, {B(s.Engaged)}, 42.0, '/', '/', {S(s.Channel)},
             {B(NaturalChannels.Contains(s.Channel))}, NULL, NULL, NULL, 'desktop')
            """);
        Write(Path.Combine(output, "sessions"), "session_date", "started_at", $"""
            SELECT session_id, anonymous_key, customer_id, started_at, ended_at, CAST(duration_seconds AS DOUBLE) AS duration_seconds,
                   CAST(events AS INTEGER) AS events, CAST(page_views AS INTEGER) AS page_views, CAST(product_views AS INTEGER) AS product_views,
                   CAST(searches AS INTEGER) AS searches, CAST(add_to_carts AS INTEGER) AS add_to_carts, CAST(checkouts AS INTEGER) AS checkouts,
                   CAST(purchases AS INTEGER) AS purchases, is_converted, is_bounce, is_engaged, CAST(engaged_seconds AS DOUBLE) AS engaged_seconds,
                   landing_page_path, exit_page_path, channel, is_natural, CAST(utm_source AS VARCHAR) AS utm_source,
                   CAST(utm_medium AS VARCHAR) AS utm_medium, CAST(utm_campaign AS VARCHAR) AS utm_campaign, device_type,
                   CAST(started_at AS DATE) AS session_date
            FROM (VALUES {string.Join(",\n", rows)}) AS t(session_id, anonymous_key, customer_id, started_at, ended_at, duration_seconds,
                 events, page_views, product_views, searches, add_to_carts, checkouts, purchases, is_converted, is_bounce, is_engaged,
                 engaged_seconds, landing_page_path, exit_page_path, channel, is_natural, utm_source, utm_medium, utm_campaign, device_type)
            """);
    }

    /// <summary>clean/events holding only purchase events (what the KPI tables read from it), in the given sessions.</summary>
    public static void WritePurchaseEvents(string output, IReadOnlyList<FixtureSession> sessions, IReadOnlyList<FixturePurchase> purchases)
    {
        var rows = purchases.Select((p, i) =>
        {
            var s = sessions.Single(x => x.Id == p.SessionId);
            return $"({S("e" + i.ToString(CultureInfo.InvariantCulture))}, TIMESTAMPTZ '{p.OccurredAt}+00', {S(s.Anon)}, {S(s.Customer)}, {S(s.Id)}, {S(s.Channel)}, {B(NaturalChannels.Contains(s.Channel))}, {S(p.OrderId)})";
        });
        Write(Path.Combine(output, "clean", "events"), "event_date", "occurred_at", $"""
            SELECT event_id, occurred_at, 'purchase' AS event_type, anonymous_key, customer_id, session_id, CAST(2 AS INTEGER) AS session_event_seq,
                   'shop.example.com' AS page_host, '/checkout/done' AS page_path, CAST(NULL AS VARCHAR) AS referrer_host, channel, is_natural,
                   CAST(NULL AS VARCHAR) AS utm_source, CAST(NULL AS VARCHAR) AS utm_medium, CAST(NULL AS VARCHAR) AS utm_campaign,
                   CAST(NULL AS VARCHAR) AS product_id, order_id, CAST(NULL AS VARCHAR) AS search_term, 'desktop' AS device_type,
                   CAST(0 AS DOUBLE) AS engaged_seconds, false AS is_page_view, CAST(NULL AS VARCHAR) AS network_key, CAST(NULL AS VARCHAR) AS experiment_id, CAST(NULL AS VARCHAR) AS variant, CAST(occurred_at AS DATE) AS event_date
            FROM (VALUES {string.Join(",\n", rows)}) AS t(event_id, occurred_at, anonymous_key, customer_id, session_id, channel, is_natural, order_id)
            """);
    }

    private static void Write(string dir, string partition, string orderBy, string sql)
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(1));
        engine.WriteParquet($"SELECT * FROM ({sql}) ORDER BY {orderBy}", dir, [partition]);
    }

    private static string S(string? v) => v is null ? "CAST(NULL AS VARCHAR)" : "'" + v.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string B(bool v) => v ? "true" : "false";
}
