using System.Globalization;
using System.Text;

namespace Pipeline.Tests.Engine.Spark.Executing;

/// <summary>
/// Spark SQL's lexical rules, for the executing fake's translation to DuckDB: tokens keep the whitespace and comments
/// before them (so the translation keeps the statement's layout), string literals are decoded with Spark's escapes
/// (<c>spark.sql.parser.escapedStringLiterals=false</c>: <c>\'</c>, <c>\\</c>, <c>\n</c>, <c>\uXXXX</c>, …; both
/// <c>'…'</c> and <c>"…"</c> are strings), backticked identifiers are unquoted (<c>``</c> is one backtick), and the
/// multi-character operators are one token.
/// </summary>
internal static class SparkSqlLexer
{
    public enum Kind { Word, Identifier, String, Number, Symbol }

    /// <summary>One token: <see cref="Value"/> is the decoded string or identifier (the text otherwise); <see cref="Lead"/> the whitespace and comments before it.</summary>
    public sealed record Token(Kind Kind, string Text, string Value, string Lead)
    {
        public string Upper { get; } = Kind == Kind.Word ? Text.ToUpperInvariant() : Text;

        public bool Is(string word) => Kind == Kind.Word && Upper == word;

        public bool IsSymbol(string symbol) => Kind == Kind.Symbol && Text == symbol;
    }

    private static readonly string[] Operators = ["<=>", "<=", ">=", "<>", "!=", "==", "||", "->", "::", "&&"];

    public static List<Token> Tokenize(string sql)
    {
        var tokens = new List<Token>();
        var lead = new StringBuilder();
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c))
            {
                lead.Append(c);
                i++;
                continue;
            }
            if (c == '-' && At(sql, i + 1) == '-')
            {
                var end = sql.IndexOf('\n', i);
                end = end < 0 ? sql.Length : end;
                lead.Append(sql, i, end - i);
                i = end;
                continue;
            }
            if (c == '/' && At(sql, i + 1) == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? sql.Length : end + 2;
                lead.Append(sql, i, end - i);
                i = end;
                continue;
            }
            var start = i;
            Token token;
            if (c is '\'' or '"')
            {
                var value = new StringBuilder();
                i++;
                while (i < sql.Length && sql[i] != c)
                {
                    if (sql[i] == '\\' && i + 1 < sql.Length)
                    {
                        i = Unescape(sql, i, value);
                    }
                    else
                    {
                        value.Append(sql[i++]);
                    }
                }
                if (i >= sql.Length)
                {
                    throw new FormatException($"unterminated string literal at {start}");
                }
                i++;
                token = new Token(Kind.String, sql[start..i], value.ToString(), lead.ToString());
            }
            else if (c == '`')
            {
                var value = new StringBuilder();
                i++;
                while (true)
                {
                    if (i >= sql.Length)
                    {
                        throw new FormatException($"unterminated backticked identifier at {start}");
                    }
                    if (sql[i] == '`')
                    {
                        if (At(sql, i + 1) == '`')
                        {
                            value.Append('`');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    value.Append(sql[i++]);
                }
                token = new Token(Kind.Identifier, sql[start..i], value.ToString(), lead.ToString());
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(At(sql, i + 1))))
            {
                while (i < sql.Length && (char.IsAsciiLetterOrDigit(sql[i]) || sql[i] == '.'
                           || (sql[i] is '+' or '-' && sql[i - 1] is 'e' or 'E')))
                {
                    i++;
                }
                token = new Token(Kind.Number, sql[start..i], sql[start..i], lead.ToString());
            }
            else if (char.IsLetter(c) || c == '_' || c == '$')
            {
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$'))
                {
                    i++;
                }
                token = new Token(Kind.Word, sql[start..i], sql[start..i], lead.ToString());
            }
            else
            {
                var op = Operators.FirstOrDefault(o => string.CompareOrdinal(sql, i, o, 0, o.Length) == 0);
                i += op?.Length ?? 1;
                token = new Token(Kind.Symbol, sql[start..i], sql[start..i], lead.ToString());
            }
            tokens.Add(token);
            lead.Clear();
        }
        if (lead.Length > 0)
        {
            tokens.Add(new Token(Kind.Symbol, "", "", lead.ToString())); // trailing whitespace/comments
        }
        return tokens;
    }

    private static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    /// <summary>Spark's <c>unescapeSQLString</c> for the escape at <paramref name="i"/> (a backslash); returns the index after it.</summary>
    private static int Unescape(string sql, int i, StringBuilder value)
    {
        var n = sql[i + 1];
        if (n == 'u' && i + 5 < sql.Length && IsHex(sql.AsSpan(i + 2, 4)))
        {
            value.Append((char)int.Parse(sql.AsSpan(i + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            return i + 6;
        }
        if (n is >= '0' and <= '7' && i + 3 < sql.Length && sql[i + 2] is >= '0' and <= '7' && sql[i + 3] is >= '0' and <= '7')
        {
            value.Append((char)Convert.ToInt32(sql.Substring(i + 1, 3), 8));
            return i + 4;
        }
        value.Append(n switch
        {
            '0' => "\0",
            'b' => "\b",
            'n' => "\n",
            'r' => "\r",
            't' => "\t",
            'Z' => "\u001A",
            '%' => "\\%",
            '_' => "\\_",
            _ => n.ToString(),
        });
        return i + 2;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The index of the ')' closing the '(' at <paramref name="open"/>.</summary>
    public static int Close(IReadOnlyList<Token> t, int open)
    {
        var depth = 0;
        for (var i = open; i < t.Count; i++)
        {
            if (t[i].IsSymbol("("))
            {
                depth++;
            }
            else if (t[i].IsSymbol(")") && --depth == 0)
            {
                return i;
            }
        }
        throw new FormatException("unbalanced parentheses");
    }

    /// <summary>The top-level comma-separated ranges [from, to) of the tokens from <paramref name="from"/> to <paramref name="to"/> (exclusive).</summary>
    public static List<(int From, int To)> Split(IReadOnlyList<Token> t, int from, int to)
    {
        var parts = new List<(int, int)>();
        var depth = 0;
        var start = from;
        for (var i = from; i < to; i++)
        {
            if (t[i].IsSymbol("("))
            {
                depth++;
            }
            else if (t[i].IsSymbol(")"))
            {
                depth--;
            }
            else if (depth == 0 && t[i].IsSymbol(","))
            {
                parts.Add((start, i));
                start = i + 1;
            }
        }
        if (to > from)
        {
            parts.Add((start, to));
        }
        return parts;
    }
}
