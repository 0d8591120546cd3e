using System.Text;

namespace Pipeline.Stages;

/// <summary>
/// The table documentation (<c>docs/tables.md</c>), rendered from the stages' declarations in
/// <see cref="StageRegistry"/>: for each stage in order, each table it writes with its description, grain, key,
/// partitioning and columns. A test keeps the committed file equal to <see cref="Render"/>.
/// </summary>
public static class TableDocs
{
    /// <summary>The Markdown of <c>docs/tables.md</c> (LF line endings).</summary>
    public static string Render()
    {
        var md = new StringBuilder();
        md.Append("# Published tables\n\n");
        md.Append("<!-- Generated from the stages' table declarations (jobs/Stages/*/*Tables.cs) by TableDocs.Render(); do not edit.\n");
        md.Append("     Regenerate: PIPELINE_WRITE_DOCS=1 dotnet test tests/Pipeline.Tests --filter \"FullyQualifiedName~TableDocsTests\" -->\n\n");
        md.Append("Every table is a folder under the output directory, published whole with a `_SUCCESS` file. Partition columns\n");
        md.Append("live in the folder names (`col=value`, the Hive convention): read with `hive_partitioning = true` in DuckDB.\n");
        md.Append("Types are DuckDB's names as `DESCRIBE` shows them.\n\n");
        md.Append("Money is exact: amounts are `DECIMAL(18,2)` (FX rates `DECIMAL(18,8)`), sums are exact DECIMAL sums, and every\n");
        md.Append("rounding is half away from zero, once, where the column says (an amount to cents in its own currency; a conversion\n");
        md.Append("to the base currency from those cents × the rate; a per-unit figure from the exact quotient). Shares and ratios are\n");
        md.Append("DOUBLE, computed from exact values. The same input and settings give byte-identical tables, whatever the thread\n");
        md.Append("count; only the quarantine tables' `run_id` differs from run to run.\n");
        foreach (var stage in StageRegistry.All)
        {
            md.Append("\n## Stage `").Append(stage.Name).Append("`\n\n");
            md.Append(stage.Description).Append('\n');
            foreach (var table in stage.Writes)
            {
                md.Append("\n### ").Append(table.Name).Append("\n\n");
                if (table.Description.Length > 0)
                {
                    md.Append(table.Description).Append("\n\n");
                }
                md.Append("- Grain: ").Append(table.Grain).Append('\n');
                md.Append("- Key: ").Append(List(table.Key)).Append('\n');
                md.Append("- Partitioned by: ").Append(List(table.PartitionBy)).Append('\n');
                if (table.Optional)
                {
                    md.Append("- Optional: published only when the configuration asks for it\n");
                }
                if (table.Columns.Count > 0)
                {
                    md.Append("\n| column | type | description |\n|---|---|---|\n");
                    foreach (var c in table.Columns)
                    {
                        md.Append("| `").Append(c.Name).Append("` | ").Append(c.Type).Append(" | ").Append(Cell(c.Description)).Append(" |\n");
                    }
                }
            }
        }
        return md.ToString();
    }

    private static string List(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names.Select(n => "`" + n + "`"));

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
