using System.Globalization;

namespace Pipeline.Engine.DuckDb;

/// <summary>DuckDB's spellings of the dialect operations. The session runs with TimeZone=UTC.</summary>
public sealed class DuckDbDialect : ISqlDialect
{
    public static readonly DuckDbDialect Instance = new();

    public string Name => "duckdb";

    public string Id(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public string Str(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    public string ParseTimestamp(string expr, string sourceTimeZone, string? customFormat)
    {
        // Cheap tests first: this runs on every row of every input. GLOB on digit runs recognises epochs; a TIMESTAMPTZ
        // cast reads ISO-8601 with or without an offset (without one, in the session zone, UTC). Only for a non-UTC
        // source zone do we need to know whether the string carries an offset (a regex), to read naive values there.
        var utc = sourceTimeZone is "UTC" or "Etc/UTC";
        var digits = $"({expr} GLOB '[0-9]*' AND TRY_CAST({expr} AS BIGINT) IS NOT NULL)";
        var epochs = $"WHEN length({expr}) IN (9, 10) AND {digits} THEN to_timestamp(CAST({expr} AS BIGINT)) " +
                     $"WHEN length({expr}) IN (12, 13) AND {digits} THEN CAST(epoch_ms(CAST({expr} AS BIGINT)) AS TIMESTAMPTZ) ";
        var custom = customFormat is null
            ? ""
            : $"WHEN try_strptime({expr}, {Str(customFormat)}) IS NOT NULL THEN " + (utc
                ? $"CAST(try_strptime({expr}, {Str(customFormat)}) AS TIMESTAMPTZ) "
                : $"timezone({Str(sourceTimeZone)}, CAST(try_strptime({expr}, {Str(customFormat)}) AS TIMESTAMP)) ");
        var iso = utc
            ? $"ELSE TRY_CAST({expr} AS TIMESTAMPTZ) "
            : $"WHEN regexp_full_match({expr}, '.*[0-9][T ][0-9]{{1,2}}:[0-9]{{2}}.*(Z|z|[+-][0-9]{{2}}(:?[0-9]{{2}})?| ?UTC)') THEN TRY_CAST({expr} AS TIMESTAMPTZ) " +
              $"ELSE timezone({Str(sourceTimeZone)}, TRY_CAST({expr} AS TIMESTAMP)) ";
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
        $"TRY_CAST({expr} AS DECIMAL({precision.ToString(CultureInfo.InvariantCulture)},{scale.ToString(CultureInfo.InvariantCulture)}))";

    public string IntegerDivide(string dividend, string divisor) => $"(({dividend}) // ({divisor}))";

    public string TryDate(string expr) => $"TRY_CAST({expr} AS DATE)";

    public string TimestampLiteral(DateTimeOffset value) =>
        $"TIMESTAMPTZ '{value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'";

    public string DateLiteral(DateOnly value) => $"DATE '{value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}'";

    /// <remarks>
    /// Days since 1970 by floor division of the microseconds (DuckDB's <c>//</c> truncates toward zero, hence the
    /// modulo): a tenth of the time of <c>timezone('UTC', …)</c>, which goes through ICU for every row (0.7 s of the
    /// 10M clean events' write). Infinite timestamps have no epoch; they, and only they, take the ICU path.
    /// </remarks>
    public string DateOf(string timestampExpr)
    {
        var us = $"epoch_us({timestampExpr})";
        return $"coalesce(DATE '1970-01-01' + CAST(({us} - (({us} % {MicrosPerDay}) + {MicrosPerDay}) % {MicrosPerDay}) // {MicrosPerDay} AS INTEGER), " +
               $"CAST(timezone('UTC', {timestampExpr}) AS DATE))";
    }

    private const string MicrosPerDay = "CAST(86400000000 AS BIGINT)";

    public string FullMatch(string expr, string pattern) => $"regexp_full_match({expr}, {Str(pattern)})";

    public string IsAscii(string expr) => $"(strlen({expr}) = length({expr}))";

    public string RegexContains(string expr, string pattern) => $"regexp_matches({expr}, {Str(pattern)})";

    public string RegexExtract(string expr, string pattern, int group) =>
        $"NULLIF(regexp_extract({expr}, {Str(pattern)}, {group.ToString(CultureInfo.InvariantCulture)}), '')";

    public string EpochMicros(string timestampExpr) => $"epoch_us({timestampExpr})";

    public string DaysBetween(string startDate, string endDate) => $"date_diff('day', {startDate}, {endDate})";

    public string RegexReplaceAll(string expr, string pattern, string replacement) =>
        $"regexp_replace({expr}, {Str(pattern)}, {Str(replacement)}, 'g')";

    public string Hash64(string expr) => $"hash({expr})";

    public string Sha256Hex(string stringExpr) => $"sha256({stringExpr})";

    public string HmacHex(string stringExpr) => $"sha256(k.opad || unhex(sha256(k.ipad || encode({stringExpr}))))";

    public string ToText(string expr) => $"CAST({expr} AS VARCHAR)";

    // A TIMESTAMPTZ in the session zone (UTC): '2024-06-01 10:00:00.123+00'.
    public string TimestampText(string timestampExpr) => $"CAST({timestampExpr} AS VARCHAR)";

    public string Quantile(string expr, double fraction) => $"quantile_cont({expr}, {fraction.ToString("R", CultureInfo.InvariantCulture)})";

    public string DescribeColumns(string relation) => $"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})";

    public string StringType => "VARCHAR";
}
