using NUnit.Framework;
using Pipeline.Models.Rfm;
using Pipeline.Models.Segmentation;

namespace Pipeline.Tests.Models.Segmentation;

[TestFixture]
public sealed class SegmentMigrationTests
{
    private static readonly string[] FromLabels = ["1", "2", "3", "new"];
    private static readonly string[] ToLabels = ["1", "2", "3", "gone"];
    private static readonly string[] NumericFrom = ["9", "10", "new"];
    private static readonly string[] RfmFrom = ["Champions", "Lost", "new"];

    [Test]
    public void Hand_built_migration_counts_moves_new_and_gone_customers()
    {
        var previous = new Dictionary<string, int> { ["a"] = 1, ["b"] = 1, ["c"] = 2, ["d"] = 2, ["e"] = 3, ["f"] = 1 };
        var current = new Dictionary<string, int> { ["a"] = 1, ["b"] = 2, ["c"] = 2, ["d"] = 3, ["g"] = 1, ["h"] = 3 };

        var matrix = SegmentMigration.Compute(previous, current);

        // By hand:      to 1  2  3  gone
        //   from 1:        a  b  -  f      → 1 1 0 1
        //   from 2:        -  c  d  -      → 0 1 1 0
        //   from 3:        -  -  -  e      → 0 0 0 1
        //   new:           g  -  h  -      → 1 0 1 0
        int[][] expected = [[1, 1, 0, 1], [0, 1, 1, 0], [0, 0, 0, 1], [1, 0, 1, 0]];
        var actual = Enumerable.Range(0, matrix.From.Count)
            .Select(r => Enumerable.Range(0, matrix.To.Count).Select(c => matrix.CountAt(r, c)).ToArray())
            .ToArray();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(matrix.From, Is.EqualTo(FromLabels));
            Assert.That(matrix.To, Is.EqualTo(ToLabels));
            Assert.That(actual, Is.EqualTo(expected));
            Assert.That(matrix["1", "gone"], Is.EqualTo(1));
            Assert.That(matrix["new", "3"], Is.EqualTo(1));
            Assert.That(matrix["new", "gone"], Is.Zero);
            Assert.That(matrix.Total, Is.EqualTo(8), "customers a..h");
        }
    }

    [Test]
    public void Segment_ids_sort_numerically_and_rfm_segments_work_too()
    {
        var ids = SegmentMigration.Compute(
            new Dictionary<string, int> { ["a"] = 10, ["b"] = 9 },
            new Dictionary<string, int> { ["a"] = 9, ["b"] = 2 });
        var rfm = SegmentMigration.Compute(
            new Dictionary<string, RfmSegment> { ["a"] = RfmSegment.Lost, ["b"] = RfmSegment.Champions },
            new Dictionary<string, RfmSegment> { ["a"] = RfmSegment.Champions });

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ids.From, Is.EqualTo(NumericFrom));
            Assert.That(ids["10", "9"], Is.EqualTo(1));
            Assert.That(rfm.From, Is.EqualTo(RfmFrom));
            Assert.That(rfm["Lost", "Champions"], Is.EqualTo(1));
            Assert.That(rfm["Champions", "gone"], Is.EqualTo(1));
            Assert.That(() => rfm["Nope", "gone"], Throws.InstanceOf<KeyNotFoundException>());
        }
    }

    [Test]
    public void Migration_between_two_model_runs_uses_the_assignment_dictionaries()
    {
        var first = Blobs.Make(perBlob: 50, seed: 20, out _);
        var model = SegmentationModel.Fit(first, new SegmentationOptions { K = 4 }).Model;
        var before = model.Assign(first).ToDictionary();

        var matrix = SegmentMigration.Compute(before, before);

        // Same assignments on both sides: everything on the diagonal, nothing new or gone.
        var diagonal = Enumerable.Range(0, 4).Sum(i => matrix.CountAt(i, i));
        Assert.That(diagonal, Is.EqualTo(first.RowCount));
    }
}
