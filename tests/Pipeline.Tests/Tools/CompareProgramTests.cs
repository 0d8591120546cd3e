using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Tools;

/// <summary>
/// tools/compare as scripts/spark-smoke.sh runs it: the real pipeline-compare program in a child process, whose exit
/// code is the contract (0: outputs match, 1: differences, 2: bad usage). The comparison itself is OutputComparerTests'.
/// </summary>
[TestFixture]
public sealed class CompareProgramTests
{
    private const string Compare = "pipeline-compare.dll";

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("compare-program");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string CleanOrders(string name, params string[] inputs)
    {
        var output = Path.Combine(_dir, name);
        var r = PipelineCli.Run(["clean-orders", "-c", Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json"), "-o", output,
            .. inputs.SelectMany(i => new[] { "--input", Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "orders", i) })]);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        return output;
    }

    [Test]
    public void Exits_0_on_matching_outputs_1_on_a_difference_and_2_on_bad_usage()
    {
        var a = CleanOrders("a");
        var b = CleanOrders("b");
        var fewer = CleanOrders("fewer", "orders-2024-05.csv");

        var same = PipelineCli.RunDll(Compare, null, a, b);
        Assert.That(same.ExitCode, Is.Zero, same.ToString());
        Assert.That(same.Stdout, Does.Contain("clean/orders").And.Contain("outputs match"));

        var differ = PipelineCli.RunDll(Compare, null, a, fewer);
        Assert.That(differ.ExitCode, Is.EqualTo(1), differ.ToString());
        Assert.That(differ.Stdout, Does.Contain("difference(s):").And.Contain("clean/orders: row counts differ"));

        var usage = PipelineCli.RunDll(Compare, null, a);
        Assert.That(usage.ExitCode, Is.EqualTo(2), usage.ToString());
        Assert.That(usage.Stderr, Does.StartWith("usage: pipeline-compare"));
    }
}
