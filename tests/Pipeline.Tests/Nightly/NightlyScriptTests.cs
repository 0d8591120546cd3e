using System.Diagnostics;
using System.Text.Json;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Nightly;

/// <summary><c>scripts/nightly.sh</c> as cron runs it: JSON-lines log file per day, exit code passed through, one at a time.</summary>
public class NightlyScriptTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("nightly-sh");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private (int Code, string Stderr) Nightly(params string[] args) => Nightly(new Dictionary<string, string>(), args);

    /// <param name="env">Environment variables set (or, with an empty value, removed) on top of the test's defaults.</param>
    private (int Code, string Stderr) Nightly(Dictionary<string, string> env, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "scripts", "nightly.sh"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PIPELINE_LOG_DIR"] = Path.Combine(_dir, "logs");
        psi.Environment["PIPELINE_BIN"] = "dotnet " + Path.Combine(AppContext.BaseDirectory, "pipeline.dll");
        psi.Environment["PIPELINE_HASH_KEY"] = PipelineCli.TestKey;
        psi.Environment.Remove("PIPELINE_LOG_FORMAT");
        foreach (var (name, value) in env)
        {
            psi.Environment[name] = value;
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stderr.Result);
    }

    private string[] LogLines() => File.ReadAllLines(Directory.GetFiles(Path.Combine(_dir, "logs"), "nightly-*.jsonl").Single());

    [Test]
    public void A_nightly_run_logs_json_lines_and_exits_0()
    {
        var (code, stderr) = Nightly(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json"), "-o", Path.Combine(_dir, "out"));
        Assert.That(code, Is.Zero, stderr);
        var lines = LogLines();
        Assert.That(lines, Is.Not.Empty);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line); // every line is one JSON object
            Assert.That(doc.RootElement.TryGetProperty("timestamp", out _) && doc.RootElement.TryGetProperty("run_id", out _), Is.True, line);
        }
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.That(last.RootElement.GetProperty("message").GetString(), Does.StartWith("finished with exit code 0"));
    }

    [Test]
    public void A_failed_night_logs_its_error_as_a_json_line_too()
    {
        // A missing input directory: the run fails (exit 3) and the pipeline's one "error:" line goes into the log.
        var config = Path.Combine(_dir, "missing-input.json");
        File.WriteAllText(config, """{ "output": "out", "orders": { "input": "no-such-folder/" } }""");
        var (code, stderr) = Nightly(config);
        Assert.That(code, Is.EqualTo(3), stderr);
        var lines = LogLines();
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line); // every line is one JSON object, the error line included
            Assert.That(doc.RootElement.GetProperty("level").GetString(), Is.AnyOf("info", "warn", "error"), line);
        }
        var error = lines.Select(l => JsonDocument.Parse(l).RootElement).Single(e => e.GetProperty("message").GetString()!.StartsWith("error: ", StringComparison.Ordinal));
        Assert.That(error.GetProperty("level").GetString(), Is.EqualTo("error"));
        Assert.That(error.GetProperty("message").GetString(), Does.Contain("no-such-folder"));
    }

    [Test]
    public void The_pipeline_exit_code_is_passed_through_and_a_second_nightly_is_refused()
    {
        var badConfig = Path.Combine(_dir, "bad.json");
        File.WriteAllText(badConfig, """{ "ouput": "x" }""");
        Assert.That(Nightly(badConfig).Code, Is.EqualTo(2));

        using var holder = Process.Start(new ProcessStartInfo("flock", [Path.Combine(_dir, "logs", "nightly.lock"), "sleep", "30"]) { UseShellExecute = false })!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            (int Code, string Stderr) second;
            do
            {
                Thread.Sleep(200);
                second = Nightly(badConfig);
            }
            while (second.Code != 5 && DateTime.UtcNow < deadline);
            Assert.That(second.Code, Is.EqualTo(5), second.Stderr);
            Assert.That(second.Stderr, Does.Contain("another nightly run holds"));
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }
    }

    [Test]
    public void A_lock_file_that_cannot_be_opened_or_a_wrong_program_is_a_configuration_error_not_a_held_lock()
    {
        // Exit 5 means another nightly holds the lock, and the documented systemd unit counts it as success: a lock
        // path that is a directory must not look like that, or the nightly would never run and nobody would hear of it.
        var config = Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json");
        var lockDir = Directory.CreateDirectory(Path.Combine(_dir, "lock-is-a-directory")).FullName;
        var badLock = Nightly(new Dictionary<string, string> { ["PIPELINE_NIGHTLY_LOCK"] = lockDir }, config, "-o", Path.Combine(_dir, "out"));
        Assert.That(badLock.Code, Is.EqualTo(2), badLock.Stderr);
        Assert.That(badLock.Stderr.Trim(), Is.EqualTo($"nightly: cannot open the lock file {lockDir} (PIPELINE_NIGHTLY_LOCK)"));

        // A PIPELINE_BIN that names no program: 2 as well (the shell's 127 is in no table of exit codes), logged as an error.
        var badBin = Nightly(new Dictionary<string, string> { ["PIPELINE_BIN"] = "/nonexistent/pipeline" }, config, "-o", Path.Combine(_dir, "out"));
        Assert.That(badBin.Code, Is.EqualTo(2), badBin.Stderr);
        var logged = LogLines().Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(logged.Select(e => (e.GetProperty("level").GetString(), e.GetProperty("message").GetString())), Is.EqualTo(new[]
        {
            ("error", $"cannot open the lock file {lockDir} (PIPELINE_NIGHTLY_LOCK)"),
            ("error", "PIPELINE_BIN '/nonexistent/pipeline' is not a command"),
        }));
        Assert.That(Directory.Exists(Path.Combine(_dir, "out")), Is.False, "nothing ran");
    }
}
