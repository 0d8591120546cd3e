using NUnit.Framework;
using Pipeline.Stages;

namespace Pipeline.Tests.Stages;

/// <summary>
/// <c>docs/tables.md</c> is generated from the table declarations (<see cref="TableDocs.Render"/>) and committed: this
/// test fails when the file is out of date. With <c>PIPELINE_WRITE_DOCS=1</c> it rewrites the file instead.
/// </summary>
public class TableDocsTests
{
    private const string RegenerateHint =
        "docs/tables.md is out of date with the table declarations. Regenerate it with: " +
        "PIPELINE_WRITE_DOCS=1 dotnet test tests/Pipeline.Tests --filter \"FullyQualifiedName~TableDocsTests\"";

    private static string DocsPath => Path.Combine(TestPaths.RepoRoot, "docs", "tables.md");

    [Test]
    public void Docs_tables_md_is_the_rendered_table_documentation()
    {
        var rendered = TableDocs.Render();
        if (Environment.GetEnvironmentVariable("PIPELINE_WRITE_DOCS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(DocsPath)!);
            File.WriteAllText(DocsPath, rendered);
            TestContext.Out.WriteLine($"wrote {DocsPath}");
        }
        Assert.That(File.Exists(DocsPath), Is.True, RegenerateHint);
        // A checkout with CRLF line endings is not a difference.
        var committed = File.ReadAllText(DocsPath).Replace("\r\n", "\n", StringComparison.Ordinal);
        Assert.That(committed, Is.EqualTo(rendered), RegenerateHint);
    }

    [Test]
    public void Every_table_is_documented()
    {
        var rendered = TableDocs.Render();
        foreach (var table in StageRegistry.Tables)
        {
            Assert.That(rendered, Does.Contain("\n### " + table.Name + "\n"), table.Name);
        }
    }
}
