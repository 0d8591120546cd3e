using System.Globalization;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Engine.Spark;
using Pipeline.Stages;

namespace Pipeline.Tests.Stages;

/// <summary>
/// The money rules of <see cref="MoneySql"/> evaluated by the DuckDB engine on hand-worked values, ties included
/// (half away from zero, never half to even, never a DOUBLE's nearest value), and the types they produce. The Spark
/// renderings are checked for Spark's own traps by the dialect tests; here, that they spell the same rule.
/// </summary>
public class MoneySqlTests
{
    private static readonly DuckDbDialect D = DuckDbDialect.Instance;

    /// <summary>One expression over one row of literal columns, evaluated by DuckDB: its value and its type.</summary>
    private static (object? Value, string Type) Eval(string expr, string columns)
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        var row = engine.Query($"SELECT v, CAST(typeof(v) AS VARCHAR) FROM (SELECT {expr} AS v FROM (SELECT {columns}) AS t) AS q")[0];
        return (row[0], (string)row[1]!);
    }

    private static string Amount(decimal value) => $"CAST('{value.ToString(CultureInfo.InvariantCulture)}' AS DECIMAL(18,2))";

    // amount / count, worked by hand: 0.05 / 2 = 0.025 → 0.03 (a tie, away from zero; a DOUBLE 0.025 is 0.02500000000000000139 and
    // banker's rounding would give 0.02); −0.05 / 2 → −0.03; 1 / 3 = 0.333… → 0.33; 2 / 3 = 0.666… → 0.67; 0.01 / 2 = 0.005 → 0.01;
    // 100 / 8 = 12.5 → 12.50; 1.15 / 1 → 1.15; 12 345 678 901 234.56 / 7 = 1 763 668 414 462.08 exactly (16 digits: no DOUBLE holds it).
    [TestCase("0.05", 2, "0.03")]
    [TestCase("-0.05", 2, "-0.03")]
    [TestCase("1.00", 3, "0.33")]
    [TestCase("2.00", 3, "0.67")]
    [TestCase("-2.00", 3, "-0.67")]
    [TestCase("0.01", 2, "0.01")]
    [TestCase("100.00", 8, "12.50")]
    [TestCase("1.15", 1, "1.15")]
    [TestCase("0.00", 5, "0.00")]
    [TestCase("12345678901234.56", 7, "1763668414462.08")]
    public void Per_unit_money_is_the_exact_quotient_rounded_half_away_from_zero(string amount, int count, string expected)
    {
        var (value, type) = Eval(MoneySql.PerUnit(D, "a", "n"), $"{Amount(decimal.Parse(amount, CultureInfo.InvariantCulture))} AS a, CAST({count} AS BIGINT) AS n");
        Assert.That(value, Is.EqualTo(decimal.Parse(expected, CultureInfo.InvariantCulture)));
        Assert.That(type, Is.EqualTo("DECIMAL(18,2)"));
    }

    [Test]
    public void Per_unit_money_is_null_without_units_and_keeps_six_decimals_for_model_inputs()
    {
        Assert.That(Eval(MoneySql.PerUnit(D, "a", "n"), $"{Amount(10m)} AS a, CAST(0 AS BIGINT) AS n").Value, Is.Null);
        Assert.That(Eval(MoneySql.PerUnit(D, "a", "n"), "CAST(NULL AS DECIMAL(18,2)) AS a, CAST(3 AS BIGINT) AS n").Value, Is.Null);
        // 100 / 3 = 33.3333333… → 33.333333; 200 / 3 = 66.6666666… → 66.666667; 0.01 / 8 = 0.00125 → 0.001250.
        var (third, type) = Eval(MoneySql.PerUnit(D, "a", "n", 6), $"{Amount(100m)} AS a, CAST(3 AS BIGINT) AS n");
        Assert.That(third, Is.EqualTo(33.333333m));
        Assert.That(type, Is.EqualTo("DECIMAL(18,6)"));
        Assert.That(Eval(MoneySql.PerUnit(D, "a", "n", 6), $"{Amount(200m)} AS a, CAST(3 AS BIGINT) AS n").Value, Is.EqualTo(66.666667m));
        Assert.That(Eval(MoneySql.PerUnit(D, "a", "n", 6), $"{Amount(0.01m)} AS a, CAST(8 AS BIGINT) AS n").Value, Is.EqualTo(0.00125m));
    }

    // amount × rate, worked by hand: 0.50 × 1.01 = 0.505 → 0.51 (tie, away from zero); −0.50 × 1.01 → −0.51 (a credit note);
    // 10.05 × 1.08085 = 10.8625425 → 10.86; 12 345.00 JPY × 0.00671234 = 82.8638373 → 82.86; 99 999 999.99 × 1.23456789 =
    // 123 456 788.987654321… → 123 456 788.99 (exact: a DECIMAL(18,2) × DECIMAL(18,2) product would overflow DuckDB's 18 digits).
    [TestCase("0.50", "1.01", "0.51")]
    [TestCase("-0.50", "1.01", "-0.51")]
    [TestCase("10.05", "1.08085", "10.86")]
    [TestCase("12345.00", "0.00671234", "82.86")]
    [TestCase("99999999.99", "1.23456789", "123456788.99")]
    [TestCase("100.00", "1", "100.00")]
    public void Conversion_rounds_the_exact_product_half_away_from_zero(string amount, string rate, string expected)
    {
        var (value, type) = Eval(MoneySql.ToBase("a", "r"),
            $"{Amount(decimal.Parse(amount, CultureInfo.InvariantCulture))} AS a, CAST('{rate}' AS DECIMAL(18,8)) AS r");
        Assert.That(value, Is.EqualTo(decimal.Parse(expected, CultureInfo.InvariantCulture)));
        Assert.That(type, Is.EqualTo("DECIMAL(18,2)"));
    }

    // Rates are read to 8 decimals, half away from zero (they were read to 4: 0.00671234 became 0.0067, 0.2% off).
    [TestCase("0.00671234", "0.00671234")]
    [TestCase("1.123456785", "1.12345679")]
    [TestCase(" 1.0808 ", "1.08080000")]
    [TestCase("1e-3", "0.00100000")]
    [TestCase("abc", null)]
    public void Rates_are_read_to_eight_decimals(string text, string? expected)
    {
        var (value, type) = Eval(MoneySql.Rate(D, "trim(s)"), $"'{text}' AS s");
        Assert.That(value, Is.EqualTo(expected is null ? null : decimal.Parse(expected, CultureInfo.InvariantCulture)));
        Assert.That(type, Is.EqualTo("DECIMAL(18,8)"));
    }

    [Test]
    public void A_sum_of_many_cents_is_exact_where_a_double_sum_is_not()
    {
        // Ten orders of 0.10: 1.00 exactly. Adding the doubles nearest 0.1 ten times gives 0.9999999999999999.
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        var row = engine.Query($"SELECT {MoneySql.Sum("a")}, CAST(typeof({MoneySql.Sum("a")}) AS VARCHAR) FROM (SELECT CAST('0.10' AS DECIMAL(18,2)) AS a FROM range(10)) AS t")[0];
        Assert.That(row[0], Is.EqualTo(1.00m));
        Assert.That(row[1], Is.EqualTo("DECIMAL(18,2)"));
        var doubles = 0.0;
        for (var i = 0; i < 10; i++)
        {
            doubles += 0.1;
        }
        Assert.That(doubles, Is.Not.EqualTo(1.0), "the reason money is not summed as DOUBLE");
    }

    [Test]
    public void Both_dialects_spell_the_same_rule()
    {
        // Spark's integral division is `div`, DuckDB's `//`; the casts, abs and round are spelled alike.
        var spark = MoneySql.PerUnit(SparkDialect.Instance, "a", "n");
        var duck = MoneySql.PerUnit(D, "a", "n");
        Assert.That(spark, Does.Contain(" div ").And.Not.Contain("//"));
        Assert.That(duck, Does.Contain(" // "));
        Assert.That(spark.Replace(" div ", " // ", StringComparison.Ordinal), Is.EqualTo(duck));
        Assert.That(MoneySql.Rate(SparkDialect.Instance, "x"), Does.Contain("try_cast(x AS DECIMAL(38,12))"));
    }
}
