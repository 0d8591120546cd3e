using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Orders;

/// <summary>
/// Hand-computed fixtures for each cleaning rule, run through the real CLI (DuckDB, Parquet on disk) and read back
/// with Parquet.Net. Expected values are worked out in the comments, not taken from a previous run.
/// </summary>
public class CleanOrdersJobTests
{
    private const string Header = "order_id,customer_id,ordered_at,status,currency,total_amount,discount_amount,refunded_amount,email";
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("orders");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private string Config(string extra = "") => Write("config.json",
        "{ \"now\": \"2024-06-01T00:00:00Z\", \"quality\": { \"max_quarantine_share\": 1 } " + extra + " }");

    private (CliResult Result, List<Dictionary<string, object?>> Orders, List<Dictionary<string, object?>> Quarantine, JsonElement Stage)
        Clean(params string[] extraArgs)
    {
        var output = Path.Combine(_dir, "out");
        var result = PipelineCli.Run(["clean-orders", "-o", output, .. extraArgs]);
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var orders = ParquetTable.Read(Path.Combine(output, "clean", "orders"));
        var quarantine = ParquetTable.Read(Path.Combine(output, "quarantine", "orders"));
        // The latest run by start time: run ids (one-second resolution, random suffix) do not sort by time.
        var stage = Directory.GetFiles(Path.Combine(output, "_runs"))
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())
            .MaxBy(m => m.GetProperty("started_at").GetDateTimeOffset())
            .GetProperty("stages")[0].Clone();
        return (result, orders, quarantine, stage);
    }

    private static Dictionary<string, object?> Order(List<Dictionary<string, object?>> rows, string id) =>
        rows.Single(r => (string?)r["order_id"] == id);

    private static DateTime Utc(string iso) => DateTime.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static DateTime AsUtc(object? v) => v switch
    {
        DateTime d => d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : DateTime.SpecifyKind(d, DateTimeKind.Utc),
        DateTimeOffset o => o.UtcDateTime,
        _ => throw new AssertionException($"not a timestamp: {v}"),
    };

    [Test]
    public void Timestamps_with_offsets_epochs_and_source_zone_become_utc()
    {
        // Source zone Asia/Shanghai (UTC+8, no DST). 2024-03-01T02:00:00Z = epoch 1709258400 (1709251200 is midnight).
        var input = Write("ts.csv", Header + "\n" +
            "T1,C1,2024-03-01T10:00:00+08:00,,,1,,,\n" +   // offset → 02:00Z
            "T2,C1,2024-03-01T01:30:00+08:00,,,1,,,\n" +   // offset crossing midnight → 2024-02-29T17:30Z
            "T3,C1,1709258400000,,,1,,,\n" +               // epoch ms → 02:00Z
            "T4,C1,1709258400,,,1,,,\n" +                  // epoch s → 02:00Z
            "T5,C1,2024-03-01 10:00:00,,,1,,,\n" +         // naive, Shanghai → 02:00Z
            "T6,C1,2024-03-01,,,1,,,\n" +                  // date only, Shanghai midnight → 2024-02-29T16:00Z
            "T7,C1,2024-03-01T02:00:00Z,,,1,,,\n");        // Z → 02:00Z
        var (_, orders, _, _) = Clean("-i", input, "-c", Config(), "--source-time-zone", "Asia/Shanghai");
        Assert.Multiple(() =>
        {
            Assert.That(AsUtc(Order(orders, "T1")["ordered_at"]), Is.EqualTo(Utc("2024-03-01T02:00:00Z")));
            Assert.That(AsUtc(Order(orders, "T2")["ordered_at"]), Is.EqualTo(Utc("2024-02-29T17:30:00Z")));
            Assert.That(Order(orders, "T2")["order_date"], Is.EqualTo("2024-02-29"));
            Assert.That(AsUtc(Order(orders, "T3")["ordered_at"]), Is.EqualTo(Utc("2024-03-01T02:00:00Z")));
            Assert.That(AsUtc(Order(orders, "T4")["ordered_at"]), Is.EqualTo(Utc("2024-03-01T02:00:00Z")));
            Assert.That(AsUtc(Order(orders, "T5")["ordered_at"]), Is.EqualTo(Utc("2024-03-01T02:00:00Z")));
            Assert.That(AsUtc(Order(orders, "T6")["ordered_at"]), Is.EqualTo(Utc("2024-02-29T16:00:00Z")));
            Assert.That(Order(orders, "T6")["order_date"], Is.EqualTo("2024-02-29"));
            Assert.That(AsUtc(Order(orders, "T7")["ordered_at"]), Is.EqualTo(Utc("2024-03-01T02:00:00Z")));
        });
    }

    [Test]
    public void Impossible_utc_offsets_are_bad_timestamps()
    {
        var input = Write("offsets.csv", Header + "\n" +
            "U1,C1,2024-03-01T10:00:00+99:99,,,1,,,\n" +   // 2 was read as 2024-02-26 05:21Z
            "U2,C1,2024-03-01T10:00:00+24:00,,,1,,,\n" +   // 3 was a day earlier
            "U3,C1,2024-03-01T10:00:00-24:00,,,1,,,\n" +   // 4 was a day later
            "U4,C1,2024-03-01T10:00:00+0860,,,1,,,\n" +    // 5 minutes ≥ 60
            "U5,C1,2024-03-01T10:00:00-18:00,,,1,,,\n" +   // 6 the largest offset: 2024-03-02 04:00Z
            "U6,C1,2024-03-01T10:00:00+0530,,,1,,,\n");    // 7 04:30Z
        var (_, orders, quarantine, _) = Clean("-i", input, "-c", Config());
        Assert.Multiple(() =>
        {
            Assert.That(quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)),
                Is.EquivalentTo(new[] { (2L, "bad_timestamp"), (3L, "bad_timestamp"), (4L, "bad_timestamp"), (5L, "bad_timestamp") }));
            Assert.That(AsUtc(Order(orders, "U5")["ordered_at"]), Is.EqualTo(Utc("2024-03-02T04:00:00Z")));
            Assert.That(Order(orders, "U5")["order_date"], Is.EqualTo("2024-03-02"));
            Assert.That(AsUtc(Order(orders, "U6")["ordered_at"]), Is.EqualTo(Utc("2024-03-01T04:30:00Z")));
        });
    }

    [Test]
    public void Statuses_refunds_and_cancellations_give_net_revenue()
    {
        var input = Write("st.csv", Header + "\n" +
            "S1,C1,2024-01-01T00:00:00Z,completed,USD,100.00,10.00,,\n" +        // net 100 (total is what was paid)
            "S2,C1,2024-01-02T00:00:00Z,CANCELLED,USD,50.00,,,\n" +              // net 0, not a purchase
            "S3,C1,2024-01-03T00:00:00Z,refunded,USD,40.00,,,\n" +               // refunded defaults to total → net 0
            "S4,C1,2024-01-04T00:00:00Z,partially_refunded,USD,80.00,,30.00,\n" + // net 50
            "S5,C1,2024-01-05T00:00:00Z,returned,USD,25.00,,,\n" +                // refunded 25 → net 0
            "S6,C1,2024-01-06T00:00:00Z,,USD,12.34,,,\n");                       // empty status → completed
        var (_, orders, _, _) = Clean("-i", input, "-c", Config());
        Assert.Multiple(() =>
        {
            Assert.That(Order(orders, "S1")["net_revenue"], Is.EqualTo(100.00m));
            Assert.That(Order(orders, "S1")["discount_amount"], Is.EqualTo(10.00m));
            Assert.That(Order(orders, "S2")["status"], Is.EqualTo("cancelled"));
            Assert.That(Order(orders, "S2")["net_revenue"], Is.EqualTo(0m));
            Assert.That(Order(orders, "S2")["is_purchase"], Is.False);
            Assert.That(Order(orders, "S3")["refunded_amount"], Is.EqualTo(40.00m));
            Assert.That(Order(orders, "S3")["net_revenue"], Is.EqualTo(0m));
            Assert.That(Order(orders, "S4")["net_revenue"], Is.EqualTo(50.00m));
            Assert.That(Order(orders, "S5")["net_revenue"], Is.EqualTo(0m));
            Assert.That(Order(orders, "S6")["status"], Is.EqualTo("completed"));
            Assert.That(Order(orders, "S6")["net_revenue"], Is.EqualTo(12.34m));
        });
    }

    [Test]
    public void Customer_order_sequence_counts_purchases_in_time_order()
    {
        // X: cancelled on 01-01 (no seq), completed 01-02 (seq 1), completed 01-03 (seq 2). Guest: no seq.
        var input = Write("seq.csv", Header + "\n" +
            "Q3,X,2024-01-03T00:00:00Z,completed,USD,5,,,\n" +
            "Q1,X,2024-01-01T00:00:00Z,cancelled,USD,5,,,\n" +
            "Q2,X,2024-01-02T00:00:00Z,completed,USD,5,,,\n" +
            "G1,,2024-01-02T00:00:00Z,completed,USD,5,,,\n");
        var (_, orders, _, _) = Clean("-i", input, "-c", Config());
        Assert.Multiple(() =>
        {
            Assert.That(Order(orders, "Q1")["customer_order_seq"], Is.Null);
            Assert.That(Order(orders, "Q2")["customer_order_seq"], Is.EqualTo(1L));
            Assert.That(Order(orders, "Q2")["is_first_order"], Is.True);
            Assert.That(Order(orders, "Q3")["customer_order_seq"], Is.EqualTo(2L));
            Assert.That(Order(orders, "Q3")["is_first_order"], Is.False);
            Assert.That(Order(orders, "G1")["is_guest"], Is.True);
            Assert.That(Order(orders, "G1")["customer_id"], Is.Null);
            Assert.That(Order(orders, "G1")["customer_order_seq"], Is.Null);
        });
    }

    [Test]
    public void Duplicates_keep_the_latest_version()
    {
        const string h = "order_id,customer_id,ordered_at,updated_at,status,total_amount";
        var a = Write("in/a.csv", h + "\n" +
            "D1,C1,2024-01-01T00:00:00Z,,completed,10\n" +
            "D2,C1,2024-01-02T00:00:00Z,2024-01-05T00:00:00Z,completed,20\n" +
            "D3,C1,2024-01-03T00:00:00Z,,completed,5\n" +
            "D3,C1,2024-01-03T00:00:00Z,,completed,6\n");   // same file: the later line wins → 6
        Write("in/b.csv", h + "\n" +
            "D1,C1,2024-01-01T00:00:00Z,,refunded,10\n" +   // later file wins → refunded
            "D2,C1,2024-01-02T00:00:00Z,2024-01-03T00:00:00Z,cancelled,20\n"); // older updated_at loses → stays completed
        var (_, orders, _, stage) = Clean("-i", Path.GetDirectoryName(a)!, "-c", Config());
        Assert.Multiple(() =>
        {
            Assert.That(orders, Has.Count.EqualTo(3));
            Assert.That(Order(orders, "D1")["status"], Is.EqualTo("refunded"));
            Assert.That(Order(orders, "D2")["status"], Is.EqualTo("completed"));
            Assert.That(Order(orders, "D3")["gross_amount"], Is.EqualTo(6m));
            Assert.That(stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(3));
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(6));
        });
    }

    [Test]
    public void Line_level_orders_aggregate_with_returns_credit_notes_and_redelivery()
    {
        const string h = "InvoiceNo,StockCode,Quantity,UnitPrice,InvoiceDate,CustomerID";
        var dir = Path.Combine(_dir, "lines");
        Write("lines/a.csv", h + "\n" +
            "L1,P1,2,3.00,2024-01-01 10:00,C1\n" +    // 6.00
            "L1,P2,1,4.50,2024-01-01 10:00,C1\n" +    // + 4.50 = 10.50
            "L2,P1,3,2.00,2024-01-02 10:00,C1\n" +    // sales 6.00
            "L2,P1,-1,2.00,2024-01-02 10:00,C1\n" +   // return 2.00 → net 4.00
            "CL1,P1,-1,3.00,2024-01-03 10:00,C1\n" +  // credit note: returned, net -3.00
            "L3,P1,1,1.00,2024-01-04 10:00,C2\n" +
            "L3,P2,1,1.00,2024-01-04 10:00,C2\n" +    // L3 re-delivered in b.csv: these 2 lines are duplicates
            "L4,P9,1,5.00,2024-01-05 10:00,C2\n" +
            "L4,P9,1,5.00,2024-01-05 10:00,C2\n");    // identical lines in one file are both kept → 10.00
        Write("lines/b.csv", h + "\n" +
            "L3,P1,3,1.00,2024-01-04 10:00,C2\n");    // the latest delivery of L3: 3.00
        var config = Write("lines.json", """
            { "now": "2024-06-01T00:00:00Z", "quality": { "max_quarantine_share": 1 },
              "orders": { "grain": "line", "columns": { "order_id": "InvoiceNo", "ordered_at": "InvoiceDate", "quantity": "Quantity",
                          "unit_price": "UnitPrice", "customer_id": "CustomerID", "product_id": "StockCode" } } }
            """);
        var (_, orders, _, stage) = Clean("-i", dir, "-c", config);
        Assert.Multiple(() =>
        {
            Assert.That(orders, Has.Count.EqualTo(5));
            Assert.That(Order(orders, "L1")["gross_amount"], Is.EqualTo(10.50m));
            Assert.That(Order(orders, "L1")["line_count"], Is.EqualTo(2));
            Assert.That(Order(orders, "L2")["gross_amount"], Is.EqualTo(6.00m));
            Assert.That(Order(orders, "L2")["refunded_amount"], Is.EqualTo(2.00m));
            Assert.That(Order(orders, "L2")["net_revenue"], Is.EqualTo(4.00m));
            Assert.That(Order(orders, "CL1")["status"], Is.EqualTo("returned"));
            Assert.That(Order(orders, "CL1")["net_revenue"], Is.EqualTo(-3.00m));
            Assert.That(Order(orders, "CL1")["is_purchase"], Is.False);
            Assert.That(Order(orders, "CL1")["customer_order_seq"], Is.Null);
            Assert.That(Order(orders, "L2")["customer_order_seq"], Is.EqualTo(2L));
            Assert.That(Order(orders, "L3")["gross_amount"], Is.EqualTo(3.00m));
            Assert.That(Order(orders, "L4")["gross_amount"], Is.EqualTo(10.00m));
            // Accounting is in lines: 10 read = 8 written + 2 duplicates (L3's first delivery).
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(10));
            Assert.That(stage.GetProperty("rows_written").GetInt64(), Is.EqualTo(8));
            Assert.That(stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(2));
            Assert.That(stage.GetProperty("counts").GetProperty("orders_written").GetInt64(), Is.EqualTo(5));
        });
    }

    [Test]
    public void Fx_conversion_uses_the_latest_rate_on_or_before_the_order_date()
    {
        var fx = Write("fx.csv", "date,currency,rate\n2024-03-01,EUR,1.10\n2024-03-04,EUR,1.20\n");
        var input = Write("fx-orders.csv", Header + "\n" +
            "F1,C1,2024-03-02T12:00:00Z,,EUR,100,,,\n" +   // Saturday: Friday's 1.10 → 110.00
            "F2,C1,2024-03-04T12:00:00Z,,EUR,100,,,\n" +   // 1.20 → 120.00
            "F3,C1,2024-03-04T12:00:00Z,,USD,100,,,\n" +   // base → 100.00
            "F4,C1,2024-02-28T12:00:00Z,,EUR,100,,,\n" +   // before the first rate → missing_fx_rate
            "F5,C1,2024-03-04T12:00:00Z,,JPY,100,,,\n");   // no rates at all → unknown_currency
        var config = Write("fx.json", "{ \"now\": \"2024-06-01T00:00:00Z\", \"quality\": { \"max_quarantine_share\": 1 }, \"orders\": { \"fx\": { \"input\": \"" + fx + "\" } } }");
        var (_, orders, quarantine, _) = Clean("-i", input, "-c", config);
        Assert.Multiple(() =>
        {
            Assert.That(Order(orders, "F1")["net_revenue"], Is.EqualTo(110.00m));
            Assert.That(Order(orders, "F1")["currency"], Is.EqualTo("EUR"));
            Assert.That(Order(orders, "F1")["gross_amount"], Is.EqualTo(100.00m));
            Assert.That(Order(orders, "F2")["net_revenue"], Is.EqualTo(120.00m));
            Assert.That(Order(orders, "F3")["net_revenue"], Is.EqualTo(100.00m));
            Assert.That(quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)),
                Is.EquivalentTo(new[] { (5L, "missing_fx_rate"), (6L, "unknown_currency") }));
        });
    }

    [Test]
    public void Fx_rates_keep_eight_decimals_and_net_revenue_is_rounded_once_from_the_row_s_own_values()
    {
        var fx = Write("fx8.csv", "date,currency,rate\n2024-03-01,JPY,0.00671234\n2024-03-01,EUR,1.08085\n2024-03-01,EUR,1.080850\n");
        var input = Write("fx8-orders.csv", Header + "\n" +
            // 12 345 JPY × 0.00671234 = 82.8638373 → 82.86 (the rate read to 4 decimals, 0.0067, gave 82.71).
            "J1,C1,2024-03-01T10:00:00Z,,JPY,12345,,,\n" +
            // 10.05 EUR × 1.08085 = 10.8625425 → 10.86.
            "E1,C1,2024-03-01T11:00:00Z,,EUR,10.05,,,\n" +
            // gross 10.005 → 10.01 and refunded 0.004 → 0.00 (each to cents, half away from zero), then
            // (10.01 − 0.00) × 1.08085 = 10.8193085 → 10.82 (unrounded amounts and a 4-decimal rate gave 10.81).
            "E2,C1,2024-03-01T12:00:00Z,partially_refunded,EUR,10.005,,0.004,\n" +
            // Refunded without an amount: the whole 10.05 is refunded → (10.05 − 10.05) × 1.08085 = 0.00.
            "E3,C1,2024-03-01T13:00:00Z,refunded,EUR,10.05,,,\n");
        var config = Write("fx8.json", "{ \"now\": \"2024-06-01T00:00:00Z\", \"orders\": { \"fx\": { \"input\": \"" + fx + "\" } } }");
        var (_, orders, quarantine, _) = Clean("-i", input, "-c", config);
        Assert.That(quarantine, Is.Empty, "two EUR rows of one date with the same rate (1.08085, 1.080850) are no conflict");
        Assert.Multiple(() =>
        {
            Assert.That(Order(orders, "J1")["fx_rate"], Is.EqualTo(0.00671234m));
            Assert.That(Order(orders, "J1")["net_revenue"], Is.EqualTo(82.86m));
            Assert.That(Order(orders, "E1")["fx_rate"], Is.EqualTo(1.08085m));
            Assert.That(Order(orders, "E1")["net_revenue"], Is.EqualTo(10.86m));
            Assert.That(Order(orders, "E2")["gross_amount"], Is.EqualTo(10.01m));
            Assert.That(Order(orders, "E2")["refunded_amount"], Is.EqualTo(0.00m));
            Assert.That(Order(orders, "E2")["net_revenue"], Is.EqualTo(10.82m));
            Assert.That(Order(orders, "E3")["net_revenue"], Is.EqualTo(0.00m));
            // The documented rule, recomputed from each published row.
            foreach (var o in orders)
            {
                var expected = Math.Round(((decimal)o["gross_amount"]! - (decimal)o["refunded_amount"]!) * (decimal)o["fx_rate"]!, 2, MidpointRounding.AwayFromZero);
                Assert.That(o["net_revenue"], Is.EqualTo(expected), (string)o["order_id"]!);
            }
        });
        var schema = ParquetTable.Schema(Directory.GetFiles(Path.Combine(_dir, "out", "clean", "orders"), "*.parquet", SearchOption.AllDirectories)[0]);
        var types = schema.GetDataFields().ToDictionary(f => f.Name, f => f as Parquet.Schema.DecimalDataField);
        Assert.That((types["net_revenue"]!.Precision, types["net_revenue"]!.Scale), Is.EqualTo((18, 2)));
        Assert.That((types["fx_rate"]!.Precision, types["fx_rate"]!.Scale), Is.EqualTo((18, 8)));
    }

    [Test]
    public void Line_amounts_that_would_overflow_decimal_18_2_are_quarantined_and_the_run_goes_on()
    {
        // decimal(18,2) holds |x| < 10^16. Before, one such line failed the whole run (a DuckDB conversion error).
        const string h = "order_id,customer_id,ordered_at,quantity,unit_price";
        var dir = Path.Combine(_dir, "big");
        Write("big/a.csv", h + "\n" +
            "L1,C1,2024-03-01T10:00:00Z,1,2\n" +                          // 2 line: 2.00
            "L3,C1,2024-03-01T10:00:00Z,100000000,100000000\n" +          // 3 the line alone is 10^16: out of range
            "L4,C1,2024-03-01T10:00:00Z,50000000,100000000\n" +           // 4 5·10^15 each, fine alone,
            "L4,C1,2024-03-01T10:00:00Z,50000000,100000000\n" +           // 5 but the order's gross is 10^16: both out of range
            "L5,C1,2024-03-01T10:00:00Z,100,99999999999999.9999\n" +      // 6 100 × 99 999 999 999 999.9999 = 9 999 999 999 999 999.99: fits
            "L6,C1,2024-03-01T10:00:00Z,1,10\n" +                         // 7 L6's first delivery: 10.00
            "L7,C1,2024-03-01T10:00:00Z,-60000000,100000000\n" +          // 8 returns 6·10^15 each,
            "L7,C1,2024-03-01T10:00:00Z,-60000000,100000000\n");          // 9 refunded 1.2·10^16: both out of range
        Write("big/b.csv", h + "\n" +
            "L6,C1,2024-03-01T10:00:00Z,60000000,100000000\n" +           // 2 L6 again: 1.2·10^16 in all, out of range,
            "L6,C1,2024-03-01T10:00:00Z,60000000,100000000\n");           // 3 so a.csv's valid delivery is kept
        var (_, orders, quarantine, stage) = Clean("-i", dir, "-c", Config());
        Assert.Multiple(() =>
        {
            Assert.That(orders.Select(o => o["order_id"]), Is.EquivalentTo(new[] { "L1", "L5", "L6" }));
            Assert.That(Order(orders, "L1")["gross_amount"], Is.EqualTo(2.00m));
            Assert.That(Order(orders, "L5")["gross_amount"], Is.EqualTo(9999999999999999.99m));
            Assert.That(Order(orders, "L5")["net_revenue"], Is.EqualTo(9999999999999999.99m));
            Assert.That(Order(orders, "L6")["gross_amount"], Is.EqualTo(10.00m));
            Assert.That(quarantine.Select(q => (Path.GetFileName((string)q["source_file"]!), (long)q["source_line"]!, (string)q["reason_code"]!)),
                Is.EquivalentTo(new[]
                {
                    ("a.csv", 3L, "amount_out_of_range"), ("a.csv", 4L, "amount_out_of_range"), ("a.csv", 5L, "amount_out_of_range"),
                    ("a.csv", 8L, "amount_out_of_range"), ("a.csv", 9L, "amount_out_of_range"),
                    ("b.csv", 2L, "amount_out_of_range"), ("b.csv", 3L, "amount_out_of_range"),
                }));
            Assert.That(quarantine.Single(q => (long)q["source_line"]! == 3 && ((string)q["source_file"]!).EndsWith("a.csv", StringComparison.Ordinal))["reason_detail"],
                Is.EqualTo("quantity * unit_price does not fit decimal(18,2)"));
            // The books balance: 10 lines read = 3 kept + 7 quarantined, no duplicates (b.csv's L6 was rejected, not a newer version).
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(10));
            Assert.That(stage.GetProperty("rows_written").GetInt64(), Is.EqualTo(3));
            Assert.That(stage.GetProperty("rows_quarantined").GetInt64(), Is.EqualTo(7));
            Assert.That(stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(0));
        });
    }

    [Test]
    public void Net_revenue_that_an_fx_rate_would_push_past_decimal_18_2_is_quarantined()
    {
        // A rate of 99 999 999 (valid: positive, below 10^10). net = round((gross − refunded) × rate, 2) must be < 10^16.
        var fx = Write("fx-big.csv", "date,currency,rate\n2024-03-01,EUR,99999999\n");
        var input = Write("fx-big-orders.csv", Header + "\n" +
            "X1,C1,2024-03-01T10:00:00Z,,EUR,99999999999,,,\n" +                    // 2 ≈ 10^19: out of range
            "X2,C1,2024-03-01T10:00:00Z,,EUR,100000001,,,\n" +                      // 3 (10^8 + 1)(10^8 − 1) = 10^16 − 1: fits
            "X3,C1,2024-03-01T10:00:00Z,,EUR,100000002,,,\n" +                      // 4 (10^8 + 2)(10^8 − 1) = 10^16 + 10^8 − 2: out of range
            "X4,C1,2024-03-01T10:00:00Z,refunded,EUR,99999999999,,,\n" +            // 5 all refunded: (gross − refunded) × rate = 0
            "X5,C1,2024-03-01T10:00:00Z,partially_refunded,EUR,100000003,,2,\n" +   // 6 (100 000 003 − 2) × rate = 10^16 − 1: fits
            "X6,C1,2024-03-01T10:00:00Z,,USD,10,,,\n");                             // 7 the base currency: 10.00
        var config = Write("fx-big.json", "{ \"now\": \"2024-06-01T00:00:00Z\", \"quality\": { \"max_quarantine_share\": 1 }, \"orders\": { \"fx\": { \"input\": \"" + fx + "\" } } }");
        var (_, orders, quarantine, stage) = Clean("-i", input, "-c", config);
        Assert.Multiple(() =>
        {
            Assert.That(quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)),
                Is.EquivalentTo(new[] { (2L, "amount_out_of_range"), (4L, "amount_out_of_range") }));
            Assert.That(Order(orders, "X2")["net_revenue"], Is.EqualTo(9999999999999999.00m));
            Assert.That(Order(orders, "X4")["gross_amount"], Is.EqualTo(99999999999.00m));
            Assert.That(Order(orders, "X4")["net_revenue"], Is.EqualTo(0.00m));
            Assert.That(Order(orders, "X5")["net_revenue"], Is.EqualTo(9999999999999999.00m));
            Assert.That(Order(orders, "X6")["net_revenue"], Is.EqualTo(10.00m));
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(6));
            Assert.That(stage.GetProperty("quarantined_by_reason").GetProperty("amount_out_of_range").GetInt64(), Is.EqualTo(2));
        });
    }

    [Test]
    public void A_line_level_order_whose_net_revenue_would_overflow_is_quarantined_line_by_line()
    {
        // EUR at 99 999 999. The order's rate is its first line's, applied to the sum of its lines.
        var fx = Write("fx-lines.csv", "date,currency,rate\n2024-03-01,EUR,99999999\n");
        var input = Write("fx-lines.csv.d/lines.csv", "order_id,customer_id,ordered_at,quantity,unit_price,currency\n" +
            "N1,C1,2024-03-01T10:00:00Z,1,100000001,EUR\n" +   // 2 (10^8 + 1)(10^8 − 1) = 10^16 − 1: fits
            "N2,C1,2024-03-01T10:00:00Z,1,100000001,EUR\n" +   // 3 with line 4: 100 000 002 × rate = 10^16 + 10^8 − 2,
            "N2,C1,2024-03-01T10:00:00Z,1,1,EUR\n" +           // 4 so both lines are out of range
            "N3,C1,2024-03-01T10:00:00Z,1,100000001,USD\n" +   // 5 first line in USD: the order's rate is 1,
            "N3,C1,2024-03-01T10:00:00Z,1,1,EUR\n");           // 6 net = 100 000 002.00
        var config = Write("fx-lines.json", "{ \"now\": \"2024-06-01T00:00:00Z\", \"quality\": { \"max_quarantine_share\": 1 }, \"orders\": { \"fx\": { \"input\": \"" + fx + "\" } } }");
        var (_, orders, quarantine, _) = Clean("-i", input, "-c", config);
        Assert.Multiple(() =>
        {
            Assert.That(quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)),
                Is.EquivalentTo(new[] { (3L, "amount_out_of_range"), (4L, "amount_out_of_range") }));
            Assert.That(Order(orders, "N1")["net_revenue"], Is.EqualTo(9999999999999999.00m));
            Assert.That(Order(orders, "N3")["net_revenue"], Is.EqualTo(100000002.00m));
        });
    }

    /// <summary>clean-orders of one EUR order of 2024-03-04 with <paramref name="fxCsv"/> as the FX table.</summary>
    private CliResult CleanOrdersWithFx(string name, string fxCsv)
    {
        var fx = Write(name + ".csv", fxCsv);
        var input = Write(name + "-orders.csv", Header + "\nF1,C1,2024-03-04T12:00:00Z,,EUR,100,,,\n");
        var config = Write(name + ".json", "{ \"now\": \"2024-06-01T00:00:00Z\", \"orders\": { \"fx\": { \"input\": \"" + fx + "\" } } }");
        return PipelineCli.Run("clean-orders", "-i", input, "-c", config, "-o", Path.Combine(_dir, "out"));
    }

    [Test]
    public void An_fx_table_giving_one_currency_two_rates_on_one_date_is_an_input_error()
    {
        // Which of two rates applied would depend on the engine's row order: the table is refused (exit 3), not guessed from.
        var r = CleanOrdersWithFx("fx-conflict", "date,currency,rate\n2024-03-01,EUR,1.10\n2024-03-04,EUR,1.20\n2024-03-04,EUR,1.21\n");
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stderr, Does.Contain("FX table: 2 row(s)").And.Contain("two different rates on one date (first at line 3)"));
    }

    [Test]
    public void An_fx_rate_that_is_not_a_plain_decimal_number_is_an_input_error()
    {
        // DuckDB's cast read 1_10 as 110; docs/inputs.md reads rates in the same forms as amounts.
        var r = CleanOrdersWithFx("fx-form", "date,currency,rate\n2024-03-01,EUR,1.10\n2024-03-04,EUR,1_10\n");
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stderr, Does.Contain("FX table: 1 row(s)").And.Contain("(first at line 3)"));
    }

    [Test]
    public void Rejected_rows_are_quarantined_with_their_line_and_reason()
    {
        var input = Write("bad.csv", Header + "\n" +
            "B1,C1,2024-01-01T00:00:00Z,completed,USD,10,,,\n" +         // line 2 ok
            ",C1,2024-01-01T00:00:00Z,completed,USD,10,,,\n" +           // 3 missing_order_id
            "B3,C1,,completed,USD,10,,,\n" +                             // 4 missing_timestamp
            "B4,C1,2024-02-30,completed,USD,10,,,\n" +                   // 5 bad_timestamp
            "B5,C1,2031-01-01T00:00:00Z,completed,USD,10,,,\n" +         // 6 future_timestamp (now = 2024-06-01)
            "B6,C1,2024-01-01T00:00:00Z,shipped??,USD,10,,,\n" +         // 7 unknown_status
            "B7,C1,2024-01-01T00:00:00Z,completed,US$,10,,,\n" +         // 8 unknown_currency
            "B8,C1,2024-01-01T00:00:00Z,completed,USD,-1,,,\n" +         // 9 bad_amount
            "B9,C1,2024-01-01T00:00:00Z,completed,USD,,,,\n" +           // 10 missing_amount
            "B10,C1,2024-01-01T00:00:00Z,completed,USD,10,,,x@y.com,extra\n" + // 11 malformed_row (10 fields)
            "B11,C1,2024-01-01T00:00:00Z,completed,USD,\"12,50\",,,\n" +  // 12 bad_amount (decimal comma)
            "B12,C1,1999-12-31T00:00:00Z,completed,USD,10,,,\n" +        // 13 bad_timestamp (before min_valid_date)
            "B13,C1,2024-01-01T00:00:00Z,completed,USD,10,,,\n");        // 14 ok
        var (_, orders, quarantine, stage) = Clean("-i", input, "-c", Config());
        var byLine = quarantine.ToDictionary(q => (long)q["source_line"]!, q => (string)q["reason_code"]!);
        Assert.Multiple(() =>
        {
            Assert.That(orders.Select(o => o["order_id"]), Is.EquivalentTo(new[] { "B1", "B13" }));
            Assert.That(byLine, Is.EqualTo(new Dictionary<long, string>
            {
                [3] = "missing_order_id", [4] = "missing_timestamp", [5] = "bad_timestamp", [6] = "future_timestamp",
                [7] = "unknown_status", [8] = "unknown_currency", [9] = "bad_amount", [10] = "missing_amount",
                [11] = "malformed_row", [12] = "bad_amount", [13] = "bad_timestamp",
            }));
            Assert.That(quarantine.All(q => q["source_file"] as string == input), Is.True);
            Assert.That(quarantine.All(q => q["run_id"] is string s && s.Length > 0), Is.True);
            Assert.That(quarantine.Single(q => (long)q["source_line"]! == 9)["raw"], Is.EqualTo("B8,C1,2024-01-01T00:00:00Z,completed,USD,-1,,,"));
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(13));
            Assert.That(stage.GetProperty("rows_quarantined").GetInt64(), Is.EqualTo(11));
            Assert.That(stage.GetProperty("quarantined_by_reason").GetProperty("bad_timestamp").GetInt64(), Is.EqualTo(2));
        });
    }

    [Test]
    public void Amounts_are_read_in_the_documented_forms_only_and_a_tiny_negative_is_negative()
    {
        // docs/inputs.md: an optional sign, digits with an optional fraction, an optional exponent; nothing else.
        var input = Write("forms.csv", Header + "\n" +
            "A1,C1,2024-03-01T10:00:00Z,,,1_000,,,\n" +               // 2 bad_amount (DuckDB's cast read 1000.00)
            "A2,C1,2024-03-01T10:00:00Z,,,-1e-9,,,\n" +               // 3 bad_amount: negative (it read as 0.00)
            "A3,C1,2024-03-01T10:00:00Z,,,1e3,-0.00001,,\n" +         // 4 bad_amount: the discount is negative
            "A4,C1,2024-03-01T10:00:00Z,,,\"1,000\",,,\n" +           // 5 bad_amount: a thousands separator
            "A5,C1,2024-03-01T10:00:00Z,,,1e14,,,\n" +                // 6 a number, but 15 digits before the point: amount_out_of_range
            "A6,C1,2024-03-01T10:00:00Z,,,-1e20,,,\n" +               // 7 too large, but negative first: bad_amount
            "A7,C1,2024-03-01T10:00:00Z,,,1e3,,,\n" +                 // 8 1000.00
            "A8,C1,2024-03-01T10:00:00Z,,,2.5E-1,-0.000,,\n" +        // 9 0.25 (2.5E-1), a negative zero discount is 0.00
            "A9,C1,2024-03-01T10:00:00Z,,,-0,,,\n" +                  // 10 0.00: zero is not negative
            "A10,C1,2024-03-01T10:00:00Z,,,.5,,,\n");                 // 11 0.50
        var jsonl = Write("forms.jsonl",
            "{\"order_id\":\"J1\",\"ordered_at\":\"2024-03-01T10:00:00Z\",\"total_amount\":1e3}\n" +       // 1000.00
            "{\"order_id\":\"J2\",\"ordered_at\":\"2024-03-01T10:00:00Z\",\"total_amount\":-1e-9}\n");      // bad_amount
        var (_, orders, quarantine, _) = Clean("-i", input, "-c", Config());
        var (_, jsonOrders, jsonQuarantine, _) = Clean("-i", jsonl, "-c", Config());
        Assert.Multiple(() =>
        {
            Assert.That(quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)), Is.EquivalentTo(new[]
            {
                (2L, "bad_amount"), (3L, "bad_amount"), (4L, "bad_amount"), (5L, "bad_amount"), (6L, "amount_out_of_range"), (7L, "bad_amount"),
            }));
            Assert.That(Order(orders, "A7")["gross_amount"], Is.EqualTo(1000.00m));
            Assert.That(Order(orders, "A8")["gross_amount"], Is.EqualTo(0.25m));
            Assert.That(Order(orders, "A8")["discount_amount"], Is.EqualTo(0.00m));
            Assert.That(Order(orders, "A9")["gross_amount"], Is.EqualTo(0.00m));
            Assert.That(Order(orders, "A10")["gross_amount"], Is.EqualTo(0.50m));
            Assert.That(Order(jsonOrders, "J1")["gross_amount"], Is.EqualTo(1000.00m));
            Assert.That(jsonQuarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!)), Is.EqualTo(new[] { (2L, "bad_amount") }));
        });
    }

    [Test]
    public void Email_is_replaced_by_its_keyed_hash_and_never_reaches_an_output()
    {
        var input = Write("pii.csv", Header + "\n" +
            "E1,C1,2024-01-01T00:00:00Z,completed,USD,10,,,Alice.Smith@Example.com\n" +
            "E2,C1,yesterday,completed,USD,10,,,bob.jones@example.org\n");   // quarantined: its raw row holds the e-mail
        var (_, orders, quarantine, _) = Clean("-i", input, "-c", Config());
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(PipelineCli.TestKey),
            Encoding.UTF8.GetBytes("alice.smith@example.com")));
        Assert.That(Order(orders, "E1")["email_key"], Is.EqualTo(expected));
        var everyString = orders.Concat(quarantine).SelectMany(r => r.Values).OfType<string>().ToList();
        Assert.That(everyString.Where(s => s.Contains("alice.smith", StringComparison.OrdinalIgnoreCase) || s.Contains("bob.jones", StringComparison.OrdinalIgnoreCase)), Is.Empty);
        Assert.That(orders.SelectMany(r => r.Keys).Distinct(), Does.Not.Contain("email"));
    }

    [Test]
    public void Jsonl_and_parquet_inputs_give_the_same_orders_as_csv()
    {
        var csv = Write("same.csv", Header + "\n" +
            "J1,C1,2024-01-01T00:00:00Z,completed,USD,10.5,,,\n" +
            "J2,C2,2024-01-02T00:00:00Z,cancelled,USD,3,,,\n");
        var jsonl = Write("same.jsonl",
            "{\"order_id\":\"J1\",\"customer_id\":\"C1\",\"ordered_at\":\"2024-01-01T00:00:00Z\",\"status\":\"completed\",\"total_amount\":10.5}\n" +
            "not json at all\n" +
            "{\"order_id\":\"J2\",\"customer_id\":\"C2\",\"ordered_at\":\"2024-01-02T00:00:00Z\",\"status\":\"cancelled\",\"total_amount\":3}\n");
        var fromCsv = Clean("-i", csv, "-c", Config());
        var fromJson = Clean("-i", jsonl, "-c", Config());
        static string Key(Dictionary<string, object?> r) => $"{r["order_id"]}|{r["status"]}|{r["net_revenue"]}|{r["order_date"]}";
        Assert.Multiple(() =>
        {
            Assert.That(fromJson.Orders.Select(Key), Is.EquivalentTo(fromCsv.Orders.Select(Key)));
            Assert.That(fromJson.Quarantine.Single()["reason_code"], Is.EqualTo("malformed_row"));
            Assert.That(fromJson.Quarantine.Single()["source_line"], Is.EqualTo(2L));
        });
        // Parquet input: the clean table itself is valid Parquet order input (columns by canonical name).
        var parquetDir = Path.Combine(_dir, "out", "clean", "orders");
        var parquetCopy = Path.Combine(_dir, "pq");
        foreach (var f in Directory.GetFiles(parquetDir, "*.parquet", SearchOption.AllDirectories))
        {
            var target = Path.Combine(parquetCopy, Path.GetRelativePath(parquetDir, f).Replace('/', '_'));
            Directory.CreateDirectory(parquetCopy);
            File.Copy(f, target);
        }
        var fromParquet = PipelineCli.Run("clean-orders", "-i", parquetCopy, "-o", Path.Combine(_dir, "out-pq"), "-c", Write("pq.json",
            "{ \"now\": \"2024-06-01T00:00:00Z\", \"orders\": { \"columns\": { \"total_amount\": \"gross_amount\" } } }"));
        Assert.That(fromParquet.ExitCode, Is.Zero, fromParquet.ToString());
        Assert.That(ParquetTable.Read(Path.Combine(_dir, "out-pq", "clean", "orders")).Select(Key), Is.EquivalentTo(fromCsv.Orders.Select(Key)));
    }

    [Test]
    public void A_json_line_with_a_key_twice_is_a_malformed_row()
    {
        // Before, DuckDB kept the first value (1000.00 here) and Spark the last (7.00). A key twice inside a nested
        // object is not a top-level key twice: D2 is read.
        var jsonl = Write("dup.jsonl",
            "{\"order_id\":\"D1\",\"ordered_at\":\"2024-03-01T10:00:00Z\",\"total_amount\":1e3,\"total_amount\":7}\n" +
            "{\"order_id\":\"D2\",\"ordered_at\":\"2024-03-01T10:00:00Z\",\"total_amount\":5,\"meta\":{\"a\":1,\"a\":2}}\n" +
            "{\"order_id\":\"D3\",\"ordered_at\":\"2024-03-01T10:00:00Z\",\"note\":\"x\",\"total_amount\":6,\"note\":\"x\"}\n");
        var (_, orders, quarantine, stage) = Clean("-i", jsonl, "-c", Config());
        Assert.Multiple(() =>
        {
            Assert.That(orders.Select(o => o["order_id"]), Is.EqualTo(new[] { "D2" }));
            Assert.That(quarantine.Select(q => ((long)q["source_line"]!, (string)q["reason_code"]!, (string)q["reason_detail"]!)), Is.EquivalentTo(new[]
            {
                (1L, "malformed_row", "duplicate key total_amount"),
                (3L, "malformed_row", "duplicate key note"),   // any key twice, even one the pipeline does not read
            }));
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(3));
        });
    }

    [Test]
    public void Rerunning_on_the_same_input_gives_the_same_table()
    {
        var input = Write("rerun.csv", Header + "\n" +
            "R1,C1,2024-01-01T00:00:00Z,completed,USD,10,,,a@b.co\n" +
            "R2,C2,2024-01-02T00:00:00Z,completed,USD,11,,,\n" +
            "R1,C1,2024-01-01T00:00:00Z,completed,USD,10,,,a@b.co\n");
        var first = Clean("-i", input, "-c", Config());
        var second = Clean("-i", input, "-c", Config());
        static string Flat(List<Dictionary<string, object?>> rows) =>
            string.Join("\n", rows.Select(r => string.Join("|", r.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Convert.ToString(kv.Value, CultureInfo.InvariantCulture)}"))));
        Assert.That(Flat(second.Orders), Is.EqualTo(Flat(first.Orders)));
    }
}
