using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using NUnit.Framework;
using Pipeline.Engine;
using Pipeline.Engine.Spark;
using Pipeline.Engine.Spark.Protocol;
using Pipeline.Models.Ltv;
using Pipeline.Stages;
using Pipeline.Stages.Customers;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// Every model table the customer stages compute in C# (rfm, segment, ltv) goes up to Spark through
/// <see cref="SparkEngine.WriteRows{T}"/> / the untyped overload, with the stages' own row classes and the ltv
/// stage's own Parquet.Net schema (whose string fields are <c>ReadOnlyMemory&lt;char&gt;</c>: <c>pipeline ltv
/// --engine spark</c> used to stop on them before any SQL). The Arrow IPC the fake server received is decoded and
/// checked against the table registry (<see cref="CustomersTables"/>: names, order, types) and the rows' values.
/// </summary>
[TestFixture]
public sealed partial class SparkModelUploadTests : FakeSparkFixture
{
    protected override string DirPrefix => "spark-model-upload";

    private SparkEngine NewEngine(int maxUpload = 64 * 1024 * 1024) =>
        new(new SparkEngineOptions(Server.ConnectionString(), Retry: FastRetry, MaxUploadBytes: maxUpload));

    // ---- rfm ------------------------------------------------------------------------------------------------------

    [Test]
    public void Rfm_tables_round_trip()
    {
        using var engine = NewEngine();
        UploadAndCheck(engine, CustomersTables.RfmScores, new List<RfmJob.ScoreRow>
        {
            new() { CustomerId = "C0000001", RecencyDays = 3.5, Frequency = 4, Monetary = 812.25m, RScore = 5, FScore = 4, MScore = 5, RfmCell = "545", Segment = "Champions" },
            new() { CustomerId = "Ç-naïve ☕", RecencyDays = 0, Frequency = 1, Monetary = -12.5m, RScore = 1, FScore = 1, MScore = 1, RfmCell = "111", Segment = "" },
        });
        UploadAndCheck(engine, CustomersTables.RfmSegments, new List<RfmJob.SegmentRow>
        {
            new() { Segment = "Champions", Customers = 12, CustomerShare = 0.12, Revenue = 12345.67m, RevenueShare = 0.5, MeanR = 4.9, MeanF = 4.5, MeanM = 4.75 },
            new() { Segment = "About to sleep", Customers = 0, CustomerShare = 0, Revenue = 0, RevenueShare = 0, MeanR = null, MeanF = null, MeanM = null },
        });
        UploadAndCheck(engine, CustomersTables.RfmCutPoints, new List<RfmJob.CutPointRow>
        {
            new() { Dimension = "recency", Boundary = 1, Value = 7.5, IsOverride = false },
            new() { Dimension = "monetary", Boundary = 4, Value = 1e6, IsOverride = true },
        });
    }

    // ---- segment --------------------------------------------------------------------------------------------------

    [Test]
    public void Segment_tables_round_trip()
    {
        using var engine = NewEngine();
        UploadAndCheck(engine, CustomersTables.SegmentAssignments, new List<SegmentJob.AssignmentRow>
        {
            new() { CustomerId = "C0000001", SegmentId = 1, SegmentLabel = "high value, frequent" },
            new() { CustomerId = "C0000002", SegmentId = 3, SegmentLabel = "lapsed" },
        });
        UploadAndCheck(engine, CustomersTables.SegmentProfiles, new List<SegmentJob.ProfileRow>
        {
            new() { SegmentId = 1, SegmentLabel = "high value, frequent", Customers = 10, CustomerShare = 0.1, RevenueShare = 0.6, Feature = "net_revenue", Mean = 900.5, Median = 850, ZScore = 2.25 },
            new() { SegmentId = 2, SegmentLabel = "lapsed", Customers = 90, CustomerShare = 0.9, RevenueShare = null, Feature = "recency_days", Mean = 200, Median = 180, ZScore = -0.75 },
        });
        UploadAndCheck(engine, CustomersTables.SegmentKSelection, new List<SegmentJob.KRow>
        {
            new() { K = 3, Criterion = "silhouette", CriterionValue = 0.41, Inertia = 1234.5, IsChosen = true },
            new() { K = 4, Criterion = "silhouette", CriterionValue = double.NaN, Inertia = 1000, IsChosen = false },
        });
        UploadAndCheck(engine, CustomersTables.SegmentMigration, new List<SegmentJob.MigrationRow>
        {
            new() { FromAsOf = "2024-05-31", FromSegment = "new", ToSegment = "1", Customers = 5 },
            new() { FromAsOf = "2024-05-31", FromSegment = "2", ToSegment = "gone", Customers = 1 },
        });
        // The first snapshot has no migration: an empty table still goes up with its columns.
        UploadAndCheck(engine, CustomersTables.SegmentMigration, new List<SegmentJob.MigrationRow>());
    }

    // ---- ltv ------------------------------------------------------------------------------------------------------

    [Test]
    public void Ltv_customers_go_up_column_by_column_with_the_stage_s_schema()
    {
        (int Days, double[] Expected, double[] Clv)[] horizons = [(90, [0.9, 1.9, 2.9], [135.004, 136.5, -1e30]), (365, [3.65, 4.65, 5.65], [547.5, 548.5, 549.5])];
        var summaries = new[]
        {
            new CustomerSummary("C0000001", 3, 40.5, 120, 55.25),
            new CustomerSummary("Ç-naïve ☕", 0, 0, 7, 0),
            new CustomerSummary("", 1, 1, 1, -3.5),
        };
        var columns = LtvJob.CustomerColumns(summaries, [0.25, 0.5, 0.75], [42.5, 43.5, double.NaN], horizons);

        using var engine = NewEngine();
        var (arrowSchema, back) = Upload(engine, CustomersTables.LtvCustomers, target => engine.WriteColumns(columns, summaries.Length, target), summaries.Length);

        AssertSchema(CustomersTables.LtvCustomers, arrowSchema);
        var expected = Enumerable.Range(0, summaries.Length).Select(i => columns.Select(c => c.Values[i]).ToArray()).ToList();
        AssertValues(back, expected);
        Assert.That(back[1][0], Is.EqualTo("Ç-naïve ☕"));
        Assert.That(back[2][0], Is.EqualTo(""));
        Assert.That(back[0][7], Is.EqualTo(0.9), "expected_purchases_90d");
        Assert.That(back[0][8], Is.EqualTo(135.00m), "clv_90d in cents");
        Assert.That(back[2][6], Is.Null, "an expected order value that is not a number goes up as NULL");
        Assert.That(back[2][8], Is.Null, "so does an amount too large for DECIMAL(18, 2)");
    }

    [Test]
    public void Ltv_model_tables_round_trip()
    {
        using var engine = NewEngine();
        UploadAndCheck(engine, CustomersTables.LtvParams, new List<LtvJob.ParamRow>
        {
            new() { Fit = "full", Model = "bg_nbd", Parameter = "r", Value = 0.75, StandardError = 0.05, LogLikelihood = -1234.5, Converged = true, Iterations = 42, Customers = 1000, TimeUnit = "day", Penalizer = 0 },
            new() { Fit = "calibration", Model = "gamma_gamma", Parameter = "gamma", Value = 40, StandardError = null, LogLikelihood = -99, Converged = false, Iterations = 500, Customers = 300, TimeUnit = "week", Penalizer = 0.001 },
        });
        UploadAndCheck(engine, CustomersTables.LtvBacktest, new List<LtvJob.BacktestRow>
        {
            new() { CustomerId = "C0000001", CalibrationFrequency = 2, PredictedPurchases = 1.25, ActualPurchases = 1, PredictedValue = 80.5m, ActualValue = 75m },
            new() { CustomerId = "C0000002", CalibrationFrequency = 0, PredictedPurchases = 0.01, ActualPurchases = 0, PredictedValue = 0.5m, ActualValue = 0m },
        });
        UploadAndCheck(engine, CustomersTables.LtvBacktestBuckets, new List<LtvJob.BucketRow>
        {
            new() { Bucket = "0", Frequency = 0, Customers = 50, MeanActual = 0.1, MeanPredicted = 0.12 },
            new() { Bucket = "7+", Frequency = 7, Customers = 0, MeanActual = double.NaN, MeanPredicted = double.NaN },
        });
        UploadAndCheck(engine, CustomersTables.LtvBacktestMetrics, new List<LtvJob.MetricsRow>
        {
            new() { CalibrationEnd = "2024-04-01", HoldoutDays = 90, TimeUnit = "day", Customers = 900, Mae = 0.3, Rmse = 0.5, Bias = -0.02, TotalPredicted = 410.5, TotalActual = 420, ValueMae = 12.5m, ValueBias = -1.25m },
        });
        // Backtest skipped (too few customers): empty tables, columns still declared.
        UploadAndCheck(engine, CustomersTables.LtvBacktest, new List<LtvJob.BacktestRow>());
    }

    // ---- the other CLR types a row may carry ----------------------------------------------------------------------

    [Test]
    public void Decimals_dates_instants_and_nullables_map_to_spark_s_arrow_types_in_every_chunk()
    {
        (string Name, Type Type)[] schema =
        [
            ("text", typeof(ReadOnlyMemory<char>)), ("amount", typeof(decimal)), ("maybe_amount", typeof(decimal?)), ("day", typeof(DateOnly)),
            ("at", typeof(DateTime)), ("at_offset", typeof(DateTimeOffset?)), ("big", typeof(long)), ("ratio", typeof(float)), ("flag", typeof(bool?)),
        ];
        var rows = Enumerable.Range(0, 300).Select(i => (IDictionary<string, object?>)new Dictionary<string, object?>
        {
            ["text"] = i % 2 == 0 ? $"s{i}" : new ReadOnlyMemory<char>($"m{i}".ToCharArray()),
            ["amount"] = i == 7 ? 123456789012.3456m : i + 0.5m,
            ["maybe_amount"] = i % 3 == 0 ? null : -i - 0.25m,
            ["day"] = new DateOnly(2024, 1, 1).AddDays(i),
            ["at"] = new DateTime(2024, 1, 1, 12, 0, 0, DateTimeKind.Utc).AddMinutes(i),
            ["at_offset"] = i % 5 == 0 ? null : new DateTimeOffset(2024, 1, 1, 20, 0, 0, TimeSpan.FromHours(8)).AddSeconds(i),
            ["big"] = 5_000_000_000L + i,
            ["ratio"] = i / 4f,
            ["flag"] = i % 4 == 0 ? null : i % 2 == 0,
        }).ToList();

        using var engine = NewEngine(maxUpload: 8_000);
        var target = Path.Combine(Dir, "other");
        var before = Uploads().Count;
        Assert.That(engine.WriteColumns(BoxedColumns(rows, schema), rows.Count, target), Is.EqualTo(rows.Count));
        var uploads = Uploads().Skip(before).ToList();
        Assert.That(uploads, Has.Count.GreaterThan(1), "several chunks");

        var decoded = uploads.Select(Decode).ToList();
        var first = decoded[0].Schema;
        Assert.That(decoded.Select(d => d.Schema.FieldsList.Select(f => f.DataType.ToString()).ToList()), Has.All.EqualTo(first.FieldsList.Select(f => f.DataType.ToString()).ToList()),
            "every chunk has the same types (the decimal scale is the column's, not the chunk's)");
        Assert.That(first.FieldsList.Select(f => f.Name), Is.EqualTo(schema.Select(f => f.Name)));
        Assert.That(first.GetFieldByName("text").DataType, Is.TypeOf<StringType>());
        var amount = (Decimal128Type)first.GetFieldByName("amount").DataType;
        Assert.That((amount.Precision, amount.Scale), Is.EqualTo((38, 4)));
        Assert.That(((Decimal128Type)first.GetFieldByName("maybe_amount").DataType).Scale, Is.EqualTo(2));
        Assert.That(first.GetFieldByName("day").DataType, Is.TypeOf<Date32Type>());
        foreach (var name in new[] { "at", "at_offset" })
        {
            var ts = (TimestampType)first.GetFieldByName(name).DataType;
            Assert.That((ts.Unit, ts.Timezone), Is.EqualTo((Apache.Arrow.Types.TimeUnit.Microsecond, "UTC")), name);
        }
        Assert.That(first.GetFieldByName("big").DataType, Is.TypeOf<Int64Type>());
        Assert.That(first.GetFieldByName("ratio").DataType, Is.TypeOf<FloatType>());
        Assert.That(first.GetFieldByName("flag").DataType, Is.TypeOf<BooleanType>());

        var back = decoded.SelectMany(d => d.Rows).ToList();
        var expected = rows.Select(r => new object?[]
        {
            r["text"] is ReadOnlyMemory<char> m ? m.ToString() : r["text"],
            r["amount"], r["maybe_amount"], r["day"],
            new DateTimeOffset((DateTime)r["at"]!),
            r["at_offset"] is DateTimeOffset o ? o.ToUniversalTime() : null,
            r["big"], r["ratio"], r["flag"],
        }).ToList();
        AssertValues(back, expected);
    }

    [Test]
    public void A_type_with_no_arrow_mapping_is_named_readably()
    {
        using var engine = NewEngine();
        var rows = new List<IDictionary<string, object?>> { new Dictionary<string, object?> { ["id"] = Guid.NewGuid() } };
        var e = Assert.Throws<EngineException>(() => engine.WriteColumns(BoxedColumns(rows, ("id", typeof(Guid))), 1, Path.Combine(Dir, "guid")))!;
        Assert.That(e.Message, Does.Contain("Guid").And.Contain("(id)"));
        e = Assert.Throws<EngineException>(() => engine.WriteColumns(BoxedColumns(rows, ("id", typeof(List<int>))), 1, Path.Combine(Dir, "list")))!;
        Assert.That(e.Message, Does.Contain("List<Int32>"));
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    /// <summary>Untyped rows (a dictionary each) as columns of boxed values; a value missing from a row is NULL.</summary>
    private static List<LocalColumn> BoxedColumns(IReadOnlyCollection<IDictionary<string, object?>> rows, params (string Name, Type Type)[] schema) =>
        schema.Select(f => new LocalColumn(f.Name, f.Type, rows.Select(r => r.TryGetValue(f.Name, out var v) ? v : null).ToList())).ToList();

    private List<CreateDataFrameViewCommand> Uploads() => Fake.Requests<ExecutePlanRequest>()
        .Where(r => r.Plan.OpTypeCase == Plan.OpTypeOneofCase.Command && r.Plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.CreateDataframeView)
        .Select(r => r.Plan.Command.CreateDataframeView).ToList();

    /// <summary>Uploads typed rows as the stages do (<c>AnalyticsRun.Write</c>) and checks schema and values.</summary>
    private void UploadAndCheck<T>(SparkEngine engine, TableSpec spec, List<T> rows)
    {
        var (schema, back) = Upload(engine, spec, target => engine.WriteRows(rows, target), rows.Count);
        AssertSchema(spec, schema);
        AssertValues(back, rows.Select(r => ExpectedRow(spec, r!)).ToList());
    }

    /// <summary>Runs one write, then decodes every LocalRelation it sent (schema of the first, rows of all).</summary>
    private (Schema Schema, List<object?[]> Rows) Upload(SparkEngine engine, TableSpec spec, Func<string, long> write, int rowCount)
    {
        var before = Uploads().Count;
        var target = Path.Combine(Dir, spec.Name, "as_of=2024-06-30");
        Assert.That(write(target), Is.EqualTo(rowCount), spec.Name);
        var uploads = Uploads().Skip(before).ToList();
        Assert.That(uploads, Is.Not.Empty, spec.Name);
        var decoded = uploads.Select(Decode).ToList();
        return (decoded[0].Schema, decoded.SelectMany(d => d.Rows).ToList());
    }

    private static (Schema Schema, List<object?[]> Rows) Decode(CreateDataFrameViewCommand upload)
    {
        Assert.That(upload.Input.RelTypeCase, Is.EqualTo(Relation.RelTypeOneofCase.LocalRelation));
        using var reader = new ArrowStreamReader(new MemoryStream(upload.Input.LocalRelation.Data.ToByteArray()));
        var rows = new List<object?[]>();
        while (reader.ReadNextRecordBatch() is { } batch)
        {
            using (batch)
            {
                for (var r = 0; r < batch.Length; r++)
                {
                    rows.Add(Enumerable.Range(0, batch.ColumnCount).Select(c => Value(batch.Column(c), r)).ToArray());
                }
            }
        }
        return (reader.Schema, rows);
    }

    /// <summary>An Arrow value as .NET, decoded here (not with the engine's own reader).</summary>
    private static object? Value(IArrowArray array, int i) => array.IsNull(i) ? null : array switch
    {
        StringArray a => a.GetString(i),
        Int32Array a => a.GetValue(i),
        Int64Array a => a.GetValue(i),
        DoubleArray a => a.GetValue(i),
        FloatArray a => a.GetValue(i),
        BooleanArray a => a.GetValue(i),
        Decimal128Array a => a.GetValue(i),
        Date32Array a => a.GetDateOnly(i),
        TimestampArray a => a.GetTimestamp(i),
        _ => throw new AssertionException($"unexpected Arrow array {array.Data.DataType.Name}"),
    };

    private static IEnumerable<ColumnSpec> SpecColumns(TableSpec spec) => spec.Columns.Where(c => !spec.PartitionBy.Contains(c.Name));

    /// <summary>Columns in the registry's order and Spark types (the partition column is added by the write's path).</summary>
    private static void AssertSchema(TableSpec spec, Schema schema)
    {
        var columns = SpecColumns(spec).ToList();
        Assert.That(schema.FieldsList.Select(f => f.Name), Is.EqualTo(columns.Select(c => c.Name)), spec.Name + " columns");
        foreach (var (field, column) in schema.FieldsList.Zip(columns))
        {
            if (DeclaredDecimal().Match(column.Type) is { Success: true } dec)
            {
                // Money: the documented DECIMAL(p,s) itself, as the DuckDB engine's Parquet.Net writer declares it.
                var arrow = field.DataType as Decimal128Type;
                Assert.That(arrow, Is.Not.Null, $"{spec.Name}.{column.Name}");
                Assert.That((arrow!.Precision, arrow.Scale), Is.EqualTo((int.Parse(dec.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(dec.Groups[2].Value, CultureInfo.InvariantCulture))),
                    $"{spec.Name}.{column.Name}");
                continue;
            }
            var expected = column.Type switch
            {
                "VARCHAR" => ArrowTypeId.String,
                "INTEGER" => ArrowTypeId.Int32,
                "BIGINT" => ArrowTypeId.Int64,
                "DOUBLE" => ArrowTypeId.Double,
                "BOOLEAN" => ArrowTypeId.Boolean,
                "DATE" => ArrowTypeId.Date32,
                _ => throw new AssertionException($"{spec.Name}.{column.Name}: no Arrow type for {column.Type} in this test"),
            };
            Assert.That(field.DataType.TypeId, Is.EqualTo(expected), $"{spec.Name}.{column.Name}");
            Assert.That(field.IsNullable, Is.True, $"{spec.Name}.{column.Name}");
        }
    }

    /// <summary>The row's values in the registry's column order, found by [JsonPropertyName].</summary>
    private static object?[] ExpectedRow(TableSpec spec, object row)
    {
        var byName = row.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .ToDictionary(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name);
        return SpecColumns(spec).Select(c => byName.TryGetValue(c.Name, out var p) ? p.GetValue(row) : throw new AssertionException($"{spec.Name}: no property for {c.Name}")).ToArray();
    }

    private static void AssertValues(List<object?[]> actual, List<object?[]> expected)
    {
        Assert.That(actual, Has.Count.EqualTo(expected.Count));
        for (var r = 0; r < expected.Count; r++)
        {
            Assert.That(actual[r], Has.Length.EqualTo(expected[r].Length), $"row {r}");
            for (var c = 0; c < expected[r].Length; c++)
            {
                var (a, e) = (actual[r][c], expected[r][c]);
                if (e is double d && double.IsNaN(d))
                {
                    Assert.That(a is double x && double.IsNaN(x), Is.True, $"row {r} column {c}: NaN");
                    continue;
                }
                Assert.That(a, e is null ? Is.Null : Is.EqualTo(e).And.TypeOf(e.GetType()), $"row {r} column {c}");
            }
        }
    }

    [GeneratedRegex(@"^DECIMAL\((\d+),(\d+)\)$")]
    private static partial Regex DeclaredDecimal();
}
