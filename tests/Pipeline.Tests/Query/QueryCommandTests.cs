using System.Globalization;
using System.Text.Json;
using CsvHelper;
using NUnit.Framework;
using Pipeline.Query;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Query;

/// <summary>
/// <c>pipeline query</c> over the outputs of the sample shop: counts agree with the published Parquet read by an
/// independent reader, csv and jsonl parse back to the same values, anything that writes is refused (exit 2) and
/// leaves the output as it was, a bad query is exit 2, an empty directory exit 3.
/// </summary>
public class QueryCommandTests
{
    private static string _output = "";

    [OneTimeSetUp]
    public void RunTheShop()
    {
        _output = TestPaths.NewTempDir("query-shop");
        var r = PipelineCli.Run("run", "-c", Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json"), "-o", _output, "-q");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
    }

    [OneTimeTearDown]
    public void CleanUp() => Directory.Delete(_output, recursive: true);

    private static CliResult Query(string sql, params string[] more) => PipelineCli.Run(["query", sql, "-o", _output, .. more]);

    /// <summary>Every file under the output (but the lock) with its size and time: what a refused statement must leave alone.</summary>
    private static List<string> Snapshot() => Directory.EnumerateFiles(_output, "*", SearchOption.AllDirectories)
        .Where(f => Path.GetFileName(f) != "_lock")
        .Select(f => $"{Path.GetRelativePath(_output, f)} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f):O}")
        .Order(StringComparer.Ordinal).ToList();

    /// <summary>The rows of a CSV text as column → field, by its header (CsvHelper, strict).</summary>
    private static List<Dictionary<string, string>> ReadCsv(string text)
    {
        using var reader = CsvReader.FromText(text, new CsvReaderOptions
        {
            HasHeader = false, Separator = ',', MalformedData = CsvMalformedDataHandling.Throw, SkipEmptyLines = false,
        });
        var records = new List<string[]>();
        while (reader.Read())
        {
            records.Add(Enumerable.Range(0, reader.FieldCount).Select(reader.GetString).ToArray());
        }
        return records.Skip(1).Select(r => records[0].Zip(r).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal)).ToList();
    }

    [Test]
    public void A_count_equals_the_rows_of_the_published_table()
    {
        var expected = ParquetTable.Read(Path.Combine(_output, "clean", "orders")).Count;
        Assert.That(expected, Is.GreaterThan(0));
        var r = Query("SELECT count(*) AS n FROM clean_orders");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Is.EqualTo(new[] { "n", new string('-', Math.Max(1, expected.ToString(CultureInfo.InvariantCulture).Length)), expected.ToString(CultureInfo.InvariantCulture), "(1 row)" }));
    }

    [Test]
    public void Partition_columns_are_columns_of_the_views()
    {
        var r = Query("SELECT count(DISTINCT order_date) AS days FROM clean_orders", "--format", "csv");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var days = Directory.GetDirectories(Path.Combine(_output, "clean", "orders"), "order_date=*").Length;
        Assert.That(r.Stdout, Is.EqualTo($"days\r\n{days}\r\n"));
    }

    [Test]
    public void Csv_and_jsonl_parse_back_to_the_published_values()
    {
        var published = ParquetTable.Read(Path.Combine(_output, "clean", "orders"))
            .ToDictionary(row => row["order_id"]!.ToString()!, row => (Net: Convert.ToDecimal(row["net_revenue"], CultureInfo.InvariantCulture), Customer: row["customer_id"]?.ToString()));
        const string sql = "SELECT order_id, net_revenue, customer_id, 'a, \"quoted\" text' AS note, NULL AS nothing FROM clean_orders ORDER BY order_id";

        var csv = Query(sql, "--format", "csv");
        Assert.That(csv.ExitCode, Is.Zero, csv.ToString());
        var fromCsv = ReadCsv(csv.Stdout);
        Assert.That(fromCsv, Has.Count.EqualTo(published.Count));

        var jsonl = Query(sql, "--format", "jsonl");
        Assert.That(jsonl.ExitCode, Is.Zero, jsonl.ToString());
        var fromJson = jsonl.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(fromJson, Has.Count.EqualTo(published.Count));

        Assert.Multiple(() =>
        {
            for (var i = 0; i < fromCsv.Count; i++)
            {
                var id = fromCsv[i]["order_id"];
                Assert.That(published.ContainsKey(id), id);
                Assert.That(decimal.Parse(fromCsv[i]["net_revenue"], CultureInfo.InvariantCulture), Is.EqualTo(published[id].Net), id);
                Assert.That(fromCsv[i]["customer_id"], Is.EqualTo(published[id].Customer ?? ""), id);
                Assert.That(fromCsv[i]["note"], Is.EqualTo("a, \"quoted\" text"));
                Assert.That(fromCsv[i]["nothing"], Is.Empty);

                var json = fromJson[i];
                Assert.That(json.GetProperty("order_id").GetString(), Is.EqualTo(id));
                Assert.That(json.GetProperty("net_revenue").GetDecimal(), Is.EqualTo(published[id].Net), id);
                Assert.That(json.GetProperty("customer_id").ValueKind == JsonValueKind.Null ? null : json.GetProperty("customer_id").GetString(), Is.EqualTo(published[id].Customer));
                Assert.That(json.GetProperty("note").GetString(), Is.EqualTo("a, \"quoted\" text"));
                Assert.That(json.GetProperty("nothing").ValueKind, Is.EqualTo(JsonValueKind.Null));
            }
        });
    }

    [TestCase("DELETE FROM clean_orders")]
    [TestCase("COPY clean_orders TO '/tmp/x.csv'")]
    [TestCase("ATTACH 'x.db'")]
    [TestCase("SELECT 1; DROP TABLE x")]
    [TestCase("select 1 /* ; */ ; -- fine\n insert into clean_orders select * from clean_orders")]
    [TestCase("WITH t AS (SELECT 1) DELETE FROM clean_orders")]
    [TestCase("EXPLAIN ANALYZE DELETE FROM clean_orders")]
    [TestCase("SET enable_external_access = true")]
    [TestCase("PRAGMA version")]
    [TestCase("INSTALL httpfs")]
    [TestCase("CREATE TABLE t AS SELECT 1")]
    public void Statements_that_write_are_refused_and_change_nothing(string sql)
    {
        var before = Snapshot();
        var r = Query(sql);
        Assert.Multiple(() =>
        {
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            Assert.That(r.Stderr, Does.StartWith("error: pipeline query is read-only:").And.Contains("allowed is one SELECT"));
            Assert.That(r.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(r.Stdout, Is.Empty);
            Assert.That(Snapshot(), Is.EqualTo(before));
        });
    }

    [TestCase("SELECT 'DELETE FROM x; DROP TABLE y' AS s", "DELETE FROM x; DROP TABLE y")]
    [TestCase("-- COPY in a comment\nSELECT \"set\" FROM (SELECT 7 AS \"set\") /* drop */;", "7")]
    public void Keywords_inside_literals_comments_and_quoted_names_are_not_statements(string sql, string value)
    {
        var r = Query(sql, "--format", "csv");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout.Split("\r\n")[1], Is.EqualTo(value.Contains(',', StringComparison.Ordinal) ? $"\"{value}\"" : value));
    }

    [Test]
    public void The_engine_itself_reads_no_file_outside_the_output_directory()
    {
        var r = Query("SELECT * FROM read_csv('/etc/hostname')");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.StartWith("error: DuckDB: Permission Error"));
    }

    [Test]
    public void An_unknown_table_is_a_usage_error_with_duckdbs_first_line()
    {
        var r = Query("SELECT * FROM no_such_table");
        Assert.Multiple(() =>
        {
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            Assert.That(r.Stderr, Does.StartWith("error: DuckDB: Catalog Error: Table with name no_such_table does not exist"));
            Assert.That(r.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        });
    }

    [Test]
    public void An_empty_directory_is_exit_3_with_a_hint_to_run_the_pipeline()
    {
        var empty = TestPaths.NewTempDir("query-empty");
        try
        {
            var r = PipelineCli.Run("query", "SELECT 1", "-o", empty);
            Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
            Assert.That(r.Stderr, Does.Contain("no published tables").And.Contains("run the pipeline first"));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Test]
    public void Only_published_parquet_tables_become_views()
    {
        Assert.That(TableQuery.PublishedTables(_output).Select(t => t.View), Does.Contain("clean_orders").And.Contain("rfm_scores").And.Contain("quarantine_events")
            .And.Not.Contain("report").And.Not.Contain("segments_model"));
    }

    [Test]
    public void Table_format_right_aligns_numbers_and_prints_null()
    {
        var r = Query("SELECT 'a' AS name, 12.50::DECIMAL(10,2) AS amount, NULL::INTEGER AS n UNION ALL SELECT 'long name', 3.00, 7 ORDER BY name");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Stdout.Replace("\r\n", "\n", StringComparison.Ordinal), Is.EqualTo(
            "name       amount     n\n" +
            "---------  ------  ----\n" +
            "a           12.50  NULL\n" +
            "long name    3.00     7\n" +
            "(2 rows)\n"));
    }
}
