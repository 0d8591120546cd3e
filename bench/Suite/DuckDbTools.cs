using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;

namespace Pipeline.Bench.Suite;

/// <summary>The features baseline statement and small DuckDB helpers.</summary>
internal static class DuckDbTools
{
    /// <summary>
    /// The core of <c>pipeline features</c> as one hand-written statement on the run's published clean/orders and
    /// sessions: order facts, the lifetimes summary (frequency, recency, T, monetary value) and the 90-day session
    /// behaviour per customer, written as one Parquet file. Best of <c>--repeats</c> (default 1).
    /// </summary>
    public static int FeaturesBaseline(string output, DateOnly asOf, Options o)
    {
        var repeats = o.Int("repeats", 1);
        var orders = Path.Combine(Path.GetFullPath(output), "clean", "orders", "**", "*.parquet");
        var sessions = Path.Combine(Path.GetFullPath(output), "sessions", "**", "*.parquet");
        var target = Path.Combine(Path.GetTempPath(), $"features-baseline-{Environment.ProcessId}.parquet");
        var day = asOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var windowStart = asOf.AddDays(-89).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var sql = $$"""
            COPY (
              WITH o AS (
                SELECT customer_id, order_date, ordered_at, is_purchase, net_revenue
                FROM read_parquet('{{orders}}', hive_partitioning = true)
                WHERE customer_id IS NOT NULL AND order_date <= DATE '{{day}}' AND status <> 'cancelled'
              ),
              days AS (
                SELECT customer_id, order_date, sum(net_revenue) AS v,
                       row_number() OVER (PARTITION BY customer_id ORDER BY order_date) AS n
                FROM o WHERE is_purchase GROUP BY customer_id, order_date
              ),
              clv AS (
                SELECT customer_id, count(*) - 1 AS frequency,
                       CAST(max(order_date) - min(order_date) AS DOUBLE) AS recency,
                       CAST(DATE '{{day}}' - min(order_date) AS DOUBLE) AS T,
                       coalesce(avg(v) FILTER (WHERE n > 1), 0) AS monetary_value,
                       DATE '{{day}}' - max(order_date) AS recency_days
                FROM days GROUP BY customer_id
              ),
              facts AS (
                SELECT customer_id, count(*) FILTER (WHERE is_purchase) AS orders, sum(net_revenue) AS net_revenue,
                       min(ordered_at) FILTER (WHERE is_purchase) AS first_order_at, max(ordered_at) FILTER (WHERE is_purchase) AS last_order_at
                FROM o GROUP BY customer_id
              ),
              behaviour AS (
                SELECT customer_id, count(*) AS sessions, avg(engaged_seconds) AS engaged_seconds_avg,
                       avg(CASE WHEN is_natural THEN 1.0 ELSE 0.0 END) AS natural_traffic_share,
                       avg(CASE WHEN is_converted THEN 1.0 ELSE 0.0 END) AS session_conversion_rate
                FROM read_parquet('{{sessions}}', hive_partitioning = true)
                WHERE customer_id IS NOT NULL AND session_date BETWEEN DATE '{{windowStart}}' AND DATE '{{day}}'
                GROUP BY customer_id
              )
              SELECT f.customer_id, f.orders, f.net_revenue, f.net_revenue / f.orders AS avg_order_value, c.recency_days,
                     DATE '{{day}}' - CAST(f.first_order_at AS DATE) AS tenure_days, f.first_order_at, f.last_order_at,
                     coalesce(b.sessions, 0) AS sessions, coalesce(b.engaged_seconds_avg, 0) AS engaged_seconds_avg,
                     coalesce(b.natural_traffic_share, 0) AS natural_traffic_share, coalesce(b.session_conversion_rate, 0) AS session_conversion_rate,
                     c.frequency, c.recency, c.T, c.monetary_value
              FROM facts f JOIN clv c USING (customer_id) LEFT JOIN behaviour b USING (customer_id)
              ORDER BY f.customer_id
            ) TO '{{target}}' (FORMAT PARQUET, COMPRESSION ZSTD)
            """;
        var times = new List<double>();
        long rows = 0;
        for (var i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using var con = Open();
            using var cmd = con.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
            times.Add(sw.Elapsed.TotalSeconds);
            cmd.CommandText = $"SELECT count(*) FROM read_parquet('{target}')";
            rows = Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        File.Delete(target);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["statement"] = "features",
            ["as_of"] = day,
            ["seconds"] = times.Min(),
            ["rounds"] = times,
            ["rows"] = rows,
        }));
        return 0;
    }

    public static int ToCsv(string glob, string csv)
    {
        using var con = Open();
        using var cmd = con.CreateCommand();
        cmd.CommandText = $"COPY (SELECT * FROM read_parquet('{glob.Replace("'", "''", StringComparison.Ordinal)}', hive_partitioning = true)) TO '{csv.Replace("'", "''", StringComparison.Ordinal)}' (HEADER, DELIMITER ',')";
        var rows = cmd.ExecuteNonQuery();
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["csv"] = csv, ["rows"] = rows }));
        return 0;
    }

    public static int EngineVersion()
    {
        using var con = Open();
        using var cmd = con.CreateCommand();
        cmd.CommandText = "SELECT version()";
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["duckdb"] = Convert.ToString(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "" }));
        return 0;
    }

    private static DuckDBConnection Open()
    {
        var con = new DuckDBConnection("DataSource=:memory:");
        con.Open();
        using var cmd = con.CreateCommand();
        cmd.CommandText = "SET TimeZone = 'UTC'";
        cmd.ExecuteNonQuery();
        return con;
    }
}
