using NUnit.Framework;
using Pipeline.Models.Segmentation;

namespace Pipeline.Tests.Models.Segmentation;

[TestFixture]
public sealed class ClusterQualityTests
{
    // Four points on a line, d = 1: {0, 1} in cluster 0 and {10, 11} in cluster 1.
    private static readonly double[] Points = [0, 1, 10, 11];
    private static readonly int[] Rows = [0, 1, 2, 3];
    private static readonly int[] Labels = [0, 0, 1, 1];

    [Test]
    public void Silhouette_matches_a_hand_computation()
    {
        // s(0) = (mean(10, 11) − 1) / 10.5 = 9.5/10.5; s(1) = (mean(9, 10) − 1) / 9.5 = 8.5/9.5; 10 and 11 mirror them.
        var expected = ((9.5 / 10.5) + (8.5 / 9.5)) / 2;

        Assert.That(ClusterQuality.Silhouette(Points, 1, Rows, Labels, 2), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void Davies_Bouldin_matches_a_hand_computation()
    {
        // Centroids 0.5 and 10.5, mean distances to them 0.5 and 0.5, separation 10: (0.5 + 0.5) / 10 = 0.1.
        Assert.That(ClusterQuality.DaviesBouldin(Points, 1, Rows, Labels, 2), Is.EqualTo(0.1).Within(1e-12));
    }

    [Test]
    public void Criteria_are_NaN_with_a_single_cluster_and_singletons_score_zero()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ClusterQuality.Silhouette(Points, 1, Rows, [0, 0, 0, 0], 2), Is.NaN);
            Assert.That(ClusterQuality.DaviesBouldin(Points, 1, Rows, [1, 1, 1, 1], 2), Is.NaN);
            // Clusters {0} and {1, 10, 11}. Point 0 is alone: 0. Point 1: a = mean(9, 10) = 9.5, b = 1 → (1 − 9.5)/9.5.
            // Point 10: a = mean(9, 1) = 5, b = 10 → 0.5. Point 11: a = mean(10, 1) = 5.5, b = 11 → 0.5.
            var expected = (0 + ((1 - 9.5) / 9.5) + 0.5 + 0.5) / 4;
            Assert.That(ClusterQuality.Silhouette(Points, 1, Rows, [0, 1, 1, 1], 2), Is.EqualTo(expected).Within(1e-12));
        }
    }

    [Test]
    public void Sample_is_seeded_sorted_distinct_and_bounded()
    {
        var first = ClusterQuality.Sample(1000, 50, seed: 5);
        var again = ClusterQuality.Sample(1000, 50, seed: 5);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(again, Is.EqualTo(first));
            Assert.That(first, Has.Length.EqualTo(50));
            Assert.That(first, Is.Ordered.Ascending);
            Assert.That(first, Is.Unique);
            Assert.That(first, Has.All.InRange(0, 999));
            Assert.That(ClusterQuality.Sample(5, 50, seed: 1), Is.EqualTo(Rows.Append(4)));
        }
    }
}
