using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

[TestFixture]
public class HypergeometricTests
{
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

    [Test]
    public void Very_long_horizons_work_until_the_documented_limit_then_fail_loudly()
    {
        var p = new BgNbdParameters(0.243, 4.414, 0.793, 2.426);
        // 1000 × (α + T): still converges, and matches integration over p.
        double e = BgNbd.ConditionalExpectedPurchases(p, 40_000, 2, 30.43, 38.86);
        Assert.That(e, Is.EqualTo(Reference.ConditionalExpectationByIntegration(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 40_000)).Within(1e-6 * e));
        Assert.That(() => BgNbd.ConditionalExpectedPurchases(p, 1e12, 2, 30.43, 38.86), Throws.InvalidOperationException.With.Message.Contains("horizon"));
    }
}
