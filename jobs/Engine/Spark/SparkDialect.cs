using System.Globalization;
using System.Text;

namespace Pipeline.Engine.Spark;

/// <summary>
/// Spark SQL's spellings of the dialect operations (Spark 3.5 / 4.x). The session runs with
/// <c>spark.sql.session.timeZone=UTC</c> and ANSI mode on, so every conversion that may fail on dirty input uses a
/// <c>try_*</c> function (NULL, then quarantine) instead of raising. String literals escape backslashes: Spark's
/// parser treats <c>\</c> as an escape character inside quotes, and two adjacent quoted strings are concatenated, so
/// a quote is written <c>\'</c>, never <c>''</c>.
/// </summary>
public sealed class SparkDialect : ISqlDialect
{
    public static readonly SparkDialect Instance = new();

    public string Name => "spark";

    public string Id(string identifier) => "`" + identifier.Replace("`", "``", StringComparison.Ordinal) + "`";

    public string Str(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\'':
                    sb.Append("\\'");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
        return sb.Append('\'').ToString();
    }

    /// <summary>Detects an explicit offset or zone (same forms as the DuckDB dialect).</summary>
    private const string OffsetPattern = "^.*[0-9][T ][0-9]{1,2}:[0-9]{2}.*(Z|z|[+-][0-9]{2}(:?[0-9]{2})?| ?UTC)$";

    public string ParseTimestamp(string expr, string sourceTimeZone, string? customFormat)
    {
        // Epoch seconds / milliseconds by digit count; ISO-8601 by try_cast (Spark's cast reads 'T' or ' ', fractions
        // and offsets Z, +hh, +hhmm, +hh:mm; ' UTC' and 'z' are normalised to 'Z' first). Values without an offset are
        // read in the session zone (UTC) and, for another source zone, shifted with to_utc_timestamp.
        var utc = sourceTimeZone is "UTC" or "Etc/UTC";
        var zone = Str(sourceTimeZone);
        string InZone(string naiveTs) => utc ? naiveTs : $"to_utc_timestamp({naiveTs}, {zone})";
        var normalized = $"regexp_replace({expr}, {Str("( ?UTC|z)$")}, 'Z')";
        var custom = "";
        if (customFormat is not null)
        {
            var parsed = $"try_to_timestamp({expr}, {Str(JavaPattern(customFormat))})";
            custom = $"WHEN {parsed} IS NOT NULL THEN {InZone(parsed)} ";
        }
        var epochs = $"WHEN {expr} RLIKE '^[0-9]{{9,10}}$' THEN timestamp_seconds(try_cast({expr} AS BIGINT)) " +
                     $"WHEN {expr} RLIKE '^[0-9]{{12,13}}$' THEN timestamp_millis(try_cast({expr} AS BIGINT)) ";
        var iso = utc
            ? $"ELSE try_cast({normalized} AS TIMESTAMP) "
            : $"WHEN {expr} RLIKE {Str(OffsetPattern)} THEN try_cast({normalized} AS TIMESTAMP) " +
              $"ELSE {InZone($"try_cast({expr} AS TIMESTAMP)")} ";
        // An out-of-range offset is no timestamp in any form (see TimestampOffsets). Epochs are digits only and never
        // have one: without a custom format the test comes after them, so they do not pay for it.
        var badOffset = $"WHEN {TimestampOffsets.Invalid(this, expr)} THEN NULL ";
        return customFormat is null
            ? $"(CASE WHEN {expr} IS NULL THEN NULL {epochs}{badOffset}{iso}END)"
            : $"(CASE WHEN {expr} IS NULL THEN NULL {badOffset}{custom}{epochs}{iso}END)";
    }

    // The form is checked first: the cast alone reads more than docs/inputs.md accepts (see DecimalText).
    public string TryDecimal(string expr) => $"(CASE WHEN {FullMatch(expr, DecimalText.Pattern)} THEN {TryDecimal(expr, 18, 4)} END)";

    public string TryDecimal(string expr, int precision, int scale) =>
        $"try_cast({expr} AS DECIMAL({precision.ToString(CultureInfo.InvariantCulture)},{scale.ToString(CultureInfo.InvariantCulture)}))";

    // div is Spark's integral division (IntegralDivide): truncates toward zero, returns a BIGINT.
    public string IntegerDivide(string dividend, string divisor) => $"(({dividend}) div ({divisor}))";

    public string TryDate(string expr) => $"try_cast({expr} AS DATE)";

    public string TimestampLiteral(DateTimeOffset value) =>
        $"TIMESTAMP '{value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00:00'";

    public string DateLiteral(DateOnly value) => $"DATE '{value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}'";

    // The session time zone is UTC, so the cast takes the UTC calendar date.
    public string DateOf(string timestampExpr) => $"CAST({timestampExpr} AS DATE)";

    // RLIKE finds a match anywhere (Java's find()); anchoring with ^ and \z (not $, which also matches before a final
    // line break) makes it a full match.
    public string FullMatch(string expr, string pattern) => $"({expr} RLIKE {Str("^(?:" + pattern + ")\\z")})";

    public string IsAscii(string expr) => $"(octet_length({expr}) = length({expr}))";

    public string RegexContains(string expr, string pattern) => $"({expr} RLIKE {Str(pattern)})";

    // Spark's regexp_extract returns '' when there is no match, like DuckDB's; the group index is explicit (Spark's
    // default group is 1, DuckDB's 0).
    public string RegexExtract(string expr, string pattern, int group) =>
        $"NULLIF(regexp_extract({expr}, {Str(pattern)}, {group.ToString(CultureInfo.InvariantCulture)}), '')";

    public string EpochMicros(string timestampExpr) => $"unix_micros({timestampExpr})";

    // datediff takes the END date first.
    public string DaysBetween(string startDate, string endDate) => $"datediff({endDate}, {startDate})";

    // Spark's regexp_replace replaces every match; the replacement is a Java replacement string ($ and \ quoted).
    public string RegexReplaceAll(string expr, string pattern, string replacement) =>
        $"regexp_replace({expr}, {Str(pattern)}, {Str(replacement.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("$", "\\$", StringComparison.Ordinal))})";

    public string Hash64(string expr) => $"xxhash64({expr})";

    public string Sha256Hex(string stringExpr) => $"sha2(CAST({stringExpr} AS BINARY), 256)";

    // HMAC-SHA256 = SHA256(opad || SHA256(ipad || message)), over the 64-byte key pads registered as BINARY columns:
    // concat of BINARY values is BINARY in Spark, sha2 returns lower-case hex, unhex turns the inner digest back into bytes.
    public string HmacHex(string stringExpr) =>
        $"sha2(concat(k.opad, unhex(sha2(concat(k.ipad, CAST({stringExpr} AS BINARY)), 256))), 256)";

    public string ToText(string expr) => $"CAST({expr} AS STRING)";

    // Spark renders a TIMESTAMP cast to STRING in the session time zone (UTC) as 'yyyy-MM-dd HH:mm:ss' plus the
    // fraction of a second without trailing zeros, and no offset (Cast uses TimestampFormatter.getFractionFormatter:
    // FractionTimestampFormatter in sql/catalyst/.../util/TimestampFormatter.scala); the offset DuckDB prints is
    // appended so both engines write the same text. concat is NULL when an argument is (SPARK-8241), so NULL stays NULL.
    public string TimestampText(string timestampExpr) => $"concat(CAST({timestampExpr} AS STRING), '+00')";

    // percentile is exact (linear interpolation, like DuckDB's quantile_cont); percentile_cont exists from Spark 4.0 only.
    public string Quantile(string expr, double fraction) => $"percentile({expr}, {fraction.ToString("R", CultureInfo.InvariantCulture)})";

    // DESCRIBE QUERY returns (col_name, data_type, comment); it is a statement, not a relation, so it cannot be nested.
    public string DescribeColumns(string relation) => $"DESCRIBE QUERY SELECT * FROM {relation}";

    public string StringType => "STRING";

    public string CastType(string declared) => declared switch
    {
        "VARCHAR" => "STRING",
        "TIMESTAMP WITH TIME ZONE" => "TIMESTAMP",
        _ => declared,
    };

    /// <summary>
    /// A strptime format (<c>%Y-%m-%d %H:%M</c>) as a Spark datetime pattern (<c>yyyy-M-d H:mm</c>). Numeric fields
    /// followed by a separator parse one or two digits, like strptime; fields directly followed by another field
    /// (<c>%Y%m%d</c>) are fixed-width. Literal text is quoted.
    /// </summary>
    public static string JavaPattern(string strptime)
    {
        var parts = new List<(string Text, bool IsField)>();
        for (var i = 0; i < strptime.Length; i++)
        {
            var c = strptime[i];
            if (c == '%' && i + 1 < strptime.Length)
            {
                var f = strptime[++i];
                parts.Add(f switch
                {
                    'Y' => ("yyyy", true),
                    'y' => ("yy", true),
                    'm' => ("M", true),
                    'd' => ("d", true),
                    'e' => ("d", true),
                    'H' => ("H", true),
                    'I' => ("h", true),
                    'M' => ("m", true),
                    'S' => ("s", true),
                    'f' => ("SSSSSS", true),
                    'p' => ("a", true),
                    'b' => ("MMM", true),
                    'h' => ("MMM", true),
                    'B' => ("MMMM", true),
                    'a' => ("EEE", true),
                    'A' => ("EEEE", true),
                    'z' => ("Z", true),
                    'Z' => ("z", true),
                    'j' => ("D", true),
                    '%' => ("%", false),
                    _ => throw new ArgumentException($"strptime directive %{f} has no Spark equivalent", nameof(strptime)),
                });
            }
            else
            {
                parts.Add((c.ToString(), false));
            }
        }
        var sb = new StringBuilder();
        for (var i = 0; i < parts.Count; i++)
        {
            var (text, isField) = parts[i];
            if (isField)
            {
                var besideField = (i + 1 < parts.Count && parts[i + 1].IsField) || (i > 0 && parts[i - 1].IsField);
                // Single-letter numeric fields take 1–2 digits; next to another field they must be fixed-width.
                sb.Append(besideField && text is "M" or "d" or "H" or "h" or "m" or "s" or "D" ? text + text : text);
            }
            else if (char.IsAsciiLetter(text[0]) || text[0] is '\'' or '[' or ']' or '#' or '{' or '}')
            {
                sb.Append('\'').Append(text == "'" ? "''" : text).Append('\'');
            }
            else
            {
                sb.Append(text);
            }
        }
        return sb.ToString();
    }
}
