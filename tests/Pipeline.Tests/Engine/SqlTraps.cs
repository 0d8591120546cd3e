using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Engine;

namespace Pipeline.Tests.Engine;

/// <summary>
/// Finds the known Spark-vs-DuckDB traps in rendered SQL. String literals are blanked first (with the dialect's own
/// quoting rules), so regex text inside literals never counts. Each rule returns human-readable findings.
/// </summary>
public static partial class SqlTraps
{
    /// <summary>Rules every stage follows in every dialect (see ISqlDialect's summary).</summary>
    public static List<string> Portable(string sql, bool spark)
    {
        var code = Code(sql, spark, out _);
        var findings = new List<string>();
        if (Qualify().IsMatch(code))
        {
            findings.Add("QUALIFY (not in OSS Spark): filter a window in a subquery instead");
        }
        findings.AddRange(CountDistinctOver(code));
        findings.AddRange(OrderByWithoutNulls(code));
        return findings;
    }

    /// <summary>The Spark-specific traps in a Spark rendering made with <see cref="MarkingDialect"/>.</summary>
    public static List<string> Spark(string sql)
    {
        var findings = Portable(sql, spark: true);
        var marked = Code(sql, spark: true, out var literalProblems);
        findings.AddRange(literalProblems);
        // datediff(end, start): only ever written by the dialect's DaysBetween (end first), never by hand.
        if (DateDiffCall().IsMatch(DaysBetweenMarked().Replace(marked, " ")))
        {
            findings.Add("datediff/date_diff written outside ISqlDialect.DaysBetween (Spark's datediff takes the END date first)");
        }
        var code = Comment().Replace(marked, " ");
        // Arrays: 0-based subscripts vs 1-based element_at / DuckDB lists — no stage indexes arrays.
        if (code.Contains('[', StringComparison.Ordinal) || ArrayFunction().IsMatch(code))
        {
            findings.Add("array indexing or list functions (Spark arr[0] is 0-based, element_at 1-based, DuckDB list[1] 1-based)");
        }
        // ANSI mode: a conversion that can fail must be a try_ function where bad input has to become NULL.
        foreach (Match m in NonTryConversion().Matches(code))
        {
            var args = Arguments(code, m.Index + m.Length - 1);
            if (m.Groups["fn"].Value.Equals("cast", StringComparison.OrdinalIgnoreCase))
            {
                var target = CastTarget().Match(args);
                if (target.Success && target.Groups[1].Value.ToUpperInvariant() is not ("STRING" or "BINARY") && RawStringColumn().IsMatch(args))
                {
                    findings.Add($"CAST of a raw string column under ANSI mode raises on bad values; use try_cast: cast({Short(args)})");
                }
            }
            else
            {
                findings.Add($"{m.Groups["fn"].Value}(...) raises on bad input under ANSI mode; use the try_ variant: {Short(args)}");
            }
        }
        foreach (Match m in DuckDbOnly().Matches(code))
        {
            findings.Add($"DuckDB-only spelling '{m.Value.Trim()}'");
        }
        if (code.Contains('"', StringComparison.Ordinal))
        {
            findings.Add("double quotes: a string literal in Spark, not an identifier (use ISqlDialect.Id)");
        }
        return findings;
    }

    /// <summary>The SQL with string literals replaced by <c>''</c> (and comments kept for the dialect markers).</summary>
    public static string Code(string sql, bool spark, out List<string> literalProblems)
    {
        literalProblems = [];
        var sb = new StringBuilder(sql.Length);
        for (var i = 0; i < sql.Length; i++)
        {
            var c = sql[i];
            if (c == '\'')
            {
                var start = i;
                i++;
                while (i < sql.Length)
                {
                    if (spark && sql[i] == '\\')
                    {
                        i += 2;
                        continue;
                    }
                    if (sql[i] == '\'')
                    {
                        if (!spark && i + 1 < sql.Length && sql[i + 1] == '\'')
                        {
                            i += 2; // DuckDB: '' is an escaped quote
                            continue;
                        }
                        break;
                    }
                    i++;
                }
                if (spark && i + 1 < sql.Length && sql[i + 1] == '\'')
                {
                    literalProblems.Add($"'' inside a Spark string literal ends it (adjacent literals concatenate; escape quotes as \\'): {Short(sql.Substring(start, Math.Min(60, sql.Length - start)))}");
                }
                sb.Append("''");
            }
            else if (c == '`')
            {
                var end = sql.IndexOf('`', i + 1);
                end = end < 0 ? sql.Length - 1 : end;
                sb.Append("`x`");
                i = end;
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end;
                sb.Append('\n');
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    private static IEnumerable<string> CountDistinctOver(string code)
    {
        foreach (Match m in CountDistinct().Matches(code))
        {
            var open = code.IndexOf('(', m.Index);
            var close = Close(code, open);
            if (close > 0 && Over().IsMatch(code[(close + 1)..]))
            {
                yield return "COUNT(DISTINCT …) OVER (…) fails on Spark: count distinct per group in a subquery";
            }
        }
    }

    private static IEnumerable<string> OrderByWithoutNulls(string code)
    {
        foreach (Match m in OrderBy().Matches(code))
        {
            var depth = 0;
            var item = new StringBuilder();
            var items = new List<string>();
            var i = m.Index + m.Length;
            for (; i < code.Length; i++)
            {
                var c = code[i];
                if (c == '(')
                {
                    depth++;
                }
                else if (c == ')')
                {
                    if (depth == 0)
                    {
                        break;
                    }
                    depth--;
                }
                else if (c == ',' && depth == 0)
                {
                    items.Add(item.ToString());
                    item.Clear();
                    continue;
                }
                if (depth == 0 && ClauseEnd().IsMatch(code.AsSpan(i, Math.Min(12, code.Length - i))) && (i == 0 || !char.IsLetterOrDigit(code[i - 1]) && code[i - 1] != '_'))
                {
                    break;
                }
                item.Append(c);
            }
            items.Add(item.ToString());
            foreach (var it in items.Select(s => s.Trim()).Where(s => s.Length > 0))
            {
                if (!NullsOrder().IsMatch(it))
                {
                    yield return $"ORDER BY item without NULLS FIRST/LAST (Spark sorts NULLs first ascending, DuckDB last): '{Short(it)}'";
                }
            }
        }
    }

    private static int Close(string code, int open)
    {
        var depth = 0;
        for (var i = open; i < code.Length; i++)
        {
            if (code[i] == '(')
            {
                depth++;
            }
            else if (code[i] == ')' && --depth == 0)
            {
                return i;
            }
        }
        return -1;
    }

    private static string Arguments(string code, int open)
    {
        var close = Close(code, open);
        return close < 0 ? code[(open + 1)..] : code[(open + 1)..close];
    }

    private static string Short(string s)
    {
        var one = Regex.Replace(s, @"\s+", " ").Trim();
        return one.Length > 80 ? one[..80] + "…" : one;
    }

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comment();

    [GeneratedRegex(@"\bQUALIFY\b", RegexOptions.IgnoreCase)]
    private static partial Regex Qualify();

    [GeneratedRegex(@"\bcount\s*\(\s*distinct\b", RegexOptions.IgnoreCase)]
    private static partial Regex CountDistinct();

    [GeneratedRegex(@"^\s*OVER\b", RegexOptions.IgnoreCase)]
    private static partial Regex Over();

    [GeneratedRegex(@"\bORDER\s+BY\b", RegexOptions.IgnoreCase)]
    private static partial Regex OrderBy();

    [GeneratedRegex(@"^(ROWS|RANGE|LIMIT|OFFSET|UNION|EXCEPT|INTERSECT|WINDOW|FROM|WHERE|GROUP|HAVING|SELECT)\b", RegexOptions.IgnoreCase)]
    private static partial Regex ClauseEnd();

    [GeneratedRegex(@"\bNULLS\s+(FIRST|LAST)$", RegexOptions.IgnoreCase)]
    private static partial Regex NullsOrder();

    [GeneratedRegex(@"/\*<DaysBetween>\*/.*?/\*</DaysBetween>\*/", RegexOptions.Singleline)]
    private static partial Regex DaysBetweenMarked();

    [GeneratedRegex(@"\bdate_?diff\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex DateDiffCall();

    [GeneratedRegex(@"\b(element_at|split|list_\w+|array_\w+|unnest|explode)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex ArrayFunction();

    [GeneratedRegex(@"(?<![\w.])(?<fn>cast|to_timestamp|to_date|to_unix_timestamp|unix_timestamp|to_number|make_date|make_timestamp)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex NonTryConversion();

    [GeneratedRegex(@"\bAS\s+([A-Za-z]+)", RegexOptions.IgnoreCase)]
    private static partial Regex CastTarget();

    // Raw input columns are the *_s strings of the typed stage and the raw text.
    [GeneratedRegex(@"\b\w+_s\b|\b_raw\b")]
    private static partial Regex RawStringColumn();

    [GeneratedRegex(@"::|\bTIMESTAMPTZ\b|\bVARCHAR\b(?!\s*\()|\bBLOB\b|\bHUGEINT\b|\bregexp_full_match\s*\(|\bregexp_matches\s*\(|\btry_strptime\s*\(|\bstrptime\s*\(|\bepoch_(us|ms|ns)\s*\(|\bepoch\s*\(|\bsha256\s*\(|\btimezone\s*\(|\bread_parquet\s*\(|\bread_csv\w*\s*\(|\bGROUP\s+BY\s+ALL\b|\bGLOB\b|\bjson_extract\w*\s*\(|\bstrftime\s*\(|\bEXCLUDE\s*\(|\blist_value\s*\(|//", RegexOptions.IgnoreCase)]
    private static partial Regex DuckDbOnly();
}

/// <summary>
/// Delegates to a dialect and brackets what some methods return with comments naming the method, so a test can
/// tell dialect-made SQL (e.g. <c>datediff(end, start)</c> from DaysBetween) from SQL a stage wrote by hand.
/// </summary>
public sealed class MarkingDialect(ISqlDialect inner) : ISqlDialect
{
    public string Name => inner.Name;
    public string Id(string identifier) => inner.Id(identifier);
    public string Str(string value) => inner.Str(value);
    public string ParseTimestamp(string expr, string sourceTimeZone, string? customFormat) => inner.ParseTimestamp(expr, sourceTimeZone, customFormat);
    public string TryDecimal(string expr) => inner.TryDecimal(expr);
    public string TryDate(string expr) => inner.TryDate(expr);
    public string TimestampLiteral(DateTimeOffset value) => inner.TimestampLiteral(value);
    public string DateLiteral(DateOnly value) => inner.DateLiteral(value);
    public string DateOf(string timestampExpr) => inner.DateOf(timestampExpr);
    public string FullMatch(string expr, string pattern) => inner.FullMatch(expr, pattern);
    public string IsAscii(string expr) => inner.IsAscii(expr);
    public string RegexContains(string expr, string pattern) => inner.RegexContains(expr, pattern);
    public string RegexExtract(string expr, string pattern, int group) => inner.RegexExtract(expr, pattern, group);
    public string EpochMicros(string timestampExpr) => inner.EpochMicros(timestampExpr);
    public string DaysBetween(string startDate, string endDate) => "/*<DaysBetween>*/" + inner.DaysBetween(startDate, endDate) + "/*</DaysBetween>*/";
    public string RegexReplaceAll(string expr, string pattern, string replacement) => inner.RegexReplaceAll(expr, pattern, replacement);
    public string Hash64(string expr) => inner.Hash64(expr);

    public string Sha256Hex(string stringExpr) => inner.Sha256Hex(stringExpr);
    public string HmacHex(string stringExpr) => inner.HmacHex(stringExpr);
    public string ToText(string expr) => inner.ToText(expr);
    public string TimestampText(string timestampExpr) => inner.TimestampText(timestampExpr);
    public string Quantile(string expr, double fraction) => inner.Quantile(expr, fraction);
    public string DescribeColumns(string relation) => inner.DescribeColumns(relation);
    public string StringType => inner.StringType;
    public string TryDecimal(string expr, int precision, int scale) => inner.TryDecimal(expr, precision, scale);
    public string IntegerDivide(string dividend, string divisor) => inner.IntegerDivide(dividend, divisor);
}
