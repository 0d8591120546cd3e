using System.Reflection;
using NetArchTest.Rules;
using NUnit.Framework;
using Pipeline.Stages;

namespace Pipeline.Tests.Architecture;

/// <summary>
/// The layers of docs/architecture.md, checked on the compiled assemblies: nothing reaches up. From the bottom:
/// Core → Config, Engine, Inputs, Privacy, Publishing, Runs → Stages (contract and registry; one folder per stage) →
/// Nightly (the run of a stage or of the plan) → Query, Exports, Tools → Cli. Models is a separate assembly that knows none of it.
/// </summary>
public class LayerTests
{
    private static readonly Assembly Jobs = typeof(StageRegistry).Assembly;
    private static readonly Assembly Models = typeof(Pipeline.Models.Ltv.BgNbd).Assembly;

    /// <summary>The stage folders: each a namespace under Pipeline.Stages.</summary>
    private static readonly string[] StageFolders = ["Pipeline.Stages.Orders", "Pipeline.Stages.Events", "Pipeline.Stages.Customers", "Pipeline.Stages.Kpis", "Pipeline.Stages.Alerts", "Pipeline.Stages.Experiments", "Pipeline.Stages.Report"];

    private static void Check(ConditionList rule, string what)
    {
        var result = rule.GetResult();
        Assert.That(result.IsSuccessful, Is.True, $"{what}; offending types: {string.Join(", ", result.FailingTypeNames ?? [])}");
    }

    [Test]
    public void The_models_reference_nothing_of_the_jobs()
    {
        Assert.That(Models.GetReferencedAssemblies().Select(a => a.Name), Does.Not.Contain(Jobs.GetName().Name));
        Check(Types.InAssembly(Models).ShouldNot().HaveDependencyOnAny(
            "Pipeline.Core", "Pipeline.Config", "Pipeline.Engine", "Pipeline.Inputs", "Pipeline.Runs", "Pipeline.Publishing", "Pipeline.Stages", "Pipeline.Nightly", "Pipeline.Cli"),
            "models/ is pure C# (no files, no SQL, no pipeline types)");
    }

    [Test]
    public void Nothing_below_the_cli_references_the_cli()
    {
        Check(Types.InAssembly(Jobs).That().ResideInNamespace("Pipeline").And().DoNotResideInNamespace("Pipeline.Cli")
            .ShouldNot().HaveDependencyOn("Pipeline.Cli"), "engines, runs, stages, the nightly plan, exports and tools never reference the CLI");
    }

    [Test]
    public void The_core_references_no_other_layer()
    {
        Check(Types.InAssembly(Jobs).That().ResideInNamespace("Pipeline.Core").ShouldNot().HaveDependencyOnAny(
            "Pipeline.Config", "Pipeline.Engine", "Pipeline.Inputs", "Pipeline.Privacy", "Pipeline.Publishing", "Pipeline.Runs", "Pipeline.Stages", "Pipeline.Nightly",
            "Pipeline.Query", "Pipeline.Exports", "Pipeline.Tools", "Pipeline.Generate", "Pipeline.Cli"), "Pipeline.Core is the bottom layer");
    }

    [Test]
    public void The_layers_below_the_stages_never_reach_up_to_a_stage_or_a_run_plan()
    {
        foreach (var layer in new[] { "Pipeline.Config", "Pipeline.Engine", "Pipeline.Inputs", "Pipeline.Privacy", "Pipeline.Publishing", "Pipeline.Runs" })
        {
            Check(Types.InAssembly(Jobs).That().ResideInNamespace(layer).ShouldNot().HaveDependencyOnAny(
                "Pipeline.Stages", "Pipeline.Nightly", "Pipeline.Query", "Pipeline.Exports", "Pipeline.Tools", "Pipeline.Generate"), $"{layer} is below the stages");
        }
    }

    [Test]
    public void A_stage_folder_never_references_another_stage_folder_nor_what_runs_stages()
    {
        foreach (var folder in StageFolders)
        {
            var others = StageFolders.Where(f => f != folder).Concat(["Pipeline.Nightly", "Pipeline.Query", "Pipeline.Exports", "Pipeline.Tools", "Pipeline.Generate"]).ToArray();
            Check(Types.InAssembly(Jobs).That().ResideInNamespace(folder).ShouldNot().HaveDependencyOnAny(others),
                $"{folder} reads other stages' tables by their names in TableNames, never through their code");
        }
    }

    [Test]
    public void Every_stage_lives_in_a_stage_folder_and_every_stage_folder_is_registered()
    {
        var stageTypes = Jobs.GetTypes().Where(t => t.IsSubclassOf(typeof(Stage)) && !t.IsAbstract).ToList();
        Assert.That(stageTypes.Select(t => t.Namespace), Is.All.AnyOf(StageFolders.Cast<object>().ToArray()));
        Assert.That(StageRegistry.All.Select(s => s.GetType()), Is.EquivalentTo(stageTypes), "every Stage class is in the registry, once");
        Assert.That(StageFolders, Is.EquivalentTo(stageTypes.Select(t => t.Namespace).Distinct()), "every stage folder declares a stage");
    }

    [Test]
    public void The_registry_lists_stages_in_dependency_order_with_one_writer_per_table()
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stage in StageRegistry.All)
        {
            foreach (var read in stage.Reads)
            {
                Assert.That(written, Does.Contain(read), $"{stage.Name} reads {read}, which no earlier stage writes");
            }
            foreach (var table in stage.Writes)
            {
                Assert.That(written.Add(table.Name), Is.True, $"{table.Name} is written by two stages");
            }
        }
        Assert.That(StageRegistry.Names, Is.Unique);
    }
}
