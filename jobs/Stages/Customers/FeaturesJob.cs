using Pipeline.Runs;

namespace Pipeline.Stages.Customers;

/// <summary><c>pipeline features</c>: clean orders (+ sessions) → <c>customers/features/as_of=…/</c>.</summary>
public static class FeaturesJob
{
    private const string Table = TableNames.Features;

    public static StageReport Run(StageContext run, FeaturesSettings settings)
    {
        return run.Measure("features", report =>
        {
            var a = AnalyticsRun.Create(run, settings.TimeUnit);
            var sessions = a.SessionsRelation;
            run.Log.Info($"as_of {a.AsOf:yyyy-MM-dd}, time unit {a.TimeUnit}{(sessions is null ? ", no sessions: behaviour features are 0" : "")}", "features");
            var sql = FeaturesSql.Features(run.Engine.Dialect,
                new FeaturesSqlOptions(a.OrdersRelation, sessions, a.AsOf, a.DaysPerUnit, settings.BehaviourWindowDays));
            var rows = run.Engine.WriteParquet(sql, run.StagingPath(Table), ["as_of"]);
            report.RowsRead = rows;
            report.RowsWritten = rows;
            report.Counts["customers"] = rows;
            run.Publish([(Table, rows)], replaceTables: false);
        });
    }
}
