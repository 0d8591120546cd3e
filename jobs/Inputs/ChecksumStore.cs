using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Pipeline.Inputs;

/// <summary>
/// The checksums of input files already read, kept in the output directory (<c>_checksums.tsv</c>) so that a nightly
/// run does not read the whole history again to learn that it has not changed. Without it, an incremental run at ten
/// million events spent as long hashing a year of unchanged event files (4.4 GB) as cleaning its new day; gzipped files
/// are also inflated to check their trailer, so the cost grows with the history, not with the new data.
/// <para>
/// A stored checksum is trusted for a file whose size and modification time (to the tick) are what they were when it
/// was hashed, the rule of <c>make</c>, rsync's quick check and git's index. Like git, it guards against the one race
/// that rule has: a file hashed in the same instant it was written could be rewritten, same size, without its
/// modification time moving; such a file (modified less than <see cref="RacyWindow"/> before it was hashed) is not
/// stored and is hashed again next time. <c>pipeline run --full-refresh</c> trusts nothing stored and hashes every file.
/// </para>
/// </summary>
public sealed class ChecksumStore
{
    /// <summary>A file modified this close to its hashing is hashed again next time (see the class comment).</summary>
    public static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);

    /// <summary>The store's file name in the output directory.</summary>
    public const string FileName = "_checksums.tsv";

    private const string Header = "path\tbytes\tmodified_ticks\tsha256";

    private readonly string _path;
    private readonly bool _trusted;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private int _changed;

    private readonly record struct Entry(long Bytes, long ModifiedTicks, string Sha256);

    private ChecksumStore(string path, bool trusted)
    {
        _path = path;
        _trusted = trusted;
    }

    /// <summary>
    /// The store of an output directory. A missing or unreadable file is an empty store (the checksums are then
    /// computed again: the store only ever saves work). <paramref name="trustStored"/> false ignores what is stored
    /// (and rewrites it from what this run hashes).
    /// </summary>
    public static ChecksumStore Open(string outputDirectory, bool trustStored = true)
    {
        var store = new ChecksumStore(Path.Combine(outputDirectory, FileName), trustStored);
        if (!trustStored || !File.Exists(store._path))
        {
            return store;
        }
        try
        {
            foreach (var line in File.ReadLines(store._path).Skip(1))
            {
                var f = line.Split('\t');
                if (f.Length == 4
                    && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var bytes)
                    && long.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                    && f[3].Length == 64)
                {
                    store._entries[f[0]] = new Entry(bytes, ticks, f[3]);
                }
            }
        }
        catch (IOException)
        {
            store._entries.Clear();
        }
        return store;
    }

    /// <summary>The stored checksum of <paramref name="path"/> if its size and modification time are unchanged.</summary>
    public string? Known(string path, long bytes, DateTime modifiedUtc) =>
        _trusted && _entries.TryGetValue(path, out var e) && e.Bytes == bytes && e.ModifiedTicks == modifiedUtc.Ticks ? e.Sha256 : null;

    /// <summary>Records a checksum computed at <paramref name="hashedAtUtc"/> (not kept when the file was modified just before).</summary>
    public void Record(string path, long bytes, DateTime modifiedUtc, string sha256, DateTime hashedAtUtc)
    {
        // A path with a tab or a line break would break its line of the store: such a file is hashed every time.
        if (hashedAtUtc - modifiedUtc < RacyWindow || path.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
        {
            if (_entries.TryRemove(path, out _))
            {
                Interlocked.Exchange(ref _changed, 1);
            }
            return;
        }
        var entry = new Entry(bytes, modifiedUtc.Ticks, sha256);
        if (!_entries.TryGetValue(path, out var old) || old != entry)
        {
            _entries[path] = entry;
            Interlocked.Exchange(ref _changed, 1);
        }
    }

    /// <summary>
    /// Writes the store if this run changed it (atomically: a killed run leaves the old one), dropping files that no
    /// longer exist. Best effort: a store that cannot be written only costs the next run its hashing.
    /// </summary>
    public void Save()
    {
        if (_changed == 0)
        {
            return;
        }
        var text = new StringBuilder(Header).Append('\n');
        foreach (var (path, e) in _entries.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (File.Exists(path))
            {
                text.Append(path).Append('\t').Append(e.Bytes.ToString(CultureInfo.InvariantCulture)).Append('\t')
                    .Append(e.ModifiedTicks.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(e.Sha256).Append('\n');
            }
        }
        try
        {
            Publishing.OutputStore.WriteAtomically(_path, text.ToString());
            _changed = 0;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
