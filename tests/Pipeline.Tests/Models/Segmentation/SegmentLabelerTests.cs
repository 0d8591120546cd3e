using NUnit.Framework;
using Pipeline.Models.Segmentation;

namespace Pipeline.Tests.Models.Segmentation;

[TestFixture]
public sealed class SegmentLabelerTests
{
    private static readonly string[] ExpectedLabels =
    [
        "high value, frequent buyers",
        "new, visits often",
        "lapsed",
        "low value, one-time buyers",
        "more widgets",
        "average",
        "high value, frequent buyers (2)",
        "empty",
        "infrequent buyers, lapsed",
    ];

    private static readonly string[] ExpectedUnique = ["x", "x (2)", "x (2) (2)", "y"];

    private static readonly string[] Names = ["net_revenue", "orders", "recency_days", "tenure_days", "sessions", "widgets"];

    [Test]
    public void Rules_on_z_scores_give_the_documented_labels()
    {
        double[][] z =
        [
            [1.5, 1.0, -0.2, 0, 0.1, 0],   // value and frequency strongest (recency −0.2 below threshold)
            [0, 0, 0, -1.2, 0.9, 0],       // short tenure, many sessions
            [-0.3, -0.2, 1.4, 0, 0, 0],    // long since the last purchase
            [-0.7, -0.9, 0.2, 0, 0, 0],    // low revenue, few orders with a median of 1
            [0, 0, 0, 0, 0, 2.0],          // unknown feature: its name in words
            [0.1, -0.1, 0.2, 0, 0, 0.4],   // nothing beyond ±0.5
            [1.6, 1.1, 0, 0, 0, 0],        // same wording as the first: gets a suffix
            [double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN], // empty
            [0.6, -0.8, 0.7, 0, 0, 0],     // low orders but median 3: infrequent, not one-time; top 2 by |z|
        ];
        var medians = z.Select(_ => new[] { 100.0, 3, 30, 100, 5, 1 }).ToArray();
        medians[3][1] = 1;
        int[] sizes = [10, 10, 10, 10, 10, 10, 10, 0, 10];

        var labels = SegmentLabeler.Label(Names, z, medians, sizes, threshold: 0.5, maxDescriptors: 2);

        Assert.That(labels, Is.EqualTo(ExpectedLabels));
    }

    [TestCase("net_revenue", 0)]
    [TestCase("Net-Revenue", 0)]
    [TestCase("orders", 1)]
    [TestCase("frequency", 1)]
    [TestCase("recency_days", 2)]
    [TestCase("tenure_days", 3)]
    [TestCase("T", 3)]
    [TestCase("recency", 4)]
    [TestCase("sessions", 6)]
    [TestCase("engaged_seconds_avg", 7)]
    [TestCase("widgets", -1)]
    public void Well_known_names_map_to_roles(string name, int role)
    {
        Assert.That(SegmentLabeler.RoleOf(name), Is.EqualTo(role));
    }

    [Test]
    public void Few_short_visits_read_as_words_not_as_column_names()
    {
        // The label of issue #16: a cluster with few sessions (z −1.1) and short engaged time (z −0.9) was
        // "rarely visiting, low engaged_seconds_avg" (engaged_seconds_avg had no role, so its column name showed).
        string[] names = ["recency_days", "orders", "net_revenue", "sessions", "engaged_seconds_avg", "natural_traffic_share"];
        double[][] z = [[0.2, 0.1, -0.3, -1.1, -0.9, 0.1], [-0.2, -0.1, 0.3, 1.1, 0.9, -0.1]];
        double[][] medians = [[30, 2, 80, 1, 20, 0.5], [10, 3, 120, 9, 200, 0.5]];

        var labels = SegmentLabeler.Label(names, z, medians, [10, 10], threshold: 0.5, maxDescriptors: 2);

        Assert.That(labels, Is.EqualTo(new[] { "rarely visits, short visits", "visits often, long visits" }));
    }

    [Test]
    public void Frequency_counts_repeat_days_so_a_median_of_zero_is_one_time_buyers()
    {
        // frequency (lifetimes) = purchase days − 1: a median of 0 is one purchase; orders count purchases: ≤ 1.
        string[] names = ["frequency"];
        double[][] z = [[-0.9], [-0.9]];
        double[][] medians = [[0], [1]];

        var labels = SegmentLabeler.Label(names, z, medians, [10, 10], threshold: 0.5, maxDescriptors: 2);

        Assert.That(labels, Is.EqualTo(new[] { "one-time buyers", "infrequent buyers" }));
    }

    [Test]
    public void Every_numeric_column_of_customers_features_has_descriptors_in_words()
    {
        // The pipeline lets a configuration cluster on any of these (ConfigLoader checks the list): each must read as
        // words in a label, never as its column name.
        Assert.Multiple(() =>
        {
            foreach (var column in Pipeline.Config.FeatureColumns.Numeric)
            {
                Assert.That(SegmentLabeler.RoleOf(column), Is.GreaterThanOrEqualTo(0), $"{column} has no role");
                var (high, low) = SegmentLabeler.Descriptors(column);
                foreach (var text in new[] { high, low })
                {
                    Assert.That(text, Does.Not.Contain("_").And.Not.Contain(column), $"{column}: '{text}'");
                    Assert.That(text, Does.Match("^[a-z][a-z -]+$"), $"{column}: '{text}'");
                }
                Assert.That(high, Is.Not.EqualTo(low), column);
            }
        });
    }

    [Test]
    public void Clashing_labels_get_suffixes_that_are_themselves_unique()
    {
        Assert.That(SegmentLabeler.MakeUnique(["x", "x", "x (2)", "y"]), Is.EqualTo(ExpectedUnique));
    }
}
