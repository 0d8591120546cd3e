using Pipeline.Config;
using Pipeline.Core;
using Pipeline.Engine.DuckDb;
using Pipeline.Engine.Spark;

namespace Pipeline.Engine;

/// <summary>The one place an engine is chosen from the configuration.</summary>
public static class EngineFactory
{
    /// <param name="engine">The engine section of a validated configuration.</param>
    /// <param name="output">The output directory (DuckDB spills under its <c>_tmp</c> unless engine.temp_directory says otherwise).</param>
    /// <param name="info">Where the engine says which server it talks to, and the Spark client each retry (reason, wait, connect budget left).</param>
    /// <param name="debug">Where the Spark client logs its requests (--verbose).</param>
    public static IEngine Create(EngineConfig engine, string output, Action<string, string?, object?> info, Action<string> debug)
    {
        Check(engine);
        switch (engine.Kind)
        {
            case "spark":
                // Said before connecting: the connect retries (info lines, see below) follow it.
                if (SparkConnectionString.TryParse(engine.Remote!, out var remote))
                {
                    info($"engine: Spark Connect at {remote!.Redacted}", null, null);
                }
                return new SparkEngine(new SparkEngineOptions(
                    engine.Remote!, debug, Info: line => info(line, null, null), ConnectTimeout: TimeSpan.FromSeconds(engine.ConnectTimeoutSeconds)));
            case "duckdb":
                return new DuckDbEngine(new DuckDbOptions(engine.Threads, engine.MemoryLimit, engine.TempDirectory ?? DefaultTempDirectory(output)));
            default:
                throw PipelineException.Config($"engine.kind '{engine.Kind}' is not available in this build; use duckdb or spark");
        }
    }

    /// <summary>Where DuckDB spills when engine.temp_directory is not set: <c>&lt;output&gt;/_tmp</c>, deleted after each run.</summary>
    public static string DefaultTempDirectory(string output) => Path.Combine(output, "_tmp");

    /// <summary>
    /// What an engine needs beyond a valid configuration file (a Spark connection string may come from the command line
    /// or the environment): checked before a run takes the lock, so a missing one is exit 2 with nothing written.
    /// </summary>
    public static void Check(EngineConfig engine)
    {
        if (engine.Kind == "spark" && string.IsNullOrWhiteSpace(engine.Remote))
        {
            throw PipelineException.Config($"engine.kind spark needs a Spark Connect connection string: --remote sc://host:15002, engine.remote or {ConfigLoader.SparkRemoteVariable}");
        }
        if (engine.Kind == "duckdb" && DuckDbEngine.DumpDirectory is { } dump && WritablePaths.DirectoryProblem(dump) is { } problem)
        {
            throw PipelineException.Config($"PIPELINE_DUMP_SQL: '{Path.GetFullPath(dump)}' {problem} (it names the folder to dump SQL statements to; unset it for no dump)");
        }
    }
}
