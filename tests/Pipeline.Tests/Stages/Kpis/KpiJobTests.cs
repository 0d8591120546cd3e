using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Kpis;

/// <summary>
/// <c>pipeline kpis</c> on a hand-built shop: orders cleaned by the real clean-orders (line-level, so a credit note
/// can be in it), sessions and purchase events written as fixtures. Every expected number is worked out by hand in
/// the comments, with N = repeat_window_days = 3, W = repeat_cohort_days = 2, attribution lookback 2 days.
/// </summary>
public class KpiJobTests
{
    private string _dir = "";

    private string Output => Path.Combine(_dir, "out");

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("kpis");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // Orders (net revenue = quantity × price; X1 is a credit note: −10, not a purchase; D0 is cancelled: 0, not a purchase).
    // First purchases: A 03-01, B 03-03, C 03-05, D 03-05, E 03-06, F 04-15. Second: A 03-02 (+1 day), B 03-06 (+3),
    // C 03-09 (+4), F 05-20. G1, G2 are guests.
    private const string Orders = """
        order_id,customer_id,ordered_at,status,quantity,unit_price
        A1,A,2024-03-01T10:30:00Z,completed,1,100
        A2,A,2024-03-02T09:30:00Z,completed,1,50
        G1,,2024-03-02T15:30:00Z,completed,1,25
        B1,B,2024-03-03T08:30:00Z,completed,1,80
        D0,D,2024-03-04T09:00:00Z,cancelled,1,999
        X1,A,2024-03-04T10:00:00Z,completed,-1,10
        C1,C,2024-03-05T12:00:00Z,completed,1,60
        D1,D,2024-03-05T12:00:01Z,completed,1,40
        B2,B,2024-03-06T10:00:00Z,completed,1,20
        E1,E,2024-03-06T11:00:00Z,completed,1,35
        G2,,2024-03-06T12:00:00Z,completed,1,15
        C2,C,2024-03-09T12:00:00Z,completed,1,30
        F1,F,2024-04-15T12:00:00Z,completed,1,50
        A3,A,2024-05-02T12:00:00Z,completed,1,70
        F2,F,2024-05-20T12:00:00Z,completed,1,10
        """;

    private static readonly FixtureSession[] Sessions =
    [
        new("s1", "a1", "A", "2024-03-01 10:00:00", "paid_search", ProductViews: 2, AddToCarts: 1, Checkouts: 1, Purchases: 1),
        new("s2", "a2", "B", "2024-03-01 11:00:00", "organic_search", ProductViews: 1, Bounce: true, Engaged: false),
        new("s3", "x1", null, "2024-03-01 12:00:00", "direct", Bounce: true, Engaged: false),
        new("s4", "a1", "A", "2024-03-02 09:00:00", "direct", ProductViews: 1, AddToCarts: 1, Checkouts: 1, Purchases: 1),
        new("s5", "g1", null, "2024-03-02 15:00:00", "referral", ProductViews: 1, AddToCarts: 1, Checkouts: 1, Purchases: 1),
        new("s6", "a2", "B", "2024-03-03 08:00:00", "email", ProductViews: 1, AddToCarts: 1, Checkouts: 1, Purchases: 1),
        new("s10", "a2", "B", "2024-03-03 09:00:00", "paid_search", ProductViews: 1, Engaged: false),
        new("s7", "c1", "C", "2024-03-03 12:00:00", "paid_social", ProductViews: 2, AddToCarts: 1),
        new("s8", "d1", "D", "2024-03-03 12:00:00", "affiliate", ProductViews: 1, Bounce: true, Engaged: false),
        new("s9", "d1", "D", "2024-03-05 12:00:00", "direct", ProductViews: 1, AddToCarts: 1, Checkouts: 1, Purchases: 1),
        new("s11", "c2", "C", "2024-03-05 11:59:00", "direct", ProductViews: 1, AddToCarts: 1, Checkouts: 1, Purchases: 1),
        new("s12", "a2", "B", "2024-03-06 09:50:00", "organic_social", ProductViews: 1, AddToCarts: 1, Checkouts: 1, Purchases: 1),
    ];

    private static readonly FixturePurchase[] PurchaseEvents =
    [
        new("A1", "s1", "2024-03-01 10:30:00"), new("A2", "s4", "2024-03-02 09:30:00"), new("G1", "s5", "2024-03-02 15:30:00"),
        new("B1", "s6", "2024-03-03 08:30:00"), new("C1", "s11", "2024-03-05 12:00:00"), new("D1", "s9", "2024-03-05 12:00:01"),
        new("B2", "s12", "2024-03-06 10:00:00"),
    ];

    // Two files; the later one (path order) delivers 2024-03-03 / paid_social / prospecting again (18 replaces 12).
    private const string Spend1 = """
        date,channel,campaign,spend
        2024-03-01,paid_search,brand,30
        2024-03-01,Paid Search,generic,10
        2024-03-02,cpc,brand,20
        2024-03-03,paid_social,prospecting,12
        2024-03-05,paid_social,prospecting,15
        2024-03-07,affiliate,network,5
        2024-03-03,tv,upfront,100
        2024-03-04,email,weekly,$12
        2024-03-06,email,weekly,-1
        ,email,weekly,3
        2024-13-01,email,weekly,3
        2024-03-06,,weekly,3
        2024-03-06,bob@example.com,weekly,3
        """;

    private const string Spend2 = """
        date,channel,campaign,spend
        2024-03-03,paid_social,prospecting,18
        """;

    private string Build(bool withSpend, double maxQuarantineShare = 0.6)
    {
        var orders = Path.Combine(_dir, "orders.csv");
        File.WriteAllText(orders, Orders);
        var clean = PipelineCli.Run("clean-orders", "-i", orders, "-o", Output, "--now", "2024-12-31T00:00:00Z");
        Assert.That(clean.ExitCode, Is.Zero, clean.ToString());
        ClickFixtures.WriteSessions(Output, Sessions);
        ClickFixtures.WritePurchaseEvents(Output, Sessions, PurchaseEvents);
        Directory.CreateDirectory(Path.Combine(_dir, "spend"));
        File.WriteAllText(Path.Combine(_dir, "spend", "spend-1.csv"), Spend1);
        File.WriteAllText(Path.Combine(_dir, "spend", "spend-2.csv"), Spend2);
        return Config(withSpend, maxQuarantineShare);
    }

    private string Config(bool withSpend, double maxQuarantineShare = 0.6)
    {
        var spend = withSpend ? """, "ad_spend": { "input": "spend/" }""" : "";
        var config = Path.Combine(_dir, withSpend ? "kpis-spend.json" : "kpis.json");
        File.WriteAllText(config, $$"""
            {
              "quality": { "max_quarantine_share": {{maxQuarantineShare.ToString(CultureInfo.InvariantCulture)}} },
              "kpis": { "repeat_window_days": 3, "repeat_cohort_days": 2, "attribution_lookback_days": 2{{spend}} }
            }
            """);
        return config;
    }

    private CliResult Kpis(string config) => PipelineCli.Run("kpis", "-c", config, "-o", Output);

    private List<Dictionary<string, object?>> Table(string name) => ParquetTable.Read(Path.Combine(Output, "kpi", name));

    private static string Day(object? v) => v switch
    {
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => throw new AssertionException($"not a date: {v} ({v?.GetType().Name})"),
    };

    private static void Expect(Dictionary<string, object?> row, string column, double? expected, string where)
    {
        if (expected is null)
        {
            Assert.That(row[column], Is.Null, $"{where} {column}");
        }
        else
        {
            Assert.That(row[column], Is.Not.Null, $"{where} {column}");
            Assert.That(Convert.ToDouble(row[column], CultureInfo.InvariantCulture), Is.EqualTo(expected.Value).Within(1e-9), $"{where} {column}");
        }
    }

    private const double Third = 1.0 / 3;

    [Test]
    public void Daily_kpis_match_the_hand_computed_values()
    {
        Assert.That(Kpis(Build(withSpend: false)).ExitCode, Is.Zero);
        var rows = Table("daily");
        string[] columns =
        [
            "sessions", "users", "new_users", "returning_users", "orders", "customers", "new_customers", "revenue", "conversion_rate",
            "aov", "revenue_per_user", "revenue_per_customer", "bounce_rate", "engaged_session_rate", "product_view_sessions",
            "add_to_cart_sessions", "checkout_sessions", "purchase_sessions", "view_to_cart_rate", "cart_to_checkout_rate",
            "checkout_to_purchase_rate", "natural_sessions", "natural_traffic_share", "repeat_cohort_customers", "repeat_customers",
            "repeat_purchase_rate",
        ];
        var expected = new Dictionary<string, double?[]>
        {
            // s1 s2 s3: users a1 a2 x1 all new; A1 100 (A's first); bounces s2 s3; engaged s1; product views s1 s2,
            // cart/checkout/purchase s1; natural s2 (organic_search) s3 (direct). Cohort (02-24, 02-26]: nobody.
            // Money per unit is rounded half away from zero to cents: revenue per user 100 / 3 = 33.333… → 33.33.
            ["2024-03-01"] = [3, 3, 3, 0, 1, 1, 1, 100, Third, 100, 33.33, 100, 2 * Third, Third, 2, 1, 1, 1, 0.5, 1, 1, 2, 2 * Third, 0, 0, null],
            // s4 (a1 returning) s5 (g1 new); A2 50 + guest G1 25: 2 orders, 1 customer (guests have no id), no new one.
            ["2024-03-02"] = [2, 2, 1, 1, 2, 1, 0, 75, 1, 37.5, 37.5, 75, 0, 1, 2, 2, 2, 2, 1, 1, 1, 2, 1, 0, 0, null],
            // s6 s10 (a2, returning) s7 (c1 new) s8 (d1 new); B1 80 (B's first); bounce s8; engaged s6 s7;
            // carts s6 s7, checkout/purchase s6; no natural channel. Revenue per user 80 / 3 = 26.666… → 26.67.
            ["2024-03-03"] = [4, 3, 2, 1, 1, 1, 1, 80, 0.25, 80, 26.67, 80, 0.25, 0.5, 4, 2, 1, 1, 0.5, 0.5, 1, 0, 0, 0, 0, null],
            // No session; D0 cancelled (0) and the credit note X1 (−10): revenue −10 from no purchase.
            // Cohort (02-28, 03-01]: A, who bought again 1 day later.
            ["2024-03-04"] = [0, 0, 0, 0, 0, 0, 0, -10, null, null, null, null, null, null, 0, 0, 0, 0, null, null, null, 0, null, 1, 1, 1],
            // s9 (d1 returning) s11 (c2 new), both direct and buying; C1 60 + D1 40, both first purchases. Cohort (02-29, 03-02]: A.
            ["2024-03-05"] = [2, 2, 1, 1, 2, 2, 2, 100, 1, 50, 50, 50, 0, 1, 2, 2, 2, 2, 1, 1, 1, 2, 1, 1, 1, 1],
            // s12 (a2 returning, organic_social); B2 20 + E1 35 (E's first) + guest G2 15: 3 orders for 1 session.
            // Cohort (03-01, 03-03]: B (A on 03-01 is just outside), who bought again exactly N = 3 days later.
            // AOV 70 / 3 = 23.333… → 23.33.
            ["2024-03-06"] = [1, 1, 0, 1, 3, 2, 1, 70, 3, 23.33, 70, 35, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            // C2 30. Cohort (03-04, 03-06]: C, D (03-05) and E (03-06); C came back after 4 days > N: no repeater.
            ["2024-03-09"] = [0, 0, 0, 0, 1, 1, 0, 30, null, 30, null, 30, null, null, 0, 0, 0, 0, null, null, null, 0, null, 3, 0, 0],
            ["2024-04-15"] = [0, 0, 0, 0, 1, 1, 1, 50, null, 50, null, 50, null, null, 0, 0, 0, 0, null, null, null, 0, null, 0, 0, null],
            ["2024-05-02"] = [0, 0, 0, 0, 1, 1, 0, 70, null, 70, null, 70, null, null, 0, 0, 0, 0, null, null, null, 0, null, 0, 0, null],
            ["2024-05-20"] = [0, 0, 0, 0, 1, 1, 0, 10, null, 10, null, 10, null, null, 0, 0, 0, 0, null, null, null, 0, null, 0, 0, null],
        };
        Assert.That(rows.Select(r => Day(r["kpi_date"])), Is.EqualTo(expected.Keys), "one row per date with a session or an order, in date order");
        Assert.Multiple(() =>
        {
            foreach (var row in rows)
            {
                var day = Day(row["kpi_date"]);
                for (var i = 0; i < columns.Length; i++)
                {
                    Expect(row, columns[i], expected[day][i], day);
                }
            }
        });
    }

    [Test]
    public void Channels_attribute_purchases_to_the_last_non_direct_session_and_add_spend_ratios()
    {
        Assert.That(Kpis(Build(withSpend: true)).ExitCode, Is.Zero);
        var rows = Table("channels");
        string[] columns = ["sessions", "session_share", "orders", "revenue", "new_customers", "conversion_rate", "spend", "acos", "roas", "cpa", "cac"];
        // Attribution by hand (lookback 2 days, inclusive):
        //   A1 → s1 paid_search. A2 → paid_search: s1 (03-01 10:00) beats the later direct purchase session s4.
        //   G1 (guest) → s5 referral, the session of its purchase event. B1 → s6 email (s2 is older; s10 starts after the order).
        //   C1 (12:00:00) → s7 paid_social, started exactly 2 days before, not the later direct s11.
        //   D1 (12:00:01) → s9 direct: the affiliate s8 started 2 days and 1 second before, outside the lookback.
        //   B2 → s12 organic_social. E1 (no session), G2 (guest, no purchase event), C2, F1, A3, F2 (no session in 2 days): unattributed.
        // Spend: 03-01 paid_search 30 + 10 ("Paid Search"), 03-02 paid_search 20 ("cpc"), 03-03 paid_social 18 (the later file
        // replaces 12), 03-05 paid_social 15, 03-07 affiliate 5; other channel-days 0 (there is a spend input).
        var expected = new (string Day, string Channel, bool Natural, double?[] Values)[]
        {
            ("2024-03-01", "direct", true, [1, Third, 0, 0, 0, 0, 0, null, null, null, null]),
            ("2024-03-01", "organic_search", true, [1, Third, 0, 0, 0, 0, 0, null, null, null, null]),
            ("2024-03-01", "paid_search", false, [1, Third, 1, 100, 1, 1, 40, 0.4, 2.5, 40, 40]),
            ("2024-03-02", "direct", true, [1, 0.5, 0, 0, 0, 0, 0, null, null, null, null]),
            ("2024-03-02", "paid_search", false, [0, 0, 1, 50, 0, null, 20, 0.4, 2.5, 20, null]),
            ("2024-03-02", "referral", true, [1, 0.5, 1, 25, 0, 1, 0, 0, null, 0, null]),
            ("2024-03-03", "affiliate", false, [1, 0.25, 0, 0, 0, 0, 0, null, null, null, null]),
            ("2024-03-03", "email", false, [1, 0.25, 1, 80, 1, 1, 0, 0, null, 0, 0]),
            ("2024-03-03", "paid_search", false, [1, 0.25, 0, 0, 0, 0, 0, null, null, null, null]),
            ("2024-03-03", "paid_social", false, [1, 0.25, 0, 0, 0, 0, 18, null, 0, null, null]),
            ("2024-03-05", "direct", true, [2, 1, 1, 40, 1, 0.5, 0, 0, null, 0, 0]),
            ("2024-03-05", "paid_social", false, [0, 0, 1, 60, 1, null, 15, 0.25, 4, 15, 15]),
            ("2024-03-06", "organic_social", true, [1, 1, 1, 20, 0, 1, 0, 0, null, 0, null]),
            ("2024-03-06", "unattributed", false, [0, 0, 2, 50, 1, null, 0, 0, null, 0, 0]),
            ("2024-03-07", "affiliate", false, [0, null, 0, 0, 0, null, 5, null, 0, null, null]),
            ("2024-03-09", "unattributed", false, [0, null, 1, 30, 0, null, 0, 0, null, 0, null]),
            ("2024-04-15", "unattributed", false, [0, null, 1, 50, 1, null, 0, 0, null, 0, 0]),
            ("2024-05-02", "unattributed", false, [0, null, 1, 70, 0, null, 0, 0, null, 0, null]),
            ("2024-05-20", "unattributed", false, [0, null, 1, 10, 0, null, 0, 0, null, 0, null]),
        };
        Assert.That(rows.Select(r => (Day(r["kpi_date"]), (string)r["channel"]!)), Is.EqualTo(expected.Select(e => (e.Day, e.Channel))));
        Assert.Multiple(() =>
        {
            foreach (var (row, e) in rows.Zip(expected))
            {
                var where = $"{e.Day} {e.Channel}";
                Assert.That(row["is_natural"], Is.EqualTo(e.Natural), where);
                for (var i = 0; i < columns.Length; i++)
                {
                    Expect(row, columns[i], e.Values[i], where);
                }
            }
        });
    }

    [Test]
    public void Ad_spend_rows_are_accounted_and_bad_ones_quarantined_with_reason_codes()
    {
        var r = Kpis(Build(withSpend: true));
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var quarantine = ParquetTable.Read(Path.Combine(Output, "quarantine", "ad_spend"));
        var byLine = quarantine.ToDictionary(q => Convert.ToInt64(q["source_line"], CultureInfo.InvariantCulture), q => (string)q["reason_code"]!);
        Assert.That(byLine, Is.EqualTo(new Dictionary<long, string>
        {
            [8] = "unknown_channel", // tv
            [9] = "bad_spend",       // $12
            [10] = "bad_spend",      // -1
            [11] = "missing_date",
            [12] = "bad_date",       // 2024-13-01
            [13] = "missing_channel",
            [14] = "unknown_channel", // an e-mail address, redacted in raw and reason_detail
        }));
        Assert.That(quarantine.Where(q => Convert.ToInt64(q["source_line"], CultureInfo.InvariantCulture) == 14)
            .Select(q => (string)q["raw"]! + (string)q["reason_detail"]!).Single(), Does.Contain("<email redacted>").And.Not.Contain("bob@"));
        Assert.That(quarantine.All(q => ((string)q["source_file"]!).EndsWith("spend-1.csv", StringComparison.Ordinal)));

        var manifest = Directory.GetFiles(Path.Combine(Output, "_runs"))
            .Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement)
            .Single(m => m.GetProperty("command").GetString() == "kpis");
        var stage = manifest.GetProperty("stages").EnumerateArray().Single(s => s.GetProperty("stage").GetString() == "ad-spend");
        Assert.Multiple(() =>
        {
            Assert.That(stage.GetProperty("rows_read").GetInt64(), Is.EqualTo(14));
            Assert.That(stage.GetProperty("rows_written").GetInt64(), Is.EqualTo(6));
            Assert.That(stage.GetProperty("duplicates").GetInt64(), Is.EqualTo(1), "the 12 of spend-1.csv, replaced by spend-2.csv");
            Assert.That(stage.GetProperty("rows_quarantined").GetInt64(), Is.EqualTo(7));
            Assert.That(stage.GetProperty("balanced").GetBoolean(), Is.True);
            Assert.That(stage.GetProperty("quarantined_by_reason").GetProperty("bad_spend").GetInt64(), Is.EqualTo(2));
            Assert.That(manifest.GetProperty("inputs").GetArrayLength(), Is.EqualTo(2), "both spend files recorded with checksums");
        });
    }

    [Test]
    public void Too_much_quarantined_spend_fails_the_gate_and_publishes_nothing()
    {
        var r = Kpis(Build(withSpend: true, maxQuarantineShare: 0.05));
        Assert.That(r.ExitCode, Is.EqualTo(4), r.ToString());
        Assert.That(r.Stderr, Does.Contain("ad spend"));
        Assert.That(Directory.Exists(Path.Combine(Output, "kpi")), Is.False);
        Assert.That(Directory.Exists(Path.Combine(Output, "quarantine", "ad_spend")), Is.False);
    }

    [Test]
    public void Without_a_spend_input_spend_columns_are_null_and_each_run_replaces_the_tables()
    {
        Assert.That(Kpis(Build(withSpend: true)).ExitCode, Is.Zero);
        Assert.That(Table("channels").Any(r => Day(r["kpi_date"]) == "2024-03-07"), Is.True, "spend-only day");
        Assert.That(Kpis(Config(withSpend: false)).ExitCode, Is.Zero, "rerun without spend");
        var channels = Table("channels");
        Assert.Multiple(() =>
        {
            Assert.That(channels, Has.Count.EqualTo(18), "the spend-only row is gone: the table was replaced, not appended to");
            foreach (var c in new[] { "spend", "acos", "roas", "cpa", "cac" })
            {
                Assert.That(channels.All(r => r[c] is null), Is.True, c);
            }
            Assert.That(Directory.GetFiles(Path.Combine(Output, "kpi", "channels"), "*.parquet", SearchOption.AllDirectories), Has.Length.EqualTo(1));
        });
    }

    [Test]
    public void Cohorts_follow_customers_by_month_of_first_purchase()
    {
        Assert.That(Kpis(Build(withSpend: false)).ExitCode, Is.Zero);
        var rows = Table("cohorts");
        // March cohort A B C D E (5): March revenue 100 + 50 − 10 + 80 + 20 + 60 + 30 + 0 + 40 + 35 = 405 (guests excluded);
        // April nobody; May A3 70 → cumulative 475 / 5. April cohort F: 50 in April, 10 in May.
        var expected = new (string Month, int Since, double[] Values)[]
        {
            ("2024-03-01", 0, [5, 5, 1, 405, 81]),
            ("2024-03-01", 1, [5, 0, 0, 0, 81]),
            ("2024-03-01", 2, [5, 1, 0.2, 70, 95]),
            ("2024-04-01", 0, [1, 1, 1, 50, 50]),
            ("2024-04-01", 1, [1, 1, 1, 10, 60]),
        };
        string[] columns = ["cohort_customers", "active_customers", "retention_rate", "revenue", "cumulative_revenue_per_customer"];
        Assert.That(rows.Select(r => (Day(r["cohort_month"]), (int)r["months_since_first"]!)), Is.EqualTo(expected.Select(e => (e.Month, e.Since))));
        Assert.Multiple(() =>
        {
            foreach (var (row, e) in rows.Zip(expected))
            {
                for (var i = 0; i < columns.Length; i++)
                {
                    Expect(row, columns[i], e.Values[i], $"{e.Month} +{e.Since}");
                }
            }
        });
    }

    [Test]
    public void Orders_without_any_clickstream_still_give_kpis()
    {
        var orders = Path.Combine(_dir, "orders.csv");
        File.WriteAllText(orders, Orders);
        Assert.That(PipelineCli.Run("clean-orders", "-i", orders, "-o", Output, "--now", "2024-12-31T00:00:00Z").ExitCode, Is.Zero);
        var r = PipelineCli.Run("kpis", "-o", Output);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var daily = Table("daily");
        var channels = Table("channels");
        Assert.Multiple(() =>
        {
            Assert.That(daily, Has.Count.EqualTo(10));
            Assert.That(daily.Sum(d => (long)d["sessions"]!), Is.Zero);
            Assert.That(daily.All(d => d["conversion_rate"] is null), Is.True);
            Assert.That(channels.Select(c => (string)c["channel"]!).Distinct(), Is.EqualTo(new[] { "unattributed" }));
            Assert.That(channels.Sum(c => (long)c["orders"]!), Is.EqualTo(13), "15 orders, less the cancelled one and the credit note");
        });
    }

    [Test]
    public void Missing_clean_orders_is_an_input_error_naming_the_command()
    {
        var r = PipelineCli.Run("kpis", "-o", Output);
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stderr, Does.Contain("pipeline clean-orders"));
    }
}
