using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

[TestFixture]
public class ClvSummaryTests
{
    private static DateOnly D(int month, int day) => new(2024, month, day);

    /// <summary>
    /// A: Jan 1 (10 + 5 → 15), Jan 8 (20), Jan 15 (30 + 10 → 40), Feb 10 (after the end: ignored).
    /// B: single order Jan 20. C: only after the end. E: two lines on one day (still a one-time buyer).
    /// </summary>
    private static readonly Transaction[] Lines =
    [
        new("A", D(1, 15), 30), new("A", D(1, 1), 10), new("B", D(1, 20), 99), new("A", D(1, 8), 20),
        new("A", D(1, 1), 5), new("C", D(2, 2), 7), new("A", D(1, 15), 10), new("A", D(2, 10), 1000),
        new("E", D(1, 31), 3), new("E", D(1, 31), 4),
    ];

    [Test]
    public void Daily_summary_follows_lifetimes_definitions()
    {
        var s = ClvSummary.FromTransactions(Lines, D(1, 31), TimeUnit.Day);
        Assert.That(s.Customers.Select(c => c.CustomerId), Is.EqualTo((string[])["A", "B", "E"]));
        Assert.That(s.Customers[0], Is.EqualTo(new CustomerSummary("A", 2, 14, 30, (20 + 40) / 2.0)));
        Assert.That(s.Customers[1], Is.EqualTo(new CustomerSummary("B", 0, 0, 11, 0)));
        Assert.That(s.Customers[2], Is.EqualTo(new CustomerSummary("E", 0, 0, 0, 0)));
        Assert.That(s.Unit, Is.EqualTo(TimeUnit.Day));
    }

    [Test]
    public void Weekly_summary_uses_fractional_weeks()
    {
        var a = ClvSummary.FromTransactions(Lines, D(1, 31), TimeUnit.Week).Customers[0];
        Assert.Multiple(() =>
        {
            Assert.That(a.Frequency, Is.EqualTo(2));
            Assert.That(a.Recency, Is.EqualTo(2.0));
            Assert.That(a.T, Is.EqualTo(30 / 7.0).Within(1e-15));
            Assert.That(a.MonetaryValue, Is.EqualTo(30.0));
        });
    }

    [Test]
    public void Calibration_holdout_split_counts_holdout_purchase_days()
    {
        var split = ClvSummary.CalibrationHoldout(Lines, D(1, 10), D(1, 31), TimeUnit.Day);
        // B, C and E first buy after the calibration end: not in the split.
        Assert.That(split.Rows, Has.Count.EqualTo(1));
        var a = split.Rows[0];
        Assert.That(a.Calibration, Is.EqualTo(new CustomerSummary("A", 1, 7, 9, 20)));
        Assert.That(a.HoldoutPurchases, Is.EqualTo(1)); // Jan 15 (two lines, one day); Feb 10 is after the holdout end
        Assert.That(a.HoldoutValue, Is.EqualTo(40));
        Assert.That(split.HoldoutLength, Is.EqualTo(21));
    }

    [Test]
    public void Holdout_end_must_follow_calibration_end()
    {
        Assert.That(() => ClvSummary.CalibrationHoldout(Lines, D(1, 10), D(1, 10), TimeUnit.Day),
            Throws.ArgumentException.With.Message.Contains("must be after calibration end"));
    }

    [Test]
    public void Empty_customer_id_is_rejected()
    {
        Assert.That(() => ClvSummary.FromTransactions([new Transaction("", D(1, 1), 1)], D(1, 31), TimeUnit.Day),
            Throws.ArgumentException.With.Message.Contains("empty customer id"));
    }

    [Test]
    public void Validator_reports_every_problem_with_what_to_fix()
    {
        CustomerSummary[] rows =
        [
            new("ok", 2, 5, 10, 12.5),
            new("late", 1, 12, 10, 3),          // recency > T
            new("oneTime", 0, 3, 10, 0),        // recency must be 0
            new("neg", -1, 0, 10, 0),           // negative frequency
            new("refund", 2, 4, 10, -5),        // monetary ≤ 0 (Gamma-Gamma only)
            new("ok", 1, 1, 2, 4),              // duplicate id
            new("nan", 1, double.NaN, 2, 4),    // non-finite recency
        ];
        Assert.That(SummaryValidator.Validate(rows).Select(p => p.CustomerId), Is.EqualTo((string[])["late", "oneTime", "neg", "ok", "nan"]));
        var ex = Assert.Throws<SummaryValidationException>(() => SummaryValidator.ThrowIfInvalid(rows, forGammaGamma: true))!;
        Assert.That(ex.Problems.Select(p => (p.RowIndex, p.Field)), Is.EqualTo(new[]
        {
            (1, "recency"), (2, "recency"), (3, "frequency"), (4, "monetary_value"), (5, "customer_id"), (6, "recency"),
        }));
        Assert.That(ex.Message, Does.Contain("6 problem(s)").And.Contain("exceeds T").And.Contain("one row per customer").And.Contain("refunds"));
    }

    [Test]
    public void Fits_refuse_invalid_summaries()
    {
        CustomerSummary[] rows = [new("a", 1, 2, 1, 10), new("b", 2, 1, 5, -1)];
        Assert.That(() => BgNbd.Fit(rows), Throws.InstanceOf<SummaryValidationException>());
        Assert.That(() => GammaGamma.Fit(rows), Throws.InstanceOf<SummaryValidationException>().With.Property("Problems").Count.EqualTo(2));
    }
}
