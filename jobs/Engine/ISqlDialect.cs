namespace Pipeline.Engine;

/// <summary>
/// The engine-specific spellings a stage needs. Stages build SQL only from ANSI-common syntax plus these methods,
/// so the same stage definition renders for DuckDB and for Spark SQL. Rules every stage follows regardless of
/// dialect: explicit NULLS FIRST/LAST in every ORDER BY, no QUALIFY, no COUNT(DISTINCT) OVER, ids that must match
/// across engines are built from SHA-256 (never an engine's own hash()).
/// </summary>
public interface ISqlDialect
{
    string Name { get; }

    /// <summary>A quoted identifier (quote characters doubled).</summary>
    string Id(string identifier);

    /// <summary>A string literal (quotes doubled).</summary>
    string Str(string value);

    /// <summary>Parses a string to a UTC timestamp, NULL when it is not one of the accepted forms (see docs/inputs.md, "Timestamps").</summary>
    /// <param name="expr">A trimmed string expression.</param>
    /// <param name="sourceTimeZone">IANA zone for values without an offset.</param>
    /// <param name="customFormat">Optional strptime format tried first.</param>
    string ParseTimestamp(string expr, string sourceTimeZone, string? customFormat);

    /// <summary>
    /// A trimmed string → DECIMAL(18,4), NULL when it is not a plain decimal number (<see cref="DecimalText.Pattern"/>,
    /// the forms docs/inputs.md lists: each engine's cast alone reads more, e.g. DuckDB's <c>1_000</c>) or does not fit
    /// (|value| ≥ 10^14). Extra decimals are rounded half away from zero.
    /// </summary>
    string TryDecimal(string expr);

    /// <summary>
    /// A number, or text already known to be a plain decimal number (see <see cref="DecimalText"/>), →
    /// DECIMAL(<paramref name="precision"/>,<paramref name="scale"/>), NULL when it does not fit. No check of the text's
    /// form: the engines' casts differ there. Extra decimals are rounded half away from zero by both engines' casts;
    /// stages that round on purpose read wider and round explicitly.
    /// </summary>
    string TryDecimal(string expr, int precision, int scale);

    /// <summary>
    /// Integer division of two BIGINT expressions, truncated toward zero, as a BIGINT: DuckDB <c>//</c>, Spark
    /// <c>div</c> (DuckDB's <c>/</c> on integers and decimals gives a DOUBLE, Spark's a decimal: neither is exact).
    /// The divisor must not be 0 (guard it: Spark's ANSI mode raises).
    /// </summary>
    string IntegerDivide(string dividend, string divisor);

    /// <summary>String → DATE, NULL on failure.</summary>
    string TryDate(string expr);

    /// <summary>A UTC timestamp literal.</summary>
    string TimestampLiteral(DateTimeOffset value);

    /// <summary>A DATE literal.</summary>
    string DateLiteral(DateOnly value);

    /// <summary>The UTC calendar date of a timestamp.</summary>
    string DateOf(string timestampExpr);

    /// <summary>True when the whole string matches the (RE2/Java-compatible) pattern.</summary>
    string FullMatch(string expr, string pattern);

    /// <summary>True when every character of the string is ASCII (its byte length equals its character count).</summary>
    string IsAscii(string expr);

    /// <summary>True when the pattern matches anywhere in the string (RE2/Java-compatible pattern).</summary>
    string RegexContains(string expr, string pattern);

    /// <summary>The given capture group of the first match, NULL when there is no match (or it is empty).</summary>
    string RegexExtract(string expr, string pattern, int group);

    /// <summary>Microseconds since the Unix epoch of a timestamp, as a BIGINT.</summary>
    string EpochMicros(string timestampExpr);

    /// <summary>Whole days from <paramref name="startDate"/> to <paramref name="endDate"/> (positive when end is later).</summary>
    string DaysBetween(string startDate, string endDate);

    /// <summary>Replaces every match of the pattern.</summary>
    string RegexReplaceAll(string expr, string pattern, string replacement);

    /// <summary>
    /// A fast 64-bit hash of a value, or of several given as a comma-separated list (<c>"a, b"</c>: both engines' hash
    /// functions take any number of arguments). Not cryptographic: equal inputs hash equal, unequal ones may collide.
    /// </summary>
    string Hash64(string expr);

    /// <summary>Lower-case hex SHA-256 of a string's UTF-8 bytes.</summary>
    string Sha256Hex(string stringExpr);

    /// <summary>HMAC-SHA256 (lower-case hex) of a string's UTF-8 bytes with the key registered by <see cref="IEngine.RegisterHashKey"/>. Needs <c>CROSS JOIN _hmac_key</c> in scope as <c>k</c>.</summary>
    string HmacHex(string stringExpr);

    /// <summary>The value as text, for building raw row images. Not for a timestamp: see <see cref="TimestampText"/>.</summary>
    string ToText(string expr);

    /// <summary>
    /// A timestamp as text rendered alike by both engines, for raw row images: <c>yyyy-MM-dd HH:mm:ss[.fraction]+00</c>
    /// (UTC, the fraction without trailing zeros; NULL for NULL). <see cref="ToText"/> of a timestamp differs across
    /// engines: DuckDB's <c>CAST(… AS VARCHAR)</c> ends in <c>+00</c>, Spark's <c>CAST(… AS STRING)</c> has no offset.
    /// </summary>
    string TimestampText(string timestampExpr);

    /// <summary>
    /// The exact continuous quantile (linear interpolation between the two nearest values, NULLs ignored) of a numeric
    /// expression, as an aggregate: DuckDB <c>quantile_cont</c>, Spark <c>percentile</c> (Spark 3.5 has no
    /// <c>percentile_cont</c>; <c>percentile_approx</c> would give a different number).
    /// </summary>
    /// <param name="expr">A DOUBLE expression.</param>
    /// <param name="fraction">Between 0 and 1.</param>
    string Quantile(string expr, double fraction);

    /// <summary>
    /// A statement whose rows are a relation's columns, each starting with (column name, type name) in column order;
    /// type names are the engine's own (DuckDB <c>BIGINT</c>, <c>DECIMAL(18,4)</c>; Spark <c>bigint</c>,
    /// <c>decimal(18,4)</c>). Neither engine can read a schema as a subquery with a common spelling.
    /// </summary>
    string DescribeColumns(string relation);

    /// <summary>
    /// The string type's name in casts such as <c>CAST(NULL AS …)</c>: DuckDB <c>VARCHAR</c>, Spark <c>STRING</c>
    /// (Spark rejects <c>VARCHAR</c> without a length).
    /// </summary>
    string StringType => "VARCHAR";

    /// <summary>
    /// A type as the table declarations spell it (DuckDB's names, see <c>ColumnSpec.Type</c>) in this engine's casts:
    /// DuckDB takes them as they are; Spark has <c>STRING</c> for <c>VARCHAR</c> and <c>TIMESTAMP</c> (an instant) for
    /// <c>TIMESTAMP WITH TIME ZONE</c>.
    /// </summary>
    string CastType(string declared) => declared;
}

/// <summary>
/// The offset rule both dialects' <see cref="ISqlDialect.ParseTimestamp"/> apply, written once from portable SQL and
/// <see cref="ISqlDialect.FullMatch"/>: a numeric UTC offset beyond ±18:00 (java.time's and ISO 8601's range), or with
/// minutes or seconds of 60 or more, makes the value no timestamp. DuckDB's cast would read <c>+99:99</c> as 99 h 99 min
/// and <c>+24:00</c> as a day; Spark's cast already refuses them (ZoneOffset), and the rule makes both say so alike.
/// </summary>
internal static class TimestampOffsets
{
    /// <summary>A value ending in a numeric offset after a time (<c>…:ss[.f]±hh[[:]mm[[:]ss]]</c>).</summary>
    private const string HasOffset = ".*:[0-9]+(\\.[0-9]*)?[+-][0-9]{2}(:?[0-9]{2}){0,2}";

    /// <summary>The same with an offset in range: up to 17:59:59, or exactly 18:00[:00].</summary>
    private const string ValidOffset = ".*:[0-9]+(\\.[0-9]*)?[+-]((0[0-9]|1[0-7])(:?[0-5][0-9]){0,2}|18(:?00){0,2})";

    /// <summary>
    /// True when the trimmed string <paramref name="s"/> ends in an out-of-range offset. Runs on every timestamp of every
    /// input (10M events), so the usual shapes are decided without a regex: a value ending in <c>Z</c> by one suffix
    /// test; one ending in <c>±hh:mm</c> by comparing its two-digit fields as text; a value with no sign where an offset's
    /// would be (naive ISO values, dates) by three one-character tests. Only the rare <c>±hh</c>, <c>±hhmm</c> and
    /// <c>±hh:mm:ss</c> endings (of a value with a time) take the two regexes.
    /// </summary>
    public static string Invalid(ISqlDialect d, string s)
    {
        string At(int fromEnd) => $"substr({s}, -{fromEnd}, 1)";
        string Sign(int fromEnd) => $"{At(fromEnd)} IN ('+', '-')";
        var hh = $"substr({s}, -5, 2)";
        var mm = $"substr({s}, -2, 2)";
        return $"(CASE WHEN {s} LIKE '%Z' THEN false " +
               $"WHEN {Sign(6)} AND {At(3)} = ':' THEN {hh} > '18' OR {mm} > '59' OR ({hh} = '18' AND {mm} <> '00') " +
               $"WHEN ({Sign(3)} OR {Sign(5)} OR ({Sign(9)} AND {At(6)} = ':')) AND {s} LIKE '%:%' " +
               $"THEN {d.FullMatch(s, HasOffset)} AND NOT {d.FullMatch(s, ValidOffset)} " +
               "ELSE false END)";
    }
}

/// <summary>
/// The text of a plain decimal number, as docs/inputs.md promises to read amounts, spend and FX rates on every engine:
/// an optional sign, digits with an optional fraction (<c>.5</c> and <c>5.</c> too), an optional exponent. No thousands
/// separators (<c>1,000</c>, <c>1_000</c>, <c>1 000</c>), currency signs, decimal commas, <c>NaN</c> or <c>Infinity</c>.
/// </summary>
public static class DecimalText
{
    /// <summary>The whole text (for <see cref="ISqlDialect.FullMatch"/>).</summary>
    public const string Pattern = "[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?";

    /// <summary>
    /// True when the plain decimal number <paramref name="text"/> is below zero: a minus sign and a digit other than 0
    /// before any exponent. Read from the text because a tiny negative value (<c>-1e-9</c>) reads as 0 at 4 decimals.
    /// </summary>
    public static string IsNegative(ISqlDialect d, string text) =>
        $"({text} LIKE '-%' AND NOT {d.FullMatch(text, "-[0.]*([eE][+-]?[0-9]+)?")})";
}
