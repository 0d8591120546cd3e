using System.Globalization;
using System.Text;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Models.Alerts;
using Pipeline.Stages.Report;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Report;

/// <summary>
/// The banner's charts: <c>pipeline alerts --metrics</c> on a hand-built table publishes kpi/alert_bands for the
/// alerted series only, and the report draws one chart for it whose band is the detector's (hand-computed here).
/// </summary>
public sealed class ReportAlertChartsTests
{
    private static readonly DateOnly First = new(2024, 1, 1);

    [Test]
    public void An_alerted_metric_gets_a_chart_with_the_detectors_band_and_the_others_none()
    {
        var dir = TestPaths.NewTempDir("alert-charts");
        try
        {
            // 70 days: visits follow the weekly pattern 10, 20, …, 70 exactly (day i: 10 × (i mod 7 + 1)), except day 69
            // (pattern 70) at 20; refunds are a constant 5. A perfect pattern: every week's level 40, no slope, weekday
            // effects exact, residuals 0, so expected = the pattern and the scale is the 2% floor: band = pattern ∓ 4 ×
            // 0.02 × pattern. Day 69: expected 70, band 64.4 … 75.6, value 20 → alert. Days 0–41 lack 6 weeks of
            // history: not judged.
            double Visits(int i) => i == 69 ? 20 : 10 * (i % 7 + 1);
            var csv = Path.Combine(dir, "metrics.csv");
            File.WriteAllLines(csv, new[] { "date,visits,refunds" }.Concat(Enumerable.Range(0, 70).Select(i =>
                $"{First.AddDays(i):yyyy-MM-dd},{Visits(i).ToString(CultureInfo.InvariantCulture)},5")));
            var output = Path.Combine(dir, "out");
            var run = PipelineCli.Run("alerts", "--metrics", csv, "--output", output, "--quiet");
            Assert.That(run.ExitCode, Is.Zero, run.ToString());

            var bands = ParquetTable.Read(Path.Combine(output, "kpi", "alert_bands"));
            Assert.That(bands.Select(r => r["metric"]).Distinct(), Is.EqualTo(new[] { "visits" }), "only the alerted series has bands");
            Assert.That(bands, Has.Count.EqualTo(56), "its last 8 weeks");

            using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
            var banner = ReportAlerts.Load(engine, output, First.AddDays(69))!;
            Assert.That(banner.Alerts.Select(a => a.Metric), Is.EqualTo(new[] { "visits" }));
            Assert.That(banner.Charts, Has.Count.EqualTo(1));
            var chart = banner.Charts[0];
            Assert.That((chart.Metric, chart.Dimension, chart.DimensionValue), Is.EqualTo(("visits", "overall", "all")));
            Assert.That(chart.Points.Select(p => p.Date), Is.EqualTo(Enumerable.Range(14, 56).Select(i => First.AddDays(i))));

            // Hand-computed: every day's value; expected and band from day 42 on; the alert on day 69.
            foreach (var p in chart.Points)
            {
                var i = p.Date.DayNumber - First.DayNumber;
                Assert.That(p.Value, Is.EqualTo(Visits(i)), $"day {i}");
                if (i < 42)
                {
                    Assert.That((p.Expected, p.Low, p.High, p.Status), Is.EqualTo(((double?)null, (double?)null, (double?)null, (string?)null)), $"day {i}");
                    continue;
                }
                var pattern = 10.0 * (i % 7 + 1);
                Assert.That(p.Expected, Is.EqualTo(pattern).Within(1e-9), $"day {i}");
                Assert.That(p.Low, Is.EqualTo(pattern - 4 * 0.02 * pattern).Within(1e-6), $"day {i}");
                Assert.That(p.High, Is.EqualTo(pattern + 4 * 0.02 * pattern).Within(1e-6), $"day {i}");
                Assert.That(p.Status, Is.EqualTo(i == 69 ? "new" : null), $"day {i}");
            }
            // … and the detector's own band on the same series, rounded to 6 decimals like the table.
            var options = new DetectorOptions();
            var assessments = AnomalyDetector.Assess(First, Enumerable.Range(0, 70).Select(Visits).ToArray(), SeriesKind.Amount, options);
            foreach (var p in chart.Points.Where(p => p.Expected is not null))
            {
                var (low, high) = AnomalyDetector.Band(assessments[p.Date.DayNumber - First.DayNumber], options);
                Assert.That((p.Low, p.High), Is.EqualTo(((double?)Math.Round(low, 6), (double?)Math.Round(high, 6))), p.Date.ToString());
            }

            var html = new StringBuilder();
            ReportAlerts.Banner(html, banner);
            var page = html.ToString();
            Assert.That(page, Does.Contain("<figure data-chart=\"alert-visits-overall-all\""));
            Assert.That(page.Split("<svg").Length - 1, Is.EqualTo(1), "one chart");
            Assert.That(page, Does.Not.Contain("alert-refunds"));
            Assert.That(page, Does.Contain("aria-label=\"visits: value, expected and band\""));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void At_most_six_charts_in_the_banners_order()
    {
        var day = First.AddDays(69);
        var alerts = Enumerable.Range(0, 8).Select(k => new BannerAlert($"m{k}", "overall", "all", "warning", "new", 5 - (0.1 * k), $"m{k} moved")).ToList();
        var points = new[] { new AlertBandPoint(day.AddDays(-1), 1, 1, 0.9, 1.1, null), new AlertBandPoint(day, 2, 1, 0.9, 1.1, "new") };
        var banner = new AlertBanner(day, alerts) { Charts = alerts.Take(ReportAlerts.MaxCharts).Select(a => new AlertChart(a.Metric, a.Dimension, a.DimensionValue, points)).ToList() };
        var html = new StringBuilder();
        ReportAlerts.Banner(html, banner);
        var figures = System.Text.RegularExpressions.Regex.Matches(html.ToString(), "data-chart=\"alert-(m\\d)-").Select(m => m.Groups[1].Value);
        Assert.That(figures, Is.EqualTo(new[] { "m0", "m1", "m2", "m3", "m4", "m5" }));
    }
}
