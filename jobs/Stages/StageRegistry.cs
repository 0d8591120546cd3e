using Pipeline.Stages.Alerts;
using Pipeline.Stages.Customers;
using Pipeline.Stages.Events;
using Pipeline.Stages.Experiments;
using Pipeline.Stages.Kpis;
using Pipeline.Stages.Orders;
using Pipeline.Stages.Report;

namespace Pipeline.Stages;

/// <summary>
/// Every stage, in dependency order: the one list the CLI verbs, <c>pipeline run</c>'s plan, <c>--only/--skip</c>, the
/// comparison tool's keys and the table documentation come from. Adding a stage is one line here.
/// </summary>
public static class StageRegistry
{
    public static IReadOnlyList<Stage> All { get; } =
    [
        new CleanOrdersStage(),
        new CleanClicksStage(),
        new FeaturesStage(),
        new RfmStage(),
        new SegmentStage(),
        new LtvStage(),
        new KpiStage(),
        new AlertsStage(),
        new ExperimentsStage(),
        new ReportStage(),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(s => s.Name).ToList();

    /// <summary>The stage of this name, or null.</summary>
    public static Stage? Find(string name) => All.FirstOrDefault(s => s.Name == name);

    /// <summary>Every published table, in stage order.</summary>
    public static IReadOnlyList<TableSpec> Tables { get; } = All.SelectMany(s => s.Writes).ToList();

    /// <summary>The declaration of a published table, or null for a name no stage writes.</summary>
    public static TableSpec? Table(string name) => Tables.FirstOrDefault(t => t.Name == name);
}
