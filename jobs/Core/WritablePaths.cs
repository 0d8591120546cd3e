namespace Pipeline.Core;

/// <summary>
/// Checks on a path the user gives the pipeline to write to, made before anything is read or written, so a path that
/// cannot be used is a usage error (exit 2) naming it rather than an IOException half-way through.
/// </summary>
public static class WritablePaths
{
    /// <summary>
    /// Null when <paramref name="directory"/> is a directory or can be created as one; otherwise what is in the way,
    /// as words to follow the quoted path ("is an existing file, not a directory").
    /// </summary>
    public static string? DirectoryProblem(string directory)
    {
        var full = Path.GetFullPath(directory);
        if (File.Exists(full))
        {
            return "is an existing file, not a directory";
        }
        for (var parent = Path.GetDirectoryName(full); parent is not null && !Directory.Exists(parent); parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent))
            {
                return $"cannot be created: '{parent}' is a file, not a directory";
            }
        }
        return null;
    }

    /// <summary>Null when a file can be written at <paramref name="file"/>; otherwise what is in the way (see <see cref="DirectoryProblem"/>).</summary>
    public static string? FileProblem(string file)
    {
        var full = Path.GetFullPath(file);
        if (Directory.Exists(full))
        {
            return "is an existing directory; give a file name";
        }
        return Path.GetDirectoryName(full) is { } parent && DirectoryProblem(parent) is { } problem
            ? $"cannot be written: '{parent}' {problem}"
            : null;
    }
}
