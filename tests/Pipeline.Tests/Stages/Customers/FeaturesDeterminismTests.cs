using System.Globalization;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Customers;

/// <summary>
/// customers/features is the same, to the last bit, on every run with several threads. One customer with 360,000
/// sessions over 90 daily files: DuckDB's threads each aggregate some of the files, so avg() over the DOUBLE
/// engaged_seconds added the rows in a different grouping on every run and its last bits moved (the
/// <c>112.1602</c> vs <c>112.16019999999999</c> of issue #16). The mean is now an exact DECIMAL sum divided once.
/// </summary>
public class FeaturesDeterminismTests
{
    private const int Sessions = 360_000;

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("features-determinism");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Engaged_time_and_money_come_out_bit_for_bit_the_same_on_every_multi_threaded_run()
    {
        var output = Path.Combine(_dir, "out");
        var orders = Path.Combine(_dir, "orders.csv");
        File.WriteAllText(orders, "order_id,customer_id,ordered_at,total_amount\nO1,C1,2024-03-31T12:00:00Z,19.99\nO2,C1,2024-03-30T12:00:00Z,0.01\n");
        Assert.That(PipelineCli.Run("clean-orders", "-i", orders, "-o", output, "--now", "2024-04-01T00:00:00Z").ExitCode, Is.Zero);
        // engaged_seconds = (i mod 9973) / 10: tenths, which no double holds exactly, so a DOUBLE sum depends on its order.
        using (var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1)))
        {
            engine.WriteParquet($"""
                SELECT 's' || CAST(i AS VARCHAR) AS session_id, 'C1' AS customer_id, CAST(i % 9973 AS DOUBLE) / 10.0 AS engaged_seconds,
                       CAST(i % 3 AS INTEGER) AS product_views, CAST(i % 2 AS INTEGER) AS add_to_carts, i % 5 = 0 AS is_converted,
                       i % 4 = 0 AS is_natural, CASE WHEN i % 3 = 0 THEN 'mobile' ELSE 'desktop' END AS device_type,
                       DATE '2024-01-02' + CAST(i % 90 AS INTEGER) AS session_date
                FROM range({Sessions}) AS t(i)
                ORDER BY session_date ASC NULLS LAST, i ASC NULLS LAST
                """, Path.Combine(output, "sessions"), ["session_date"]);
        }
        var config = Path.Combine(_dir, "two-threads.json");
        File.WriteAllText(config, """{ "engine": { "threads": 2 } }""");

        // Independently: Σ (i mod 9973) over i < 360 000, in integers, then / 10 / n.
        long tenths = 0;
        for (long i = 0; i < Sessions; i++)
        {
            tenths += i % 9973;
        }
        var expectedMean = (double)(tenths / 10m) / Sessions;

        var seen = new HashSet<long>();
        for (var run = 0; run < 4; run++)
        {
            var r = PipelineCli.Run("features", "-c", config, "-o", output, "--as-of", "2024-03-31");
            Assert.That(r.ExitCode, Is.Zero, r.ToString());
            var row = ParquetTable.Read(Path.Combine(output, "customers", "features")).Single();
            var mean = (double)row["engaged_seconds_avg"]!;
            seen.Add(BitConverter.DoubleToInt64Bits(mean));
            Assert.That(mean, Is.EqualTo(expectedMean).Within(1e-12).Percent, $"run {run}");
            Assert.That(row["sessions"], Is.EqualTo(Sessions));
            Assert.That(row["net_revenue"], Is.EqualTo(20.00m), "19.99 + 0.01");
        }
        Assert.That(seen, Has.Count.EqualTo(1), "the same bits on every run: " + string.Join(", ", seen.Select(b => BitConverter.Int64BitsToDouble(b).ToString("R", CultureInfo.InvariantCulture))));
    }
}
