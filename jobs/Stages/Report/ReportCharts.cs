using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ScottPlot;

namespace Pipeline.Stages.Report;

/// <summary>
/// The report's charts, drawn by ScottPlot and returned as SVG markup ready to inline in HTML: without the XML
/// declaration and namespace URLs (the page must not reference any http(s) address), scalable (viewBox), and with
/// element ids made unique per chart (several inline SVGs share one document).
/// </summary>
internal static partial class ReportCharts
{
    private const string FontName = "DejaVu Sans";
    private static readonly Color TargetColor = Color.FromHex("#2e7d32");
    private static readonly Color BaselineColor = Color.FromHex("#9e9e9e");
    private static readonly Color MainColor = Color.FromHex("#3b6ea5");
    private static readonly Color SecondColor = Color.FromHex("#f28e2b");
    private static readonly Color AlertColor = Color.FromHex("#b3261e");

    /// <summary>Categorical colours (Tableau 10): channels, segments.</summary>
    public static readonly IReadOnlyList<string> Palette =
        ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

    private static int _counter;

    /// <summary>A KPI's daily values (dots), its rolling aggregate (line), target and baseline (dashed).</summary>
    public static string Trend(KpiTrend t)
    {
        var plot = NewPlot();
        var daily = t.Daily.Where(p => p.Value is not null).ToList();
        if (daily.Count > 0)
        {
            var dots = plot.Add.ScatterPoints(daily.Select(p => X(p.Date)).ToArray(), daily.Select(p => p.Value!.Value).ToArray());
            dots.Color = MainColor.WithAlpha(0.45);
            dots.MarkerSize = 4;
            dots.LegendText = "daily";
        }
        var rolling = t.Rolling.Where(p => p.Value is not null).ToList();
        if (rolling.Count > 1)
        {
            var line = plot.Add.ScatterLine(rolling.Select(p => X(p.Date)).ToArray(), rolling.Select(p => p.Value!.Value).ToArray());
            line.Color = MainColor;
            line.LineWidth = 2.5f;
            line.LegendText = $"{t.RollingDays}-day";
        }
        ReferenceLines(plot, t.Target, t.Baseline, t.Format);
        plot.Axes.DateTimeTicksBottom();
        if (plot.Axes.Bottom.TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic dates)
        {
            dates.LabelFormatter = d => d.ToString("MMM d", CultureInfo.InvariantCulture);
        }
        FormatY(plot, t.Format);
        if (t.Daily.Count > 0)
        {
            // Every trend spans the whole KPI period, so the charts line up even where a series starts late.
            plot.Axes.SetLimitsX(X(t.Daily[0].Date) - 0.5, X(t.Daily[^1].Date) + 0.5);
        }
        plot.Axes.SetLimitsY(0, TrendTop(t));
        plot.ShowLegend(Edge.Top);
        plot.Legend.Orientation = Orientation.Horizontal;
        return Svg(plot, 560, 270, t.Name + " trend");
    }

    /// <summary>
    /// The top of a trend's y axis: it shows the rolling line, the target and the baseline whole, and the daily values up to
    /// their 95th percentile (a few days with a handful of sessions must not squash the chart into its bottom edge);
    /// higher daily values sit above the axis (<see cref="DailyAboveAxis"/> counts them for the caption).
    /// </summary>
    public static double TrendTop(KpiTrend t)
    {
        var daily = t.Daily.Where(p => p.Value is not null).Select(p => p.Value!.Value).Order().ToList();
        var values = t.Rolling.Where(p => p.Value is not null).Select(p => p.Value!.Value)
            .Concat(new[] { t.Target, t.Baseline }.Where(v => v is not null).Select(v => v!.Value)).ToList();
        if (daily.Count > 0)
        {
            // Nearest-rank 95th percentile; with no rolling line, every daily value counts.
            values.Add(t.Rolling.Any(p => p.Value is not null) ? daily[Math.Max(0, (int)Math.Ceiling(0.95 * daily.Count) - 1)] : daily[^1]);
        }
        return values.Count == 0 ? 1 : Math.Max(values.Max() * 1.15, 1e-9);
    }

    /// <summary>How many daily values of a trend lie above its y axis (<see cref="TrendTop"/>).</summary>
    public static int DailyAboveAxis(KpiTrend t)
    {
        var top = TrendTop(t);
        return t.Daily.Count(p => p.Value is { } v && v > top);
    }

    /// <summary>
    /// An alerted series over its recent weeks (kpi/alert_bands): the band shaded between its low and high edges, the
    /// expected value as a line, the values as a line with dots, alerts (new, ongoing) as large red dots and known-event
    /// days outside the band as open circles.
    /// </summary>
    public static string AlertBand(AlertChart c)
    {
        var plot = NewPlot();
        var judged = c.Points.Where(p => p.Expected is not null && p.Low is not null && p.High is not null).ToList();
        if (judged.Count > 1)
        {
            var xs = judged.Select(p => X(p.Date)).ToArray();
            var band = plot.Add.FillY(xs, judged.Select(p => p.Low!.Value).ToArray(), judged.Select(p => p.High!.Value).ToArray());
            band.FillColor = MainColor.WithAlpha(0.18);
            band.LineWidth = 0;
            band.MarkerSize = 0;
            band.LegendText = "band";
            var expected = plot.Add.ScatterLine(xs, judged.Select(p => p.Expected!.Value).ToArray());
            expected.Color = BaselineColor;
            expected.LineWidth = 1.5f;
            expected.LegendText = "expected";
        }
        var values = c.Points.Where(p => p.Value is not null).ToList();
        if (values.Count > 0)
        {
            var line = plot.Add.Scatter(values.Select(p => X(p.Date)).ToArray(), values.Select(p => p.Value!.Value).ToArray());
            line.Color = MainColor;
            line.LineWidth = 2;
            line.MarkerSize = 4;
            line.LegendText = "value";
        }
        var alerts = c.Points.Where(p => p.Value is not null && p.Status is "new" or "ongoing").ToList();
        if (alerts.Count > 0)
        {
            var dots = plot.Add.ScatterPoints(alerts.Select(p => X(p.Date)).ToArray(), alerts.Select(p => p.Value!.Value).ToArray());
            dots.Color = AlertColor;
            dots.MarkerSize = 10;
            dots.LegendText = "alert";
        }
        var known = c.Points.Where(p => p.Value is not null && p.Status == "expected").ToList();
        if (known.Count > 0)
        {
            var open = plot.Add.ScatterPoints(known.Select(p => X(p.Date)).ToArray(), known.Select(p => p.Value!.Value).ToArray());
            open.Color = AlertColor;
            open.MarkerShape = MarkerShape.OpenCircle;
            open.MarkerSize = 10;
            open.LegendText = "known event";
        }
        plot.Axes.DateTimeTicksBottom();
        if (plot.Axes.Bottom.TickGenerator is ScottPlot.TickGenerators.DateTimeAutomatic dates)
        {
            dates.LabelFormatter = d => d.ToString("MMM d", CultureInfo.InvariantCulture);
        }
        if (c.Format == ValueFormat.Number)
        {
            // Any metric of a metrics file: small numbers keep their decimals (0.015, not 0.02).
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v.ToString("#,0.######", CultureInfo.InvariantCulture) };
        }
        else
        {
            FormatY(plot, c.Format);
        }
        if (c.Points.Count > 0)
        {
            plot.Axes.SetLimitsX(X(c.Points[0].Date) - 0.5, X(c.Points[^1].Date) + 0.5);
        }
        plot.ShowLegend(Edge.Top);
        plot.Legend.Orientation = Orientation.Horizontal;
        return Svg(plot, 560, 270, c.Title + ": value, expected and band");
    }

    /// <summary>Sessions per period, stacked by channel; partial periods (fewer days of data than the period has) lighter, labelled with their days.</summary>
    public static string ChannelMix(ChannelSection c)
    {
        var plot = NewPlot();
        var bars = new List<Bar>();
        for (var i = 0; i < c.Periods.Count; i++)
        {
            double stack = 0;
            for (var k = 0; k < c.ChannelOrder.Count; k++)
            {
                var n = c.Periods[i].SessionsByChannel.GetValueOrDefault(c.ChannelOrder[k]);
                if (n == 0)
                {
                    continue;
                }
                var partial = c.Periods[i].IsPartial;
                bars.Add(new Bar { Position = i, ValueBase = stack, Value = stack + n, FillColor = partial ? ChannelColor(k).WithAlpha(0.35) : ChannelColor(k), LineWidth = partial ? 1 : 0,
                    LineColor = ChannelColor(k), Size = 0.8 });
                stack += n;
            }
            if (c.Periods[i].IsPartial && bars.Count > 0 && bars[^1].Position == i)
            {
                bars[^1].Label = $"{c.Periods[i].Days}/{c.Periods[i].PeriodDays} d";
            }
        }
        var plottable = plot.Add.Bars(bars);
        plottable.ValueLabelStyle.FontSize = 11;
        PeriodTicks(plot, c.Periods.Select(p => p.PeriodStart).ToList(), c.PeriodName);
        plot.Axes.Margins(bottom: 0, top: 0.12);
        plot.Axes.Left.Label.Text = "sessions";
        return Svg(plot, 560, 300, "Sessions per " + c.PeriodName + " by channel");
    }

    /// <summary>Natural traffic share per period, with target and baseline.</summary>
    public static string NaturalShare(ChannelSection c)
    {
        var plot = NewPlot();
        var points = c.Periods.Select((p, i) => (i, p.NaturalShare)).Where(p => p.NaturalShare is not null).ToList();
        if (points.Count > 0)
        {
            var s = plot.Add.Scatter(points.Select(p => (double)p.i).ToArray(), points.Select(p => p.NaturalShare!.Value).ToArray());
            s.Color = Color.FromHex(Palette[2]);
            s.LineWidth = 2.5f;
            s.MarkerSize = 6;
            s.LegendText = "natural share";
        }
        ReferenceLines(plot, c.NaturalTarget, c.NaturalBaseline, ValueFormat.Percent);
        PeriodTicks(plot, c.Periods.Select(p => p.PeriodStart).ToList(), c.PeriodName);
        FormatY(plot, ValueFormat.Percent);
        var max = points.Select(p => p.NaturalShare!.Value).Append(c.NaturalTarget).Max();
        plot.Axes.SetLimitsY(0, Math.Min(1, max * 1.2));
        plot.ShowLegend(Edge.Top);
        plot.Legend.Orientation = Orientation.Horizontal;
        return Svg(plot, 560, 300, "Natural traffic share per " + c.PeriodName);
    }

    /// <summary>The funnel as horizontal bars, top step at the top.</summary>
    public static string Funnel(FunnelSection f)
    {
        var plot = NewPlot();
        var n = f.Steps.Count;
        var bars = f.Steps.Select((s, i) => new Bar
        {
            Position = n - 1 - i,
            Value = s.Sessions,
            FillColor = Color.FromHex(Palette[0]).WithAlpha(1 - 0.12 * i),
            LineWidth = 0,
            Label = s.Sessions.ToString("N0", CultureInfo.InvariantCulture) + (s.FromPrevious is { } r ? $"  ({r.ToString("0.0%", CultureInfo.InvariantCulture)} of previous)" : ""),
            Size = 0.7,
        }).ToList();
        var plottable = plot.Add.Bars(bars);
        plottable.Horizontal = true;
        plottable.ValueLabelStyle.FontSize = 12;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < n; i++)
        {
            ticks.AddMajor(n - 1 - i, f.Steps[i].Name);
        }
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.Margins(left: 0, right: 0.45);
        plot.Axes.Bottom.Label.Text = "sessions";
        return Svg(plot, 640, 280, "Funnel");
    }

    /// <summary>Customer share and revenue share per segment (RFM or k-means), side by side.</summary>
    public static string Shares(IReadOnlyList<(string Name, double CustomerShare, double? RevenueShare)> rows, string title)
    {
        var plot = NewPlot();
        var n = rows.Count;
        var bars = new List<Bar>();
        for (var i = 0; i < n; i++)
        {
            var y = n - 1 - i;
            bars.Add(new Bar { Position = y + 0.2, Value = rows[i].CustomerShare, FillColor = MainColor, LineWidth = 0, Size = 0.38 });
            bars.Add(new Bar { Position = y - 0.2, Value = rows[i].RevenueShare ?? 0, FillColor = SecondColor, LineWidth = 0, Size = 0.38 });
        }
        var plottable = plot.Add.Bars(bars);
        plottable.Horizontal = true;
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < n; i++)
        {
            ticks.AddMajor(n - 1 - i, rows[i].Name);
        }
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => v.ToString("0%", CultureInfo.InvariantCulture) };
        plot.Axes.Margins(left: 0);
        // The legend is HTML under the chart (ReportHtml), never over the bars.
        plot.Axes.Margins(left: 0, right: 0.08);
        return Svg(plot, 560, Math.Max(220, 40 + 34 * n), title);
    }

    /// <summary>The CLV histogram.</summary>
    public static string Histogram(IReadOnlyList<HistogramBin> bins, int horizonDays, string currency)
    {
        var plot = NewPlot();
        var bars = bins.Select(b => new Bar { Position = (b.From + b.To) / 2, Value = b.Count, Size = (b.To - b.From) * 0.95, FillColor = MainColor, LineWidth = 0 }).ToList();
        plot.Add.Bars(bars);
        plot.Axes.Margins(bottom: 0);
        plot.Axes.Bottom.Label.Text = $"CLV over {horizonDays} days ({currency}; the last bar includes the top 1%)";
        plot.Axes.Left.Label.Text = "customers";
        return Svg(plot, 560, 280, "CLV distribution");
    }

    /// <summary>The backtest: mean actual vs predicted holdout purchases per calibration-frequency bucket.</summary>
    public static string Backtest(IReadOnlyList<BacktestBucket> buckets)
    {
        var plot = NewPlot();
        var xs = buckets.Select((_, i) => (double)i).ToArray();
        var actual = plot.Add.Scatter(xs, buckets.Select(b => b.MeanActual).ToArray());
        actual.Color = MainColor;
        actual.LineWidth = 2.5f;
        actual.MarkerSize = 7;
        actual.LegendText = "actual";
        var predicted = plot.Add.Scatter(xs, buckets.Select(b => b.MeanPredicted).ToArray());
        predicted.Color = SecondColor;
        predicted.LineWidth = 2.5f;
        predicted.MarkerSize = 7;
        predicted.MarkerShape = MarkerShape.OpenCircle;
        predicted.LegendText = "predicted (BG/NBD)";
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (var i = 0; i < buckets.Count; i++)
        {
            ticks.AddMajor(i, buckets[i].Bucket);
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Bottom.Label.Text = "purchases in the calibration period (repeat)";
        plot.Axes.Left.Label.Text = "mean holdout purchases";
        plot.Axes.SetLimitsY(0, Math.Max(buckets.Select(b => Math.Max(b.MeanActual, b.MeanPredicted)).DefaultIfEmpty(1).Max() * 1.15, 0.1));
        plot.ShowLegend(Edge.Top);
        plot.Legend.Orientation = Orientation.Horizontal;
        return Svg(plot, 560, 290, "Backtest: predicted vs actual purchases");
    }

    /// <summary>Cumulative revenue per customer by months since first order, one line per cohort (latest cohorts).</summary>
    public static string CohortRevenue(CohortSection c, int maxCohorts)
    {
        var plot = NewPlot();
        var cohorts = c.Cohorts.TakeLast(maxCohorts).ToList();
        for (var k = 0; k < cohorts.Count; k++)
        {
            var cells = c.Cells.Where(x => x.CohortMonth == cohorts[k] && x.CumulativeRevenuePerCustomer is not null).OrderBy(x => x.MonthsSinceFirst).ToList();
            if (cells.Count == 0)
            {
                continue;
            }
            var s = plot.Add.Scatter(cells.Select(x => (double)x.MonthsSinceFirst).ToArray(), cells.Select(x => x.CumulativeRevenuePerCustomer!.Value).ToArray());
            s.Color = ChannelColor(k);
            s.LineWidth = 2;
            s.MarkerSize = 5;
            s.LegendText = cohorts[k].ToString("yyyy-MM", CultureInfo.InvariantCulture);
        }
        plot.Axes.Bottom.Label.Text = "months since first order";
        plot.Axes.Left.Label.Text = "revenue per customer";
        plot.Axes.Margins(bottom: 0);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.ShowLegend(Edge.Right);
        return Svg(plot, 560, 290, "Cumulative revenue per customer by cohort");
    }

    /// <summary>Quarantined, duplicate and bot shares of the rows read, per cleaning run.</summary>
    public static string QualityTrend(IReadOnlyList<StageQuality> runs)
    {
        var plot = NewPlot();
        var stages = runs.Select(r => r.Stage).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        // No dashed lines: Skia's SVG backend cannot draw them (and says so on stdout). Measures differ by marker and width.
        var measures = new (string Name, Func<StageQuality, double?> Value, MarkerShape Marker, float Width)[]
        {
            ("quarantined", r => r.QuarantinedShare, MarkerShape.FilledCircle, 2.5f),
            ("duplicates", r => r.DuplicateShare, MarkerShape.OpenSquare, 1.5f),
            ("bots", r => r.BotShare, MarkerShape.FilledTriangleUp, 1f),
        };
        // x = the run's position among the cleaning runs shown (oldest first), labelled with its start time.
        var starts = runs.Select(r => r.StartedAt).Distinct().Order().ToList();
        var order = runs.ToDictionary(r => r, r => starts.IndexOf(r.StartedAt));
        double max = 0;
        for (var k = 0; k < stages.Count; k++)
        {
            var rows = runs.Where(r => r.Stage == stages[k]).OrderBy(r => r.StartedAt).ToList();
            foreach (var (name, value, marker, width) in measures)
            {
                var points = rows.Where(r => value(r) is not null).ToList();
                if (points.Count == 0 || (name == "bots" && points.All(r => r.Bots == 0)))
                {
                    continue;
                }
                var ys = points.Select(r => value(r)!.Value).ToArray();
                max = Math.Max(max, ys.Max());
                var s = plot.Add.Scatter(points.Select(r => (double)order[r]).ToArray(), ys);
                s.Color = ChannelColor(k);
                s.LineWidth = width;
                s.MarkerSize = 7;
                s.MarkerShape = marker;
                s.LegendText = $"{stages[k]}: {name}";
            }
        }
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        var step = Math.Max(1, (int)Math.Ceiling(starts.Count / 8.0));
        var labels = RunLabels(starts);
        for (var i = 0; i < starts.Count; i += step)
        {
            ticks.AddMajor(i, labels[i]);
        }
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Bottom.Label.Text = "cleaning runs (UTC start)";
        plot.Axes.SetLimitsX(-0.5, Math.Max(starts.Count - 0.5, 0.5));
        FormatY(plot, ValueFormat.Percent);
        plot.Axes.SetLimitsY(0, Math.Max(max * 1.2, 0.01));
        plot.ShowLegend(Edge.Right);
        return Svg(plot, 1100, 300, "Data-quality trend over recent runs");
    }

    /// <summary>
    /// Distinct labels for run start times: "MMM d HH:mm", with seconds where two runs share a minute, and a "#n" suffix
    /// where they share a second.
    /// </summary>
    public static IReadOnlyList<string> RunLabels(IReadOnlyList<DateTimeOffset> starts)
    {
        string Minute(DateTimeOffset d) => d.UtcDateTime.ToString("MMM d HH:mm", CultureInfo.InvariantCulture);
        var clash = starts.GroupBy(Minute).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
        var labels = starts.Select(d => clash.Contains(Minute(d)) ? d.UtcDateTime.ToString("MMM d HH:mm:ss", CultureInfo.InvariantCulture) : Minute(d)).ToList();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var total = labels.GroupBy(l => l, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            if (total[labels[i]] > 1)
            {
                var n = seen[labels[i]] = seen.GetValueOrDefault(labels[i]) + 1;
                labels[i] += " #" + n.ToString(CultureInfo.InvariantCulture);
            }
        }
        return labels;
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /// <summary>The colours of the two bars of <see cref="Shares"/>, for the HTML legend.</summary>
    public static readonly (string Label, string Colour)[] SharesLegend = [("share of customers", "#3b6ea5"), ("share of revenue", "#f28e2b")];

    private static Color ChannelColor(int k) => Color.FromHex(Palette[k % Palette.Count]);

    private static double X(DateOnly d) => d.ToDateTime(TimeOnly.MinValue).ToOADate();

    private static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Axes.Color(Color.FromHex("#555555"));
        plot.Grid.MajorLineColor = Color.FromHex("#e6e6e6");
        plot.Legend.FontName = FontName;
        plot.Legend.FontSize = 11;
        plot.Legend.OutlineColor = Color.FromHex("#dddddd");
        plot.Legend.ShadowColor = Colors.Transparent;
        return plot;
    }

    private static void ReferenceLines(Plot plot, double? target, double? baseline, ValueFormat format)
    {
        if (baseline is { } b)
        {
            var line = plot.Add.HorizontalLine(b);
            line.Color = BaselineColor;
            line.LineWidth = 1.5f;
            line.LegendText = "baseline " + Format(b, format);
        }
        if (target is { } t)
        {
            var line = plot.Add.HorizontalLine(t);
            line.Color = TargetColor;
            line.LineWidth = 2;
            line.LegendText = "target " + Format(t, format);
        }
    }

    private static void FormatY(Plot plot, ValueFormat format) =>
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Format(v, format) };

    private static string Format(double v, ValueFormat format) => format switch
    {
        ValueFormat.Percent => v.ToString(Math.Abs(v) < 0.1 && v != 0 ? "0.0#%" : "0%", CultureInfo.InvariantCulture),
        ValueFormat.Money => v.ToString("#,0.##", CultureInfo.InvariantCulture),
        _ => v.ToString("#,0.##", CultureInfo.InvariantCulture),
    };

    private static void PeriodTicks(Plot plot, IReadOnlyList<DateOnly> periods, string periodName)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        var step = Math.Max(1, (int)Math.Ceiling(periods.Count / 6.0));
        for (var i = 0; i < periods.Count; i += step)
        {
            ticks.AddMajor(i, periods[i].ToString(periodName == "month" ? "yyyy-MM" : "MMM d", CultureInfo.InvariantCulture));
        }
        plot.Axes.Bottom.TickGenerator = ticks;
    }

    /// <summary>Renders the plot to SVG and makes it safe and scalable to inline.</summary>
    private static string Svg(Plot plot, int width, int height, string title)
    {
        var svg = plot.GetSvgXml(width, height);
        var prefix = "c" + Interlocked.Increment(ref _counter).ToString(CultureInfo.InvariantCulture) + "_";
        svg = XmlDeclaration().Replace(svg, "");
        svg = Namespace().Replace(svg, "");
        svg = svg.Replace("id=\"", "id=\"" + prefix, StringComparison.Ordinal)
            .Replace("url(#", "url(#" + prefix, StringComparison.Ordinal)
            .Replace("href=\"#", "href=\"#" + prefix, StringComparison.Ordinal);
        var open = RootSize().Match(svg);
        if (open.Success)
        {
            svg = svg[..open.Index] + $"<svg viewBox=\"0 0 {width} {height}\" class=\"chart\" style=\"max-width:{width}px\" role=\"img\" aria-label=\"{WebUtility.HtmlEncode(title)}\">" +
                  svg[(open.Index + open.Length)..];
        }
        return svg.Trim();
    }

    [GeneratedRegex(@"<\?xml[^>]*\?>\s*")]
    private static partial Regex XmlDeclaration();

    [GeneratedRegex(@"\s+xmlns(:\w+)?=""[^""]*""")]
    private static partial Regex Namespace();

    [GeneratedRegex(@"<svg\b[^>]*>")]
    private static partial Regex RootSize();
}
