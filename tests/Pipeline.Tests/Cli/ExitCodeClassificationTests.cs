using NUnit.Framework;
using Pipeline.Core;
using Pipeline.Engine.DuckDb;

namespace Pipeline.Tests.Cli;

/// <summary>
/// Engine failures map to the documented exit codes. The DuckDB engine classifies its own messages (these are
/// DuckDB's, as seen in runs); the CLI and <c>pipeline run</c> only read the code it set.
/// </summary>
public class ExitCodeClassificationTests
{
    [Test]
    public void A_full_disk_is_an_unexpected_failure_that_says_what_to_do_not_an_input_problem()
    {
        // The 100M-event run of 2026-12-02 ended with this message when DuckDB's spill filled the disk.
        var (code, message) = Failures.Classify(DuckDbEngine.Translate(
            "IO Error: Could not write file \"/work/out100/_tmp/duckdb_temp_storage_DEFAULT-5.tmp\": No space left on device"));
        Assert.That(code, Is.EqualTo(ExitCodes.UnexpectedFailure));
        Assert.That(message, Does.Contain("No space left on device").And.Contain("engine.temp_directory"));
        Assert.That(message, Does.Not.Contain("--verbose"), "the message already says what to do");
    }

    [Test]
    public void An_unreadable_input_is_an_input_problem()
    {
        var (code, _) = Failures.Classify(DuckDbEngine.Translate("IO Error: No files found that match the pattern \"/x/*.csv\""));
        Assert.That(code, Is.EqualTo(ExitCodes.InputProblem));
    }

    [Test]
    public void Any_other_engine_failure_is_unexpected_and_points_at_verbose()
    {
        var (code, message) = Failures.Classify(DuckDbEngine.Translate("Binder Error: Referenced column \"x\" not found"));
        Assert.That(code, Is.EqualTo(ExitCodes.UnexpectedFailure));
        Assert.That(message, Does.StartWith("DuckDB: Binder Error").And.EndWith("(rerun with --verbose for details)"));
    }

    [Test]
    public void A_bug_is_unexpected_with_its_type_named()
    {
        var (code, message) = Failures.Classify(new InvalidOperationException("boom\nsecond line"));
        Assert.That(code, Is.EqualTo(ExitCodes.UnexpectedFailure));
        Assert.That(message, Is.EqualTo("unexpected InvalidOperationException: boom (rerun with --verbose for details)"));
    }
}
