using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Pipeline.Generate;

/// <summary>
/// The delivered order files, one per calendar month of the period, all open at once (their number is bounded
/// by the period length, not by the number of orders). Tracks the data-row count of each file.
/// </summary>
internal sealed class OrderFiles : IDisposable
{
    private readonly FileSink[] _files;
    private readonly DateOnly _firstMonth;

    public OrderFiles(string ordersDirectory, DateOnly start, DateOnly end, bool variety)
    {
        Directory.CreateDirectory(ordersDirectory);
        foreach (var stale in Directory.EnumerateFiles(ordersDirectory, "orders-*.csv*"))
        {
            File.Delete(stale);
        }

        _firstMonth = new DateOnly(start.Year, start.Month, 1);
        var months = (end.Year - start.Year) * 12 + end.Month - start.Month + 1;
        // File-level variety (faults mode only): first file with a BOM, the middle one with CRLF, the last gzipped.
        // With fewer than 3 months the flags share files.
        var bomIndex = variety ? 0 : -1;
        var crlfIndex = variety ? months / 2 : -1;
        var gzipIndex = variety ? months - 1 : -1;

        _files = new FileSink[months];
        try
        {
            for (var i = 0; i < months; i++)
            {
                var month = _firstMonth.AddMonths(i);
                var gzip = i == gzipIndex;
                var name = string.Create(CultureInfo.InvariantCulture, $"orders-{month:yyyy-MM}.csv{(gzip ? ".gz" : "")}");
                _files[i] = new FileSink(Path.Combine(ordersDirectory, name), name, bom: i == bomIndex, crlf: i == crlfIndex, gzip);
                _files[i].WriteHeader(OrderGenerator.HeaderLine);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Count => _files.Length;

    /// <summary>Index of the file holding orders of the given UTC instant's month (clamped to the period's files).</summary>
    public int IndexOf(DateTime utc)
    {
        var index = (utc.Year - _firstMonth.Year) * 12 + utc.Month - _firstMonth.Month;
        return Math.Clamp(index, 0, _files.Length - 1);
    }

    public void WriteRow(int fileIndex, ReadOnlySpan<char> line) => _files[fileIndex].WriteRow(line);

    public IReadOnlyList<OrderFileInfo> Describe() =>
        _files.Select(f => new OrderFileInfo(f.Name, f.Bom, f.Crlf, f.Gzip, f.Rows)).ToList();

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

    private sealed class FileSink : IDisposable
    {
        private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        private readonly FileStream _file;
        private readonly GZipStream? _gzip;
        private readonly StreamWriter _writer;
        private readonly string _newline;
        private bool _completed;

        public FileSink(string path, string name, bool bom, bool crlf, bool gzip)
        {
            Name = name;
            Bom = bom;
            Crlf = crlf;
            Gzip = gzip;
            _newline = crlf ? "\r\n" : "\n";
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
            Stream target = _file;
            if (gzip)
            {
                _gzip = new GZipStream(_file, CompressionLevel.Fastest, leaveOpen: true);
                target = _gzip;
            }
            if (bom)
            {
                target.Write(Encoding.UTF8.Preamble);
            }
            _writer = new StreamWriter(target, Utf8NoBom, 1 << 16, leaveOpen: true);
        }

        public string Name { get; }
        public bool Bom { get; }
        public bool Crlf { get; }
        public bool Gzip { get; }
        public long Rows { get; private set; }

        public void WriteHeader(string header)
        {
            _writer.Write(header);
            _writer.Write(_newline);
        }

        public void WriteRow(ReadOnlySpan<char> line)
        {
            _writer.Write(line);
            _writer.Write(_newline);
            Rows++;
        }

        /// <summary>Flush and close in order: writer, gzip trailer, file. Idempotent.</summary>
        public void Complete()
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            _writer.Dispose();
            _gzip?.Dispose();
            _file.Dispose();
        }

        public void Dispose() => Complete();
    }
}
