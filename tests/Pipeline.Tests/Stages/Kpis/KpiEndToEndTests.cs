using System.Globalization;
using NUnit.Framework;
using Parquet.Schema;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Kpis;

/// <summary>
/// The whole chain on data-samples/shop.json through the CLI, then the column contract of the KPI tables (names,
/// order and types are what the report reads), the planted bad spend rows, cross-table identities, and that the
/// hand-written fixtures of <see cref="KpiJobTests"/> still look like what clean-clicks writes.
/// </summary>
public class KpiEndToEndTests
{
    private static string _output = "";

    [OneTimeSetUp]
    public void RunTheShop()
    {
        _output = TestPaths.NewTempDir("kpi-shop");
        var config = Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json");
        foreach (var command in new[] { "clean-orders", "clean-clicks", "features", "rfm", "segment", "ltv", "kpis" })
        {
            var r = PipelineCli.Run(command, "-c", config, "-o", _output);
            Assert.That(r.ExitCode, Is.Zero, $"{command}: {r}");
        }
        var export = PipelineCli.Run("export", "segments", "--format", "csv", "-c", config, "-o", _output);
        Assert.That(export.ExitCode, Is.Zero, export.ToString());
    }

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_output, recursive: true);

    private static string OnlyFile(string table) =>
        Directory.GetFiles(Path.Combine(_output, table), "*.parquet", SearchOption.AllDirectories).Single();

    /// <summary>Column names and CLR types in file order (Parquet.Net reports strings as ReadOnlyMemory&lt;char&gt;).</summary>
    private static (string Name, Type Type)[] Columns(string file) => ParquetTable.Schema(file).GetDataFields()
        .Select(f => (f.Name, f.ClrType == typeof(ReadOnlyMemory<char>) ? typeof(string) : f.ClrType)).ToArray();

    private static (string, Type)[] Typed(Type type, params string[] names) => names.Select(n => (n, type)).ToArray();

    [Test]
    public void Kpi_tables_have_the_contracted_columns_and_types()
    {
        var date = Columns(OnlyFile("kpi/daily"))[0].Type;
        Assert.That(date, Is.EqualTo(typeof(DateOnly)).Or.EqualTo(typeof(DateTime)), "kpi_date is a DATE");
        (string, Type)[] daily =
        [
            ("kpi_date", date),
            .. Typed(typeof(long), "sessions", "users", "new_users", "returning_users", "orders", "customers", "new_customers"),
            ("revenue", typeof(decimal)), ("conversion_rate", typeof(double)),
            .. Typed(typeof(decimal), "aov", "revenue_per_user", "revenue_per_customer"),
            .. Typed(typeof(double), "bounce_rate", "engaged_session_rate"),
            .. Typed(typeof(long), "product_view_sessions", "add_to_cart_sessions", "checkout_sessions", "purchase_sessions"),
            .. Typed(typeof(double), "view_to_cart_rate", "cart_to_checkout_rate", "checkout_to_purchase_rate"),
            ("natural_sessions", typeof(long)), ("natural_traffic_share", typeof(double)),
            ("repeat_cohort_customers", typeof(long)), ("repeat_customers", typeof(long)), ("repeat_purchase_rate", typeof(double)),
        ];
        (string, Type)[] channels =
        [
            ("kpi_date", date), ("channel", typeof(string)), ("is_natural", typeof(bool)), ("sessions", typeof(long)), ("session_share", typeof(double)),
            ("orders", typeof(long)), ("revenue", typeof(decimal)), ("new_customers", typeof(long)),
            ("conversion_rate", typeof(double)), ("spend", typeof(decimal)),
            .. Typed(typeof(double), "acos", "roas"),
            .. Typed(typeof(decimal), "cpa", "cac"),
        ];
        (string, Type)[] cohorts =
        [
            ("cohort_month", date), ("months_since_first", typeof(int)), ("cohort_customers", typeof(long)), ("active_customers", typeof(long)),
            ("retention_rate", typeof(double)), ("revenue", typeof(decimal)), ("cumulative_revenue_per_customer", typeof(decimal)),
        ];
        Assert.Multiple(() =>
        {
            Assert.That(Columns(OnlyFile("kpi/daily")), Is.EqualTo(daily));
            Assert.That(Columns(OnlyFile("kpi/channels")), Is.EqualTo(channels));
            Assert.That(Columns(OnlyFile("kpi/cohorts")), Is.EqualTo(cohorts));
        });
    }

    [Test]
    public void The_planted_bad_spend_rows_are_quarantined_and_the_rest_is_spent()
    {
        var quarantine = ParquetTable.Read(Path.Combine(_output, "quarantine", "ad_spend"))
            .ToDictionary(q => Convert.ToInt64(q["source_line"], CultureInfo.InvariantCulture), q => (string)q["reason_code"]!);
        // ad_spend.csv: the generator's rows, then the three bad rows scripts/make-shop-sample.py appends (the file's last lines).
        var lines = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "ad_spend.csv"));
        var n = lines.Length;
        Assert.That(quarantine, Is.EqualTo(new Dictionary<long, string> { [n - 2] = "unknown_channel", [n - 1] = "bad_spend", [n] = "bad_date" }));
        var channels = ParquetTable.Read(Path.Combine(_output, "kpi", "channels"));
        decimal Spend(string channel) => channels.Where(c => (string)c["channel"]! == channel).Sum(c => (decimal)c["spend"]!);
        // Totals of the good rows, summed here from the file's text ("Paid Search" is paid_search): exact, to the cent.
        var good = lines.Skip(1).Take(n - 4).Select(l => l.Split(',')).ToList();
        decimal Expected(string channel) => good.Where(f => (f[1] == "Paid Search" ? "paid_search" : f[1]) == channel)
            .Sum(f => decimal.Parse(f[3], CultureInfo.InvariantCulture));
        Assert.That(good.Count(f => f[1] == "Paid Search"), Is.GreaterThan(0), "the sample has the other spelling");
        Assert.Multiple(() =>
        {
            Assert.That(Spend("paid_search"), Is.EqualTo(Expected("paid_search")), "\"Paid Search\" rows included");
            Assert.That(Spend("paid_social"), Is.EqualTo(Expected("paid_social")));
            Assert.That(Spend("email"), Is.EqualTo(Expected("email")));
            Assert.That(Spend("affiliate"), Is.EqualTo(Expected("affiliate")));
            Assert.That(channels.Sum(c => (decimal)c["spend"]!), Is.EqualTo(good.Sum(f => decimal.Parse(f[3], CultureInfo.InvariantCulture))));
        });
    }

    [Test]
    public void Kpi_tables_agree_with_each_other_and_with_clean_orders()
    {
        var orders = ParquetTable.Read(Path.Combine(_output, "clean", "orders"));
        var daily = ParquetTable.Read(Path.Combine(_output, "kpi", "daily"));
        var channels = ParquetTable.Read(Path.Combine(_output, "kpi", "channels"));
        var cohorts = ParquetTable.Read(Path.Combine(_output, "kpi", "cohorts"));
        var sessions = ParquetTable.Read(Path.Combine(_output, "sessions"));
        var purchases = orders.Where(o => (bool)o["is_purchase"]!).ToList();
        var buyers = purchases.Where(o => o["customer_id"] is not null).Select(o => (string)o["customer_id"]!).Distinct().Count();
        static double Sum(IEnumerable<Dictionary<string, object?>> rows, string c) => rows.Sum(r => Convert.ToDouble(r[c], CultureInfo.InvariantCulture));
        static decimal Money(IEnumerable<Dictionary<string, object?>> rows, string c) => rows.Sum(r => (decimal)r[c]!);
        Assert.Multiple(() =>
        {
            Assert.That(Sum(daily, "orders"), Is.EqualTo(purchases.Count));
            Assert.That(Sum(channels, "orders"), Is.EqualTo(purchases.Count), "every purchase attributed exactly once");
            Assert.That(Sum(daily, "sessions"), Is.EqualTo(sessions.Count));
            Assert.That(Sum(channels, "sessions"), Is.EqualTo(sessions.Count));
            // Money adds up exactly, to the cent, across tables.
            Assert.That(Money(daily, "revenue"), Is.EqualTo(Money(orders, "net_revenue")));
            Assert.That(Money(channels, "revenue"), Is.EqualTo(Money(purchases, "net_revenue")));
            var cohortMembers = purchases.Where(o => o["customer_id"] is not null).Select(o => (string)o["customer_id"]!).ToHashSet(StringComparer.Ordinal);
            Assert.That(Money(cohorts, "revenue"), Is.EqualTo(Money(orders.Where(o => o["customer_id"] is string c && cohortMembers.Contains(c)), "net_revenue")),
                "the cohorts hold every order of every customer with a purchase");
            Assert.That(Sum(daily, "new_customers"), Is.EqualTo(buyers));
            Assert.That(Sum(channels, "new_customers"), Is.EqualTo(buyers));
            Assert.That(Sum(cohorts.Where(c => (int)c["months_since_first"]! == 0), "cohort_customers"), Is.EqualTo(buyers));
            Assert.That(daily.All(d => d["conversion_rate"] is null || (double)d["conversion_rate"]! >= 0), Is.True);
            Assert.That(channels.Where(c => (string)c["channel"]! != "unattributed").All(c => (bool)c["is_natural"]! ==
                sessions.Where(s => (string)s["channel"]! == (string)c["channel"]!).Select(s => (bool)s["is_natural"]!).DefaultIfEmpty((bool)c["is_natural"]!).First()),
                Is.True, "is_natural agrees with the sessions' flag");
        });
    }

    [Test]
    public void The_audience_export_has_one_row_per_scored_customer()
    {
        var scores = ParquetTable.Read(Path.Combine(_output, "rfm", "scores"));
        var file = Directory.GetFiles(Path.Combine(_output, "exports"), "segments-*.csv").Single();
        var lines = File.ReadAllLines(file);
        Assert.That(lines[0], Is.EqualTo("customer_id,rfm_segment,rfm_cell,kmeans_segment,p_alive,clv_30d,clv_90d"), "shop.json's horizons");
        Assert.That(lines, Has.Length.EqualTo(scores.Count + 1));
    }

    [Test]
    public void Click_fixtures_have_the_columns_and_types_clean_clicks_writes()
    {
        var fixtures = TestPaths.NewTempDir("kpi-fixture");
        try
        {
            var s = new FixtureSession("s", "a", "C", "2024-05-01 10:00:00", "direct", Purchases: 1);
            ClickFixtures.WriteSessions(fixtures, [s]);
            ClickFixtures.WritePurchaseEvents(fixtures, [s], [new FixturePurchase("O", "s", "2024-05-01 10:01:00")]);
            static IEnumerable<string> Shape(string file) => ParquetTable.Schema(file).GetDataFields().Select(f => $"{f.Name}:{f.ClrType.Name}:{f.IsNullable}");
            string First(string root, string table) => Directory.GetFiles(Path.Combine(root, table), "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
            Assert.That(Shape(First(fixtures, "sessions")), Is.EqualTo(Shape(First(_output, "sessions"))));
            Assert.That(Shape(First(fixtures, "clean/events")), Is.EqualTo(Shape(First(_output, "clean/events"))));
        }
        finally
        {
            Directory.Delete(fixtures, recursive: true);
        }
    }
}
