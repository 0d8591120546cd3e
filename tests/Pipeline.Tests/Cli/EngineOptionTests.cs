using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Cli;

/// <summary>An engine that cannot be used is a configuration error found before anything is read or written.</summary>
public class EngineOptionTests
{
    [TestCase("run")]
    [TestCase("clean-orders")]
    [TestCase("report")]
    public void Spark_without_a_connection_string_exits_2_with_one_line_and_writes_nothing(string verb)
    {
        var dir = TestPaths.NewTempDir("engine-option");
        try
        {
            var output = Path.Combine(dir, "out");
            var config = Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json");
            // SPARK_REMOTE empty: no connection string from the environment either.
            var r = PipelineCli.RunProcess(new Dictionary<string, string> { ["SPARK_REMOTE"] = "" }, verb, "-c", config, "-o", output, "--engine", "spark");
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            Assert.That(r.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1).And.One.StartsWith("error: engine.kind spark needs a Spark Connect connection string"));
            Assert.That(Directory.Exists(output), Is.False, "no lock, manifest or staging folder was written");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase(new[] { "run", "--engine", "oracle" }, "error: Argument 'oracle' not recognized. Must be one of: 'duckdb', 'spark' (see 'pipeline run --help')")]
    [TestCase(new[] { "clean-orders", "--grain", "row" }, "error: Argument 'row' not recognized. Must be one of: 'auto', 'order', 'line' (see 'pipeline clean-orders --help')")]
    public void An_unknown_option_value_is_one_line_listing_the_accepted_ones(string[] args, string line)
    {
        var r = PipelineCli.Run(args);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr.TrimEnd('\n').Split('\n'), Is.EqualTo(new[] { line }), r.ToString());
    }
}
