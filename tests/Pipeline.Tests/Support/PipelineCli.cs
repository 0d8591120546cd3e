using System.Diagnostics;
using Pipeline.Cli;
using Pipeline.Core;

namespace Pipeline.Tests.Support;

/// <summary>Result of one `pipeline` invocation.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

/// <summary>Runs the real CLI: in-process (fast) or as a child process (for kills and locks).</summary>
internal static class PipelineCli
{
    /// <summary>A fixed key so tests can compute expected HMACs; set for in-process runs and child processes.</summary>
    public const string TestKey = "test-key-not-secret";

    public static CliResult Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var previousErr = Console.Error;
        Environment.SetEnvironmentVariable("PIPELINE_HASH_KEY", TestKey);
        Environment.SetEnvironmentVariable("PIPELINE_LOG_FORMAT", "text");
        Console.SetError(stderr);
        try
        {
            var code = CliApp.Run(args, stdout, stderr);
            return new CliResult(code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetError(previousErr);
        }
    }

    /// <summary>Starts `dotnet pipeline.dll args` as a child process.</summary>
    public static Process Start(IDictionary<string, string>? env, params string[] args) => StartDll("pipeline.dll", env, args);

    /// <summary>Starts `dotnet <paramref name="dll"/> args` as a child process (a program built next to the tests).</summary>
    public static Process StartDll(string dll, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["PIPELINE_HASH_KEY"] = TestKey;
        psi.Environment["PIPELINE_LOG_FORMAT"] = "text";
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        return Process.Start(psi)!;
    }

    public static CliResult RunProcess(IDictionary<string, string>? env, params string[] args) => RunDll("pipeline.dll", env, args);

    /// <summary>Runs `dotnet <paramref name="dll"/> args` to completion (5 minutes at most).</summary>
    public static CliResult RunDll(string dll, IDictionary<string, string>? env, params string[] args)
    {
        using var p = StartDll(dll, env, args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{dll} did not finish in 5 minutes");
        }
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}
