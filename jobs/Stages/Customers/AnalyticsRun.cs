using System.Globalization;
using Pipeline.Config;
using Pipeline.Core;

namespace Pipeline.Stages.Customers;

/// <summary>
/// What every customer-analytics job shares: the snapshot date, the time unit, where the clean tables are, and how
/// model results are written (Parquet.Net, one file per as_of partition).
/// </summary>
public sealed class AnalyticsRun
{
    private AnalyticsRun(StageContext run, DateOnly asOf, string timeUnit, string inputRoot)
    {
        Run = run;
        AsOf = asOf;
        TimeUnit = timeUnit;
        InputRoot = inputRoot;
    }

    public StageContext Run { get; }
    public DateOnly AsOf { get; }
    public string TimeUnit { get; }

    /// <summary>Where clean/orders and sessions are read from (the output directory unless --input says otherwise).</summary>
    public string InputRoot { get; }

    public double DaysPerUnit => TimeUnit == "week" ? 7.0 : 1.0;

    public string AsOfPartition => "as_of=" + AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <param name="run">The stage's context: its as_of (null = the last order date) and input root.</param>
    /// <param name="timeUnit">The stage's time unit.</param>
    public static AnalyticsRun Create(StageContext run, AnalyticsTimeUnit timeUnit)
    {
        var root = run.InputRoot;
        var orders = Path.Combine(root, TableNames.CleanOrders);
        if (!Publishing.OutputStore.HasParquet(orders))
        {
            throw PipelineException.Input($"no clean orders under {orders}: run `pipeline clean-orders` first (or point --input at the output that has them)");
        }
        DateOnly asOf;
        if (run.AsOf is { } requested)
        {
            asOf = requested;
        }
        else
        {
            var last = run.Engine.Query(FeaturesSql.LastOrderDate(run.Engine.ParquetRelation(orders)))[0][0];
            asOf = last switch
            {
                DateOnly d => d,
                DateTime dt => DateOnly.FromDateTime(dt),
                _ => throw PipelineException.Input("clean orders hold no order dates"),
            };
        }
        return new AnalyticsRun(run, asOf, timeUnit == AnalyticsTimeUnit.Week ? "week" : "day", root);
    }

    public string OrdersRelation => Run.Engine.ParquetRelation(Path.Combine(InputRoot, TableNames.CleanOrders));

    public string? SessionsRelation
    {
        get
        {
            var dir = Path.Combine(InputRoot, TableNames.Sessions);
            return Publishing.OutputStore.HasParquet(dir)
                ? Run.Engine.ParquetRelation(dir)
                : null;
        }
    }

    /// <summary>The features snapshot for as_of, as written by `pipeline features` (in this output directory).</summary>
    public string FeaturesRelation
    {
        get
        {
            var dir = Path.Combine(Run.PublishedPath(TableNames.Features), AsOfPartition);
            if (!Directory.Exists(dir))
            {
                throw PipelineException.Input($"no customer features for {AsOf:yyyy-MM-dd} in {dir}: run `pipeline features --as-of {AsOf:yyyy-MM-dd}` first");
            }
            return Run.Engine.ParquetRelation(dir);
        }
    }

    /// <summary>Staging folder of this run's as_of partition of a table.</summary>
    public string StagedPartition(string table) => Path.Combine(Run.StagingPath(table), AsOfPartition);

    /// <summary>Writes model rows (JsonPropertyName gives the column names) as the table's as_of partition.</summary>
    public long Write<T>(string table, IReadOnlyCollection<T> rows) => Run.Engine.WriteRows(rows, StagedPartition(table));
}
