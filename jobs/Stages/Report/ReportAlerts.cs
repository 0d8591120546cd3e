using System.Globalization;
using System.Net;
using System.Text;
using Pipeline.Engine;
using Pipeline.Publishing;

namespace Pipeline.Stages.Report;

/// <summary>One alert of the last day, as the banner says it.</summary>
public sealed record BannerAlert(string Metric, string Dimension, string DimensionValue, string Severity, string Status, double Score, string Explanation);

/// <summary>The banner at the top of the report: the last day's alerts of kpi/alerts (known events left out).</summary>
/// <param name="Day">The last KPI date.</param>
/// <param name="Alerts">Critical first, then by |score|.</param>
public sealed record AlertBanner(DateOnly Day, IReadOnlyList<BannerAlert> Alerts)
{
    /// <summary>One chart per alerted series (in the order of <see cref="Alerts"/>, at most <see cref="ReportAlerts.MaxCharts"/>), from kpi/alert_bands.</summary>
    public IReadOnlyList<AlertChart> Charts { get; init; } = [];
}

/// <summary>One day of an alerted series as kpi/alert_bands holds it (null where the day has no value or was not judged).</summary>
public sealed record AlertBandPoint(DateOnly Date, double? Value, double? Expected, double? Low, double? High, string? Status);

/// <summary>An alerted series' recent weeks: the chart of the banner.</summary>
public sealed record AlertChart(string Metric, string Dimension, string DimensionValue, IReadOnlyList<AlertBandPoint> Points)
{
    /// <summary>"conversion_rate", "conversion_rate, device mobile".</summary>
    public string Title => Dimension == "overall" ? Metric : $"{Metric}, {Dimension} {DimensionValue}";

    /// <summary>How the axis shows the metric: rates as percentages, amounts in the base currency.</summary>
    public ValueFormat Format => Metric switch
    {
        "conversion_rate" or "natural_traffic_share" or "acos" or "bot_share" or "quarantine_share" => ValueFormat.Percent,
        "revenue" or "aov" or "ad_spend" => ValueFormat.Money,
        _ => ValueFormat.Number,
    };
}

/// <summary>The query of the banner.</summary>
public static class ReportAlertsSql
{
    /// <summary>Every alert (not a known event) of kpi/alerts, newest first.</summary>
    public static string Alerts(ISqlDialect d, string alertsRelation) => $"""
        SELECT alert_date, metric, dimension, dimension_value, severity, status, score, explanation
        FROM {alertsRelation}
        WHERE status <> {d.Str("expected")}
        ORDER BY alert_date DESC NULLS LAST, metric NULLS LAST, dimension NULLS LAST, dimension_value NULLS LAST
        """;

    /// <summary>kpi/alert_bands, every series day by day (amounts as DOUBLE: they are drawn, not added).</summary>
    public static string Bands(ISqlDialect d, string bandsRelation) => $"""
        SELECT metric, dimension, dimension_value, band_date, CAST(value AS DOUBLE) AS value, CAST(expected AS DOUBLE) AS expected,
               CAST(band_low AS DOUBLE) AS band_low, CAST(band_high AS DOUBLE) AS band_high, status
        FROM {bandsRelation}
        ORDER BY metric NULLS LAST, dimension NULLS LAST, dimension_value NULLS LAST, band_date NULLS LAST
        """;
}

/// <summary>Loads and renders the alerts banner; kept apart from the report's sections (a hook in ReportData and ReportHtml).</summary>
public static class ReportAlerts
{
    /// <summary>At most this many charts under the banner (the first alerted series in the banner's order).</summary>
    public const int MaxCharts = 6;

    /// <summary>The banner for <paramref name="lastDay"/>, or null when there is no kpi/alerts table or no KPI day.</summary>
    public static AlertBanner? Load(IEngine engine, string root, DateOnly? lastDay)
    {
        var dir = Path.Combine(root, TableNames.KpiAlerts);
        if (lastDay is not { } day || !OutputStore.HasParquet(dir))
        {
            return null;
        }
        var alerts = new List<BannerAlert>();
        foreach (var r in engine.Query(ReportAlertsSql.Alerts(engine.Dialect, engine.ParquetRelation(dir))))
        {
            var date = r[0] switch
            {
                DateOnly d => d,
                DateTime dt => DateOnly.FromDateTime(dt),
                var v => DateOnly.Parse(Convert.ToString(v, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
            };
            if (date != day)
            {
                continue;
            }
            alerts.Add(new BannerAlert((string)r[1]!, (string)r[2]!, (string)r[3]!, (string)r[4]!, (string)r[5]!,
                Convert.ToDouble(r[6], CultureInfo.InvariantCulture), (string)r[7]!));
        }
        var ordered = alerts
            .OrderBy(a => a.Severity == "critical" ? 0 : 1)
            .ThenByDescending(a => Math.Abs(a.Score))
            .ThenBy(a => a.Metric, StringComparer.Ordinal).ThenBy(a => a.Dimension, StringComparer.Ordinal).ThenBy(a => a.DimensionValue, StringComparer.Ordinal)
            .ToList();
        return new AlertBanner(day, ordered) { Charts = LoadCharts(engine, root, ordered) };
    }

    /// <summary>
    /// The charts of the banner's series (its order, at most <see cref="MaxCharts"/>), from kpi/alert_bands; none without
    /// that table (published by the alerts stage of this version on).
    /// </summary>
    private static List<AlertChart> LoadCharts(IEngine engine, string root, IReadOnlyList<BannerAlert> alerts)
    {
        var dir = Path.Combine(root, TableNames.KpiAlertBands);
        var wanted = alerts.Select(a => (a.Metric, a.Dimension, a.DimensionValue)).Distinct().Take(MaxCharts).ToList();
        if (wanted.Count == 0 || !OutputStore.HasParquet(dir))
        {
            return [];
        }
        var points = new Dictionary<(string, string, string), List<AlertBandPoint>>();
        foreach (var r in engine.Query(ReportAlertsSql.Bands(engine.Dialect, engine.ParquetRelation(dir))))
        {
            var key = ((string)r[0]!, (string)r[1]!, (string)r[2]!);
            if (!wanted.Contains(key))
            {
                continue;
            }
            if (!points.TryGetValue(key, out var list))
            {
                points[key] = list = [];
            }
            list.Add(new AlertBandPoint(AsDate(r[3]), Number(r[4]), Number(r[5]), Number(r[6]), Number(r[7]), r[8] as string));
        }
        return wanted.Where(points.ContainsKey).Select(k => new AlertChart(k.Metric, k.Dimension, k.DimensionValue, points[k])).ToList();
    }

    private static double? Number(object? v) => v is null ? null : Convert.ToDouble(v, CultureInfo.InvariantCulture);

    private static DateOnly AsDate(object? v) => v switch
    {
        DateOnly d => d,
        DateTime dt => DateOnly.FromDateTime(dt),
        _ => DateOnly.Parse(Convert.ToString(v, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
    };

    /// <summary>The banner's HTML (nothing without a kpi/alerts table): the last day's alerts in plain words, or that there are none.</summary>
    public static void Banner(StringBuilder h, AlertBanner? banner)
    {
        if (banner is null)
        {
            return;
        }
        var day = banner.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        if (banner.Alerts.Count == 0)
        {
            h.Append("<aside id=\"alerts\" class=\"alerts none\"><p>No KPI alert on ").Append(day).Append(".</p></aside>\n");
            return;
        }
        var critical = banner.Alerts.Count(a => a.Severity == "critical");
        // A banner above the sections (an aside, not a section of data): role=alert so screen readers announce it.
        h.Append("<aside id=\"alerts\" class=\"alerts\" role=\"alert\" style=\"border:2px solid #b3261e;border-radius:8px;padding:8px 16px;margin:16px 0;background:#fdecea\">\n<h2>")
            .Append(banner.Alerts.Count).Append(banner.Alerts.Count == 1 ? " KPI alert" : " KPI alerts").Append(" on ").Append(day);
        if (critical > 0)
        {
            h.Append(" (").Append(critical).Append(" critical)");
        }
        h.Append("</h2>\n<ul>\n");
        foreach (var a in banner.Alerts)
        {
            h.Append("<li><b>").Append(a.Severity == "critical" ? "Critical" : "Warning").Append("</b>")
                .Append(a.Status == "ongoing" ? " (ongoing)" : " (new)").Append(": ")
                .Append(WebUtility.HtmlEncode(a.Explanation)).Append("</li>\n");
        }
        h.Append("</ul>\n");
        if (banner.Charts.Count > 0)
        {
            h.Append("<div class=\"charts\">\n");
            foreach (var c in banner.Charts)
            {
                var key = $"alert-{c.Metric}-{c.Dimension}-{c.DimensionValue}";
                h.Append("<figure data-chart=\"").Append(WebUtility.HtmlEncode(key)).Append("\" style=\"background:#fff;border-radius:6px\">")
                    .Append(ReportCharts.AlertBand(c))
                    .Append("<figcaption>").Append(WebUtility.HtmlEncode(c.Title))
                    .Append(": the last 8 weeks, expected value (line) and band (shaded), alerts marked</figcaption></figure>\n");
            }
            h.Append("</div>\n");
        }
        h.Append("<p class=\"note\">From <code>kpi/alerts</code> (<code>pipeline alerts</code>): each day is compared with what its weekday and the trend of the previous weeks lead to expect.</p>\n</aside>\n");
    }
}
