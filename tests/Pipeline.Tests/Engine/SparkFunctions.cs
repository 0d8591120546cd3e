using System.Text.RegularExpressions;

namespace Pipeline.Tests.Engine;

/// <summary>
/// Spark SQL's built-in function names (test data: <c>Data/spark-functions.txt</c>, the <c>expressions</c> map of
/// Spark's FunctionRegistry with the versions each name exists in) and the function calls of rendered SQL, to check
/// that a Spark rendering calls only functions Spark has — in every version the engine supports (3.5 and 4.x).
/// </summary>
public static partial class SparkFunctions
{
    /// <summary>The oldest Spark version the Spark engine supports; a function must exist there.</summary>
    public const string OldestVersion = "3.5.0";

    private static readonly Lazy<IReadOnlySet<string>> Names = new(Load);

    /// <summary>Function names available in <see cref="OldestVersion"/> (lower case).</summary>
    public static IReadOnlySet<string> InOldestVersion => Names.Value;

    /// <summary>
    /// Words that are followed by '(' in SQL without being function calls: keywords and syntax (CAST, TRY_CAST, CASE,
    /// IN, OVER, … are not in FunctionRegistry) and type names with a precision.
    /// </summary>
    private static readonly HashSet<string> Syntax = new(StringComparer.OrdinalIgnoreCase)
    {
        "as", "in", "on", "and", "or", "not", "over", "from", "join", "select", "where", "exists", "values", "using", "within",
        "filter", "cast", "try_cast", "case", "when", "then", "else", "by", "all", "union", "except", "intersect", "partition",
        "table", "lateral", "decimal", "numeric", "varchar", "char", "with", "is", "like", "rlike", "between", "distinct",
    };

    /// <summary>The names called in <paramref name="sql"/> (string literals, quoted identifiers and comments ignored), lower case.</summary>
    public static IReadOnlyList<string> Called(string sql, bool spark)
    {
        var code = BlockComment().Replace(SqlTraps.Code(sql, spark, out _), " ");
        return Call().Matches(code).Select(m => m.Groups[1].Value.ToLowerInvariant()).Where(n => !Syntax.Contains(n)).Distinct().Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The functions <paramref name="sql"/> calls that Spark <see cref="OldestVersion"/> does not have.</summary>
    public static IReadOnlyList<string> Unknown(string sql) => Called(sql, spark: true).Where(n => !InOldestVersion.Contains(n)).ToList();

    private static HashSet<string> Load()
    {
        var path = Path.Combine(TestPaths.RepoRoot, "tests", "Pipeline.Tests", "Engine", "Data", "spark-functions.txt");
        return File.ReadLines(path)
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('\t'))
            .Where(f => f.Length == 2 && f[1].Split(',').Contains(OldestVersion, StringComparer.Ordinal))
            .Select(f => f[0].ToLowerInvariant())
            .ToHashSet(StringComparer.Ordinal);
    }

    // Not a call: a name inside a longer name or after a dot, or a table alias with a column list (AS t(a, b)).
    [GeneratedRegex(@"(?<![\w.`$])(?<!\bAS\s+)([A-Za-z_][A-Za-z0-9_]*)\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex Call();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();
}
