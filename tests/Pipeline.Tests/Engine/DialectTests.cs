using NUnit.Framework;
using Pipeline.Engine;
using Pipeline.Engine.DuckDb;
using Pipeline.Engine.Spark;

namespace Pipeline.Tests.Engine;

/// <summary>
/// Same SQL, two dialects: every stage builder (found by reflection, see <see cref="StageSqlCatalog"/>) rendered for
/// DuckDB and for Spark. The DuckDB renderings are executed for real by the stage tests (Stages/*: order- and
/// line-level orders, FX, network keys, sessions, features); here the Spark renderings are checked for the known
/// traps, and the checker itself is shown to catch each trap.
/// </summary>
[TestFixture]
public sealed class DialectTests
{
    public static IEnumerable<TestCaseData> SparkRenderings() =>
        StageSqlCatalog.Render(new MarkingDialect(SparkDialect.Instance)).Select(r => new TestCaseData(r).SetArgDisplayNames(r.ToString()));

    public static IEnumerable<TestCaseData> DuckDbRenderings() =>
        StageSqlCatalog.Render(DuckDbDialect.Instance).Select(r => new TestCaseData(r).SetArgDisplayNames(r.ToString()));

    [Test]
    public void Every_stage_sql_class_is_found_and_renders_for_both_dialects()
    {
        var classes = StageSqlCatalog.SqlClasses().Select(t => t.Name).ToList();
        Assert.That(classes, Is.SupersetOf(new[] { "OrdersSql", "EventsSql", "FeaturesSql", "CustomersSql", "KpiSql", "ReportSql", "ExportsSql", "CompareSql" }));
        var spark = StageSqlCatalog.Render(SparkDialect.Instance);
        var duck = StageSqlCatalog.Render(DuckDbDialect.Instance);
        Assert.That(spark.Select(r => (r.Builder, r.Variant)), Is.EqualTo(duck.Select(r => (r.Builder, r.Variant))));
        Assert.That(spark, Has.Count.GreaterThanOrEqualTo(15));
        // The dialects really differ where they must (a renderer ignoring its dialect would pass every trap test).
        var typed = spark.First(r => r.Builder == "OrdersSql.Typed");
        Assert.That(typed.Sql, Does.Contain("try_cast(").And.Not.Contain("TRY_CAST(").And.Contain("`"));
    }

    [TestCaseSource(nameof(SparkRenderings))]
    public void Spark_rendering_has_none_of_the_known_traps(RenderedSql rendered)
    {
        var findings = SqlTraps.Spark(rendered.Sql);
        Assert.That(findings, Is.Empty, rendered + ":\n  " + string.Join("\n  ", findings));
    }

    [TestCaseSource(nameof(SparkRenderings))]
    public void Spark_rendering_calls_only_functions_spark_has(RenderedSql rendered)
    {
        var unknown = SparkFunctions.Unknown(rendered.Sql);
        Assert.That(unknown, Is.Empty, $"{rendered}: not a Spark {SparkFunctions.OldestVersion} function");
    }

    [TestCaseSource(nameof(DuckDbRenderings))]
    public void DuckDb_rendering_follows_the_portable_rules(RenderedSql rendered)
    {
        var findings = SqlTraps.Portable(rendered.Sql, spark: false);
        Assert.That(findings, Is.Empty, rendered + ":\n  " + string.Join("\n  ", findings));
    }

    // Each known trap, written the way a stage might write it by hand: the checker must flag it.
    [TestCase("SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY a ORDER BY b ASC NULLS LAST) = 1", "QUALIFY")]
    [TestCase("SELECT count(DISTINCT s) OVER (PARTITION BY a) FROM t", "COUNT(DISTINCT")]
    [TestCase("SELECT row_number() OVER (PARTITION BY a ORDER BY b DESC) FROM t", "NULLS FIRST/LAST")]
    [TestCase("SELECT a FROM t ORDER BY a ASC NULLS LAST, b", "NULLS FIRST/LAST")]
    [TestCase("SELECT datediff(first_day, last_day) FROM t", "datediff")]
    [TestCase("SELECT date_diff('day', a, b) FROM t", "datediff")]
    [TestCase("SELECT parts[1] FROM t", "array")]
    [TestCase("SELECT element_at(split(s, ','), 1) FROM t", "array")]
    [TestCase("SELECT CAST(total_s AS DECIMAL(18,4)) FROM t", "try_cast")]
    [TestCase("SELECT to_timestamp(ordered_at_s, 'yyyy-MM-dd') FROM t", "try_")]
    [TestCase("SELECT CAST(x AS VARCHAR) FROM t", "VARCHAR")]
    [TestCase("SELECT regexp_matches(s, 'a+') FROM t", "regexp_matches")]
    [TestCase("SELECT \"order_id\" FROM t", "double quotes")]
    [TestCase("SELECT 'it''s' FROM t", "adjacent")]
    [TestCase("SELECT x::DATE FROM t", "::")]
    public void Trap_checker_flags_each_trap(string sql, string expected)
    {
        var findings = SqlTraps.Spark(sql);
        Assert.That(findings, Has.Some.Contains(expected).IgnoreCase, string.Join("; ", findings));
    }

    [TestCase("SELECT a FROM t ORDER BY a ASC NULLS LAST, b DESC NULLS FIRST")]
    [TestCase("SELECT sum(x) OVER (PARTITION BY a ORDER BY b ASC NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM t")]
    [TestCase("SELECT try_cast(total_s AS DECIMAL(18,4)), CAST(n AS INT), regexp_extract(s, '[0-9]+(//)?', 1), 'it\\'s' FROM t")]
    [TestCase("SELECT /*<DaysBetween>*/datediff(b, a)/*</DaysBetween>*/ FROM t")]
    public void Trap_checker_accepts_correct_spark_sql(string sql)
    {
        Assert.That(SqlTraps.Spark(sql), Is.Empty);
    }

    [Test]
    public void Spark_spellings()
    {
        var d = SparkDialect.Instance;
        Assert.Multiple(() =>
        {
            // Backslashes are escapes in Spark literals and '' would end the literal: \\ and \'.
            Assert.That(d.Str("a'b\\c"), Is.EqualTo("'a\\'b\\\\c'"));
            Assert.That(d.Id("we`ird"), Is.EqualTo("`we``ird`"));
            Assert.That(d.DaysBetween("start_d", "end_d"), Is.EqualTo("datediff(end_d, start_d)"));
            Assert.That(d.FullMatch("s", "[A-Z]{3}"), Is.EqualTo("(s RLIKE '^(?:[A-Z]{3})\\\\z')"));
            Assert.That(d.RegexExtract("s", "a(b)", 1), Is.EqualTo("NULLIF(regexp_extract(s, 'a(b)', 1), '')"));
            Assert.That(d.RegexReplaceAll("s", "x", "$1\\"), Is.EqualTo("regexp_replace(s, 'x', '\\\\$1\\\\\\\\')"));
            Assert.That(d.TryDecimal("v"), Is.EqualTo($"(CASE WHEN {d.FullMatch("v", DecimalText.Pattern)} THEN try_cast(v AS DECIMAL(18,4)) END)"));
            Assert.That(d.EpochMicros("ts"), Is.EqualTo("unix_micros(ts)"));
            Assert.That(d.IsAscii("s"), Is.EqualTo("(octet_length(s) = length(s))"), "bytes = code points only for ASCII");
            Assert.That(d.HmacHex("s"), Does.StartWith("sha2(concat(k.opad, unhex(sha2(concat(k.ipad, CAST(s AS BINARY)), 256))), 256)"));
            Assert.That(d.ParseTimestamp("v", "UTC", null), Does.Contain("try_cast(").And.Contain("timestamp_seconds(").And.Contain("timestamp_millis("));
            Assert.That(d.ParseTimestamp("v", "Europe/Paris", "%d/%m/%Y %H:%M"),
                Does.Contain("try_to_timestamp(v, 'd/M/yyyy H:m')").And.Contain("to_utc_timestamp("));
        });
    }

    [Test]
    public void The_offset_rule_takes_a_regex_only_for_rare_offset_shapes()
    {
        // DuckDB reads UTC timestamps without any regex; the offset rule keeps values ending in Z, in ±hh:mm or in no
        // offset at all off the regexes (they run on every event): only ±hh, ±hhmm and ±hh:mm:ss endings reach them.
        var sql = DuckDbDialect.Instance.ParseTimestamp("v", "UTC", null);
        var rare = sql.IndexOf("v LIKE '%:%' THEN", StringComparison.Ordinal);
        Assert.That(rare, Is.GreaterThan(0), sql);
        Assert.That(sql.IndexOf("regexp", StringComparison.Ordinal), Is.GreaterThan(rare), sql);
        Assert.That(sql.IndexOf("WHEN v LIKE '%Z' THEN false", StringComparison.Ordinal), Is.InRange(0, rare), sql);
    }

    [TestCase("%Y-%m-%d %H:%M:%S", "yyyy-M-d H:m:s")]
    [TestCase("%Y%m%d", "yyyyMMdd")]
    [TestCase("%d/%m/%Y %H:%M", "d/M/yyyy H:m")]
    [TestCase("%Y-%m-%dT%H:%M:%S.%f", "yyyy-M-d'T'H:m:s.SSSSSS")]
    [TestCase("%b %d %Y %I:%M %p", "MMM d yyyy h:m a")]
    public void Strptime_formats_become_spark_patterns(string strptime, string expected)
    {
        Assert.That(SparkDialect.JavaPattern(strptime), Is.EqualTo(expected));
    }

    [TestCase("plain ascii ~!", true)]
    [TestCase("", true)]
    [TestCase("caf\u00e9", false)]
    [TestCase("\u4e2d\u6587", false)]
    [TestCase("no-break\u00a0", false)]
    [TestCase("emoji \U0001F600", false)]
    public void DuckDb_is_ascii_compares_bytes_with_characters(string value, bool expected)
    {
        using var engine = new DuckDbEngine(new DuckDbOptions());
        var d = engine.Dialect;
        Assert.That(engine.Query($"SELECT {d.IsAscii(d.Str(value))}")[0][0], Is.EqualTo(expected));
    }

    [TestCase("2024-03-05 23:59:59.999999+00", "2024-03-05")]
    [TestCase("2024-03-06 00:00:00+00", "2024-03-06")]
    [TestCase("2024-03-06 01:30:00+05", "2024-03-05")]
    [TestCase("1970-01-01 00:00:00+00", "1970-01-01")]
    [TestCase("1969-12-31 23:59:59.999999+00", "1969-12-31")]
    [TestCase("1969-12-31 00:00:00+00", "1969-12-31")]
    [TestCase("1960-02-29 12:00:00+00", "1960-02-29")]
    [TestCase("0001-01-01 00:00:00+00", "0001-01-01")]
    [TestCase("infinity", "infinity")]
    [TestCase("-infinity", "-infinity")]
    public void DuckDb_date_of_is_the_utc_calendar_date(string timestamp, string expected)
    {
        // Floor division on the epoch: the days before 1970 are where truncation would be off by one.
        using var engine = new DuckDbEngine(new DuckDbOptions());
        var d = engine.Dialect;
        var date = engine.Query($"SELECT CAST({d.DateOf($"TIMESTAMPTZ {d.Str(timestamp)}")} AS VARCHAR), {d.DateOf("CAST(NULL AS TIMESTAMPTZ)")}")[0];
        Assert.That(date[0], Is.EqualTo(expected));
        Assert.That(date[1], Is.Null);
    }

    [Test]
    public void DuckDb_days_between_counts_from_start_to_end()
    {
        using var engine = new DuckDbEngine(new DuckDbOptions());
        var d = engine.Dialect;
        var days = engine.Query($"SELECT {d.DaysBetween(d.DateLiteral(new DateOnly(2024, 1, 1)), d.DateLiteral(new DateOnly(2024, 3, 1)))}")[0][0];
        Assert.That(Convert.ToInt64(days, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(60));
    }
}
