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
        // Order matters: epoch forms first (all digits), then strings that carry an explicit offset, then naive
        // local times in the source zone. A bare date "2024-03-01" ends in "-01", which is why the offset test
        // requires a time part before it.
        var local = sourceTimeZone is "UTC" or "Etc/UTC"
            ? $"CAST(TRY_CAST({expr} AS TIMESTAMP) AS TIMESTAMPTZ)"
            : $"timezone({Str(sourceTimeZone)}, TRY_CAST({expr} AS TIMESTAMP))";
        var custom = customFormat is null
            ? ""
            : $"WHEN try_strptime({expr}, {Str(customFormat)}) IS NOT NULL THEN " + (sourceTimeZone is "UTC" or "Etc/UTC"
                ? $"CAST(try_strptime({expr}, {Str(customFormat)}) AS TIMESTAMPTZ) "
                : $"timezone({Str(sourceTimeZone)}, CAST(try_strptime({expr}, {Str(customFormat)}) AS TIMESTAMP)) ");
        return "(CASE WHEN " + expr + " IS NULL THEN NULL " + custom +
               $"WHEN regexp_full_match({expr}, '[0-9]{{9,10}}') THEN to_timestamp(CAST({expr} AS BIGINT)) " +
               $"WHEN regexp_full_match({expr}, '[0-9]{{12,13}}') THEN CAST(epoch_ms(CAST({expr} AS BIGINT)) AS TIMESTAMPTZ) " +
               $"WHEN regexp_full_match({expr}, '.*[0-9][T ][0-9]{{1,2}}:[0-9]{{2}}.*(Z|z|[+-][0-9]{{2}}(:?[0-9]{{2}})?| ?UTC)') THEN TRY_CAST({expr} AS TIMESTAMPTZ) " +
               $"ELSE {local} END)";
    }

    public string TryDecimal(string expr) => $"TRY_CAST({expr} AS DECIMAL(18,4))";

    public string TryDate(string expr) => $"TRY_CAST({expr} AS DATE)";

    public string TimestampLiteral(DateTimeOffset value) =>
        $"TIMESTAMPTZ '{value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'";

    public string DateLiteral(DateOnly value) => $"DATE '{value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}'";

    public string DateOf(string timestampExpr) => $"CAST(timezone('UTC', {timestampExpr}) AS DATE)";

    public string FullMatch(string expr, string pattern) => $"regexp_full_match({expr}, {Str(pattern)})";

    public string RegexContains(string expr, string pattern) => $"regexp_matches({expr}, {Str(pattern)})";

    public string RegexExtract(string expr, string pattern, int group) =>
        $"NULLIF(regexp_extract({expr}, {Str(pattern)}, {group.ToString(CultureInfo.InvariantCulture)}), '')";

    public string EpochMicros(string timestampExpr) => $"epoch_us({timestampExpr})";

    public string DaysBetween(string startDate, string endDate) => $"date_diff('day', {startDate}, {endDate})";

    public string RegexReplaceAll(string expr, string pattern, string replacement) =>
        $"regexp_replace({expr}, {Str(pattern)}, {Str(replacement)}, 'g')";

    public string Sha256Hex(string stringExpr) => $"sha256({stringExpr})";

    public string HmacHex(string stringExpr) => $"sha256(k.opad || unhex(sha256(k.ipad || encode({stringExpr}))))";

    public string ToText(string expr) => $"CAST({expr} AS VARCHAR)";
}
