using System.Globalization;
using NUnit.Framework;
using Pipeline.Models.Alerts;
using Pipeline.Stages.Alerts;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Alerts;

[TestFixture]
public sealed class AlertsJobTests
{
    private static readonly DateOnly First = new(2024, 1, 1);

    // 98 days of 100,000 sessions (desktop 60,000, mobile 40,000). Desktop converts 1,800 sessions a day (3%), mobile 800
    // (2%): overall 2,600 orders, 2.6%. On the last three days (95–97) mobile converts 400 (1%) and desktop 1,700
    // (2.8333%): overall 2.1%. Every series is constant before: expected = its value, MAD 0, scale = the 2% floor.
    //   overall conversion: (0.021 − 0.026) / (0.02 × 0.026) = −9.6 → critical, −19% vs expected.
    //   mobile conversion: (0.01 − 0.02) / 0.0004 = −25 → critical; desktop: (0.028333 − 0.03) / 0.0006 = −2.8 → not flagged.
    //   Orders are counts (scale ≥ max(2%, √expected)): overall (2100 − 2600) / 52 = −9.6 and mobile (400 − 800) / √800 =
    //   −14.1 → critical; desktop (1700 − 1800) / √1800 = −2.4: not flagged.
    //   Poisson caps (deviance residuals): overall 2100 vs 2600 orders −10.1, mobile 400 vs 800 −15.7: critical stays.
    //   (At 1/100 of the volume, 4 mobile orders against 8 would be −1.6: inside Poisson noise, no alert.)
    //   Attribution (devices): desktop 60,000 × (0.028333 − 0.03) / 100,000 = −0.001, mobile 40,000 × (0.01 − 0.02) / 100,000
    //   = −0.004: mobile's share 0.004 / 0.005 = 80%; for the orders −100 and −400: 80%.
    //   The sustained-shift rule (3 days at least, each ≥ 2 scales the same way, Σ min(|score|, 4) / √3 ≥ 4, and the 3 days'
    //   summed count a Poisson deviate ≥ 4): desktop's small drop lasts the 3 days. Conversion: 3 × 2.78 / √3 = 4.81, orders:
    //   3 × 2.36 / √3 = 4.08; as one count 5,100 orders against 3 × 1,800 = 5,400: −√(2 (5100 ln(5100/5400) + 300)) = −4.12:
    //   desktop's conversion and orders are warnings on days 95–97. Every flagged series is a 3-day run: "for 3 days in a
    //   row"; overall conversion's run, 3 × 4 / √3 = 6.93, is critical as its days are.
    private static AlertsJob.SeriesData Shop()
    {
        const int days = 98;
        double[] Constant(double v, double last) => Enumerable.Range(0, days).Select(i => i >= 95 ? last : v).ToArray();
        var overall = new AlertsJob.BaseSeries("overall", "all", new Dictionary<string, double[]>
        {
            ["sessions"] = Constant(100_000, 100_000),
            ["orders"] = Constant(2600, 2100),
        });
        var desktop = new AlertsJob.BaseSeries("device", "desktop", new Dictionary<string, double[]>
        {
            ["sessions"] = Constant(60_000, 60_000),
            ["orders"] = Constant(1800, 1700),
        });
        var mobile = new AlertsJob.BaseSeries("device", "mobile", new Dictionary<string, double[]>
        {
            ["sessions"] = Constant(40_000, 40_000),
            ["orders"] = Constant(800, 400),
        });
        return new AlertsJob.SeriesData(First, days, [overall, desktop, mobile], false);
    }

    [Test]
    public void A_mobile_checkout_bug_is_an_overall_conversion_alert_that_names_mobile()
    {
        var rows = AlertsJob.Detect(Shop(), new DetectorOptions(), 30, 20, new Dictionary<DateOnly, string>());
        Assert.That(rows.Select(r => (r.AlertDate.DayNumber - First.DayNumber, r.Metric, r.Dimension, r.DimensionValue, r.Status)), Is.EqualTo(new[] { 95, 96, 97 }.SelectMany(day => new[]
        {
            (day, "conversion_rate", "device", "desktop", day == 95 ? "new" : "ongoing"),
            (day, "conversion_rate", "device", "mobile", day == 95 ? "new" : "ongoing"),
            (day, "conversion_rate", "overall", "all", day == 95 ? "new" : "ongoing"),
            (day, "orders", "device", "desktop", day == 95 ? "new" : "ongoing"),
            (day, "orders", "device", "mobile", day == 95 ? "new" : "ongoing"),
            (day, "orders", "overall", "all", day == 95 ? "new" : "ongoing"),
        })));
        Assert.That(rows[5].Explanation, Is.EqualTo("orders −19% vs expected (2100 vs 2600), for 3 days in a row; device mobile accounts for 80% of it"));
        var overall = rows[2];
        Assert.That(overall.Severity, Is.EqualTo("critical"));
        Assert.That(overall.Direction, Is.EqualTo("down"));
        // DECIMAL(28,6): the hand-computed values exactly (band 0.026 ∓ 4 × 0.00052).
        Assert.That(overall.Value, Is.EqualTo(0.021m));
        Assert.That(overall.Expected, Is.EqualTo(0.026m));
        Assert.That(overall.Score, Is.EqualTo(-9.62).Within(0.005));
        Assert.That(overall.BandLow, Is.EqualTo(0.02392m));
        Assert.That(overall.BandHigh, Is.EqualTo(0.02808m));
        Assert.That(overall.Explanation, Is.EqualTo("conversion_rate −19% vs expected (0.021 vs 0.026), for 3 days in a row; device mobile accounts for 80% of it"));
        Assert.That(rows[1].Explanation, Is.EqualTo("conversion_rate of device mobile −50% vs expected (0.01 vs 0.02), for 3 days in a row"));
        // Desktop: flagged by the sustained-shift rule only (−2.78 and −2.36 scales a day), as warnings.
        Assert.That(rows.Where(r => r.DimensionValue == "desktop").Select(r => (r.Metric, r.Severity, Math.Round(r.Score, 2))).Distinct(),
            Is.EqualTo(new[] { ("conversion_rate", "warning", -2.78), ("orders", "warning", -2.36) }));
        Assert.That(rows[0].Explanation, Is.EqualTo("conversion_rate of device desktop −6% vs expected (0.0283 vs 0.03), for 3 days in a row"));
        // With 4 stretch days needed, the 3-day runs are no stretch: desktop is not alerted and no row says "in a row".
        var strict = AlertsJob.Detect(Shop(), new DetectorOptions { SustainedMinDays = 4 }, 30, 20, new Dictionary<DateOnly, string>());
        Assert.That(strict.Select(r => r.DimensionValue).Distinct(), Is.EqualTo(new[] { "mobile", "all" }));
        Assert.That(strict.Select(r => r.Explanation), Has.None.Contain("in a row"));
    }

    [Test]
    public void The_alerted_series_get_their_last_eight_weeks_of_band()
    {
        var bands = new List<BandRow>();
        AlertsJob.Detect(Shop(), new DetectorOptions(), 30, 20, new Dictionary<DateOnly, string>(), bands);
        // Alerted: overall, desktop and mobile conversion and orders (days 95–97, as in the test above). Each: days 42–97
        // (56 days; the first judged day is 42).
        Assert.That(bands.Select(b => (b.Metric, b.Dimension, b.DimensionValue)).Distinct(), Is.EqualTo(new[]
        {
            ("conversion_rate", "device", "desktop"), ("conversion_rate", "device", "mobile"), ("conversion_rate", "overall", "all"),
            ("orders", "device", "desktop"), ("orders", "device", "mobile"), ("orders", "overall", "all"),
        }));
        var overall = bands.Where(b => b.Metric == "conversion_rate" && b.Dimension == "overall").ToList();
        Assert.That(overall.Select(b => b.BandDate.DayNumber - First.DayNumber), Is.EqualTo(Enumerable.Range(42, 56)));
        // Constant before day 95: expected 0.026, band ∓ 4 × 0.02 × 0.026; the alerts' days carry their status.
        Assert.That(overall.Select(b => (b.Value, b.Expected, b.BandLow, b.BandHigh)).Distinct().First(), Is.EqualTo(((decimal?)0.026m, (decimal?)0.026m, (decimal?)0.02392m, (decimal?)0.02808m)));
        Assert.That(overall.Select(b => b.Status), Is.EqualTo(Enumerable.Repeat<string?>(null, 53).Concat(["new", "ongoing", "ongoing"])));
        Assert.That(overall[^1].Value, Is.EqualTo(0.021m));
    }

    [Test]
    public void A_known_event_day_is_expected_and_the_next_day_starts_a_new_alert()
    {
        var calendar = new Dictionary<DateOnly, string> { [First.AddDays(96)] = "Promo" };
        var options = new DetectorOptions { KnownEvents = calendar.Keys.ToHashSet() };
        var overall = AlertsJob.Detect(Shop(), options, 30, 20, calendar).Where(r => r.Dimension == "overall" && r.Metric == "conversion_rate").ToList();
        Assert.That(overall.Select(r => (r.AlertDate.DayNumber - First.DayNumber, r.Status)), Is.EqualTo(new[] { (95, "new"), (96, "expected"), (97, "new") }));
        Assert.That(overall[1].Explanation, Does.EndWith("; known event: Promo"));
    }

    [Test]
    public void A_small_segment_is_not_watched()
    {
        // min_volume 50,000 > mobile's 40,000 sessions (and every device's orders): only the overall series and, for
        // conversion, desktop are judged (desktop's conversion is a sustained shift, see the first test).
        var rows = AlertsJob.Detect(Shop(), new DetectorOptions(), 30, 50_000, new Dictionary<DateOnly, string>());
        Assert.That(rows.Select(r => (r.Metric, r.DimensionValue)).Distinct(),
            Is.EqualTo(new[] { ("conversion_rate", "desktop"), ("conversion_rate", "all"), ("orders", "all") }));
        Assert.That(rows.First(r => r.Metric == "conversion_rate" && r.DimensionValue == "all").Explanation, Does.EndWith("device desktop accounts for 100% of it"));
    }

    [Test]
    public void The_metrics_verb_publishes_kpi_alerts_and_fail_on_sets_exit_code_6()
    {
        var dir = Path.Combine(Path.GetTempPath(), "alerts-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // 70 days of the weekly pattern 10, 20, …, 70 for 'visits' and a constant 5 for 'refunds'; day 69 (P = 70)
            // has visits 20: expected 70, scale 0.02 × 70 = 1.4, score −35.7 → critical, −71%. Nothing else moves.
            var csv = Path.Combine(dir, "metrics.csv");
            File.WriteAllLines(csv, new[] { "date,visits,refunds" }.Concat(Enumerable.Range(0, 70).Select(i =>
                $"{First.AddDays(i):yyyy-MM-dd},{(i == 69 ? 20 : 10 * (i % 7 + 1)).ToString(CultureInfo.InvariantCulture)},5")));
            var config = Path.Combine(dir, "pipeline.json");
            File.WriteAllText(config, """{"alerts": {"fail_on": "critical"}}""");

            // As under cron: a child process whose stderr is not a terminal logs JSON lines.
            var plain = PipelineCli.RunProcess(new Dictionary<string, string> { ["PIPELINE_LOG_FORMAT"] = "json" },
                "alerts", "--metrics", csv, "--output", Path.Combine(dir, "out1"), "--quiet");
            Assert.That(plain.ExitCode, Is.EqualTo(0), plain.ToString());
            // The last day's alert is a warn line of the JSON log, even with --quiet.
            var warns = plain.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => l.StartsWith('{'))
                .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("level").GetString() == "warn")
                .Select(e => (e.GetProperty("stage").GetString(), e.GetProperty("message").GetString()))
                .ToList();
            Assert.That(warns, Is.EqualTo(new[] { ("alerts", "2024-03-10 critical alert (new): visits −71% vs expected (20 vs 70)") }), plain.Stderr);
            var rows = ParquetTable.Read(Path.Combine(dir, "out1", "kpi", "alerts"));
            Assert.That(rows, Has.Count.EqualTo(1));
            Assert.That(rows[0]["metric"], Is.EqualTo("visits"));
            Assert.That(rows[0]["severity"], Is.EqualTo("critical"));
            Assert.That(rows[0]["explanation"], Is.EqualTo("visits −71% vs expected (20 vs 70)"));
            Assert.That(Convert.ToDouble(rows[0]["score"], CultureInfo.InvariantCulture), Is.EqualTo(-35.71).Within(0.005));
            // value, expected and band as DECIMAL(28,6): 20, 70, 70 ∓ 4 × 1.4.
            Assert.That(new[] { rows[0]["value"], rows[0]["expected"], rows[0]["band_low"], rows[0]["band_high"] }, Is.EqualTo(new object[] { 20m, 70m, 64.4m, 75.6m }));

            var failing = PipelineCli.Run("alerts", "--metrics", csv, "--output", Path.Combine(dir, "out2"), "--quiet", "--config", config);
            Assert.That(failing.ExitCode, Is.EqualTo(6), failing.ToString());
            Assert.That(failing.Stderr, Does.Contain("error: alerts: 1 alert(s) at or above alerts.fail_on (critical) on 2024-03-10"));
            Assert.That(File.Exists(Path.Combine(dir, "out2", "kpi", "alerts", "_SUCCESS")), Is.True, "published before exiting 6");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // Landing pages: the same 100,000 sessions a day, landing on /p 50,000 (3%: 1,500 orders), /c 30,000 (2%: 600) and /
    // 20,000 (2.5%: 500): 2,600 orders. On days 95–97 /p converts 1.5% (750 orders): overall 1,850, 1.85%, −29%. Each
    // device loses in proportion to its sessions (desktop 60,000: 1,560 → 1,110; mobile 40,000: 1,040 → 740).
    //   Attribution of the conversion drop: landing pages /p 50,000 × (0.015 − 0.03) / 100,000 = −0.0075, the others 0:
    //   100%; devices desktop 60,000 × (0.0185 − 0.026) / 100,000 = −0.0045, mobile −0.003: 60%. The larger share (/p) names the source.
    [Test]
    public void A_landing_page_group_that_explains_more_than_any_device_is_named()
    {
        const int days = 98;
        double[] Constant(double v, double last) => Enumerable.Range(0, days).Select(i => i >= 95 ? last : v).ToArray();
        AlertsJob.BaseSeries Series(string dimension, string segment, double sessions, double orders, double lastOrders) =>
            new(dimension, segment, new Dictionary<string, double[]> { ["sessions"] = Constant(sessions, sessions), ["orders"] = Constant(orders, lastOrders) });
        var data = new AlertsJob.SeriesData(First, days,
        [
            Series("overall", "all", 100_000, 2600, 1850),
            Series("device", "desktop", 60_000, 1560, 1110),
            Series("device", "mobile", 40_000, 1040, 740),
            Series("landing_page", "/", 20_000, 500, 500),
            Series("landing_page", "/c", 30_000, 600, 600),
            Series("landing_page", "/p", 50_000, 1500, 750),
        ], false);
        var rows = AlertsJob.Detect(data, new DetectorOptions(), 30, 20, new Dictionary<DateOnly, string>());
        var overall = rows.Single(r => r.AlertDate == First.AddDays(95) && r.Metric == "conversion_rate" && r.Dimension == "overall");
        Assert.That(overall.Explanation, Is.EqualTo("conversion_rate −29% vs expected (0.0185 vs 0.026), for 3 days in a row; landing_page /p accounts for 100% of it"));
        Assert.That(rows.Where(r => r.AlertDate == First.AddDays(95) && r.Dimension == "landing_page").Select(r => (r.Metric, r.DimensionValue)),
            Is.EqualTo(new[] { ("conversion_rate", "/p"), ("orders", "/p") }), "the other landing pages did not move");
    }

    // Data health (clean/event_days): 98 days of 10,000 rows read, 100 quarantined (1%), 9,800 unique valid rows of which
    // 300 bots (3.0612%). Day 95: 900 bots (9.1837%, +200%): not an alert, bot share is watched downward only. Day 96: 400
    // quarantined (4%, unique rows 9,500, bots 300: 3.1579%, +3%: inside its band of ∓ 4 × 2% = ∓ 8%); day 97: no bot
    // (the rules stopped catching them): −100%. Clustered counts, against the pooled rate of the 56 days before:
    //   quarantine, day 96: every day of its window is 100 of 10,000, so φ = 1 and 400 against λ = 100 is 300 ⁄ √100 = 30: critical.
    //   bots, day 97, with the storm: the window (days 41–96) has 17,400 bots in 548,500 unique rows, rate 0.031723; day 95's
    //   (900 − 310.88)² ⁄ 310.88 = 1,116.4 and the other days' 20.6 give φ = 1,137 ⁄ 56 = 20.3, so 0 against λ = 310.88 is
    //   −310.88 ⁄ √(20.3 × 310.88) = −3.9: not an alert at 4 (the storm widened the band). Without it φ = 1 and 0 against
    //   λ = 300.2 is −17.3: critical.
    [TestCase(true, "2 alerts")]
    [TestCase(false, "3 alerts")]
    public void A_quarantine_surge_and_a_bot_filter_that_stopped_catching_are_data_health_alerts(bool storm, string _)
    {
        const int days = 98;
        double[] Series(double v, int day = -1, double other = 0) => Enumerable.Range(0, days).Select(i => i == day ? other : v).ToArray();
        var overall = new AlertsJob.BaseSeries("overall", "all", new Dictionary<string, double[]>
        {
            ["rows_read"] = Series(10_000),
            ["rows_quarantined"] = Series(100, 96, 400),
            ["unique_rows"] = Series(9_800, 96, 9_500),
            ["bots"] = Enumerable.Range(0, days).Select(i => i == 95 && storm ? 900.0 : i == 97 ? 0 : 300).ToArray(),
        });
        var rows = AlertsJob.Detect(new AlertsJob.SeriesData(First, days, [overall], false), new DetectorOptions(), 30, 20, new Dictionary<DateOnly, string>());
        var expected = new List<(int, string, string, string)> { (96, "quarantine_share", "critical", "quarantine_share +300% vs expected (0.04 vs 0.01)") };
        if (!storm)
        {
            expected.Add((97, "bot_share", "critical", "bot_share −100% vs expected (0 vs 0.0306)"));
        }
        Assert.That(rows.Select(r => (r.AlertDate.DayNumber - First.DayNumber, r.Metric, r.Severity, r.Explanation)), Is.EqualTo(expected));
    }

    [Test]
    public void Landing_page_groups_are_the_first_path_segment_in_lower_case()
    {
        using var engine = new Pipeline.Engine.DuckDb.DuckDbEngine(new Pipeline.Engine.DuckDb.DuckDbOptions(Threads: 1));
        var sessions = """
            (SELECT * FROM (VALUES (DATE '2024-01-01', '/p/SKU-1', true, false), (DATE '2024-01-01', '/P/sku-2?utm=x', false, true),
                                   (DATE '2024-01-01', '/', false, false), (DATE '2024-01-01', CAST(NULL AS VARCHAR), false, false),
                                   (DATE '2024-01-02', '/search?q=shoes', false, true), (DATE '2024-01-02', '/c;jsessionid=1', true, false),
                                   (DATE '2024-01-02', '/?q=1', false, false))
             AS t(session_date, landing_page_path, is_converted, is_natural))
            """;
        var rows = engine.Query(AlertsSql.LandingGroups(Pipeline.Engine.DuckDb.DuckDbDialect.Instance, sessions))
            .Select(r => ($"{r[0]:yyyy-MM-dd}", (string)r[1]!, Convert.ToDouble(r[2], CultureInfo.InvariantCulture), Convert.ToDouble(r[3], CultureInfo.InvariantCulture), Convert.ToDouble(r[4], CultureInfo.InvariantCulture)));
        Assert.That(rows, Is.EqualTo(new[]
        {
            ("2024-01-01", "/", 1.0, 0.0, 0.0),
            ("2024-01-01", "/p", 2.0, 1.0, 1.0),
            ("2024-01-01", "unknown", 1.0, 0.0, 0.0),
            ("2024-01-02", "/", 1.0, 0.0, 0.0),
            ("2024-01-02", "/c", 1.0, 1.0, 0.0),
            ("2024-01-02", "/search", 1.0, 0.0, 1.0),
        }));
    }

    [Test]
    public void Landing_page_groups_beyond_the_largest_twenty_are_watched_together_as_other()
    {
        // 23 groups on day 0: /g00 has 100 sessions, /g01 99, …, /g22 78; the three smallest (/g20–/g22: 80 + 79 + 78 = 237
        // sessions, 3 orders) become "other".
        var rows = Enumerable.Range(0, 23).Select(g => new object?[] { new DateOnly(2024, 1, 1), $"/g{g:00}", 100.0 - g, 1.0, 0.0 }).ToList();
        var series = AlertsJob.LandingGroups(rows, _ => 0, 1).ToList();
        Assert.That(series.Select(s => s.Segment), Is.EqualTo(Enumerable.Range(0, 20).Select(g => $"/g{g:00}").Append("other")));
        var other = series[^1];
        Assert.That((other.Dimension, other.Figures["sessions"][0], other.Figures["orders"][0]), Is.EqualTo(("landing_page", 237.0, 3.0)));
    }

    [TestCase(1234567.89, "1234567.89")] // money from kpi/daily's DECIMAL(18,2): exact (a double → decimal cast would keep 15 digits)
    [TestCase(123456789012.34, "123456789012.34")]
    [TestCase(0.1 + 0.2, "0.3")] // 0.30000000000000004
    [TestCase(0.0142857142857, "0.014286")] // a ratio: 6 decimals
    [TestCase(5e-7, "0.000001")] // half away from zero
    [TestCase(-5e-7, "-0.000001")]
    [TestCase(4e-7, "0")]
    [TestCase(1.5e21, "1500000000000000000000")]
    public void Published_values_are_decimals_to_six_places(double value, string expected)
    {
        Assert.That(AlertsJob.Decimal6(value, "m"), Is.EqualTo(decimal.Parse(expected, CultureInfo.InvariantCulture)));
    }

    [Test]
    public void A_value_beyond_decimal_28_6_is_an_input_error()
    {
        var e = Assert.Throws<Pipeline.Core.PipelineException>(() => AlertsJob.Decimal6(2e22, "bytes"))!;
        Assert.That(e.Message, Does.Contain("metric 'bytes'").And.Contain("DECIMAL(28,6)"));
    }
}
