using Pipeline.Core;
using Pipeline.Engine;

namespace Pipeline.Inputs;

/// <summary>
/// Maps each file's own column names to the canonical ones (config mapping first, then the canonical name itself,
/// case-insensitively) and groups files that read the same way. Problems a user must fix in the file or the
/// mapping come out as input errors naming the file and the columns it has.
/// </summary>
public static class InputBinder
{
    /// <param name="files">Resolved input files.</param>
    /// <param name="canonical">The input's canonical columns, in output order.</param>
    /// <param name="mapping">canonical → source name from the config.</param>
    /// <param name="quote">CSV quote character.</param>
    /// <param name="what">"orders", "events", … for messages.</param>
    public static RawInput Bind(IReadOnlyList<InputFile> files, IReadOnlyList<string> canonical,
        IReadOnlyDictionary<string, string> mapping, char quote, string what)
    {
        var groups = new List<RawFileGroup>();
        foreach (var g in files.GroupBy(f => (f.Format, f.Delimiter, Header: string.Join("\u0001", f.Columns))))
        {
            var first = g.First();
            var projection = canonical.Select(c => new ColumnProjection(c, SourceFor(c, first, mapping))).ToList();
            groups.Add(new RawFileGroup(first.Format, g.Select(f => f.Path).ToList(), first.Delimiter, quote, first.Columns, projection));
        }
        return new RawInput(groups);
    }

    private static string? SourceFor(string canonical, InputFile file, IReadOnlyDictionary<string, string> mapping)
    {
        if (mapping.TryGetValue(canonical, out var mapped))
        {
            if (file.Format == "jsonl")
            {
                return mapped; // keys may be absent from the first lines and still appear later
            }
            var found = file.Columns.FirstOrDefault(c => string.Equals(c, mapped, StringComparison.OrdinalIgnoreCase));
            return found ?? throw PipelineException.Input(
                $"{file.Path}: has no column '{mapped}' (mapped to {canonical}); columns present: {string.Join(", ", file.Columns)}");
        }
        var own = file.Columns.FirstOrDefault(c => string.Equals(c, canonical, StringComparison.OrdinalIgnoreCase));
        // JSON lines omit null keys, so a key unseen in the first lines may still come: look for it by its canonical name.
        return own ?? (file.Format == "jsonl" ? canonical : null);
    }

    /// <summary>Fails with an input error when a required canonical column has no source in some group.</summary>
    public static void Require(RawInput input, IEnumerable<string> required, string what)
    {
        foreach (var g in input.Groups)
        {
            foreach (var r in required)
            {
                if (g.Projection.First(p => p.Canonical == r).Source is null)
                {
                    throw PipelineException.Input(
                        $"{g.Files[0]}: required {what} column '{r}' not found (columns present: {string.Join(", ", g.HeaderColumns)}); " +
                        $"map it with {what}.columns.{r} in the config");
                }
            }
        }
    }

    /// <summary>True when every group has a source for the column.</summary>
    public static bool Has(RawInput input, string canonical) =>
        input.Groups.All(g => g.Projection.First(p => p.Canonical == canonical).Source is not null);
}
