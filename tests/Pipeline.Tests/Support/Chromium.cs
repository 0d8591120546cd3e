using System.Diagnostics;
using NUnit.Framework;

namespace Pipeline.Tests.Support;

/// <summary>Output of one headless Chromium run.</summary>
internal sealed record ChromiumResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>
    /// Messages the page wrote to its console (script errors, CSP violations, failed loads): with
    /// <c>--enable-logging=stderr</c> Chromium logs each as a <c>CONSOLE</c> line.
    /// </summary>
    public IReadOnlyList<string> ConsoleMessages =>
        Stderr.Split('\n').Where(l => l.Contains(":CONSOLE", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
}

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c> package, installed by <c>.ci/run</c>). A test that needs it fails when
/// it is missing, unless <see cref="SkipVariable"/> is set to 1, which turns the failure into an ignored test.
/// </summary>
internal static class Chromium
{
    public const string SkipVariable = "PIPELINE_SKIP_BROWSER_TESTS";

    private static readonly string[] Names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var name in Names)
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }
        return null;
    }

    /// <summary>The browser's path; fails the test (or ignores it when explicitly opted out) when there is none.</summary>
    public static string Require()
    {
        if (Find() is { } path)
        {
            return path;
        }
        if (Environment.GetEnvironmentVariable(SkipVariable) == "1")
        {
            Assert.Ignore($"chromium not installed and {SkipVariable}=1");
        }
        Assert.Fail($"chromium not found on PATH: install Debian's package (apt-get install -y chromium; .ci/run does), or set {SkipVariable}=1 to skip browser tests");
        return "";
    }

    /// <summary>Runs headless Chromium with a throw-away profile and console logging on stderr.</summary>
    public static ChromiumResult Run(string browser, string profileDir, params string[] args)
    {
        var psi = new ProcessStartInfo(browser)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
                     "--disable-extensions", "--hide-scrollbars", "--user-data-dir=" + profileDir, "--enable-logging=stderr", "--v=0",
                 }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within 2 minutes");
        }
        return new ChromiumResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}
