using System.Text.Json;
using Pipeline.Core;

namespace Pipeline.Publishing;

/// <summary>
/// The output directory's layout and its publication protocol.
/// <code>
///   &lt;output&gt;/clean/orders/order_date=…/part-0.parquet   published tables (what analysts read)
///   &lt;output&gt;/clean/orders/_SUCCESS                      written last, names the run that published it
///   &lt;output&gt;/_staging/&lt;run_id&gt;/…                         a run's outputs before publication
///   &lt;output&gt;/_runs/&lt;run_id&gt;.json                         run manifests
///   &lt;output&gt;/_lock                                      held (flock) while a run is active
///   &lt;output&gt;/_checksums.tsv                             input files' checksums by size and time (Inputs.ChecksumStore)
/// </code>
/// A run writes only under its staging folder. Publication first writes a journal naming every partition to move,
/// then swaps partitions in one by one (old ones go to the run's trash), then writes <c>_SUCCESS</c>, then deletes the
/// staging folder (and the <c>_staging</c> root once a successful run leaves it empty). A run killed before the journal leaves the published tables untouched (its staging folder is
/// deleted by the next run); a run killed after it is rolled forward by the next run, which finishes the swap.
/// </summary>
public sealed class OutputStore
{
    private const string JournalName = "_PUBLISHING";
    private const string FailedName = "_FAILED";

    public OutputStore(string root)
    {
        Root = Path.GetFullPath(root);
    }

    public string Root { get; }

    public string StagingRoot => Path.Combine(Root, "_staging");

    public string StagingDir(string runId) => Path.Combine(StagingRoot, runId);

    public string RunsDir => Path.Combine(Root, RunsFolder);

    /// <summary>Where a run's manifest is written: <c>_runs/&lt;run_id&gt;.json</c>.</summary>
    public string ManifestPath(string runId) => Path.Combine(RunsDir, runId + ".json");

    /// <summary>The folder of run manifests under the output directory.</summary>
    public const string RunsFolder = "_runs";

    /// <summary>The marker a published table's folder holds: written last, it names the run that published the table.</summary>
    public const string SuccessMarker = "_SUCCESS";

    /// <summary>A table's <c>_SUCCESS</c> marker.</summary>
    public string SuccessFile(string table) => Path.Combine(Root, table, SuccessMarker);

    /// <summary>The run that published a table (its <c>_SUCCESS</c>), or null when it is not published.</summary>
    public string? PublishedBy(string table) => File.Exists(SuccessFile(table)) ? File.ReadAllText(SuccessFile(table)).Trim() : null;

    /// <summary>
    /// Whether a table folder holds any Parquet file. A table with no rows may be published as a folder without files
    /// (partitioned writes of nothing write nothing), and engines cannot read such a folder: check before reading.
    /// </summary>
    public static bool HasParquet(string dir) =>
        Directory.Exists(dir) && Directory.EnumerateFiles(dir, "*.parquet", SearchOption.AllDirectories).Any();

    /// <summary>The values of a table's (first-level) Hive partition column that hold Parquet files, from the folder names: no file is opened.</summary>
    public static IReadOnlyList<string> PartitionValues(string dir, string column) =>
        PartitionFolders(dir, column).Select(p => p.Value).ToList();

    /// <summary>The folders of <see cref="PartitionValues"/>, each with its value, in the values' order.</summary>
    public static IReadOnlyList<(string Value, string Folder)> PartitionFolders(string dir, string column) =>
        !Directory.Exists(dir) ? [] : Directory.EnumerateDirectories(dir, column + "=*")
            .Where(HasParquet)
            .Select(p => (Value: Uri.UnescapeDataString(Path.GetFileName(p)[(column.Length + 1)..]), Folder: p))
            .OrderBy(p => p.Value, StringComparer.Ordinal).ToList();

    /// <summary>Test hook: called between partition moves during publication (to simulate a crash mid-publish).</summary>
    public Action<string>? OnPartitionMoved { get; init; }

    /// <summary>
    /// Finishes or discards what earlier, interrupted runs left. Call while holding the lock.
    /// Returns a description of what was recovered, one entry per staging folder handled.
    /// </summary>
    public IReadOnlyList<string> Recover()
    {
        var notes = new List<string>();
        if (!Directory.Exists(StagingRoot))
        {
            return notes;
        }
        foreach (var dir in Directory.GetDirectories(StagingRoot).Order(StringComparer.Ordinal))
        {
            var runId = Path.GetFileName(dir);
            if (File.Exists(Path.Combine(dir, JournalName)))
            {
                RollForward(runId);
                notes.Add($"completed the interrupted publication of run {runId}");
            }
            else if (!File.Exists(Path.Combine(dir, FailedName)))
            {
                Directory.Delete(dir, recursive: true);
                notes.Add($"discarded the unpublished outputs of interrupted run {runId}");
            }
        }
        RemoveStagingRootIfEmpty();
        return notes;
    }

    /// <summary>Publishes the staged tables of a run (paths relative to the output root, e.g. "clean/orders"), each replaced whole.</summary>
    public void Publish(string runId, IReadOnlyList<string> tables) => Publish(runId, tables.Select(t => (t, true)).ToList());

    /// <summary>
    /// Publishes staged tables. <c>ReplaceTable</c> true: the table becomes exactly the staged partitions (old ones
    /// not staged are removed). False: only the staged partitions are replaced, others are kept (history tables
    /// partitioned by <c>as_of</c>).
    /// </summary>
    public void Publish(string runId, IReadOnlyList<(string Table, bool ReplaceTable)> tables)
    {
        var staging = StagingDir(runId);
        var journal = new Journal(runId, tables.Select(t => new JournalTable(t.Table, Units(Path.Combine(staging, t.Table)), t.ReplaceTable)).ToList());
        WriteAtomically(Path.Combine(staging, JournalName), JsonSerializer.Serialize(journal));
        RollForward(runId);
    }

    /// <summary>
    /// After a successful run: deletes what is left of its staging folder (publication already removed what it
    /// published), then the <c>_staging</c> root when nothing else is in it. A failed run's folder is never deleted.
    /// Call while holding the lock.
    /// </summary>
    public void CleanUpStaging(string runId)
    {
        var staging = StagingDir(runId);
        if (Directory.Exists(staging) && !File.Exists(Path.Combine(staging, FailedName)) && !File.Exists(Path.Combine(staging, JournalName)))
        {
            Directory.Delete(staging, recursive: true);
        }
        RemoveStagingRootIfEmpty();
    }

    /// <summary>Deletes the <c>_staging</c> root when it holds nothing (no failed or interrupted run's folder).</summary>
    public void RemoveStagingRootIfEmpty()
    {
        try
        {
            if (Directory.Exists(StagingRoot) && !Directory.EnumerateFileSystemEntries(StagingRoot).Any())
            {
                Directory.Delete(StagingRoot);
            }
        }
        catch (IOException)
        {
            // Something appeared meanwhile: it stays, the next run looks again.
        }
    }

    /// <summary>Marks a run's staging folder as failed: kept for inspection, never published, never auto-deleted.</summary>
    public void MarkFailed(string runId, string reason)
    {
        var staging = StagingDir(runId);
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, FailedName), reason + "\n");
    }

    private void RollForward(string runId)
    {
        var staging = StagingDir(runId);
        var journalPath = Path.Combine(staging, JournalName);
        var journal = JsonSerializer.Deserialize<Journal>(File.ReadAllText(journalPath))
                      ?? throw new PipelineException($"unreadable publication journal {journalPath}");
        var trash = Path.Combine(staging, "_trash");
        foreach (var table in journal.Tables)
        {
            var live = Path.Combine(Root, table.Table);
            Directory.CreateDirectory(live);
            File.Delete(Path.Combine(live, SuccessMarker));
            foreach (var unit in table.Units)
            {
                var staged = Path.Combine(staging, table.Table, unit);
                if (!Exists(staged))
                {
                    continue; // moved by an earlier, interrupted attempt
                }
                var target = Path.Combine(live, unit);
                if (Exists(target))
                {
                    MoveReplacing(target, Path.Combine(trash, table.Table, unit));
                }
                Move(staged, target);
                OnPartitionMoved?.Invoke(target);
            }
            var keep = new HashSet<string>(table.Units, StringComparer.Ordinal);
            foreach (var old in Directory.EnumerateFileSystemEntries(live).Select(Path.GetFileName).ToList())
            {
                if (table.ReplaceTable && old is not null && old != SuccessMarker && !keep.Contains(old))
                {
                    MoveReplacing(Path.Combine(live, old), Path.Combine(trash, table.Table, old));
                }
            }
            WriteAtomically(Path.Combine(live, SuccessMarker), runId + "\n");
        }
        File.Delete(journalPath);
        Directory.Delete(staging, recursive: true);
    }

    /// <summary>Publication units of a staged table: its partition folders, or its files when unpartitioned.</summary>
    private static List<string> Units(string stagedTable) =>
        Directory.Exists(stagedTable)
            ? Directory.EnumerateFileSystemEntries(stagedTable).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToList()
            : [];

    private static bool Exists(string path) => File.Exists(path) || Directory.Exists(path);

    private static void Move(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        if (Directory.Exists(from))
        {
            Directory.Move(from, to);
        }
        else
        {
            File.Move(from, to);
        }
    }

    private static void MoveReplacing(string from, string to)
    {
        if (Directory.Exists(to))
        {
            Directory.Delete(to, recursive: true);
        }
        else if (File.Exists(to))
        {
            File.Delete(to);
        }
        Move(from, to);
    }

    /// <summary>Write to a temp name and rename: readers see the old file or the new one, never half of one.</summary>
    public static void WriteAtomically(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp-" + Environment.ProcessId;
        File.WriteAllText(tmp, content);
        File.Move(tmp, path, overwrite: true);
    }

    private sealed record Journal(string RunId, List<JournalTable> Tables);

    private sealed record JournalTable(string Table, List<string> Units, bool ReplaceTable = true);
}
