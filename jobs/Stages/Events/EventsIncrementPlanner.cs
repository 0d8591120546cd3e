using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Publishing;
using Pipeline.Runs;

namespace Pipeline.Stages.Events;

/// <summary>
/// Decides what an incremental clean-clicks reads. From the last successful clean-clicks manifest (whose run published
/// the current events table) it knows every consumed file with its checksum and event time range:
/// <list type="bullet">
/// <item>new files are those not consumed yet, or consumed with another checksum;</item>
/// <item>the window starts <c>events.lookback_days</c> − 1 days before the last published event date; its
/// partitions are rewritten;</item>
/// <item>consumed files with events from <c>events.max_session_hours</c> before the window on are read again, so
/// sessions that cross the window's start and logins in it are seen whole.</item>
/// </list>
/// Returns null when the run must be a full one (no usable history, or the configuration changed).
/// </summary>
public static class EventsIncrementPlanner
{
    public sealed record Plan(EventsIncrement Increment, IReadOnlyList<InputFile> Files, int NewFiles, int ContextFiles);

    /// <param name="output">The output directory holding the published events and the run manifests.</param>
    /// <param name="settingsHash">The hash of the clean-clicks settings of this run.</param>
    /// <param name="current">The events input's files as resolved (with checksums) for this run.</param>
    /// <param name="ec">The events settings (lookback and session length).</param>
    public static Plan? Make(string output, string settingsHash, IReadOnlyList<InputFile> current, EventsConfig ec)
    {
        var previous = LastRun(output);
        if (previous is null || previous.Value.SettingsHash != settingsHash)
        {
            return null;
        }
        var consumed = previous.Value.Consumed.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var lastEvent = previous.Value.Consumed.Max(f => f.MaxOccurredAt);
        if (lastEvent is null)
        {
            return null;
        }
        var newFiles = current.Where(f => !consumed.TryGetValue(f.Path, out var c) || c.Sha256 != f.Sha256).Select(f => f.Path).ToList();
        var from = DateOnly.FromDateTime(lastEvent.Value.UtcDateTime).AddDays(-(ec.LookbackDays - 1));
        var contextStart = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddHours(-ec.MaxSessionHours);
        var newSet = newFiles.ToHashSet(StringComparer.Ordinal);
        var context = current.Where(f => !newSet.Contains(f.Path) && consumed[f.Path].MaxOccurredAt >= contextStart).Select(f => f.Path).ToList();
        var selected = newFiles.Concat(context).ToHashSet(StringComparer.Ordinal);
        var files = current.Where(f => selected.Contains(f.Path)).OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        var increment = new EventsIncrement(new EventsWindow(from, newFiles), previous.Value.Consumed);
        return new Plan(increment, files, newFiles.Count, context.Count);
    }

    /// <summary>What the last successful clean-clicks recorded, if the published events table is its output.</summary>
    private static (string SettingsHash, List<ConsumedFile> Consumed)? LastRun(string output)
    {
        var store = new OutputStore(output);
        var success = store.SuccessFile(TableNames.CleanEvents);
        var runsDir = store.RunsDir;
        if (!File.Exists(success) || !Directory.Exists(runsDir))
        {
            return null;
        }
        var publisher = File.ReadAllText(success).Trim();
        var manifest = Path.Combine(runsDir, publisher + ".json");
        if (!File.Exists(manifest))
        {
            return null;
        }
        return RunManifest.ReadSummary(manifest) is { Status: "succeeded", Consumed.Count: > 0, Fingerprint: not null, SettingsHash: not null } m
            ? (m.SettingsHash, m.Consumed)
            : null;
    }
}
