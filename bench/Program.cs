using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Pipeline.Cli;
using Pipeline.Core;

// Usage: Pipeline.Bench clean-orders <dataset dir written by `pipeline generate`> [repeats]
// Times `pipeline clean-orders` (in this process, through the real CLI entry point) and a single hand-written DuckDB
// statement doing the core of the same work on the same files, alternately, and prints the best of each and the ratio.
if (args.Length < 2 || args[0] is not ("clean-orders" or "clean-clicks"))
{
    Console.Error.WriteLine("usage: Pipeline.Bench clean-orders|clean-clicks <dataset-dir> [repeats=3]");
    return 2;
}
var stage = args[0];
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
    var input = Path.Combine(data, stage == "clean-orders" ? "orders" : "events");
    var code = CliApp.Run([stage, "-q", "-i", input, "-o", Path.Combine(work, "pipeline"), "--now", truthNow],
        TextWriter.Null, Console.Error);
    if (code != 0)
    {
        throw new InvalidOperationException($"pipeline exit {code}");
    }
    return sw.Elapsed.TotalSeconds;
}

double Baseline(int i) => stage == "clean-orders" ? BaselineOrders(i) : BaselineClicks(i);

// The core of clean-clicks as one hand-written statement: read JSON lines, type, dedup by event_id, sessionize on
// 30-minute gaps, write events with their session ids as partitioned Parquet. It does far less than the stage (no
// line numbers or raw text, no quarantine, bots, stitching, URL parsing, channels, engaged time, session table, nor a
// sort for reproducible files) and reads only the key columns (DuckDB prunes unused JSON keys), so the ratio is an upper
// bound on overhead. BENCH_CLICKS_BASELINE=payload makes it also read and write the payload columns clean/events has
// (product, order, search term, device, user agent, URLs), carried through its windows.
double BaselineClicks(int i)
{
    var target = Path.Combine(work, "baseline-" + i);
    var glob = Path.Combine(data, "events", "events-*.jsonl*");
    var payload = Environment.GetEnvironmentVariable("BENCH_CLICKS_BASELINE") == "payload";
    var columns = payload
        ? "product_id: 'VARCHAR', order_id: 'VARCHAR', search_term: 'VARCHAR', ip: 'VARCHAR', device_type: 'VARCHAR', "
        : "";
    var carried = payload ? ", page_url, referrer_url, product_id, order_id, search_term, user_agent, device_type" : "";
    var sql = $$"""
        COPY (
          WITH raw AS (
            SELECT * FROM read_json('{{glob}}', format = 'newline_delimited', ignore_errors = true,
              columns = {event_id: 'VARCHAR', occurred_at: 'VARCHAR', anonymous_id: 'VARCHAR', user_id: 'VARCHAR', event_type: 'VARCHAR',
                         {{columns}}page_url: 'VARCHAR', referrer_url: 'VARCHAR', user_agent: 'VARCHAR'})
          ),
          typed AS (
            SELECT event_id, coalesce(anonymous_id, 'u:' || user_id) AS anon, user_id, event_type{{carried}},
                   coalesce(TRY_CAST(occurred_at AS TIMESTAMPTZ), CAST(epoch_ms(TRY_CAST(occurred_at AS BIGINT)) AS TIMESTAMPTZ)) AS occurred_at
            FROM raw
          ),
          dedup AS (
            SELECT * FROM typed WHERE occurred_at IS NOT NULL AND anon IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY occurred_at) = 1
          ),
          gaps AS (
            SELECT *, CASE WHEN epoch_us(occurred_at) - lag(epoch_us(occurred_at)) OVER (PARTITION BY anon ORDER BY occurred_at, event_id) <= 1800000000
                           THEN 0 ELSE 1 END AS is_new
            FROM dedup
          ),
          sessions AS (
            SELECT *, sum(is_new) OVER (PARTITION BY anon ORDER BY occurred_at, event_id ROWS UNBOUNDED PRECEDING) AS session_no FROM gaps
          )
          SELECT event_id, occurred_at, CAST(occurred_at AS DATE) AS event_date, event_type, anon, user_id,
                 md5(anon || '|' || session_no) AS session_id{{carried}}
          FROM sessions
        ) TO '{{target}}' (FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (event_date))
        """;
    return RunSql(sql);
}

double RunSql(string sql)
{
    var sw = Stopwatch.StartNew();
    using var con = new DuckDBConnection("DataSource=:memory:");
    con.Open();
    using var cmd = con.CreateCommand();
    cmd.CommandText = "SET TimeZone = 'UTC'";
    cmd.ExecuteNonQuery();
    // BENCH_MEMORY_LIMIT holds the statement to the pipeline's engine.memory_limit (like for like: the stage runs under
    // it and spills; DuckDB's own default is 80% of the machine's memory), spilling next to the baseline's output.
    if (Environment.GetEnvironmentVariable("BENCH_MEMORY_LIMIT") is { Length: > 0 } limit)
    {
        cmd.CommandText = $"SET memory_limit = '{limit}'; SET temp_directory = '{Path.Combine(work, "baseline-tmp")}'";
        cmd.ExecuteNonQuery();
    }
    cmd.CommandText = sql;
    cmd.ExecuteNonQuery();
    return sw.Elapsed.TotalSeconds;
}

double BaselineOrders(int i)
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
    return RunSql(sql);
}

var p = new List<double>();
var b = new List<double>();
// BENCH_ONLY=baseline|pipeline runs one side (for long runs where one side's figure is already known).
var only = Environment.GetEnvironmentVariable("BENCH_ONLY");
for (var i = 0; i < repeats; i++)
{
    b.Add(only == "pipeline" ? double.NaN : Baseline(i));
    p.Add(only == "baseline" ? double.NaN : Pipeline(i));
    Console.WriteLine($"round {i + 1}: baseline {b[^1]:0.00} s, pipeline {p[^1]:0.00} s");
}

Console.WriteLine($"best: baseline {b.Min():0.00} s, pipeline {stage} {p.Min():0.00} s, ratio {p.Min() / b.Min():0.00}x");
Directory.Delete(work, recursive: true);
return 0;
