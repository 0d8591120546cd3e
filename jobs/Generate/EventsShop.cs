using System.Globalization;
using System.Text;

namespace Pipeline.Generate;

/// <summary>
/// The plan's shop on top of the customers' own clickstream (<see cref="GenerateOptions.TargetConversion"/> set):
/// per-day tallies of what the pipeline's KPIs count (sessions by start day, natural sessions, purchases, new customers
/// and 90-day repeaters, revenue by the channel of the session holding the purchase), anonymous traffic that brings each
/// day to its conversion and natural share, crawlers sized to <see cref="GenerateOptions.BotEventShare"/>, the ad spend
/// file, and the <see cref="ShopTruth"/>.
/// </summary>
public sealed partial class EventGenerator
{
    /// <summary>Written next to orders/ and events/ (with <see cref="GenerateOptions.TargetConversion"/>).</summary>
    public const string AdSpendFile = "ad_spend/ad_spend.csv";

    private const long AdSpendSalt = 0x00AD_5BE4_D000_0618;

    /// <summary>The shop's truth after <see cref="Complete"/>; null without <see cref="GenerateOptions.TargetConversion"/>.</summary>
    public ShopTruth? Shop { get; private set; }

    private long[]? _daySessions, _dayNatural, _dayOrders, _dayNew, _dayRepeaters, _dayFiller;
    private long[,]? _dayRevenue;
    private readonly List<long> _sessionStart = [];

    private bool ShopMode => _o.TargetConversion is not null;

    private void EnsureTallies()
    {
        if (_daySessions is not null)
        {
            return;
        }
        var n = _o.Days;
        _daySessions = new long[n];
        _dayNatural = new long[n];
        _dayOrders = new long[n];
        _dayNew = new long[n];
        _dayRepeaters = new long[n];
        _dayFiller = new long[n];
        _dayRevenue = new long[n, EventsCatalog.Channels.Length];
    }

    /// <summary>A valid order and the channel of the session holding its purchase event (cancelled orders are not purchases).</summary>
    private void TallyOrder(in OrderFact order, int channel)
    {
        if (!ShopMode || order.Kind is OrderKind.Cancelled or OrderKind.Lost)
        {
            return;
        }
        EnsureTallies();
        var day = DayIndex(order.OrderedAt.ToUnixTimeMilliseconds());
        _dayOrders![day]++;
        // Net revenue as the pipeline computes it for an order-level row: total − refunded (a refunded order nets 0).
        _dayRevenue![day, channel] += order.Kind == OrderKind.Refunded ? 0 : order.TotalCents;
    }

    /// <summary>The customer's first purchase day, and whether a second purchase follows within the repeat window (calendar days).</summary>
    private void TallyCustomer(IReadOnlyList<OrderFact> orders)
    {
        if (!ShopMode)
        {
            return;
        }
        EnsureTallies();
        DateOnly? first = null;
        foreach (var o in orders)
        {
            if (o.Kind is OrderKind.Cancelled or OrderKind.Lost)
            {
                continue;
            }
            var date = DateOnly.FromDateTime(o.OrderedAt.UtcDateTime);
            if (first is null)
            {
                first = date;
                _dayNew![date.DayNumber - _o.StartDate.DayNumber]++;
                continue;
            }
            if (date.DayNumber - first.Value.DayNumber <= ShopPlan.RepeatWindowDays)
            {
                _dayRepeaters![first.Value.DayNumber - _o.StartDate.DayNumber]++;
            }
            break;
        }
    }

    /// <summary>Counts the batch's human sessions by the day of their first event.</summary>
    private void TallySessions()
    {
        if (!ShopMode || _devices.Count == 0 || _devices[0].Kind is not (Kind.Customer or Kind.Guest or Kind.Anonymous))
        {
            return;
        }
        EnsureTallies();
        _sessionStart.Clear();
        for (var i = 0; i < _sessions.Count; i++)
        {
            _sessionStart.Add(long.MaxValue);
        }
        foreach (var ev in _events)
        {
            if (ev.Ms < _sessionStart[ev.Session])
            {
                _sessionStart[ev.Session] = ev.Ms;
            }
        }
        for (var i = 0; i < _sessions.Count; i++)
        {
            if (_sessionStart[i] == long.MaxValue)
            {
                continue;
            }
            var day = DayIndex(_sessionStart[i]);
            _daySessions![day]++;
            if (ShopPlan.IsNatural(_sessions[i].Channel))
            {
                _dayNatural![day]++;
            }
        }
    }

    private double Weight(int day) => _o.SeasonalAcquisition ? ShopPlan.DayWeight(_o.StartDate.AddDays(day)) : 1.0;

    /// <summary>
    /// Anonymous one-session visitors, day by day, until the day has sessions = its expected orders ÷ the day's target
    /// conversion (expected orders: the orders of the 57 days around it per unit of day weight, times the day's weight),
    /// with round(natural share × U(0.9, 1.1) × sessions) natural sessions where the customers' own sessions leave room.
    /// </summary>
    private void AddTraffic()
    {
        if (!ShopMode)
        {
            return;
        }
        EnsureTallies();
        for (var day = 0; day < _o.Days; day++)
        {
            double orders = 0, weights = 0;
            // The 57 days around (orders are noisy, traffic is not: a small shop's few orders must not swing its sessions).
            for (var k = Math.Max(0, day - 28); k <= Math.Min(_o.Days - 1, day + 28); k++)
            {
                orders += _dayOrders![k];
                weights += Weight(k);
            }
            var kpis = ShopPlan.At(_o, day + 0.5);
            var target = (long)Math.Round(orders / weights * Weight(day) / kpis.Conversion);
            var fill = Math.Max(0, target - _daySessions![day]);
            // The day's natural share varies ±10% around the aim (campaign days, a post that spreads): not a flat line.
            var share = kpis.NaturalShare * (0.9 + 0.2 * _rng.NextDouble());
            var natural = Math.Clamp((long)Math.Round(share * (_daySessions[day] + fill)) - _dayNatural![day], 0, fill);
            var dayStart = _startMs + day * Day;
            for (var i = 0L; i < fill; i++)
            {
                // Exactly `natural` of the `fill` sessions are natural, in random order.
                var isNatural = _rng.NextDouble() * (fill - i) < natural;
                if (isNatural)
                {
                    natural--;
                }
                var channel = PickChannel(isNatural ? ShopPlan.NaturalMix : ShopPlan.PaidMix);
                BeginBatch();
                NewDevice(Kind.Anonymous, null);
                AddVisit(0, dayStart, channel);
                Render();
                _dayFiller![day]++;
            }
        }
    }

    private int PickChannel((int Channel, double Weight)[] mix)
    {
        var u = _rng.NextDouble() * mix.Sum(m => m.Weight);
        foreach (var (channel, weight) in mix)
        {
            if (u < weight)
            {
                return channel;
            }
            u -= weight;
        }
        return mix[^1].Channel;
    }

    /// <summary>
    /// One visit inside the day starting at <paramref name="dayStart"/>: 45% bounce (one page view), else 1–3 more pages
    /// with 0–2 heartbeats each; a product page leads to an add-to-cart 6% of the time.
    /// </summary>
    private void AddVisit(int device, long dayStart, int channel)
    {
        BeginScript();
        var landing = RandomPage();
        if (landing.Page == Page.Search)
        {
            landing = (Page.Home, 0);
        }
        Visit(landing.Page, landing.Arg, 0, 0, pings: false);
        if (_rng.Bernoulli(0.45))
        {
            _steps.RemoveRange(1, _steps.Count - 1);
        }
        else
        {
            AddPings(_rng.NextInt(3));
            var pages = 1 + _rng.NextInt(3);
            for (var i = 0; i < pages; i++)
            {
                var (page, arg) = RandomPage();
                Visit(page, arg, BrowseGap(), 0, pings: false);
                if (page == Page.Product && _rng.Bernoulli(0.06))
                {
                    AddStep(EvType.AddToCart, 1000 + _rng.NextInt(4000), 0, product: arg);
                }
                AddPings(_rng.NextInt(3));
            }
        }
        long duration = 0;
        for (var i = 1; i < _steps.Count; i++)
        {
            duration += _steps[i].Gap;
        }
        var start = dayStart + (long)(_rng.NextDouble() * Math.Max(1, Day - duration - 1));
        var s = NewSession(channel);
        _sessions[s].End = start + duration;
        var t = start;
        for (var i = 0; i < _steps.Count; i++)
        {
            if (i > 0)
            {
                t += _steps[i].Gap;
            }
            var ev = _steps[i].Ev;
            ev.Ms = Math.Min(t, _endMs - 1);
            ev.Device = device;
            ev.Session = s;
            AddEvent(ev);
        }
        _devices[device].Busy.Add((start, start + duration));
    }

    private void AddPings(int n)
    {
        for (var i = 0; i < n; i++)
        {
            AddStep(EvType.PagePing, 10 * Second, 0);
        }
    }

    /// <summary>Crawls per crawler id so that bots make <see cref="GenerateOptions.BotEventShare"/> of all event lines (a crawl averages 60 page views).</summary>
    private int? CrawlsPerBot()
    {
        if (_o.BotEventShare is not { } share || _o.UserAgentBots == 0)
        {
            return null;
        }
        var needed = share / (1 - share) * _kept - _o.RateBots * (double)BurstEvents;
        return Math.Max(1, (int)Math.Ceiling(needed / 60.0 / _o.UserAgentBots));
    }

    /// <summary>Campaigns of the paid channels (the clickstream's utm_campaign values).</summary>
    private static readonly (int Channel, string[] Campaigns)[] PaidCampaigns =
    [
        (EventsCatalog.PaidSearch, ["brand", "generic", "spring"]),
        (EventsCatalog.PaidSocial, ["kol", "launch"]),
        (EventsCatalog.Email, ["weekly", "winback"]),
        (EventsCatalog.Affiliate, ["cps"]),
    ];

    /// <summary>
    /// The revenue per day each paid channel's daily budget is sized on: the channel's share of the period's revenue × the
    /// shop's daily revenue averaged over the 169 days centred on the day with triangular weights (85 − distance; cut at the
    /// period's ends, so one large order enters and leaves the average gradually), promotion days counted at
    /// their revenue ÷ <see cref="ShopPlan.PromotionFactor"/>. Spend = ACoS × channel factor × this (× the promotion factor
    /// on a promotion day): a smooth budget that follows the shop's growth, not each day's (or a small channel's) luck,
    /// with the ACoS aimed at kept on average.
    /// </summary>
    private double[,] DailyBudgets()
    {
        var channels = EventsCatalog.Channels.Length;
        var budgets = new double[_o.Days, channels];
        var total = new double[_o.Days];
        var byChannel = new double[channels];
        for (var k = 0; k < _o.Days; k++)
        {
            for (var c = 0; c < channels; c++)
            {
                total[k] += _dayRevenue![k, c] / ShopPlan.PromotionFactor(_o.StartDate.AddDays(k));
                byChannel[c] += _dayRevenue[k, c];
            }
        }
        var all = byChannel.Sum();
        for (var day = 0; day < _o.Days; day++)
        {
            double sum = 0, weights = 0;
            for (var k = Math.Max(0, day - 84); k <= Math.Min(_o.Days - 1, day + 84); k++)
            {
                var w = 85 - Math.Abs(k - day);
                sum += w * total[k];
                weights += w;
            }
            foreach (var (channel, _) in PaidCampaigns)
            {
                budgets[day, channel] = all > 0 ? sum / weights * byChannel[channel] / all : 0;
            }
        }
        return budgets;
    }

    /// <summary>Writes the ad spend file (or deletes a stale one) and returns the truth; null without shop mode.</summary>
    private ShopTruth? BuildShopTruth()
    {
        var path = Path.Combine(_o.OutputDirectory, AdSpendFile);
        if (!ShopMode)
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
            return null;
        }
        EnsureTallies();
        var rng = new Rng(_o.Seed ^ AdSpendSalt);
        var spend = new long[_o.Days, EventsCatalog.Channels.Length];
        var budgets = DailyBudgets();
        var csv = new StringBuilder("date,channel,campaign,spend\n");
        for (var day = 0; day < _o.Days; day++)
        {
            var date = _o.StartDate.AddDays(day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var acos = ShopPlan.At(_o, day + 0.5).Acos;
            var promotion = ShopPlan.PromotionFactor(_o.StartDate.AddDays(day));
            var gap = _plan is not null && _o.StartDate.AddDays(day) == _plan.SpendGapDay;
            foreach (var (channel, campaigns) in PaidCampaigns)
            {
                // A smooth daily budget per channel (see DailyBudgets), raised on promotion days; ±10% delivery noise.
                var cents = (long)Math.Round(acos * ShopPlan.ChannelAcosFactor(channel) * budgets[day, channel] * promotion * (0.9 + 0.2 * rng.NextDouble()));
                if (gap)
                {
                    // --anomalies: the marketing export of this day failed (no row; the draws above keep the other days').
                    cents = 0;
                }
                var shares = campaigns.Select(_ => 0.5 + rng.NextDouble()).ToArray();
                var left = cents;
                for (var c = 0; c < campaigns.Length; c++)
                {
                    var part = c == campaigns.Length - 1 ? left : (long)Math.Round(cents * shares[c] / shares.Sum());
                    left -= part;
                    if (part <= 0)
                    {
                        continue;
                    }
                    spend[day, channel] += part;
                    csv.Append(date).Append(',').Append(EventsCatalog.Channels[channel]).Append(',').Append(campaigns[c]).Append(',')
                        .Append((part / 100).ToString(CultureInfo.InvariantCulture)).Append('.').Append((part % 100).ToString("D2", CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, csv.ToString(), new UTF8Encoding(false));

        var paid = PaidCampaigns.Select(p => p.Channel).ToArray();
        var daily = new List<ShopDay>(_o.Days);
        for (var day = 0; day < _o.Days; day++)
        {
            var daySpend = paid.Sum(c => spend[day, c]);
            var paidRevenue = paid.Sum(c => _dayRevenue![day, c]);
            daily.Add(new ShopDay(_o.StartDate.AddDays(day), _daySessions![day], _dayNatural![day], _dayOrders![day], _dayNew![day], _dayRepeaters![day],
                _dayFiller![day], daySpend / 100m, paidRevenue / 100m, ShopPlan.At(_o, day + 0.5)));
        }
        var sessions = daily.Sum(d => d.Sessions);
        var orders = daily.Sum(d => d.Orders);
        var cohort = daily.Take(Math.Max(0, _o.Days - ShopPlan.RepeatWindowDays)).ToList();
        var totalSpend = daily.Sum(d => d.AdSpend);
        var totalPaid = daily.Sum(d => d.PaidRevenue);
        var acosByChannel = paid.ToDictionary(c => EventsCatalog.Channels[c], c =>
        {
            long s = 0, r = 0;
            for (var day = 0; day < _o.Days; day++)
            {
                s += spend[day, c];
                r += _dayRevenue![day, c];
            }
            return r > 0 ? (double?)s / r : null;
        }, StringComparer.Ordinal);
        return new ShopTruth
        {
            Scenario = _o.Scenario == ShopScenario.Plan ? "plan" : "baseline",
            AdSpendFile = AdSpendFile,
            RepeatWindowDays = ShopPlan.RepeatWindowDays,
            AimedAtStart = ShopPlan.At(_o, 0),
            AimedAtEnd = ShopPlan.At(_o, _o.Days),
            Sessions = sessions,
            NaturalSessions = daily.Sum(d => d.NaturalSessions),
            Orders = orders,
            Conversion = sessions > 0 ? (double)orders / sessions : null,
            NaturalShare = sessions > 0 ? (double)daily.Sum(d => d.NaturalSessions) / sessions : null,
            RepeatCohortCustomers = cohort.Sum(d => d.NewCustomers),
            RepeatCustomers = cohort.Sum(d => d.Repeaters),
            RepurchaseRate = cohort.Sum(d => d.NewCustomers) > 0 ? (double)cohort.Sum(d => d.Repeaters) / cohort.Sum(d => d.NewCustomers) : null,
            AdSpend = totalSpend,
            PaidRevenue = totalPaid,
            Acos = totalPaid > 0 ? (double)(totalSpend / totalPaid) : null,
            AcosByChannel = acosByChannel,
            Daily = daily,
            Notes = "Daily figures as the pipeline's KPIs count them: sessions by the UTC day of their first event (bots and "
                + "quarantined visitors excluded), orders = valid orders that are not cancelled (refunded ones count, with revenue 0), "
                + "new customers by the day of their first such order and repeaters among them (second order within repeat_window_days "
                + "calendar days), paid revenue = revenue of orders whose purchase session came from a paid channel with spend "
                + "(the pipeline's last non-direct-touch attribution moves a little more to paid channels), aimed = the KPIs the "
                + "generator aimed at that day. repurchase_rate covers the cohorts whose window ended within the period.",
        };
    }
}

/// <summary>The <c>shop</c> block of <c>ground_truth.json</c>: the true KPIs of the plan's shop, per day and over the period.</summary>
public sealed record ShopTruth
{
    public required string Scenario { get; init; }
    public required string AdSpendFile { get; init; }
    public required int RepeatWindowDays { get; init; }
    public required ShopKpis AimedAtStart { get; init; }
    public required ShopKpis AimedAtEnd { get; init; }
    public required long Sessions { get; init; }
    public required long NaturalSessions { get; init; }
    public required long Orders { get; init; }
    public required double? Conversion { get; init; }
    public required double? NaturalShare { get; init; }
    public required long RepeatCohortCustomers { get; init; }
    public required long RepeatCustomers { get; init; }
    public required double? RepurchaseRate { get; init; }
    public required decimal AdSpend { get; init; }
    public required decimal PaidRevenue { get; init; }
    public required double? Acos { get; init; }
    public required IReadOnlyDictionary<string, double?> AcosByChannel { get; init; }
    public required IReadOnlyList<ShopDay> Daily { get; init; }
    public required string Notes { get; init; }
}

/// <summary>One day of the shop's truth.</summary>
public sealed record ShopDay(DateOnly Date, long Sessions, long NaturalSessions, long Orders, long NewCustomers, long Repeaters, long TrafficVisitors,
    decimal AdSpend, decimal PaidRevenue, ShopKpis Aimed)
{
    public double? Conversion => Sessions > 0 ? (double)Orders / Sessions : null;

    public double? NaturalShare => Sessions > 0 ? (double)NaturalSessions / Sessions : null;
}
