using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Core;

namespace Pipeline.Inputs;

/// <summary>One input file as found on disk, with what the engine needs to read it and the manifest needs to record it.</summary>
/// <param name="Path">Absolute path.</param>
/// <param name="Format">csv, jsonl or parquet.</param>
/// <param name="Bytes">Size on disk.</param>
/// <param name="Sha256">Hex SHA-256 of the bytes on disk (what was consumed; incremental runs compare it).</param>
/// <param name="Gzip">True when the file is gzip-compressed.</param>
/// <param name="Delimiter">CSV delimiter (sniffed or configured).</param>
/// <param name="Columns">Header names (CSV/Parquet) or the keys seen in the first lines (JSON lines).</param>
/// <param name="HasBom">True when the file starts with a UTF-8 byte-order mark.</param>
public sealed record InputFile(string Path, string Format, long Bytes, string Sha256, bool Gzip, char Delimiter, IReadOnlyList<string> Columns, bool HasBom);

/// <summary>How to find and sniff input files.</summary>
/// <param name="Format">auto, csv, jsonl or parquet.</param>
/// <param name="Delimiter">"auto" or one character.</param>
public sealed record InputOptions(string Format = "auto", string Delimiter = "auto");

/// <summary>
/// Turns the user's input arguments (files, directories, globs) into a sorted list of checked files. Everything
/// that can be known before the engine starts is checked here, so problems come out as one readable line with
/// exit code 3: missing paths, empty files, UTF-16 files, truncated gzip, unreadable headers.
/// </summary>
public static partial class InputResolver
{
    private static readonly string[] KnownSuffixes =
        [".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json", ".json.gz", ".parquet"];

    /// <param name="checksums">Checksums known from earlier runs (see <see cref="ChecksumStore"/>); null hashes every file.</param>
    public static IReadOnlyList<InputFile> Resolve(IReadOnlyList<string> inputs, InputOptions options, string what, ChecksumStore? checksums = null)
    {
        if (inputs.Count == 0)
        {
            throw PipelineException.Config($"no {what} input given: pass --input <file|dir|glob> or set {what}.input in the config");
        }
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var input in inputs)
        {
            foreach (var p in Expand(input, options.Format))
            {
                paths.Add(p);
            }
        }
        var files = new InputFile[paths.Count];
        var list = paths.ToList();
        // Checksumming and gzip verification read every byte: do files in parallel.
        try
        {
            Parallel.For(0, list.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) },
                i => files[i] = Probe(list[i], options, checksums));
        }
        catch (AggregateException e)
        {
            // Report the problem of the first file in path order, whichever thread found it first.
            throw e.InnerExceptions.OfType<PipelineException>().OrderBy(x => x.Message, StringComparer.Ordinal).FirstOrDefault()
                  ?? e.InnerExceptions[0];
        }
        return files;
    }

    /// <summary>Expands one argument to files. A directory means every known data file below it; a glob is matched as written.</summary>
    internal static IEnumerable<string> Expand(string input, string format)
    {
        var full = Path.GetFullPath(input);
        if (File.Exists(full))
        {
            return [full];
        }
        if (Directory.Exists(full))
        {
            var found = FilesBelow(full)
                .Where(f => !IsHidden(Path.GetRelativePath(full, f)) && IsDataFile(f, format))
                .ToList();
            if (found.Count == 0)
            {
                throw PipelineException.Input($"{input}: directory has no data files (looked for {string.Join(", ", KnownSuffixes)})");
            }
            return found;
        }
        if (input.IndexOfAny(['*', '?', '[']) >= 0)
        {
            var matches = Glob(full).ToList();
            if (matches.Count == 0)
            {
                throw PipelineException.Input($"{input}: no files match this pattern");
            }
            return matches;
        }
        throw PipelineException.Input($"{input}: no such file or directory");
    }

    /// <summary>
    /// Every file below <paramref name="root"/>, following symbolic links to directories except those that lead back to
    /// a directory the walk is already in (a link to an ancestor, such as <c>d/loop -> ../d</c>, or to a directory whose
    /// own link leads back): that directory's files are listed once, under their path without the link, instead of
    /// being listed again and again until the path gets too long. Broken links are listed (and refused by <see cref="Probe"/>, exit 3).
    /// </summary>
    private static IEnumerable<string> FilesBelow(string root)
    {
        var top = Path.TrimEndingDirectorySeparator(root).Length;
        var real = new Dictionary<string, string?>(StringComparer.Ordinal);
        string? Real(string path)
        {
            if (!real.TryGetValue(path, out var r))
            {
                real[path] = r = RealPath(path);
            }
            return r;
        }
        bool LeadsBack(string link, string parent)
        {
            if (RealPath(link) is not { } target)
            {
                return true; // a loop of links: the OS would refuse it too
            }
            var prefix = target.EndsWith(Path.DirectorySeparatorChar) ? target : target + Path.DirectorySeparatorChar;
            for (var dir = parent; dir.Length >= top; dir = Path.GetDirectoryName(dir) ?? "")
            {
                if (Real(dir) is { } r && (r == target || r.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    return true;
                }
            }
            return false;
        }
        return new System.IO.Enumeration.FileSystemEnumerable<string>(root, (ref System.IO.Enumeration.FileSystemEntry e) => e.ToFullPath(),
            new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0 })
        {
            ShouldIncludePredicate = (ref System.IO.Enumeration.FileSystemEntry e) => !e.IsDirectory,
            ShouldRecursePredicate = (ref System.IO.Enumeration.FileSystemEntry e) =>
                (e.Attributes & FileAttributes.ReparsePoint) == 0 || !LeadsBack(e.ToFullPath(), e.Directory.ToString()),
        };
    }

    /// <summary>The absolute path with every symbolic link in it resolved (like realpath(3)); null for a loop of links.</summary>
    internal static string? RealPath(string path)
    {
        var hops = 0;
        return Resolve(Path.GetFullPath(path));

        string? Resolve(string full)
        {
            var result = Path.GetPathRoot(full)!;
            foreach (var part in full[result.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
            {
                var next = Path.Combine(result, part);
                if (new FileInfo(next).LinkTarget is not { } target)
                {
                    result = next;
                    continue;
                }
                // `result` has no links left, so the target's ".." can be resolved by name.
                if (++hops > 40 || Resolve(Path.GetFullPath(target, result)) is not { } resolved)
                {
                    return null;
                }
                result = resolved;
            }
            return result;
        }
    }

    /// <summary>What is wrong with a symbolic link at <paramref name="path"/> that leads nowhere; null when it is not one.</summary>
    private static string? BrokenLink(string path)
    {
        if (new FileInfo(path).LinkTarget is not { } target)
        {
            return null;
        }
        return RealPath(path) switch
        {
            null => $"symbolic link in a loop of links ({target})",
            { } real when File.Exists(real) || Directory.Exists(real) => null,
            _ => $"broken symbolic link: what it points to ({target}) does not exist",
        };
    }

    /// <summary>
    /// The folder an input argument lists files from: an existing directory, or the fixed part of a glob before its
    /// first wildcard. Null for a file (only that file is read) or a path that is not there.
    /// </summary>
    public static string? ListedFolder(string input)
    {
        var full = Path.GetFullPath(input);
        var wild = full.IndexOfAny(['*', '?', '[']);
        if (wild >= 0)
        {
            return Path.TrimEndingDirectorySeparator(Path.GetDirectoryName(full[..wild] + "x")!);
        }
        return Directory.Exists(full) ? Path.TrimEndingDirectorySeparator(full) : null;
    }

    /// <summary>
    /// True when <see cref="Expand"/> of <paramref name="input"/> could list files inside <paramref name="folder"/>, a
    /// folder below the input's <see cref="ListedFolder"/>: a directory lists every folder below it that is not hidden;
    /// a glob those its directory segments match (any, from a <c>**</c> on).
    /// </summary>
    public static bool CouldList(string input, string folder)
    {
        var root = ListedFolder(input);
        if (root is null)
        {
            return false;
        }
        var relative = Path.GetRelativePath(root, Path.GetFullPath(folder));
        if (relative == "." || relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            return relative == ".";
        }
        var steps = relative.Split(Path.DirectorySeparatorChar);
        var full = Path.GetFullPath(input);
        if (full.IndexOfAny(['*', '?', '[']) < 0)
        {
            return !IsHidden(relative);
        }
        // The glob's segments after its fixed folder: the last names files, the others directories.
        var segments = full[root.Length..].TrimStart('/').Split('/');
        for (var i = 0; i < steps.Length; i++)
        {
            if (i >= segments.Length - 1)
            {
                return false;
            }
            if (segments[i].Contains("**", StringComparison.Ordinal))
            {
                return true;
            }
            if (!Regex.IsMatch(steps[i], "^" + GlobToRegex(segments[i]) + "$", RegexOptions.CultureInvariant))
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsHidden(string relative) =>
        relative.Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.') || part.StartsWith('_'));

    private static bool IsDataFile(string path, string format)
    {
        var name = Path.GetFileName(path).ToLowerInvariant();
        return format == "auto" ? KnownSuffixes.Any(name.EndsWith) : !name.EndsWith(".crc", StringComparison.Ordinal);
    }

    /// <summary>Glob with <c>*</c>, <c>?</c>, <c>[...]</c> within a path segment and <c>**</c> across segments.</summary>
    internal static IEnumerable<string> Glob(string pattern)
    {
        var firstWild = pattern.IndexOfAny(['*', '?', '[']);
        var root = Path.GetDirectoryName(pattern[..firstWild] + "x")!;
        if (!Directory.Exists(root))
        {
            return [];
        }
        var regex = new Regex("^" + GlobToRegex(pattern) + "$", RegexOptions.CultureInvariant);
        return FilesBelow(root).Where(f => regex.IsMatch(f));
    }

    private static string GlobToRegex(string glob)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                // "**/" matches zero or more directories.
                var slash = i + 2 < glob.Length && glob[i + 2] == '/';
                sb.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else
            {
                sb.Append(c switch
                {
                    '*' => "[^/]*",
                    '?' => "[^/]",
                    '[' => "[",
                    ']' => "]",
                    _ => Regex.Escape(c.ToString()),
                });
            }
        }
        return sb.ToString();
    }

    internal static string DetectFormat(string path, string configured)
    {
        if (configured != "auto")
        {
            return configured;
        }
        var name = Path.GetFileName(path).ToLowerInvariant();
        if (name.EndsWith(".gz", StringComparison.Ordinal))
        {
            name = name[..^3];
        }
        return Path.GetExtension(name) switch
        {
            ".parquet" => "parquet",
            ".jsonl" or ".ndjson" or ".json" => "jsonl",
            _ => "csv",
        };
    }

    private static InputFile Probe(string path, InputOptions options, ChecksumStore? checksums)
    {
        if (BrokenLink(path) is { } link)
        {
            throw PipelineException.Input($"{path}: {link}");
        }
        var format = DetectFormat(path, options.Format);
        var info = new FileInfo(path);
        if (info.Length == 0)
        {
            throw PipelineException.Input($"{path}: file is empty (0 bytes)");
        }
        var isGzip = false;
        try
        {
            using (var head = File.OpenRead(path))
            {
                Span<byte> magic = stackalloc byte[2];
                isGzip = head.Read(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
            }
            var sha = Checksum(path, isGzip, checksums);
            if (format == "parquet")
            {
                return new InputFile(path, format, info.Length, sha, false, ',', ParquetColumns(path), false);
            }
            var (firstLines, bom) = ReadFirstLines(path, isGzip, format == "jsonl" ? 100 : 1);
            if (firstLines.Count == 0 || firstLines[0].Length == 0 && firstLines.Count == 1)
            {
                throw PipelineException.Input($"{path}: file has no header line");
            }
            if (format == "jsonl")
            {
                return new InputFile(path, format, info.Length, sha, isGzip, ',', JsonKeys(firstLines), bom);
            }
            var header = firstLines[0];
            var delimiter = options.Delimiter == "auto" ? SniffDelimiter(header) : options.Delimiter[0];
            var columns = SplitHeader(header, delimiter);
            var duplicate = columns.GroupBy(c => c, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
            {
                throw PipelineException.Input($"{path}: header names column '{duplicate.Key}' more than once");
            }
            if (columns.Any(c => c.Length == 0))
            {
                throw PipelineException.Input($"{path}: header has an empty column name (is the delimiter right? sniffed '{Printable(delimiter)}')");
            }
            return new InputFile(path, format, info.Length, sha, isGzip, delimiter, columns, bom);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw PipelineException.Input($"{path}: cannot be read ({e.Message})", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw PipelineException.Input($"{path}: permission denied", e);
        }
        catch (InvalidDataException e)
        {
            throw PipelineException.Input($"{path}: corrupt gzip data ({e.Message})", e);
        }
    }

    /// <summary>
    /// SHA-256 of the bytes on disk. For gzip files the content is also inflated and its length compared with the
    /// gzip trailer: DuckDB (like many readers) silently stops at a truncated gzip member, which would lose rows.
    /// </summary>
    private static string Checksum(string path, bool isGzip, ChecksumStore? checksums)
    {
        // Each unchanged file (same size and modification time) is hashed once across runs with a store, and once per
        // process (`pipeline run` fingerprints a stage's inputs before running it, and the stage resolves them again).
        var info = new FileInfo(path);
        if (checksums?.Known(path, info.Length, info.LastWriteTimeUtc) is { } stored)
        {
            return stored;
        }
        var key = (path, info.Length, info.LastWriteTimeUtc.Ticks);
        if (!ChecksumCache.TryGetValue(key, out var known))
        {
            known = (ComputeChecksum(path, isGzip), DateTime.UtcNow);
            ChecksumCache[key] = known;
        }
        checksums?.Record(path, info.Length, info.LastWriteTimeUtc, known.Sha256, known.HashedAtUtc);
        return known.Sha256;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, long, long), (string Sha256, DateTime HashedAtUtc)> ChecksumCache = new();

    private static string ComputeChecksum(string path, bool isGzip)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        using var file = File.OpenRead(path);
        if (!isGzip)
        {
            int n;
            while ((n = file.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
            }
            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        var tee = new HashingStream(file, hash);
        long inflated = 0;
        using (var gz = new GZipStream(tee, CompressionMode.Decompress, leaveOpen: true))
        {
            int n;
            while ((n = gz.Read(buffer)) > 0)
            {
                inflated += n;
            }
        }
        tee.Drain(buffer);
        if (file.Length < 18)
        {
            throw PipelineException.Input($"{path}: gzip file is truncated");
        }
        var isize = GzipTrailerSize(file);
        if (isize != (uint)inflated)
        {
            throw PipelineException.Input(
                $"{path}: gzip data is truncated or corrupt (inflated {inflated} bytes, trailer says {isize}); concatenated multi-member gzip files are not supported either: recompress with gzip");
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// A gzip file's ISIZE (its last 4 bytes): the inflated size modulo 2^32. Checked against the inflated bytes when
    /// the file's checksum is computed, so on a resolved file it is exact below 4 GiB of text. Leaves the stream at its end.
    /// </summary>
    internal static uint GzipTrailerSize(Stream file)
    {
        Span<byte> trailer = stackalloc byte[4];
        file.Seek(-4, SeekOrigin.End);
        file.ReadExactly(trailer);
        return BinaryPrimitives.ReadUInt32LittleEndian(trailer);
    }

    private static (List<string> Lines, bool Bom) ReadFirstLines(string path, bool isGzip, int count)
    {
        using var file = File.OpenRead(path);
        using Stream s = isGzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        var probe = new byte[4];
        var got = s.ReadAtLeast(probe, 4, throwOnEndOfStream: false);
        if (got >= 2 && (probe[0] == 0xFF && probe[1] == 0xFE || probe[0] == 0xFE && probe[1] == 0xFF))
        {
            throw PipelineException.Input($"{path}: file is UTF-16; convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)");
        }
        var bom = got >= 3 && probe[0] == 0xEF && probe[1] == 0xBB && probe[2] == 0xBF;
        var prefix = new MemoryStream(probe, bom ? 3 : 0, got - (bom ? 3 : 0));
        using var reader = new StreamReader(new ConcatStream(prefix, s), new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false);
        var lines = new List<string>();
        while (lines.Count < count && reader.ReadLine() is { } line)
        {
            if (line.Length > 0 || lines.Count == 0)
            {
                lines.Add(line);
            }
        }
        return (lines, bom);
    }

    internal static char SniffDelimiter(string header)
    {
        // The header of a real export has its delimiter between every pair of names: the most frequent candidate
        // outside quotes wins; a one-column file is read as comma-separated.
        char[] candidates = [',', ';', '\t', '|'];
        var best = ',';
        var bestCount = 0;
        foreach (var c in candidates)
        {
            var count = 0;
            var quoted = false;
            foreach (var ch in header)
            {
                if (ch == '"')
                {
                    quoted = !quoted;
                }
                else if (ch == c && !quoted)
                {
                    count++;
                }
            }
            if (count > bestCount)
            {
                best = c;
                bestCount = count;
            }
        }
        return best;
    }

    internal static List<string> SplitHeader(string header, char delimiter)
    {
        var result = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < header.Length; i++)
        {
            var ch = header[i];
            if (ch == '"')
            {
                if (quoted && i + 1 < header.Length && header[i + 1] == '"')
                {
                    sb.Append('"');
                    i++;
                }
                else
                {
                    quoted = !quoted;
                }
            }
            else if (ch == delimiter && !quoted)
            {
                result.Add(sb.ToString().Trim());
                sb.Clear();
            }
            else
            {
                sb.Append(ch);
            }
        }
        result.Add(sb.ToString().Trim().TrimEnd('\r'));
        return result;
    }

    private static List<string> JsonKeys(List<string> lines)
    {
        var keys = new List<string>();
        foreach (var line in lines)
        {
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in doc.RootElement.EnumerateObject())
                    {
                        if (!keys.Contains(p.Name))
                        {
                            keys.Add(p.Name);
                        }
                    }
                }
            }
            catch (JsonException)
            {
                // A malformed line is the engine's business (quarantined as malformed_row); keys come from the others.
            }
        }
        return keys;
    }

    private static List<string> ParquetColumns(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var reader = Parquet.ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            try
            {
                return reader.Schema.Fields.Select(f => f.Name).ToList();
            }
            finally
            {
                reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is not PipelineException)
        {
            throw PipelineException.Input($"{path}: not a readable Parquet file ({e.Message.Split('\n')[0]})", e);
        }
    }

    private static string Printable(char c) => c == '\t' ? "\\t" : c.ToString();

    /// <summary>Passes reads through while hashing them, so one read of a gzip file both checksums and inflates it.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, count);
            hash.AppendData(buffer, offset, n);
            return n;
        }

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            hash.AppendData(buffer[..n]);
            return n;
        }

        /// <summary>Hashes whatever the decompressor did not read (trailing bytes after the gzip member).</summary>
        public void Drain(byte[] buffer)
        {
            int n;
            while ((n = Read(buffer, 0, buffer.Length)) > 0)
            {
            }
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class ConcatStream(Stream first, Stream second) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = first.Read(buffer, offset, count);
            return n > 0 ? n : second.Read(buffer, offset, count);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
