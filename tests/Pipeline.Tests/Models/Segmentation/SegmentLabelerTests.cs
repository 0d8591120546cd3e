using NUnit.Framework;
using Pipeline.Models.Segmentation;

namespace Pipeline.Tests.Models.Segmentation;

[TestFixture]
public sealed class SegmentLabelerTests
{
    private static readonly string[] ExpectedLabels =
    [
        "high value, frequent",
        "new, browsing",
        "lapsed",
        "low value, one-time buyers",
        "high widgets",
        "average",
        "high value, frequent (2)",
        "empty",
        "infrequent, lapsed",
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
            [0, 0, 0, 0, 0, 2.0],          // unknown feature: fallback wording
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
    [TestCase("sessions", 4)]
    [TestCase("widgets", -1)]
    public void Well_known_names_map_to_roles(string name, int role)
    {
        Assert.That(SegmentLabeler.RoleOf(name), Is.EqualTo(role));
    }

    [Test]
    public void Clashing_labels_get_suffixes_that_are_themselves_unique()
    {
        Assert.That(SegmentLabeler.MakeUnique(["x", "x", "x (2)", "y"]), Is.EqualTo(ExpectedUnique));
    }
}
