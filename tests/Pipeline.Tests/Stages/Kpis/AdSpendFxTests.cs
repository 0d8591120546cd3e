using System.Globalization;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Kpis;

/// <summary>
/// Ad spend in another currency is converted to the base currency (USD here) with the orders' FX table and rule: the
/// latest rate on or before the spend date, the spend rounded to cents and the product rounded to cents, half away
/// from zero. Before, spend went in unconverted, so ACoS divided euros by dollars. Every number is worked by hand.
/// </summary>
public class AdSpendFxTests
{
    private string _dir = "";

    private string Output => Path.Combine(_dir, "out");

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("kpis-fx");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // EUR: 1.08085 from Friday 2024-03-01, 1.1 from Monday 03-04. GBP has no rates.
    private const string Fx = """
        date,currency,rate
        2024-03-01,EUR,1.08085
        2024-03-04,EUR,1.1
        """;

    // A1: 200.00 USD on Saturday 03-02. B1: 100.00 EUR on 03-04 → 100.00 × 1.1 = 110.00 USD.
    private const string Orders = """
        order_id,customer_id,ordered_at,status,currency,total_amount
        A1,A,2024-03-02T10:00:00Z,completed,USD,200.00
        B1,B,2024-03-04T10:00:00Z,completed,EUR,100.00
        """;

    // Both purchases come from a paid_search session an hour earlier.
    private static readonly FixtureSession[] Sessions =
    [
        new("s1", "a1", "A", "2024-03-02 09:00:00", "paid_search", Purchases: 1),
        new("s2", "b1", "B", "2024-03-04 09:00:00", "paid_search", Purchases: 1),
    ];

    private const string Spend = """
        date,channel,campaign,spend,currency
        2024-03-02,paid_search,brand,10.05,EUR
        2024-03-02,paid_search,generic,5.00,USD
        2024-03-02,paid_search,promo,4.00,
        2024-03-04,paid_search,brand,0.05,eur
        2024-03-04,paid_search,generic,20.00,GBP
        2024-02-29,paid_search,brand,7.00,EUR
        2024-03-04,paid_search,promo,3.333,USD
        """;

    private CliResult Run(bool withFx, string fxTable = Fx, string spendTable = Spend)
    {
        var fx = Path.Combine(_dir, "fx.csv");
        File.WriteAllText(fx, fxTable);
        var orders = Path.Combine(_dir, "orders.csv");
        File.WriteAllText(orders, withFx ? Orders : Orders.Replace(",EUR,", ",USD,", StringComparison.Ordinal));
        var spend = Path.Combine(_dir, "spend.csv");
        File.WriteAllText(spend, spendTable);
        var fxSection = withFx ? $$""", "fx": { "input": "{{fx}}" }""" : "";
        var config = Path.Combine(_dir, "config.json");
        File.WriteAllText(config, $$"""
            {
              "now": "2024-12-31T00:00:00Z",
              "quality": { "max_quarantine_share": 0.6 },
              "orders": { "input": "{{orders}}"{{fxSection}} },
              "kpis": { "ad_spend": { "input": "{{spend}}" } }
            }
            """);
        var clean = PipelineCli.Run("clean-orders", "-c", config, "-o", Output);
        Assert.That(clean.ExitCode, Is.Zero, clean.ToString());
        ClickFixtures.WriteSessions(Output, Sessions);
        ClickFixtures.WritePurchaseEvents(Output, Sessions, [new("A1", "s1", "2024-03-02 10:00:00"), new("B1", "s2", "2024-03-04 10:00:00")]);
        return PipelineCli.Run("kpis", "-c", config, "-o", Output);
    }

    private Dictionary<string, object?> Channel(string day) =>
        ParquetTable.Read(Path.Combine(Output, "kpi", "channels")).Single(r => Day(r["kpi_date"]) == day && (string)r["channel"]! == "paid_search");

    private Dictionary<long, string> Quarantined() => ParquetTable.Read(Path.Combine(Output, "quarantine", "ad_spend"))
        .ToDictionary(q => Convert.ToInt64(q["source_line"], CultureInfo.InvariantCulture), q => (string)q["reason_code"]!);

    private static string Day(object? v) => v switch
    {
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => throw new AssertionException($"not a date: {v}"),
    };

    [Test]
    public void Spend_in_another_currency_is_converted_like_an_order_before_acos_is_computed()
    {
        var r = Run(withFx: true);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var saturday = Channel("2024-03-02");
        var monday = Channel("2024-03-04");
        Assert.Multiple(() =>
        {
            // 03-02 (Saturday: Friday's rate): 10.05 EUR × 1.08085 = 10.8625425 → 10.86; 5.00 USD; 4.00 with no currency
            // = the base currency. 10.86 + 5.00 + 4.00 = 19.86 (unconverted it was 19.05).
            Assert.That(saturday["spend"], Is.EqualTo(19.86m));
            Assert.That(saturday["revenue"], Is.EqualTo(200.00m));
            Assert.That((double)saturday["acos"]!, Is.EqualTo(0.0993).Within(1e-12), "19.86 / 200.00");
            Assert.That((double)saturday["roas"]!, Is.EqualTo(200.00 / 19.86).Within(1e-12));
            Assert.That(saturday["cpa"], Is.EqualTo(19.86m), "19.86 / 1 order");
            Assert.That(saturday["cac"], Is.EqualTo(19.86m), "A1 is A's first purchase");
            // 03-04: 0.05 EUR ("eur") × 1.1 = 0.055 → 0.06 (half away from zero); 3.333 USD → 3.33. 0.06 + 3.33 = 3.39.
            // Revenue: B1, 100.00 EUR × 1.1 = 110.00 USD.
            Assert.That(monday["spend"], Is.EqualTo(3.39m));
            Assert.That(monday["revenue"], Is.EqualTo(110.00m));
            Assert.That((double)monday["acos"]!, Is.EqualTo(3.39 / 110.0).Within(1e-12));
        });
        // GBP has no rates (line 6); 02-29 is before EUR's first rate (line 7).
        Assert.That(Quarantined(), Is.EqualTo(new Dictionary<long, string> { [6] = "unknown_currency", [7] = "missing_fx_rate" }));
    }

    [Test]
    public void Spend_that_its_fx_rate_would_push_past_decimal_18_2_is_quarantined_not_fatal()
    {
        // XAU at 99 999 999: 100 000 002 × 99 999 999 = 10^16 + 10^8 − 2, beyond decimal(18,2) (< 10^16). Before, its
        // conversion failed the whole kpis run.
        var r = Run(withFx: true, Fx + "\n2024-03-01,XAU,99999999\n", """
            date,channel,campaign,spend,currency
            2024-03-04,paid_search,gold,100000002,XAU
            2024-03-04,paid_search,brand,2.50,USD
            """);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(Channel("2024-03-04")["spend"], Is.EqualTo(2.50m));
        Assert.That(Quarantined(), Is.EqualTo(new Dictionary<long, string> { [2] = "spend_out_of_range" }));
    }

    [Test]
    public void Spend_is_read_in_the_documented_forms_only()
    {
        var r = Run(withFx: true, Fx, """
            date,channel,campaign,spend,currency
            2024-03-04,paid_search,a,1_000,USD
            2024-03-04,paid_search,b,-1e-9,USD
            2024-03-04,paid_search,c,1e14,USD
            2024-03-04,paid_search,d,2.5e1,USD
            2024-03-04,paid_search,e,1,USD
            2024-03-04,paid_search,f,+1.00,USD
            """);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        // 1_000 is no plain number, -1e-9 is negative (it read as 0.00), 1e14 is a number too large to read;
        // 2.5e1 + 1 + 1.00 = 27.00.
        Assert.That(Channel("2024-03-04")["spend"], Is.EqualTo(27.00m));
        Assert.That(Quarantined(), Is.EqualTo(new Dictionary<long, string> { [2] = "bad_spend", [3] = "bad_spend", [4] = "spend_out_of_range" }));
    }

    [Test]
    public void Without_an_fx_table_only_base_currency_spend_is_kept()
    {
        var r = Run(withFx: false);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        // 03-02: only 5.00 USD + 4.00 (no currency) = 9.00; 03-04: only 3.333 → 3.33.
        Assert.That(Channel("2024-03-02")["spend"], Is.EqualTo(9.00m));
        Assert.That(Channel("2024-03-04")["spend"], Is.EqualTo(3.33m));
        Assert.That(Quarantined(), Is.EqualTo(new Dictionary<long, string>
        {
            [2] = "unknown_currency", [5] = "unknown_currency", [6] = "unknown_currency", [7] = "unknown_currency",
        }));
    }
}
