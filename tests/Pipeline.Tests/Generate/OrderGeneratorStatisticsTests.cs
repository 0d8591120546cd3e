using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>
/// With many customers the generated process purchases match the model's closed-form expectations,
/// computed here independently from the ground-truth parameters (Fader, Hardie &amp; Lee 2005).
/// </summary>
[TestFixture]
public sealed class OrderGeneratorStatisticsTests
{
    private string _dir = "";
    private GroundTruth _truth = null!;
    private readonly Dictionary<string, (int Purchases, decimal Spend)> _byCustomer = [];
    private readonly List<decimal> _spends = [];

    [OneTimeSetUp]
    public void Generate()
    {
        _dir = TestPaths.NewTempDir("generate-stats");
        _truth = OrderGenerator.Generate(new GenerateOptions { OutputDirectory = _dir, Customers = 20_000, Days = 365, Seed = 2024 });
        foreach (var line in GeneratedFiles.ReadAll(_dir).SelectMany(f => f.Lines))
        {
            var f = GeneratedFiles.ParseCsv(line);
            // Process purchases: completed orders of known customers (guests, cancelled, refunded are noise).
            if (f[1].Length == 0 || !f[3].Equals("completed", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var total = GeneratedFiles.Amount(f[5]);
            _spends.Add(total);
            var c = _byCustomer.GetValueOrDefault(f[1]);
            _byCustomer[f[1]] = (c.Purchases + 1, c.Spend + total);
        }
    }

    [OneTimeTearDown]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Mean_spend_is_near_the_gamma_gamma_expectation()
    {
        var gg = _truth.GammaGamma;
        var expected = gg.P * gg.Gamma / (gg.Q - 1); // E[p/ν] with ν ~ Gamma(q, rate γ)
        var mean = (double)_spends.Average();
        TestContext.Out.WriteLine($"mean spend {mean:F3} vs expected {expected:F3} over {_spends.Count} purchases");
        Assert.That(mean, Is.EqualTo(expected).Within(3).Percent);
        Assert.That(_spends, Has.All.GreaterThan(0m));
    }

    [Test]
    public void Mean_per_customer_spend_of_repeat_buyers_is_near_the_expectation()
    {
        // Customer-level mean of per-customer averages: also E[p/ν], independent of purchase counts.
        var gg = _truth.GammaGamma;
        var expected = gg.P * gg.Gamma / (gg.Q - 1);
        var mean = _byCustomer.Values.Where(v => v.Purchases > 1).Average(v => (double)(v.Spend / v.Purchases));
        TestContext.Out.WriteLine($"mean of customer mean spends {mean:F3} vs expected {expected:F3}");
        Assert.That(mean, Is.EqualTo(expected).Within(4).Percent);
    }

    [Test]
    public void Purchases_per_customer_match_bg_nbd_expectation()
    {
        Assert.That(_byCustomer, Has.Count.EqualTo(20_000));
        var bg = _truth.BgNbd;
        var days = (double)_truth.Days;
        var acquisitionEnd = _truth.AcquisitionFraction * days;
        // T = days − t0 with t0 ~ U(0, acquisitionEnd): average over T of 1 + E[X(T)].
        var expected = 1 + AverageOverAcquisition(t => ExpectedRepeats(bg, t), days, acquisitionEnd);
        var mean = _byCustomer.Values.Average(v => v.Purchases);
        TestContext.Out.WriteLine($"mean purchases/customer {mean:F4} vs BG/NBD expectation {expected:F4}");
        // Over seeds 1..12 the generated mean stayed within ±1% of the expectation.
        Assert.That(mean, Is.EqualTo(expected).Within(3).Percent);
        Assert.That((double)_truth.Counts.ProcessPurchases / _truth.Counts.Customers, Is.EqualTo(mean).Within(1e-9));
    }

    [Test]
    public void Share_of_one_time_buyers_matches_bg_nbd()
    {
        // P(X(T) = 0) = (α/(α+T))^r in BG/NBD: the customer is alive right after the first purchase.
        var bg = _truth.BgNbd;
        var days = (double)_truth.Days;
        var expected = AverageOverAcquisition(t => Math.Pow(bg.Alpha / (bg.Alpha + t), bg.R), days, _truth.AcquisitionFraction * days);
        var share = _byCustomer.Values.Count(v => v.Purchases == 1) / (double)_byCustomer.Count;
        TestContext.Out.WriteLine($"one-time buyers {share:F4} vs expected {expected:F4}");
        Assert.That(share, Is.EqualTo(expected).Within(0.015));
    }

    [Test]
    public void Same_day_repeats_are_rare()
    {
        Assert.That(_truth.Counts.CustomersWithSameDayRepeats / (double)_truth.Counts.Customers, Is.LessThan(0.08));
    }

    /// <summary>Mean of f(days − t0) for t0 ~ U(0, acquisitionEnd), by Simpson's rule.</summary>
    private static double AverageOverAcquisition(Func<double, double> f, double days, double acquisitionEnd)
    {
        const int n = 400;
        var h = acquisitionEnd / n;
        var sum = f(days) + f(days - acquisitionEnd);
        for (var i = 1; i < n; i++)
        {
            sum += (i % 2 == 1 ? 4 : 2) * f(days - i * h);
        }
        return sum * h / 3 / acquisitionEnd;
    }

    /// <summary>FHL 2005 eq. (9): E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · 2F1(r, b; a+b−1; t/(α+t))].</summary>
    private static double ExpectedRepeats(BgNbdTruth p, double t)
    {
        var z = t / (p.Alpha + t);
        return (p.A + p.B - 1) / (p.A - 1) * (1 - Math.Pow(p.Alpha / (p.Alpha + t), p.R) * Hyp2F1(p.R, p.B, p.A + p.B - 1, z));
    }

    /// <summary>Gauss hypergeometric series, |z| &lt; 1.</summary>
    private static double Hyp2F1(double a, double b, double c, double z)
    {
        double term = 1, sum = 1;
        for (var k = 0; k < 1_000_000; k++)
        {
            term *= (a + k) * (b + k) / ((c + k) * (k + 1)) * z;
            sum += term;
            if (Math.Abs(term) < 1e-15 * Math.Abs(sum))
            {
                return sum;
            }
        }
        throw new InvalidOperationException("2F1 series did not converge");
    }
}
