using System.Globalization;
using Pipeline.Core;
using Pipeline.Runs;

namespace Pipeline.Stages.Customers;

/// <summary>
/// What every customer-analytics job shares: the snapshot date, the time unit, where the clean tables are, and how
/// model results are written (Parquet.Net, one file per as_of partition).
/// </summary>
public sealed class AnalyticsRun
{
    private AnalyticsRun(JobRun run, DateOnly asOf, string timeUnit, string inputRoot)
    {
        Run = run;
        AsOf = asOf;
        TimeUnit = timeUnit;
        InputRoot = inputRoot;
    }

    public JobRun Run { get; }
    public DateOnly AsOf { get; }
    public string TimeUnit { get; }

    /// <summary>Where clean/orders and sessions are read from (the output directory unless --input says otherwise).</summary>
    public string InputRoot { get; }

    public double DaysPerUnit => TimeUnit == "week" ? 7.0 : 1.0;

    public string AsOfPartition => "as_of=" + AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static AnalyticsRun Create(JobRun run, string? inputRoot)
    {
        var root = inputRoot ?? run.Config.Output;
        var orders = Path.Combine(root, "clean", "orders");
        if (!Publishing.OutputStore.HasParquet(orders))
        {
            throw PipelineException.Input($"no clean orders under {orders}: run `pipeline clean-orders` first (or point --input at the output that has them)");
        }
        DateOnly asOf;
        if (run.Config.Analytics.AsOf is { } configured)
        {
            asOf = DateOnly.ParseExact(configured, "yyyy-MM-dd", CultureInfo.InvariantCulture);
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
        return new AnalyticsRun(run, asOf, run.Config.Analytics.TimeUnit, root);
    }

    public string OrdersRelation => Run.Engine.ParquetRelation(Path.Combine(InputRoot, "clean", "orders"));

    public string? SessionsRelation
    {
        get
        {
            var dir = Path.Combine(InputRoot, "sessions");
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
            var dir = Path.Combine(Run.Config.Output, "customers", "features", AsOfPartition);
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
