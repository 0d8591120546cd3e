using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>
/// The BG/NBD hypergeometric quantity Q(s, a, β, τ) = E[(1 − (1+pτ)^−s)/p], p ~ Beta(a, β), over the whole range an
/// optimiser can return. Reference values are computed independently of the production code: exact rational arithmetic
/// on 120-digit fixed-point integers (<see cref="HighPrecision"/>: Pfaff's transformation for z &lt; ½, Euler's series
/// with an integer B for z up to 0.999), and closed forms for z → 1 (integrals of rational functions over Beta
/// densities with integer parameters, derived by hand in the comments), never from the code under test.
/// </summary>
[TestFixture]
public class HypergeometricTests
{
    /// <summary>The online-retail sample's degenerate BG/NBD fit (109 customers over a month: a, b run off to 1e8).</summary>
    private const double OrR = 0.7311678929777707, OrAlpha = 10.811195857299104, OrA = 93536886.69930634, OrB = 155160477.51955348;

    private static void Close(double actual, double expected, double relative, string what) =>
        Assert.That(actual, Is.EqualTo(expected).Within(relative * Math.Abs(expected)), what);

    [TestCase(1.9, -0.2, 4.2, 0.3)]
    [TestCase(-0.6, -0.7, -0.2, 0.5)]   // a + b < 1 with x = 0: C < 0
    [TestCase(9.7, 2.5, 11.0, 0.65)]
    [TestCase(0.5, 0.3, 200.0, 0.7)]     // large x: C large
    public void Scaled_form_equals_definition_via_naive_series(double a, double b, double c, double z)
    {
        // C·(1 − (1−z)^B ₂F₁(A, B; C; z))/B written out with the plain series.
        double expected = c * (1 - Math.Pow(1 - z, b) * Reference.Hyp2F1Naive(a, b, c, z)) / b;
        double actual = Hypergeometric.ScaledOneMinus(a, b, c, z, Math.Log(1 - z));
        Assert.That(actual, Is.EqualTo(expected).Within(1e-11 * Math.Max(1, Math.Abs(expected))));
    }

    [Test]
    public void B_equal_zero_is_the_continuous_limit()
    {
        double at0 = Hypergeometric.ScaledOneMinus(1.2, 0, 3.0, 0.4, Math.Log(0.6));
        double near = Hypergeometric.ScaledOneMinus(1.2, 1e-7, 3.0, 0.4, Math.Log(0.6));
        Assert.That(at0, Is.EqualTo(near).Within(1e-6 * Math.Abs(at0)));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(4)]
    [TestCase(20)]
    public void Degenerate_online_retail_fit_a_9e7_b_1_6e8_at_z_0_4668_matches_the_exact_pfaff_series(int x)
    {
        // Customer 12346's T = 92 days and the 90-day horizon: z = 90/(α+T+90) = 0.46678, where the old series needed
        // more than 5,000,000 terms (they grow like (a·z)^k/k! up to k ≈ 4e7) and ltv exited 1.
        double tau = 90 / (OrAlpha + 92);
        double z = tau / (1 + tau);
        Assert.That(z, Is.EqualTo(0.4668).Within(5e-5));
        double expected = HighPrecision.AliveExpectationPfaff(OrR + x, OrA, OrB + x, tau);
        double actual = Hypergeometric.AliveExpectation(OrR, OrA, OrB, x, tau, z, -BgNbd.LogOnePlus(tau));
        TestContext.Out.WriteLine($"x={x}: Q = {actual:R}, reference {expected:R}, relative error {(actual - expected) / expected:E2}");
        Close(actual, expected, 1e-13, $"x={x}");

        // Through the public prediction: P(alive) × Q, finite for every customer shape.
        var p = new BgNbdParameters(OrR, OrAlpha, OrA, OrB);
        double e = BgNbd.ConditionalExpectedPurchases(p, 90, x, x == 0 ? 0 : 31, 92);
        Close(e, BgNbd.ProbabilityAlive(p, x, x == 0 ? 0 : 31, 92) * expected, 1e-13, "E[X(90)]");
    }

    private static IEnumerable<TestCaseData> ModerateCases()
    {
        // (r, a, b) from the CDNOW paper, a + b < 1, a = 1 (the 0/0 of the textbook form), large a and b, tiny a (the
        // quick-start shop's degenerate a = 4e-6), huge b; x from one-time buyers to heavy ones; z = τ/(1+τ) < ½.
        (double R, double A, double B)[] parameters = [(0.243, 0.793, 2.426), (0.5, 0.3, 0.5), (0.8, 1.0, 2.0), (1.5, 350.0, 900.0), (1.18, 4.1e-6, 16812.5), (0.4, 7e-9, 223.2), (2.5e1, 0.05, 3e4)];
        foreach (var (r, a, b) in parameters)
        {
            foreach (int x in new[] { 0, 2, 26 })
            {
                foreach (double tau in new[] { 1e-4, 0.25, 0.9 })
                {
                    yield return new TestCaseData(r, a, b, x, tau).SetName($"Pfaff_reference r={r} a={a} b={b} x={x} tau={tau}");
                }
            }
        }
    }

    [TestCaseSource(nameof(ModerateCases))]
    public void Series_and_integral_match_the_exact_pfaff_series_below_z_one_half(double r, double a, double b, int x, double tau)
    {
        double expected = HighPrecision.AliveExpectationPfaff(r + x, a, b + x, tau);
        double z = tau / (1 + tau);
        double production = Hypergeometric.AliveExpectation(r, a, b, x, tau, z, -BgNbd.LogOnePlus(tau));
        double integral = Hypergeometric.AliveExpectationByQuadrature(r + x, a, b + x, tau);
        Close(production, expected, 1e-13, "production path");
        Close(integral, expected, 1e-13, "integral");
    }

    [TestCase(0.9)]
    [TestCase(0.99)]
    [TestCase(0.999)]
    public void Near_z_one_both_paths_match_the_exact_euler_series_with_integer_b(double z)
    {
        // Integer a (so B = a − 1 is an integer and (1−z)^B an exact rational); the series in z then takes up to ~10⁵ exact
        // steps at z = 0.999.
        (double R, int A, double B, int X)[] cases = [(0.243, 2, 2.426, 0), (0.5, 3, 0.7, 5), (1.5, 11, 20.0, 2), (0.1, 2, 0.05, 0)];
        double tau = z / (1 - z);
        foreach (var (r, a, b, x) in cases)
        {
            double expected = HighPrecision.ScaledOneMinusEuler(a + b - 1 - r, a - 1, a + b + x - 1, z);
            double production = Hypergeometric.AliveExpectation(r, a, b, x, tau, z, Math.Log(1 - z));
            double integral = Hypergeometric.AliveExpectationByQuadrature(r + x, a, b + x, tau);
            TestContext.Out.WriteLine($"z={z} r={r} a={a} b={b} x={x}: reference {expected:R}, production {(production - expected) / expected:E2}, integral {(integral - expected) / expected:E2}");
            Close(production, expected, 1e-13, $"production r={r} a={a} b={b} x={x}");
            Close(integral, expected, 1e-13, $"integral r={r} a={a} b={b} x={x}");
        }
    }

    [TestCase(1e6)]
    [TestCase(1e9)]
    [TestCase(1e12)]
    public void Close_to_z_one_closed_forms_hold(double tau)
    {
        double z = tau / (1 + tau);       // 1 − 1e-6 … 1 − 1e-12
        double log1mz = -BgNbd.LogOnePlus(tau);
        double lnTau1 = BgNbd.LogOnePlus(tau);
        Assert.Multiple(() =>
        {
            // s = 1, p ~ Beta(1, 1): Q = ∫₀¹ τ/(1+pτ) dp = ln(1+τ); in ₂F₁ terms the B → 0 limit of ScaledOneMinus(0, 0, 1, z).
            Close(Hypergeometric.AliveExpectationByQuadrature(1, 1, 1, tau), lnTau1, 1e-13, "Beta(1,1)");
            Close(Hypergeometric.ScaledOneMinus(0, 0, 1, z, log1mz), lnTau1, 1e-13, "ScaledOneMinus(0,0,1)");
            // s = 1, Beta(2, 1): Q = 2τ∫ p/(1+pτ) dp = 2(1 − ln(1+τ)/τ), i.e. ₂F₁(1, 1; 2; z) = −ln(1−z)/z.
            Close(Hypergeometric.ScaledOneMinus(1, 1, 2, z, log1mz), 2 * (1 - lnTau1 / tau), 1e-13, "2F1(1,1;2;z)");
            // s = 1, Beta(2, 2): Q = 6τ∫ p(1−p)/(1+pτ) dp = 3 + 6/τ − 6(1+τ) ln(1+τ)/τ² (polynomial division).
            Close(Hypergeometric.AliveExpectationByQuadrature(1, 2, 2, tau), 3 + 6 / tau - 6 * (1 + tau) * lnTau1 / (tau * tau), 1e-13, "Beta(2,2)");
            // s = 2, Beta(5, 3): Q = E[1/p] − E[(1+pτ)^−2/p] = 7/4 − O(E[p^−3] τ^−2 = 8.75 τ^−2): 7/4 to 1e-11 at τ = 1e6.
            Close(Hypergeometric.AliveExpectationByQuadrature(2, 5, 3, tau), 1.75, 1e-11, "Beta(5,3)");
            // Huge, sharply peaked Beta(1e6, 2e6) with s = 10: E[1/p] = (a+β−1)/(a−1), the rest below (1 + τ/3)^−10.
            Close(Hypergeometric.AliveExpectationByQuadrature(10, 1e6, 2e6, tau), (3e6 - 1) / (1e6 - 1), 1e-13, "Beta(1e6,2e6)");
            // ₂F₁(C, B; C; z) = (1−z)^−B makes the bracket vanish: s = C − A = 0.
            Assert.That(Hypergeometric.ScaledOneMinus(2.5e8, 9.35e7, 2.5e8, z, log1mz), Is.EqualTo(0).Within(1e-300), "2F1(a,b;a;z)");
        });
    }

    [Test]
    public void Very_long_horizons_match_integration_and_never_fail()
    {
        var p = new BgNbdParameters(0.243, 4.414, 0.793, 2.426);
        // 1000 × (α + T): the series would need ~35,000 terms; the integral matches integration over p.
        double e = BgNbd.ConditionalExpectedPurchases(p, 40_000, 2, 30.43, 38.86);
        Assert.That(e, Is.EqualTo(Reference.ConditionalExpectationByIntegration(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 40_000)).Within(1e-6 * e));
        // 10¹² time units used to throw "did not converge in 5000000 terms"; now finite, and with a < 1 it keeps
        // growing like t^(1−a) (E[1/p] is infinite), so it exceeds the 40,000-unit value.
        double far = BgNbd.ConditionalExpectedPurchases(p, 1e12, 2, 30.43, 38.86);
        Assert.That(double.IsFinite(far) && far > e, Is.True, $"{far}");
    }

    [Test]
    public void Optimiser_extremes_from_ten_day_samples_are_finite_and_quick()
    {
        // Plain maximum likelihood fits on 50 and 200 simulated customers over 10 days ran off to these: α at the smallest
        // normal double (τ = ∞ for T = 0; 1 + σ·expm1(d) rounding to 0 gave NaN) and a = 1.3e154 (1 − σ(v) = 0 at the
        // peak stalled the walk for minutes).
        var tiny = new BgNbdParameters(4.330454114124848E-20, 1.1125369292536926E-308, 9.011998609201946E+50, 535842.4229397133);
        var huge = new BgNbdParameters(9.74112217102183E-05, 1.5584959673817562, 1.3407807929942438E+154, 5.409367231409732E+17);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Multiple(() =>
        {
            // a ≫ b: everybody drops out after their next purchase, so a new customer (T = 0, τ = ∞) buys once more:
            // E[1/p] = (a+b−1)/(a−1) ≈ 1.
            Assert.That(BgNbd.ConditionalExpectedPurchases(tiny, 90, 0, 0, 0), Is.EqualTo(1).Within(1e-12));
            // T = 5: τ = 18, p ≈ 1, so Q ≈ s·ln(1 + τ) with s = r.
            Assert.That(BgNbd.ConditionalExpectedPurchases(tiny, 90, 0, 0, 5), Is.EqualTo(tiny.R * Math.Log(19)).Within(1e-12 * tiny.R));
            foreach (var p in new[] { tiny, huge })
            {
                foreach (var (x, tx, t) in new[] { (0, 0.0, 0.0), (0, 0.0, 5.0), (1, 2.0, 5.0), (3, 8.0, 9.0) })
                {
                    double e = BgNbd.ConditionalExpectedPurchases(p, 90, x, tx, t);
                    Assert.That(double.IsFinite(e) && e >= 0, Is.True, $"{p} x={x} T={t}: {e}");
                }
            }
        });
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(5), "each evaluation takes at most a few hundred integrand values");
    }

    [Test]
    public void Every_corner_of_the_parameter_space_gives_a_finite_non_negative_prediction()
    {
        double[] shapes = [1e-14, 1e-6, 0.01, 1, 100, 1e6, 1e12];
        double[] horizons = [1e-3, 1, 90, 365, 1e6];
        int checkedCases = 0;
        foreach (double r in shapes)
        {
            foreach (double a in shapes)
            {
                foreach (double b in shapes)
                {
                    var p = new BgNbdParameters(r, 10, a, b);
                    foreach (double t in horizons)
                    {
                        foreach (var (x, tx, bigT) in new[] { (0, 0.0, 0.0), (1, 5.0, 30.0), (40, 300.0, 310.0) })
                        {
                            double e = BgNbd.ConditionalExpectedPurchases(p, t, x, tx, bigT);
                            Assert.That(double.IsFinite(e) && e >= 0, Is.True, $"r={r} a={a} b={b} t={t} x={x}: {e}");
                            checkedCases++;
                        }
                    }
                }
            }
        }
        Assert.That(checkedCases, Is.EqualTo(7 * 7 * 7 * 5 * 3));
    }
}
