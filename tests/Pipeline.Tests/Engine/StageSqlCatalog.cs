using System.Reflection;
using Pipeline.Engine;
using Pipeline.Stages.Customers;
using Pipeline.Stages.Events;
using Pipeline.Stages.Orders;

namespace Pipeline.Tests.Engine;

/// <summary>One rendered statement: which builder, which option variant, the SQL.</summary>
public sealed record RenderedSql(string Builder, string Variant, string Sql)
{
    public override string ToString() => $"{Builder} [{Variant}]";
}

/// <summary>
/// Every stage's SQL, rendered for a dialect by calling the SQL builders directly. The builders are found by
/// reflection — every public static method returning string on a <c>*Sql</c> class of <c>Pipeline.Stages</c>,
/// <c>Pipeline.Exports</c> or <c>Pipeline.Tools</c> (the engines' own SQL in <c>Pipeline.Engine</c> is not a stage's) — so a
/// builder added or rewritten later is covered without touching this file; each is called once per option variant.
/// A builder with a parameter type this catalog does not know fails the tests (add a variant below).
/// </summary>
public static class StageSqlCatalog
{
    /// <summary>The namespaces whose <c>*Sql</c> classes are rendered (a namespace and the ones below it).</summary>
    public static readonly IReadOnlyList<string> Namespaces = ["Pipeline.Stages", "Pipeline.Exports", "Pipeline.Tools"];

    public static IEnumerable<Type> SqlClasses() =>
        typeof(OrdersSql).Assembly.GetTypes()
            .Where(t => t.IsClass && t.IsAbstract && t.IsSealed && t.IsPublic // static classes
                        && Namespaces.Any(n => t.Namespace == n || t.Namespace?.StartsWith(n + ".", StringComparison.Ordinal) == true)
                        && t.Name.EndsWith("Sql", StringComparison.Ordinal))
            .OrderBy(t => t.FullName, StringComparer.Ordinal);

    public static IEnumerable<MethodInfo> Builders() =>
        SqlClasses().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.ReturnType == typeof(string) && !m.IsSpecialName)
            .OrderBy(m => m.Name, StringComparer.Ordinal));

    /// <summary>Every builder × every variant of its option parameters, rendered with <paramref name="dialect"/>.</summary>
    public static IReadOnlyList<RenderedSql> Render(ISqlDialect dialect)
    {
        var rendered = new List<RenderedSql>();
        foreach (var method in Builders())
        {
            var parameters = method.GetParameters();
            // The variants of the method's one options parameter (or a single empty variant).
            var optionParameter = parameters.FirstOrDefault(p => Variants(p.ParameterType, dialect) is not null);
            var variants = optionParameter is null
                ? [("default", (object?)null)]
                : Variants(optionParameter.ParameterType, dialect)!;
            foreach (var (variant, value) in variants)
            {
                var args = parameters.Select(p => p == optionParameter ? value : Argument(p, dialect, method)).ToArray();
                var sql = (string)method.Invoke(null, args)!;
                rendered.Add(new RenderedSql($"{method.DeclaringType!.Name}.{method.Name}", variant, sql));
            }
        }
        return rendered;
    }

    private static object Argument(ParameterInfo p, ISqlDialect dialect, MethodInfo method)
    {
        if (p.ParameterType == typeof(ISqlDialect))
        {
            return dialect;
        }
        if (p.ParameterType == typeof(string))
        {
            return p.Name switch
            {
                var n when n!.Contains("relation", StringComparison.OrdinalIgnoreCase) => "clean_orders_table",
                _ => "some_table",
            };
        }
        if (p.ParameterType == typeof(IReadOnlyList<string>))
        {
            return new List<string> { "/landing/events-2024-06-01.jsonl", "/landing/o'brien.jsonl" };
        }
        if (p.ParameterType == typeof(IReadOnlyList<DateOnly>))
        {
            return new List<DateOnly> { new(2024, 5, 1), new(2024, 6, 1) };
        }
        if (p.ParameterType == typeof(DateOnly) || p.ParameterType == typeof(DateOnly?))
        {
            return new DateOnly(2024, 6, 1);
        }
        if (p.ParameterType == typeof(IReadOnlyList<int>))
        {
            return new List<int> { 90, 365 };
        }
        if (p.ParameterType == typeof(int))
        {
            return p.Name switch
            {
                "bins" => 20,
                _ => 90,
            };
        }
        if (p.ParameterType == typeof(bool))
        {
            // A switch of one builder (EventsSliceSql.SliceTyped's withCarry): the branch with more SQL.
            return true;
        }
        if (p.ParameterType == typeof(double))
        {
            // Negative and with an exponent in round-trip form ("-1.5E-07"): the literal must still read as one number.
            return -1.5e-7;
        }
        throw new InvalidOperationException(
            $"{method.DeclaringType!.Name}.{method.Name}: StageSqlCatalog does not know how to build a {p.ParameterType.Name} ({p.Name}); add variants for it");
    }

    private static IReadOnlyList<(string, object?)>? Variants(Type type, ISqlDialect dialect)
    {
        if (type == typeof(OrdersSqlOptions))
        {
            return OrdersVariants().Select(v => (v.Name, (object?)v.Options)).ToList();
        }
        if (type == typeof(EventsSqlOptions))
        {
            return EventsVariants().Select(v => (v.Name, (object?)v.Options)).ToList();
        }
        if (type == typeof(Pipeline.Stages.Experiments.ExperimentsSqlOptions))
        {
            var windows = new List<Pipeline.Stages.Experiments.ExperimentWindow>
            {
                new("exp'1", 1_709_251_200_000_000L, 1_709_424_000_000_000L, 1_710_028_800_000_000L),
                new("exp2", 1_709_251_200_000_000L, 1_709_337_600_000_000L, 1_709_942_400_000_000L),
            };
            return
            [
                ("events only", new Pipeline.Stages.Experiments.ExperimentsSqlOptions("events_table", "clean_orders_table", "sessions_table", null, windows, 7_776_000_000_000L)),
                ("with assignments", new Pipeline.Stages.Experiments.ExperimentsSqlOptions("events_table", "clean_orders_table", "sessions_table", "assignments_table", windows, 7_776_000_000_000L)),
                ("no experiments", new Pipeline.Stages.Experiments.ExperimentsSqlOptions("events_table", "clean_orders_table", "sessions_table", null, [], 7_776_000_000_000L)),
            ];
        }
        if (type == typeof(Pipeline.Stages.Experiments.AssignmentsSqlOptions))
        {
            var now = new DateTimeOffset(2024, 7, 1, 0, 0, 0, TimeSpan.Zero);
            return
            [
                ("no definitions", new Pipeline.Stages.Experiments.AssignmentsSqlOptions("UTC", now, TimeSpan.FromMinutes(60), new DateOnly(2000, 1, 1),
                    new Dictionary<string, IReadOnlyList<string>>(), [], "run-1")),
                ("declared variants, mapped anonymous id, Europe/Paris", new Pipeline.Stages.Experiments.AssignmentsSqlOptions("Europe/Paris", now, TimeSpan.Zero,
                    new DateOnly(2010, 1, 1), new Dictionary<string, IReadOnlyList<string>> { ["exp'1"] = ["control", "B"], ["exp2"] = ["a", "b's", "c"] },
                    ["anonymous_id", "anon.id"], "run-2")),
            ];
        }
        if (type == typeof(FeaturesSqlOptions))
        {
            return
            [
                ("with sessions", new FeaturesSqlOptions("clean_orders_table", "sessions_table", new DateOnly(2024, 6, 30), 1.0, 90)),
                ("no sessions, weeks", new FeaturesSqlOptions("clean_orders_table", null, new DateOnly(2024, 6, 30), 7.0, 30)),
            ];
        }
        if (type == typeof(Pipeline.Stages.Kpis.KpiSqlOptions))
        {
            return
            [
                ("orders, sessions, links, spend", new Pipeline.Stages.Kpis.KpiSqlOptions("clean_orders_table", "sessions_table", "links_table", "ad_spend_table", 90, 30, 30)),
                ("the rows from a day", new Pipeline.Stages.Kpis.KpiSqlOptions("clean_orders_table", "sessions_table", "links_table", "ad_spend_table", 90, 30, 30, new DateOnly(2024, 6, 1), "first_purchases_table")),
                ("orders only", new Pipeline.Stages.Kpis.KpiSqlOptions("clean_orders_table", null, null, null, 60, 7, 14)),
            ];
        }
        if (type == typeof(Pipeline.Stages.Kpis.AdSpendSqlOptions))
        {
            return
            [
                ("base currency only", new Pipeline.Stages.Kpis.AdSpendSqlOptions(new DateOnly(2000, 1, 1), "USD", false)),
                ("FX", new Pipeline.Stages.Kpis.AdSpendSqlOptions(new DateOnly(2010, 1, 1), "EUR", true)),
            ];
        }
        _ = dialect;
        return null;
    }

    private static readonly Dictionary<string, string> StatusMap = new()
    {
        ["completed"] = "completed", ["paid"] = "completed", ["cancelled"] = "cancelled", ["refunded"] = "refunded",
    };

    public static IEnumerable<(string Name, OrdersSqlOptions Options)> OrdersVariants()
    {
        var now = new DateTimeOffset(2024, 7, 1, 0, 0, 0, TimeSpan.Zero);
        yield return ("order-level, UTC", new OrdersSqlOptions(false, "USD", "UTC", null, now, TimeSpan.FromMinutes(60), new DateOnly(2000, 1, 1), StatusMap, false, "run-1"));
        yield return ("line-level, FX, Europe/Paris, custom format", new OrdersSqlOptions(true, "EUR", "Europe/Paris", "%d/%m/%Y %H:%M", now, TimeSpan.Zero,
            new DateOnly(2010, 1, 1), StatusMap, true, "run-2"));
        yield return ("order-level, FX, Asia/Shanghai", new OrdersSqlOptions(false, "USD", "Asia/Shanghai", null, now, TimeSpan.FromMinutes(5), new DateOnly(2000, 1, 1), StatusMap, true, "run-3"));
    }

    public static IEnumerable<(string Name, EventsSqlOptions Options)> EventsVariants()
    {
        var now = new DateTimeOffset(2024, 7, 1, 0, 0, 0, TimeSpan.Zero);
        EventsSqlOptions Make(string zone, string? format, IReadOnlyList<string> siteHosts, IReadOnlyList<string> keep, bool ip) => new(
            zone, format, now, TimeSpan.FromMinutes(60), new DateOnly(2000, 1, 1), EventsSql.Synonyms,
            TimeSpan.FromMinutes(30), TimeSpan.FromHours(72), 10, 5, TimeSpan.FromMinutes(30), 60,
            ["bot", "crawl", "spider", "head.less"], ["google.*", "bing.com", "duckduckgo.com"], ["facebook.com", "t.co", "x.com"],
            siteHosts, keep, ip, "run-1");
        yield return ("defaults", Make("UTC", null, [], [], false));
        yield return ("site hosts, kept params, network key, America/New_York, custom format",
            Make("America/New_York", "%Y%m%d%H%M%S", ["shop.example", "www.shop.example"], ["q", "page"], true));
        yield return ("incremental window", Make("UTC", null, [], [], false) with
        {
            Window = new EventsWindow(new DateOnly(2024, 6, 1), ["/landing/events-2024-06-02.jsonl", "/landing/o'brien.jsonl"]),
        });
    }
}
