using System.Text.Json.Serialization;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Grpc.Core;
using NUnit.Framework;
using Pipeline.Cli;
using Pipeline.Core;
using Pipeline.Engine;
using Pipeline.Engine.Spark;
using Pipeline.Engine.Spark.Protocol;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// The Spark engine against the in-process fake Spark Connect server: which requests each engine operation sends
/// (session config, Read.DataSource with DDL schema and metadata projection, WriteOperation shape, LocalRelation
/// Arrow payloads and chunking, the hash key as data) and how Spark errors become exit codes. The fake answers SQL
/// with canned Arrow batches: these tests prove the protocol and the engine's bookkeeping, not Spark's semantics.
/// </summary>
[TestFixture]
public sealed class SparkEngineTests : FakeSparkFixture
{
    protected override string DirPrefix => "spark-engine";

    [SetUp]
    public void DeclareTables()
    {
        // The persistent tables these tests read (the strict fake answers TABLE_OR_VIEW_NOT_FOUND for others).
        Fake.Catalog.Tables.UnionWith(["orders", "t"]);
    }

    private SparkEngine NewEngine(string extra = "", int maxUpload = 64 * 1024 * 1024) =>
        new(new SparkEngineOptions(Server.ConnectionString(extra), Retry: FastRetry, MaxUploadBytes: maxUpload));

    private List<string> SqlSent() => Fake.Requests<ExecutePlanRequest>()
        .Where(r => r.Plan.OpTypeCase == Plan.OpTypeOneofCase.Command && r.Plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.SqlCommand)
        .Select(r => r.Plan.Command.SqlCommand.Sql).ToList();

    private List<Command> Commands(Command.CommandTypeOneofCase kind) => Fake.Requests<ExecutePlanRequest>()
        .Where(r => r.Plan.OpTypeCase == Plan.OpTypeOneofCase.Command && r.Plan.Command.CommandTypeCase == kind)
        .Select(r => r.Plan.Command).ToList();

    [Test]
    public void Connecting_sets_utc_ansi_and_parquet_session_config()
    {
        using var engine = NewEngine();
        Assert.That(Fake.Conf["spark.sql.session.timeZone"], Is.EqualTo("UTC"));
        Assert.That(Fake.Conf["spark.sql.ansi.enabled"], Is.EqualTo("true"));
        Assert.That(Fake.Conf["spark.sql.parquet.outputTimestampType"], Is.EqualTo("TIMESTAMP_MICROS"));
        Assert.That(Fake.Conf["spark.sql.sources.partitionOverwriteMode"], Is.EqualTo("dynamic"));
        Assert.That(engine.Dialect, Is.SameAs(SparkDialect.Instance));
    }

    [Test]
    public void Csv_and_json_inputs_become_data_source_views_with_ddl_schemas_and_metadata_columns()
    {
        using var engine = NewEngine();
        var csv = new RawFileGroup("csv", ["/data/in/a.csv", "/data/in/b.csv.gz"], ';', '"', ["order_id", "Total Amount"],
            [new ColumnProjection("order_id", "order_id"), new ColumnProjection("total_amount", "Total Amount"), new ColumnProjection("email", null)]);
        var json = new RawFileGroup("jsonl", ["/data/in/c.jsonl"], ',', '"', [],
            [new ColumnProjection("order_id", "id"), new ColumnProjection("total_amount", "total_amount")]);

        engine.RegisterRawInput("orders_raw", new RawInput([csv, json]));

        var views = Commands(Command.CommandTypeOneofCase.CreateDataframeView).Select(c => c.CreateDataframeView).ToList();
        Assert.That(views, Has.Count.EqualTo(2));
        var project = views[0].Input.Project;
        Assert.That(project.Expressions.Select(e => e.ExpressionString.Expression),
            Is.SupersetOf(new[] { "*", "_metadata.file_path AS _file_path", "_metadata.file_block_start AS _block_start" }));
        var source = project.Input.Read.DataSource;
        Assert.That(source.Format, Is.EqualTo("csv"));
        Assert.That(source.Schema, Is.EqualTo("`order_id` STRING, `Total Amount` STRING, _corrupt_record STRING"));
        Assert.That(source.Paths, Is.EqualTo(new[] { "file:///data/in/a.csv", "file:///data/in/b.csv.gz" }));
        Assert.That(source.Options["mode"], Is.EqualTo("PERMISSIVE"));
        Assert.That(source.Options["columnNameOfCorruptRecord"], Is.EqualTo("_corrupt_record"));
        Assert.That(source.Options["sep"], Is.EqualTo(";"));
        Assert.That(source.Options["header"], Is.EqualTo("true"));
        Assert.That(source.Options["escape"], Is.EqualTo("\""));
        Assert.That(views[1].Input.Project.Input.Read.DataSource.Format, Is.EqualTo("text"));
        Assert.That(views[1].Input.Project.Input.Read.DataSource.Schema, Is.EqualTo("value STRING"));

        var union = SqlSent().Single(s => s.StartsWith("CREATE OR REPLACE TEMP VIEW `orders_raw`", StringComparison.Ordinal));
        Assert.That(union, Does.Contain("UNION ALL").And.Contain("_source_line").And.Contain("from_json(value, '`id` STRING, `total_amount` STRING')")
            .And.Contain("CAST(NULL AS STRING) AS `email`"));
        Assert.That(SqlTraps.Spark(union), Is.Empty);

        engine.DropRawInput("orders_raw");
        Assert.That(SqlSent().TakeLast(3), Is.EqualTo(new[] { "DROP VIEW IF EXISTS `orders_raw`", $"DROP VIEW IF EXISTS {views[0].Name}", $"DROP VIEW IF EXISTS {views[1].Name}" }));
    }

    [Test]
    public void Parquet_writes_are_write_operations_with_partitions_dynamic_overwrite_and_a_count_from_spark()
    {
        using var engine = NewEngine();
        var target = Path.Combine(Dir, "_staging", "r1", "clean", "orders");
        Directory.CreateDirectory(Path.Combine(target, "order_date=2024-01-01"));
        File.WriteAllText(Path.Combine(target, "order_date=2024-01-01", "part-00000-x.c000.zstd.parquet"), "");
        File.WriteAllText(Path.Combine(target, "order_date=2024-01-01", ".part-00000-x.c000.zstd.parquet.crc"), "");
        File.WriteAllText(Path.Combine(target, "_SUCCESS"), "");

        var rows = engine.WriteParquet("SELECT * FROM orders", target, ["order_date"]);

        var write = Commands(Command.CommandTypeOneofCase.WriteOperation).Single().WriteOperation;
        Assert.That(write.Input.Sql.Query, Is.EqualTo("SELECT * FROM orders"));
        Assert.That(write.Source, Is.EqualTo("parquet"));
        Assert.That(write.Path, Is.EqualTo("file://" + target));
        Assert.That(write.Mode, Is.EqualTo(WriteOperation.Types.SaveMode.Overwrite));
        Assert.That(write.PartitioningColumns, Is.EqualTo(new[] { "order_date" }));
        Assert.That(write.Options["partitionOverwriteMode"], Is.EqualTo("dynamic"));
        Assert.That(write.Options["compression"], Is.EqualTo("zstd"));
        Assert.That(rows, Is.EqualTo(7));
        Assert.That(SqlSent().Last(), Is.EqualTo($"SELECT count(*) FROM parquet.`file://{target}`"));
        // Hadoop's markers and checksums are removed: publication moves whole directory entries.
        Assert.That(Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Select(Path.GetFileName),
            Is.EqualTo(new[] { "part-00000-x.c000.zstd.parquet" }));
    }

    [Test]
    public void Materialize_caches_a_temp_view_and_drop_table_of_it_drops_the_view()
    {
        using var engine = NewEngine();
        engine.Materialize("orders_typed", "SELECT 1 AS x");
        engine.Execute("DROP TABLE IF EXISTS orders_typed");
        Assert.That(SqlSent(), Is.EqualTo(new[]
        {
            "DROP VIEW IF EXISTS `orders_typed`", "CACHE TABLE `orders_typed` AS SELECT 1 AS x", "DROP VIEW IF EXISTS orders_typed",
        }));
    }

    [Test]
    public void Query_and_for_each_row_convert_arrow_values()
    {
        using var engine = NewEngine();
        var dates = new Date32Array.Builder().Append(new DateOnly(2024, 3, 1)).AppendNull().Build();
        var names = new StringArray.Builder().Append("C1").Append("C2").Build();
        var amounts = new DoubleArray.Builder().Append(1.5).Append(2.5).Build();
        var schema = new Schema([new Field("d", Date32Type.Default, true), new Field("c", StringType.Default, true), new Field("a", DoubleType.Default, false)], null);
        Fake.OnQuery = _ => [FakeSparkService.Batch(new RecordBatch(schema, [dates, names, amounts], 2))];

        var rows = engine.Query("SELECT d, c, a FROM t");
        Assert.That(rows[0], Is.EqualTo(new object?[] { new DateOnly(2024, 3, 1), "C1", 1.5 }));
        Assert.That(rows[1][0], Is.Null);

        var seen = new List<(string, double, bool)>();
        engine.ForEachRow("SELECT d, c, a FROM t", r => seen.Add((r.GetString(1), r.GetDouble(2), r.IsDBNull(0))));
        Assert.That(seen, Is.EqualTo(new[] { ("C1", 1.5, false), ("C2", 2.5, true) }));
    }

    private sealed class ScoreRow
    {
        [JsonPropertyName("customer_id")] public string CustomerId { get; set; } = "";
        [JsonPropertyName("score")] public int Score { get; set; }
        [JsonPropertyName("share")] public double? Share { get; set; }
    }

    [Test]
    public void Model_rows_go_up_as_arrow_local_relations_in_chunks_and_are_written_by_spark()
    {
        using var engine = NewEngine(maxUpload: 4_000);
        var rows = Enumerable.Range(0, 500).Select(i => new ScoreRow { CustomerId = $"C{i:0000}", Score = i % 5, Share = i % 7 == 0 ? null : i / 500.0 }).ToList();
        var target = Path.Combine(Dir, "rfm", "scores", "as_of=2024-06-30");

        var written = engine.WriteRows(rows, target);

        Assert.That(written, Is.EqualTo(500));
        var uploads = Commands(Command.CommandTypeOneofCase.CreateDataframeView).Select(c => c.CreateDataframeView).ToList();
        var writes = Commands(Command.CommandTypeOneofCase.WriteOperation).Select(c => c.WriteOperation).ToList();
        Assert.That(uploads, Has.Count.GreaterThan(1), "payloads above the limit are split");
        Assert.That(writes, Has.Count.EqualTo(uploads.Count));
        Assert.That(writes.Select(w => w.Mode), Is.EqualTo(new[] { WriteOperation.Types.SaveMode.Overwrite }
            .Concat(Enumerable.Repeat(WriteOperation.Types.SaveMode.Append, writes.Count - 1))));
        Assert.That(writes.Select(w => w.Input.Sql.Query), Is.EqualTo(uploads.Select(u => $"SELECT * FROM {u.Name}")));
        Assert.That(writes.Select(w => w.Path).Distinct(), Is.EqualTo(new[] { "file://" + target }));

        var back = new List<(string, int, double?)>();
        foreach (var upload in uploads)
        {
            Assert.That(upload.Input.LocalRelation.Data.Length, Is.LessThanOrEqualTo(4_000));
            using var reader = new ArrowStreamReader(new MemoryStream(upload.Input.LocalRelation.Data.ToByteArray()));
            Assert.That(reader.Schema.FieldsList.Select(f => f.Name), Is.EqualTo(new[] { "customer_id", "score", "share" }));
            while (reader.ReadNextRecordBatch() is { } batch)
            {
                using (batch)
                {
                    var ids = (StringArray)batch.Column(0);
                    var scores = (Int32Array)batch.Column(1);
                    var shares = (DoubleArray)batch.Column(2);
                    for (var i = 0; i < batch.Length; i++)
                    {
                        back.Add((ids.GetString(i), scores.GetValue(i)!.Value, shares.GetValue(i)));
                    }
                }
            }
        }
        Assert.That(back, Is.EqualTo(rows.Select(r => (r.CustomerId, r.Score, r.Share)).ToList()));
    }

    [Test]
    public void Hash_key_goes_up_as_binary_data_never_as_sql_text()
    {
        using var engine = NewEngine();
        var ipad = Enumerable.Repeat((byte)0x36, 64).ToArray();
        var opad = Enumerable.Repeat((byte)0x5c, 64).ToArray();
        engine.RegisterHashKey(ipad, opad);

        var view = Commands(Command.CommandTypeOneofCase.CreateDataframeView).Single().CreateDataframeView;
        Assert.That(view.Name, Is.EqualTo("_hmac_key"));
        using var reader = new ArrowStreamReader(new MemoryStream(view.Input.LocalRelation.Data.ToByteArray()));
        using var batch = reader.ReadNextRecordBatch();
        Assert.That(((BinaryArray)batch.Column("ipad")).GetBytes(0).ToArray(), Is.EqualTo(ipad));
        Assert.That(((BinaryArray)batch.Column("opad")).GetBytes(0).ToArray(), Is.EqualTo(opad));
        Assert.That(SqlSent(), Is.Empty);
    }

    [Test]
    public void Spark_errors_become_one_line_pipeline_failures_with_exit_codes()
    {
        using var engine = NewEngine();
        Fake.OnQuery = sql => throw FakeSparkService.SparkError(StatusCode.Internal, "TABLE_OR_VIEW_NOT_FOUND", "42P01",
            "org.apache.spark.sql.AnalysisException", "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nope` cannot be found.\nline 2");
        var e = Assert.Throws<EngineException>(() => engine.Query("SELECT * FROM nope"))!;
        Assert.That(e.Message, Does.StartWith("Spark: ").And.Contain("TABLE_OR_VIEW_NOT_FOUND").And.Not.Contain("\n"));
        Assert.That(Failures.Classify(e).Code, Is.EqualTo(ExitCodes.UnexpectedFailure));

        Fake.OnQuery = sql => throw FakeSparkService.SparkError(StatusCode.Internal, "PATH_NOT_FOUND", "42K03",
            "org.apache.spark.sql.AnalysisException", "[PATH_NOT_FOUND] Path does not exist: file:/data/in.");
        var input = Assert.Throws<PipelineException>(() => engine.Query("SELECT * FROM parquet.`/data/in`"))!;
        Assert.That(input.ExitCode, Is.EqualTo(ExitCodes.InputProblem));
    }

    [Test]
    public void A_bad_connection_string_is_a_configuration_error_that_never_shows_the_token()
    {
        var e = Assert.Throws<PipelineException>(() => new SparkEngine(new SparkEngineOptions("sc://host:99999/;token=s3cr3t")))!;
        Assert.That(e.ExitCode, Is.EqualTo(ExitCodes.UsageOrConfig));
        Assert.That(e.Message, Does.Not.Contain("s3cr3t"));
        var config = new Pipeline.Config.EngineConfig { Kind = "spark", Remote = "sc://h:15002/;token=s3cr3t" };
        Assert.That(config.ToString(), Does.Not.Contain("s3cr3t").And.Contain("token=***"));
    }

    [Test]
    public void Cli_engine_spark_needs_a_remote_and_never_echoes_its_token()
    {
        var previous = Environment.GetEnvironmentVariable("SPARK_REMOTE");
        Environment.SetEnvironmentVariable("SPARK_REMOTE", null);
        try
        {
            var input = Path.Combine(Pipeline.Tests.TestPaths.RepoRoot, "data-samples", "orders");
            var none = Pipeline.Tests.Support.PipelineCli.Run("clean-orders", "-i", input, "-o", Dir, "--engine", "spark");
            Assert.That(none.ExitCode, Is.EqualTo(ExitCodes.UsageOrConfig), none.ToString());
            Assert.That(none.Stderr, Does.Contain("--remote").And.Contain("SPARK_REMOTE"));

            var bad = Pipeline.Tests.Support.PipelineCli.Run("clean-orders", "-i", input, "-o", Dir, "--engine", "spark", "--remote", "sc://h:1/;token=s3cr3t;oops");
            Assert.That(bad.ExitCode, Is.EqualTo(ExitCodes.UsageOrConfig), bad.ToString());
            Assert.That(bad.Stderr + bad.Stdout, Does.Not.Contain("s3cr3t"));

            Environment.SetEnvironmentVariable("SPARK_REMOTE", "sc://h:1/;token=s3cr3t;oops");
            var env = Pipeline.Tests.Support.PipelineCli.Run("clean-orders", "-i", input, "-o", Dir, "--engine", "spark");
            Assert.That(env.ExitCode, Is.EqualTo(ExitCodes.UsageOrConfig), env.ToString());
            Assert.That(env.Stderr, Does.Contain("SPARK_REMOTE").And.Not.Contain("s3cr3t"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("SPARK_REMOTE", previous);
        }
    }

    [Test]
    public void The_token_is_sent_as_bearer_metadata_and_not_logged()
    {
        var log = new List<string>();
        using (var engine = new SparkEngine(new SparkEngineOptions(Server.ConnectionString(";token=s3cr3t;use_ssl=false"), log.Add, FastRetry)))
        {
            Assert.That(engine.Remote, Does.Not.Contain("s3cr3t"));
            Fake.FailNext("ExecutePlan", 1, () => new RpcException(new Status(StatusCode.Unavailable, "down")));
            engine.Query("SELECT 1");
        }
        Assert.That(Fake.Calls.Where(c => c.Rpc == "Config").Select(c => c.Headers["authorization"]), Has.All.EqualTo("Bearer s3cr3t"));
        Assert.That(log, Is.Not.Empty);
        Assert.That(log, Has.None.Contains("s3cr3t"));
    }
}
