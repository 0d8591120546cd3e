namespace Pipeline.Exports;

/// <summary>
/// Neutralises CSV/formula injection (OWASP "CSV Injection"): a text field that a spreadsheet would evaluate as a
/// formula gets a leading single quote, which spreadsheets show as text and do not evaluate.
/// <para>
/// A field is neutralised when it starts with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab or a carriage return
/// (OWASP's list), and also when such a character (or its full-width form ＝ ＋ － ＠) comes after leading
/// whitespace or line breaks: some spreadsheet and import tools trim leading blanks before deciding, so " =1+1" is
/// treated like "=1+1". Everything else is left byte for byte as it was. Numeric columns are written as numbers
/// and never pass through here; a text id that really starts with "-" or "+" therefore reads back with the quote.
/// </para>
/// </summary>
public static class SpreadsheetSafe
{
    private static readonly char[] Triggers = ['=', '+', '-', '@', '\uFF1D', '\uFF0B', '\uFF0D', '\uFF20'];

    /// <summary>True when a spreadsheet could read the text as a formula.</summary>
    public static bool IsDangerous(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        if (text[0] is '\t' or '\r')
        {
            return true;
        }
        var first = 0;
        while (first < text.Length && char.IsWhiteSpace(text[first]))
        {
            first++;
        }
        return first < text.Length && Array.IndexOf(Triggers, text[first]) >= 0;
    }

    /// <summary>The text to write: unchanged, or prefixed with a single quote when it is dangerous. NULL stays NULL.</summary>
    public static string? Neutralise(string? text) => IsDangerous(text) ? "'" + text : text;
}
