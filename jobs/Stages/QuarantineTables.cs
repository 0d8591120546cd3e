namespace Pipeline.Stages;

/// <summary>The columns every quarantine table (orders, events, ad spend) has.</summary>
internal static class QuarantineTables
{
    /// <summary>The quarantine columns, with what this table's <c>raw</c> has redacted.</summary>
    public static IReadOnlyList<ColumnSpec> With(string rawDescription) =>
    [
        new("source_file", "VARCHAR", "The input file the row came from."),
        new("source_line", "BIGINT", "Physical line number (header = line 1; exact unless an earlier quoted field spans lines); for JSON lines the line, for Parquet the row number."),
        new("raw", "VARCHAR", rawDescription),
        new("reason_code", "VARCHAR", "Why the row was rejected: a stable reason code (see the reason codes in docs/inputs.md)."),
        new("reason_detail", "VARCHAR", "The reason in words, naming the offending value."),
        new("run_id", "VARCHAR", "The run that quarantined the row."),
    ];
}
