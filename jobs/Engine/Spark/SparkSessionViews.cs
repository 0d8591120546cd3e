using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.Engine.Spark;

/// <summary>
/// The temp views (raw file reads, raw unions, uploaded data) and cached tables one <see cref="SparkEngine"/> created in
/// its Spark session, which names each reads, and which the stage has dropped. The engine asks it which drops it may
/// send now; see <see cref="SparkEngine"/>'s "temp view lifetime" section for why drops are deferred.
/// </summary>
/// <remarks>
/// Dependencies are found by a word-boundary match of the known names in a view's SQL text (single-quoted and
/// double-quoted literals and comments removed first; backticked names count). That is enough here because the engine
/// only looks for names it created itself — generated names (<c>_raw_read_12</c>) or the stages' table names
/// (<c>orders_typed</c>), which are not also column names — and every error is on the safe side: a spurious match
/// only keeps a view defined a little longer (until the engine is disposed), it never drops one still read. A real
/// SQL parser would be needed only to tell a column that happens to share a view's name from the view.
/// </remarks>
internal sealed class SparkSessionViews
{
    private readonly List<SessionView> _views = [];
    private readonly HashSet<string> _dropped = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, Regex> _patterns = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>One view or cached table in the session.</summary>
    internal sealed class SessionView(string name, string sqlId, bool cached, IReadOnlySet<string> reads)
    {
        public string Name { get; } = name;

        /// <summary>The name as written in DROP VIEW / UNCACHE TABLE.</summary>
        public string SqlId { get; } = sqlId;

        /// <summary>Whether Spark holds cached blocks for it (CACHE TABLE, not yet uncached).</summary>
        public bool Cached { get; set; } = cached;

        /// <summary>Known names its SQL text reads (re-analysed by Spark on every use).</summary>
        public IReadOnlySet<string> Reads { get; } = reads;

        /// <summary>Dropped by the stage; still defined in Spark because something defined reads it.</summary>
        public bool Dropped { get; set; }
    }

    /// <summary>Whether the name is (or was, before the stage dropped it) one of this engine's views.</summary>
    public bool Knows(string name) => Find(name) is not null || _dropped.Contains(name);

    /// <summary>Every view still defined in Spark, oldest first.</summary>
    public IReadOnlyList<string> Names() => [.. _views.Select(v => v.Name)];

    public SessionView? Find(string name) => _views.Find(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Records a view the engine just created (or replaced) from <paramref name="sql"/> (null: reads no view).</summary>
    public SessionView Created(string name, string sqlId, bool cached, string? sql)
    {
        var reads = sql is null
            ? new HashSet<string>(StringComparer.OrdinalIgnoreCase)
            : Mentioned(sql, _views.Where(v => !string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase)).Select(v => v.Name)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        _views.RemoveAll(v => string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase));
        _dropped.Remove(name);
        var view = new SessionView(name, sqlId, cached, reads);
        _views.Add(view);
        return view;
    }

    /// <summary>Throws unless <paramref name="name"/> can be created or replaced without changing what another defined view reads.</summary>
    public void RequireReplaceable(string name)
    {
        var existing = Find(name);
        if (existing is null)
        {
            return;
        }
        var readers = Readers(name).ToList();
        if (readers.Count > 0)
        {
            throw new InvalidOperationException(
                $"Spark engine: cannot replace `{name}`: {string.Join(", ", readers.Select(r => $"`{r}`"))} still read(s) it by name and Spark would re-analyse them against the new definition");
        }
    }

    /// <summary>The views still defined whose SQL reads <paramref name="name"/>.</summary>
    public IEnumerable<string> Readers(string name) =>
        _views.Where(v => v.Reads.Contains(name) && !string.Equals(v.Name, name, StringComparison.OrdinalIgnoreCase)).Select(v => v.Name);

    /// <summary>Marks a view dropped by the stage (no-op for a name already dropped or unknown); returns it if still defined.</summary>
    public SessionView? MarkDropped(string name)
    {
        var view = Find(name);
        if (view is null)
        {
            return null;
        }
        view.Dropped = true;
        _dropped.Add(name);
        return view;
    }

    /// <summary>The next dropped view nothing defined reads any more (dependents come before their sources), or null.</summary>
    public SessionView? NextDroppable() => _views.Find(v => v.Dropped && !Readers(v.Name).Any());

    /// <summary>Forgets a view once its DROP VIEW was sent.</summary>
    public void Removed(SessionView view) => _views.Remove(view);

    /// <summary>The first name the stage dropped that <paramref name="sql"/> still mentions, or null.</summary>
    public string? DroppedMentioned(string sql) => _dropped.Count == 0 ? null : Mentioned(sql, _dropped).FirstOrDefault();

    private IEnumerable<string> Mentioned(string sql, IEnumerable<string> names)
    {
        var code = Code(sql);
        foreach (var name in names)
        {
            if (!_patterns.TryGetValue(name, out var pattern))
            {
                pattern = new Regex(@"(?<![A-Za-z0-9_$])" + Regex.Escape(name) + @"(?![A-Za-z0-9_$])",
                    RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
                _patterns[name] = pattern;
            }
            if (pattern.IsMatch(code))
            {
                yield return name;
            }
        }
    }

    /// <summary>The SQL without comments and string literals (Spark's rules: '…' and "…" with backslash escapes); backticked names stay.</summary>
    internal static string Code(string sql)
    {
        var sb = new StringBuilder(sql.Length);
        for (var i = 0; i < sql.Length; i++)
        {
            var c = sql[i];
            if (c is '\'' or '"')
            {
                i++;
                while (i < sql.Length && sql[i] != c)
                {
                    i += sql[i] == '\\' ? 2 : 1;
                }
                sb.Append(' ');
            }
            else if (c == '`')
            {
                var end = sql.IndexOf('`', i + 1);
                end = end < 0 ? sql.Length - 1 : end;
                sb.Append(sql, i, end - i + 1);
                i = end;
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end;
                sb.Append('\n');
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 1;
                sb.Append(' ');
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
