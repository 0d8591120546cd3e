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
public sealed record AlertBanner(DateOnly Day, IReadOnlyList<BannerAlert> Alerts);

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
}

/// <summary>Loads and renders the alerts banner; kept apart from the report's sections (a hook in ReportData and ReportHtml).</summary>
public static class ReportAlerts
{
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
        return new AlertBanner(day, alerts
            .OrderBy(a => a.Severity == "critical" ? 0 : 1)
            .ThenByDescending(a => Math.Abs(a.Score))
            .ThenBy(a => a.Metric, StringComparer.Ordinal).ThenBy(a => a.Dimension, StringComparer.Ordinal).ThenBy(a => a.DimensionValue, StringComparer.Ordinal)
            .ToList());
    }

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
        h.Append("</ul>\n<p class=\"note\">From <code>kpi/alerts</code> (<code>pipeline alerts</code>): each day is compared with what its weekday and the trend of the previous weeks lead to expect.</p>\n</aside>\n");
    }
}
