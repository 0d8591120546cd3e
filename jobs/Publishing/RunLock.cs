using System.Text;
using Pipeline.Cli;

namespace Pipeline.Publishing;

/// <summary>
/// One run at a time per output directory. The lock is an OS file lock on <c>&lt;output&gt;/_lock</c> (.NET takes an
/// exclusive flock for FileShare.None on Unix), so the kernel releases it when a run dies, even by SIGKILL: a stale
/// lock cannot block the next night. The file's text names the holder, for the message a second run prints, and a
/// leftover text from a dead holder tells the next run that recovery is needed.
/// </summary>
public sealed class RunLock : IDisposable
{
    private readonly FileStream _stream;

    private RunLock(FileStream stream, string? previousHolder)
    {
        _stream = stream;
        PreviousHolder = previousHolder;
    }

    /// <summary>The holder text of a run that died holding the lock (null when the last run released it cleanly).</summary>
    public string? PreviousHolder { get; }

    public static RunLock Acquire(string outputRoot, string runId)
    {
        Directory.CreateDirectory(outputRoot);
        var path = Path.Combine(outputRoot, "_lock");
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
                holder = File.ReadAllText(path).Trim();
            }
            catch (IOException)
            {
                holder = "unknown";
            }
            throw new PipelineException(ExitCodes.Locked,
                $"another pipeline run is using {outputRoot} ({(holder.Length == 0 ? "holder unknown" : holder)}); wait for it to finish");
        }
        var previous = new StreamReader(stream, Encoding.UTF8, leaveOpen: true).ReadToEnd().Trim();
        stream.SetLength(0);
        var text = Encoding.UTF8.GetBytes($"run {runId}, pid {Environment.ProcessId} on {Environment.MachineName}, since {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}\n");
        stream.Write(text);
        stream.Flush(flushToDisk: true);
        return new RunLock(stream, previous.Length == 0 ? null : previous);
    }

    public void Dispose()
    {
        // Empty the holder text first: an empty lock file means "released cleanly".
        _stream.SetLength(0);
        _stream.Flush();
        _stream.Dispose();
    }
}
