namespace Pipeline.Tests;

/// <summary>Locations tests need: the repository root, the committed reference data, a fresh temp folder.</summary>
internal static class TestPaths
{
    /// <summary>The folder holding Pipeline.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The CDNOW reference files the golden tests read, committed with the tests (see Data/cdnow/README.md).</summary>
    public static string Cdnow(string file) => Path.Combine(RepoRoot, "tests", "Pipeline.Tests", "Data", "cdnow", file);

    /// <summary>The A/B-test golden cases (Data/ab/cases.json; sources and licences in Data/ab/README.md).</summary>
    public static string Ab(string file) => Path.Combine(RepoRoot, "tests", "Pipeline.Tests", "Data", "ab", file);

    /// <summary>A new empty directory under the system temp folder, unique per call.</summary>
    public static string NewTempDir(string prefix = "pipeline-test")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Copies the sample shop's order and event files (data-samples/shop/orders, /events) into <paramref name="dir"/>.</summary>
    public static void CopySampleShop(string dir)
    {
        foreach (var sub in new[] { "orders", "events" })
        {
            Directory.CreateDirectory(Path.Combine(dir, sub));
            foreach (var f in Directory.GetFiles(Path.Combine(RepoRoot, "data-samples", "shop", sub)))
            {
                File.Copy(f, Path.Combine(dir, sub, Path.GetFileName(f)));
            }
        }
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Pipeline.sln not found above " + AppContext.BaseDirectory);
    }
}
