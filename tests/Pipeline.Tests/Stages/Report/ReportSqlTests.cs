using System.Reflection;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Engine.Spark;
using Pipeline.Stages.Report;
using Pipeline.Tests.Engine;

namespace Pipeline.Tests.Stages.Report;

/// <summary>
/// The report reads its tables through the run's engine, so on Spark every <see cref="ReportSql"/> builder must
/// render as Spark SQL: none of the DuckDB-only spellings the report once used (and the other known traps, see
/// spark-connect.md's table), and only functions Spark 3.5 has. The DuckDB renderings run for real in
/// <see cref="ReportModelTests"/> and <see cref="ReportEndToEndTests"/>.
/// </summary>
[TestFixture]
public sealed partial class ReportSqlTests
{
    private static IReadOnlyList<RenderedSql> Rendered(Pipeline.Engine.ISqlDialect dialect) =>
        StageSqlCatalog.Render(dialect).Where(r => r.Builder.StartsWith(nameof(ReportSql) + ".", StringComparison.Ordinal)).ToList();

    public static IEnumerable<TestCaseData> SparkRenderings() =>
        Rendered(new MarkingDialect(SparkDialect.Instance)).Select(r => new TestCaseData(r).SetArgDisplayNames(r.ToString()));

    [Test]
    public void Every_report_builder_is_rendered()
    {
        var builders = typeof(ReportSql).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(string)).Select(m => $"{nameof(ReportSql)}.{m.Name}").Order(StringComparer.Ordinal).ToList();
        Assert.That(builders, Has.Count.GreaterThanOrEqualTo(15));
        Assert.That(Rendered(SparkDialect.Instance).Select(r => r.Builder).Distinct().Order(StringComparer.Ordinal), Is.EqualTo(builders));
    }

    /// <summary>
    /// DuckDB spellings with no Spark meaning (or a different one). Matched on the code only: string literals and
    /// quoted identifiers are blanked first, so a column named like a function never counts.
    /// </summary>
    private static readonly (string Name, Regex Pattern)[] DuckDbOnly =
    [
        ("DESCRIBE (read the Parquet footers in C# instead)", new(@"\bDESCRIBE\b", RegexOptions.IgnoreCase)),
        ("strftime (ToText of a DATE is yyyy-MM-dd in both engines)", new(@"\bstrftime\s*\(", RegexOptions.IgnoreCase)),
        ("AS VARCHAR (Spark wants STRING: ISqlDialect.ToText / StringType)", new(@"\bAS\s+VARCHAR\b", RegexOptions.IgnoreCase)),
        (":: casts", new(@"::")),
        ("read_parquet (IEngine.ParquetRelation gives the relation)", new(@"\bread_parquet\s*\(", RegexOptions.IgnoreCase)),
        ("epoch( (ISqlDialect.EpochMicros)", new(@"\bepoch(_\w+)?\s*\(", RegexOptions.IgnoreCase)),
        ("quantile_cont / approx_quantile (ISqlDialect.Quantile)", new(@"\b(quantile_cont|quantile_disc|approx_quantile|quantile)\s*\(", RegexOptions.IgnoreCase)),
        ("date_diff / datediff (ISqlDialect.DaysBetween)", new(@"\bdate_?diff\s*\(", RegexOptions.IgnoreCase)),
        ("// integer division (Spark: div)", new(@"//")),
        ("TIMESTAMPTZ", new(@"\bTIMESTAMPTZ\b", RegexOptions.IgnoreCase)),
        ("double-quoted identifier (Spark reads a string; ISqlDialect.Id)", new("\"")),
        ("QUALIFY", new(@"\bQUALIFY\b", RegexOptions.IgnoreCase)),
        ("GROUP BY ALL", new(@"\bGROUP\s+BY\s+ALL\b", RegexOptions.IgnoreCase)),
    ];

    /// <summary>The DuckDB-only spellings found in a Spark rendering (plus every finding of the shared trap checker).</summary>
    public static List<string> DuckDbSpellings(string sparkSql)
    {
        var code = SqlTraps.Code(sparkSql, spark: true, out _);
        var findings = DuckDbOnly.Where(x => x.Pattern.IsMatch(code)).Select(x => x.Name).ToList();
        findings.AddRange(SqlTraps.Spark(sparkSql));
        return findings;
    }

    [TestCaseSource(nameof(SparkRenderings))]
    public void Spark_rendering_has_no_duckdb_only_spelling(RenderedSql rendered)
    {
        var findings = DuckDbSpellings(rendered.Sql);
        Assert.That(findings, Is.Empty, rendered + ":\n  " + string.Join("\n  ", findings) + "\n" + rendered.Sql);
    }

    [TestCaseSource(nameof(SparkRenderings))]
    public void Spark_rendering_calls_only_functions_spark_has(RenderedSql rendered)
    {
        Assert.That(SparkFunctions.Unknown(rendered.Sql), Is.Empty,
            $"{rendered}: not a Spark {SparkFunctions.OldestVersion} function\n{rendered.Sql}");
    }

    [Test]
    public void Dialects_render_the_report_differently_where_they_must()
    {
        var spark = Rendered(SparkDialect.Instance).ToDictionary(r => r.Builder + " " + r.Variant, r => r.Sql);
        var duck = Rendered(DuckDbDialect.Instance).ToDictionary(r => r.Builder + " " + r.Variant, r => r.Sql);
        Assert.Multiple(() =>
        {
            Assert.That(spark.Keys, Is.EquivalentTo(duck.Keys));
            Assert.That(spark.Single(x => x.Key.StartsWith("ReportSql.LtvSummary", StringComparison.Ordinal)).Value, Does.Contain("percentile(clv, 0.99)"));
            Assert.That(duck.Single(x => x.Key.StartsWith("ReportSql.LtvSummary", StringComparison.Ordinal)).Value, Does.Contain("quantile_cont(clv, 0.99)"));
            Assert.That(spark.Single(x => x.Key.StartsWith("ReportSql.Daily", StringComparison.Ordinal)).Value, Does.Contain("CAST(CAST(kpi_date AS DATE) AS STRING)"));
            Assert.That(spark.Single(x => x.Key.StartsWith("ReportSql.LtvDeciles", StringComparison.Ordinal)).Value, Does.Contain("`clv_90d`"));
            Assert.That(duck.Single(x => x.Key.StartsWith("ReportSql.LtvDeciles", StringComparison.Ordinal)).Value, Does.Contain("\"clv_90d\""));
        });
    }

    // The checks catch each DuckDB-only spelling the report used to have, written the way it was.
    [TestCase("SELECT column_name FROM (DESCRIBE SELECT * FROM t)", "DESCRIBE")]
    [TestCase("SELECT strftime(CAST(kpi_date AS DATE), '%Y-%m-%d') FROM t ORDER BY kpi_date ASC NULLS LAST", "strftime")]
    [TestCase("SELECT CAST(channel AS VARCHAR) FROM t", "VARCHAR")]
    [TestCase("SELECT quantile_cont(x, 0.99) FROM t", "quantile_cont")]
    [TestCase("SELECT CAST(\"clv_90d\" AS DOUBLE) FROM t", "double-quoted")]
    [TestCase("SELECT x::DATE FROM t", "::")]
    [TestCase("SELECT epoch(ts) FROM t", "epoch(")]
    [TestCase("SELECT * FROM read_parquet('/out/kpi/daily/**/*.parquet')", "read_parquet")]
    public void The_checks_flag_each_duckdb_spelling(string sql, string expected)
    {
        var findings = DuckDbSpellings(sql).Concat(SparkFunctions.Unknown(sql).Select(f => "unknown function " + f)).ToList();
        Assert.That(findings, Has.Some.Contains(expected).IgnoreCase, string.Join("; ", findings));
    }

    [Test]
    public void The_function_check_knows_spark_functions_from_other_names()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SparkFunctions.Unknown("SELECT percentile(x, 0.99), ntile(10) OVER (ORDER BY x ASC NULLS LAST), coalesce(sum(x), 0) FROM t"), Is.Empty);
            Assert.That(SparkFunctions.Unknown("SELECT strftime(d, 'x'), quantile_cont(x, 0.5), percentile_cont(0.5) FROM t"),
                Is.EqualTo(new[] { "percentile_cont", "quantile_cont", "strftime" }), "percentile_cont is Spark 4 only");
            Assert.That(SparkFunctions.Called("SELECT count(*) FROM (SELECT `weird(` FROM t WHERE s = 'f(') x", spark: true), Is.EqualTo(new[] { "count" }));
            Assert.That(SparkFunctions.Called("SELECT m FROM (VALUES (1)) AS months(m) WHERE m IN (1)", spark: true), Is.Empty, "aliases and keywords are not calls");
        });
    }
}
