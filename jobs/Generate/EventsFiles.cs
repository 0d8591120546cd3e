using System.Globalization;
using System.IO.Compression;

namespace Pipeline.Generate;

/// <summary>
/// The delivered event files, one per UTC day of the period, all open at once (their number is bounded by the
/// period length, not by the number of events). Each file has a small byte buffer of its own; lines are ASCII.
/// With <c>variety</c>: every 7th file is gzipped (<c>.jsonl.gz</c>) and one file (the middle one) uses CRLF.
/// </summary>
internal sealed class EventFiles : IDisposable
{
    private readonly Sink[] _files;

    public EventFiles(string eventsDirectory, DateOnly start, int days, bool variety)
    {
        Directory.CreateDirectory(eventsDirectory);
        DeleteStale(eventsDirectory);
        var crlfIndex = -1;
        if (variety)
        {
            crlfIndex = days / 2;
            if (IsGzipIndex(crlfIndex) && crlfIndex > 0)
            {
                crlfIndex--;
            }
        }
        _files = new Sink[days];
        try
        {
            for (var i = 0; i < days; i++)
            {
                var gzip = variety && IsGzipIndex(i);
                var name = string.Create(CultureInfo.InvariantCulture, $"events-{start.AddDays(i):yyyy-MM-dd}.jsonl{(gzip ? ".gz" : "")}");
                _files[i] = new Sink(Path.Combine(eventsDirectory, name), name, crlf: i == crlfIndex, gzip);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    private static bool IsGzipIndex(int i) => i % 7 == 6;

    public static void DeleteStale(string eventsDirectory)
    {
        if (!Directory.Exists(eventsDirectory))
        {
            return;
        }
        foreach (var stale in Directory.EnumerateFiles(eventsDirectory, "events-*.jsonl*"))
        {
            File.Delete(stale);
        }
    }

    public int Count => _files.Length;

    public void WriteLine(int fileIndex, ReadOnlySpan<byte> line) => _files[fileIndex].WriteLine(line);

    public IReadOnlyList<EventFileInfo> Describe() =>
        _files.Select(f => new EventFileInfo(f.Name, f.Crlf, f.Gzip, f.Rows)).ToList();

    public long TotalRows => _files.Sum(f => f.Rows);

    /// <summary>Flushes and closes every file (errors surface here, not silently in Dispose).</summary>
    public void Complete()
    {
        foreach (var f in _files)
        {
            f.Complete();
        }
    }

    public void Dispose()
    {
        foreach (var f in _files)
        {
            f?.Dispose();
        }
    }

    private sealed class Sink : IDisposable
    {
        private const int BufferSize = 64 * 1024;
        private readonly FileStream _file;
        private readonly GZipStream? _gzip;
        private readonly Stream _target;
        private byte[]? _buffer;
        private int _used;
        private bool _completed;

        public Sink(string path, string name, bool crlf, bool gzip)
        {
            Name = name;
            Crlf = crlf;
            Gzip = gzip;
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 0);
            _target = _file;
            if (gzip)
            {
                _gzip = new GZipStream(_file, CompressionLevel.Fastest, leaveOpen: true);
                _target = _gzip;
            }
        }

        public string Name { get; }
        public bool Crlf { get; }
        public bool Gzip { get; }
        public long Rows { get; private set; }

        public void WriteLine(ReadOnlySpan<byte> line)
        {
            _buffer ??= new byte[BufferSize];
            var need = line.Length + 2;
            if (_used + need > _buffer.Length)
            {
                Flush();
            }
            if (need > _buffer.Length)
            {
                _target.Write(line);
                _target.Write(Crlf ? "\r\n"u8 : "\n"u8);
            }
            else
            {
                line.CopyTo(_buffer.AsSpan(_used));
                _used += line.Length;
                if (Crlf)
                {
                    _buffer[_used++] = (byte)'\r';
                }
                _buffer[_used++] = (byte)'\n';
            }
            Rows++;
        }

        private void Flush()
        {
            if (_used > 0)
            {
                _target.Write(_buffer!, 0, _used);
                _used = 0;
            }
        }

        /// <summary>Flush and close in order: buffer, gzip trailer, file. Idempotent.</summary>
        public void Complete()
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            try
            {
                Flush();
            }
            finally
            {
                _gzip?.Dispose();
                _file.Dispose();
            }
        }

        public void Dispose()
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            _gzip?.Dispose();
            _file.Dispose();
        }
    }
}
