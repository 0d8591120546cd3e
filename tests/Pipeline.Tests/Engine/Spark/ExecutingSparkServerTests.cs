using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using Pipeline.Engine;
using Pipeline.Engine.Spark;
using Pipeline.Privacy;
using Pipeline.Tests.Engine.Spark.Executing;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// The executing mode of the strict fake Spark Connect server, driven through the real Spark engine over loopback
/// gRPC: Spark SQL computes what Spark computes for the functions and spellings the pipeline uses (values worked out
/// by hand, or by .NET's own SHA-256/HMAC), files are read as Spark's readers read them, writes have Spark's layout,
/// Arrow results have Spark Connect's types, and Spark's runtime and analysis errors surface with Spark's classes.
/// </summary>
[TestFixture]
public sealed class ExecutingSparkServerTests
{
    private FakeSparkServer _server = null!;
    private string _dir = "";

    [SetUp]
    public async Task Start()
    {
        _server = await FakeSparkServer.StartAsync(new ExecutingSparkBackend());
        _dir = TestPaths.NewTempDir("spark-executing");
    }

    [TearDown]
    public async Task Stop()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private SparkEngine NewEngine() => new(new SparkEngineOptions(_server.Remote, Retry: new SparkRetryPolicy { MaxRetries = 1, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(1), Jitter = 0 }));

    private static object? Scalar(SparkEngine engine, string sql) => engine.Query(sql).Single().Single();

    // ------------------------------------------------------------------ Spark semantics of the translated SQL

    [TestCase("SELECT datediff(DATE '2024-06-30', DATE '2024-06-01')", 29)] // end first
    [TestCase("SELECT concat('a', CAST(NULL AS STRING)) IS NULL", true)] // NULL if any argument is
    [TestCase("SELECT concat_ws('|', 'a', CAST(NULL AS STRING), 'b')", "a|b")]
    [TestCase("SELECT 'say \\'hi\\'' || ' \\\\o/'", "say 'hi' \\o/")] // Spark's backslash escapes
    [TestCase("SELECT 'a' 'b'", "ab")] // adjacent literals concatenate
    [TestCase("SELECT `odd ``name```.x FROM (SELECT 1 AS x) AS `odd ``name```", 1)]
    [TestCase("SELECT 'xx-12-yy' RLIKE '[0-9]+'", true)] // a match anywhere
    [TestCase("SELECT 'line1\\nline2' RLIKE '^line2'", false)] // ^ is the start of the input (no MULTILINE)
    [TestCase("SELECT regexp_extract('order 123-45', '([0-9]+)-([0-9]+)', 2)", "45")]
    [TestCase("SELECT regexp_replace('a.b.c', '\\\\.', '$0\\\\$')", "a.$b.$c")] // every match; $0 a group, \\$ a dollar
    [TestCase("SELECT floor(2.7D)", 2L)] // BIGINT
    [TestCase("SELECT 7 div 2", 3L)]
    [TestCase("SELECT percentile(v, 0.25) FROM (VALUES (1.0D), (2.0D), (3.0D), (4.0D)) AS t(v)", 1.75)]
    [TestCase("SELECT octet_length('héllo') = length('héllo')", false)]
    [TestCase("SELECT unix_micros(TIMESTAMP '1970-01-01 00:00:01.5+00:00')", 1_500_000L)]
    [TestCase("SELECT unix_micros(timestamp_millis(1500))", 1_500_000L)]
    [TestCase("SELECT unix_micros(timestamp_seconds(2))", 2_000_000L)]
    [TestCase("SELECT sha2(CAST('abc' AS BINARY), 256)", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [TestCase("SELECT max_by(x, y) IS NULL FROM (VALUES ('a', 1), ('b', CAST(NULL AS INT)), (CAST(NULL AS STRING), 5)) AS t(x, y)", true)] // a NULL value at the maximum is kept
    [TestCase("SELECT min_by(x, y) FROM (VALUES ('a', 2), ('b', CAST(NULL AS INT)), ('c', 1)) AS t(x, y)", "c")] // a NULL ordering is skipped
    [TestCase("SELECT get_json_object('{\"a\": 1} trailing', '$') IS NULL", true)]
    [TestCase("SELECT from_json('{\"id\": \"A-1\", \"n\": 12}', '`id` STRING, `n` STRING').n", "12")] // a number as its text
    [TestCase("SELECT CAST(date_trunc('month', DATE '2024-06-15') AS DATE) = DATE '2024-06-01'", true)]
    [TestCase("SELECT CAST(TIMESTAMP '2024-05-12 20:45:13.538+00:00' AS STRING)", "2024-05-12 20:45:13.538")] // no offset, no trailing zeros
    [TestCase("SELECT CAST(TIMESTAMP '2024-05-12 20:45:13+00:00' AS STRING)", "2024-05-12 20:45:13")]
    [TestCase("SELECT CAST(DATE '2024-05-12' AS STRING) || '|' || CAST(CAST(12.50 AS DECIMAL(18,2)) AS STRING) || '|' || CAST(true AS STRING)", "2024-05-12|12.50|true")]
    public void Spark_sql_computes_what_spark_computes(string sql, object expected)
    {
        using var engine = NewEngine();
        Assert.That(Scalar(engine, sql), Is.EqualTo(expected));
    }

    [TestCase("SELECT unix_micros(try_to_timestamp('01/06/2024 10:30', 'dd/MM/yyyy HH:mm'))", 1_717_237_800_000_000L)]
    [TestCase("SELECT unix_micros(to_utc_timestamp(TIMESTAMP '2024-06-01 10:00:00+00:00', 'Europe/Paris'))", 1_717_228_800_000_000L)] // 10:00 in Paris (CEST) is 08:00 UTC
    [TestCase("SELECT try_to_timestamp('31/02/2024 10:30', 'dd/MM/yyyy HH:mm') IS NULL", true)]
    public void Timestamps_are_parsed_and_shifted_as_in_a_utc_session(string sql, object expected)
    {
        using var engine = NewEngine();
        Assert.That(Scalar(engine, sql), Is.EqualTo(expected));
    }

    [Test]
    public void Both_dialects_write_a_timestamp_as_the_same_text()
    {
        DateTimeOffset[] instants =
        [
            new(2024, 5, 12, 20, 45, 13, TimeSpan.Zero), new DateTimeOffset(2024, 5, 12, 20, 45, 13, TimeSpan.Zero).AddTicks(5_380_000),
            new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(10), new(1999, 12, 31, 23, 59, 59, TimeSpan.FromHours(2)),
        ];
        string[] expected = ["2024-05-12 20:45:13+00", "2024-05-12 20:45:13.538+00", "2024-01-01 00:00:00.000001+00", "1999-12-31 21:59:59+00"];
        using var spark = NewEngine();
        using var duck = new Pipeline.Engine.DuckDb.DuckDbEngine(new Pipeline.Engine.DuckDb.DuckDbOptions(Threads: 1));
        foreach (var (engine, i) in new IEngine[] { spark, duck }.SelectMany(e => instants.Select((_, i) => (e, i))))
        {
            var d = engine.Dialect;
            Assert.That(engine.Query($"SELECT {d.TimestampText(d.TimestampLiteral(instants[i]))}").Single().Single(), Is.EqualTo(expected[i]), engine.Name);
        }
        Assert.That(spark.Query($"SELECT {spark.Dialect.TimestampText("CAST(NULL AS TIMESTAMP)")} IS NULL").Single().Single(), Is.EqualTo(true));
    }

    [TestCase("1234.5", "1234.5000")]
    [TestCase("-3", "-3.0000")]
    [TestCase("1e3", "1000.0000")]
    [TestCase("2.5E-2", "0.0250")]
    [TestCase("+7", "7.0000")]
    [TestCase(".5", "0.5000")]
    [TestCase("5.", "5.0000")]
    [TestCase("-1e-9", "0.0000")]          // a number (negative: the stages test its sign on the text)
    [TestCase("1.00005", "1.0001")]        // half away from zero at 4 decimals
    [TestCase("99999999999999.9999", "99999999999999.9999")]
    [TestCase("1e14", null)]               // 15 digits before the point: does not fit
    [TestCase("1_000", null)]              // DuckDB's cast read 1000
    [TestCase("1,000", null)]
    [TestCase("12,50", null)]
    [TestCase("$12", null)]
    [TestCase("1 000", null)]
    [TestCase("0x10", null)]
    [TestCase("NaN", null)]
    [TestCase("Infinity", null)]
    [TestCase("1e", null)]
    [TestCase(".", null)]
    [TestCase("", null)]
    public void Both_dialects_read_only_plain_decimal_numbers(string text, string? expected)
    {
        using var spark = NewEngine();
        using var duck = new Pipeline.Engine.DuckDb.DuckDbEngine(new Pipeline.Engine.DuckDb.DuckDbOptions(Threads: 1));
        foreach (var engine in new IEngine[] { spark, duck })
        {
            var d = engine.Dialect;
            var value = engine.Query($"SELECT {d.ToText(d.TryDecimal(d.Str(text)))}").Single().Single();
            Assert.That(value, Is.EqualTo(expected), $"{engine.Name}: '{text}'");
        }
    }

    // 2024-03-01T10:00:00Z is epoch 1 709 287 200 s; an offset +hh:mm means hh:mm earlier in UTC.
    [TestCase("2024-03-01T10:00:00Z", 1_709_287_200L)]
    [TestCase("2024-03-01T10:00:00+18:00", 1_709_222_400L)]      // − 64 800 s: the largest offset there is
    [TestCase("2024-03-01T10:00:00-18:00", 1_709_352_000L)]      // + 64 800 s
    [TestCase("2024-03-01T10:00:00+05:30", 1_709_267_400L)]      // − 19 800 s
    [TestCase("2024-03-01T10:00:00+0800", 1_709_258_400L)]       // − 28 800 s
    [TestCase("2024-03-01T10:00:00+08", 1_709_258_400L)]
    [TestCase("2024-03-01T10:00:00.5-0130", 1_709_292_600L)]     // + 5 400 s (the half second is truncated below)
    [TestCase("2024-03-01 10:00:00", 1_709_287_200L)]
    [TestCase("2024-03-01", 1_709_251_200L)]
    [TestCase("1709287200", 1_709_287_200L)]
    [TestCase("2024-03-01T10:00:00+99:99", null)]                // DuckDB's cast read 99 h 99 min: 2024-02-26 05:21
    [TestCase("2024-03-01T10:00:00+24:00", null)]                // a whole day
    [TestCase("2024-03-01T10:00:00-24:00", null)]
    [TestCase("2024-03-01T10:00:00+18:30", null)]                // beyond ±18:00
    [TestCase("2024-03-01T10:00:00-18:01", null)]
    [TestCase("2024-03-01T10:00:00-19:00", null)]
    [TestCase("2024-03-01T10:00:00+08:60", null)]                // minutes ≥ 60
    [TestCase("2024-03-01T10:00:00+0860", null)]
    [TestCase("2024-03-01T10:00:00+99", null)]
    [TestCase("2024-03-01T10:00:00+24", null)]
    [TestCase("2024-03-01T10:00:00+08:00:60", null)]             // seconds ≥ 60
    public void Both_dialects_read_offsets_up_to_18_hours_and_refuse_impossible_ones(string value, long? expectedSeconds)
    {
        // Spark's own cast refuses these offsets (java.time's ZoneOffset); DuckDB's, which the executing fake runs, reads
        // them. The dialects' offset rule makes both engines refuse them, in a UTC source zone, another zone, and with
        // a custom format.
        using var spark = NewEngine();
        using var duck = new Pipeline.Engine.DuckDb.DuckDbEngine(new Pipeline.Engine.DuckDb.DuckDbOptions(Threads: 1));
        foreach (var engine in new IEngine[] { spark, duck })
        {
            var d = engine.Dialect;
            foreach (var (zone, format) in new[] { ("UTC", (string?)null), ("Asia/Shanghai", null), ("UTC", "%d/%m/%Y %H:%M") })
            {
                var parsed = engine.Query($"SELECT {d.EpochMicros(d.ParseTimestamp(d.Str(value), zone, format))}").Single().Single();
                var seconds = parsed is null ? (long?)null : Convert.ToInt64(parsed, System.Globalization.CultureInfo.InvariantCulture) / 1_000_000;
                // Values without an offset are read in the source zone: Shanghai is 8 h ahead of UTC.
                var expected = zone == "UTC" || expectedSeconds is null || value.EndsWith('Z') || value.Length > 19 || value.All(char.IsAsciiDigit)
                    ? expectedSeconds : expectedSeconds - 28_800;
                Assert.That(seconds, Is.EqualTo(expected), $"{engine.Name}, {zone}, {format}: {value}");
            }
        }
    }

    [Test]
    public void The_dialect_s_hmac_over_the_uploaded_key_equals_dotnet_hmacsha256()
    {
        const string key = "a key for the executing fake";
        var (ipad, opad) = HashKey.FromBytes(Encoding.UTF8.GetBytes(key)).Pads();
        using var engine = NewEngine();
        engine.RegisterHashKey(ipad, opad);
        var rows = engine.Query($"SELECT v, {engine.Dialect.HmacHex("v")} FROM (VALUES ('alice@example.com'), ('Zoë ☕'), ('')) AS t(v) CROSS JOIN _hmac_key k");
        Assert.That(rows, Has.Count.EqualTo(3));
        foreach (var row in rows)
        {
            var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes((string)row[0]!)));
            Assert.That(row[1], Is.EqualTo(expected), $"value '{row[0]}'");
        }
    }

    [Test]
    public void Results_arrive_with_spark_connect_s_arrow_types()
    {
        using var engine = NewEngine();
        var row = engine.Query("""
            SELECT CAST(1 AS INT), CAST(2 AS BIGINT), sum(CAST(3 AS BIGINT)), CAST(1.25 AS DECIMAL(18,2)), CAST(0.5 AS DOUBLE),
                   DATE '2024-06-01', TIMESTAMP '2024-06-01 10:00:00+00:00', 'x', true, CAST('ab' AS BINARY), CAST(NULL AS STRING)
            """).Single();
        Assert.That(row, Is.EqualTo(new object?[]
        {
            1, 2L, 3L, 1.25m, 0.5, new DateOnly(2024, 6, 1), new DateTimeOffset(2024, 6, 1, 10, 0, 0, TimeSpan.Zero), "x", true, "ab"u8.ToArray(), null,
        }));
    }

    // ------------------------------------------------------------------ errors Spark raises that DuckDB would not

    [TestCase("SELECT 1 / (v - 1) FROM (VALUES (1)) AS t(v)")]
    [TestCase("SELECT CAST(1.5 AS DOUBLE) / 0")]
    [TestCase("SELECT 7 % 0")]
    [TestCase("SELECT 7 div (1 - 1)")]
    [TestCase("SELECT div(7, 0)")]
    public void A_zero_divisor_is_spark_s_ansi_error_not_null_or_infinity(string sql)
    {
        using var engine = NewEngine();
        var e = Assert.Throws<EngineException>(() => engine.Query(sql))!;
        Assert.That(e.InnerException, Is.TypeOf<SparkConnectException>());
        Assert.That(((SparkConnectException)e.InnerException!).ErrorClass, Is.EqualTo("DIVIDE_BY_ZERO"));
        Assert.That(Scalar(engine, "SELECT 1 / NULLIF(0, 0) IS NULL"), Is.EqualTo(true), "the guarded form is fine");
    }

    [Test]
    public void A_cached_table_or_a_write_with_two_columns_of_one_name_is_rejected()
    {
        using var engine = NewEngine();
        var cache = Assert.Throws<EngineException>(() => engine.Materialize("t", "SELECT 1 AS a, 2 AS A"))!;
        Assert.That(((SparkConnectException)cache.InnerException!).ErrorClass, Is.EqualTo("COLUMN_ALREADY_EXISTS"));
        var write = Assert.Throws<EngineException>(() => engine.WriteParquet("SELECT 1 AS a, 2 AS a", Path.Combine(_dir, "w"), []))!;
        Assert.That(((SparkConnectException)write.InnerException!).ErrorClass, Is.EqualTo("COLUMN_ALREADY_EXISTS"));
        Assert.That(engine.Query("SELECT 1 AS a, 2 AS a").Single(), Is.EqualTo(new object[] { 1, 2 }), "a query's result may");
    }

    // ------------------------------------------------------------------ reads, writes, uploads

    [Test]
    public void Csv_is_read_as_spark_reads_it_quoted_line_breaks_blank_lines_bom_gzip_and_malformed_records()
    {
        var file = Path.Combine(_dir, "orders.csv.gz");
        using (var gz = new GZipStream(File.Create(file), CompressionLevel.Optimal))
        {
            gz.Write("\uFEFForder_id,note\r\n1,plain\r\n\r\n2,\"two\nlines\"\r\n3,too,many\r\n4,\r\n5,\"\"\r\n"u8);
        }
        using var engine = NewEngine();
        engine.RegisterRawInput("raw", new RawInput([new RawFileGroup("csv", [file], ',', '"', ["order_id", "note"],
            [new ColumnProjection("order_id", "order_id"), new ColumnProjection("note", "note")])]));
        var rows = engine.Query("SELECT _source_file, _source_line, order_id, note, _parse_error, _raw FROM raw ORDER BY _source_line ASC NULLS LAST");

        Assert.That(rows.Select(r => r[0]).Distinct(), Is.EqualTo(new[] { file }));
        // The record ordinal + 1 for the header (not the physical line: Spark has no line numbers).
        Assert.That(rows.Select(r => new[] { r[1], r[2], r[3], r[4] }), Is.EqualTo(new[]
        {
            new object?[] { 2L, "1", "plain", null },
            new object?[] { 3L, "2", "two\nlines", null },
            new object?[] { 4L, null, null, "malformed_row" },
            new object?[] { 5L, "4", null, null }, // empty: NULL
            new object?[] { 6L, "5", null, null }, // quoted empty: NULL too (nullValue "")
        }));
        Assert.That(rows[2][5], Is.EqualTo("3,too,many"), "the malformed record's own text");
    }

    [Test]
    public void Partitioned_writes_have_spark_s_layout_and_dynamic_overwrite_replaces_only_the_partitions_written()
    {
        var table = Path.Combine(_dir, "table");
        using var engine = NewEngine();
        Assert.That(engine.WriteParquet("SELECT * FROM (VALUES (DATE '2024-06-01', 1), (DATE '2024-06-02', 2), (DATE '2024-06-02', 3)) AS t(d, v)", table, ["d"]), Is.EqualTo(3));
        Assert.That(engine.WriteParquet("SELECT * FROM (VALUES (DATE '2024-06-02', 20)) AS t(d, v)", table, ["d"]), Is.EqualTo(2), "rows in the table afterwards");

        var files = Directory.EnumerateFiles(table, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(table, f)).Order().ToList();
        Assert.That(files, Has.Count.EqualTo(2));
        Assert.That(files, Has.All.Match(@"^d=2024-06-0[12]/part-\d{5}-[0-9a-f-]{36}\.c000\.zstd\.parquet$"));
        var rows = ParquetTable.Read(table).Select(r => $"{r["d"]}:{r["v"]}").Order().ToList();
        Assert.That(rows, Is.EqualTo(new[] { "2024-06-01:1", "2024-06-02:20" }));
        // Reading one partition's folder: no partition column (Spark discovers partitions below the path only).
        Assert.That(engine.Query($"SELECT * FROM {engine.ParquetRelation(Path.Combine(table, "d=2024-06-01"))}").Single(), Is.EqualTo(new object[] { 1 }));
        Assert.That(engine.Query($"SELECT d, v FROM {engine.ParquetRelation(table)} ORDER BY v ASC NULLS LAST").Select(r => r[0]),
            Is.EqualTo(new object[] { new DateOnly(2024, 6, 1), new DateOnly(2024, 6, 2) }), "partition values typed as dates");
    }

    [Test]
    public void Uploaded_rows_are_a_table_spark_sql_reads_and_writes()
    {
        var target = Path.Combine(_dir, "scores");
        using var engine = NewEngine();
        var rows = new List<Score> { new("C1", 4, 812.25m, new DateOnly(2024, 6, 30)), new("Ç ☕", 1, -12.5m, new DateOnly(2024, 6, 30)) };
        Assert.That(engine.WriteRows(rows, target), Is.EqualTo(2));
        var back = engine.Query($"SELECT customer_id, frequency, monetary, as_of FROM {engine.ParquetRelation(target)} ORDER BY frequency DESC NULLS LAST");
        Assert.That(back, Is.EqualTo(new[]
        {
            new object[] { "C1", 4, 812.25m, new DateOnly(2024, 6, 30) },
            new object[] { "Ç ☕", 1, -12.5m, new DateOnly(2024, 6, 30) },
        }));
    }

    private sealed record Score(
        [property: System.Text.Json.Serialization.JsonPropertyName("customer_id")] string CustomerId,
        [property: System.Text.Json.Serialization.JsonPropertyName("frequency")] int Frequency,
        [property: System.Text.Json.Serialization.JsonPropertyName("monetary")] decimal Monetary,
        [property: System.Text.Json.Serialization.JsonPropertyName("as_of")] DateOnly AsOf);
}
