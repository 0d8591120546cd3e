using System.Globalization;
using System.Text;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Nightly;

/// <summary>
/// Same input and settings → the same bytes in every published table, whatever the thread count and the machine's
/// load: <c>pipeline run</c> on a generated shop (with faults, an FX table and ad spend in two currencies) with
/// <c>engine.threads</c> 1, then 2, then 2 again while every core is kept busy, each into a fresh output directory.
/// The quarantine tables carry the run id in every row, so they are compared field by field without it (see
/// <see cref="PublishedTables"/>); the report page shows the runs' times and is not a table.
/// </summary>
/// <remarks>
/// What this caught: DOUBLE sums and averages in parallel (money in customers/features and the KPIs, engaged time)
/// add the rows in whatever order the threads deliver them, so the last bits moved between runs
/// (<c>112.1602</c> vs <c>112.16019999999999</c>, issue #16). Money is now DECIMAL and summed exactly.
/// </remarks>
public class DeterminismTests
{
    private string _dir = "";
    private string _data = "";

    [OneTimeSetUp]
    public void Generate()
    {
        _dir = TestPaths.NewTempDir("determinism");
        _data = Path.Combine(_dir, "shop");
        var g = PipelineCli.Run("generate", "--legacy-defaults", "-o", _data, "--customers", "400", "--days", "120", "--seed", "5", "--faults");
        Assert.That(g.ExitCode, Is.Zero, g.ToString());
        WriteFxAndSpend(_data, new DateOnly(2024, 1, 1), 120);
    }

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// An EUR rate for every weekday (8 decimals) and three spend rows a day: paid search in EUR (converted), paid social
    /// in USD, e-mail without a currency (the base currency).
    /// </summary>
    private static void WriteFxAndSpend(string data, DateOnly start, int days)
    {
        var fx = new StringBuilder("date,currency,rate\n");
        var spend = new StringBuilder("date,channel,campaign,spend,currency\n");
        for (var i = 0; i < days; i++)
        {
            var d = start.AddDays(i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            if (start.AddDays(i).DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday))
            {
                fx.Append(CultureInfo.InvariantCulture, $"{d},EUR,{1.05 + (i % 13) / 97.0:0.00000000}\n");
            }
            spend.Append(CultureInfo.InvariantCulture, $"{d},paid_search,brand,{12.34 + (i % 7) * 1.11:0.00},EUR\n");
            spend.Append(CultureInfo.InvariantCulture, $"{d},paid_social,launch,{5.55 + i % 5:0.00},USD\n");
            spend.Append(CultureInfo.InvariantCulture, $"{d},email,weekly,0.333,\n");
        }
        File.WriteAllText(Path.Combine(data, "fx.csv"), fx.ToString());
        File.WriteAllText(Path.Combine(data, "spend.csv"), spend.ToString());
    }

    /// <summary>The generated configuration with its own output, a thread count, the FX table, the spend and a 30-day LTV horizon.</summary>
    private string Config(string name, int threads)
    {
        using var generated = JsonDocument.Parse(File.ReadAllText(Path.Combine(_data, "pipeline.json")),
            new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        var now = generated.RootElement.GetProperty("now").GetString();
        var holdout = generated.RootElement.GetProperty("analytics").GetProperty("ltv").GetProperty("holdout_days").GetInt32();
        var path = Path.Combine(_data, name + ".json");
        File.WriteAllText(path, $$"""
            {
              "output": "{{name}}",
              "now": "{{now}}",
              "engine": { "threads": {{threads}} },
              "quality": { "max_quarantine_share": 1 },
              "orders": { "input": "orders/", "fx": { "input": "fx.csv" } },
              "events": { "input": "events/", "site_hosts": ["shop.example.com"] },
              "analytics": { "ltv": { "holdout_days": {{holdout}}, "horizons_days": [30] } },
              "kpis": { "ad_spend": { "input": "spend.csv" } }
            }
            """);
        return path;
    }

    private string Run(string name, int threads)
    {
        var r = PipelineCli.Run("run", "-c", Config(name, threads));
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        return Path.Combine(_data, name);
    }

    /// <summary>Runs with every core kept busy by spinning threads of this process, so DuckDB's threads get preempted.</summary>
    private string RunUnderLoad(string name, int threads)
    {
        using var stop = new CancellationTokenSource();
        var spinners = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => Task.Factory.StartNew(() =>
        {
            var x = 0.0;
            while (!stop.IsCancellationRequested)
            {
                x = Math.Sin(x + 1.0);
            }
            return x;
        }, TaskCreationOptions.LongRunning)).ToArray();
        try
        {
            return Run(name, threads);
        }
        finally
        {
            stop.Cancel();
            Task.WaitAll(spinners);
        }
    }

    [Test]
    public void Published_tables_are_byte_identical_with_one_or_two_threads_and_under_load()
    {
        var one = Run("out-threads-1", threads: 1);
        var two = Run("out-threads-2", threads: 2);
        var loaded = RunUnderLoad("out-threads-2-loaded", threads: 2);

        var files = PublishedTables.Files(one);
        foreach (var table in new[] { "clean/orders", "clean/events", "sessions", "customers/features", "rfm/scores", "segments/model", "ltv/customers", "kpi/channels", "quarantine/ad_spend" })
        {
            Assert.That(files, Has.Some.StartsWith(table + "/"), $"{table} was published: the comparison covers it");
        }
        Assert.Multiple(() =>
        {
            Assert.That(PublishedTables.Differences(one, two), Is.Empty, "threads 1 vs 2");
            Assert.That(PublishedTables.Differences(two, loaded), Is.Empty, "two runs with 2 threads, the second under CPU contention");
        });
        // The tables compared field by field (their rows carry the run id): the quarantine tables, no other.
        Assert.That(PublishedTables.WithRunId, Is.EquivalentTo(new[] { "quarantine/orders", "quarantine/events", "quarantine/ad_spend", "quarantine/assignments" }));
    }
}
