using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace Pipeline.Tests.Docs;

/// <summary>
/// The docs are true because they run: every shell block of README.md and docs/*.md is executed here, in order, in a
/// scratch copy of data-samples/, with <c>pipeline</c> being the program these tests were built with (the README's
/// <c>dotnet run --project jobs -c Release --</c> and <c>dotnet jobs/bin/Release/net10.0/pipeline.dll</c> are the same
/// program, already built). A block that cannot run here says why in a <c>&lt;!-- not run: reason --&gt;</c> line just above
/// it, and is still checked with <c>bash -n</c>.
/// </summary>
public partial class ExecutedDocsTests
{
    /// <summary>A fenced shell block: where it is, its text, and why it is not run (null when it is).</summary>
    public sealed record ShellBlock(string File, int Line, string Code, string? NotRun)
    {
        public override string ToString() => $"{File}:{Line}";
    }

    private static readonly string[] ShellLanguages = ["sh", "bash", "shell"];

    public static IEnumerable<string> Pages() =>
        new[] { "README.md" }.Concat(Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "docs"), "*.md")
            .Select(f => Path.GetRelativePath(TestPaths.RepoRoot, f).Replace('\\', '/')).Order(StringComparer.Ordinal));

    public static IReadOnlyList<ShellBlock> Blocks(string page)
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, page));
        var blocks = new List<ShellBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (!fence.Success)
            {
                continue;
            }
            var end = Array.FindIndex(lines, i + 1, l => l.StartsWith("```", StringComparison.Ordinal));
            Assert.That(end, Is.GreaterThan(i), $"{page}:{i + 1}: unclosed code block");
            if (ShellLanguages.Contains(fence.Groups[1].Value))
            {
                var previous = lines.Take(i).LastOrDefault(l => l.Trim().Length > 0) ?? "";
                var notRun = NotRunMarker().Match(previous);
                blocks.Add(new ShellBlock(page, i + 1, string.Join('\n', lines[(i + 1)..end]), notRun.Success ? notRun.Groups[1].Value.Trim() : null));
            }
            i = end;
        }
        return blocks;
    }

    [TestCaseSource(nameof(Pages))]
    public void Every_shell_block_is_valid_bash_and_a_block_not_run_says_why(string page)
    {
        foreach (var block in Blocks(page))
        {
            var r = Bash(block.Code, TestPaths.RepoRoot, syntaxOnly: true);
            Assert.That(r.Code, Is.Zero, $"{block}: bash -n: {r.Output}");
            Assert.That(block.NotRun, Is.Null.Or.Not.Empty, $"{block}: a 'not run' marker needs a reason");
        }
    }

    [TestCaseSource(nameof(Pages))]
    public void The_runnable_shell_blocks_of_a_page_run_in_order_and_succeed(string page)
    {
        var runnable = Blocks(page).Where(b => b.NotRun is null).ToList();
        if (runnable.Count == 0)
        {
            Assert.Pass($"{page} has no runnable shell block");
        }
        var work = TestPaths.NewTempDir("docs");
        try
        {
            CopyDirectory(Path.Combine(TestPaths.RepoRoot, "data-samples"), Path.Combine(work, "data-samples"));
            foreach (var block in runnable)
            {
                var code = block.Code
                    .Replace("dotnet run --project jobs -c Release --", "pipeline", StringComparison.Ordinal)
                    .Replace("dotnet jobs/bin/Release/net10.0/pipeline.dll", "pipeline", StringComparison.Ordinal);
                var r = Bash(code, work, syntaxOnly: false);
                Assert.That(r.Code, Is.Zero, $"{block} failed (exit {r.Code}):\n{code}\n--- output ---\n{r.Output}");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Test]
    public void The_readme_tour_queries_answer_from_the_quick_start_output()
    {
        // The tour's first query on the quick start's output prints the most recent order dates: the first data row
        // holds the last order date of the sample shop, read independently from the published files.
        var work = TestPaths.NewTempDir("docs-tour");
        try
        {
            CopyDirectory(Path.Combine(TestPaths.RepoRoot, "data-samples"), Path.Combine(work, "data-samples"));
            var blocks = Blocks("README.md").Where(b => b.NotRun is null).ToList();
            var run = Bash(blocks.First(b => b.Code.Contains(" run --config", StringComparison.Ordinal)).Code
                .Replace("dotnet run --project jobs -c Release --", "pipeline", StringComparison.Ordinal), work, syntaxOnly: false);
            Assert.That(run.Code, Is.Zero, run.Output);
            var tour = blocks.First(b => b.Code.Contains("pipeline query", StringComparison.Ordinal)).Code.Split('\n')[0];
            var r = Bash(tour, work, syntaxOnly: false);
            Assert.That(r.Code, Is.Zero, r.Output);
            var lastDate = Directory.GetDirectories(Path.Combine(work, "out", "shop", "clean", "orders"), "order_date=*")
                .Select(d => Path.GetFileName(d)["order_date=".Length..]).Max(StringComparer.Ordinal);
            Assert.That(r.Output, Does.Contain(lastDate!));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static (int Code, string Output) Bash(string code, string directory, bool syntaxOnly)
    {
        var script = new StringBuilder()
            .AppendLine("set -eo pipefail")
            .AppendLine($"pipeline() {{ dotnet '{Path.Combine(AppContext.BaseDirectory, "pipeline.dll")}' \"$@\"; }}")
            .AppendLine(code)
            .ToString();
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        if (syntaxOnly)
        {
            psi.ArgumentList.Add("-n");
        }
        psi.Environment["PIPELINE_HASH_KEY"] = "docs-test-key";
        psi.Environment["PIPELINE_LOG_FORMAT"] = "text";
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(script);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            return (-1, "timed out");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    [GeneratedRegex(@"^```(\w*)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^<!--\s*not run:(.*)-->\s*$")]
    private static partial Regex NotRunMarker();
}
