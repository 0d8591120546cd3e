using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Runs;
using Pipeline.Stages.Customers;
using Pipeline.Stages.Events;
using Pipeline.Stages.Orders;
using Pipeline.Stages.Report;

namespace Pipeline.Nightly;

/// <summary>How a stage decides whether it is up to date.</summary>
public enum StageKind
{
    /// <summary>Reads raw input files: up to date when the files (by checksum) and its configuration are unchanged.</summary>
    Cleaning,

    /// <summary>A customer snapshot for one <c>as_of</c> date: runs once per date of the run.</summary>
    Snapshot,

    /// <summary>Summarises published tables (KPIs, report): runs once per run, after the snapshots.</summary>
    Summary,
}

/// <summary>
/// One stage of <c>pipeline run</c>: the tables it publishes, the tables it reads (whose publishing runs are part of
/// its fingerprint), the raw inputs it reads (cleaning stages), and the job itself.
/// </summary>
public sealed record NightlyStage(
    string Name,
    StageKind Kind,
    IReadOnlyList<string> Tables,
    IReadOnlyList<string> Upstream,
    Func<PipelineConfig, IReadOnlyList<NightlyInput>> Inputs,
    Action<JobRun> Run);

/// <summary>A raw input of a stage as configured: paths (files, directories, globs) and how to read them.</summary>
public sealed record NightlyInput(IReadOnlyList<string> Paths, InputOptions Options, string What);

/// <summary>The stages of the nightly run, in dependency order.</summary>
public static class NightlyStages
{
    public static IReadOnlyList<NightlyStage> All { get; } =
    [
        new("clean-orders", StageKind.Cleaning, [CleanOrdersJob.CleanTable, CleanOrdersJob.QuarantineTable], [],
            c => c.Orders.Fx is { Input.Length: > 0 } fx
                ? [new(c.Orders.Input, new(c.Orders.Format, c.Orders.Csv.Delimiter), "orders"), new([fx.Input], new(), "FX rates")]
                : [new(c.Orders.Input, new(c.Orders.Format, c.Orders.Csv.Delimiter), "orders")],
            run => CleanOrdersJob.Run(run)),
        new("clean-clicks", StageKind.Cleaning, [CleanClicksJob.EventsTable, CleanClicksJob.SessionsTable, CleanClicksJob.QuarantineTable], [],
            c => [new(c.Events.Input, new(c.Events.Format, c.Events.Csv.Delimiter), "events")],
            run => CleanClicksJob.Run(run)),
        new("features", StageKind.Snapshot, [FeaturesJob.Table], [CleanOrdersJob.CleanTable, CleanClicksJob.SessionsTable], _ => [],
            run => FeaturesJob.Run(run, null)),
        new("rfm", StageKind.Snapshot, [RfmJob.ScoresTable, RfmJob.SegmentsTable, RfmJob.CutPointsTable], [FeaturesJob.Table], _ => [],
            run => RfmJob.Run(run, null)),
        new("segment", StageKind.Snapshot,
            [SegmentJob.AssignmentsTable, SegmentJob.ProfilesTable, SegmentJob.KSelectionTable, SegmentJob.ModelTable, SegmentJob.MigrationTable],
            [FeaturesJob.Table], _ => [],
            run => SegmentJob.Run(run, null)),
        new("ltv", StageKind.Snapshot,
            [LtvJob.CustomersTable, LtvJob.ParamsTable, LtvJob.BacktestTable, LtvJob.BucketsTable, LtvJob.MetricsTable],
            [FeaturesJob.Table, CleanOrdersJob.CleanTable], _ => [],
            run => LtvJob.Run(run, null)),
        new("kpis", StageKind.Summary, [Stages.Kpis.KpiJob.DailyTable, Stages.Kpis.KpiJob.ChannelsTable, Stages.Kpis.KpiJob.CohortsTable],
            [CleanOrdersJob.CleanTable, CleanClicksJob.SessionsTable, CleanClicksJob.EventsTable],
            c => c.Kpis.AdSpend is { Input.Count: > 0 } spend ? [new(spend.Input, new(spend.Format, spend.Csv.Delimiter), "ad spend")] : [],
            run => Stages.Kpis.KpiJob.Run(run, null)),
        new("report", StageKind.Summary, [ReportJob.Table],
            [KpiTables.Daily, KpiTables.Channels, KpiTables.Cohorts, FeaturesJob.Table, RfmJob.ScoresTable, RfmJob.SegmentsTable,
             SegmentJob.ProfilesTable, SegmentJob.MigrationTable, LtvJob.CustomersTable, LtvJob.BucketsTable, LtvJob.MetricsTable,
             CleanOrdersJob.CleanTable, CleanOrdersJob.QuarantineTable, CleanClicksJob.QuarantineTable], _ => [],
            run => ReportJob.Run(run, null)),
    ];

    public static IReadOnlyList<string> Names => All.Select(s => s.Name).ToList();
}
