using NUnit.Framework;
using Pipeline.Tests.Support;
using Pipeline.Tools;

namespace Pipeline.Tests.Tools;

/// <summary>
/// The table-by-table comparison that scripts/spark-smoke.sh runs between a DuckDB and a Spark output, exercised here
/// with both sides produced by DuckDB: two runs of the same inputs match; a run on less input does not.
/// </summary>
[TestFixture]
public sealed class OutputComparerTests
{
    private static string Sample(string file) => Path.Combine(TestPaths.RepoRoot, "data-samples", file);

    private static readonly string[] Commands = ["clean-orders", "clean-clicks", "features", "rfm"];

    private static void RunAll(string output, params string[] extra)
    {
        foreach (var command in Commands)
        {
            var r = PipelineCli.Run([command, "-c", Sample("shop.json"), "-o", output, .. command == "clean-orders" ? extra : []]);
            Assert.That(r.ExitCode, Is.Zero, $"{command}: {r}");
        }
    }

    [Test]
    public void Two_runs_of_the_same_inputs_match_and_a_run_on_less_input_does_not()
    {
        var a = TestPaths.NewTempDir("compare-a");
        var b = TestPaths.NewTempDir("compare-b");
        var c = TestPaths.NewTempDir("compare-c");
        try
        {
            RunAll(a);
            RunAll(b);
            var same = OutputComparer.Compare(a, b);
            Assert.That(same.Differences, Is.Empty, OutputComparer.Report(same));
            Assert.That(same.Tables.Select(t => t.Table), Is.SupersetOf(new[] { "clean/orders", "clean/events", "sessions", "customers/features", "rfm/scores", "quarantine/orders" }));
            Assert.That(same.Tables.Single(t => t.Table == "clean/orders").Keys, Is.EqualTo(new[] { "order_id" }));
            Assert.That(same.Tables.Single(t => t.Table == "clean/orders").NumericColumns, Is.GreaterThan(3));

            RunAll(c, "--input", Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "orders", "orders-2024-05.csv"));
            var fewer = OutputComparer.Compare(a, c);
            Assert.That(fewer.Equal, Is.False);
            Assert.That(fewer.Differences.Select(d => d.ToString()), Has.Some.StartsWith("clean/orders: row counts differ"));
            Assert.That(fewer.Differences.Select(d => d.ToString()), Has.Some.Matches("clean/orders: [0-9]+ key\\(s\\) \\(order_id\\) only on side A"));
            Assert.That(fewer.Differences.Select(d => d.ToString()), Has.Some.StartsWith("clean/orders: sum(net_revenue) differs"));

            Directory.Delete(Path.Combine(c, "sessions"), recursive: true);
            Assert.That(OutputComparer.Compare(a, c).Differences.Select(d => d.ToString()), Has.Some.StartsWith("sessions: only in"));
        }
        finally
        {
            foreach (var d in new[] { a, b, c })
            {
                Directory.Delete(d, recursive: true);
            }
        }
    }
}
