using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Pipeline.Generate;

/// <summary>The truth of one injected A/B test (ground_truth.json's <c>experiments</c>).</summary>
/// <param name="ExperimentId">Its id in the exposure events.</param>
/// <param name="Kind">creative_test (a real conversion lift), aa_test, broken_split (a sample-ratio mismatch), three_variant.</param>
/// <param name="Control">The control variant.</param>
/// <param name="Variants">Every variant, control first.</param>
/// <param name="IntendedSplit">The split the experiment was meant to have (what the readout tests against).</param>
/// <param name="ActualSplit">The probabilities units were really assigned with (differs only for broken_split).</param>
/// <param name="TrueConversionLift">Per variant: the true relative conversion uplift against control (0 for control).</param>
/// <param name="ExpectSrm">Whether the readout must flag a sample-ratio mismatch.</param>
/// <param name="StartDate">First day of exposures.</param>
/// <param name="EndDate">Last day of exposures.</param>
/// <param name="Units">Units exposed (customers and anonymous visitors), switchers included.</param>
/// <param name="Switchers">Units exposed to two variants (to be excluded by the readout).</param>
/// <param name="Exposures">Exposure events written.</param>
public sealed record ExperimentTruth(string ExperimentId, string Kind, string Control, IReadOnlyList<string> Variants,
    IReadOnlyList<double> IntendedSplit, IReadOnlyList<double> ActualSplit, IReadOnlyDictionary<string, double> TrueConversionLift,
    bool ExpectSrm, DateOnly StartDate, DateOnly EndDate, long Units, long Switchers, long Exposures);

/// <summary>
/// <c>pipeline generate --experiments</c>: four A/B tests with known truth, written as exposure events to
/// <c>events/experiments.jsonl</c>, without touching the orders or the rest of the clickstream (it observes the orders in
/// the same pass and draws from its own random stream). Each test exposes about half the customers (at a uniform time in
/// its window, under a separate anonymous id that carries their user id) and as many anonymous visitors as a quarter of
/// the customers. A conversion lift is injected by assigning variants with probabilities that depend on whether the unit
/// converts in the readout's window (first exposure to the window's end + <see cref="AttributionDays"/>): with overall
/// conversion p, weights w and multipliers m (control 1), a converter gets variant v with probability w·m·p_c/p and a
/// non-converter with w·(1 − m·p_c)/(1 − p), p_c = p/Σw·m. Each variant's share is then w, and its conversion rate
/// m·p_c in expectation: the relative uplift against control is m − 1.
/// </summary>
public sealed class ExperimentsInjector : IOrderObserver
{
    /// <summary>The readout's default attribution window (experiments.attribution_days), which the injected truth assumes.</summary>
    public const int AttributionDays = 7;

    public const string FileName = "experiments.jsonl";

    private sealed record Spec(string Id, string Kind, string EventType, string[] Variants, double[] Intended, double[] Actual, double[] Multipliers, int FirstDayFromEnd, int LengthDays);

    private sealed record Candidate(string? CustomerId, string AnonId, long ExposedMs, bool Converted);

    private readonly GenerateOptions _options;
    private readonly Rng _rng;
    private readonly List<Spec> _specs;
    private readonly List<List<Candidate>> _candidates;
    private int _anon;

    public ExperimentsInjector(GenerateOptions options)
    {
        _options = options;
        _rng = new Rng(options.Seed ^ 0x5EED_AB7E_57L);
        _specs =
        [
            // GrowthBook / Segment's event name for one of them; the canonical name for the rest.
            new("creative_test", "creative_test", "experiment_viewed", ["control", "B"], [0.5, 0.5], [0.5, 0.5], [1.0, 1.3], 34, 21),
            new("aa_test", "aa_test", "experiment_exposure", ["control", "control_copy"], [0.5, 0.5], [0.5, 0.5], [1.0, 1.0], 34, 21),
            new("broken_split", "broken_split", "experiment_exposure", ["control", "B"], [0.5, 0.5], [0.4, 0.6], [1.0, 1.0], 27, 14),
            new("three_variant", "three_variant", "experiment_exposure", ["control", "B", "C"], [1 / 3.0, 1 / 3.0, 1 / 3.0], [1 / 3.0, 1 / 3.0, 1 / 3.0], [1.0, 1.25, 1.0], 34, 21),
        ];
        _candidates = _specs.Select(_ => new List<Candidate>()).ToList();
    }

    private (long StartMs, long EndMs, long OutcomeEndMs) Window(Spec s)
    {
        var first = _options.EndDate.AddDays(-s.FirstDayFromEnd + 1);
        var start = Ms(first);
        var end = Ms(first.AddDays(s.LengthDays));
        return (start, end, end + AttributionDays * 86_400_000L);
    }

    private static long Ms(DateOnly d) => new DateTimeOffset(d.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeMilliseconds();

    public void OnCustomer(in CustomerFact customer, IReadOnlyList<OrderFact> orders)
    {
        for (var i = 0; i < _specs.Count; i++)
        {
            if (_rng.NextDouble() >= 0.5)
            {
                continue;
            }
            var (start, end, outcomeEnd) = Window(_specs[i]);
            var at = start + (long)(_rng.NextDouble() * (end - start - 60_000));
            at -= at % 1000;
            var converted = false;
            foreach (var o in orders)
            {
                var ms = o.OrderedAt.ToUnixTimeMilliseconds();
                if (o.Kind is not (OrderKind.Cancelled or OrderKind.Lost) && ms >= at && ms < outcomeEnd)
                {
                    converted = true;
                    break;
                }
            }
            _candidates[i].Add(new Candidate(customer.CustomerId, $"xp{i}-{customer.CustomerId}", at, converted));
        }
    }

    public void OnGuestOrder(in OrderFact order)
    {
    }

    /// <summary>Adds the anonymous units, assigns the variants and writes the exposure events; returns the truth.</summary>
    public IReadOnlyList<ExperimentTruth> Complete()
    {
        var dir = Path.Combine(_options.OutputDirectory, EventGenerator.FolderName);
        Directory.CreateDirectory(dir);
        var lines = new List<(long Ms, string Line)>();
        var truths = new List<ExperimentTruth>();
        var eventNo = 0;
        for (var i = 0; i < _specs.Count; i++)
        {
            var s = _specs[i];
            var (start, end, _) = Window(s);
            var anonymous = _candidates[i].Count / 2;
            for (var k = 0; k < anonymous; k++)
            {
                var at = start + (long)(_rng.NextDouble() * (end - start - 60_000));
                _candidates[i].Add(new Candidate(null, $"xp{i}-anon-{_anon++:D7}", at - at % 1000, false));
            }
            var units = _candidates[i];
            var p = units.Count == 0 ? 0 : units.Count(u => u.Converted) / (double)units.Count;
            var pc = p / s.Actual.Zip(s.Multipliers, (w, m) => w * m).Sum();
            long switchers = 0, exposures = 0;
            foreach (var u in units)
            {
                var probs = s.Actual.Select((w, v) => u.Converted ? w * s.Multipliers[v] * pc / p : w * (1 - s.Multipliers[v] * pc) / (1 - p)).ToArray();
                var variant = Draw(probs);
                var times = 1 + _rng.NextInt(3);
                for (var t = 0; t < times; t++)
                {
                    var ms = Math.Min(u.ExposedMs + t * (long)(_rng.NextDouble() * 3_600_000), end - 1000);
                    lines.Add((ms, Line(ref eventNo, s, u, ms, s.Variants[variant])));
                    exposures++;
                }
                // 1% see another variant later (a cache, a second device): the readout must exclude them.
                if (_rng.NextDouble() < 0.01)
                {
                    var other = (variant + 1 + _rng.NextInt(s.Variants.Length - 1)) % s.Variants.Length;
                    var ms = Math.Min(u.ExposedMs + 4 * 3_600_000L, end - 1000);
                    lines.Add((ms, Line(ref eventNo, s, u, ms, s.Variants[other])));
                    exposures++;
                    switchers++;
                }
            }
            var lift = s.Variants.Select((v, k) => (v, s.Multipliers[k] - 1)).ToDictionary(x => x.v, x => x.Item2, StringComparer.Ordinal);
            var first = _options.EndDate.AddDays(-s.FirstDayFromEnd + 1);
            truths.Add(new ExperimentTruth(s.Id, s.Kind, s.Variants[0], s.Variants, s.Intended, s.Actual, lift,
                s.Kind == "broken_split", first, first.AddDays(s.LengthDays - 1), units.Count, switchers, exposures));
        }
        var text = new StringBuilder();
        foreach (var (_, line) in lines.OrderBy(l => l.Ms).ThenBy(l => l.Line, StringComparer.Ordinal))
        {
            text.Append(line).Append('\n');
        }
        File.WriteAllText(Path.Combine(dir, FileName), text.ToString(), new UTF8Encoding(false));
        return truths;
    }

    private int Draw(double[] probs)
    {
        var u = _rng.NextDouble() * probs.Sum();
        for (var v = 0; v < probs.Length - 1; v++)
        {
            if (u < probs[v])
            {
                return v;
            }
            u -= probs[v];
        }
        return probs.Length - 1;
    }

    private static string Line(ref int eventNo, Spec s, Candidate u, long ms, string variant)
    {
        var id = $"X{++eventNo:D9}";
        var at = DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var user = u.CustomerId is null ? "null" : $"\"{u.CustomerId}\"";
        return $"{{\"event_id\":\"{id}\",\"occurred_at\":\"{at}\",\"anonymous_id\":\"{u.AnonId}\",\"user_id\":{user},\"event_type\":\"{s.EventType}\"," +
               $"\"page_url\":\"{EventsCatalog.Site}/\",\"experiment_id\":\"{s.Id}\",\"variant\":\"{variant}\"," +
               "\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\",\"device_type\":\"desktop\"}";
    }
}

/// <summary>Passes each customer to two observers (the clickstream and the experiments).</summary>
internal sealed class TeeObserver(IOrderObserver first, IOrderObserver second) : IOrderObserver
{
    public void OnCustomer(in CustomerFact customer, IReadOnlyList<OrderFact> orders)
    {
        first.OnCustomer(customer, orders);
        second.OnCustomer(customer, orders);
    }

    public void OnGuestOrder(in OrderFact order)
    {
        first.OnGuestOrder(order);
        second.OnGuestOrder(order);
    }
}
