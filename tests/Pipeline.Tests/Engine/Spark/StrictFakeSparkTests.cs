using Apache.Arrow;
using Apache.Arrow.Types;
using NUnit.Framework;
using Pipeline.Config;
using Pipeline.Engine;
using Pipeline.Engine.Spark;
using Pipeline.Engine.Spark.Protocol;
using Pipeline.Stages;
using Pipeline.Stages.Events;
using Pipeline.Stages.Kpis;
using Pipeline.Stages.Orders;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// The strict fake Spark Connect server (<see cref="StrictSparkCatalog"/>) rejects what Spark 3.5 rejects — reads of
/// views whose sources were dropped, unknown functions, DuckDB-only syntax — and the Spark engine's deferred drops, and
/// the stages' real statement sequences, go through it.
/// </summary>
[TestFixture]
public sealed class StrictFakeSparkTests : FakeSparkFixture
{
    protected override string DirPrefix => "strict-spark";

    [SetUp]
    public void DeclareTables()
    {
        Fake.Catalog.Tables.Add("landing");
    }
    private static readonly SparkRetryPolicy OneRetry = new() { MaxRetries = 1, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(2), Jitter = 0 };

    private SparkConnectClient NewClient() => new(Server.ConnectionString(), new SparkConnectClientOptions { Retry = OneRetry });

    private SparkEngine NewEngine() => new(new SparkEngineOptions(Server.ConnectionString(), Retry: OneRetry));

    private List<string> SqlSent() => Fake.Requests<ExecutePlanRequest>()
        .Where(r => r.Plan.OpTypeCase == Plan.OpTypeOneofCase.Command && r.Plan.Command.CommandTypeCase == Command.CommandTypeOneofCase.SqlCommand)
        .Select(r => r.Plan.Command.SqlCommand.Sql).ToList();

    private async Task<SparkConnectException> Rejected(string sql)
    {
        await using var client = NewClient();
        return (await Assert.ThrowsAsync<SparkConnectException>(async () =>
        {
            using var _ = await client.ExecuteSqlAsync(sql);
        }))!;
    }

    private async Task Accepted(params string[] statements)
    {
        await using var client = NewClient();
        foreach (var sql in statements)
        {
            using var _ = await client.ExecuteSqlAsync(sql);
        }
    }

    // ------------------------------------------------------------------ what the strict server rejects

    [Test]
    public async Task The_old_drop_sequence_fails_as_on_spark_a_cache_built_on_a_dropped_view_is_not_found()
    {
        await Accepted(
            "CREATE OR REPLACE TEMP VIEW orders_raw AS SELECT * FROM landing",
            "CACHE TABLE orders_typed AS SELECT * FROM orders_raw",
            "DROP VIEW orders_raw");

        var read = await Rejected("SELECT count(*) FROM orders_typed");
        Assert.That(read.ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));
        Assert.That(read.SqlState, Is.EqualTo("42P01"));
        Assert.That(read.Message, Does.Contain("`orders_raw`"));
        var cache = await Rejected("CACHE TABLE orders_deduplicated AS SELECT * FROM orders_typed");
        Assert.That(cache.ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));
        Assert.That(Fake.Catalog.View("orders_typed")!.Cached, Is.False, "dropping a source invalidates the caches built on it");
        Assert.That(Fake.Catalog.View("orders_deduplicated"), Is.Null);

        // Spark re-analyses the view's text: a source created again under the same name makes it readable again.
        await Accepted("CREATE OR REPLACE TEMP VIEW orders_raw AS SELECT * FROM landing", "SELECT count(*) FROM orders_typed");
    }

    [Test]
    public async Task Drop_table_of_a_source_and_reading_through_a_relation_or_a_write_fail_too()
    {
        await Accepted(
            "CACHE TABLE events_kept AS SELECT * FROM landing",
            "CACHE TABLE events_sessionized AS SELECT k.* FROM landing l JOIN events_kept k ON k.id = l.id",
            "DROP TABLE IF EXISTS events_kept");
        Assert.That((await Rejected("SELECT count(*) FROM events_sessionized")).ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));

        await using var client = NewClient();
        var write = (await Assert.ThrowsAsync<SparkConnectException>(() => client.WriteParquetAsync("SELECT * FROM events_sessionized", "/data/out/x")))!;
        Assert.That(write.ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));
        var view = (await Assert.ThrowsAsync<SparkConnectException>(() => client.CreateTempViewFromSqlAsync("v", "SELECT * FROM events_sessionized")))!;
        Assert.That(view.ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));
    }

    [Test]
    public async Task Uncache_of_a_temp_view_does_not_cascade_its_dependents_stay_valid_and_cached()
    {
        await Accepted(
            "CACHE TABLE t1 AS SELECT * FROM landing WHERE key > 1",
            "CACHE TABLE t2 AS SELECT * FROM t1 WHERE value > 1",
            "UNCACHE TABLE IF EXISTS t1",
            "SELECT count(*) FROM t2");
        Assert.That(Fake.Catalog.View("t1")!.Cached, Is.False);
        Assert.That(Fake.Catalog.View("t2")!.Cached, Is.True);
    }

    [Test]
    public async Task Unknown_tables_and_names_already_taken_are_spark_errors()
    {
        Assert.That((await Rejected("SELECT * FROM nowhere")).ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));
        Assert.That((await Rejected("DROP VIEW nowhere")).ErrorClass, Is.EqualTo("TABLE_OR_VIEW_NOT_FOUND"));
        await Accepted("DROP VIEW IF EXISTS nowhere", "CACHE TABLE c AS SELECT 1 AS x");
        Assert.That((await Rejected("CACHE TABLE c AS SELECT 2 AS x")).ErrorClass, Is.EqualTo("TEMP_TABLE_OR_VIEW_ALREADY_EXISTS"));
    }

    [TestCase("SELECT strftime(ordered_at, '%Y') FROM landing", "UNRESOLVED_ROUTINE", "42883")]
    [TestCase("SELECT regexp_matches(s, 'a') FROM landing", "UNRESOLVED_ROUTINE", "42883")]
    [TestCase("SELECT CAST(x AS VARCHAR) FROM landing", "DATATYPE_MISSING_SIZE", "42K01")]
    [TestCase("SELECT * FROM (DESCRIBE landing)", "PARSE_SYNTAX_ERROR", "42601")]
    [TestCase("SELECT * FROM landing QUALIFY row_number() OVER (ORDER BY x ASC NULLS LAST) = 1", "PARSE_SYNTAX_ERROR", "42601")]
    [TestCase("SELECT x::INT FROM landing", "PARSE_SYNTAX_ERROR", "42601")]
    [TestCase("SELECT \"order_id\" FROM landing", "PARSE_SYNTAX_ERROR", "42601")]
    [TestCase("SELECT row_number() OVER (PARTITION BY id) FROM landing", "_LEGACY_ERROR_TEMP_1037", null)]
    [TestCase("SELECT lag(x) OVER (PARTITION BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM landing", "_LEGACY_ERROR_TEMP_1037", null)]
    public async Task Sql_spark_does_not_accept_is_rejected_with_spark_error_classes(string sql, string errorClass, string? sqlState)
    {
        var e = await Rejected(sql);
        Assert.That(e.ErrorClass, Is.EqualTo(errorClass));
        Assert.That(e.SqlState, Is.EqualTo(sqlState));
        Assert.That(e.Kind, Is.EqualTo(SparkErrorKind.Sql));
    }

    [Test]
    public async Task Legitimate_spark_sql_is_accepted()
    {
        await Accepted(
            // double quotes and "functions" inside single-quoted literals, escaped quotes, backticked names
            "SELECT 'say \"hi\" strftime(x)' AS a, 'it\\'s' AS b, `odd \"name\"` FROM landing",
            // EXTRACT … FROM and trim … FROM are not table references; CTE names are not views
            "WITH recent AS (SELECT * FROM landing), k AS (SELECT id FROM recent) SELECT EXTRACT(YEAR FROM ts), trim(BOTH ' ' FROM s) FROM recent JOIN k ON k.id = recent.id",
            // typed casts with sizes, qualified relations, table aliases with column lists, comma joins
            "SELECT CAST(x AS DECIMAL(18, 2)), CAST(y AS VARCHAR(10)) FROM parquet.`/data/x` AS p, landing l",
            "DESCRIBE QUERY SELECT * FROM landing",
            // ranking over an ordered window; an aggregate over an unordered one
            "SELECT row_number() OVER (PARTITION BY id ORDER BY ts ASC NULLS LAST), sum(x) OVER (PARTITION BY id) FROM landing",
            "SELECT count(DISTINCT id), try_to_timestamp(s, 'yyyy-MM-dd') FROM (SELECT * FROM landing) AS t(id, s) -- a comment with \"quotes\"");
    }

    // ------------------------------------------------------------------ the engine's drops

    private static RawInput Raw(params string[] columns) => new([new RawFileGroup("csv", ["/landing/a.csv"], ',', '"', columns,
        columns.Select(c => new ColumnProjection(c, c)).ToList())]);

    [Test]
    public void The_engine_defers_the_drop_of_a_raw_input_its_cache_still_reads()
    {
        using (var engine = NewEngine())
        {
            engine.RegisterRawInput("orders_raw", Raw("order_id"));
            engine.Materialize("orders_typed", "SELECT order_id FROM orders_raw");
            engine.DropRawInput("orders_raw");
            engine.Materialize("orders_deduplicated", "SELECT DISTINCT order_id FROM orders_typed");
            Assert.That(engine.Query("SELECT count(*) FROM orders_deduplicated")[0][0], Is.EqualTo(7L));
            Assert.That(SqlSent(), Has.None.StartsWith("DROP VIEW IF EXISTS `orders_raw`"), "orders_typed still reads it");

            // A stage must not read what it dropped: the engine says so before Spark would.
            var sent = Fake.Calls.Count;
            var e = Assert.Throws<InvalidOperationException>(() => engine.Query("SELECT count(*) FROM orders_raw"))!;
            Assert.That(e.Message, Does.Contain("orders_raw"));
            Assert.That(Fake.Calls, Has.Count.EqualTo(sent));
        }

        // Disposing (end of the stage run) drops everything, dependents before their sources.
        var drops = SqlSent().Where(s => s.StartsWith("DROP VIEW IF EXISTS", StringComparison.Ordinal)).ToList();
        Assert.That(drops.IndexOf("DROP VIEW IF EXISTS orders_deduplicated"), Is.LessThan(drops.IndexOf("DROP VIEW IF EXISTS orders_typed")));
        Assert.That(drops.IndexOf("DROP VIEW IF EXISTS orders_typed"), Is.LessThan(drops.IndexOf("DROP VIEW IF EXISTS `orders_raw`")));
        Assert.That(drops.IndexOf("DROP VIEW IF EXISTS `orders_raw`"), Is.LessThan(drops.IndexOf("DROP VIEW IF EXISTS _raw_read_1")));
        Assert.That(Fake.Catalog.ViewNames(), Is.Empty);
    }

    [Test]
    public void A_dropped_cache_other_caches_read_is_uncached_at_once_and_dropped_when_they_go()
    {
        using var engine = NewEngine();
        engine.RegisterRawInput("events_raw", Raw("event_id"));
        engine.Materialize("events_kept", "SELECT * FROM events_raw");
        engine.Materialize("events_sessionized", "SELECT * FROM events_kept");
        engine.Materialize("events_other", "SELECT * FROM events_raw");

        engine.Execute("DROP TABLE IF EXISTS events_kept");
        Assert.That(SqlSent().Last(), Is.EqualTo("UNCACHE TABLE IF EXISTS events_kept"));
        Assert.That(Fake.Catalog.View("events_kept")!.Cached, Is.False, "its blocks are freed");
        Assert.That(Fake.Catalog.View("events_sessionized")!.Cached, Is.True);
        engine.Query("SELECT count(*) FROM events_sessionized");
        engine.Execute("DROP TABLE IF EXISTS events_kept"); // again: nothing more to do

        engine.Execute("DROP TABLE IF EXISTS events_sessionized");
        Assert.That(SqlSent().TakeLast(2), Is.EqualTo(new[] { "DROP VIEW IF EXISTS events_sessionized", "DROP VIEW IF EXISTS events_kept" }));
        Assert.That(Fake.Catalog.View("events_other")!.Cached, Is.True);
        Assert.That(Fake.Catalog.View("events_raw"), Is.Not.Null);
        // A table dropped with nothing reading it goes at once (one statement, as before).
        engine.Execute("DROP TABLE IF EXISTS events_other");
        Assert.That(SqlSent().Last(), Is.EqualTo("DROP VIEW IF EXISTS events_other"));
    }

    [Test]
    public void Replacing_a_view_others_still_read_is_refused()
    {
        using var engine = NewEngine();
        engine.RegisterRawInput("ad_spend_raw", Raw("spend"));
        engine.Materialize("ad_spend_typed", "SELECT * FROM ad_spend_raw");
        Assert.Throws<InvalidOperationException>(() => engine.RegisterRawInput("ad_spend_raw", Raw("spend")));
        engine.DropRawInput("ad_spend_raw");
        Assert.Throws<InvalidOperationException>(() => engine.RegisterRawInput("ad_spend_raw", Raw("spend")));
        engine.Execute("DROP TABLE IF EXISTS ad_spend_typed");
        engine.RegisterRawInput("ad_spend_raw", Raw("spend")); // nothing reads the old one any more
        engine.Materialize("ad_spend_typed", "SELECT * FROM ad_spend_raw");
        engine.Query("SELECT count(*) FROM ad_spend_typed");
    }

    // ------------------------------------------------------------------ the stages' statement sequences

    private string Folder(string name) => Path.Combine(Dir, name);

    private static RawInput RawOf(IReadOnlyList<string> columns) => Raw([.. columns]);

    [TestCaseSource(typeof(StageSqlCatalog), nameof(StageSqlCatalog.OrdersVariants))]
    public void Clean_orders_statements_replay_through_the_strict_server((string Name, OrdersSqlOptions Options) variant)
    {
        var o = variant.Options;
        using var engine = NewEngine();
        var d = engine.Dialect;
        // As CleanOrdersJob.Run sends them (counts are canned: the fake does not execute SQL).
        engine.RegisterRawInput("orders_raw", RawOf(CanonicalColumns.Orders));
        if (o.HasFx)
        {
            engine.RegisterRawInput("fx_raw", RawOf(CanonicalColumns.Fx));
            engine.Query(OrdersSql.InvalidFxRows(d));
        }
        engine.RegisterHashKey(new byte[64], new byte[64]);
        engine.Materialize("orders_typed", OrdersSql.Typed(d, o));
        engine.DropRawInput("orders_raw");
        engine.Materialize("orders_deduplicated", OrdersSql.Deduplicated(o));
        engine.Query(OrdersSql.Accounting());
        engine.Query(TypedInputSql.QuarantineByReason("orders_typed"));
        engine.WriteParquet(OrdersSql.CleanOrders(d, o), Folder("clean/orders"), ["order_date"]);
        engine.WriteParquet(OrdersSql.Quarantine(d, o), Folder("quarantine/orders"), []);
        engine.Dispose();
        Assert.That(Fake.Catalog.ViewNames(), Is.Empty, "the stage's views are gone once its engine is disposed");
    }

    [TestCaseSource(typeof(StageSqlCatalog), nameof(StageSqlCatalog.EventsVariants))]
    public void Clean_clicks_statements_replay_through_the_strict_server((string Name, EventsSqlOptions Options) variant)
    {
        var o = variant.Options;
        using var engine = NewEngine();
        IEngine e = engine;
        var d = engine.Dialect;
        // As CleanClicksJob.Run sends them (the full path writes and reads back the staged events).
        engine.RegisterHashKey(new byte[64], new byte[64]);
        e.MaterializeFromRawInput("events_typed", "events_raw", RawOf(CanonicalColumns.Events), EventsSql.Typed(d, o));
        engine.Query(EventsSql.TypedDays(d, o));
        engine.Query(EventsSql.FileRanges());
        if (o.Window is not null)
        {
            // As CleanIdentities.LoadPrevious sends them: from the published identities, or once from the published events.
            engine.Materialize("_identities_built", EventsIdentitySql.Of(d, engine.ParquetRelation(Folder("published/events"))));
            engine.Execute("DROP TABLE IF EXISTS _identities_built");
            engine.Materialize("_identities_previous", EventsIdentitySql.Published(engine.ParquetRelation(Folder("published/identities"))));
            engine.Materialize("_identity_history", EventsIdentitySql.History("_identities_previous"));
        }
        engine.Materialize("events_rejected", EventsSql.Rejected());
        engine.Materialize("events_kept", EventsSql.Kept(d, o));
        engine.Query(EventsSql.KeptDays(d, o));
        engine.Materialize("events_identities", EventsSql.Identities(d, o));
        engine.Materialize("events_sessionized", EventsSql.Sessionized(d, o));
        engine.Execute("DROP TABLE IF EXISTS events_kept");
        engine.Query(EventsSql.SessionizedDays(d, o));
        if (o.Window is not null)
        {
            engine.Query(EventsSql.SessionizedInWindow(d, o.Window.From));
        }
        engine.Query(EventsSql.QuarantineByReason());
        var carried = o.Window is null ? null : EventsSql.CarriedQuarantine(engine.ParquetRelation(Folder("published/quarantine")), o.Window.NewFiles, d);
        engine.WriteParquet(carried is null ? EventsSql.Quarantine(d, o) : EventsSql.QuarantineWithCarried(EventsSql.Quarantine(d, o), carried), Folder("quarantine/events"), []);
        if (carried is not null)
        {
            engine.Query(EventsSql.CarriedQuarantineRows(carried));
        }
        void DropJoinedTables()
        {
            engine.Execute("DROP TABLE IF EXISTS events_sessionized");
            engine.Execute("DROP TABLE IF EXISTS events_identities");
            engine.Execute("DROP TABLE IF EXISTS events_typed");
        }
        if (o.Window is not null)
        {
            engine.WriteParquet(EventsSql.CleanEventsInWindow(d, o, o.Window.From), Folder("clean/events"), ["event_date"]);
            engine.WriteParquet(EventsSql.SessionsInWindow(d, o, o.Window.From), Folder("clean/sessions"), ["session_date"]);
            DropJoinedTables();
            // As CleanIdentities.WriteIncremental sends them.
            engine.Materialize("_identities_window", EventsIdentitySql.Of(d, engine.ParquetRelation(Folder("clean/events"))));
            engine.Materialize("_identities_straddling", EventsIdentitySql.Straddling(d, "_identities_previous", "_identities_window", o.Window.From));
            engine.Query(EventsIdentitySql.Count("_identities_straddling"));
            var reread = EventsIdentitySql.Of(d, EventsIdentitySql.EventsBefore(d, engine.ParquetRelation(Folder("published/events")), "_identities_straddling", o.Window.From));
            engine.WriteParquet(EventsIdentitySql.Merged(d, "_identities_previous", "_identities_window", $"({reread}) reread", o.Window.From), Folder("clean/identities"), []);
            foreach (var table in new[] { "_identities_straddling", "_identities_window", "_identities_previous", "_identity_history" })
            {
                engine.Execute($"DROP TABLE IF EXISTS {table}");
            }
        }
        else
        {
            engine.WriteParquet(EventsSql.CleanEvents(d, o), Folder("clean/events"), ["event_date"]);
            DropJoinedTables();
            engine.WriteParquet(EventsSql.Sessions(d, o, engine.ParquetRelation(Folder("clean/events"))), Folder("clean/sessions"), ["session_date"]);
            engine.WriteParquet(EventsIdentitySql.Ordered(EventsIdentitySql.Of(d, engine.ParquetRelation(Folder("clean/events")))), Folder("clean/identities"), []);
            // No kept event: the sessions are aggregated from the (empty) join itself, before the tables go.
        }
        engine.Query(EventsSql.ConvertedSessions(engine.ParquetRelation(Folder("clean/sessions"))));
        Assert.That(Fake.Catalog.View("events_typed")?.Cached ?? false, Is.False, "events_typed's blocks are freed once dropped");
        engine.Dispose();
        Assert.That(Fake.Catalog.ViewNames(), Is.Empty);
    }

    [TestCaseSource(typeof(StageSqlCatalog), nameof(StageSqlCatalog.EventsVariants))]
    public void Clean_clicks_without_kept_events_reads_the_joined_tables_before_dropping_them((string Name, EventsSqlOptions Options) variant)
    {
        var o = variant.Options with { Window = null };
        using var engine = NewEngine();
        IEngine e = engine;
        var d = engine.Dialect;
        engine.RegisterHashKey(new byte[64], new byte[64]);
        e.MaterializeFromRawInput("events_typed", "events_raw", RawOf(CanonicalColumns.Events), EventsSql.Typed(d, o));
        engine.Materialize("events_rejected", EventsSql.Rejected());
        engine.Materialize("events_kept", EventsSql.Kept(d, o));
        engine.Materialize("events_identities", EventsSql.Identities(d, o));
        engine.Materialize("events_sessionized", EventsSql.Sessionized(d, o));
        engine.Execute("DROP TABLE IF EXISTS events_kept");
        engine.WriteParquet(EventsSql.Sessions(d, o, $"({EventsSql.CleanEvents(d, o)}) AS no_events"), Folder("clean/sessions"), ["session_date"]);
        engine.WriteParquet(EventsIdentitySql.Ordered(EventsIdentitySql.Of(d, $"({EventsSql.CleanEvents(d, o)}) AS no_events")), Folder("clean/identities"), []);
        engine.Execute("DROP TABLE IF EXISTS events_sessionized");
        engine.Execute("DROP TABLE IF EXISTS events_identities");
        engine.Execute("DROP TABLE IF EXISTS events_typed");
    }

    [Test]
    public void Kpi_ad_spend_statements_replay_through_the_strict_server()
    {
        using var engine = NewEngine();
        var d = engine.Dialect;
        // As KpiJob.CleanAdSpend sends them.
        engine.RegisterRawInput("ad_spend_raw", RawOf(CanonicalColumns.AdSpend));
        engine.RegisterRawInput("fx_raw", RawOf(CanonicalColumns.Fx));
        engine.Query(KpiSql.InvalidFxRows(d));
        engine.Materialize("ad_spend_typed", KpiSql.AdSpendTyped(d, new AdSpendSqlOptions(new DateOnly(2000, 1, 1), "USD", HasFx: true)));
        engine.DropRawInput("ad_spend_raw");
        engine.DropRawInput("fx_raw");
        engine.Query(TypedInputSql.Books("ad_spend_typed"));
        engine.Query(TypedInputSql.QuarantineByReason("ad_spend_typed"));
        engine.WriteParquet(KpiSql.AdSpendQuarantine(d, "run-1"), Folder("quarantine/ad_spend"), []);
        // The KPI tables read the published Parquet tables, their own purchase links and the kept ad spend.
        engine.WriteParquet(KpiSql.PurchaseLinks(d, engine.ParquetRelation(Folder("clean/events")), null), Folder("kpis/purchase_links"), ["event_date"]);
        var links = engine.ParquetRelation(Folder("kpis/purchase_links"));
        var options = new KpiSqlOptions(engine.ParquetRelation(Folder("clean/orders")), engine.ParquetRelation(Folder("clean/sessions")),
            links, KpiSql.AdSpendKept, 90, 30, 30);
        engine.Query(KpiSql.OrderDayDigests(d, options.OrdersRelation));
        engine.Query(KpiSql.SpendDayDigests(d, KpiSql.AdSpendKept));
        engine.WriteParquet(KpiSql.Daily(d, options), Folder("kpis/daily"), []);
        engine.WriteParquet(KpiSql.Channels(d, options), Folder("kpis/channels"), []);
        engine.Query(KpiSql.OrderDateSpan(options.OrdersRelation));
        engine.WriteParquet(KpiSql.Cohorts(d, options, [new DateOnly(2024, 5, 1), new DateOnly(2024, 6, 1)]), Folder("kpis/cohorts"), []);
        // A nightly update from a day: the changed event days' links, the orders they point to, the merged marts.
        var day = new DateOnly(2024, 6, 1);
        engine.WriteParquet(KpiSql.PurchaseLinks(d, engine.ParquetRelation(Folder("clean/events")), [day]), Folder("kpis/purchase_links_new"), ["event_date"]);
        engine.Query(KpiSql.EarliestLinkedOrder(d, links, options.OrdersRelation, [day], day));
        engine.Materialize("kpi_first_purchases", KpiSql.FirstPurchasesOf(options.OrdersRelation));
        var fromDay = options with { FromDate = day, FirstPurchasesRelation = "kpi_first_purchases" };
        engine.WriteParquet(KpiSql.MergeFrom(d, KpiSql.Daily(d, fromDay), engine.ParquetRelation(Folder("kpis/daily")), day, byChannel: false), Folder("kpis/daily_next"), []);
        engine.WriteParquet(KpiSql.MergeFrom(d, KpiSql.Channels(d, fromDay), engine.ParquetRelation(Folder("kpis/channels")), day, byChannel: true), Folder("kpis/channels_next"), []);
    }
}
