using Pipeline.Runs;

namespace Pipeline.Stages.Report;

/// <summary>
/// <c>pipeline report</c>: the published tables (KPIs, RFM, segments, LTV, cohorts) and the run manifests →
/// <c>report/index.html</c>, one self-contained page (inline CSS and SVG charts, no script, nothing fetched).
/// Sections whose tables are missing say which command makes them. Staged, then published atomically like any table.
/// </summary>
public static class ReportJob
{
    private const string Table = TableNames.Report;
    public const string FileName = "index.html";
    internal const string StageName = "report";

    public static StageReport Run(StageContext run, ReportSettings settings)
    {
        return run.Measure(StageName, report =>
        {
            var root = run.InputRoot;
            var model = ReportData.Load(run.Engine, root, settings, run.AsOf, run.RunId, run.StartedAt);
            var html = ReportHtml.Render(model);
            var dir = run.StagingPath(Table);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, FileName), html, new System.Text.UTF8Encoding(false));
            report.Counts["sections"] = ReportModel.SectionIds.Count;
            report.Counts["sections_missing"] = model.Missing.Count;
            report.Counts["bytes"] = new FileInfo(Path.Combine(dir, FileName)).Length;
            foreach (var (section, why) in model.Missing.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                run.Log.Info($"{section}: {why}", StageName);
            }
            run.Publish([(Table, 1)]);
        });
    }
}
