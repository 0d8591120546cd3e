using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Pipeline.Stages.Report;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Report;

/// <summary>
/// The quick-start report (<c>run --config data-samples/shop.json</c>) laid out by headless Chromium at a phone (390 px),
/// a tablet (768 px) and a desktop (1400 px) width. A copy of the page gets a probe script (the page itself runs none)
/// that measures the layout the browser computed: the document is no wider than the viewport, every table sits in its
/// own horizontal scroll container, charts stay inside their section, HTML legends do not overlap their chart, and
/// every section shows content or says why not. Screenshots at 390 and 1400 px are attached to the test results.
/// </summary>
[NonParallelizable]
public partial class ReportLayoutTests
{
    private string _dir = "";
    private string _report = "";

    // The report is laid out in an iframe of the asked width (Chromium's windows are at least 500 px wide, phones are
    // narrower); the iframe's document is the report itself (srcdoc: same origin, so the probe can measure it), and the
    // report's own no-script policy stays in force inside it.
    private const string Probe = """
        <script>
        function measure(doc, win) {
          var vw = doc.documentElement.clientWidth;
          var out = { vw: vw, inner: win.innerWidth, scrollWidth: doc.documentElement.scrollWidth, problems: [], tables: 0, charts: 0, legends: 0 };
          function bad(m) { out.problems.push(m); }
          function name(el) { return el ? (el.getAttribute('data-table') || el.getAttribute('data-chart') || el.id || el.tagName) : '?'; }
          doc.querySelectorAll('main table').forEach(function (t) {
            out.tables++;
            if (!t.closest('.scroll')) bad('table ' + name(t) + ' is not in a scroll container');
          });
          doc.querySelectorAll('main .scroll').forEach(function (s) {
            var r = s.getBoundingClientRect();
            if (r.width === 0) return; // inside a closed <details>
            if (r.left < -0.5 || r.right > vw + 0.5) bad('scroll container of ' + name(s.querySelector('table')) + ' spans ' + r.left + '..' + r.right);
          });
          doc.querySelectorAll('main svg.chart').forEach(function (svg) {
            out.charts++;
            var r = svg.getBoundingClientRect();
            var sec = svg.closest('section, aside').getBoundingClientRect(); // a section's charts, or the alert banner's
            var fig = svg.closest('figure');
            if (r.left < sec.left - 0.5 || r.right > sec.right + 0.5 || r.right > vw + 0.5)
              bad('chart ' + name(fig) + ' spans ' + r.left + '..' + r.right + ' in section ' + sec.left + '..' + sec.right);
            var leg = fig && fig.querySelector('.legend');
            if (leg) {
              out.legends++;
              var l = leg.getBoundingClientRect();
              if (l.top < r.bottom - 0.5 && l.bottom > r.top + 0.5 && l.left < r.right - 0.5 && l.right > r.left + 0.5) bad('legend overlaps chart ' + name(fig));
              if (l.right > sec.right + 0.5) bad('legend of ' + name(fig) + ' leaves its section');
            }
          });
          doc.querySelectorAll('main section').forEach(function (sec) {
            if (!sec.querySelector('svg.chart, .nodata, .missing, table')) bad('section ' + sec.id + ' has neither content nor a reason');
          });
          var prof = doc.querySelector('table[data-table="segment-profiles"]');
          if (prof) { var c = prof.closest('.scroll'); out.profileScrollWidth = c.scrollWidth; out.profileClientWidth = c.clientWidth; }
          var pre = document.createElement('pre');
          pre.id = 'layout-probe';
          pre.hidden = true;
          pre.textContent = JSON.stringify(out);
          document.body.appendChild(pre);
        }
        var frame = document.getElementById('report');
        frame.onload = function () { measure(frame.contentDocument, frame.contentWindow); };
        frame.srcdoc = REPORT_HTML;
        </script>
        """;

    [OneTimeSetUp]
    public void BuildQuickStartReport()
    {
        _dir = TestPaths.NewTempDir("report-layout");
        var output = Path.Combine(_dir, "out");
        var run = PipelineCli.Run("run", "--config", Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json"), "-o", output, "-q");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        _report = Path.Combine(output, "report", "index.html");
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        if (_dir.Length > 0)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private sealed record Layout(double Vw, double Inner, double ScrollWidth, List<string> Problems, int Tables, int Charts, int Legends,
        double? ProfileScrollWidth, double? ProfileClientWidth);

    /// <summary>The page in an iframe <paramref name="width"/> px wide, laid out by Chromium and measured by the probe.</summary>
    private Layout Measure(int width, string html)
    {
        var browser = Chromium.Require();
        var page = Path.Combine(_dir, $"probe-{width}-{Guid.NewGuid():N}.html");
        var wrapper = $"<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body style=\"margin:0\"><iframe id=\"report\" style=\"width:{width}px;height:1000px;border:0;display:block\"></iframe>\n"
            + Probe.Replace("REPORT_HTML", JsonSerializer.Serialize(html).Replace("</", "<\\/", StringComparison.Ordinal), StringComparison.Ordinal) + "</body></html>";
        File.WriteAllText(page, wrapper);
        var result = Chromium.Run(browser, Path.Combine(_dir, "profile-" + width), "--window-size=1500,1100", "--virtual-time-budget=5000", "--dump-dom",
            new Uri(page).AbsoluteUri);
        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        var json = Regex.Match(result.Stdout, "<pre id=\"layout-probe\" hidden=\"\">(.*?)</pre>", RegexOptions.Singleline);
        Assert.That(json.Success, Is.True, "the probe ran and wrote its measurements: " + result.Stderr);
        var layout = JsonSerializer.Deserialize<Layout>(WebUtility.HtmlDecode(json.Groups[1].Value), JsonOptions)!;
        Assert.That(layout.Inner, Is.EqualTo(width), "the report's viewport has the asked width (else nothing below is measured at that width)");
        return layout;
    }

    [TestCase(390)]
    [TestCase(768)]
    [TestCase(1400)]
    public void The_quick_start_report_fits_the_screen(int width)
    {
        var layout = Measure(width, File.ReadAllText(_report));
        Assert.Multiple(() =>
        {
            Assert.That(layout.ScrollWidth, Is.LessThanOrEqualTo(layout.Vw), "no horizontal page scroll");
            Assert.That(layout.Problems, Is.Empty);
            Assert.That(layout.Tables, Is.GreaterThan(8), "the tables were measured");
            Assert.That(layout.Charts, Is.GreaterThan(8), "the charts were measured");
            Assert.That(layout.Legends, Is.GreaterThanOrEqualTo(3), "channel mix, RFM and k-means share charts carry HTML legends");
            if (width >= 1400)
            {
                Assert.That(layout.ProfileScrollWidth, Is.LessThanOrEqualTo(layout.ProfileClientWidth ?? 0), "the k-means profile table is not cut on a desktop screen");
            }
        });
        if (width is 390 or 1400)
        {
            var browser = Chromium.Require();
            var shot = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"report-quick-start-{width}.png");
            File.Delete(shot);
            var frame = Path.Combine(Path.GetDirectoryName(_report)!, $"frame-{width}.html");
            File.WriteAllText(frame, $"<!DOCTYPE html><html><body style=\"margin:0;background:#888\"><iframe src=\"index.html\" style=\"width:{width}px;height:7000px;border:0;display:block\"></iframe></body></html>");
            var r = Chromium.Run(browser, Path.Combine(_dir, "shot-" + width), $"--window-size={Math.Max(width, 500)},7000", "--virtual-time-budget=3000", "--screenshot=" + shot,
                new Uri(frame).AbsoluteUri);
            Assert.That(r.ExitCode, Is.Zero, r.Stderr);
            TestContext.AddTestAttachment(shot, $"the quick-start report at {width} px");
        }
    }

    [Test]
    public void The_probe_catches_a_page_that_pans_sideways_and_a_bare_table()
    {
        // Guards the measurements above: the old chart grid (460 px minimum) and a table outside any scroll container must be caught.
        var html = File.ReadAllText(_report)
            .Replace("minmax(min(100%, 440px), 1fr)", "minmax(460px, 1fr)", StringComparison.Ordinal)
            .Replace("<div class=\"scroll\"><table class=\"data\" data-table=\"channels\"", "<div><table class=\"data\" data-table=\"channels\"", StringComparison.Ordinal);
        var layout = Measure(390, html);
        Assert.Multiple(() =>
        {
            Assert.That(layout.ScrollWidth, Is.GreaterThan(layout.Vw));
            Assert.That(layout.Problems, Has.Some.Contains("table channels is not in a scroll container"));
            Assert.That(layout.Problems, Has.Some.StartsWith("chart "));
        });
    }

    [Test]
    public void The_input_files_are_summarised_per_stage_with_the_list_collapsed()
    {
        var html = File.ReadAllText(_report);
        var summary = Regex.Match(html, "data-table=\"quality-inputs\">.*?</table>", RegexOptions.Singleline).Value;
        var orders = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "orders")).Length;
        var events = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "events")).Length;
        Assert.Multiple(() =>
        {
            Assert.That(Regex.Matches(summary, "<tr data-stage="), Has.Count.EqualTo(Regex.Count(html, "<details class=\"files\"")), "one summary row and one collapsed list per stage");
            Assert.That(summary, Does.Match($"data-stage=\"clean-orders\"><td>clean-orders</td><td class=\"num\">{orders}</td>"));
            Assert.That(summary, Does.Match($"data-stage=\"clean-clicks\"><td>clean-clicks</td><td class=\"num\">{events}</td>"));
            Assert.That(html, Does.Not.Contain("<details class=\"files\" open"));
        });
    }

    [Test]
    public void A_partial_last_week_is_marked_as_partial()
    {
        var html = File.ReadAllText(_report);
        // The sample's last KPI date, read from the page header; its week (Monday to Sunday) is partial unless it is a Sunday.
        var through = DateOnly.ParseExact(Regex.Match(html, "Data through <b>([0-9-]+)</b>").Groups[1].Value, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        var monday = through.AddDays(-(((int)through.DayOfWeek + 6) % 7));
        var days = through.DayNumber - monday.DayNumber + 1;
        Assume.That(days, Is.LessThan(7), "the sample ends mid-week");
        var mix = Regex.Match(html, "<figure data-chart=\"channel-mix\">.*?</figure>", RegexOptions.Singleline).Value;
        Assert.That(mix, Does.Contain($"the week of {monday:yyyy-MM-dd} has {days} of its 7 days in the data"));
        Assert.That(mix, Does.Contain(">partial week</span>"));
    }

    [Test]
    public void Report_as_of_a_date_ends_the_kpi_window_there_and_says_which_snapshot_to_make()
    {
        // A copy of the quick-start outputs (its only snapshot is the last order date), reported as of an earlier date.
        var copy = Path.Combine(_dir, "as-of");
        var output = Path.GetDirectoryName(Path.GetDirectoryName(_report)!)!;
        foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(output, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        var r = PipelineCli.Run("report", "--config", Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json"), "-o", copy, "--as-of", "2024-05-31", "-q");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var html = File.ReadAllText(Path.Combine(copy, "report", "index.html"));
        var snapshot = Directory.GetDirectories(Path.Combine(output, "rfm", "scores"), "as_of=*").Select(d => Path.GetFileName(d)["as_of=".Length..]).Order(StringComparer.Ordinal).First();
        Assert.Multiple(() =>
        {
            Assert.That(html, Does.Contain("Data through <b>2024-05-31</b>"));
            Assert.That(html, Does.Contain("The last 28 days, 2024-05-04 to 2024-05-31."));
            Assert.That(html, Does.Contain($"No snapshot on or before 2024-05-31 (the earliest is {snapshot}) — run <code>pipeline rfm --as-of 2024-05-31</code> first"));
            Assert.That(html, Does.Contain("<code>pipeline segment --as-of 2024-05-31</code>"));
            Assert.That(html, Does.Contain("<code>pipeline ltv --as-of 2024-05-31</code>"));
        });
    }

    [GeneratedRegex("<meta http-equiv=\"Content-Security-Policy\"[^>]*>")]
    private static partial Regex CspMeta();
}
