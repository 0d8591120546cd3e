using System.Globalization;
using System.Text;

namespace Pipeline.Generate;

/// <summary>
/// Synthetic order data with a known truth (<c>pipeline generate</c>).
/// <para>
/// Customers are generated one at a time from one seeded <see cref="Rng"/>, and each row is streamed to the file
/// of its month as soon as it is made, so memory is bounded by one customer's orders, whatever the volume.
/// </para>
/// <para>
/// Purchase process (Fader, Hardie &amp; Lee 2005, "Counting your customers the easy way", exactly as in its
/// likelihood and in <c>lifetimes.generate_data.beta_geometric_nbd_model</c>): customer i is acquired at t0 ~
/// U(0, AcquisitionFraction × Days) with a first purchase; λ ~ Gamma(r, rate α), p ~ Beta(a, b); while alive,
/// the next purchase follows after Exponential(λ) days; after EACH REPEAT purchase the customer drops out with
/// probability p. The customer is alive for sure right after the first (acquisition) purchase: the paper's
/// "after any transaction" counts the transactions of the repeat-purchase process (its likelihood gives
/// e^{−λT} for x = 0, i.e. no dropout at time 0). Purchases stop at the end of the last day.
/// Spend per purchase (Gamma-Gamma): ν ~ Gamma(q, rate γ), z ~ Gamma(p, rate ν), rounded to cents (min 0.01).
/// </para>
/// </summary>
public static class OrderGenerator
{
    public const string GeneratorName = "pipeline generate";

    /// <summary>The canonical order input columns, in order.</summary>
    public static IReadOnlyList<string> Columns { get; } =
    [
        "order_id", "customer_id", "ordered_at", "status", "currency", "total_amount", "discount_amount",
        "shipping_amount", "tax_amount", "refunded_amount", "email", "channel",
    ];

    public static string HeaderLine { get; } = string.Join(',', Columns);

    public static IReadOnlyList<string> Channels { get; } =
        ["organic_search", "paid_search", "email", "direct", "social", "referral"];

    /// <summary>Quarantine reason codes the pipeline is expected to use for the injected faults.</summary>
    public static IReadOnlyList<string> QuarantineReasons { get; } =
        ["malformed_row", "bad_timestamp", "missing_order_id", "bad_amount", "unknown_status", "future_timestamp"];

    /// <summary>
    /// Writes <c>&lt;OutputDirectory&gt;/orders/orders-YYYY-MM.csv[.gz]</c> and <c>ground_truth.json</c>;
    /// returns the truth. Stale <c>orders-*.csv*</c> files in <c>orders/</c> are deleted first.
    /// </summary>
    /// <param name="options">What to generate.</param>
    /// <param name="observer">Optional: receives the facts of every valid order in the same pass (e.g. to derive clickstream events).</param>
    public static GroundTruth Generate(GenerateOptions options, IOrderObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Directory.CreateDirectory(options.OutputDirectory);
        var ordersDir = Path.Combine(options.OutputDirectory, "orders");

        GroundTruth truth;
        using (var files = new OrderFiles(ordersDir, options.StartDate, options.EndDate, options.Faults))
        {
            var run = new Run(options, files, observer);
            run.Execute();
            files.Complete();
            truth = run.BuildTruth(files.Describe());
        }

        File.WriteAllText(Path.Combine(options.OutputDirectory, GroundTruth.FileName), truth.ToJson() + "\n", new UTF8Encoding(false));
        return truth;
    }

    private static double[] Cumulative(IReadOnlyList<double> weights)
    {
        var total = weights.Sum();
        var result = new double[weights.Count];
        var acc = 0.0;
        for (var i = 0; i < weights.Count; i++)
        {
            acc += weights[i] / total;
            result[i] = acc;
        }
        result[^1] = 1.0;
        return result;
    }

    private enum FaultClass
    {
        Duplicate,
        MalformedRow,
        BadTimestamp,
        MissingOrderId,
        BadAmount,
        UnknownStatus,
        FutureTimestamp,
    }

    private const int FaultClassCount = 7;

    private static readonly string[] BadTimestamps =
        ["2024-13-45", "yesterday", "31/02/2024 10:00", "2024-02-30T10:00:00Z", "not a date", "24:61:00"];

    private static readonly string[] UnknownStatuses = ["shipped??", "in_transit", "???", "pending-review"];

    /// <summary>One generation run: the mutable state, kept out of the public surface.</summary>
    private sealed class Run(GenerateOptions o, OrderFiles files, IOrderObserver? observer)
    {
        private readonly Rng _rng = new(o.Seed);
        private readonly AnomalyPlan? _plan = AnomalyPlan.For(o);
        private readonly double[] _channelCumulative = Cumulative(o.OrderChannelWeights);
        private readonly double[]? _acquisitionCumulative = o.SeasonalAcquisition
            ? ShopPlan.CumulativeWeights(o.StartDate, Math.Max(1, (int)Math.Round(o.AcquisitionFraction * o.Days)))
            : null;
        private readonly char[] _line = new char[OrderRow.MaxLength];
        private readonly long _startUnix = new DateTimeOffset(o.StartDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();
        private readonly long _periodSeconds = o.Days * 86_400L;
        private readonly long _futureAfterUnix =
            new DateTimeOffset(o.EndDate.AddDays(365).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds();

        // Per-customer buffers (bounded by one customer's orders).
        private readonly List<double> _purchaseDays = [];
        private readonly List<Pending> _pending = [];
        private readonly List<OrderFact> _facts = [];

        private long _nextOrder = 1;
        private int _nextGuest = 1;

        // Counts.
        private long _processPurchases, _repeatPurchases, _aliveAtEnd, _sameDayCustomers, _processRevenueCents;
        private long _cancelled, _refunded, _guests;
        private long _rowsValid;
        private long _isoUtc, _isoOffset, _epochSec, _epochMs, _statusVariants, _emptyEmail;
        private readonly long[] _faultCounts = new long[FaultClassCount];
        private long _dupSame, _dupLater;

        // Template for top-ups: the first valid row written.
        private OrderRow _template;
        private int _templateFile = -1;

        private readonly record struct Pending(long Seconds, int Sequence, OrderKind Kind, long TotalCents, int Channel);

        public void Execute()
        {
            for (var c = 1; c <= o.Customers; c++)
            {
                GenerateCustomer(c);
            }
            if (o.Faults)
            {
                TopUpFaults();
            }
        }

        private void GenerateCustomer(int customer)
        {
            var days = (double)o.Days;
            var u = _rng.NextDouble();
            var t0 = _acquisitionCumulative is null ? u * o.AcquisitionFraction * days : ShopPlan.InverseCdf(_acquisitionCumulative, u);
            var lambda = _rng.Gamma(o.BgR, ShopPlan.AlphaAt(o, t0));
            var dropout = _rng.Beta(o.BgA, o.BgB);
            var nu = _rng.Gamma(o.GgQ, o.GgGamma);

            // BG/NBD in days: first purchase at t0 (alive), then Exp(λ) gaps; dropout w.p. p after each repeat purchase.
            _purchaseDays.Clear();
            _purchaseDays.Add(t0);
            var alive = true;
            var t = t0;
            while (true)
            {
                t += _rng.Exponential(lambda);
                if (!(t < days))
                {
                    break;
                }
                _purchaseDays.Add(t);
                if (_rng.Bernoulli(dropout))
                {
                    alive = false;
                    break;
                }
            }
            if (alive)
            {
                _aliveAtEnd++;
            }

            // Process purchases, plus noise orders drawn per purchase.
            _pending.Clear();
            var seq = 0;
            var lastDay = long.MinValue;
            var sameDay = false;
            foreach (var d in _purchaseDays)
            {
                var sec = ToSeconds(d);
                if (sec / 86_400 == lastDay)
                {
                    sameDay = true;
                }
                lastDay = sec / 86_400;
                var cents = Spend(nu);
                _processRevenueCents += cents;
                _pending.Add(new Pending(sec, seq++, OrderKind.Process, cents, DrawChannel()));

                if (_rng.Bernoulli(o.CancelledRate))
                {
                    // An abandoned attempt shortly before the purchase.
                    var cs = Math.Max(0, sec - (long)(_rng.NextDouble() * 3600));
                    _pending.Add(new Pending(cs, seq++, OrderKind.Cancelled, Spend(nu), DrawChannel()));
                    _cancelled++;
                }
                if (_rng.Bernoulli(o.RefundedRate))
                {
                    // Some other order later in the period, then refunded.
                    var rs = sec + (long)(_rng.NextDouble() * (_periodSeconds - sec));
                    _pending.Add(new Pending(Math.Min(rs, _periodSeconds - 1), seq++, OrderKind.Refunded, Spend(nu), DrawChannel()));
                    _refunded++;
                }
                if (_rng.Bernoulli(o.GuestRate))
                {
                    var gs = (long)(_rng.NextDouble() * _periodSeconds);
                    var gnu = _rng.Gamma(o.GgQ, o.GgGamma);
                    // Sequence offset keeps guests after the customer's own orders; they are written separately anyway.
                    _pending.Add(new Pending(Math.Min(gs, _periodSeconds - 1), 1_000_000 + seq++, OrderKind.Guest, Spend(gnu), DrawChannel()));
                    _guests++;
                }
            }
            _processPurchases += _purchaseDays.Count;
            _repeatPurchases += _purchaseDays.Count - 1;
            if (sameDay)
            {
                _sameDayCustomers++;
            }

            _pending.Sort(static (x, y) =>
            {
                var byGuest = (x.Kind == OrderKind.Guest).CompareTo(y.Kind == OrderKind.Guest);
                if (byGuest != 0)
                {
                    return byGuest;
                }
                var bySec = x.Seconds.CompareTo(y.Seconds);
                return bySec != 0 ? bySec : x.Sequence.CompareTo(y.Sequence);
            });

            _facts.Clear();
            var customerId = observer is null ? null : "C" + customer.ToString("D7", CultureInfo.InvariantCulture);
            foreach (var p in _pending)
            {
                var guest = p.Kind == OrderKind.Guest;
                // --anomalies: inside the checkout-bug window the order gets its device, and a failed one is not written.
                var (device, lost) = _plan is null ? (-1, false) : _plan.Checkout(_startUnix + p.Seconds);
                if (lost && p.Kind != OrderKind.Cancelled)
                {
                    var failed = new OrderFact("", guest ? null : customerId, guest ? 0 : customer,
                        DateTimeOffset.FromUnixTimeSeconds(_startUnix + p.Seconds), OrderKind.Lost, p.TotalCents, Channels[p.Channel], device);
                    if (observer is null)
                    {
                        continue;
                    }
                    if (guest)
                    {
                        observer.OnGuestOrder(failed);
                    }
                    else
                    {
                        _facts.Add(failed);
                    }
                    continue;
                }
                var row = WriteValid(p, guest ? 0 : customer);
                if (observer is null)
                {
                    continue;
                }
                var fact = new OrderFact(
                    "O" + row.OrderNumber.ToString("D8", CultureInfo.InvariantCulture),
                    guest ? null : customerId,
                    guest ? 0 : customer,
                    DateTimeOffset.FromUnixTimeSeconds(row.UnixSeconds),
                    p.Kind,
                    row.TotalCents,
                    Channels[p.Channel],
                    device);
                if (guest)
                {
                    observer.OnGuestOrder(fact);
                }
                else
                {
                    _facts.Add(fact);
                }
            }
            if (observer is not null)
            {
                var cf = new CustomerFact(customerId!, customer, DateTimeOffset.FromUnixTimeSeconds(_startUnix + ToSeconds(t0)),
                    lambda, dropout, alive, nu);
                observer.OnCustomer(cf, _facts);
            }
        }

        private long ToSeconds(double days) => Math.Min((long)Math.Floor(days * 86_400.0), _periodSeconds - 1);

        private long Spend(double nu)
        {
            var z = _rng.Gamma(o.GgP, nu);
            return Math.Max(1L, (long)Math.Round(z * 100.0, MidpointRounding.ToEven));
        }

        private int DrawChannel()
        {
            var u = _rng.NextDouble();
            var i = 0;
            while (i < _channelCumulative.Length - 1 && u >= _channelCumulative[i])
            {
                i++;
            }
            return i;
        }

        private OrderRow WriteValid(in Pending p, int customer)
        {
            var unix = _startUnix + p.Seconds;
            var row = new OrderRow
            {
                OrderNumber = _nextOrder++,
                CustomerNumber = customer,
                UnixSeconds = unix,
                TimestampForm = DrawTimestampForm(unix),
                // --anomalies' price glitch doubles the totals of one day.
                TotalCents = _plan is null ? p.TotalCents : _plan.Total(unix, p.TotalCents),
                Channel = p.Channel,
                RefundedCents = p.Kind == OrderKind.Refunded ? (_plan is null ? p.TotalCents : _plan.Total(unix, p.TotalCents)) : -1,
            };
            row.Status = DrawStatus(p.Kind switch
            {
                OrderKind.Cancelled => "cancelled",
                OrderKind.Refunded => "refunded",
                _ => "completed",
            });
            DrawBreakdown(ref row);
            if (_rng.Bernoulli(o.MissingEmailRate))
            {
                _emptyEmail++;
            }
            else if (p.Kind == OrderKind.Guest)
            {
                row.EmailNumber = _nextGuest++;
                row.GuestEmail = true;
            }
            else
            {
                row.EmailNumber = customer;
            }

            var file = files.IndexOf(DateTime.UnixEpoch.AddSeconds(unix));
            Write(file, row);
            _rowsValid++;
            if (_templateFile < 0)
            {
                _template = row;
                _templateFile = file;
            }
            if (o.Faults && _rng.NextDouble() < o.FaultRate)
            {
                InjectFault((FaultClass)_rng.NextInt(FaultClassCount), row, file);
            }
            return row;
        }

        private TimestampForm DrawTimestampForm(long unix)
        {
            var u = _rng.NextDouble();
            TimestampForm form;
            if (u < o.OffsetTimestampRate)
            {
                form = TimestampForm.IsoOffset;
            }
            else if (u < o.OffsetTimestampRate + o.EpochSecondsRate)
            {
                form = TimestampForm.EpochSeconds;
            }
            else if (u < o.OffsetTimestampRate + o.EpochSecondsRate + o.EpochMillisRate)
            {
                form = TimestampForm.EpochMillis;
            }
            else
            {
                form = TimestampForm.IsoUtc;
            }
            // Epoch forms are only valid as exactly 10 (seconds) / 13 (milliseconds) digits.
            if (form is TimestampForm.EpochSeconds or TimestampForm.EpochMillis && unix is < 1_000_000_000 or >= 10_000_000_000)
            {
                form = TimestampForm.IsoUtc;
            }
            switch (form)
            {
                case TimestampForm.IsoOffset: _isoOffset++; break;
                case TimestampForm.EpochSeconds: _epochSec++; break;
                case TimestampForm.EpochMillis: _epochMs++; break;
                default: _isoUtc++; break;
            }
            return form;
        }

        private string DrawStatus(string canonical)
        {
            if (!_rng.Bernoulli(o.StatusCaseVariantRate))
            {
                return canonical;
            }
            _statusVariants++;
            var upper = _rng.Bernoulli(0.5);
            return (canonical, upper) switch
            {
                ("cancelled", false) => "Cancelled",
                ("cancelled", true) => "CANCELLED",
                ("refunded", false) => "Refunded",
                ("refunded", true) => "REFUNDED",
                (_, false) => "Completed",
                _ => "COMPLETED",
            };
        }

        /// <summary>discount ≤ 20%, shipping 4.99 on 10–50 USD orders, tax = 8% included; each may be empty; sum ≤ total.</summary>
        private void DrawBreakdown(ref OrderRow row)
        {
            var total = row.TotalCents;
            var u = _rng.NextDouble();
            row.DiscountCents = u < 0.25 ? (long)(total * (0.05 + 0.15 * _rng.NextDouble())) : u < 0.40 ? -1 : 0;
            row.ShippingCents = _rng.Bernoulli(0.1) ? -1 : total is >= 1000 and < 5000 ? 499 : 0;
            row.TaxCents = _rng.Bernoulli(0.1) ? -1 : (long)Math.Round(total * 0.08 / 1.08, MidpointRounding.ToEven);
        }

        private void Write(int file, in OrderRow row)
        {
            var n = row.Format(_line);
            files.WriteRow(file, _line.AsSpan(0, n));
        }

        /// <summary>One extra row with exactly one fault (or an exact re-delivery of a valid row).</summary>
        private void InjectFault(FaultClass fault, OrderRow valid, int file, bool? laterFile = null)
        {
            _faultCounts[(int)fault]++;
            if (fault == FaultClass.Duplicate)
            {
                var later = (laterFile ?? _rng.Bernoulli(0.5)) && file + 1 < files.Count;
                if (later)
                {
                    _dupLater++;
                    Write(file + 1, valid);
                }
                else
                {
                    _dupSame++;
                    Write(file, valid);
                }
                return;
            }

            // A clean base: fresh id, canonical completed status, canonical timestamp, no refund.
            var row = valid;
            row.OrderNumber = _nextOrder++;
            row.Status = "completed";
            row.RefundedCents = -1;
            row.TimestampForm = TimestampForm.IsoUtc;
            switch (fault)
            {
                case FaultClass.MalformedRow:
                    row.FieldDelta = _rng.Bernoulli(0.5) ? 1 : -1;
                    break;
                case FaultClass.BadTimestamp:
                    row.TimestampOverride = BadTimestamps[_rng.NextInt(BadTimestamps.Length)];
                    break;
                case FaultClass.MissingOrderId:
                    row.OrderNumber = 0;
                    break;
                case FaultClass.BadAmount:
                    row.TotalOverride = _rng.NextInt(3) switch
                    {
                        0 => "-" + Amount(row.TotalCents),
                        1 => Amount(row.TotalCents).Replace('.', ',') + "€",
                        _ => "N/A",
                    };
                    // The breakdown would no longer be checkable against the total: leave it empty.
                    row.DiscountCents = row.ShippingCents = row.TaxCents = -1;
                    break;
                case FaultClass.UnknownStatus:
                    row.Status = UnknownStatuses[_rng.NextInt(UnknownStatuses.Length)];
                    break;
                case FaultClass.FutureTimestamp:
                    // Strictly after end date + 365 days: +1 to +730 days beyond that bound.
                    row.UnixSeconds = _futureAfterUnix + 86_400 + (long)(_rng.NextDouble() * 729 * 86_400);
                    break;
                default:
                    throw new InvalidOperationException("unexpected fault class " + fault);
            }
            Write(file, row);
        }

        private static string Amount(long cents) =>
            string.Create(CultureInfo.InvariantCulture, $"{cents / 100}.{cents % 100:D2}");

        /// <summary>Small runs: make sure every fault class (and both duplicate placements) occurs.</summary>
        private void TopUpFaults()
        {
            if (_templateFile < 0)
            {
                return;
            }
            var min = o.MinFaultsPerClass;
            if (min > 0)
            {
                if (_dupSame == 0)
                {
                    InjectFault(FaultClass.Duplicate, _template, _templateFile, laterFile: false);
                }
                if (_dupLater == 0 && _templateFile + 1 < files.Count)
                {
                    InjectFault(FaultClass.Duplicate, _template, _templateFile, laterFile: true);
                }
            }
            for (var f = 0; f < FaultClassCount; f++)
            {
                var i = 0;
                while (_faultCounts[f] < min)
                {
                    InjectFault((FaultClass)f, _template, _templateFile, laterFile: f == 0 ? (i++ % 2 == 1) : null);
                }
            }
        }

        public GroundTruth BuildTruth(IReadOnlyList<OrderFileInfo> fileInfos)
        {
            var quarantined = new QuarantineCounts(
                MalformedRow: _faultCounts[(int)FaultClass.MalformedRow],
                BadTimestamp: _faultCounts[(int)FaultClass.BadTimestamp],
                MissingOrderId: _faultCounts[(int)FaultClass.MissingOrderId],
                BadAmount: _faultCounts[(int)FaultClass.BadAmount],
                UnknownStatus: _faultCounts[(int)FaultClass.UnknownStatus],
                FutureTimestamp: _faultCounts[(int)FaultClass.FutureTimestamp]);
            var duplicates = _faultCounts[(int)FaultClass.Duplicate];
            var rowsRead = fileInfos.Sum(f => f.Rows);
            if (rowsRead != _rowsValid + duplicates + quarantined.Total)
            {
                throw new InvalidOperationException($"generator accounting broken: {rowsRead} rows written, {_rowsValid} valid + {duplicates} duplicates + {quarantined.Total} quarantined");
            }
            return new GroundTruth
            {
                Generator = GeneratorName,
                Seed = o.Seed,
                Faults = o.Faults,
                Unit = "day",
                StartDate = o.StartDate,
                EndDate = o.EndDate,
                Days = o.Days,
                ObservationEnd = DateTimeOffset.FromUnixTimeSeconds(_startUnix + _periodSeconds),
                Currency = "USD",
                AcquisitionFraction = o.AcquisitionFraction,
                BgNbd = new BgNbdTruth(o.BgR, o.BgAlpha, o.BgA, o.BgB),
                GammaGamma = new GammaGammaTruth(o.GgP, o.GgQ, o.GgGamma),
                Counts = new ProcessCounts
                {
                    Customers = o.Customers,
                    ProcessPurchases = _processPurchases,
                    RepeatPurchases = _repeatPurchases,
                    CustomersAliveAtEnd = _aliveAtEnd,
                    CustomersWithSameDayRepeats = _sameDayCustomers,
                    ProcessRevenue = _processRevenueCents / 100m,
                    NoiseOrders = new NoiseCounts(_cancelled, _refunded, _guests),
                    Guests = _guests,
                },
                Orders = new OrdersAccounting
                {
                    RowsRead = rowsRead,
                    RowsValidUnique = _rowsValid,
                    Duplicates = duplicates,
                    DuplicatesSameFile = _dupSame,
                    DuplicatesLaterFile = _dupLater,
                    Quarantined = quarantined,
                    FutureTimestampAfter = DateTimeOffset.FromUnixTimeSeconds(_futureAfterUnix),
                },
                Formats = new FormatCounts
                {
                    OrderedAtIsoUtc = _isoUtc,
                    OrderedAtIsoOffset = _isoOffset,
                    OrderedAtEpochSeconds = _epochSec,
                    OrderedAtEpochMillis = _epochMs,
                    StatusCaseVariants = _statusVariants,
                    EmptyEmail = _emptyEmail,
                },
                Files = fileInfos,
                Notes = "Process purchases: status completed, customer_id set. Noise (not in the BG/NBD process): "
                    + "cancelled and refunded orders of known customers, guest orders with empty customer_id. "
                    + "BG/NBD per Fader-Hardie-Lee 2005: alive after the first purchase, dropout w.p. p after each repeat purchase. "
                    + "Times in days; the period is [start_date, observation_end). Amounts rounded to cents (min 0.01). "
                    + "future_timestamp = ordered_at after orders.future_timestamp_after.",
            };
        }
    }
}
