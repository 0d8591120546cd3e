using System.Text.Json;

namespace Pipeline.Runs;

/// <summary>
/// Progress messages. Human-readable lines on a terminal; one JSON object per line otherwise (cron, CI), so log
/// shippers can parse them. Messages go to stderr; stdout is kept for a command's result (paths, summaries).
/// </summary>
public sealed class Log
{
    private readonly TextWriter _out;
    private readonly bool _json;

    public Log(TextWriter output, bool json, bool quiet, bool verbose)
    {
        _out = output;
        _json = json;
        Quiet = quiet;
        Verbose = verbose;
    }

    /// <summary>True when messages are JSON lines (not a terminal), so callers can keep their own output parseable too.</summary>
    public bool Json => _json;

    public bool Quiet { get; }
    public bool Verbose { get; }
    public string? RunId { get; set; }

    public static Log ForConsole(bool quiet, bool verbose) =>
        new(Console.Error, json: Console.IsErrorRedirected && Environment.GetEnvironmentVariable("PIPELINE_LOG_FORMAT") != "text", quiet, verbose);

    public void Info(string message, string? stage = null, object? counts = null) => Write("info", message, stage, counts, Quiet);

    public void Warn(string message, string? stage = null) => Write("warn", message, stage, null, false);

    /// <summary>A failure (a stage that failed): level <c>error</c>, shown even with --quiet.</summary>
    public void Error(string message, string? stage = null) => Write("error", message, stage, null, false);

    public void Debug(string message, string? stage = null)
    {
        if (Verbose)
        {
            Write("debug", message, stage, null, false);
        }
    }

    /// <summary>One log entry as a JSON line: the format of every line under cron, and of <c>pipeline run</c>'s summary on stdout.</summary>
    public string JsonLine(string level, string message, string? stage, object? counts)
    {
        var entry = new Dictionary<string, object?>
        {
            ["timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
            ["level"] = level,
            ["run_id"] = RunId,
            ["stage"] = stage,
            ["message"] = message,
        };
        if (counts is not null)
        {
            entry["counts"] = counts;
        }
        return JsonSerializer.Serialize(entry);
    }

    private void Write(string level, string message, string? stage, object? counts, bool suppress)
    {
        if (suppress)
        {
            return;
        }
        if (_json)
        {
            _out.WriteLine(JsonLine(level, message, stage, counts));
        }
        else
        {
            // Text: a failure reads "[stage] failed: …"; the one "error:" line is the CLI's own, last.
            var prefix = level is "info" or "error" ? "" : level + ": ";
            _out.WriteLine(stage is null ? prefix + message : $"{prefix}[{stage}] {message}");
        }
    }
}
