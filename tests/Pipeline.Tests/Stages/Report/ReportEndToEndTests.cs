using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pipeline.Stages.Report;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Report;

/// <summary>
/// The report on real outputs: data-samples/shop.json through clean-orders, clean-clicks and two customer snapshots
/// (so segment migration exists), plus KPI tables written per their contract. Checks the RFM grid and CLV deciles
/// against the tables read independently, then renders the page in headless Chromium.
/// </summary>
[NonParallelizable]
public partial class ReportEndToEndTests
{
    private const string EarlierAsOf = "2024-05-31";

    private string _dir = "";
    private string _html = "";

    private string Output => Path.Combine(_dir, "out");

    private string ReportFile => Path.Combine(Output, "report", "index.html");

    [OneTimeSetUp]
    public void BuildOutputs()
    {
        _dir = TestPaths.NewTempDir("report-e2e");
        var config = Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json");
        foreach (var args in new[]
                 {
                     new[] { "clean-orders" }, ["clean-clicks"],
                     ["features", "--as-of", EarlierAsOf], ["rfm", "--as-of", EarlierAsOf], ["segment", "--as-of", EarlierAsOf], ["ltv", "--as-of", EarlierAsOf],
                     ["features"], ["rfm"], ["segment"], ["ltv"],
                 })
        {
            var r = PipelineCli.Run([.. args, "-c", config, "-o", Output]);
            Assert.That(r.ExitCode, Is.Zero, string.Join(' ', args) + ": " + r);
        }
        KpiFixtures.WriteRealistic(Output, new DateOnly(2024, 5, 1), 45);
        var report = PipelineCli.Run("report", "-c", config, "-o", Output);
        Assert.That(report.ExitCode, Is.Zero, report.ToString());
        _html = File.ReadAllText(ReportFile);
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (_dir.Length > 0)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static string LatestPartition(string tableDir) =>
        Directory.GetDirectories(tableDir, "as_of=*").Order(StringComparer.Ordinal).Last();

    [Test]
    public void Every_section_has_its_content_and_no_section_is_missing()
    {
        Assert.Multiple(() =>
        {
            foreach (var id in ReportModel.SectionIds)
            {
                var m = Regex.Match(_html, $"<section id=\"{id}\">(.*?)</section>", RegexOptions.Singleline);
                Assert.That(m.Success, Is.True, id);
                Assert.That(m.Groups[1].Value, Does.Not.Contain("class=\"missing\""), id);
                Assert.That(m.Groups[1].Value, Does.Contain("<svg viewBox="), id + " has a chart");
            }
            Assert.That(_html, Does.Not.Match("https?://"), "nothing to fetch, not even a namespace URL");
            Assert.That(_html, Does.Not.Contain("<script"));
            // The default snapshot is the date of the last order in clean/orders.
            var last = ParquetTable.Read(Path.Combine(Output, "clean", "orders")).Max(r => r["order_date"] is DateOnly d ? d : DateOnly.FromDateTime(Convert.ToDateTime(r["order_date"], CultureInfo.InvariantCulture)));
            Assert.That(_html, Does.Contain($"customer snapshot as of <b>{last:yyyy-MM-dd}</b>"));
        });
    }

    [Test]
    public void Rfm_grid_counts_customers_and_revenue_of_each_cell()
    {
        var partition = LatestPartition(Path.Combine(Output, "rfm", "scores"));
        var asOf = Path.GetFileName(partition);
        var scores = ParquetTable.Read(partition);
        var revenue = ParquetTable.Read(Path.Combine(Output, "customers", "features", asOf))
            .ToDictionary(r => (string)r["customer_id"]!, r => Convert.ToDouble(r["net_revenue"], CultureInfo.InvariantCulture));
        var expected = scores.GroupBy(r => (R: Convert.ToInt32(r["r_score"], CultureInfo.InvariantCulture), F: Convert.ToInt32(r["f_score"], CultureInfo.InvariantCulture)))
            .ToDictionary(g => g.Key, g => (Customers: g.Count(), Revenue: g.Sum(r => revenue[(string)r["customer_id"]!])));
        var cells = Regex.Matches(_html, "data-r=\"(\\d)\" data-f=\"(\\d)\" data-customers=\"(\\d+)\" data-revenue=\"([-0-9.]+)\"");
        Assert.That(cells, Has.Count.EqualTo(25));
        Assert.Multiple(() =>
        {
            foreach (Match c in cells)
            {
                var key = (int.Parse(c.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(c.Groups[2].Value, CultureInfo.InvariantCulture));
                var (n, rev) = expected.GetValueOrDefault(key);
                Assert.That(int.Parse(c.Groups[3].Value, CultureInfo.InvariantCulture), Is.EqualTo(n), $"customers in {key}");
                Assert.That(double.Parse(c.Groups[4].Value, CultureInfo.InvariantCulture), Is.EqualTo(rev).Within(0.006), $"revenue in {key}");
            }
            Assert.That(cells.Sum(c => int.Parse(c.Groups[3].Value, CultureInfo.InvariantCulture)), Is.EqualTo(scores.Count));
        });
    }

    [Test]
    public void Ltv_deciles_rank_customers_by_the_longest_horizon_clv()
    {
        var rows = ParquetTable.Read(LatestPartition(Path.Combine(Output, "ltv", "customers")))
            .Select(r => (Id: (string)r["customer_id"]!, Clv: Convert.ToDouble(r["clv_90d"], CultureInfo.InvariantCulture)))
            .OrderByDescending(r => r.Clv).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
        // ntile(10): the first (n mod 10) deciles get one customer more.
        var n = rows.Count;
        var sizes = Enumerable.Range(0, 10).Select(i => n / 10 + (i < n % 10 ? 1 : 0)).ToList();
        var top = rows.Take(sizes[0]).ToList();
        var table = Regex.Match(_html, "data-table=\"ltv-deciles\">.*?<tr class=\"top\"><td>1 \\(top 10%\\)</td><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)</td><td class=\"num\">([^<]*)</td>",
            RegexOptions.Singleline);
        Assert.That(table.Success, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(table.Groups[1].Value, Is.EqualTo(sizes[0].ToString(CultureInfo.InvariantCulture)));
            Assert.That(table.Groups[2].Value, Is.EqualTo(ReportHtml.Money(top.Min(r => r.Clv))), "lowest CLV of the top decile");
            Assert.That(table.Groups[3].Value, Is.EqualTo(ReportHtml.Money(top.Average(r => r.Clv))));
            Assert.That(table.Groups[4].Value, Is.EqualTo(ReportHtml.Money(top.Sum(r => r.Clv))));
            Assert.That(table.Groups[5].Value, Is.EqualTo(ReportHtml.Pct(top.Sum(r => r.Clv) / rows.Sum(r => r.Clv))));
        });
    }

    [Test]
    public void Segment_migration_compares_with_the_earlier_snapshot()
    {
        var section = Regex.Match(_html, "<section id=\"segments\">(.*?)</section>", RegexOptions.Singleline).Groups[1].Value;
        var migration = ParquetTable.Read(LatestPartition(Path.Combine(Output, "segments", "migration")));
        Assert.That(migration, Is.Not.Empty);
        Assert.That(section, Does.Contain($"Customers by their segment on {EarlierAsOf} (rows)"));
        Assert.That(section, Does.Contain("data-table=\"segment-migration\""));
        var total = migration.Sum(r => Convert.ToInt64(r["customers"], CultureInfo.InvariantCulture));
        var shown = Regex.Matches(Regex.Match(section, "data-table=\"segment-migration\".*?</table>", RegexOptions.Singleline).Value, "<td class=\"num[^\"]*\" style=\"[^\"]*\">([0-9,]+)</td>")
            .Sum(m => long.Parse(m.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture));
        Assert.That(shown, Is.EqualTo(total), "every migrating customer is in the matrix");
    }

    [Test]
    public void The_page_renders_in_headless_chromium_with_every_section_and_no_console_errors()
    {
        var browser = Chromium.Require();
        var profile = Path.Combine(_dir, "chromium-profile");
        var url = new Uri(ReportFile).AbsoluteUri;

        var dom = Chromium.Run(browser, profile, "--dump-dom", url);
        Assert.That(dom.ExitCode, Is.Zero, dom.Stderr);
        Assert.Multiple(() =>
        {
            Assert.That(dom.ConsoleMessages, Is.Empty, "the page logs nothing: no script errors, no blocked or failed loads");
            Assert.That(dom.Stdout, Does.Contain("<h1>"), "the DOM was dumped");
            foreach (var id in ReportModel.SectionIds)
            {
                var section = Regex.Match(dom.Stdout, $"<section id=\"{id}\">(.*?)</section>", RegexOptions.Singleline);
                Assert.That(section.Success, Is.True, $"section {id} in the rendered DOM");
                Assert.That(section.Groups[1].Value, Does.Contain("<svg"), $"section {id} has its SVG chart");
            }
            Assert.That(Regex.Count(dom.Stdout, "<svg"), Is.GreaterThanOrEqualTo(14));
        });

        var screenshot = Path.Combine(TestContext.CurrentContext.WorkDirectory, "report-screenshot.png");
        File.Delete(screenshot);
        var shot = Chromium.Run(browser, profile, "--window-size=1280,9000", "--screenshot=" + screenshot, url);
        Assert.That(shot.ExitCode, Is.Zero, shot.Stderr);
        Assert.That(shot.ConsoleMessages, Is.Empty);
        Assert.That(new FileInfo(screenshot).Length, Is.GreaterThan(100_000), "a full page, not a blank one");
        var png = File.ReadAllBytes(screenshot);
        Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
        TestContext.AddTestAttachment(screenshot, "the report as Chromium renders it");
        File.Copy(ReportFile, Path.Combine(TestContext.CurrentContext.WorkDirectory, "report-sample.html"), overwrite: true);
    }

    [Test]
    public void The_console_check_catches_a_page_with_a_script_error()
    {
        // Guards the check above: a page that throws must be caught, or an empty list proves nothing.
        var browser = Chromium.Require();
        var page = Path.Combine(_dir, "broken.html");
        File.WriteAllText(page, "<!DOCTYPE html><html><body><p>x</p><script>throw new Error('boom');</script></body></html>");
        var result = Chromium.Run(browser, Path.Combine(_dir, "chromium-profile-2"), "--dump-dom", new Uri(page).AbsoluteUri);
        Assert.That(result.ConsoleMessages, Has.Some.Contains("Uncaught Error: boom"));
    }
}
