using Pipeline.Core;

namespace Pipeline.Publishing;

/// <summary>
/// One run at a time per output directory. The lock is an OS file lock on <c>&lt;output&gt;/_lock</c> (.NET takes an
/// exclusive flock for FileShare.None on Unix), so the kernel releases it when a run dies, even by SIGKILL: a stale
/// lock cannot block the next night. <c>_lock.owner</c> names the holder, for the message a second run prints; one
/// left behind by a dead holder tells the next run that recovery is needed.
/// </summary>
public sealed class RunLock : IDisposable
{
    private readonly FileStream _stream;
    private readonly string _ownerPath;

    private RunLock(FileStream stream, string ownerPath, string? previousHolder)
    {
        _stream = stream;
        _ownerPath = ownerPath;
        PreviousHolder = previousHolder;
    }

    /// <summary>The holder text of a run that died holding the lock (null when the last run released it cleanly).</summary>
    public string? PreviousHolder { get; }

    public static RunLock Acquire(string outputRoot, string runId)
    {
        Directory.CreateDirectory(outputRoot);
        var path = Path.Combine(outputRoot, "_lock");
        var ownerPath = path + ".owner";
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            string holder;
            try
            {
                holder = File.ReadAllText(ownerPath).Trim();
            }
            catch (IOException)
            {
                holder = "";
            }
            throw new PipelineException(ExitCodes.Locked,
                $"another pipeline run is using {outputRoot} ({(holder.Length == 0 ? "holder unknown" : holder)}); wait for it to finish");
        }
        var previous = File.Exists(ownerPath) ? File.ReadAllText(ownerPath).Trim() : "";
        OutputStore.WriteAtomically(ownerPath, $"run {runId}, pid {Environment.ProcessId} on {Environment.MachineName}, since {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n");
        return new RunLock(stream, ownerPath, previous.Length == 0 ? null : previous);
    }

    public void Dispose()
    {
        // Remove the owner file first: its absence means "released cleanly".
        File.Delete(_ownerPath);
        _stream.Dispose();
    }
}
