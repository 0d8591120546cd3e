using System.Globalization;
using System.Text.Json.Nodes;
using Pipeline.Engine.DuckDb;
using NUnit.Framework;
using Pipeline.Stages;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages;

/// <summary>
/// The tables the stages declare (<see cref="StageRegistry.Tables"/>) against what <c>pipeline run</c> really writes on
/// the sample shop (with its ad spend input and an assignments file, so the optional <c>quarantine/ad_spend</c> and
/// <c>quarantine/assignments</c> exist, and three snapshot
/// dates, so <c>segments/migration</c> has rows and the keys are checked across partitions): each table's columns and
/// DuckDB types in file order, its key unique and non-null, its partition folders. Also the registry itself: every
/// table a stage reads is written by an earlier stage, and no two declarations share a name.
/// </summary>
[NonParallelizable]
public class TableSpecTests
{
    private string _dir = "";
    private string _output = "";

    /// <summary>Tables with declared columns (Parquet tables): the model file and the report page have none.</summary>
    private static IEnumerable<string> ParquetTables() => StageRegistry.Tables.Where(t => t.Columns.Count > 0).Select(t => t.Name);

    [OneTimeSetUp]
    public void RunThePipeline()
    {
        _dir = TestPaths.NewTempDir("table-specs");
        _output = Path.Combine(_dir, "out");
        var shop = Path.Combine(TestPaths.RepoRoot, "data-samples", "shop");
        // data-samples/shop.json with absolute input paths, and the default LTV horizons (90, 365 days), which the
        // declared ltv/customers columns name. The run only reads the sample files.
        var config = new JsonObject
        {
            ["output"] = _output,
            ["now"] = "2024-07-01T00:00:00Z",
            ["orders"] = new JsonObject { ["input"] = Path.Combine(shop, "orders") + Path.DirectorySeparatorChar },
            ["events"] = new JsonObject
            {
                ["input"] = Path.Combine(shop, "events") + Path.DirectorySeparatorChar,
                ["site_hosts"] = new JsonArray("shop.example.com"),
            },
            ["analytics"] = new JsonObject
            {
                ["time_unit"] = "day",
                ["ltv"] = new JsonObject { ["holdout_days"] = 14 },
                ["segments"] = new JsonObject { ["k_max"] = 4 },
            },
            ["kpis"] = new JsonObject { ["ad_spend"] = new JsonObject { ["input"] = Path.Combine(shop, "ad_spend.csv") } },
            ["experiments"] = new JsonObject { ["input"] = Path.Combine(_dir, "assignments.csv") },
        };
        // 30 assignments and one without a unit (quarantined: 1 of 31 is under the default 5% gate).
        File.WriteAllLines(Path.Combine(_dir, "assignments.csv"), new[] { "experiment_id,variant,assigned_at,user_id" }
            .Concat(Enumerable.Range(1, 30).Select(i => $"spec_test,{(i % 2 == 0 ? "control" : "B")},2024-06-10T10:{i:D2}:00Z,C{i:D7}"))
            .Append("spec_test,B,2024-06-10T11:00:00Z,"));
        var configPath = Path.Combine(_dir, "pipeline.json");
        File.WriteAllText(configPath, config.ToJsonString());
        var run = PipelineCli.Run("run", "-c", configPath, "--from", "2024-06-12", "--to", "2024-06-14", "-q");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (_dir.Length > 0 && Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    public void Every_declared_table_is_published_and_every_published_table_is_declared()
    {
        var published = Pipeline.Tools.OutputComparer.Tables(_output);
        Assert.That(published, Is.EquivalentTo(StageRegistry.Tables.Select(t => t.Name)),
            "the sample run (with ad spend) publishes exactly the declared tables");
    }

    [TestCaseSource(nameof(ParquetTables))]
    public void The_parquet_schema_is_the_declared_columns_in_order(string table)
    {
        var spec = StageRegistry.Table(table)!;
        var actual = Query($"DESCRIBE SELECT * FROM {Relation(table)}").Select(r => (Name: (string)r[0]!, Type: (string)r[1]!)).ToList();
        var declared = spec.Columns.Select(c => (c.Name, c.Type)).ToList();

        // DuckDB appends the Hive partition columns after the file's own columns, in an order of its own when there are
        // several: compare the file's columns in order, and the partition columns as a set. The declarations list the
        // partition columns last (checked here too), so with one partition column the whole list is also in order.
        bool IsPartition((string Name, string Type) c) => spec.PartitionBy.Contains(c.Name);
        Assert.That(declared.SkipWhile(c => !IsPartition(c)).All(IsPartition), Is.True, $"{table}: partition columns are declared last");
        Assert.That(actual.Where(c => !IsPartition(c)), Is.EqualTo(declared.Where(c => !IsPartition(c))),
            $"{table}: file columns (name, type) in order\nactual:   {Show(actual)}\ndeclared: {Show(declared)}");
        Assert.That(actual.Where(IsPartition), Is.EquivalentTo(declared.Where(IsPartition)), $"{table}: partition columns");
        Assert.That(spec.PartitionBy.All(p => declared.Any(c => c.Name == p)), Is.True, $"{table}: every partition column is declared as a column");
    }

    [TestCaseSource(nameof(ParquetTables))]
    public void The_declared_key_is_unique_and_not_null(string table)
    {
        var spec = StageRegistry.Table(table)!;
        Assert.That(spec.Key, Is.Not.Empty, $"{table}: a Parquet table declares its key");
        Assert.That(spec.Key.All(k => spec.Columns.Any(c => c.Name == k)), Is.True, $"{table}: key columns are declared columns");
        var keys = string.Join(", ", spec.Key.Select(Quote));
        var anyNull = string.Join(" OR ", spec.Key.Select(k => Quote(k) + " IS NULL"));
        var row = Query($"SELECT count(*), count(DISTINCT ({keys}, 0)), count(*) FILTER (WHERE {anyNull}) FROM {Relation(table)}").Single();
        var (rows, distinct, nulls) = (Convert.ToInt64(row[0], CultureInfo.InvariantCulture), Convert.ToInt64(row[1], CultureInfo.InvariantCulture),
            Convert.ToInt64(row[2], CultureInfo.InvariantCulture));
        TestContext.Out.WriteLine($"{table}: {rows} rows");
        Assert.That(nulls, Is.Zero, $"{table}: rows with a NULL key column ({keys})");
        Assert.That(distinct, Is.EqualTo(rows), $"{table}: distinct ({keys}) vs rows");
    }

    [TestCaseSource(nameof(ParquetTables))]
    public void The_files_sit_in_the_declared_partition_folders(string table)
    {
        var spec = StageRegistry.Table(table)!;
        var dir = Path.Combine(_output, table);
        var files = Directory.GetFiles(dir, "*.parquet", SearchOption.AllDirectories);
        Assert.That(files, Is.Not.Empty, $"{table}: Parquet files");
        foreach (var file in files)
        {
            var folders = Path.GetRelativePath(dir, Path.GetDirectoryName(file)!).Split(Path.DirectorySeparatorChar).Where(p => p != ".").ToList();
            Assert.That(folders.Select(f => f.Split('=', 2)[0]), Is.EqualTo(spec.PartitionBy), $"{table}: folders of {file}");
            Assert.That(folders.All(f => f.Contains('=', StringComparison.Ordinal) && f.Split('=', 2)[1].Length > 0), Is.True, $"{table}: col=value folders of {file}");
        }
    }

    [Test]
    public void Table_names_and_column_names_are_unique()
    {
        Assert.That(StageRegistry.Tables.Select(t => t.Name), Is.Unique);
        foreach (var t in StageRegistry.Tables)
        {
            Assert.That(t.Columns.Select(c => c.Name), Is.Unique, t.Name);
            Assert.That(t.Columns.All(c => c.Type.Length > 0 && c.Description.Length > 0), Is.True, $"{t.Name}: every column has a type and a description");
        }
    }

    private string Relation(string table) =>
        $"read_parquet('{Path.Combine(_output, table).Replace("'", "''", StringComparison.Ordinal)}/**/*.parquet', hive_partitioning = true)";

    private static string Quote(string column) => "\"" + column.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Show(IEnumerable<(string Name, string Type)> columns) => string.Join(", ", columns.Select(c => $"{c.Name} {c.Type}"));

    /// <summary>Runs a query on the pipeline's own DuckDB engine (read-only use: DESCRIBE, counts).</summary>
    private static IReadOnlyList<object?[]> Query(string sql)
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        return engine.Query(sql);
    }
}
