using NUnit.Framework;
using Pipeline.Core;
using Pipeline.Inputs;

namespace Pipeline.Tests.Inputs;

public class InputResolverTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("inputs");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Touch(string rel, string content = "a,b\n1,2\n")
    {
        var p = Path.Combine(_dir, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllText(p, content);
        return p;
    }

    [Test]
    public void Directories_globs_and_files_expand_in_path_order()
    {
        Touch("in/2024/b.csv");
        Touch("in/2024/a.csv");
        Touch("in/2023/z.jsonl", "{\"a\":1}\n");
        Touch("in/_tmp/skip.csv");
        Touch("in/.hidden.csv");
        Touch("in/notes.md");
        var fromDir = InputResolver.Resolve([Path.Combine(_dir, "in")], new InputOptions(), "orders").Select(f => Path.GetRelativePath(_dir, f.Path));
        Assert.That(fromDir, Is.EqualTo(new[] { "in/2023/z.jsonl", "in/2024/a.csv", "in/2024/b.csv" }));
        // A glob is matched as written: it does not skip hidden or underscore names.
        var fromGlob = InputResolver.Resolve([Path.Combine(_dir, "in", "**", "*.csv")], new InputOptions(), "orders").Select(f => Path.GetRelativePath(_dir, f.Path));
        Assert.That(fromGlob, Is.EqualTo(new[] { "in/.hidden.csv", "in/2024/a.csv", "in/2024/b.csv", "in/_tmp/skip.csv" }));
        var oneLevel = InputResolver.Resolve([Path.Combine(_dir, "in", "2024", "?.csv")], new InputOptions(), "orders");
        Assert.That(oneLevel, Has.Count.EqualTo(2));
    }

    [TestCase("in/loop", "../in")]  // the input folder itself
    [TestCase("in/sub/up", "../..")] // above the input folder
    [TestCase("in/sub/self", ".")]
    public void A_directory_link_that_leads_back_is_not_followed(string link, string target)
    {
        Touch("in/a.csv");
        Touch("in/sub/x.csv");
        File.CreateSymbolicLink(Path.Combine(_dir, link), target);
        foreach (var input in new[] { Path.Combine(_dir, "in"), Path.Combine(_dir, "in", "**", "*.csv") })
        {
            var files = InputResolver.Resolve([input], new InputOptions(), "orders").Select(f => Path.GetRelativePath(_dir, f.Path));
            Assert.That(files, Is.EqualTo(new[] { "in/a.csv", "in/sub/x.csv" }), input);
        }
    }

    [Test]
    public void A_directory_link_elsewhere_is_followed()
    {
        Touch("in/a.csv");
        Touch("archive/old.csv");
        File.CreateSymbolicLink(Path.Combine(_dir, "in", "archive"), "../archive");
        var files = InputResolver.Resolve([Path.Combine(_dir, "in")], new InputOptions(), "orders").Select(f => Path.GetRelativePath(_dir, f.Path));
        Assert.That(files, Is.EqualTo(new[] { "in/a.csv", "in/archive/old.csv" }));
    }

    [Test]
    public void Two_directories_linking_to_each_other_end_the_walk()
    {
        Touch("in/m1/p.csv");
        Touch("in/m2/q.csv");
        File.CreateSymbolicLink(Path.Combine(_dir, "in", "m1", "l"), "../m2");
        File.CreateSymbolicLink(Path.Combine(_dir, "in", "m2", "l"), "../m1");
        var files = InputResolver.Resolve([Path.Combine(_dir, "in")], new InputOptions(), "orders").Select(f => Path.GetRelativePath(_dir, f.Path));
        // Each folder is entered once through the other's link, never a second time from inside itself.
        Assert.That(files, Is.EqualTo(new[] { "in/m1/l/q.csv", "in/m1/p.csv", "in/m2/l/p.csv", "in/m2/q.csv" }));
    }

    [Test]
    public void A_broken_link_is_an_input_error_naming_it()
    {
        Touch("in/a.csv");
        var link = Path.Combine(_dir, "in", "b.csv");
        File.CreateSymbolicLink(link, "/nonexistent/x.csv");
        foreach (var input in new[] { Path.Combine(_dir, "in"), Path.Combine(_dir, "in", "*.csv"), link })
        {
            var e = Assert.Throws<PipelineException>(() => InputResolver.Resolve([input], new InputOptions(), "orders"));
            Assert.That(e!.ExitCode, Is.EqualTo(ExitCodes.InputProblem), input);
            Assert.That(e.Message, Is.EqualTo($"{link}: broken symbolic link: what it points to (/nonexistent/x.csv) does not exist"), input);
        }
        File.CreateSymbolicLink(Path.Combine(_dir, "c.csv"), "d.csv");
        File.CreateSymbolicLink(Path.Combine(_dir, "d.csv"), "c.csv");
        var loop = Assert.Throws<PipelineException>(() => InputResolver.Resolve([Path.Combine(_dir, "c.csv")], new InputOptions(), "orders"));
        Assert.That(loop!.Message, Does.Contain("c.csv: symbolic link in a loop of links"));
    }

    [TestCase("a,b,c", ',')]
    [TestCase("a;b;c", ';')]
    [TestCase("a\tb\tc", '\t')]
    [TestCase("a|b|c", '|')]
    [TestCase("\"x,y\";b;c", ';')]
    [TestCase("single", ',')]
    public void Delimiter_is_sniffed_from_the_header(string header, char expected) =>
        Assert.That(InputResolver.SniffDelimiter(header), Is.EqualTo(expected));

    [Test]
    public void Header_splitting_honours_quotes_and_bom_is_detected()
    {
        Assert.That(InputResolver.SplitHeader("\"Invoice No\",\"a\"\"b\",c", ','), Is.EqualTo(new[] { "Invoice No", "a\"b", "c" }));
        var p = Path.Combine(_dir, "bom.csv");
        File.WriteAllBytes(p, [0xEF, 0xBB, 0xBF, .. "x;y\r\n1;2\r\n"u8.ToArray()]);
        var f = InputResolver.Resolve([p], new InputOptions(), "orders").Single();
        Assert.Multiple(() =>
        {
            Assert.That(f.HasBom, Is.True);
            Assert.That(f.Delimiter, Is.EqualTo(';'));
            Assert.That(f.Columns, Is.EqualTo(new[] { "x", "y" }));
            Assert.That(f.Sha256, Has.Length.EqualTo(64));
        });
    }

    [Test]
    public void Utf16_and_duplicate_header_names_are_input_errors()
    {
        var utf16 = Path.Combine(_dir, "u16.csv");
        File.WriteAllBytes(utf16, [0xFF, 0xFE, .. System.Text.Encoding.Unicode.GetBytes("a,b\n")]);
        var e1 = Assert.Throws<PipelineException>(() => InputResolver.Resolve([utf16], new InputOptions(), "orders"));
        Assert.That(e1!.ExitCode, Is.EqualTo(ExitCodes.InputProblem));
        Assert.That(e1.Message, Does.Contain("UTF-16"));
        var dup = Touch("dup.csv", "a,A,b\n1,2,3\n");
        var e2 = Assert.Throws<PipelineException>(() => InputResolver.Resolve([dup], new InputOptions(), "orders"));
        Assert.That(e2!.Message, Does.Contain("more than once"));
    }
}
