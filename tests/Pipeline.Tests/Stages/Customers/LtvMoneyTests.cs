using NUnit.Framework;
using Pipeline.Stages.Customers;

namespace Pipeline.Tests.Stages.Customers;

/// <summary>How the ltv stage turns a model's amount (a double) into the DECIMAL(18,2) its tables publish.</summary>
public class LtvMoneyTests
{
    [TestCase(28.310398466752396, "28.31")]
    [TestCase(28.309999999999999, "28.31")] // the double nearest 28.31: the decimal is the amount itself
    [TestCase(0.125, "0.13")] // exactly representable: half away from zero
    [TestCase(-0.125, "-0.13")]
    [TestCase(0.0, "0.00")]
    [TestCase(9_999_999_999_999_999.0, null)] // beyond DECIMAL(18,2)'s 16 integer digits (the double is 1E16)
    [TestCase(double.NaN, null)]
    [TestCase(double.PositiveInfinity, null)]
    public void Money_is_cents_as_an_exact_decimal_or_null(double amount, string? expected)
    {
        var money = LtvJob.Money(amount);
        Assert.That(money?.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(expected));
        if (money is { } m)
        {
            Assert.That(m, Is.EqualTo(decimal.Parse(expected!, System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    [Test]
    public void A_model_input_keeps_six_decimals_as_customers_features_has_it()
    {
        Assert.Multiple(() =>
        {
            Assert.That(LtvJob.Money6(120.425), Is.EqualTo(120.425m));
            Assert.That(LtvJob.Money6(1.0 / 3), Is.EqualTo(0.333333m));
            Assert.That(LtvJob.Money6(double.NaN), Is.Null);
        });
    }
}
