namespace Pipeline.Core;

// The bottom layer: what every other layer (configuration, engines, runs, stages, the CLI) may use and what uses none
// of them. An expected failure is a PipelineException carrying its exit code; whoever knows what a failure means (the
// config loader, an engine, a stage) decides the code where it throws, so nothing above has to match message text.

/// <summary>The documented process exit codes. Scripts and cron wrappers branch on these, so they never change meaning.</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;
    /// <summary>Something unexpected failed (a bug, a full disk, an engine crash). Rerun with --verbose for the stack trace.</summary>
    public const int UnexpectedFailure = 1;
    /// <summary>Bad command line or bad configuration. Nothing was read or written.</summary>
    public const int UsageOrConfig = 2;
    /// <summary>An input is missing, empty, unreadable or does not have the columns the input contract requires.</summary>
    public const int InputProblem = 3;
    /// <summary>A data-quality gate failed (accounting does not balance, too many quarantined rows). Outputs were kept unpublished.</summary>
    public const int QualityGate = 4;
    /// <summary>Another run holds the output directory's lock.</summary>
    public const int Locked = 5;
    /// <summary>
    /// Opt-in (<c>alerts.fail_on</c>): the run succeeded and published everything, but the alerts stage found an alert
    /// at least that severe on the last day.
    /// </summary>
    public const int Alerts = 6;
}

/// <summary>
/// An expected failure: carries the exit code and one readable line. The CLI prints the message without a stack
/// trace (unless --verbose), so messages must say what is wrong and what to do about it. Engines derive their own
/// failures from it (<c>EngineException</c>) and classify them where they are thrown.
/// </summary>
public class PipelineException : Exception
{
    public PipelineException(int exitCode, string message, Exception? inner = null) : base(message, inner) => ExitCode = exitCode;

    public PipelineException() : this(ExitCodes.UnexpectedFailure, "pipeline failure") { }

    public PipelineException(string message) : this(ExitCodes.UnexpectedFailure, message) { }

    public PipelineException(string message, Exception inner) : this(ExitCodes.UnexpectedFailure, message, inner) { }

    public int ExitCode { get; }

    /// <summary>The one line a user reads for this failure (the message, plus a hint where the failure needs one).</summary>
    public virtual string Describe() => Message;

    public static PipelineException Config(string message) => new(ExitCodes.UsageOrConfig, message);
    public static PipelineException Input(string message, Exception? inner = null) => new(ExitCodes.InputProblem, message, inner);
    public static PipelineException Quality(string message) => new(ExitCodes.QualityGate, message);
}

/// <summary>How any exception becomes an exit code and one line: the one mapping the CLI and <c>pipeline run</c> share.</summary>
public static class Failures
{
    public static (int Code, string Message) Classify(Exception e) => e switch
    {
        PipelineException p => (p.ExitCode, p.Describe()),
        _ => (ExitCodes.UnexpectedFailure, $"unexpected {e.GetType().Name}: {e.Message.Split('\n')[0]} (rerun with --verbose for details)"),
    };
}
