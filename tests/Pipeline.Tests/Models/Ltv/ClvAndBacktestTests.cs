using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

[TestFixture]
public class ClvAndBacktestTests
{
    private static readonly BgNbdParameters WeeklyBg = new(0.243, 4.414, 0.793, 2.426);
    private static readonly GammaGammaParameters Gg = new(6.25, 3.74, 15.44);

    [Test]
    public void Undiscounted_clv_telescopes_to_expected_purchases_times_value()
    {
        var c = new CustomerSummary("1", 2, 30.43, 38.86, 22.345);
        double value = 6.25 * (15.44 + 2 * 22.345) / (6.25 * 2 + 3.74 - 1); // p(γ + x z̄)/(px + q − 1), written out
        double purchases = Reference.ConditionalExpectationByIntegration(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 52);
        double clv = Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(52, 0.0));
        Assert.That(clv, Is.EqualTo(purchases * value).Within(1e-6 * clv));
    }

    [Test]
    public void Single_period_discounting_divides_by_one_plus_rate()
    {
        var c = new CustomerSummary("x", 3, 20, 39, 40);
        double undiscounted = Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(1, 0.0, 4));
        Assert.That(Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(1, 1.0, 4)), Is.EqualTo(undiscounted / 2).Within(1e-12));
        Assert.That(Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(2, 0.1, 4)), Is.LessThan(Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(2, 0.0, 4))));
    }

    [Test]
    public void Clv_does_not_depend_on_the_time_unit_when_units_are_explicit()
    {
        // The same customer in days, with α rescaled to days (λ per day = λ per week / 7): monthly periods of 30.4375 days
        // and of 30.4375/7 weeks must give the same CLV. This is the hard-coded-30 pitfall made impossible.
        var weekly = new CustomerSummary("w", 2, 30.43, 38.86, 22.345);
        var daily = new CustomerSummary("d", 2, 30.43 * 7, 38.86 * 7, 22.345);
        var dailyBg = new BgNbdParameters(WeeklyBg.R, WeeklyBg.Alpha * 7, WeeklyBg.A, WeeklyBg.B);
        double perWeek = Clv.CustomerLifetimeValue(WeeklyBg, Gg, weekly, new ClvOptions(12, 0.01, 30.4375 / 7));
        double perDay = Clv.CustomerLifetimeValue(dailyBg, Gg, daily, new ClvOptions(12, 0.01, 30.4375));
        Assert.That(perDay, Is.EqualTo(perWeek).Within(1e-9 * perWeek));
    }

    [Test]
    public void One_time_buyers_get_the_population_mean_value()
    {
        var c = new CustomerSummary("new", 0, 0, 10, 0);
        Assert.That(GammaGamma.ConditionalExpectedAverageValue(Gg, 0, 0), Is.EqualTo(6.25 * 15.44 / 2.74).Within(1e-12));
        double clv = Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(10, 0.0));
        double purchases = Reference.ConditionalExpectationByIntegration(0.243, 4.414, 0.793, 2.426, 0, 0, 10, 10);
        Assert.That(clv, Is.EqualTo(purchases * 6.25 * 15.44 / 2.74).Within(1e-6 * clv));
    }

    [Test]
    public void Clv_options_are_validated()
    {
        var c = new CustomerSummary("x", 0, 0, 10, 0);
        Assert.That(() => Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(0, 0.01)), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(1, -1)), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => Clv.CustomerLifetimeValue(WeeklyBg, Gg, c, new ClvOptions(1, 0.01, 0)), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => Clv.CustomerLifetimeValue(WeeklyBg, new GammaGammaParameters(1, 0.9, 1), c, new ClvOptions(1, 0.01)), Throws.InvalidOperationException);
    }

    [Test]
    public void Backtest_metrics_and_buckets_by_hand()
    {
        int[] freq = [0, 0, 1, 8, 10];
        double[] predicted = [0.5, 0, 1, 7, 9];
        double[] actual = [1, 0, 2, 8, 8];
        // errors −0.5, 0, −1, −1, +1
        var r = Backtest.Evaluate(freq, predicted, actual);
        Assert.Multiple(() =>
        {
            Assert.That(r.Customers, Is.EqualTo(5));
            Assert.That(r.MeanAbsoluteError, Is.EqualTo(3.5 / 5).Within(1e-15));
            Assert.That(r.RootMeanSquaredError, Is.EqualTo(Math.Sqrt(3.25 / 5)).Within(1e-15));
            Assert.That(r.Bias, Is.EqualTo(-1.5 / 5).Within(1e-15));
            Assert.That(r.Buckets.Select(b => b.Label), Is.EqualTo((string[])["0", "1", "2", "3", "4", "5", "6", "7+"]));
            Assert.That(r.Buckets[0], Is.EqualTo(new FrequencyBucket(0, false, 2, 0.5, 0.25)));
            Assert.That(r.Buckets[1], Is.EqualTo(new FrequencyBucket(1, false, 1, 2, 1)));
            Assert.That(r.Buckets[3].Customers, Is.Zero);
            Assert.That(double.IsNaN(r.Buckets[3].MeanActual), Is.True);
            Assert.That(r.Buckets[7], Is.EqualTo(new FrequencyBucket(7, true, 2, 8, 8)));
        });
    }

    [Test]
    public void Backtest_rejects_mismatched_lengths()
    {
        Assert.That(() => Backtest.Evaluate([0, 1], [1.0], [1.0, 2.0]), Throws.ArgumentException.With.Message.Contains("one entry per customer"));
    }
}
