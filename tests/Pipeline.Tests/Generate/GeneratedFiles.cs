using System.Globalization;
using System.IO.Compression;
using System.Text;
using NUnit.Framework;

namespace Pipeline.Tests.Generate;

/// <summary>
/// An independent reader of the generated order files: decompresses gzip, strips a BOM, splits CRLF/LF,
/// parses RFC 4180 fields. Deliberately shares no code with the generator.
/// </summary>
internal static class GeneratedFiles
{
    public const string Header =
        "order_id,customer_id,ordered_at,status,currency,total_amount,discount_amount,shipping_amount,tax_amount,refunded_amount,email,channel";

    public sealed record FileRead(string Name, bool Bom, bool Crlf, bool Gzip, string HeaderLine, IReadOnlyList<string> Lines);

    public static IReadOnlyList<FileRead> ReadAll(string outputDirectory)
    {
        var dir = Path.Combine(outputDirectory, "orders");
        return Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal).Select(Read).ToList();
    }

    public static FileRead Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var gzip = bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;
        if (gzip)
        {
            using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            bytes = output.ToArray();
        }
        var bom = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF;
        var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, bom ? 3 : 0, bytes.Length - (bom ? 3 : 0));
        var crlf = text.Contains("\r\n", StringComparison.Ordinal);
        if (crlf && text.Replace("\r\n", "", StringComparison.Ordinal).Contains('\n', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: mixed line endings");
        }
        var lines = text.Split(crlf ? "\r\n" : "\n").ToList();
        if (lines[^1].Length != 0)
        {
            throw new InvalidDataException($"{path}: last line not terminated");
        }
        lines.RemoveAt(lines.Count - 1);
        return new FileRead(Path.GetFileName(path), bom, crlf, gzip, lines[0], lines.Skip(1).ToList());
    }

    /// <summary>RFC 4180 fields of one record (our records never span lines).</summary>
    public static string[] ParseCsv(string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        var i = 0;
        while (true)
        {
            sb.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new InvalidDataException("unterminated quote: " + line);
                    }
                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            sb.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    sb.Append(line[i++]);
                }
            }
            else
            {
                while (i < line.Length && line[i] != ',')
                {
                    sb.Append(line[i++]);
                }
            }
            fields.Add(sb.ToString());
            if (i >= line.Length)
            {
                return fields.ToArray();
            }
            if (line[i] != ',')
            {
                throw new InvalidDataException("garbage after quoted field: " + line);
            }
            i++;
        }
    }

    /// <summary>The accepted forms: ISO-8601 with/without offset, YYYY-MM-DD, epoch seconds (10 digits) or ms (13).</summary>
    public static bool TryParseInstant(string s, out DateTimeOffset value)
    {
        value = default;
        if (s.Length > 0 && s.All(char.IsAsciiDigit))
        {
            if (s.Length == 10)
            {
                value = DateTimeOffset.FromUnixTimeSeconds(long.Parse(s, CultureInfo.InvariantCulture));
                return true;
            }
            if (s.Length == 13)
            {
                value = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(s, CultureInfo.InvariantCulture));
                return true;
            }
            return false;
        }
        string[] formats = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd"];
        return DateTimeOffset.TryParseExact(s, formats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    public static bool TryParseAmount(string s, out decimal value) =>
        decimal.TryParse(s, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    public static decimal Amount(string s) =>
        TryParseAmount(s, out var v) ? v : throw new FormatException("not an amount: " + s);

    public static DateTimeOffset Instant(string s) =>
        TryParseInstant(s, out var v) ? v : throw new FormatException("not an instant: " + s);

    public static bool IsKnownStatus(string s) =>
        s.Equals("completed", StringComparison.OrdinalIgnoreCase)
        || s.Equals("cancelled", StringComparison.OrdinalIgnoreCase)
        || s.Equals("refunded", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every reason this 12-field row would be quarantined for (empty when valid).</summary>
    public static List<string> Faults(string[] f, DateTimeOffset futureAfter)
    {
        var reasons = new List<string>();
        if (f.Length != 12)
        {
            reasons.Add("malformed_row");
            return reasons;
        }
        if (f[0].Length == 0)
        {
            reasons.Add("missing_order_id");
        }
        if (!TryParseInstant(f[2], out var at))
        {
            reasons.Add("bad_timestamp");
        }
        else if (at > futureAfter)
        {
            reasons.Add("future_timestamp");
        }
        if (!TryParseAmount(f[5], out var total) || total < 0)
        {
            reasons.Add("bad_amount");
        }
        if (!IsKnownStatus(f[3]))
        {
            reasons.Add("unknown_status");
        }
        return reasons;
    }

    /// <summary>What a row-by-row recount of the order files finds (see <see cref="Recount"/>).</summary>
    public sealed record OrderRecount(long Rows, long ValidUnique, long Duplicates, long DuplicatesSameFile, long DuplicatesLaterFile,
        IReadOnlyDictionary<string, long> Quarantined);

    /// <summary>
    /// Classifies every order row of the files, in file order: its one fault, or a duplicate (an exact copy of the
    /// first row with its order_id, in the same or a later file), or a valid unique row.
    /// </summary>
    public static OrderRecount Recount(IReadOnlyList<FileRead> files, DateTimeOffset futureAfter)
    {
        var quarantined = new Dictionary<string, long>();
        var firstSeen = new Dictionary<string, (int File, string Line)>();
        long rows = 0, validUnique = 0, duplicates = 0, dupSame = 0, dupLater = 0;
        for (var fi = 0; fi < files.Count; fi++)
        {
            foreach (var line in files[fi].Lines)
            {
                rows++;
                var fields = ParseCsv(line);
                var reasons = Faults(fields, futureAfter);
                Assert.That(reasons, Has.Count.LessThanOrEqualTo(1), "each faulty row has exactly one fault: " + line);
                if (reasons.Count == 1)
                {
                    quarantined[reasons[0]] = quarantined.GetValueOrDefault(reasons[0]) + 1;
                    continue;
                }
                if (firstSeen.TryGetValue(fields[0], out var first))
                {
                    duplicates++;
                    Assert.That(line, Is.EqualTo(first.Line), "a duplicate is an exact copy");
                    Assert.That(fi, Is.GreaterThanOrEqualTo(first.File));
                    if (fi == first.File)
                    {
                        dupSame++;
                    }
                    else
                    {
                        dupLater++;
                    }
                }
                else
                {
                    firstSeen[fields[0]] = (fi, line);
                    validUnique++;
                }
            }
        }
        return new OrderRecount(rows, validUnique, duplicates, dupSame, dupLater, quarantined);
    }
}
