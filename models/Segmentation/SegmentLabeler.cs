namespace Pipeline.Models.Segmentation;

/// <summary>
/// Turns a cluster's profile into a short readable label, by fixed rules on the z-scores of the cluster means
/// (standardized, i.e. log-transformed where configured, relative to the training population).
/// </summary>
/// <remarks>
/// <para>Rules, applied to every feature whose |z| ≥ the threshold (<see cref="SegmentationOptions.LabelThreshold"/>):</para>
/// <list type="table">
/// <listheader><term>role (feature names, case-insensitive, '-' or ' ' read as '_')</term><description>z ≥ +t / z ≤ −t</description></listheader>
/// <item><term>value: net_revenue, revenue, total_revenue, monetary, spend, ltv</term><description>"high value" / "low value"</description></item>
/// <item><term>frequency: orders, frequency, order_count, orders_count, n_orders, num_orders, purchases</term><description>"frequent" / "infrequent", or "one-time buyers" when the cluster's median of that feature in original units is ≤ 1</description></item>
/// <item><term>recency: recency_days, recency, days_since_last_order, days_since_last_purchase</term><description>"lapsed" / "recently active"</description></item>
/// <item><term>tenure: tenure_days, tenure, days_since_first_order, customer_age_days</term><description>"long-standing" / "new"</description></item>
/// <item><term>sessions: sessions, session_count, n_sessions, visits</term><description>"browsing" / "rarely visiting"</description></item>
/// <item><term>aov: aov, avg_order_value, average_order_value</term><description>"big baskets" / "small baskets"</description></item>
/// <item><term>engagement: engaged_time, engaged_seconds, engaged_time_sec, dwell_time</term><description>"engaged" / "low engagement"</description></item>
/// <item><term>cart adds: cart_add_rate, add_to_cart_rate</term><description>"cart-adding" / "few cart adds"</description></item>
/// <item><term>conversion: session_conversion_rate, conversion_rate</term><description>"converting" / "low conversion"</description></item>
/// <item><term>natural traffic: natural_traffic_share, natural_share, organic_share</term><description>"organic traffic" / "paid traffic"</description></item>
/// <item><term>refunds: refund_rate, return_rate</term><description>"high refunds" / "low refunds"</description></item>
/// <item><term>any other name (fallback)</term><description>"high NAME" / "low NAME"</description></item>
/// </list>
/// <para>
/// The strongest descriptors (largest |z|, ties in role order) are kept, at most
/// <see cref="SegmentationOptions.MaxLabelDescriptors"/>, and written in the role order of the table (unknown
/// features last, in feature order) joined by ", " (e.g. "high value, frequent"). A cluster with no descriptor
/// is "average"; an empty cluster is "empty". Labels are made unique within a model in segment-id order: the
/// first keeps the label, later clashes get " (2)", " (3)", ….
/// </para>
/// </remarks>
internal static class SegmentLabeler
{
    private sealed record Role(string[] Names, string High, string Low);

    private static readonly Role[] Roles =
    [
        new(["net_revenue", "revenue", "total_revenue", "monetary", "spend", "ltv"], "high value", "low value"),
        new(["orders", "frequency", "order_count", "orders_count", "n_orders", "num_orders", "purchases"], "frequent", "infrequent"),
        new(["recency_days", "recency", "days_since_last_order", "days_since_last_purchase"], "lapsed", "recently active"),
        new(["tenure_days", "tenure", "days_since_first_order", "customer_age_days"], "long-standing", "new"),
        new(["sessions", "session_count", "n_sessions", "visits"], "browsing", "rarely visiting"),
        new(["aov", "avg_order_value", "average_order_value"], "big baskets", "small baskets"),
        new(["engaged_time", "engaged_seconds", "engaged_time_sec", "dwell_time"], "engaged", "low engagement"),
        new(["cart_add_rate", "add_to_cart_rate"], "cart-adding", "few cart adds"),
        new(["session_conversion_rate", "conversion_rate"], "converting", "low conversion"),
        new(["natural_traffic_share", "natural_share", "organic_share"], "organic traffic", "paid traffic"),
        new(["refund_rate", "return_rate"], "high refunds", "low refunds"),
    ];

    private const int FrequencyRole = 1;

    /// <summary>Role index of a feature name, or −1 when unknown.</summary>
    internal static int RoleOf(string featureName)
    {
        var normalized = featureName.Trim().ToLowerInvariant().Replace('-', '_').Replace(' ', '_');
        for (var r = 0; r < Roles.Length; r++)
        {
            if (Roles[r].Names.Contains(normalized))
            {
                return r;
            }
        }
        return -1;
    }

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
                if (role == FrequencyRole && !high && median[j] <= 1.0)
                {
                    text = "one-time buyers";
                }
                order = role;
            }
            else
            {
                text = (high ? "high " : "low ") + names[j];
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
