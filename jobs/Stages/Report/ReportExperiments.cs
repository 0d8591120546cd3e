using System.Globalization;
using System.Text;
using Pipeline.Engine;
using Pipeline.Publishing;

namespace Pipeline.Stages.Report;

/// <summary>
/// The report's A/B-test section, from experiments/summary and experiments/results: per experiment its health in plain
/// words and a chart of each treatment's relative uplift with its interval, per metric. An experiment with a
/// sample-ratio mismatch says "Do not trust this result" before any number. Kept in its own file: ReportData and
/// ReportHtml only call <see cref="Load"/> and <see cref="Html"/>. Nothing is rendered when there are no experiments.
/// </summary>
public static class ReportExperiments
{
    /// <summary>One treatment's uplift on one metric.</summary>
    public sealed record Uplift(string Variant, string Metric, double Value, double ControlValue, double? Rel, double? Lo, double? Hi, double? Chance, bool? Significant, bool HigherIsBetter);

    /// <summary>One experiment as the report shows it.</summary>
    public sealed record Experiment(string Id, string Status, string Start, string End, string Control, long Units, long Excluded,
        string ExpectedSplit, string ObservedSplit, double SrmP, bool IsSrm, string Flags, string Verdict, IReadOnlyList<Uplift> Uplifts);

    private static readonly string[] MetricOrder = ["conversion", "revenue_per_unit", "revenue_per_unit_cuped", "orders_per_unit", "aov", "add_to_cart_rate", "bounce_rate"];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The experiments of the output directory <paramref name="root"/>, or null when there are none.</summary>
    public static IReadOnlyList<Experiment>? Load(IEngine engine, string root)
    {
        string Dir(string t) => Path.Combine(root, t.Replace('/', Path.DirectorySeparatorChar));
        if (!OutputStore.HasParquet(Dir(TableNames.ExperimentSummary)) || !OutputStore.HasParquet(Dir(TableNames.ExperimentResults)))
        {
            return null;
        }
        var summary = engine.Query($"""
            SELECT experiment_id, status, {engine.Dialect.ToText("start_date")}, {engine.Dialect.ToText("end_date")}, control_variant, units, excluded_units,
                   expected_split, observed_split, srm_p_value, is_srm, flags, verdict
            FROM {engine.ParquetRelation(Dir(TableNames.ExperimentSummary))} ORDER BY experiment_id ASC NULLS LAST
            """);
        if (summary.Count == 0)
        {
            return null;
        }
        var results = engine.Query($"""
            SELECT experiment_id, variant, metric, value, control_value, rel_uplift, rel_ci_lower, rel_ci_upper, chance_to_beat_control, is_significant, higher_is_better
            FROM {engine.ParquetRelation(Dir(TableNames.ExperimentResults))} WHERE NOT is_control
            ORDER BY experiment_id ASC NULLS LAST, variant ASC NULLS LAST, metric ASC NULLS LAST
            """);
        return summary.Select(s =>
        {
            var id = S(s[0]);
            var uplifts = results.Where(r => S(r[0]) == id)
                .Select(r => new Uplift(S(r[1]), S(r[2]), N(r[3]) ?? double.NaN, N(r[4]) ?? double.NaN, N(r[5]), N(r[6]), N(r[7]), N(r[8]), r[9] as bool?, r[10] is true))
                .OrderBy(u => Array.IndexOf(MetricOrder, u.Metric)).ThenBy(u => u.Variant, StringComparer.Ordinal).ToList();
            return new Experiment(id, S(s[1]), S(s[2]), S(s[3]), S(s[4]), L(s[5]), L(s[6]), S(s[7]), S(s[8]), N(s[9]) ?? double.NaN, s[10] is true, S(s[11]), S(s[12]), uplifts);
        }).ToList();
    }

    /// <summary>The section's HTML ("" when there are no experiments).</summary>
    public static string Html(IReadOnlyList<Experiment>? experiments)
    {
        if (experiments is not { Count: > 0 })
        {
            return "";
        }
        var h = new StringBuilder();
        h.Append("<section id=\"experiments\">\n<style>#experiments .warning { background:#fdecea; border-left:4px solid #c62828; padding:8px 12px; } ")
            .Append("#experiments .flags li { color:#8a4b00; } #experiments svg.forest { max-width:100%; height:auto; }</style>\n<h2>A/B tests</h2>\n")
            .Append("<p class=\"note\">Uplift of each variant against control with its interval (95%; Bonferroni-widened and Holm-adjusted p-values when an experiment has several treatments). ")
            .Append("Chance to beat control: normal approximation with a flat prior, as GrowthBook's default engine. Units are people: the stitched customer, else the visitor.</p>\n");
        foreach (var x in experiments)
        {
            h.Append("<article class=\"experiment\">\n<h3>").Append(E(x.Id)).Append(" <small>").Append(E(x.Status)).Append(", ")
                .Append(E(x.Start)).Append(" – ").Append(E(x.End)).Append("</small></h3>\n");
            if (x.IsSrm)
            {
                // Before any number: the split is broken, so nothing below compares like with like.
                h.Append("<p class=\"warning\"><b>Do not trust this result.</b> The units were not split as intended (")
                    .Append(E(x.ObservedSplit)).Append(" against ").Append(E(x.ExpectedSplit)).Append("; sample-ratio test p = ")
                    .Append(E(x.SrmP.ToString("0.0E+0", Inv))).Append("). Find the cause (a redirect, a bot filter, a caching layer) and restart it.</p>\n");
            }
            h.Append("<p>").Append(E(x.Verdict)).Append("</p>\n");
            h.Append("<p class=\"meta\">Control <b>").Append(E(x.Control)).Append("</b>; ").Append(x.Units.ToString("N0", Inv)).Append(" units (")
                .Append(E(x.ObservedSplit)).Append(", intended ").Append(E(x.ExpectedSplit)).Append(')')
                .Append(x.Excluded > 0 ? $"; {x.Excluded.ToString("N0", Inv)} left out for seeing several variants" : "").Append(".</p>\n");
            if (x.Flags.Length > 0)
            {
                h.Append("<ul class=\"flags\">");
                foreach (var f in x.Flags.Split("; "))
                {
                    h.Append("<li>").Append(E(char.ToUpperInvariant(f[0]) + f[1..])).Append("</li>");
                }
                h.Append("</ul>\n");
            }
            else
            {
                h.Append("<p class=\"meta\">Health: the split matches the plan and no unit saw two variants.</p>\n");
            }
            h.Append(Chart(x.Uplifts));
            h.Append("</article>\n");
        }
        h.Append("</section>\n");
        return h.ToString();
    }

    /// <summary>A forest plot: one row per metric × treatment, the relative uplift as a dot and its interval as a bar, 0 marked.</summary>
    internal static string Chart(IReadOnlyList<Uplift> uplifts)
    {
        var rows = uplifts.Where(u => u.Rel is not null && u.Lo is not null && u.Hi is not null).ToList();
        if (rows.Count == 0)
        {
            return "<p class=\"missing\">Not enough units for intervals yet.</p>\n";
        }
        // Scale: symmetric around 0, at least ±10%, clipped at ±200% (an interval beyond is drawn to the edge).
        var extent = Math.Clamp(rows.Max(u => Math.Max(Math.Abs(u.Lo!.Value), Math.Abs(u.Hi!.Value))), 0.1, 2.0);
        const int labelW = 230, plotW = 420, rowH = 22, top = 22;
        var height = top + rows.Count * rowH + 8;
        double X(double v) => labelW + plotW / 2.0 + Math.Clamp(v, -extent, extent) / extent * (plotW / 2.0 - 10);
        var s = new StringBuilder();
        s.Append(Inv, $"<svg class=\"forest\" viewBox=\"0 0 {labelW + plotW + 150} {height}\" width=\"{labelW + plotW + 150}\" height=\"{height}\" role=\"img\" aria-label=\"Relative uplift against control with intervals\">\n");
        s.Append(Inv, $"<line x1=\"{X(0):0.#}\" y1=\"{top - 8}\" x2=\"{X(0):0.#}\" y2=\"{height - 4}\" stroke=\"#888\" stroke-dasharray=\"3,3\"/>\n");
        s.Append(Inv, $"<text x=\"{X(-extent):0.#}\" y=\"12\" font-size=\"10\" fill=\"#666\">{E(Pct(-extent))}</text><text x=\"{X(0) - 4:0.#}\" y=\"12\" font-size=\"10\" fill=\"#666\">0</text><text x=\"{X(extent) - 30:0.#}\" y=\"12\" font-size=\"10\" fill=\"#666\">{E(Pct(extent))}</text>\n");
        for (var i = 0; i < rows.Count; i++)
        {
            var u = rows[i];
            var y = top + i * rowH + rowH / 2.0;
            var good = u.Significant == true && (u.Rel > 0) == u.HigherIsBetter;
            var bad = u.Significant == true && !good;
            var colour = good ? "#1a7f37" : bad ? "#c62828" : "#555";
            s.Append(Inv, $"<text x=\"4\" y=\"{y + 4:0.#}\" font-size=\"12\">{E(u.Metric.Replace('_', ' '))} · {E(u.Variant)}</text>\n");
            s.Append(Inv, $"<line x1=\"{X(u.Lo!.Value):0.#}\" y1=\"{y:0.#}\" x2=\"{X(u.Hi!.Value):0.#}\" y2=\"{y:0.#}\" stroke=\"{colour}\" stroke-width=\"3\"/>\n");
            s.Append(Inv, $"<circle cx=\"{X(u.Rel!.Value):0.#}\" cy=\"{y:0.#}\" r=\"4\" fill=\"{colour}\"/>\n");
            s.Append(Inv, $"<text x=\"{labelW + plotW + 6}\" y=\"{y + 4:0.#}\" font-size=\"11\">{E(Pct(u.Rel!.Value))} [{E(Pct(u.Lo!.Value))}, {E(Pct(u.Hi!.Value))}]{(u.Chance is { } c ? " · chance to beat control " + E((c * 100).ToString("0", Inv)) + "%" : "")}</text>\n");
        }
        s.Append("</svg>\n");
        return s.ToString();
    }

    private static string Pct(double v) => (v * 100).ToString(Math.Abs(v) < 0.1 ? "+0.0;−0.0;0" : "+0;−0;0", Inv) + "%";

    private static string E(string s) => ReportHtml.E(s);

    private static string S(object? o) => Convert.ToString(o, Inv) ?? "";

    private static long L(object? o) => o is null ? 0 : Convert.ToInt64(o, Inv);

    private static double? N(object? o) => o is null ? null : Convert.ToDouble(o, Inv) is var d && double.IsFinite(d) ? d : null;
}
