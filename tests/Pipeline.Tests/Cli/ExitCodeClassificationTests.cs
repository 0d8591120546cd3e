using NUnit.Framework;
using Pipeline.Cli;
using Pipeline.Engine;

namespace Pipeline.Tests.Cli;

/// <summary>Engine failures map to the documented exit codes (the messages are DuckDB's own, as seen in runs).</summary>
public class ExitCodeClassificationTests
{
    [Test]
    public void A_full_disk_is_an_unexpected_failure_that_says_what_to_do_not_an_input_problem()
    {
        // The 100M-event run of 2026-12-02 ended with this message when DuckDB's spill filled the disk.
        var (code, message) = CliApp.Classify(new EngineException(
            "DuckDB: IO Error: Could not write file \"/work/out100/_tmp/duckdb_temp_storage_DEFAULT-5.tmp\": No space left on device"));
        Assert.That(code, Is.EqualTo(ExitCodes.UnexpectedFailure));
        Assert.That(message, Does.Contain("No space left on device").And.Contain("engine.temp_directory"));
    }

    [Test]
    public void An_unreadable_input_is_an_input_problem()
    {
        var (code, _) = CliApp.Classify(new EngineException("DuckDB: IO Error: No files found that match the pattern \"/x/*.csv\""));
        Assert.That(code, Is.EqualTo(ExitCodes.InputProblem));
    }
}
