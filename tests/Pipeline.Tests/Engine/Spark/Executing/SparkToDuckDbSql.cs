using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static Pipeline.Tests.Engine.Spark.Executing.SparkSqlLexer;

namespace Pipeline.Tests.Engine.Spark.Executing;

/// <summary>
/// Translates the Spark SQL the pipeline sends into DuckDB SQL with the same meaning, token by token, for the
/// executing fake Spark Connect server (<see cref="ExecutingSparkBackend"/>). It is a test double's translation, not a
/// Spark SQL implementation: it knows exactly the syntax and the functions the stages and the Spark engine emit, and
/// fails loudly (<see cref="NotSupportedException"/>) on any other function, cast type or construct, so a new Spark
/// spelling cannot slip through untranslated.
/// </summary>
/// <remarks>
/// What is translated, and how:
/// <list type="bullet">
/// <item>Lexical: backticked identifiers → double-quoted; string literals decoded with Spark's backslash escapes and
/// re-encoded for DuckDB (quotes doubled, backslashes literal); adjacent literals concatenated (Spark's rule);
/// <c>==</c> → <c>=</c>, <c>a div b</c> → <c>a // b</c>, <c>LEFT SEMI/ANTI JOIN</c> → <c>SEMI/ANTI JOIN</c>.</item>
/// <item>Relations: <c>parquet.`file:///dir`</c> → <c>read_parquet</c> (Hive partitioning, by name), built by the backend.</item>
/// <item>Types in <c>CAST</c>/<c>TRY_CAST</c>: <c>STRING</c> → <c>VARCHAR</c>, <c>TIMESTAMP</c> (Spark's
/// local-time-zone instant; the session zone is UTC) → <c>TIMESTAMPTZ</c>, <c>STRUCT&lt;a: T&gt;</c> →
/// <c>STRUCT(a T)</c>, <c>DECIMAL</c> → <c>DECIMAL(10,0)</c> (Spark's default), <c>CAST(s AS BINARY)</c> → the UTF-8
/// bytes (<c>encode</c>; DuckDB's own VARCHAR → BLOB cast would read <c>\x..</c> escapes).</item>
/// <item><c>x RLIKE 'p'</c> (Java <c>find()</c>: a match anywhere) → <c>x SIMILAR TO '(?s:.*)(?:p)(?s:.*)'</c>
/// (DuckDB: a full match).</item>
/// <item>Functions: the same name where DuckDB's has Spark's meaning for the arguments the stages pass, otherwise the
/// expression below (<see cref="Call"/>): e.g. <c>datediff(end, start)</c> → <c>date_diff('day', start, end)</c>,
/// <c>max_by</c> → <c>arg_max_null</c> (Spark keeps a NULL value at the maximum; DuckDB's <c>max_by</c> skips it),
/// <c>concat</c> → <c>||</c> (NULL if any argument is NULL, as in Spark; DuckDB's <c>concat</c> skips NULLs),
/// <c>floor</c> → a BIGINT, <c>regexp_replace</c> → with the <c>'g'</c> flag and the Java replacement string rewritten
/// for RE2, <c>try_to_timestamp</c>/<c>date_format</c> with the Java pattern rewritten as a strptime format,
/// <c>filter(a, k -&gt; …)</c> → <c>list_filter</c> (one-parameter lambdas only: DuckDB reads the arrow as Spark writes it),
/// <c>json_object_keys</c> → <c>json_keys</c> (duplicate keys kept, as Spark's parser lists them).</item>
/// </list>
/// What this does NOT prove about Spark (the same SQL could still behave differently on a real server):
/// <list type="bullet">
/// <item>Regular expressions run on RE2, not java.util.regex (no look-around, no possessive quantifiers; <c>\Z</c>,
/// Unicode classes and case folding differ).</item>
/// <item>Casts follow DuckDB: string → number/date/timestamp parsing (Spark's cast reads forms DuckDB's does not and
/// vice versa), DOUBLE → INT rounds in DuckDB and truncates in Spark, ANSI overflow errors, and the text of a
/// DOUBLE (Spark: <c>1.0E7</c>; DuckDB: <c>10000000.0</c>). The text of a timestamp is Spark's
/// (<see cref="Macros"/>).</item>
/// <item>Result types of arithmetic and aggregates are DuckDB's (DECIMAL / DECIMAL is DOUBLE, <c>sum</c> of a
/// DECIMAL(18,4) is DECIMAL(38,4) where Spark gives DECIMAL(28,4), <c>round</c> of a DECIMAL keeps its scale), and
/// so are the Parquet types written from them.</item>
/// <item>Hashes: <c>xxhash64</c> becomes DuckDB's <c>hash</c> (only compared for equality by the stages); <c>sha2</c>
/// is SHA-256 in both.</item>
/// <item>JSON: <c>from_json</c>/<c>get_json_object</c> use DuckDB's strict parser (Spark's Jackson accepts some
/// malformed text, and keeps the last of duplicate keys), and a number read into a STRING field is DuckDB's
/// rendering of it (<c>12.5</c>), where Spark keeps the text as written (<c>12.50</c>).</item>
/// <item>Analysis: Spark's analyzer (name resolution, implicit casts under ANSI, type coercion of CASE/UNION/
/// comparisons, GROUP BY validity) is DuckDB's binder here; the strict catalog checks only what it lists.</item>
/// </list>
/// </remarks>
internal sealed class SparkToDuckDbSql
{
    private readonly List<Token> _t;
    private readonly Func<string, string> _parquetRelation;

    private SparkToDuckDbSql(string sql, Func<string, string> parquetRelation)
    {
        _t = Tokenize(sql);
        _parquetRelation = parquetRelation;
    }

    /// <summary>The DuckDB statement for a Spark SQL text; <paramref name="parquetRelation"/> turns a <c>parquet.`path`</c> path into a DuckDB relation.</summary>
    public static string Translate(string sparkSql, Func<string, string> parquetRelation) =>
        new SparkToDuckDbSql(sparkSql, parquetRelation).Range(0, int.MaxValue);

    /// <summary>Words that may precede '(' without being a function call.</summary>
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "AS", "IN", "ON", "AND", "OR", "NOT", "OVER", "FROM", "JOIN", "SELECT", "WHERE", "EXISTS", "VALUES", "USING", "WITHIN",
        "FILTER", "CASE", "WHEN", "THEN", "ELSE", "BY", "ALL", "ANY", "SOME", "UNION", "EXCEPT", "INTERSECT", "PARTITION",
        "TABLE", "LATERAL", "WITH", "IS", "LIKE", "BETWEEN", "DISTINCT", "EXTRACT", "INTERVAL", "INTO", "LIMIT", "HAVING",
        "GROUPING", "SETS", "ROLLUP", "CUBE", "WINDOW", "ROWS", "RANGE", "QUERY", "END", "OFFSET", "RETURN", "IF",
    };

    private string Range(int from, int to)
    {
        to = Math.Min(to, _t.Count);
        var sb = new StringBuilder();
        var i = from;
        while (i < to)
        {
            var tok = _t[i];
            sb.Append(tok.Lead);
            switch (tok.Kind)
            {
                case Kind.String:
                {
                    var value = new StringBuilder(tok.Value);
                    while (i + 1 < to && _t[i + 1].Kind == Kind.String)
                    {
                        value.Append(_t[++i].Value);
                    }
                    sb.Append(Literal(value.ToString()));
                    i++;
                    continue;
                }
                case Kind.Identifier:
                    sb.Append(Quote(tok.Value));
                    i++;
                    continue;
                case Kind.Number:
                    sb.Append(Number(tok.Text));
                    i++;
                    continue;
                case Kind.Symbol when tok.Text is "/" or "%":
                    i = Divide(i, to, tok.Text, sb);
                    continue;
                case Kind.Symbol:
                    sb.Append(tok.Text switch
                    {
                        "==" => "=",
                        "<=>" => "IS NOT DISTINCT FROM",
                        // A lambda's arrow (filter(a, k -> …)): DuckDB reads Spark's spelling.
                        "->" => "->",
                        "::" or "&&" => throw new NotSupportedException($"executing fake: no translation for the operator {tok.Text}"),
                        _ => tok.Text,
                    });
                    i++;
                    continue;
            }
            // A word.
            var next = i + 1 < to ? _t[i + 1] : null;
            if (tok.Is("PARQUET") && next?.IsSymbol(".") == true && i + 2 < to && _t[i + 2].Kind == Kind.Identifier)
            {
                sb.Append(_parquetRelation(_t[i + 2].Value));
                i += 3;
            }
            else if ((tok.Is("RLIKE") || tok.Is("REGEXP")) && next?.IsSymbol("(") != true)
            {
                if (next?.Kind != Kind.String)
                {
                    throw new NotSupportedException("executing fake: RLIKE needs a literal pattern");
                }
                sb.Append("SIMILAR TO").Append(next.Lead).Append(Literal("(?s:.*)(?:" + next.Value + ")(?s:.*)"));
                i += 2;
            }
            else if (tok.Is("DIV") && i > from && IsOperand(_t[i - 1]))
            {
                i = Divide(i, to, "//", sb);
            }
            else if (tok.Is("LEFT") && (next?.Is("SEMI") == true || next?.Is("ANTI") == true))
            {
                i++; // DuckDB: SEMI JOIN / ANTI JOIN
            }
            else if ((tok.Is("TIMESTAMP") || tok.Is("TIMESTAMP_LTZ")) && next?.Kind == Kind.String)
            {
                sb.Append("TIMESTAMPTZ");
                i++;
            }
            else if (tok.Is("TIMESTAMP_NTZ") && next?.Kind == Kind.String)
            {
                sb.Append("TIMESTAMP");
                i++;
            }
            else if ((tok.Is("CAST") || tok.Is("TRY_CAST")) && next?.IsSymbol("(") == true)
            {
                i = Cast(i, sb);
            }
            else if (next?.IsSymbol("(") == true && IsCall(i))
            {
                i = Call(i, sb);
            }
            else
            {
                sb.Append(tok.Text);
                i++;
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// <c>a / b</c>, <c>a % b</c>, <c>a div b</c> under Spark's ANSI mode (the session's <c>spark.sql.ansi.enabled=true</c>):
    /// a zero divisor is the error DIVIDE_BY_ZERO for every numeric type (DuckDB: infinity or NULL). The divisor — the
    /// operand right of the operator, which binds tighter than anything but a unary sign — is checked row by row.
    /// </summary>
    private int Divide(int i, int to, string op, StringBuilder sb)
    {
        var end = OperandEnd(i + 1, to);
        var divisor = Range(i + 1, end).Trim();
        sb.Append(op).Append(' ').Append($"(CASE WHEN ({divisor}) = 0 THEN error({Literal(DivideByZero)}) ELSE ({divisor}) END)");
        return end;
    }

    /// <summary>The message the executing fake raises for a zero divisor (its error class is Spark's).</summary>
    public const string DivideByZero = "[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead.";

    /// <summary>The end (exclusive) of one operand of a multiplicative operator starting at <paramref name="i"/>.</summary>
    private int OperandEnd(int i, int to)
    {
        while (i < to && (_t[i].IsSymbol("-") || _t[i].IsSymbol("+")))
        {
            i++;
        }
        if (i >= to)
        {
            throw new NotSupportedException("executing fake: a division without a divisor");
        }
        var tok = _t[i];
        if (tok.IsSymbol("("))
        {
            return Close(_t, i) + 1;
        }
        if (tok.Is("CASE"))
        {
            var depth = 0;
            for (var j = i; j < to; j++)
            {
                if (_t[j].Is("CASE"))
                {
                    depth++;
                }
                else if (_t[j].Is("END") && --depth == 0)
                {
                    return j + 1;
                }
            }
            throw new NotSupportedException("executing fake: CASE without END");
        }
        if (tok.Kind is Kind.Number or Kind.String)
        {
            return i + 1;
        }
        if (tok.Kind == Kind.Word && i + 1 < to && _t[i + 1].Kind == Kind.String)
        {
            return i + 2; // DATE '…', TIMESTAMP '…'
        }
        if (tok.Kind == Kind.Word && i + 1 < to && _t[i + 1].IsSymbol("("))
        {
            var end = Close(_t, i + 1) + 1;
            if (end + 1 < to && _t[end].Is("OVER") && _t[end + 1].IsSymbol("("))
            {
                end = Close(_t, end + 1) + 1;
            }
            return end;
        }
        var k = i + 1;
        while (k + 1 < to && _t[k].IsSymbol(".") && _t[k + 1].Kind is Kind.Word or Kind.Identifier)
        {
            k += 2;
        }
        return k;
    }

    /// <summary>Whether a token ends an operand (so a word after it is a binary operator such as <c>div</c>).</summary>
    private static bool IsOperand(Token t) =>
        t.Kind is Kind.Number or Kind.String or Kind.Identifier || t.IsSymbol(")") || t.Kind == Kind.Word && !Keywords.Contains(t.Text);

    private bool IsCall(int i)
    {
        if (Keywords.Contains(_t[i].Text))
        {
            return false;
        }
        if (i == 0)
        {
            return true;
        }
        var previous = _t[i - 1];
        // Not a call: a qualified name, or a relation's alias with a column list (`AS t(a, b)`, `(VALUES …) t(a)`, `tbl t(a)`).
        return !(previous.IsSymbol(".") || previous.IsSymbol(")") || previous.Kind == Kind.Identifier
                 || previous.Kind == Kind.Word && (previous.Upper is "AS" or "FROM" or "JOIN" or "VIEW" or "TABLE" || !Keywords.Contains(previous.Text)));
    }

    public static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Number(string text)
    {
        var upper = text.ToUpperInvariant();
        if (upper.EndsWith("BD", StringComparison.Ordinal))
        {
            return $"CAST({text[..^2]} AS DECIMAL(38, {Math.Max(0, text.Length - 2 - text.IndexOf('.', StringComparison.Ordinal) - 1) % 38}))";
        }
        return upper[^1] switch
        {
            'L' => $"CAST({text[..^1]} AS BIGINT)",
            'S' => $"CAST({text[..^1]} AS SMALLINT)",
            'Y' => $"CAST({text[..^1]} AS TINYINT)",
            'D' when !upper.Contains('E', StringComparison.Ordinal) || upper.IndexOf('E', StringComparison.Ordinal) < upper.Length - 1 => $"CAST({text[..^1]} AS DOUBLE)",
            'F' => $"CAST({text[..^1]} AS FLOAT)",
            // Spark reads a literal with an exponent as DOUBLE, one with a point as DECIMAL (as DuckDB does).
            _ => upper.Contains('E', StringComparison.Ordinal) ? $"CAST({text} AS DOUBLE)" : text,
        };
    }

    // ------------------------------------------------------------------ CAST

    /// <summary>The DuckDB macro that renders a value as Spark's <c>CAST(x AS STRING)</c> does (see <see cref="Macros"/>).</summary>
    public const string SparkString = "spark_string";

    /// <summary>
    /// Macros every session of the executing fake defines. <c>spark_string(x)</c>: Spark's text of a TIMESTAMP is
    /// <c>yyyy-MM-dd HH:mm:ss[.fraction without trailing zeros]</c> in the session time zone (UTC) with no offset
    /// (DuckDB's adds <c>+00</c>), of a TIMESTAMP_NTZ the same; any other type as DuckDB renders it (the same text for
    /// strings, integers, decimals, dates and booleans; not for DOUBLE, which Spark writes as Java does, <c>1.0E7</c>).
    /// </summary>
    public static readonly IReadOnlyList<string> Macros =
    [
        "CREATE MACRO spark_timestamp_text(t) AS strftime(t, '%Y-%m-%d %H:%M:%S') || CASE WHEN epoch_us(t) % 1000000 = 0 THEN '' ELSE rtrim(strftime(t, '.%f'), '0') END",
        $"CREATE MACRO {SparkString}(x) AS CASE WHEN typeof(x) = 'TIMESTAMP WITH TIME ZONE' THEN spark_timestamp_text(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMPTZ)) " +
        "WHEN typeof(x) = 'TIMESTAMP' THEN spark_timestamp_text(TRY_CAST(CAST(x AS VARCHAR) AS TIMESTAMP)) ELSE CAST(x AS VARCHAR) END",
    ];

    private int Cast(int i, StringBuilder sb)
    {
        var open = i + 1;
        var close = Close(_t, open);
        var asAt = -1;
        var depth = 0;
        for (var j = open + 1; j < close; j++)
        {
            if (_t[j].IsSymbol("("))
            {
                depth++;
            }
            else if (_t[j].IsSymbol(")"))
            {
                depth--;
            }
            else if (depth == 0 && _t[j].Is("AS"))
            {
                asAt = j;
            }
        }
        if (asAt < 0)
        {
            throw new NotSupportedException("executing fake: CAST without AS");
        }
        var expr = Range(open + 1, asAt);
        var typeTokens = _t.GetRange(asAt + 1, close - asAt - 1);
        var pos = 0;
        var type = Type(typeTokens, ref pos);
        if (pos != typeTokens.Count)
        {
            throw new NotSupportedException($"executing fake: cannot read the type {string.Concat(typeTokens.Select(t => t.Lead + t.Text))}");
        }
        sb.Append(type switch
        {
            "BINARY" => $"encode({expr})", // the string's UTF-8 bytes, as Spark's CAST(string AS BINARY)
            "VARCHAR" => $"{SparkString}({expr})", // Spark's text of a value (a cast to STRING never fails)
            _ => $"{_t[i].Upper}({expr} AS {type})",
        });
        return close + 1;
    }

    /// <summary>A Spark type name (tokens from <paramref name="pos"/>) as DuckDB's; "BINARY" for Spark's BINARY.</summary>
    private static string Type(List<Token> t, ref int pos)
    {
        var name = t[pos++];
        int? Arg(ref int p)
        {
            if (p < t.Count && t[p].IsSymbol("("))
            {
                var value = int.Parse(t[p + 1].Text, CultureInfo.InvariantCulture);
                p += 2;
                return value;
            }
            return null;
        }
        switch (name.Upper)
        {
            case "STRING":
                return "VARCHAR";
            case "VARCHAR" or "CHAR" or "CHARACTER":
                if (Arg(ref pos) is null)
                {
                    throw new NotSupportedException($"executing fake: {name.Text} without a length is not Spark");
                }
                pos++; // ')'
                return "VARCHAR";
            case "BINARY":
                return "BINARY";
            case "BOOLEAN":
                return "BOOLEAN";
            case "TINYINT" or "BYTE":
                return "TINYINT";
            case "SMALLINT" or "SHORT":
                return "SMALLINT";
            case "INT" or "INTEGER":
                return "INTEGER";
            case "BIGINT" or "LONG":
                return "BIGINT";
            case "FLOAT" or "REAL":
                return "FLOAT";
            case "DOUBLE":
                return "DOUBLE";
            case "DATE":
                return "DATE";
            case "TIMESTAMP" or "TIMESTAMP_LTZ":
                return "TIMESTAMPTZ";
            case "TIMESTAMP_NTZ":
                return "TIMESTAMP";
            case "DECIMAL" or "DEC" or "NUMERIC":
            {
                if (pos < t.Count && t[pos].IsSymbol("("))
                {
                    var precision = int.Parse(t[pos + 1].Text, CultureInfo.InvariantCulture);
                    var scale = 0;
                    pos += 2;
                    if (t[pos].IsSymbol(","))
                    {
                        scale = int.Parse(t[pos + 1].Text, CultureInfo.InvariantCulture);
                        pos += 2;
                    }
                    pos++; // ')'
                    return $"DECIMAL({precision},{scale})";
                }
                return "DECIMAL(10,0)";
            }
            case "STRUCT":
            {
                if (!t[pos].IsSymbol("<"))
                {
                    throw new NotSupportedException("executing fake: STRUCT without fields");
                }
                pos++;
                var fields = new List<string>();
                while (!t[pos].IsSymbol(">"))
                {
                    var field = t[pos++].Value;
                    if (t[pos].IsSymbol(":"))
                    {
                        pos++;
                    }
                    fields.Add($"{Quote(field)} {Type(t, ref pos)}");
                    if (t[pos].IsSymbol(","))
                    {
                        pos++;
                    }
                }
                pos++;
                return $"STRUCT({string.Join(", ", fields)})";
            }
            default:
                throw new NotSupportedException($"executing fake: no DuckDB type for the Spark type {name.Text}");
        }
    }

    // ------------------------------------------------------------------ functions

    private int Call(int i, StringBuilder sb)
    {
        var name = _t[i].Text.ToLowerInvariant();
        var close = Close(_t, i + 1);
        var ranges = Split(_t, i + 2, close);
        var args = ranges.Select(r => Range(r.From, r.To).Trim()).ToList();
        string Literal(int k)
        {
            var (from, to) = ranges[k];
            var tokens = _t.Skip(from).Take(to - from).ToList();
            if (tokens.Count == 0 || tokens.Any(t => t.Kind != Kind.String))
            {
                throw new NotSupportedException($"executing fake: argument {k + 1} of {name} must be a string literal");
            }
            return string.Concat(tokens.Select(t => t.Value));
        }
        void Arity(params int[] counts)
        {
            if (!counts.Contains(args.Count))
            {
                throw new NotSupportedException($"executing fake: {name} with {args.Count} argument(s)");
            }
        }
        string text;
        switch (name)
        {
            // Same name and meaning in DuckDB for the arguments the stages pass.
            case "avg" or "bool_and" or "bool_or" or "coalesce" or "concat_ws" or "count" or "greatest" or "least" or "instr" or "lag"
                or "lead" or "length" or "lower" or "upper" or "max" or "min" or "nullif" or "ntile" or "row_number" or "rank" or "dense_rank"
                or "sum" or "substr" or "substring" or "trim" or "ltrim" or "rtrim" or "replace" or "month" or "year" or "unhex" or "round"
                or "abs" or "sqrt" or "exp" or "ln" or "first_value" or "last_value" or "regexp_extract" or "to_json" or "stddev_samp"
                or "stddev_pop" or "lpad" or "rpad" or "if" or "md5" or "sign" or "power" or "pow" or "dayofmonth" or "day" or "left" or "right" or "bit_xor":
                text = $"{name}({string.Join(", ", args)})";
                break;
            case "div":
                Arity(2);
                text = $"({args[0]} // (CASE WHEN ({args[1]}) = 0 THEN error({SparkToDuckDbSql.Literal(DivideByZero)}) ELSE ({args[1]}) END))";
                break;
            case "nvl" or "ifnull":
                text = $"coalesce({string.Join(", ", args)})";
                break;
            case "max_by" or "min_by":
                // Spark ignores rows whose ordering value is NULL but keeps a NULL value; DuckDB's max_by/arg_max skip it too.
                Arity(2);
                text = $"{(name == "max_by" ? "arg_max_null" : "arg_min_null")}({args[0]}, {args[1]})";
                break;
            case "concat":
                text = "(" + string.Join(" || ", args.Select(a => $"({a})")) + ")";
                break;
            case "date_trunc":
                Arity(2);
                text = $"CAST(date_trunc(lower({args[0]}), CAST({args[1]} AS TIMESTAMPTZ)) AS TIMESTAMPTZ)";
                break;
            case "datediff":
                Arity(2);
                text = $"date_diff('day', CAST({args[1]} AS DATE), CAST({args[0]} AS DATE))";
                break;
            case "date_add" or "date_sub":
                Arity(2);
                text = $"CAST(CAST({args[0]} AS DATE) {(name == "date_add" ? "+" : "-")} CAST({args[1]} AS INTEGER) AS DATE)";
                break;
            case "floor" or "ceil" or "ceiling":
                Arity(1); // Spark: BIGINT for a DOUBLE argument
                text = $"CAST({(name == "floor" ? "floor" : "ceil")}({args[0]}) AS BIGINT)";
                break;
            case "octet_length":
                Arity(1);
                text = $"strlen({args[0]})";
                break;
            case "percentile":
                Arity(2); // exact, linear interpolation
                text = $"quantile_cont({args[0]}, {args[1]})";
                break;
            case "regexp_replace":
                Arity(3);
                text = $"regexp_replace({args[0]}, {args[1]}, {SparkToDuckDbSql.Literal(Re2Replacement(Literal(2)))}, 'g')";
                break;
            case "sha2":
                Arity(2);
                if (args[1] != "256")
                {
                    throw new NotSupportedException("executing fake: sha2 with a bit length other than 256");
                }
                text = $"sha256({args[0]})";
                break;
            case "timestamp_seconds":
                Arity(1);
                text = $"to_timestamp({args[0]})";
                break;
            case "timestamp_millis":
                Arity(1);
                text = $"CAST(epoch_ms({args[0]}) AS TIMESTAMPTZ)";
                break;
            case "to_utc_timestamp":
                Arity(2); // the session zone is UTC: the wall clock of the timestamp, read in the given zone
                text = $"timezone({args[1]}, CAST({args[0]} AS TIMESTAMP))";
                break;
            case "try_to_timestamp":
                Arity(2);
                text = $"CAST(try_strptime({args[0]}, {SparkToDuckDbSql.Literal(Strptime(Literal(1)))}) AS TIMESTAMPTZ)";
                break;
            case "date_format":
                Arity(2);
                text = $"strftime({args[0]}, {SparkToDuckDbSql.Literal(Strptime(Literal(1)))})";
                break;
            case "unix_micros":
                Arity(1);
                text = $"epoch_us({args[0]})";
                break;
            case "xxhash64":
                // Not Spark's values: the stages only compare hashes for equality (one value, or a row of several).
                if (args.Count == 0)
                {
                    Arity(1);
                }
                text = $"CAST(hash({string.Join(", ", args)}) >> 1 AS BIGINT)";
                break;
            case "get_json_object":
                Arity(2); // NULL for text that is not JSON
                text = $"(CASE WHEN json_valid({args[0]}) THEN json_extract_string(CASE WHEN json_valid({args[0]}) THEN {args[0]} ELSE '{{}}' END, {args[1]}) END)";
                break;
            case "from_json":
            {
                Arity(2);
                var json = $"(CASE WHEN json_valid({args[0]}) THEN {args[0]} ELSE '{{}}' END)";
                var fields = DdlFields(Literal(1)).Select(f =>
                    $"{Quote(f)} := json_extract_string({json}, {SparkToDuckDbSql.Literal("$.\"" + f.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"")})");
                text = $"(CASE WHEN json_valid({args[0]}) THEN struct_pack({string.Join(", ", fields)}) END)";
                break;
            }
            case "json_object_keys":
                Arity(1); // the top-level keys in order, duplicates included; NULL for text that is not JSON
                text = $"(CASE WHEN json_valid({args[0]}) THEN json_keys(CASE WHEN json_valid({args[0]}) THEN {args[0]} ELSE '{{}}' END) END)";
                break;
            case "filter":
                Arity(2); // with a one-parameter lambda (Spark's index parameter is 0-based, DuckDB's 1-based: not translated)
                if (!Regex.IsMatch(args[1], @"^\(?\s*""?\w+""?\s*\)?\s*->"))
                {
                    throw new NotSupportedException($"executing fake: filter needs a one-parameter lambda ({args[1]})");
                }
                text = $"list_filter({args[0]}, {args[1]})";
                break;
            case "size":
                Arity(1); // NULL for NULL under ANSI mode
                text = $"len({args[0]})";
                break;
            case "try_element_at":
                Arity(2); // 1-based, NULL beyond the end (arrays only)
                text = $"list_extract({args[0]}, {args[1]})";
                break;
            case "named_struct":
                text = "struct_pack(" + string.Join(", ", Enumerable.Range(0, args.Count / 2).Select(k => $"{Quote(Literal(2 * k))} := {args[2 * k + 1]}")) + ")";
                break;
            default:
                throw new NotSupportedException($"executing fake: no DuckDB translation for the Spark function {name}");
        }
        sb.Append(text);
        return close + 1;
    }

    /// <summary>A Java replacement string (<c>$1</c> a group, <c>\x</c> a literal x) as an RE2 one (<c>\1</c> a group, <c>\\</c> a backslash).</summary>
    internal static string Re2Replacement(string java)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < java.Length; i++)
        {
            var c = java[i];
            if (c == '\\' && i + 1 < java.Length)
            {
                var n = java[++i];
                sb.Append(n == '\\' ? "\\\\" : n.ToString());
            }
            else if (c == '$' && i + 1 < java.Length && char.IsAsciiDigit(java[i + 1]))
            {
                sb.Append('\\').Append(java[++i]);
            }
            else if (c == '$')
            {
                throw new NotSupportedException("executing fake: a named group or a lone $ in a replacement");
            }
            else
            {
                sb.Append(c == '\\' ? "\\\\" : c.ToString());
            }
        }
        return sb.ToString();
    }

    /// <summary>A Spark datetime pattern (<c>yyyy-MM-dd HH:mm</c>) as a strptime/strftime format (<c>%Y-%m-%d %H:%M</c>).</summary>
    internal static string Strptime(string pattern)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < pattern.Length;)
        {
            var c = pattern[i];
            if (c == '\'')
            {
                var end = pattern.IndexOf('\'', i + 1);
                if (end == i + 1)
                {
                    sb.Append('\'');
                    i += 2;
                    continue;
                }
                end = end < 0 ? pattern.Length : end;
                sb.Append(pattern[(i + 1)..end].Replace("%", "%%", StringComparison.Ordinal));
                i = end + 1;
                continue;
            }
            if (!char.IsAsciiLetter(c))
            {
                sb.Append(c == '%' ? "%%" : c.ToString());
                i++;
                continue;
            }
            var run = 1;
            while (i + run < pattern.Length && pattern[i + run] == c)
            {
                run++;
            }
            sb.Append((c, run) switch
            {
                ('y', 2) => "%y",
                ('y', _) or ('u', _) => "%Y",
                ('M', 3) or ('L', 3) => "%b",
                ('M', >= 4) or ('L', >= 4) => "%B",
                ('M', _) or ('L', _) => "%m",
                ('d', _) => "%d",
                ('D', _) => "%j",
                ('H', _) => "%H",
                ('h', _) => "%I",
                ('m', _) => "%M",
                ('s', _) => "%S",
                ('S', <= 3) => "%g",
                ('S', <= 6) => "%f",
                ('S', _) => "%n",
                ('a', _) => "%p",
                ('E', <= 3) => "%a",
                ('E', _) => "%A",
                ('Z', _) or ('X', _) or ('x', _) => "%z",
                ('z', _) or ('V', _) => "%Z",
                _ => throw new NotSupportedException($"executing fake: no strptime directive for the pattern letter {c}"),
            });
            i += run;
        }
        return sb.ToString();
    }

    /// <summary>The field names of a DDL schema (<c>`a` STRING, b STRING</c>); every field must be a STRING.</summary>
    internal static List<string> DdlFields(string ddl)
    {
        var t = Tokenize(ddl);
        var names = new List<string>();
        foreach (var (from, to) in Split(t, 0, t.Count))
        {
            if (to - from != 2 || !t[from + 1].Is("STRING"))
            {
                throw new NotSupportedException($"executing fake: only STRING fields in a from_json schema ({ddl})");
            }
            names.Add(t[from].Value);
        }
        return names;
    }
}
