using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Pipeline.Cli;

// Usage: Pipeline.Bench clean-orders <dataset dir written by `pipeline generate`> [repeats]
// Times `pipeline clean-orders` (in this process, through the real CLI entry point) and a single hand-written DuckDB
// statement doing the core of the same work on the same files, alternately, and prints the best of each and the ratio.
if (args.Length < 2 || args[0] != "clean-orders")
{
    Console.Error.WriteLine("usage: Pipeline.Bench clean-orders <dataset-dir> [repeats=3]");
    return 2;
}
var data = Path.GetFullPath(args[1]);
var repeats = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
var work = Path.Combine(Path.GetTempPath(), "pipeline-bench-" + Environment.ProcessId);
Directory.CreateDirectory(work);
var truthNow = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(data, "ground_truth.json")))
    .RootElement.GetProperty("observation_end").GetString()!;
Environment.SetEnvironmentVariable("PIPELINE_LOG_FORMAT", "text");

double Pipeline(int i)
{
    var sw = Stopwatch.StartNew();
    var code = CliApp.Run(["clean-orders", "-q", "-i", Path.Combine(data, "orders"), "-o", Path.Combine(work, "pipeline"), "--now", truthNow],
        TextWriter.Null, Console.Error);
    if (code != 0)
    {
        throw new InvalidOperationException($"pipeline exit {code}");
    }
    return sw.Elapsed.TotalSeconds;
}

double Baseline(int i)
{
    var target = Path.Combine(work, "baseline-" + i);
    var glob = Path.Combine(data, "orders", "orders-*.csv*");
    var sql = $$"""
        COPY (
          WITH raw AS (
            SELECT * FROM read_csv('{{glob}}', header = true, all_varchar = true, ignore_errors = true, union_by_name = true)
          ),
          typed AS (
            SELECT order_id, customer_id, lower(status) AS status,
                   CASE WHEN regexp_full_match(ordered_at, '[0-9]{9,10}') THEN to_timestamp(CAST(ordered_at AS BIGINT))
                        WHEN regexp_full_match(ordered_at, '[0-9]{12,13}') THEN CAST(epoch_ms(CAST(ordered_at AS BIGINT)) AS TIMESTAMPTZ)
                        ELSE TRY_CAST(ordered_at AS TIMESTAMPTZ) END AS ordered_at,
                   TRY_CAST(total_amount AS DECIMAL(18,2)) AS total_amount
            FROM raw WHERE order_id IS NOT NULL
          ),
          dedup AS (
            SELECT * FROM typed
            WHERE ordered_at IS NOT NULL AND total_amount >= 0 AND status IN ('completed', 'cancelled', 'refunded')
            QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY ordered_at DESC) = 1
          )
          SELECT *, CAST(ordered_at AS DATE) AS order_date,
                 CASE WHEN status = 'cancelled' THEN 0 ELSE total_amount END AS net_revenue,
                 row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS customer_order_seq
          FROM dedup
        ) TO '{{target}}' (FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (order_date))
        """;
    var sw = Stopwatch.StartNew();
    using var con = new DuckDBConnection("DataSource=:memory:");
    con.Open();
    using var cmd = con.CreateCommand();
    cmd.CommandText = "SET TimeZone = 'UTC'";
    cmd.ExecuteNonQuery();
    cmd.CommandText = sql;
    cmd.ExecuteNonQuery();
    return sw.Elapsed.TotalSeconds;
}

var p = new List<double>();
var b = new List<double>();
for (var i = 0; i < repeats; i++)
{
    b.Add(Baseline(i));
    p.Add(Pipeline(i));
    Console.WriteLine($"round {i + 1}: baseline {b[^1]:0.00} s, pipeline {p[^1]:0.00} s");
}

Console.WriteLine($"best: baseline {b.Min():0.00} s, pipeline clean-orders {p.Min():0.00} s, ratio {p.Min() / b.Min():0.00}x");
Directory.Delete(work, recursive: true);
return 0;
