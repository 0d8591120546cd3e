using System.Globalization;
using System.Security.Cryptography;
using Pipeline.Inputs;
using Pipeline.Publishing;

namespace Pipeline.Runs;

/// <summary>
/// One invocation against an output directory, whatever it runs (one stage, a whole <c>pipeline run</c>, an export):
/// takes the directory's lock, recovers what an earlier run left half done, and gives each stage run inside it its
/// <see cref="JobRun"/>. The single-stage verbs and <c>pipeline run</c> both open their work through it.
/// </summary>
public sealed class RunSession : IDisposable
{
    private readonly RunLock _lock;

    private RunSession(string output, string runId, RunLock runLock, bool trustChecksums)
    {
        Store = new OutputStore(output);
        Checksums = ChecksumStore.Open(Store.Root, trustChecksums);
        RunId = runId;
        _lock = runLock;
    }

    /// <summary>The session's run id (a single-stage verb's run id; <c>pipeline run</c>'s parent id).</summary>
    public string RunId { get; }

    public OutputStore Store { get; }

    /// <summary>Checksums of the input files earlier runs into this output read (saved when the session ends).</summary>
    public ChecksumStore Checksums { get; }

    /// <summary>Takes the lock (exit 5 when another run holds it) and recovers what an interrupted run left.</summary>
    /// <param name="trustChecksums">False hashes every input file again (<c>--full-refresh</c>) instead of trusting
    /// the checksums stored for files whose size and modification time are unchanged.</param>
    public static RunSession Open(string output, Log log, bool trustChecksums = true)
    {
        var runId = NewRunId();
        var runLock = RunLock.Acquire(output, runId);
        try
        {
            var session = new RunSession(output, runId, runLock, trustChecksums);
            log.RunId = runId;
            if (runLock.PreviousHolder is not null)
            {
                log.Warn($"the previous run did not finish cleanly ({runLock.PreviousHolder}); recovering");
            }
            foreach (var note in session.Store.Recover())
            {
                log.Info(note);
            }
            return session;
        }
        catch
        {
            runLock.Dispose();
            throw;
        }
    }

    /// <summary>Starts a stage run inside this session, under its lock, with its own run id and manifest.</summary>
    public JobRun StartJob(Config.PipelineConfig config, string command, Log log, string runId, DateTimeOffset now) =>
        new(config, command, log, now, runId, Store);

    /// <summary>Writes a manifest atomically (a killed run never leaves half a manifest).</summary>
    public void WriteManifest(RunManifest manifest) => OutputStore.WriteAtomically(Store.ManifestPath(manifest.RunId), manifest.ToJson());

    /// <summary>A new run id: the start time to the second, then 6 random hex digits.</summary>
    public static string NewRunId() =>
        DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    public void Dispose()
    {
        // Under the lock: the store is the output directory's, like the manifests.
        Checksums.Save();
        _lock.Dispose();
    }
}
