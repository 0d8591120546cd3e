using System.Globalization;
using CsvHelper;

namespace Pipeline.Exports;

/// <summary>The one CSV dialect the pipeline writes (the audience export, <c>pipeline query --format csv</c>).</summary>
internal static class CsvFormat
{
    /// <summary>
    /// RFC 4180 with CRLF line ends and the invariant culture; fields with leading or trailing blanks are quoted too,
    /// so no reader trims them. CsvHelper's own injection escaping is off: <see cref="SpreadsheetSafe"/> does it for
    /// text fields where a spreadsheet will open the file (the export), and numbers must stay numbers.
    /// </summary>
    public static readonly CsvWriterOptions Options = new()
    {
        FormatProvider = CultureInfo.InvariantCulture,
        Quoting = CsvQuoting.WhenNeededOrWhitespace,
        Injection = CsvInjection.None,
        NewLine = "\r\n",
        WriteByteOrderMark = false,
    };
}
