using System.Globalization;

namespace Pipeline.Generate;

/// <summary>
/// Clickstream events derived from the orders (<c>events/events-YYYY-MM-DD.jsonl[.gz]</c>), attached to
/// <see cref="OrderGenerator.Generate"/> as its <see cref="IOrderObserver"/>. Use <see cref="DatasetGenerator.Generate"/>
/// for the whole dataset; or construct, pass to the order generator, then call <see cref="Complete"/> exactly once.
/// <para>
/// Every valid order gets exactly one <c>purchase</c> event at its <c>ordered_at</c> instant, in a session of the
/// customer's device (logged in) or of a guest device (anonymous). Customers also browse; anonymous-only visitors
/// browse; crawler and rate bots and (with faults) 4-day sessions are added; all counted in <see cref="EventsTruth"/>.
/// Memory is bounded by one visitor's events: each customer is rendered and written before the next one.
/// </para>
/// </summary>
public sealed partial class EventGenerator : IOrderObserver, IDisposable
{
    /// <summary>Sub-folder of the output directory receiving the event files.</summary>
    public const string FolderName = "events";

    private const long Second = 1000, Minute = 60 * Second, Hour = 60 * Minute, Day = 24 * Hour;
    /// <summary>A purchase session starts at least this long after the previous session of the device ends.</summary>
    private const long PurchaseSeparation = 35 * Minute;
    /// <summary>Browse sessions keep this distance from every other session of the device.</summary>
    private const long BrowseSeparation = 2 * Hour;
    private const int BurstEvents = 150;
    private const long BurstSpacing = 300;
    private const long LongSessionSpacing = 20 * Minute;
    private const int LongSessionEvents = 4 * 72 + 1;
    private const long Year2100Ms = 4_102_444_800_000;
    /// <summary>Xor-ed into the options' seed: the event stream never touches the order generator's stream.</summary>
    private const long SeedSalt = 0x5EED_E7E7_C11C_5A17;

    private readonly GenerateOptions _o;
    /// <summary>The incidents of <c>--anomalies</c> (the tracking outage, the bot storm, the ad spend gap); null without.</summary>
    private readonly AnomalyPlan? _plan;
    private readonly Rng _rng;
    private readonly EventFiles _files;
    private readonly long _startMs, _endMs, _futureAfterMs;
    private readonly ulong _idSalt;
    private readonly byte[] _line = new byte[4096];
    private int _len;

    // Per-visitor batch buffers (bounded by one customer's events).
    private readonly List<Device> _devices = [];
    private readonly List<Session> _sessions = [];
    private readonly List<Ev> _events = [];
    private readonly List<Step> _steps = [];
    private readonly List<string> _orderIds = [];

    private long _nextEvent = 1, _nextSession = 1;
    private ulong _nextDevice = 1;
    private bool _completed, _disposed;

    // Accounting.
    private long _kept, _purchases, _logins, _sessionCount, _converted, _anonIds, _anonIdsLogin;
    private readonly long[] _channels = new long[EventsCatalog.Channels.Length];
    private long _isoUtc, _isoOffset, _epochMs;
    private long _botsUa, _botsRate, _tooLong;
    private readonly long[] _faults = new long[FaultClassCount];
    private long _dupSame, _dupLater;
    private long _customerDevices, _guestDevices, _anonymousVisitors, _uaBots, _rateBots, _longVisitors;
    private readonly List<string> _piiAnon = [], _piiIp = [], _piiUa = [];

    // Fault template: the first kept event (for top-ups).
    private Ev _template;
    private EvRefs _templateRefs;
    private Device? _templateDevice;
    private string? _templateUser;
    private int _templateFile = -1;
    private byte[]? _templateLine;
    /// <summary>The first kept lines: distinct events to duplicate when topping up (never the same event twice).</summary>
    private readonly List<(long Number, byte[] Line, int File)> _dupCandidates = [];
    private readonly HashSet<long> _duplicated = [];

    /// <summary>Opens the day files (stale <c>events-*.jsonl*</c> files in <c>events/</c> are deleted first).</summary>
    public EventGenerator(GenerateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateOptions(options);
        _o = options;
        _plan = AnomalyPlan.For(options);
        _rng = new Rng(options.Seed ^ SeedSalt);
        _idSalt = _rng.NextUInt64();
        _startMs = new DateTimeOffset(options.StartDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
        _endMs = _startMs + options.Days * Day;
        _futureAfterMs = new DateTimeOffset(options.EndDate.AddDays(365).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();
        _files = new EventFiles(Path.Combine(options.OutputDirectory, FolderName), options.StartDate, options.Days, options.Faults);
    }

    /// <summary>The order options' checks plus the event options' (throws <see cref="GenerateOptionsException"/>).</summary>
    internal static void ValidateOptions(GenerateOptions o)
    {
        o.Validate();
        GenerateOptions.AtLeast(o.MaxBrowseSessionsPerCustomer, 0, nameof(o.MaxBrowseSessionsPerCustomer));
        if (o.AnonymousVisitors is { } a)
        {
            GenerateOptions.AtLeast(a, 0, nameof(o.AnonymousVisitors));
        }
        GenerateOptions.AtLeast(o.UserAgentBots, 0, nameof(o.UserAgentBots));
        GenerateOptions.AtLeast(o.RateBots, 0, nameof(o.RateBots));
        GenerateOptions.AtLeast(o.LongSessionVisitors, 0, nameof(o.LongSessionVisitors));
        GenerateOptions.Probability(o.EventFaultRate, nameof(o.EventFaultRate));
        GenerateOptions.Probability(o.EventOffsetTimestampRate, nameof(o.EventOffsetTimestampRate));
        GenerateOptions.Probability(o.EventEpochMillisRate, nameof(o.EventEpochMillisRate));
        GenerateOptions.Probability(o.EventOffsetTimestampRate + o.EventEpochMillisRate, "event timestamp variety rates (sum)");
    }

    // ---- model -------------------------------------------------------------------------------------------------

    private enum Kind : byte { Customer, Guest, Anonymous, UserAgentBot, RateBot, LongSession }

    private enum EvType : byte { PageView, PagePing, ProductView, Search, AddToCart, RemoveFromCart, BeginCheckout, Purchase, Login }

    private enum Page : byte { None, Home, Category, Product, Search, Cart, Checkout, Confirmation, Account }

    private enum TsForm : byte { IsoUtc, IsoOffset, EpochMillis }

    private enum Identity : byte { Present, Null, Omitted }

    private enum FaultClass { Duplicate, MalformedRow, BadTimestamp, MissingIdentity, UnknownEventType, FutureTimestamp }

    private const int FaultClassCount = 6;

    private sealed class Device
    {
        public required string AnonId;
        public required string UserAgent;
        public required string Ip;
        public required int DeviceType;
        public required Kind Kind;
        public string? UserId;
        public bool LoggedIn;
        public long Emitted;
        public Session? Last;
        public readonly List<(long Start, long End)> Busy = [];
    }

    private sealed class Session
    {
        public required long Number;
        public required int Channel;
        public required int Variant;
        public long End;
        public bool Converted;
        /// <summary>Every event fell in the tracking outage (<c>--anomalies</c>): not a session.</summary>
        public bool Unrecorded;
    }

    private struct Ev
    {
        public long Ms;
        public int Seq;
        public int Device;
        public int Session;
        public EvType Type;
        public Page Page;
        public int PageArg;
        public Page RefPage;
        public int RefArg;
        public bool Landing;
        public int Product;
        public int Term;
        public int Order;
        public bool ConditionalLogin;
        public bool ImpliesLogin;
    }

    /// <summary>
    /// What an <see cref="Ev"/> points at in its batch (its session's number and landing, its order id), resolved while the batch
    /// is current: an event kept beyond its batch (the fault template) must not index the lists of a later batch.
    /// </summary>
    private readonly record struct EvRefs(long SessionNumber, (string? Utm, string? Referrer) Landing, string? OrderId);

    /// <summary>One scripted event before timing: a fixed gap before it, or a share (weight) of the flexible time.</summary>
    private struct Step
    {
        public Ev Ev;
        public long Gap;
        public double Weight;
    }

    // ---- IOrderObserver ------------------------------------------------------------------------------------------

    /// <inheritdoc />
    public void OnCustomer(in CustomerFact customer, IReadOnlyList<OrderFact> orders)
    {
        ThrowIfCompleted();
        BeginBatch();
        var devices = _rng.Bernoulli(0.35) ? 2 : 1;
        for (var i = 0; i < devices; i++)
        {
            NewDevice(Kind.Customer, customer.CustomerId);
        }
        foreach (var order in orders)
        {
            var d = devices == 2 && _rng.Bernoulli(0.3) ? 1 : 0;
            var p = order.OrderedAt.ToUnixTimeMilliseconds();
            if (devices == 2 && Crowded(_devices[d], p) && !Crowded(_devices[1 - d], p))
            {
                d = 1 - d;
            }
            if (order.DeviceType >= 0)
            {
                d = DeviceOfType(order.DeviceType, customer.CustomerId);
            }
            AddPurchaseSession(d, p, order.OrderId, EventsCatalog.FromOrderChannel(order.Channel, _rng.NextDouble()), loggedIn: true);
            if (order.Kind == OrderKind.Lost)
            {
                FailCheckout(d);
                continue;
            }
            TallyOrder(order, _devices[d].Last!.Channel);
        }
        TallyCustomer(orders);
        var browse = _rng.NextInt(_o.MaxBrowseSessionsPerCustomer + 1);
        for (var i = 0; i < browse; i++)
        {
            AddBrowseSession(_rng.NextInt(devices), login: true);
        }
        Render();
    }

    /// <inheritdoc />
    public void OnGuestOrder(in OrderFact order)
    {
        ThrowIfCompleted();
        BeginBatch();
        NewDevice(Kind.Guest, null, deviceType: order.DeviceType);
        AddPurchaseSession(0, order.OrderedAt.ToUnixTimeMilliseconds(), order.OrderId,
            EventsCatalog.FromOrderChannel(order.Channel, _rng.NextDouble()), loggedIn: false);
        if (order.Kind == OrderKind.Lost)
        {
            FailCheckout(0);
        }
        else
        {
            TallyOrder(order, _devices[0].Last!.Channel);
        }
        if (_rng.Bernoulli(0.4))
        {
            AddBrowseSession(0, login: false);
        }
        Render();
    }

    /// <summary>
    /// Adds the visitors not tied to orders (anonymous, bots, too-long sessions), tops up the fault classes,
    /// closes the files and returns the truth. Call once, after the order generator has finished.
    /// </summary>
    public EventsTruth Complete()
    {
        ThrowIfCompleted();
        var anonymous = _o.AnonymousVisitors ?? (int)Math.Round(0.45 * _o.Customers);
        for (var i = 0; i < anonymous; i++)
        {
            BeginBatch();
            NewDevice(Kind.Anonymous, null);
            var sessions = 1 + _rng.NextInt(3);
            for (var s = 0; s < sessions; s++)
            {
                AddBrowseSession(0, login: false);
            }
            Render();
        }
        AddTraffic();
        AddBotStorm();
        var crawlsPerBot = CrawlsPerBot();
        for (var i = 0; i < _o.UserAgentBots; i++)
        {
            BeginBatch();
            NewDevice(Kind.UserAgentBot, null, EventsCatalog.BotUserAgents[i % EventsCatalog.BotUserAgents.Length]);
            var crawls = crawlsPerBot ?? 2 + _rng.NextInt(3);
            for (var s = 0; s < crawls; s++)
            {
                AddCrawl(0);
            }
            Render();
        }
        for (var i = 0; i < _o.RateBots; i++)
        {
            BeginBatch();
            NewDevice(Kind.RateBot, null);
            AddBurst(0);
            Render();
        }
        if (_o.Faults && _o.Days >= 5)
        {
            for (var i = 0; i < _o.LongSessionVisitors; i++)
            {
                BeginBatch();
                NewDevice(Kind.LongSession, null);
                AddLongSession(0);
                Render();
            }
        }
        if (_o.Faults)
        {
            TopUpFaults();
        }
        _completed = true;
        _files.Complete();
        Shop = BuildShopTruth();
        return BuildTruth();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _files.Dispose();
    }

    private void ThrowIfCompleted()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed)
        {
            throw new InvalidOperationException("EventGenerator.Complete was already called.");
        }
    }

    // ---- visitors and sessions -----------------------------------------------------------------------------------

    private void BeginBatch()
    {
        _devices.Clear();
        _sessions.Clear();
        _events.Clear();
        _orderIds.Clear();
    }

    /// <summary>The customer's device of that type (the checkout bug places orders by device type), a new one if it has none.</summary>
    private int DeviceOfType(int type, string? userId)
    {
        for (var i = 0; i < _devices.Count; i++)
        {
            if (_devices[i].DeviceType == type)
            {
                return i;
            }
        }
        return NewDevice(Kind.Customer, userId, deviceType: type);
    }

    /// <summary>The order just added failed at checkout (the checkout bug): its purchase event goes, its session ends at begin_checkout.</summary>
    private void FailCheckout(int device)
    {
        var order = _orderIds.Count - 1;
        _events.RemoveAll(e => e.Type == EvType.Purchase && e.Order == order);
        var session = _devices[device].Last!;
        session.Converted = _events.Exists(e => e.Type == EvType.Purchase && _sessions[e.Session] == session);
    }

    /// <summary>
    /// <c>--anomalies</c>' bot storm: headless browsers with ordinary user agents (not caught by the bot rules), one one-page
    /// desktop session each landing direct on the storm day, <see cref="AnomalyPlan.BotStormShare"/> × the mean daily sessions.
    /// </summary>
    private void AddBotStorm()
    {
        if (_plan is null)
        {
            return;
        }
        var dayStart = _startMs + (_plan.BotStormDay.DayNumber - _o.StartDate.DayNumber) * Day;
        var storm = (long)Math.Round(AnomalyPlan.BotStormShare * _sessionCount / _o.Days);
        for (var i = 0L; i < storm; i++)
        {
            BeginBatch();
            NewDevice(Kind.Anonymous, null, deviceType: 0);
            var s = NewSession(EventsCatalog.Direct);
            var t = dayStart + (long)(_rng.NextDouble() * (Day - 1));
            _sessions[s].End = t;
            AddEvent(new Ev { Ms = t, Device = 0, Session = s, Type = EvType.PageView, Page = Page.Home, Landing = true, Order = -1, Term = -1 });
            Render();
        }
    }

    private int NewDevice(Kind kind, string? userId, string? botUserAgent = null, int deviceType = -1)
    {
        var type = Pick(EventsCatalog.DeviceWeights);
        if (deviceType >= 0)
        {
            type = deviceType;
        }
        var uas = EventsCatalog.BrowserUserAgents[type];
        var ua = botUserAgent ?? uas[_rng.NextInt(uas.Length)];
        if (botUserAgent is not null)
        {
            type = 0;
        }
        var ip = EventsCatalog.IpPrefixes[_rng.NextInt(EventsCatalog.IpPrefixes.Length)]
            + (1 + _rng.NextInt(254)).ToString(CultureInfo.InvariantCulture);
        var device = new Device
        {
            AnonId = "a-" + Mix(_nextDevice++ ^ _idSalt).ToString("x16", CultureInfo.InvariantCulture),
            UserAgent = ua,
            Ip = ip,
            DeviceType = type,
            Kind = kind,
            UserId = userId,
        };
        _devices.Add(device);
        return _devices.Count - 1;
    }

    /// <summary>SplitMix64 finaliser: a bijection, so distinct device numbers give distinct anonymous ids.</summary>
    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    private int Pick(double[] weights)
    {
        var u = _rng.NextDouble();
        var acc = 0.0;
        for (var i = 0; i < weights.Length - 1; i++)
        {
            acc += weights[i];
            if (u < acc)
            {
                return i;
            }
        }
        return weights.Length - 1;
    }

    private int NewSession(int channel)
    {
        var variants = EventsCatalog.Landings[channel];
        _sessions.Add(new Session { Number = _nextSession++, Channel = channel, Variant = _rng.NextInt(variants.Length) });
        return _sessions.Count - 1;
    }

    /// <summary>Too close to the device's previous session for a separate purchase session.</summary>
    private static bool Crowded(Device d, long purchaseMs) => d.Last is not null && purchaseMs - d.Last.End <= PurchaseSeparation + 2 * Minute;

    private void AddPurchaseSession(int device, long p, string orderId, int channel, bool loggedIn)
    {
        var dev = _devices[device];
        _orderIds.Add(orderId);
        var order = _orderIds.Count - 1;
        if (Crowded(dev, p))
        {
            Continue(device, p, order, loggedIn);
            return;
        }
        var lower = Math.Max(_startMs, dev.Last is null ? long.MinValue : dev.Last.End + PurchaseSeparation);
        var available = p - lower;
        var s = NewSession(channel);
        var session = _sessions[s];
        session.Converted = true;
        session.End = p;
        long start;
        if (available < 2 * Minute)
        {
            // Only near the start of the period: a minimal session that fits in the time left.
            start = MinimalPurchase(device, s, p, available, order, loggedIn);
        }
        else
        {
            var product = 1 + _rng.NextInt(EventsCatalog.Products);
            var duration = (long)((2.0 + 38.0 * _rng.NextDouble()) * Minute);
            BuildPurchaseSteps(product, order, loggedIn, pings: true);
            var (fix, nav) = Budget();
            if (fix + nav * 20 * Second > available)
            {
                BuildPurchaseSteps(product, order, loggedIn, pings: false);
                (fix, nav) = Budget();
            }
            // available ≥ 2 min exceeds the fixed gaps without heartbeats (≤ ~30 s), so every nav gap stays positive.
            duration = Math.Clamp(duration, Math.Min(fix + nav * 20 * Second, available), available);
            start = p - duration;
            PlaceWeighted(device, s, start, p, duration - fix);
        }
        dev.Busy.Add((start, p));
        dev.Last = session;
    }

    /// <summary>The order falls within ~37 minutes of the device's previous purchase: the same session goes on to check out again.</summary>
    private void Continue(int device, long p, int order, bool loggedIn)
    {
        var dev = _devices[device];
        var session = dev.Last!;
        var s = _sessions.IndexOf(session);
        var from = session.End;
        var half = from + (p - from) / 2;
        if (loggedIn)
        {
            AddEvent(new Ev { Ms = from + (p - from) / 4, Device = device, Session = s, Type = EvType.Login, Page = Page.Account, RefPage = Page.Confirmation, ConditionalLogin = true, Order = -1, Term = -1 });
        }
        AddEvent(new Ev { Ms = half, Device = device, Session = s, Type = EvType.BeginCheckout, Page = Page.Checkout, RefPage = Page.Cart, Order = -1, Term = -1 });
        AddEvent(new Ev { Ms = p, Device = device, Session = s, Type = EvType.Purchase, Page = Page.Confirmation, RefPage = Page.Checkout, Order = order, Term = -1 });
        var busy = dev.Busy[^1];
        dev.Busy[^1] = (busy.Start, p);
        session.End = p;
    }

    private long MinimalPurchase(int device, int s, long p, long available, int order, bool loggedIn)
    {
        var product = 1 + _rng.NextInt(EventsCatalog.Products);
        if (available < 2)
        {
            // The order is at the very first instant of the period: the purchase itself is the landing event.
            AddEvent(new Ev { Ms = p, Device = device, Session = s, Type = EvType.Purchase, Page = Page.Confirmation, Landing = true, Order = order, Term = -1, ImpliesLogin = loggedIn });
            return p;
        }
        var start = p - available;
        AddEvent(new Ev { Ms = start, Device = device, Session = s, Type = EvType.PageView, Page = Page.Product, PageArg = product, Landing = true, Order = -1, Term = -1 });
        if (loggedIn)
        {
            AddEvent(new Ev { Ms = p - available / 2, Device = device, Session = s, Type = EvType.Login, Page = Page.Product, PageArg = product, ConditionalLogin = true, Order = -1, Term = -1 });
        }
        AddEvent(new Ev { Ms = p, Device = device, Session = s, Type = EvType.Purchase, Page = Page.Confirmation, RefPage = Page.Checkout, Order = order, Term = -1 });
        return start;
    }

    private (long Fixed, int Nav) Budget()
    {
        long fix = 0;
        var nav = 0;
        for (var i = 1; i < _steps.Count; i++)
        {
            if (_steps[i].Weight > 0)
            {
                nav++;
            }
            else
            {
                fix += _steps[i].Gap;
            }
        }
        return (fix, nav);
    }

    // Script state: the page the visitor is on and the page before it (internal referrer).
    private Page _page, _refPage;
    private int _pageArg, _refArg;

    private void BeginScript()
    {
        _steps.Clear();
        _page = _refPage = Page.None;
        _pageArg = _refArg = 0;
    }

    private void AddStep(EvType type, long gap, double weight, int product = 0, int term = -1, int order = -1, bool conditionalLogin = false)
    {
        var landing = _steps.Count == 0;
        _steps.Add(new Step
        {
            Gap = gap,
            Weight = weight,
            Ev = new Ev
            {
                Type = type,
                Page = _page,
                PageArg = _pageArg,
                RefPage = _refPage,
                RefArg = _refArg,
                Landing = landing,
                Product = product,
                Term = term,
                Order = order,
                ConditionalLogin = conditionalLogin,
            },
        });
    }

    /// <summary>Navigates to a page: page_view (+ product_view / search), then 0–6 heartbeats 10 s apart.</summary>
    private void Visit(Page page, int arg, long gap, double weight, bool pings)
    {
        if (_steps.Count > 0)
        {
            _refPage = _page;
            _refArg = _pageArg;
        }
        _page = page;
        _pageArg = arg;
        AddStep(EvType.PageView, gap, weight);
        if (page == Page.Product)
        {
            AddStep(EvType.ProductView, 150 + _rng.NextInt(1500), 0, product: arg);
        }
        else if (page == Page.Search)
        {
            AddStep(EvType.Search, 150 + _rng.NextInt(1500), 0, term: arg);
        }
        if (pings)
        {
            var n = _rng.NextInt(7);
            for (var i = 0; i < n; i++)
            {
                AddStep(EvType.PagePing, 10 * Second, 0);
            }
        }
    }

    private (Page Page, int Arg) RandomPage()
    {
        var u = _rng.NextDouble();
        return u < 0.55 ? (Page.Product, 1 + _rng.NextInt(EventsCatalog.Products))
            : u < 0.75 ? (Page.Category, _rng.NextInt(EventsCatalog.Categories.Length))
            : u < 0.92 ? (Page.Search, _rng.NextInt(EventsCatalog.SearchTerms.Length))
            : (Page.Home, 0);
    }

    private double NavWeight() => 0.5 + _rng.NextDouble();

    private void BuildPurchaseSteps(int product, int order, bool loggedIn, bool pings)
    {
        BeginScript();
        var landing = RandomPage();
        if (landing.Page == Page.Search)
        {
            landing = (Page.Home, 0);
        }
        Visit(landing.Page, landing.Arg, 0, 0, pings);
        var middle = _rng.NextInt(4);
        for (var i = 0; i < middle; i++)
        {
            var (page, arg) = RandomPage();
            Visit(page, arg, 0, NavWeight(), pings);
        }
        Visit(Page.Product, product, 0, NavWeight(), pings);
        var other = _rng.Bernoulli(0.15) ? 1 + _rng.NextInt(EventsCatalog.Products) : 0;
        if (other > 0)
        {
            AddStep(EvType.AddToCart, 1000 + _rng.NextInt(4000), 0, product: other);
        }
        AddStep(EvType.AddToCart, 1000 + _rng.NextInt(4000), 0, product: product);
        if (loggedIn)
        {
            AddStep(EvType.Login, 1000 + _rng.NextInt(4000), 0, conditionalLogin: true);
        }
        Visit(Page.Cart, 0, 0, NavWeight(), pings: false);
        if (other > 0)
        {
            AddStep(EvType.RemoveFromCart, 1000 + _rng.NextInt(4000), 0, product: other);
        }
        Visit(Page.Checkout, 0, 0, NavWeight(), pings: false);
        _steps[^1] = _steps[^1] with { Ev = _steps[^1].Ev with { Type = EvType.BeginCheckout } };
        Visit(Page.Confirmation, 0, 0, NavWeight(), pings: false);
        _steps[^1] = _steps[^1] with { Ev = _steps[^1].Ev with { Type = EvType.Purchase, Order = order } };
    }

    /// <summary>Times the steps from <paramref name="start"/> to <paramref name="end"/>: fixed gaps as drawn, the flexible time split by weight.</summary>
    private void PlaceWeighted(int device, int session, long start, long end, long flexible)
    {
        var total = 0.0;
        for (var i = 1; i < _steps.Count; i++)
        {
            total += _steps[i].Weight;
        }
        var t = start;
        for (var i = 0; i < _steps.Count; i++)
        {
            var step = _steps[i];
            if (i > 0)
            {
                t += step.Weight > 0 ? (long)(flexible * step.Weight / total) : step.Gap;
            }
            var ev = step.Ev;
            ev.Ms = i == _steps.Count - 1 ? end : Math.Min(t, end);
            ev.Device = device;
            ev.Session = session;
            AddEvent(ev);
        }
    }

    private void AddBrowseSession(int device, bool login)
    {
        var dev = _devices[device];
        BeginScript();
        var landing = RandomPage();
        if (_rng.Bernoulli(0.35))
        {
            Visit(landing.Page == Page.Search ? Page.Home : landing.Page, landing.Page == Page.Search ? 0 : landing.Arg, 0, 0, pings: false);
            // A bounce is a single page_view.
            _steps.RemoveRange(1, _steps.Count - 1);
        }
        else
        {
            Visit(landing.Page == Page.Search ? Page.Home : landing.Page, landing.Page == Page.Search ? 0 : landing.Arg, 0, 0, pings: true);
            var pages = 1 + _rng.NextInt(5);
            var cart = 0;
            var loginAt = login && _rng.Bernoulli(0.25) ? _rng.NextInt(pages) : -1;
            for (var i = 0; i < pages; i++)
            {
                var (page, arg) = RandomPage();
                Visit(page, arg, BrowseGap(), 0, pings: true);
                if (page == Page.Product && cart == 0 && _rng.Bernoulli(0.2))
                {
                    cart = arg;
                    AddStep(EvType.AddToCart, 1000 + _rng.NextInt(4000), 0, product: arg);
                }
                else if (cart > 0 && _rng.Bernoulli(0.3))
                {
                    AddStep(EvType.RemoveFromCart, 1000 + _rng.NextInt(4000), 0, product: cart);
                    cart = -1;
                }
                if (i == loginAt)
                {
                    AddStep(EvType.Login, 1000 + _rng.NextInt(4000), 0, conditionalLogin: true);
                }
            }
        }
        long duration = 0;
        for (var i = 1; i < _steps.Count; i++)
        {
            duration += _steps[i].Gap;
        }
        var span = _endMs - _startMs - duration - 1;
        if (span <= 0)
        {
            return;
        }
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var start = _startMs + (long)(_rng.NextDouble() * span);
            var end = start + duration;
            var free = true;
            foreach (var (s, e) in dev.Busy)
            {
                if (start - BrowseSeparation <= e && end + BrowseSeparation >= s)
                {
                    free = false;
                    break;
                }
            }
            if (!free)
            {
                continue;
            }
            var session = NewSession(Pick(EventsCatalog.BrowseChannelWeights));
            _sessions[session].End = end;
            var t = start;
            for (var i = 0; i < _steps.Count; i++)
            {
                if (i > 0)
                {
                    t += _steps[i].Gap;
                }
                var ev = _steps[i].Ev;
                ev.Ms = t;
                ev.Device = device;
                ev.Session = session;
                AddEvent(ev);
            }
            dev.Busy.Add((start, end));
            return;
        }
    }

    /// <summary>Time to the next page: 2 s plus an exponential with mean 75 s, at most 20 minutes.</summary>
    private long BrowseGap() => Math.Min(20 * Minute, 2 * Second + (long)(_rng.Exponential(1.0 / 75.0) * Second));

    /// <summary>A crawler walk: 20–100 page_views 2–8 s apart.</summary>
    private void AddCrawl(int device)
    {
        var n = 20 + _rng.NextInt(81);
        var start = _startMs + (long)(_rng.NextDouble() * (_endMs - _startMs - n * 8 * Second - 1));
        var s = NewSession(EventsCatalog.Direct);
        BeginScript();
        var t = Math.Max(_startMs, start);
        for (var i = 0; i < n; i++)
        {
            var (page, arg) = RandomPage();
            Visit(page == Page.Search ? Page.Category : page, page == Page.Search ? arg % EventsCatalog.Categories.Length : arg, 0, 0, pings: false);
        }
        for (var i = 0; i < _steps.Count; i++)
        {
            if (_steps[i].Ev.Type != EvType.PageView)
            {
                continue;
            }
            var ev = _steps[i].Ev;
            ev.Ms = t;
            ev.Device = device;
            ev.Session = s;
            ev.Landing = i == 0;
            AddEvent(ev);
            t += 2 * Second + _rng.NextInt(6001);
        }
    }

    /// <summary>150 page_views 0.3 s apart from second :05 of one calendar minute (all inside that minute).</summary>
    private void AddBurst(int device)
    {
        var minutes = (int)((_endMs - _startMs) / Minute);
        var t = _startMs + _rng.NextInt(minutes) * Minute + 5 * Second;
        var s = NewSession(EventsCatalog.Direct);
        for (var i = 0; i < BurstEvents; i++)
        {
            AddEvent(new Ev
            {
                Ms = t + i * BurstSpacing, Device = device, Session = s, Type = EvType.PageView, Page = Page.Product,
                PageArg = 1 + _rng.NextInt(EventsCatalog.Products), Landing = i == 0, Order = -1, Term = -1,
            });
        }
    }

    /// <summary>A page_view every 20 minutes for 4 days: one session longer than 3 days.</summary>
    private void AddLongSession(int device)
    {
        var span = _endMs - _startMs - (LongSessionEvents - 1) * LongSessionSpacing - Hour;
        var t = _startMs + (long)(_rng.NextDouble() * span);
        var s = NewSession(EventsCatalog.Direct);
        for (var i = 0; i < LongSessionEvents; i++)
        {
            AddEvent(new Ev
            {
                Ms = t + i * LongSessionSpacing, Device = device, Session = s, Type = EvType.PageView, Page = Page.Category,
                PageArg = _rng.NextInt(EventsCatalog.Categories.Length), RefPage = i == 0 ? Page.None : Page.Home,
                Landing = i == 0, Order = -1, Term = -1,
            });
        }
    }

    private void AddEvent(Ev ev)
    {
        ev.Seq = _events.Count;
        _events.Add(ev);
    }

    // ---- rendering -------------------------------------------------------------------------------------------------

    /// <summary>Writes the batch: per device in time order, applying logins; then counts its sessions.</summary>
    private void Render()
    {
        // --anomalies' tracking outage: nothing is recorded for six hours (the 4-day fault sessions excepted, whose
        // quarantine count the truth states); sessions left without events do not exist, purchases lost unconvert theirs.
        if (_plan is not null && _devices.Count > 0 && _devices[0].Kind != Kind.LongSession && _events.RemoveAll(e => _plan.InOutage(e.Ms)) > 0)
        {
            foreach (var session in _sessions)
            {
                session.Unrecorded = true;
                session.Converted = false;
            }
            foreach (var e in _events)
            {
                _sessions[e.Session].Unrecorded = false;
                if (e.Type == EvType.Purchase)
                {
                    _sessions[e.Session].Converted = true;
                }
            }
        }
        _events.Sort(static (a, b) =>
        {
            var c = a.Device.CompareTo(b.Device);
            if (c != 0)
            {
                return c;
            }
            c = a.Ms.CompareTo(b.Ms);
            return c != 0 ? c : a.Seq.CompareTo(b.Seq);
        });
        foreach (var ev in _events)
        {
            var dev = _devices[ev.Device];
            if (ev.Type == EvType.Login && dev.LoggedIn)
            {
                continue;
            }
            if ((ev.Type == EvType.Login || ev.ImpliesLogin) && dev.UserId is not null)
            {
                dev.LoggedIn = true;
            }
            EmitValid(ev, dev, dev.LoggedIn ? dev.UserId : null);
        }
        foreach (var dev in _devices)
        {
            if (dev.Emitted == 0)
            {
                continue;
            }
            switch (dev.Kind)
            {
                case Kind.Customer: _customerDevices++; break;
                case Kind.Guest: _guestDevices++; break;
                case Kind.Anonymous: _anonymousVisitors++; break;
                case Kind.UserAgentBot: _uaBots++; break;
                case Kind.RateBot: _rateBots++; break;
                default: _longVisitors++; break;
            }
            if (dev.Kind is Kind.Customer or Kind.Guest or Kind.Anonymous)
            {
                _anonIds++;
                if (dev.LoggedIn)
                {
                    _anonIdsLogin++;
                }
                Sample(_piiAnon, dev.AnonId);
                Sample(_piiIp, dev.Ip);
                Sample(_piiUa, dev.UserAgent);
            }
        }
        TallySessions();
        if (_devices.Count > 0 && _devices[0].Kind is Kind.Customer or Kind.Guest or Kind.Anonymous)
        {
            foreach (var s in _sessions)
            {
                if (s.Unrecorded)
                {
                    continue; // lost to the tracking outage
                }
                _sessionCount++;
                _channels[s.Channel]++;
                if (s.Converted)
                {
                    _converted++;
                }
            }
        }
    }

    private static void Sample(List<string> list, string value)
    {
        if (list.Count < 20 && !list.Contains(value))
        {
            list.Add(value);
        }
    }

    private int DayIndex(long ms)
    {
        var index = (ms - _startMs) / Day;
        if (index < 0 || index >= _files.Count)
        {
            throw new InvalidOperationException($"event at {ms} ms outside the period");
        }
        return (int)index;
    }

    private TsForm DrawForm()
    {
        var u = _rng.NextDouble();
        return u < _o.EventOffsetTimestampRate ? TsForm.IsoOffset
            : u < _o.EventOffsetTimestampRate + _o.EventEpochMillisRate ? TsForm.EpochMillis
            : TsForm.IsoUtc;
    }

    /// <summary>The session number, landing and order id of an event of the current batch.</summary>
    private EvRefs RefsOf(in Ev ev) => new(
        _sessions[ev.Session].Number,
        ev.Landing ? EventsCatalog.Landings[_sessions[ev.Session].Channel][_sessions[ev.Session].Variant] : default,
        ev.Type == EvType.Purchase && ev.Order >= 0 ? _orderIds[ev.Order] : null);

    private void EmitValid(in Ev ev, Device dev, string? userId)
    {
        var form = DrawForm();
        var number = _nextEvent++;
        var refs = RefsOf(ev);
        RenderLine(ev, refs, dev, userId, number, form, ev.Ms, null, Identity.Present, null);
        var file = DayIndex(ev.Ms);
        _files.WriteLine(file, _line.AsSpan(0, _len));
        dev.Emitted++;
        switch (dev.Kind)
        {
            case Kind.UserAgentBot: _botsUa++; return;
            case Kind.RateBot: _botsRate++; return;
            case Kind.LongSession: _tooLong++; return;
        }
        _kept++;
        switch (form)
        {
            case TsForm.IsoOffset: _isoOffset++; break;
            case TsForm.EpochMillis: _epochMs++; break;
            default: _isoUtc++; break;
        }
        if (ev.Type == EvType.Purchase)
        {
            _purchases++;
        }
        else if (ev.Type == EvType.Login)
        {
            _logins++;
        }
        if (!_o.Faults)
        {
            return;
        }
        if (_templateFile < 0)
        {
            _template = ev;
            _templateRefs = refs;
            _templateDevice = dev;
            _templateUser = userId;
            _templateFile = file;
            _templateLine = _line.AsSpan(0, _len).ToArray();
        }
        if (_dupCandidates.Count < 64)
        {
            _dupCandidates.Add((number, _line.AsSpan(0, _len).ToArray(), file));
        }
        if (_rng.NextDouble() < _o.EventFaultRate)
        {
            InjectFault((FaultClass)_rng.NextInt(FaultClassCount), ev, refs, dev, userId, file, _line.AsSpan(0, _len).ToArray(), number);
        }
    }

    /// <summary>One extra line with exactly one fault, or an exact re-emission of the valid line.</summary>
    private void InjectFault(FaultClass fault, in Ev ev, in EvRefs refs, Device dev, string? userId, int file, byte[] validLine, long validNumber,
        bool? laterFile = null)
    {
        _faults[(int)fault]++;
        switch (fault)
        {
            case FaultClass.Duplicate:
                _duplicated.Add(validNumber);
                var later = (laterFile ?? _rng.Bernoulli(0.5)) && file + 1 < _files.Count;
                if (later)
                {
                    _dupLater++;
                }
                else
                {
                    _dupSame++;
                }
                _files.WriteLine(later ? file + 1 : file, validLine);
                return;
            case FaultClass.MalformedRow:
                RenderLine(ev, refs, dev, userId, _nextEvent++, TsForm.IsoUtc, ev.Ms, null, Identity.Present, null);
                if (_rng.Bernoulli(0.5) && _len > 60)
                {
                    // Truncated JSON: the object is never closed.
                    _len = 45 + _rng.NextInt(_len - 50);
                }
                else
                {
                    // Not JSON at all: a CSV-ish export line (unique through its fresh id).
                    var text = string.Create(CultureInfo.InvariantCulture,
                        $"E{_nextEvent - 1:D9},{DateTimeOffset.FromUnixTimeMilliseconds(ev.Ms):yyyy-MM-dd HH:mm:ss},{dev.AnonId},{EventsCatalog.EventTypes[(int)ev.Type]}");
                    _len = System.Text.Encoding.ASCII.GetBytes(text, _line);
                }
                break;
            case FaultClass.BadTimestamp:
                RenderLine(ev, refs, dev, userId, _nextEvent++, TsForm.IsoUtc, ev.Ms,
                    EventsCatalog.BadTimestamps[_rng.NextInt(EventsCatalog.BadTimestamps.Length)], Identity.Present, null);
                break;
            case FaultClass.MissingIdentity:
                RenderLine(ev, refs, dev, userId, _nextEvent++, TsForm.IsoUtc, ev.Ms, null,
                    _rng.Bernoulli(0.5) ? Identity.Null : Identity.Omitted, null);
                break;
            case FaultClass.UnknownEventType:
                RenderLine(ev, refs, dev, userId, _nextEvent++, TsForm.IsoUtc, ev.Ms, null, Identity.Present,
                    EventsCatalog.UnknownEventTypes[_rng.NextInt(EventsCatalog.UnknownEventTypes.Length)]);
                break;
            case FaultClass.FutureTimestamp:
                // More than a day after end + 365 days, and after 2100-01-01 too: in the future for any realistic run clock
                // (the pipeline's rule is "after now + tolerance", now defaulting to the wall clock).
                var future = Math.Max(_futureAfterMs + Day, Year2100Ms) + (long)(_rng.NextDouble() * 729 * Day);
                RenderLine(ev, refs, dev, userId, _nextEvent++, TsForm.IsoUtc, future, null, Identity.Present, null);
                break;
            default:
                throw new InvalidOperationException("unexpected fault class " + fault);
        }
        _files.WriteLine(file, _line.AsSpan(0, _len));
    }

    /// <summary>Small runs: make sure every fault class (and both duplicate placements) occurs.</summary>
    private void TopUpFaults()
    {
        if (_templateFile < 0 || _templateDevice is null || _templateLine is null)
        {
            return;
        }
        var min = _o.MinFaultsPerClass;
        // Duplicates: each of a different, not yet duplicated event; both placements (same file, next file) occur.
        var i = 0;
        foreach (var (number, line, file) in _dupCandidates)
        {
            var needSame = _dupSame == 0 || _faults[(int)FaultClass.Duplicate] < min;
            var needLater = _dupLater == 0 && file + 1 < _files.Count;
            if (min == 0 || !(needSame || needLater))
            {
                break;
            }
            if (_duplicated.Contains(number))
            {
                continue;
            }
            var later = _dupLater == 0 ? needLater : _dupSame > 0 && i++ % 2 == 1;
            InjectFault(FaultClass.Duplicate, _template, _templateRefs, _templateDevice, _templateUser, file, line, number, laterFile: later);
        }
        for (var f = 1; f < FaultClassCount; f++)
        {
            while (_faults[f] < min)
            {
                InjectFault((FaultClass)f, _template, _templateRefs, _templateDevice, _templateUser, _templateFile, _templateLine, 0);
            }
        }
    }

    private void RenderLine(in Ev ev, in EvRefs refs, Device dev, string? userId, long eventNumber, TsForm form, long ms, string? timestampText,
        Identity identity, string? typeOverride)
    {
        _len = 0;
        Raw("{\"event_id\":\"E");
        Digits(eventNumber, 9);
        Raw("\",\"occurred_at\":");
        if (timestampText is not null)
        {
            Quoted(timestampText);
        }
        else
        {
            Timestamp(ms, form);
        }
        switch (identity)
        {
            case Identity.Present:
                Raw(",\"anonymous_id\":");
                Quoted(dev.AnonId);
                Raw(",\"user_id\":");
                Quoted(userId);
                break;
            case Identity.Null:
                Raw(",\"anonymous_id\":null,\"user_id\":null");
                break;
        }
        Raw(",\"event_type\":");
        Quoted(typeOverride ?? EventsCatalog.EventTypes[(int)ev.Type]);
        Raw(",\"page_url\":\"");
        Url(ev.Page, ev.PageArg);
        var landing = refs.Landing;
        if (landing.Utm is not null)
        {
            Raw(ev.Page == Page.Search ? "&" : "?");
            Raw(landing.Utm);
        }
        Raw("\",\"referrer_url\":");
        if (ev.Landing)
        {
            Quoted(landing.Referrer);
        }
        else if (ev.RefPage == Page.None)
        {
            Raw("null");
        }
        else
        {
            Raw("\"");
            Url(ev.RefPage, ev.RefArg);
            Raw("\"");
        }
        Raw(",\"product_id\":");
        if (ev.Product > 0)
        {
            Raw("\"SKU");
            Digits(ev.Product, 5);
            Raw("\"");
        }
        else
        {
            Raw("null");
        }
        Raw(",\"order_id\":");
        Quoted(refs.OrderId);
        Raw(",\"search_term\":");
        Quoted(ev.Term >= 0 ? EventsCatalog.SearchTerms[ev.Term].Term : null);
        Raw(",\"user_agent\":");
        Quoted(dev.UserAgent);
        Raw(",\"ip\":");
        Quoted(dev.Ip);
        Raw(",\"device_type\":");
        Quoted(EventsCatalog.DeviceTypes[dev.DeviceType]);
        Raw(",\"session_id\":\"s-");
        Digits(refs.SessionNumber, 8);
        Raw("\"}");
    }

    private void Url(Page page, int arg)
    {
        Raw(EventsCatalog.Site);
        switch (page)
        {
            case Page.Category:
                Raw("/c/");
                Raw(EventsCatalog.Categories[arg]);
                break;
            case Page.Product:
                Raw("/p/SKU");
                Digits(arg, 5);
                break;
            case Page.Search:
                Raw("/search?q=");
                Raw(EventsCatalog.SearchTerms[arg].Query);
                break;
            case Page.Cart:
                Raw("/cart");
                break;
            case Page.Checkout:
                Raw("/checkout");
                break;
            case Page.Confirmation:
                Raw("/checkout/confirmation");
                break;
            case Page.Account:
                Raw("/account/login");
                break;
            default:
                Raw("/");
                break;
        }
    }

    private void Timestamp(long ms, TsForm form)
    {
        if (form == TsForm.EpochMillis && ms is >= 1_000_000_000_000 and < 10_000_000_000_000)
        {
            Raw("\"");
            Digits(ms, 13);
            Raw("\"");
            return;
        }
        var offset = form == TsForm.IsoOffset;
        var local = ms + (offset ? 8 * Hour : 0);
        var days = Math.DivRem(local, Day, out var msOfDay);
        var (year, month, day) = CivilFromDays(days);
        _line[_len++] = (byte)'"';
        Digits(year, 4);
        _line[_len++] = (byte)'-';
        Digits(month, 2);
        _line[_len++] = (byte)'-';
        Digits(day, 2);
        _line[_len++] = (byte)'T';
        Digits(msOfDay / Hour, 2);
        _line[_len++] = (byte)':';
        Digits(msOfDay / Minute % 60, 2);
        _line[_len++] = (byte)':';
        Digits(msOfDay / Second % 60, 2);
        _line[_len++] = (byte)'.';
        Digits(msOfDay % Second, 3);
        Raw(offset ? "+08:00\"" : "Z\"");
    }

    /// <summary>Proleptic Gregorian date of a day number since 1970-01-01 (H. Hinnant's civil_from_days); period days are non-negative.</summary>
    private static (long Year, long Month, long Day) CivilFromDays(long z)
    {
        z += 719_468;
        var era = (z >= 0 ? z : z - 146_096) / 146_097;
        var doe = z - era * 146_097;
        var yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        var y = yoe + era * 400;
        var doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        var mp = (5 * doy + 2) / 153;
        var d = doy - (153 * mp + 2) / 5 + 1;
        var m = mp < 10 ? mp + 3 : mp - 9;
        return (m <= 2 ? y + 1 : y, m, d);
    }

    /// <summary>Appends ASCII text (every vocabulary string is ASCII without quotes or backslashes: no escaping needed).</summary>
    private void Raw(string s)
    {
        _len += System.Text.Encoding.ASCII.GetBytes(s, _line.AsSpan(_len));
    }

    private void Quoted(string? s)
    {
        if (s is null)
        {
            Raw("null");
            return;
        }
        _line[_len++] = (byte)'"';
        Raw(s);
        _line[_len++] = (byte)'"';
    }

    /// <summary>Non-negative integer, zero-padded to at least <paramref name="width"/> digits.</summary>
    private void Digits(long value, int width)
    {
        Span<byte> tmp = stackalloc byte[20];
        var n = 0;
        do
        {
            tmp[n++] = (byte)('0' + value % 10);
            value /= 10;
        }
        while (value > 0);
        while (n < width)
        {
            tmp[n++] = (byte)'0';
        }
        while (n > 0)
        {
            _line[_len++] = tmp[--n];
        }
    }

    // ---- truth -------------------------------------------------------------------------------------------------

    private EventsTruth BuildTruth()
    {
        var quarantined = new EventQuarantineCounts(
            MalformedRow: _faults[(int)FaultClass.MalformedRow],
            BadTimestamp: _faults[(int)FaultClass.BadTimestamp],
            MissingIdentity: _faults[(int)FaultClass.MissingIdentity],
            UnknownEventType: _faults[(int)FaultClass.UnknownEventType],
            FutureTimestamp: _faults[(int)FaultClass.FutureTimestamp],
            SessionTooLong: _tooLong);
        var bots = new BotCounts(_botsUa, _botsRate);
        var duplicates = _faults[(int)FaultClass.Duplicate];
        var rowsRead = _files.TotalRows;
        if (rowsRead != _kept + duplicates + quarantined.Total + bots.Total)
        {
            throw new InvalidOperationException(
                $"event accounting broken: {rowsRead} lines, {_kept} kept + {duplicates} duplicates + {quarantined.Total} quarantined + {bots.Total} bots");
        }
        var c = _channels;
        return new EventsTruth
        {
            RowsRead = rowsRead,
            Kept = _kept,
            Duplicates = duplicates,
            DuplicatesSameFile = _dupSame,
            DuplicatesLaterFile = _dupLater,
            Quarantined = quarantined,
            Bots = bots,
            Sessions = _sessionCount,
            ConvertedSessions = _converted,
            SessionsByChannel = new ChannelCounts(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]),
            PurchaseEvents = _purchases,
            AnonymousIds = _anonIds,
            AnonymousIdsWithLogin = _anonIdsLogin,
            LoginEvents = _logins,
            Visitors = new VisitorCounts(_customerDevices, _guestDevices, _anonymousVisitors, _uaBots, _rateBots, _longVisitors),
            Formats = new EventFormatCounts(_isoUtc, _isoOffset, _epochMs),
            Rules = new EventRules
            {
                SessionTimeoutMinutes = 30,
                MaxSessionDays = 3,
                MaxEventsPerMinute = 60,
                FutureTimestampAfter = DateTimeOffset.FromUnixTimeMilliseconds(_futureAfterMs),
                BotUserAgentPatterns = EventsCatalog.BotPatterns,
                EventTypes = EventsCatalog.EventTypes,
            },
            Files = _files.Describe(),
            RawPii = new RawPiiSample(_piiAnon.ToList(), _piiIp.ToList(), _piiUa.ToList()),
        };
    }
}
