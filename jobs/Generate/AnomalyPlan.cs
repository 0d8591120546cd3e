using System.Globalization;

namespace Pipeline.Generate;

/// <summary>
/// One injected anomaly (ground_truth.json's <c>anomalies</c>): what was done, on which days, and what the KPI alerts
/// should say about it.
/// </summary>
/// <param name="Kind">tracking_outage, mobile_checkout_bug, bot_storm, aov_price_glitch, ad_spend_gap.</param>
/// <param name="StartDate">First day affected.</param>
/// <param name="EndDate">Last day affected (inclusive).</param>
/// <param name="ExpectedAlerts">Metrics (of <c>kpi/alerts</c>) expected to alert on the affected days, naming one of
/// <paramref name="Segments"/> (an overall alert whose explanation names it, or an alert of that segment itself).</param>
/// <param name="Segments">The segments (<c>device mobile</c>, <c>channel direct</c>) an alert may name as the source, or empty
/// when the change is spread over every segment (any alert of the metric counts).</param>
/// <param name="AffectedMetrics">Every metric the anomaly legitimately moves (an alert of one of them, in any dimension, on an affected day is a true alert).</param>
/// <param name="Description">In words, with the numbers.</param>
public sealed record AnomalyTruth(string Kind, DateOnly StartDate, DateOnly EndDate, IReadOnlyList<string> ExpectedAlerts, IReadOnlyList<string> Segments,
    IReadOnlyList<string> AffectedMetrics, string Description);

/// <summary>
/// <c>pipeline generate --anomalies</c>: five incidents with known truth, on days drawn from the seed after the
/// detector's 8-week warm-up, at least 3 days before and 14 days after every promotion of <see cref="ShopPlan.Promotions"/>
/// (known events, not anomalies: the detector does not learn from their days) and 5 days away from each other:
/// <list type="bullet">
/// <item><b>tracking_outage</b>: no event is written for 6 hours of one day (from a whole hour between 04:00 and 14:00 UTC);
/// the orders still happen (their purchase events are lost).</item>
/// <item><b>mobile_checkout_bug</b>: three days on which every order that would have been placed on a mobile device fails
/// with probability 1/2: the order does not exist, its session ends at begin_checkout. The orders are first given a device
/// type with the visitors' device weights (mobile 52%), so mobile conversion halves and the other devices keep theirs.</item>
/// <item><b>bot_storm</b>: one day, headless browsers with ordinary user agents (not caught by the bot rules) open as many
/// one-page desktop sessions, landing direct, as <see cref="BotStormShare"/> × the period's mean daily sessions.</item>
/// <item><b>aov_price_glitch</b>: one day, every order's total is doubled (a price bug).</item>
/// <item><b>ad_spend_gap</b>: one day without any ad spend row (the marketing export failed).</item>
/// </list>
/// The decisions use their own random stream (<c>Seed</c> xor a constant): without anomalies nothing changes (with them,
/// the files differ from the same seed's from the first lost order on: an unwritten row skips the draws of its formats).
/// </summary>
public sealed class AnomalyPlan
{
    private const long Salt = 0x0A70_3A11_E5AD_0C0DL;

    /// <summary>Days before the first anomaly: the detector's 8-week window plus a week.</summary>
    public const int WarmUpDays = 63;

    /// <summary>Shortest period that fits the warm-up and the five incidents.</summary>
    public const int MinDays = 112;

    /// <summary>Length of the tracking outage, hours.</summary>
    public const int OutageHours = 6;

    /// <summary>Bot-storm sessions per mean daily session of the period.</summary>
    public const double BotStormShare = 0.6;

    /// <summary>Probability that an order in the checkout-bug window is on a mobile device, and that such an order fails.</summary>
    public const double MobileShare = 0.52, MobileFailure = 0.5;

    private readonly Rng _rng;
    private readonly long _outageStartMs, _outageEndMs;
    private readonly long _bugStartSeconds, _bugEndSeconds, _glitchStartSeconds, _glitchEndSeconds;

    public DateOnly OutageDay { get; }
    public int OutageStartHour { get; }
    public DateOnly BugStart { get; }
    public DateOnly BotStormDay { get; }
    public DateOnly GlitchDay { get; }
    public DateOnly SpendGapDay { get; }

    private AnomalyPlan(GenerateOptions o)
    {
        var pick = new Rng(o.Seed ^ Salt);
        _rng = new Rng(o.Seed ^ Salt ^ 0x5A5A);
        var blocked = new HashSet<int>();
        foreach (var (range, _) in ShopPlan.Promotions(o.StartDate, o.Days))
        {
            var parts = range.Split("..");
            var from = DateOnly.ParseExact(parts[0], "yyyy-MM-dd", CultureInfo.InvariantCulture).DayNumber - o.StartDate.DayNumber;
            var to = DateOnly.ParseExact(parts[^1], "yyyy-MM-dd", CultureInfo.InvariantCulture).DayNumber - o.StartDate.DayNumber;
            // 3 days before, 14 after (the detector needs 6 usable weeks in its window: a promotion's days are not used).
            for (var d = from - 3; d <= to + 14; d++)
            {
                blocked.Add(d);
            }
        }
        // Five incidents (the checkout bug lasts three days), in a random order, each at a random free day.
        int[] lengths = [1, 3, 1, 1, 1];
        var starts = new int[lengths.Length];
        var order = Enumerable.Range(0, lengths.Length).ToArray();
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = pick.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        foreach (var k in order)
        {
            var free = Enumerable.Range(WarmUpDays, o.Days - WarmUpDays - lengths[k] + 1)
                .Where(s => Enumerable.Range(s, lengths[k]).All(d => !blocked.Contains(d)))
                .ToList();
            if (free.Count == 0)
            {
                throw new GenerateOptionsException(nameof(GenerateOptions.Days), o.Days,
                    "leaves no room for the anomalies after the 9-week warm-up, away from the promotions: make the period longer");
            }
            var s = free[pick.NextInt(free.Count)];
            starts[k] = s;
            for (var d = s - 5; d < s + lengths[k] + 5; d++)
            {
                blocked.Add(d);
            }
        }
        OutageDay = o.StartDate.AddDays(starts[0]);
        BugStart = o.StartDate.AddDays(starts[1]);
        BotStormDay = o.StartDate.AddDays(starts[2]);
        GlitchDay = o.StartDate.AddDays(starts[3]);
        SpendGapDay = o.StartDate.AddDays(starts[4]);
        OutageStartHour = 4 + pick.NextInt(11);
        _outageStartMs = Ms(OutageDay) + OutageStartHour * 3_600_000L;
        _outageEndMs = _outageStartMs + OutageHours * 3_600_000L;
        _bugStartSeconds = Ms(BugStart) / 1000;
        _bugEndSeconds = _bugStartSeconds + 3 * 86_400L;
        _glitchStartSeconds = Ms(GlitchDay) / 1000;
        _glitchEndSeconds = _glitchStartSeconds + 86_400L;
    }

    /// <summary>The plan of these options, or null without <see cref="GenerateOptions.Anomalies"/>.</summary>
    public static AnomalyPlan? For(GenerateOptions o) => o.Anomalies ? new AnomalyPlan(o) : null;

    private static long Ms(DateOnly d) => new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();

    /// <summary>An event at this instant is lost to the tracking outage.</summary>
    public bool InOutage(long ms) => ms >= _outageStartMs && ms < _outageEndMs;

    /// <summary>The order total as written: doubled on the glitch day.</summary>
    public long Total(long unixSeconds, long cents) => unixSeconds >= _glitchStartSeconds && unixSeconds < _glitchEndSeconds ? 2 * cents : cents;

    /// <summary>
    /// Inside the checkout-bug window: the device type index the order is placed on (<see cref="EventsCatalog.DeviceTypes"/>)
    /// and whether it fails; outside: (-1, false). Draws from the plan's own stream.
    /// </summary>
    public (int Device, bool Lost) Checkout(long unixSeconds)
    {
        if (unixSeconds < _bugStartSeconds || unixSeconds >= _bugEndSeconds)
        {
            return (-1, false);
        }
        var u = _rng.NextDouble();
        if (u < MobileShare)
        {
            return (1, _rng.NextDouble() < MobileFailure);
        }
        // Desktop and tablet in their visitors' proportion (0.40 : 0.08).
        return (u < MobileShare + (1 - MobileShare) * 0.40 / 0.48 ? 0 : 2, false);
    }

    /// <summary>The truth block.</summary>
    public IReadOnlyList<AnomalyTruth> Truth() =>
    [
        new("tracking_outage", OutageDay, OutageDay, ["event_hours"], [],
            ["event_hours", "sessions", "conversion_rate", "natural_traffic_share", "orders", "revenue", "new_customers", "aov", "acos"],
            $"No event written from {OutageStartHour:D2}:00 to {OutageStartHour + OutageHours:D2}:00 UTC (orders still placed; their purchase events lost)."),
        new("mobile_checkout_bug", BugStart, BugStart.AddDays(2), ["conversion_rate"], ["device mobile"],
            ["conversion_rate", "orders", "revenue", "new_customers", "aov", "acos"],
            "Three days on which each order falls on a mobile device with probability 0.52 and half of those fail (no order; the session ends at begin_checkout): mobile conversion halves."),
        new("bot_storm", BotStormDay, BotStormDay, ["sessions"], ["channel direct", "device desktop"],
            ["sessions", "conversion_rate", "natural_traffic_share"],
            $"Headless browsers with ordinary user agents (not caught by the bot rules): {BotStormShare:0.0} × the mean daily sessions as one-page desktop sessions landing direct."),
        new("aov_price_glitch", GlitchDay, GlitchDay, ["aov"], [],
            ["aov", "revenue", "acos"],
            "Every order's total doubled for one day (a price bug)."),
        new("ad_spend_gap", SpendGapDay, SpendGapDay, ["ad_spend"], [],
            ["ad_spend", "acos"],
            "No ad spend row for one day (the marketing export failed)."),
    ];
}
