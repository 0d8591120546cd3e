using System.IO.Compression;
using System.Text;
using NUnit.Framework;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Cli;

/// <summary>Every kind of bad input gives its documented exit code and exactly one readable line, no stack trace.</summary>
public class BadInputTests
{
    private const string Header = "order_id,customer_id,ordered_at,total_amount";
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("bad");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Path_(string name) => Path.Combine(_dir, name);

    private CliResult Clean(string input) =>
        PipelineCli.Run("clean-orders", "-i", input, "-o", Path_("out"), "--now", "2024-06-01T00:00:00Z");

    private static void AssertOneLine(CliResult r, int code, string contains)
    {
        Assert.That(r.ExitCode, Is.EqualTo(code), r.ToString());
        var errors = r.Stderr.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), r.ToString());
        Assert.That(errors[0], Does.Contain(contains));
        Assert.That(r.Stderr, Does.Not.Contain("   at "), "no stack trace without --verbose");
    }

    [Test]
    public void Empty_file_is_an_input_error()
    {
        File.WriteAllText(Path_("empty.csv"), "");
        AssertOneLine(Clean(Path_("empty.csv")), 3, "file is empty");
    }

    [Test]
    public void Header_only_is_an_input_error_unless_empty_input_is_allowed()
    {
        File.WriteAllText(Path_("header.csv"), Header + "\n");
        AssertOneLine(Clean(Path_("header.csv")), 3, "no data rows");
        File.WriteAllText(Path_("allow.json"), "{ \"quality\": { \"allow_empty_input\": true } }");
        var allowed = PipelineCli.Run("clean-orders", "-i", Path_("header.csv"), "-o", Path_("out2"), "-c", Path_("allow.json"));
        Assert.That(allowed.ExitCode, Is.Zero, allowed.ToString());
    }

    [Test]
    public void Missing_required_column_names_the_column_and_what_is_there()
    {
        File.WriteAllText(Path_("nocol.csv"), "id,customer_id,ordered_at,total_amount\n1,C1,2024-01-01,5\n");
        var r = Clean(Path_("nocol.csv"));
        AssertOneLine(r, 3, "required orders column 'order_id' not found");
        Assert.That(r.Stderr, Does.Contain("columns present: id, customer_id"));
    }

    [Test]
    public void A_file_that_is_not_utf8_is_quarantined_row_by_row_and_fails_the_gate()
    {
        // Latin-1 "Zoë" in every row: each row is invalid UTF-8 → quarantined as invalid_encoding → 100% > 5% → exit 4.
        var latin1 = Encoding.Latin1.GetBytes(Header + "\n1,Zo\u00eb,2024-01-01T00:00:00Z,5\n2,Zo\u00eb,2024-01-02T00:00:00Z,6\n");
        File.WriteAllBytes(Path_("latin1.csv"), latin1);
        var r = Clean(Path_("latin1.csv"));
        AssertOneLine(r, 4, "invalid_encoding 2");
    }

    [Test]
    public void Truncated_gzip_is_an_input_error()
    {
        using (var gz = new GZipStream(File.Create(Path_("full.csv.gz")), CompressionLevel.Optimal))
        {
            var body = new StringBuilder(Header + "\n");
            for (var i = 0; i < 20_000; i++)
            {
                body.Append(i).Append(",C1,2024-01-01T00:00:00Z,").Append(i % 97).Append('\n');
            }
            gz.Write(Encoding.UTF8.GetBytes(body.ToString()));
        }
        var bytes = File.ReadAllBytes(Path_("full.csv.gz"));
        File.WriteAllBytes(Path_("cut.csv.gz"), bytes[..(bytes.Length / 2)]);
        AssertOneLine(Clean(Path_("cut.csv.gz")), 3, "gzip data is truncated or corrupt");
    }

    [Test]
    public void Directory_without_data_files_is_an_input_error()
    {
        Directory.CreateDirectory(Path_("nodata"));
        File.WriteAllText(Path_("nodata/readme.md"), "nothing here");
        AssertOneLine(Clean(Path_("nodata")), 3, "directory has no data files");
    }

    [Test]
    public void Missing_path_and_unmatched_glob_are_input_errors()
    {
        AssertOneLine(Clean(Path_("does-not-exist.csv")), 3, "no such file or directory");
        AssertOneLine(Clean(Path_("*.nothing")), 3, "no files match this pattern");
    }

    [Test]
    public void A_broken_symbolic_link_among_the_inputs_is_an_input_error()
    {
        Directory.CreateDirectory(Path_("in"));
        File.WriteAllText(Path_("in/a.csv"), Header + "\n1,C1,2024-01-01T00:00:00Z,5\n");
        File.CreateSymbolicLink(Path_("in/b.csv"), "/nonexistent/x.csv");
        AssertOneLine(Clean(Path_("in")), 3, $"{Path_("in/b.csv")}: broken symbolic link");
    }

    [TestCase("--date", "0001-01-01", "--date 0001-01-01 is before quality.min_valid_date (2000-01-01)")]
    [TestCase("--date", "9999-12-31", "--date 9999-12-31 is after now (2024-07-01 06:00 UTC): a snapshot of a day to come would become the latest one everywhere; give a date on or before 2024-07-01")]
    [TestCase("--from", "1999-12-30", "--from 1999-12-30 is before quality.min_valid_date (2000-01-01)")]
    [TestCase("--to", "2024-07-02", "--to 2024-07-02 is after now (2024-07-01 06:00 UTC)")]
    public void A_snapshot_date_before_min_valid_date_or_after_now_is_exit_2_and_nothing_runs(string flag, string value, string message)
    {
        File.WriteAllText(Path_("f.json"), """{ "output": "out", "now": "2024-07-01T08:00:00+02:00", "orders": { "input": "in/" } }""");
        string[] dates = flag switch
        {
            "--from" => ["--from", value, "--to", "2024-01-01"],
            "--to" => ["--from", "2024-06-30", "--to", value],
            _ => [flag, value],
        };
        AssertOneLine(PipelineCli.Run(["run", "-c", Path_("f.json"), .. dates]), 2, message);
        Assert.That(Directory.Exists(Path_("out")), Is.False, "nothing written");
    }

    [Test]
    public void An_empty_pipeline_dump_sql_is_unset_and_a_file_there_is_exit_2()
    {
        // Child processes: the engine reads the variable once per process.
        File.WriteAllText(Path_("a.csv"), Header + "\n1,C1,2024-01-01T00:00:00Z,5\n");
        var empty = PipelineCli.RunProcess(new Dictionary<string, string> { ["PIPELINE_DUMP_SQL"] = "" },
            "clean-orders", "-i", Path_("a.csv"), "-o", Path_("out"), "--now", "2024-06-01T00:00:00Z", "-q");
        Assert.That(empty.ExitCode, Is.Zero, empty.ToString());
        File.WriteAllText(Path_("dump"), "a file");
        var file = PipelineCli.RunProcess(new Dictionary<string, string> { ["PIPELINE_DUMP_SQL"] = Path_("dump") },
            "clean-orders", "-i", Path_("a.csv"), "-o", Path_("out2"), "--now", "2024-06-01T00:00:00Z", "-q");
        AssertOneLine(file, 2, $"PIPELINE_DUMP_SQL: '{Path_("dump")}' is an existing file, not a directory");
        Assert.That(Directory.Exists(Path_("out2")), Is.False, "nothing written");
    }

    [TestCase("--only kpis --skip kpis", "--only and --skip leave no stage to run: kpis is both in --only and in --skip")]
    [TestCase("--only kpis,rfm --skip rfm,kpis,ltv", "--only and --skip leave no stage to run: kpis, rfm are both in --only and in --skip")]
    [TestCase("--skip clean-orders,clean-clicks,features,rfm,segment,ltv --skip kpis,alerts,experiments,report", "--skip leaves no stage to run")]
    public void A_stage_selection_that_leaves_nothing_to_run_is_exit_2(string selection, string message)
    {
        File.WriteAllText(Path_("f.json"), """{ "output": "out", "orders": { "input": "in/" } }""");
        AssertOneLine(PipelineCli.Run(["run", "-c", Path_("f.json"), .. selection.Split(' ')]), 2, message);
        Assert.That(Directory.Exists(Path_("out")), Is.False, "nothing written");
    }

    [Test]
    public void Bad_config_and_bad_usage_are_exit_2()
    {
        File.WriteAllText(Path_("bad.json"), "{ \"base_currency\": \"dollars\" }");
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", "x", "-c", Path_("bad.json")), 2, "base_currency");
        AssertOneLine(PipelineCli.Run("clean-orders", "--no-such-option"), 2, "--no-such-option");
        AssertOneLine(PipelineCli.Run("clean-orders", "-c", Path_("missing.json")), 2, "config file not found");
    }

    [Test]
    public void An_output_folder_equal_to_or_inside_an_input_folder_is_refused_before_anything_is_written()
    {
        Directory.CreateDirectory(Path_("landing"));
        File.WriteAllText(Path_("landing/a.csv"), Header + "\n1,C1,2024-01-01T00:00:00Z,5\n");
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", Path_("landing"), "-o", Path_("landing")), 2,
            $"output: '{Path_("landing")}' is the orders input folder '{Path_("landing")}'");
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", Path_("landing"), "-o", Path_("landing/out")), 2, "is inside the orders input folder");
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", Path_("landing/*.csv"), "-o", Path_("landing")), 2, "is the orders input folder");
        File.WriteAllText(Path_("f.json"), """{ "output": "landing", "events": { "input": "landing/" } }""");
        AssertOneLine(PipelineCli.Run("run", "-c", Path_("f.json")), 2, "is the events input folder");
        Assert.That(Directory.GetFileSystemEntries(Path_("landing")), Is.EqualTo(new[] { Path_("landing/a.csv") }), "nothing written");
    }

    [Test]
    public void An_input_folder_inside_the_output_folder_is_refused()
    {
        Directory.CreateDirectory(Path_("out/landing"));
        File.WriteAllText(Path_("out/landing/a.csv"), Header + "\n1,C1,2024-01-01T00:00:00Z,5\n");
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", Path_("out/landing"), "-o", Path_("out")), 2,
            $"orders.input: '{Path_("out/landing")}' is inside the output folder '{Path_("out")}'");
        Assert.That(Directory.GetFileSystemEntries(Path_("out")), Is.EqualTo(new[] { Path_("out/landing") }), "nothing written");
    }

    [Test]
    public void A_directory_to_write_that_is_a_file_or_a_file_to_write_that_is_a_directory_is_exit_2()
    {
        File.WriteAllText(Path_("a.csv"), Header + "\n1,C1,2024-01-01T00:00:00Z,5\n");
        File.WriteAllText(Path_("afile"), "not a directory");
        Directory.CreateDirectory(Path_("adir"));
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", Path_("a.csv"), "-o", Path_("afile")), 2, $"output: '{Path_("afile")}' is an existing file, not a directory");
        AssertOneLine(PipelineCli.Run("run", "-o", Path_("afile/out")), 2, $"output: '{Path_("afile/out")}' cannot be created: '{Path_("afile")}' is a file");
        AssertOneLine(PipelineCli.Run("generate", "--output", Path_("afile"), "--customers", "10", "--days", "5"), 2, $"'{Path_("afile")}' is an existing file, not a directory (--output)");
        AssertOneLine(PipelineCli.Run("export", "segments", "-o", Path_("out"), "--output-file", Path_("adir")), 2, $"--output-file: '{Path_("adir")}' is an existing directory");
        File.WriteAllText(Path_("temp.json"), """{ "engine": { "temp_directory": "afile" } }""");
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", Path_("a.csv"), "-o", Path_("out"), "-c", Path_("temp.json")), 2, "engine.temp_directory: ");
        Assert.That(Directory.Exists(Path_("out")), Is.False, "nothing written");
        Assert.That(File.ReadAllText(Path_("afile")), Is.EqualTo("not a directory"));
        Assert.That(Directory.GetFileSystemEntries(Path_("adir")), Is.Empty);
    }

    [TestCase("""{ "engine": null }""", "engine: must not be null")]
    [TestCase("""{ "orders": { "input": null } }""", "orders.input: must not be null")]
    [TestCase("""{ "output": "a", "output": "b" }""", "output: appears twice")]
    public void Null_values_and_duplicate_keys_in_the_config_are_exit_2(string json, string message)
    {
        File.WriteAllText(Path_("f.json"), json);
        AssertOneLine(PipelineCli.Run("clean-orders", "-i", Path_("x.csv"), "-o", Path_("out"), "-c", Path_("f.json")), 2, message);
        AssertOneLine(PipelineCli.Run("run", "-c", Path_("f.json"), "-o", Path_("out")), 2, message);
        var check = PipelineCli.Run("validate-config", "-c", Path_("f.json"));
        Assert.That(check.ExitCode, Is.EqualTo(2), check.ToString());
        Assert.That(check.Stderr, Does.Contain("  - " + message).And.Not.Contain("   at "), check.ToString());
        Assert.That(Directory.Exists(Path_("out")), Is.False, "nothing written");
    }
}
