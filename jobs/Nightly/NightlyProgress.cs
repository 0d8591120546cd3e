using System.Globalization;
using Pipeline.Runs;
using Spectre.Console;

namespace Pipeline.Nightly;

/// <summary>Progress as log lines (JSON lines under cron/CI, text otherwise): one line per step started and finished.</summary>
public sealed class LogProgress(Log log) : INightlyProgress
{
    public void Planned(IReadOnlyList<string> labels) => log.Info($"plan: {string.Join(", ", labels)}", "run");

    public void Started(string label)
    {
    }

    public void Finished(string label, NightlyStep result)
    {
        var step = label;
        var r = result.Report;
        object counts = r is null ? new { status = result.Status, seconds = result.Seconds, exit_code = result.ExitCode } : new
        {
            status = result.Status,
            seconds = result.Seconds,
            exit_code = result.ExitCode,
            rows_read = r.RowsRead,
            rows_written = r.RowsWritten,
            rows_quarantined = r.RowsQuarantined,
            duplicates = r.Duplicates,
            bots = r.Bots,
        };
        var message = result.Status + (result.Reason is null ? "" : ": " + result.Reason) + $" ({result.Seconds:0.0} s)";
        if (result.Status == "failed")
        {
            log.Error(message, step);
        }
        else
        {
            log.Info(message, step, counts);
        }
    }
}

/// <summary>Progress bars on a terminal (Spectre.Console): one bar per step, then a summary table.</summary>
public sealed class TerminalProgress : INightlyProgress
{
    private readonly Dictionary<string, ProgressTask> _tasks = [];

    public ProgressContext? Context { get; set; }

    public void Planned(IReadOnlyList<string> labels)
    {
        foreach (var step in labels)
        {
            var task = Context!.AddTask(Markup.Escape(step), autoStart: false, maxValue: 1);
            _tasks[step] = task;
        }
    }

    public void Started(string label)
    {
        var task = _tasks[label];
        task.StartTask();
        task.IsIndeterminate = true;
    }

    public void Finished(string label, NightlyStep result)
    {
        var task = _tasks[label];
        task.IsIndeterminate = false;
        task.Description = Markup.Escape(label) + result.Status switch
        {
            "skipped" => " [grey](skipped)[/]",
            "failed" => " [red](failed)[/]",
            _ => "",
        };
        task.Value = 1;
        task.StopTask();
    }

    /// <summary>Runs <paramref name="body"/> under live progress bars.</summary>
    public static int Show(IAnsiConsole console, Func<TerminalProgress, int> body)
    {
        var view = new TerminalProgress();
        var exit = 0;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                view.Context = ctx;
                exit = body(view);
            });
        return exit;
    }

    /// <summary>The final summary: one row per step with its accounting.</summary>
    public static void Summary(IAnsiConsole console, IReadOnlyList<NightlyStep> steps)
    {
        var table = new Table().RoundedBorder()
            .AddColumn("step").AddColumn("status").AddColumn(new TableColumn("seconds").RightAligned())
            .AddColumn(new TableColumn("read").RightAligned()).AddColumn(new TableColumn("written").RightAligned())
            .AddColumn(new TableColumn("quarantined").RightAligned()).AddColumn(new TableColumn("duplicates").RightAligned())
            .AddColumn(new TableColumn("bots").RightAligned()).AddColumn("note");
        static string N(long? v) => v is { } x ? x.ToString("N0", CultureInfo.InvariantCulture) : "";
        foreach (var s in steps)
        {
            var status = s.Status switch
            {
                "succeeded" => "[green]succeeded[/]",
                "skipped" => "[grey]skipped[/]",
                _ => "[red]failed[/]",
            };
            var r = s.Report;
            table.AddRow(Markup.Escape(s.Date is null ? s.Stage : $"{s.Stage} {s.Date}"), status, s.Seconds.ToString("0.0", CultureInfo.InvariantCulture),
                N(r?.RowsRead), N(r?.RowsWritten), N(r?.RowsQuarantined), N(r?.Duplicates), N(r?.Bots), Markup.Escape(s.Reason ?? ""));
        }
        console.Write(table);
    }
}
