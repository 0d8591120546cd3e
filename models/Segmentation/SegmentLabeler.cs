namespace Pipeline.Models.Segmentation;

/// <summary>
/// Turns a cluster's profile into a short label a marketer reads ("high value, frequent buyers", "rarely visits, short
/// visits"), by fixed rules on the z-scores of the cluster means (standardized, i.e. log-transformed where configured,
/// relative to the training population). A label is made of words, never of column names: every numeric column of
/// customers/features has its own phrases (docs/models.md, "Segment labels", has the same table).
/// </summary>
/// <remarks>
/// <para>Rules, applied to every feature whose |z| ≥ the threshold (<see cref="SegmentationOptions.LabelThreshold"/>):</para>
/// <list type="table">
/// <listheader><term>role (feature names, case-insensitive, '-' or ' ' read as '_')</term><description>z ≥ +t / z ≤ −t</description></listheader>
/// <item><term>value: net_revenue, revenue, total_revenue, monetary, spend, ltv, clv</term><description>"high value" / "low value"</description></item>
/// <item><term>purchases: orders, frequency, order_count, orders_count, n_orders, num_orders, purchases</term><description>"frequent buyers" / "infrequent buyers", or "one-time buyers" when the cluster's median in original units is at most one purchase (orders ≤ 1; frequency, which counts repeat days, ≤ 0)</description></item>
/// <item><term>last purchase: recency_days, days_since_last_order, days_since_last_purchase</term><description>"lapsed" / "recently active"</description></item>
/// <item><term>customer age: tenure_days, tenure, t, days_since_first_order, customer_age_days</term><description>"long-standing" / "new"</description></item>
/// <item><term>buying span: recency (the lifetimes recency: first → last purchase)</term><description>"long buying history" / "short buying history"</description></item>
/// <item><term>basket: aov, avg_order_value, average_order_value, monetary_value</term><description>"big baskets" / "small baskets"</description></item>
/// <item><term>visits: sessions, session_count, n_sessions, visits</term><description>"visits often" / "rarely visits"</description></item>
/// <item><term>visit length: engaged_seconds_avg, avg_engaged_seconds, engaged_seconds, engaged_time, engaged_time_sec, dwell_time</term><description>"long visits" / "short visits"</description></item>
/// <item><term>last visit: days_since_last_session, days_since_last_visit</term><description>"not seen lately" / "visited recently"</description></item>
/// <item><term>browsing: product_views</term><description>"views many products" / "views few products"</description></item>
/// <item><term>cart adds: cart_add_rate, add_to_cart_rate, add_to_carts</term><description>"often adds to cart" / "rarely adds to cart"</description></item>
/// <item><term>conversion: session_conversion_rate, conversion_rate</term><description>"visits often end in a purchase" / "visits rarely end in a purchase"</description></item>
/// <item><term>traffic: natural_traffic_share, natural_share, organic_share</term><description>"mostly organic traffic" / "mostly paid traffic"</description></item>
/// <item><term>device: mobile_share</term><description>"mostly on mobile" / "rarely on mobile"</description></item>
/// <item><term>discounts: discount_share, discount_rate</term><description>"discount-driven" / "rarely uses discounts"</description></item>
/// <item><term>refunds: refund_rate, return_rate</term><description>"many refunds" / "few refunds"</description></item>
/// <item><term>any other name (a model used outside the pipeline: its configuration only accepts the columns above)</term><description>"more NAME" / "less NAME", the name in words ('_' read as a space)</description></item>
/// </list>
/// <para>
/// The strongest descriptors (largest |z|, ties in role order) are kept, at most
/// <see cref="SegmentationOptions.MaxLabelDescriptors"/>, and written in the role order of the table (unknown
/// features last, in feature order) joined by ", " (e.g. "high value, frequent buyers"). Two features of one role
/// give one descriptor (the first in feature order). A cluster with no descriptor is "average"; an empty cluster is
/// "empty". Labels are made unique within a model in segment-id order: the first keeps the label, later clashes get
/// " (2)", " (3)", ….
/// </para>
/// </remarks>
internal static class SegmentLabeler
{
    /// <param name="Names">Normalized feature names of the role.</param>
    /// <param name="High">Descriptor for z ≥ +t.</param>
    /// <param name="Low">Descriptor for z ≤ −t.</param>
    /// <param name="OneTime">For the purchases role: feature → the median (original units) at or below which a low cluster is "one-time buyers".</param>
    private sealed record Role(string[] Names, string High, string Low, IReadOnlyDictionary<string, double>? OneTime = null);

    private static readonly Role[] Roles =
    [
        new(["net_revenue", "revenue", "total_revenue", "monetary", "spend", "ltv", "clv"], "high value", "low value"),
        new(["orders", "frequency", "order_count", "orders_count", "n_orders", "num_orders", "purchases"], "frequent buyers", "infrequent buyers",
            new Dictionary<string, double>(StringComparer.Ordinal) { ["frequency"] = 0.0 }),
        new(["recency_days", "days_since_last_order", "days_since_last_purchase"], "lapsed", "recently active"),
        new(["tenure_days", "tenure", "t", "days_since_first_order", "customer_age_days"], "long-standing", "new"),
        new(["recency"], "long buying history", "short buying history"),
        new(["aov", "avg_order_value", "average_order_value", "monetary_value"], "big baskets", "small baskets"),
        new(["sessions", "session_count", "n_sessions", "visits"], "visits often", "rarely visits"),
        new(["engaged_seconds_avg", "avg_engaged_seconds", "engaged_seconds", "engaged_time", "engaged_time_sec", "dwell_time"], "long visits", "short visits"),
        new(["days_since_last_session", "days_since_last_visit"], "not seen lately", "visited recently"),
        new(["product_views"], "views many products", "views few products"),
        new(["cart_add_rate", "add_to_cart_rate", "add_to_carts"], "often adds to cart", "rarely adds to cart"),
        new(["session_conversion_rate", "conversion_rate"], "visits often end in a purchase", "visits rarely end in a purchase"),
        new(["natural_traffic_share", "natural_share", "organic_share"], "mostly organic traffic", "mostly paid traffic"),
        new(["mobile_share"], "mostly on mobile", "rarely on mobile"),
        new(["discount_share", "discount_rate"], "discount-driven", "rarely uses discounts"),
        new(["refund_rate", "return_rate"], "many refunds", "few refunds"),
    ];

    /// <summary>Role index of a feature name, or −1 when unknown.</summary>
    internal static int RoleOf(string featureName)
    {
        var normalized = Normalize(featureName);
        for (var r = 0; r < Roles.Length; r++)
        {
            if (Roles[r].Names.Contains(normalized))
            {
                return r;
            }
        }
        return -1;
    }

    /// <summary>The two descriptors a feature can give (z ≥ +t, z ≤ −t), as a label shows them.</summary>
    internal static (string High, string Low) Descriptors(string featureName)
    {
        var role = RoleOf(featureName);
        if (role >= 0)
        {
            return (Roles[role].High, Roles[role].Low);
        }
        var words = string.Join(' ', Normalize(featureName).Split('_', StringSplitOptions.RemoveEmptyEntries));
        return ("more " + words, "less " + words);
    }

    private static string Normalize(string featureName) => featureName.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');

    /// <summary>
    /// Labels for clusters given in segment-id order: <paramref name="zMeans"/>[c][j] is the standardized mean
    /// of feature j, <paramref name="medians"/>[c][j] its median in original units, <paramref name="sizes"/>[c] the size.
    /// </summary>
    public static string[] Label(
        IReadOnlyList<string> featureNames, double[][] zMeans, double[][] medians, int[] sizes, double threshold, int maxDescriptors)
    {
        var roles = featureNames.Select(RoleOf).ToArray();
        var labels = new string[zMeans.Length];
        for (var c = 0; c < zMeans.Length; c++)
        {
            labels[c] = sizes[c] == 0 ? "empty" : LabelOne(featureNames, roles, zMeans[c], medians[c], threshold, maxDescriptors);
        }
        return MakeUnique(labels);
    }

    private static string LabelOne(
        IReadOnlyList<string> names, int[] roles, double[] z, double[] median, double threshold, int maxDescriptors)
    {
        var candidates = new List<(double Strength, int Order, string Text)>();
        var usedRoles = new HashSet<int>();
        for (var j = 0; j < names.Count; j++)
        {
            if (Math.Abs(z[j]) < threshold)
            {
                continue;
            }
            var high = z[j] > 0;
            var role = roles[j];
            string text;
            int order;
            if (role >= 0)
            {
                if (!usedRoles.Add(role))
                {
                    continue; // two features of one role: the first (in feature order) speaks for it
                }
                text = high ? Roles[role].High : Roles[role].Low;
                if (!high && Roles[role].OneTime is { } oneTime
                    && median[j] <= oneTime.GetValueOrDefault(Normalize(names[j]), 1.0))
                {
                    text = "one-time buyers";
                }
                order = role;
            }
            else
            {
                var (moreText, lessText) = Descriptors(names[j]);
                text = high ? moreText : lessText;
                order = Roles.Length + j;
            }
            candidates.Add((Math.Abs(z[j]), order, text));
        }
        if (candidates.Count == 0)
        {
            return "average";
        }
        var kept = candidates
            .OrderByDescending(x => x.Strength)
            .ThenBy(x => x.Order)
            .Take(Math.Max(1, maxDescriptors))
            .OrderBy(x => x.Order)
            .Select(x => x.Text);
        return string.Join(", ", kept);
    }

    internal static string[] MakeUnique(string[] labels)
    {
        var result = new string[labels.Length];
        var used = new HashSet<string>(StringComparer.Ordinal);
        for (var c = 0; c < labels.Length; c++)
        {
            var label = labels[c];
            for (var suffix = 2; !used.Add(label); suffix++)
            {
                label = $"{labels[c]} ({suffix})";
            }
            result[c] = label;
        }
        return result;
    }
}
