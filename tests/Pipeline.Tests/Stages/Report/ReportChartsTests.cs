using NUnit.Framework;
using Pipeline.Stages.Report;

namespace Pipeline.Tests.Stages.Report;

/// <summary>Axis ranges and labels of the report's charts, on hand-made series.</summary>
public class ReportChartsTests
{
    private static KpiTrend Conversion(IEnumerable<double?> daily, IEnumerable<double?> rolling) =>
        new("conversion_rate", "Conversion rate", ValueFormat.Percent,
            daily.Select((v, i) => new DatedValue(new DateOnly(2024, 1, 1).AddDays(i), v)).ToList(),
            rolling.Select((v, i) => new DatedValue(new DateOnly(2024, 1, 1).AddDays(i), v)).ToList(), 7, 0.028, 0.015);

    [Test]
    public void A_conversion_trend_near_one_and_a_half_percent_is_not_drawn_on_a_zero_to_hundred_axis()
    {
        // 40 days at 1.2%..1.8% and one day with 1 order in 1 session (100%): the axis must show the data and the 2.8% target.
        var daily = Enumerable.Range(0, 40).Select(i => (double?)(0.012 + 0.006 * (i % 7) / 6.0)).Append(1.0).ToList();
        var rolling = daily.Select(_ => (double?)0.0155).ToList();
        var t = Conversion(daily, rolling);
        var top = ReportCharts.TrendTop(t);
        Assert.Multiple(() =>
        {
            Assert.That(top, Is.GreaterThanOrEqualTo(0.028), "the target line is inside the chart");
            Assert.That(top, Is.LessThan(0.05), "the axis is not stretched by one tiny day");
            Assert.That(ReportCharts.DailyAboveAxis(t), Is.EqualTo(1), "the one day off the axis is counted for the caption");
        });
    }

    [Test]
    public void Without_a_rolling_line_every_daily_value_is_inside_the_axis()
    {
        var t = Conversion([0.30, 0.31, 0.60], []);
        Assert.That(ReportCharts.TrendTop(t), Is.EqualTo(0.60 * 1.15).Within(1e-12));
        Assert.That(ReportCharts.DailyAboveAxis(t), Is.Zero);
    }

    [Test]
    public void Run_labels_are_distinct_when_runs_share_a_minute_or_a_second()
    {
        var t0 = new DateTimeOffset(2024, 12, 2, 19, 28, 5, TimeSpan.Zero);
        var labels = ReportCharts.RunLabels([t0.AddDays(-1), t0, t0.AddSeconds(40), t0.AddSeconds(40).AddMilliseconds(300)]);
        Assert.That(labels, Is.EqualTo(new[] { "Dec 1 19:28", "Dec 2 19:28:05", "Dec 2 19:28:45 #1", "Dec 2 19:28:45 #2" }));
    }
}
