using Pipeline.Engine;

namespace Pipeline.Stages;

/// <summary>
/// The SQL every input typed into a <c>*_typed</c> table shares (orders, ad spend, A/B assignments): a row is rejected
/// when it has a <c>reason_code</c>, and, where duplicates are dropped, kept when <c>is_kept</c>.
/// </summary>
public static class TypedInputSql
{
    /// <summary>
    /// E-mail-shaped text, redacted from what the quarantine tables and the free-text columns keep. The <c>@</c> may be
    /// percent-encoded (<c>%40</c>): that is how an address comes out of a URL's query string or a form post.
    /// </summary>
    internal const string EmailPattern = "[A-Za-z0-9._%+-]+(@|%40)[A-Za-z0-9.-]+\\.[A-Za-z]{2,}";

    /// <summary>True when <paramref name="text"/> may hold an e-mail address: the cheap test before the pattern.</summary>
    internal static string MayHoldEmail(string text) => $"({text} LIKE '%@%' OR instr({text}, '%40') > 0)";

    /// <summary><paramref name="text"/> with e-mail-shaped text replaced by <c>&lt;email redacted&gt;</c> (free text: search terms, paths, campaign names).</summary>
    internal static string WithoutEmails(ISqlDialect d, string text) =>
        $"CASE WHEN {MayHoldEmail(text)} THEN {d.RegexReplaceAll(text, EmailPattern, "<email redacted>")} ELSE {text} END";

    /// <summary>
    /// An identifier (customer, order, event or product id) with e-mail-shaped text in it replaced by the keyed hash of
    /// its text, so that it still joins and counts as one value (for a lower-case address: its <c>email_key</c>); other
    /// identifiers as they are. One id for one text: ids that differ only in case stay apart, as they were. Needs
    /// <c>CROSS JOIN _hmac_key k</c> in scope.
    /// </summary>
    internal static string PseudonymousId(ISqlDialect d, string id) =>
        $"CASE WHEN {MayHoldEmail(id)} AND {d.RegexContains(id, EmailPattern)} THEN {d.HmacHex(id)} ELSE {id} END";

    /// <summary>
    /// A JSON string value as it is written in the text, escapes included (<c>\"</c> does not end it), without its quotes.
    /// </summary>
    private const string JsonStringBody = "(?:[^\"\\\\]|\\\\.)*";

    /// <summary><paramref name="raw"/> with the JSON string value of each of <paramref name="keys"/> replaced by <c>&lt;redacted&gt;</c>.</summary>
    internal static string RedactJsonValues(ISqlDialect d, string raw, IEnumerable<string> keys) =>
        keys.Aggregate(raw, (r, key) => d.RegexReplaceAll(r, "\"" + EscapeRegex(key) + "\"\\s*:\\s*\"" + JsonStringBody, "\"" + key + "\":\"<redacted>"));

    /// <summary>A literal as a regular expression that matches it (RE2 and Java both read the backslash escapes).</summary>
    internal static string EscapeRegex(string literal)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var c in literal)
        {
            if (".^$|?*+()[]{}\\".Contains(c, StringComparison.Ordinal))
            {
                sb.Append('\\');
            }
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// The books of <paramref name="typed"/> (with <c>is_kept</c> and <c>reason_code</c>) as one row: rows read, kept,
    /// duplicates (no reason, not kept) and quarantined.
    /// </summary>
    public static string Books(string typed) => $"""
        SELECT CAST(count(*) AS BIGINT) AS rows_read,
               CAST(coalesce(sum(CASE WHEN is_kept THEN 1 ELSE 0 END), 0) AS BIGINT) AS rows_kept,
               CAST(coalesce(sum(CASE WHEN reason_code IS NULL AND NOT is_kept THEN 1 ELSE 0 END), 0) AS BIGINT) AS duplicates,
               CAST(coalesce(sum(CASE WHEN reason_code IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS quarantined
        FROM {typed}
        """;

    /// <summary>The rejected rows of <paramref name="typed"/> per reason code, by code.</summary>
    public static string QuarantineByReason(string typed) =>
        $"SELECT reason_code, CAST(count(*) AS BIGINT) AS n FROM {typed} WHERE reason_code IS NOT NULL GROUP BY reason_code ORDER BY reason_code ASC NULLS LAST";

    /// <summary>
    /// Marts: a quarantine table (<see cref="QuarantineTables.With"/>), one row per rejected row of <paramref name="typed"/>:
    /// <paramref name="raw"/> (the raw line, or an expression redacting more of it) and the reason with e-mail-shaped
    /// text redacted, in reason, file and line order.
    /// </summary>
    public static string Quarantine(ISqlDialect d, string typed, string raw, string runId) => $"""
        SELECT CAST(_source_file AS {d.StringType}) AS source_file,
               _source_line AS source_line,
               {d.RegexReplaceAll(raw, EmailPattern, "<email redacted>")} AS raw,
               reason_code,
               {d.RegexReplaceAll("reason_detail", EmailPattern, "<email redacted>")} AS reason_detail,
               {d.Str(runId)} AS run_id
        FROM {typed}
        WHERE reason_code IS NOT NULL
        ORDER BY reason_code ASC NULLS LAST, source_file ASC NULLS LAST, source_line ASC NULLS LAST
        """;
}
