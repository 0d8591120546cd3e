using System.Text.RegularExpressions;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Cli;

/// <summary>Small things of the command line: which verbs take the engine options, help text without duplicated defaults, the usage-error hint, no staging leftovers.</summary>
public class CliSurfaceTests
{
    [TestCase("generate")]
    [TestCase("validate-config")]
    [TestCase("query")]
    public void Verbs_that_run_no_engine_neither_offer_nor_accept_the_engine_options(string verb)
    {
        var help = PipelineCli.Run(verb, "--help");
        Assert.That(help.ExitCode, Is.Zero, help.ToString());
        Assert.That(help.Stdout, Does.Not.Contain("--engine").And.Not.Contain("--remote"));
        var r = PipelineCli.Run(verb == "query" ? ["query", "SELECT 1", "--engine", "spark"] : [verb, "--engine", "spark"]);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain("--engine"));
    }

    [TestCase("run")]
    [TestCase("clean-orders")]
    [TestCase("rfm")]
    [TestCase("export", "segments")]
    public void Verbs_that_run_an_engine_offer_the_engine_options(params string[] verb)
    {
        var help = PipelineCli.Run([.. verb, "--help"]);
        Assert.That(help.ExitCode, Is.Zero, help.ToString());
        Assert.That(help.Stdout, Does.Contain("--engine").And.Contain("--remote"));
    }

    [Test]
    public void Generate_help_prints_each_default_once()
    {
        var help = PipelineCli.Run("generate", "--help");
        Assert.That(help.ExitCode, Is.Zero, help.ToString());
        foreach (var line in help.Stdout.Split('\n').Where(l => l.Contains("default", StringComparison.OrdinalIgnoreCase)))
        {
            Assert.That(Regex.Matches(line, "default", RegexOptions.IgnoreCase), Has.Count.EqualTo(1), line);
        }
        Assert.That(help.Stdout, Does.Contain("[default: 10000]").And.Contain("[default: 365]").And.Contain("[default: 42]"));
    }

    [Test]
    public void A_bare_pipeline_points_at_pipeline_help_with_one_space()
    {
        var r = PipelineCli.Run();
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain("(see 'pipeline --help')"));
        var sub = PipelineCli.Run("export", "segments", "--no-such-flag");
        Assert.That(sub.Stderr, Does.Contain("(see 'pipeline export segments --help')"));
    }

    [Test]
    public void A_successful_run_leaves_no_staging_folder()
    {
        var output = TestPaths.NewTempDir("no-staging");
        try
        {
            var config = Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json");
            var r = PipelineCli.Run("clean-orders", "-c", config, "-o", output);
            Assert.That(r.ExitCode, Is.Zero, r.ToString());
            Assert.That(Directory.Exists(Path.Combine(output, "clean", "orders")), Is.True);
            Assert.That(Directory.Exists(Path.Combine(output, "_staging")), Is.False, "the _staging root is removed once empty");
            var all = PipelineCli.Run("run", "-c", config, "-o", output, "--only", "clean-orders,clean-clicks", "--full-refresh");
            Assert.That(all.ExitCode, Is.Zero, all.ToString());
            Assert.That(Directory.Exists(Path.Combine(output, "_staging")), Is.False);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Test]
    public void A_failed_runs_staging_folder_is_kept_for_inspection()
    {
        var output = TestPaths.NewTempDir("kept-staging");
        try
        {
            var store = new Pipeline.Publishing.OutputStore(output);
            store.MarkFailed("20240101T000000Z-abcdef", "test");
            store.CleanUpStaging("20240101T000000Z-123456");
            Assert.That(Directory.Exists(store.StagingDir("20240101T000000Z-abcdef")), Is.True);
            store.CleanUpStaging("20240101T000000Z-abcdef");
            Assert.That(Directory.Exists(store.StagingDir("20240101T000000Z-abcdef")), Is.True, "a failed run's folder is never deleted");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
