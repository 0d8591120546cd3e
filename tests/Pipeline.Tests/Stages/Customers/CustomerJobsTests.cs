using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Customers;

/// <summary>features → rfm → segment through the CLI on hand-built orders, values worked out by hand.</summary>
public class CustomerJobsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("customers");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Output => Path.Combine(_dir, "out");

    private void CleanOrders(string csv)
    {
        var input = Path.Combine(_dir, "orders.csv");
        File.WriteAllText(input, csv);
        var r = PipelineCli.Run("clean-orders", "-i", input, "-o", Output, "--now", "2024-12-31T00:00:00Z");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
    }

    private static Dictionary<string, object?> Row(List<Dictionary<string, object?>> rows, string id) => rows.Single(r => (string)r["customer_id"]! == id);

    [Test]
    public void Features_and_the_clv_summary_follow_the_lifetimes_definitions()
    {
        CleanOrders("""
            order_id,customer_id,ordered_at,status,total_amount
            A1,A,2024-01-01T09:00:00Z,completed,10
            A2,A,2024-01-01T18:00:00Z,completed,5
            A3,A,2024-01-10T12:00:00Z,completed,20
            A4,A,2024-01-20T12:00:00Z,cancelled,100
            A5,A,2024-01-25T12:00:00Z,refunded,30
            A6,A,2024-02-05T12:00:00Z,completed,99
            B1,B,2024-01-15T12:00:00Z,completed,50
            G1,,2024-01-15T12:00:00Z,completed,70
            """);
        var r = PipelineCli.Run("features", "-o", Output, "--as-of", "2024-01-31");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var rows = ParquetTable.Read(Path.Combine(Output, "customers", "features"));
        Assert.That(rows, Has.Count.EqualTo(2), "guests and orders after as_of do not count");
        var a = Row(rows, "A");
        var b = Row(rows, "B");
        Assert.Multiple(() =>
        {
            // A: purchases 01-01 (10 + 5), 01-10 (20), 01-25 (refunded: a purchase worth 0 net); the cancelled order is not one.
            Assert.That(a["orders"], Is.EqualTo(4));
            Assert.That(a["net_revenue"], Is.EqualTo(35.0));
            Assert.That(a["avg_order_value"], Is.EqualTo(8.75));
            Assert.That(a["recency_days"], Is.EqualTo(6));          // 01-25 → 01-31
            Assert.That(a["tenure_days"], Is.EqualTo(30));          // 01-01 → 01-31
            Assert.That((double)a["refund_rate"]!, Is.EqualTo(30.0 / 65.0).Within(1e-12));
            Assert.That(a["frequency"], Is.EqualTo(2));             // 3 purchase days − 1
            Assert.That(a["recency"], Is.EqualTo(24.0));            // 01-01 → 01-25
            Assert.That(a["T"], Is.EqualTo(30.0));
            Assert.That(a["monetary_value"], Is.EqualTo(10.0));     // mean of the repeat days: (20 + 0) / 2
            Assert.That(a["as_of"], Is.EqualTo("2024-01-31"));
            Assert.That(b["frequency"], Is.EqualTo(0));
            Assert.That(b["recency"], Is.EqualTo(0.0));
            Assert.That(b["T"], Is.EqualTo(16.0));
            Assert.That(b["monetary_value"], Is.EqualTo(0.0));
        });

        var weeks = PipelineCli.Run("features", "-o", Output, "--as-of", "2024-01-31", "--time-unit", "week");
        Assert.That(weeks.ExitCode, Is.Zero, weeks.ToString());
        var w = Row(ParquetTable.Read(Path.Combine(Output, "customers", "features")), "A");
        Assert.That((double)w["recency"]!, Is.EqualTo(24.0 / 7).Within(1e-12));
        Assert.That((double)w["T"]!, Is.EqualTo(30.0 / 7).Within(1e-12));
    }

    [Test]
    public void Money_features_and_rfm_money_are_exact_decimals_rounded_once_half_away_from_zero()
    {
        // M: ten purchases of 0.10 on ten days. N: 100.00, 100.00, 100.01, 100.01 on four days.
        var m = string.Join("\n", Enumerable.Range(1, 10).Select(i => $"M{i},M,2024-01-{i:00}T12:00:00Z,completed,0.10"));
        CleanOrders($"""
            order_id,customer_id,ordered_at,status,total_amount
            {m}
            N1,N,2024-01-01T12:00:00Z,completed,100.00
            N2,N,2024-01-02T12:00:00Z,completed,100.00
            N3,N,2024-01-03T12:00:00Z,completed,100.01
            N4,N,2024-01-04T12:00:00Z,completed,100.01
            """);
        var config = Path.Combine(_dir, "mean.json");
        File.WriteAllText(config, """{ "analytics": { "rfm": { "monetary": "mean" } } }""");
        Assert.That(PipelineCli.Run("features", "-c", config, "-o", Output, "--as-of", "2024-01-31").ExitCode, Is.Zero);
        var features = ParquetTable.Read(Path.Combine(Output, "customers", "features"));
        var fm = Row(features, "M");
        var fn = Row(features, "N");
        Assert.Multiple(() =>
        {
            // Ten 0.10 make 1.00 exactly (ten doubles 0.1 add up to 0.9999999999999999).
            Assert.That(fm["net_revenue"], Is.TypeOf<decimal>().And.EqualTo(1.00m));
            Assert.That(fm["avg_order_value"], Is.TypeOf<decimal>().And.EqualTo(0.10m));
            Assert.That(fm["monetary_value"], Is.TypeOf<decimal>().And.EqualTo(0.10m), "the 9 repeat days: 0.90 / 9");
            Assert.That(fn["net_revenue"], Is.EqualTo(400.02m));
            // 400.02 / 4 = 100.005 → 100.01 (half away from zero; half to even would give 100.00).
            Assert.That(fn["avg_order_value"], Is.EqualTo(100.01m));
            // Repeat days 100.00 + 100.01 + 100.01 = 300.02, / 3 = 100.0066666… → 100.006667 (6 decimals).
            Assert.That(fn["monetary_value"], Is.EqualTo(100.006667m));
        });

        Assert.That(PipelineCli.Run("rfm", "-c", config, "-o", Output, "--as-of", "2024-01-31").ExitCode, Is.Zero);
        var scores = ParquetTable.Read(Path.Combine(Output, "rfm", "scores"));
        var segments = ParquetTable.Read(Path.Combine(Output, "rfm", "segments"));
        Assert.Multiple(() =>
        {
            // monetary: mean: 1.00 / 10 = 0.10; 400.02 / 4 = 100.005 → 100.01.
            Assert.That(Row(scores, "M")["monetary"], Is.TypeOf<decimal>().And.EqualTo(0.10m));
            Assert.That(Row(scores, "N")["monetary"], Is.EqualTo(100.01m));
            // Segment revenue is always the total: 1.00 + 400.02 = 401.02 over the segments, exactly.
            Assert.That(segments.Select(x => x["revenue"]), Has.All.TypeOf<decimal>());
            Assert.That(segments.Sum(x => (decimal)x["revenue"]!), Is.EqualTo(401.02m));
            Assert.That(segments.Sum(x => (double)x["revenue_share"]!), Is.EqualTo(1.0).Within(1e-12));
        });
    }

    [Test]
    public void Rfm_scores_distinct_customers_by_rank_and_names_their_segments()
    {
        // Five customers, all values distinct: quintiles are the ranks. as_of = 2024-03-31.
        // recency_days: P 1, Q 10, R 20, S 40, T 80 → R = 5, 4, 3, 2, 1
        // orders:       P 5, Q 4,  R 3,  S 2,  T 1  → F = 5, 4, 3, 2, 1
        CleanOrders("""
            order_id,customer_id,ordered_at,total_amount
            P1,P,2024-03-01,10
            P2,P,2024-03-05,10
            P3,P,2024-03-10,10
            P4,P,2024-03-20,10
            P5,P,2024-03-30,10
            Q1,Q,2024-03-01,20
            Q2,Q,2024-03-05,20
            Q3,Q,2024-03-10,20
            Q4,Q,2024-03-21,20
            R1,R,2024-03-01,40
            R2,R,2024-03-05,40
            R3,R,2024-03-11,40
            S1,S,2024-02-01,100
            S2,S,2024-02-20,100
            T1,T,2024-01-11,300
            """);
        Assert.That(PipelineCli.Run("features", "-o", Output, "--as-of", "2024-03-31").ExitCode, Is.Zero);
        var r = PipelineCli.Run("rfm", "-o", Output, "--as-of", "2024-03-31");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var scores = ParquetTable.Read(Path.Combine(Output, "rfm", "scores"));
        // M = total revenue: P 50, Q 80, R 120, S 200, T 300 → M = 1, 2, 3, 4, 5.
        var expected = new Dictionary<string, (string Cell, string Segment)>
        {
            ["P"] = ("551", "Champions"), ["Q"] = ("442", "Loyal Customers"), ["R"] = ("333", "Need Attention"),
            ["S"] = ("224", "Hibernating"), ["T"] = ("115", "Lost"),
        };
        Assert.Multiple(() =>
        {
            foreach (var (id, (cell, segment)) in expected)
            {
                Assert.That(Row(scores, id)["rfm_cell"], Is.EqualTo(cell), id);
                Assert.That(Row(scores, id)["segment"], Is.EqualTo(segment), id);
            }
        });
        var segments = ParquetTable.Read(Path.Combine(Output, "rfm", "segments"));
        Assert.That(segments.Sum(s => (double)s["customer_share"]!), Is.EqualTo(1.0).Within(1e-12));
        Assert.That(ParquetTable.Read(Path.Combine(Output, "rfm", "cut_points")), Has.Count.EqualTo(12));
    }

    [Test]
    public void Segments_are_written_with_profiles_model_and_migration_between_snapshots()
    {
        var gen = PipelineCli.Run("generate", "--legacy-defaults", "-o", Path.Combine(_dir, "data"), "--customers", "1500", "--days", "240", "--seed", "5");
        Assert.That(gen.ExitCode, Is.Zero, gen.ToString());
        var clean = PipelineCli.Run("clean-orders", "-i", Path.Combine(_dir, "data", "orders"), "-o", Output, "--now", "2026-01-01T00:00:00Z");
        Assert.That(clean.ExitCode, Is.Zero, clean.ToString());
        foreach (var asOf in new[] { "2024-07-31", "2024-08-27" })
        {
            Assert.That(PipelineCli.Run("features", "-o", Output, "--as-of", asOf).ExitCode, Is.Zero);
            var s = PipelineCli.Run("segment", "-o", Output, "--as-of", asOf);
            Assert.That(s.ExitCode, Is.Zero, s.ToString());
        }
        var assignments = ParquetTable.Read(Path.Combine(Output, "segments", "assignments"));
        var features = ParquetTable.Read(Path.Combine(Output, "customers", "features"));
        var migration = ParquetTable.Read(Path.Combine(Output, "segments", "migration"));
        var k = ParquetTable.Read(Path.Combine(Output, "segments", "k_selection"));
        Assert.Multiple(() =>
        {
            Assert.That(assignments.Count(a => (string)a["as_of"]! == "2024-08-27"), Is.EqualTo(features.Count(f => (string)f["as_of"]! == "2024-08-27")));
            Assert.That(k.Count(r => (string)r["as_of"]! == "2024-08-27"), Is.EqualTo(7), "k = 2..8 tried");
            Assert.That(k.Count(r => (string)r["as_of"]! == "2024-08-27" && (bool)r["is_chosen"]!), Is.EqualTo(1));
            Assert.That(File.Exists(Path.Combine(Output, "segments", "model", "as_of=2024-08-27", "model.zip")), Is.True);
            // Every customer of either snapshot appears once in the migration matrix (new customers come from "new").
            var before = assignments.Count(a => (string)a["as_of"]! == "2024-07-31");
            var after = assignments.Count(a => (string)a["as_of"]! == "2024-08-27");
            var moved = migration.Where(m => (string)m["as_of"]! == "2024-08-27").ToList();
            Assert.That(moved.Where(m => (string)m["from_segment"]! != "new").Sum(m => (int)m["customers"]!), Is.EqualTo(before));
            Assert.That(moved.Where(m => (string)m["to_segment"]! != "gone").Sum(m => (int)m["customers"]!), Is.EqualTo(after));
            Assert.That(migration.Any(m => (string)m["as_of"]! == "2024-07-31"), Is.False, "no earlier snapshot → no migration rows");
        });
    }
}
