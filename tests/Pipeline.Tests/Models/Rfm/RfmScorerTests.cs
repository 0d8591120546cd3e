using NUnit.Framework;
using Pipeline.Models.Rfm;

namespace Pipeline.Tests.Models.Rfm;

[TestFixture]
public sealed class RfmScorerTests
{
    // The hand-built table. n = 12, so pandas qcut of the ranks 1..12 cuts at 1 + j·11/5 = 1, 3.2, 5.4, 7.6, 9.8, 12:
    // ranks 1–3 → bin 1, 4–5 → bin 2, 6–7 → bin 3, 8–9 → bin 4, 10–12 → bin 5 (bin sizes 3, 2, 2, 2, 3).
    // Derived cut point cj = value at rank 1 + floor(j·11/5) = ranks 3, 5, 7, 9.
    //
    // Recency sorted (days, then id): 5 C01 r1, 5 C03 r2, 10 C10 r3 | 15 C06 r4, 40 C02 r5 | 40 C08 r6, 60 C11 r7 |
    //   90 C05 r8, 120 C09 r9 | 200 C04 r10, 300 C12 r11, 365 C07 r12. Bins 1..5 → R 5..1.
    //   The tie at 40 days straddles a boundary: C02 (r5) gets R4, C08 (r6) gets R3. Cuts [10, 40, 60, 120].
    // Frequency sorted: 1 C01 r1, 1 C02 r2, 1 C04 r3 | 1 C08 r4, 1 C12 r5 | 2 C06 r6, 2 C11 r7 | 3 C05 r8, 3 C10 r9 |
    //   4 C09 r10, 6 C03 r11, 8 C07 r12. Five customers with 1 purchase span F1 and F2. Cuts [1, 1, 2, 3].
    // Monetary (total) sorted: 10 C04, 15 C12, 30 C02 | 30 C08, 50 C01 | 60 C11, 80 C06 | 120 C10, 250 C09 |
    //   300 C05, 600 C03, 900 C07. The tie at 30 straddles: C02 M1, C08 M2. Cuts [30, 50, 80, 250].
    //
    // Scores and R×F segments:
    //   C01 512 New Customers      C02 411 Promising          C03 555 Champions
    //   C04 111 Lost               C05 245 At Risk            C06 433 Potential Loyalists
    //   C07 155 Can't Lose Them    C08 322 About to Sleep     C09 254 Can't Lose Them
    //   C10 544 Champions          C11 333 Need Attention     C12 121 Hibernating
    private static readonly RfmCustomer[] Table =
    [
        new("C07", 365, 8, 900),
        new("C01", 5, 1, 50),
        new("C02", 40, 1, 30),
        new("C03", 5, 6, 600),
        new("C04", 200, 1, 10),
        new("C05", 90, 3, 300),
        new("C06", 15, 2, 80),
        new("C08", 40, 1, 30),
        new("C09", 120, 4, 250),
        new("C10", 10, 3, 120),
        new("C11", 60, 2, 60),
        new("C12", 300, 1, 15),
    ];

    private static readonly string[] ThreeCells = ["511", "333", "155"];
    private static readonly int[] SpreadAscending = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5];
    private static readonly int[] SpreadDescending = [5, 5, 4, 4, 3, 3, 2, 2, 1, 1];

    private static readonly Dictionary<string, (string Cell, string Segment)> Expected = new()
    {
        ["C01"] = ("512", "New Customers"),
        ["C02"] = ("411", "Promising"),
        ["C03"] = ("555", "Champions"),
        ["C04"] = ("111", "Lost"),
        ["C05"] = ("245", "At Risk"),
        ["C06"] = ("433", "Potential Loyalists"),
        ["C07"] = ("155", "Can't Lose Them"),
        ["C08"] = ("322", "About to Sleep"),
        ["C09"] = ("254", "Can't Lose Them"),
        ["C10"] = ("544", "Champions"),
        ["C11"] = ("333", "Need Attention"),
        ["C12"] = ("121", "Hibernating"),
    };

    [Test]
    public void Hand_built_table_scores_cells_and_segments()
    {
        var result = RfmScorer.Score(Table);

        Assert.That(result.Scores.Select(s => s.CustomerId), Is.EqualTo(Table.Select(c => c.CustomerId)), "input order kept");
        using (Assert.EnterMultipleScope())
        {
            foreach (var score in result.Scores)
            {
                Assert.That((score.Cell, score.SegmentName), Is.EqualTo(Expected[score.CustomerId]), score.CustomerId);
            }
        }
    }

    [Test]
    public void Hand_built_table_exposes_derived_cut_points()
    {
        var cuts = RfmScorer.Score(Table).CutPoints;

        Assert.That(cuts, Is.Not.Null);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(cuts!.Recency, Is.EqualTo(new[] { 10.0, 40, 60, 120 }));
            Assert.That(cuts.Frequency, Is.EqualTo(new[] { 1.0, 1, 2, 3 }));
            Assert.That(cuts.Monetary, Is.EqualTo(new[] { 30.0, 50, 80, 250 }));
        }
    }

    [Test]
    public void Rank_first_tie_break_does_not_depend_on_input_order()
    {
        var reversed = RfmScorer.Score(Table.Reverse().ToArray());

        var cells = reversed.Scores.ToDictionary(s => s.CustomerId, s => s.Cell);
        Assert.That(cells, Is.EquivalentTo(Expected.ToDictionary(e => e.Key, e => e.Value.Cell)));
    }

    [Test]
    public void Fixed_cut_points_score_by_threshold_with_values_on_a_cut_in_the_lower_value_bin()
    {
        var options = new RfmOptions
        {
            RecencyCutPoints = [7, 30, 90, 180],
            FrequencyCutPoints = [1, 2, 3, 5],
            MonetaryCutPoints = [20, 50, 100, 500],
        };

        var result = RfmScorer.Score(Table, options);
        var cells = result.Scores.ToDictionary(s => s.CustomerId, s => s.Cell);

        // R: ≤7 → 5, ≤30 → 4, ≤90 → 3, ≤180 → 2, else 1. F: ≤1 → 1, ≤2 → 2, ≤3 → 3, ≤5 → 4, else 5.
        // M: ≤20 → 1, ≤50 → 2, ≤100 → 3, ≤500 → 4, else 5.
        //   C01 5d,1,50 → 5 1 2 (50 on the cut → M2)    C02 40d,1,30 → 3 1 2     C03 5d,6,600 → 5 5 5
        //   C04 200d,1,10 → 1 1 1                      C05 90d,3,300 → 3 3 4 (90 on the cut → R3; 3 on the cut → F3)
        //   C06 15d,2,80 → 4 2 3                       C07 365d,8,900 → 1 5 5   C08 40d,1,30 → 3 1 2
        //   C09 120d,4,250 → 2 4 4                     C10 10d,3,120 → 4 3 4    C11 60d,2,60 → 3 2 3
        //   C12 300d,1,15 → 1 1 1
        var expected = new Dictionary<string, string>
        {
            ["C01"] = "512", ["C02"] = "312", ["C03"] = "555", ["C04"] = "111", ["C05"] = "334", ["C06"] = "423",
            ["C07"] = "155", ["C08"] = "312", ["C09"] = "244", ["C10"] = "434", ["C11"] = "323", ["C12"] = "111",
        };
        Assert.That(cells, Is.EquivalentTo(expected));
        Assert.That(result.CutPoints!.Recency, Is.EqualTo(new[] { 7.0, 30, 90, 180 }), "overrides are reported back");
    }

    [Test]
    public void Derived_cut_points_fed_back_reproduce_rank_scores_except_straddling_ties()
    {
        var first = RfmScorer.Score(Table);
        var cuts = first.CutPoints!;
        var again = RfmScorer.Score(Table, new RfmOptions
        {
            RecencyCutPoints = cuts.Recency,
            FrequencyCutPoints = cuts.Frequency,
            MonetaryCutPoints = cuts.Monetary,
        });

        var changed = first.Scores.Zip(again.Scores)
            .Where(p => p.First.Cell != p.Second.Cell)
            .ToDictionary(p => p.First.CustomerId, p => p.Second.Cell);
        // Threshold scoring puts all tied values on the lower-value side of a cut:
        //   C08: 40 days on cut 40 → R4 (rank gave R3); 1 purchase on cut 1 → F1 (F2); 30 on cut 30 → M1 (M2).
        //   C12: 1 purchase on cut 1 → F1 (rank gave F2).
        Assert.That(changed, Is.EquivalentTo(new Dictionary<string, string> { ["C08"] = "411", ["C12"] = "111" }));
    }

    [Test]
    public void Only_one_dimension_can_be_overridden()
    {
        var result = RfmScorer.Score(Table, new RfmOptions { FrequencyCutPoints = [1, 2, 3, 5] });
        var c08 = result.Scores.Single(s => s.CustomerId == "C08");

        // R and M keep the rank cut (R3, M2); F by threshold: 1 purchase ≤ 1 → F1.
        Assert.That(c08.Cell, Is.EqualTo("312"));
    }

    [Test]
    public void Mean_per_purchase_basis_scores_M_on_revenue_divided_by_frequency()
    {
        var result = RfmScorer.Score(Table, new RfmOptions { Monetary = MonetaryBasis.MeanPerPurchase });
        var m = result.Scores.ToDictionary(s => s.CustomerId, s => (s.M, s.MonetaryValue));

        // Means sorted (value, id): 10 C04, 15 C12, 30 C02 | 30 C08, 30 C11 | 40 C06, 40 C10 | 50 C01, 62.5 C09 |
        // 100 C03, 100 C05, 112.5 C07.
        using (Assert.EnterMultipleScope())
        {
            Assert.That(m["C07"], Is.EqualTo((5, 112.5)));
            Assert.That(m["C05"], Is.EqualTo((5, 100.0)));
            Assert.That(m["C11"], Is.EqualTo((2, 30.0)));
            Assert.That(m["C10"], Is.EqualTo((3, 40.0)));
            Assert.That(m["C01"], Is.EqualTo((4, 50.0)));
            Assert.That(m["C02"], Is.EqualTo((1, 30.0)));
        }
    }

    [TestCase(5, 1, "New Customers")]
    [TestCase(5, 2, "Potential Loyalists")]
    [TestCase(5, 3, "Potential Loyalists")]
    [TestCase(5, 4, "Champions")]
    [TestCase(5, 5, "Champions")]
    [TestCase(4, 1, "Promising")]
    [TestCase(4, 2, "Potential Loyalists")]
    [TestCase(4, 3, "Potential Loyalists")]
    [TestCase(4, 4, "Loyal Customers")]
    [TestCase(4, 5, "Loyal Customers")]
    [TestCase(3, 1, "About to Sleep")]
    [TestCase(3, 2, "About to Sleep")]
    [TestCase(3, 3, "Need Attention")]
    [TestCase(3, 4, "Loyal Customers")]
    [TestCase(3, 5, "Loyal Customers")]
    [TestCase(2, 1, "Hibernating")]
    [TestCase(2, 2, "Hibernating")]
    [TestCase(2, 3, "At Risk")]
    [TestCase(2, 4, "At Risk")]
    [TestCase(2, 5, "Can't Lose Them")]
    [TestCase(1, 1, "Lost")]
    [TestCase(1, 2, "Hibernating")]
    [TestCase(1, 3, "At Risk")]
    [TestCase(1, 4, "At Risk")]
    [TestCase(1, 5, "Can't Lose Them")]
    public void Every_grid_cell_maps_to_its_named_segment(int r, int f, string name)
    {
        Assert.That(RfmSegments.Classify(r, f).DisplayName(), Is.EqualTo(name));
    }

    [Test]
    public void Summary_has_every_segment_in_grid_order_with_shares_summing_to_one()
    {
        var summary = RfmScorer.Score(Table).Summary;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(summary.Select(s => s.Segment), Is.EqualTo(RfmSegments.All));
            Assert.That(summary.Sum(s => s.CustomerShare), Is.EqualTo(1.0).Within(1e-12));
            Assert.That(summary.Sum(s => s.RevenueShare), Is.EqualTo(1.0).Within(1e-12));
            Assert.That(summary.Sum(s => s.Customers), Is.EqualTo(12));
        }

        // Total revenue 2445. Champions = C03 (555, 600) + C10 (544, 120); Can't Lose Them = C07 (155, 900) + C09 (254, 250).
        var champions = summary.Single(s => s.Segment == RfmSegment.Champions);
        var cantLose = summary.Single(s => s.Segment == RfmSegment.CantLoseThem);
        var loyal = summary.Single(s => s.Segment == RfmSegment.LoyalCustomers);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(champions.Customers, Is.EqualTo(2));
            Assert.That(champions.CustomerShare, Is.EqualTo(2.0 / 12).Within(1e-12));
            Assert.That(champions.Revenue, Is.EqualTo(720.0));
            Assert.That(champions.RevenueShare, Is.EqualTo(720.0 / 2445).Within(1e-12));
            Assert.That((champions.MeanR, champions.MeanF, champions.MeanM), Is.EqualTo(((double?)5.0, (double?)4.5, (double?)4.5)));
            Assert.That(cantLose.Revenue, Is.EqualTo(1150.0));
            Assert.That((cantLose.MeanR, cantLose.MeanF, cantLose.MeanM), Is.EqualTo(((double?)1.5, (double?)5.0, (double?)4.5)));
            Assert.That(loyal.Customers, Is.Zero);
            Assert.That(loyal.MeanR, Is.Null);
        }
    }

    [Test]
    public void Empty_input_gives_empty_result_and_no_cut_points()
    {
        var result = RfmScorer.Score([]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Scores, Is.Empty);
            Assert.That(result.CutPoints, Is.Null);
            Assert.That(result.Summary.Sum(s => s.CustomerShare), Is.Zero);
        }
    }

    [Test]
    public void Single_customer_is_in_the_lowest_value_bin_of_every_dimension()
    {
        var result = RfmScorer.Score([new RfmCustomer("A", 3, 2, 40)]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Scores[0].Cell, Is.EqualTo("511"));
            Assert.That(result.Scores[0].Segment, Is.EqualTo(RfmSegment.NewCustomers));
            Assert.That(result.CutPoints!.Frequency, Is.EqualTo(new[] { 2.0, 2, 2, 2 }));
        }
    }

    [Test]
    public void Three_customers_use_bins_1_3_5_like_pandas_qcut()
    {
        // Ranks 1..3, edges 1, 1.4, 1.8, 2.2, 2.6, 3: rank 1 → bin 1, rank 2 → bin 3, rank 3 → bin 5.
        var result = RfmScorer.Score([new RfmCustomer("A", 1, 1, 10), new RfmCustomer("B", 2, 2, 20), new RfmCustomer("C", 3, 3, 30)]);

        Assert.That(result.Scores.Select(s => s.Cell), Is.EqualTo(ThreeCells));
    }

    [Test]
    public void All_equal_values_are_spread_by_customer_id_without_crashing()
    {
        var customers = Enumerable.Range(0, 10).Select(i => new RfmCustomer($"K{i}", 7, 1, 0)).ToArray();

        var result = RfmScorer.Score(customers);

        // Ranks follow the ids K0..K9; n = 10, edges 1 + j·9/5: ranks 1–2, 3–4, 5–6, 7–8, 9–10.
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Scores.Select(s => s.F), Is.EqualTo(SpreadAscending));
            Assert.That(result.Scores.Select(s => s.R), Is.EqualTo(SpreadDescending));
            Assert.That(result.CutPoints!.Monetary, Is.EqualTo(new[] { 0.0, 0, 0, 0 }));
            Assert.That(result.Summary.Sum(s => s.RevenueShare), Is.Zero, "zero total revenue gives zero shares");
        }
    }

    [TestCase(3, 12, 1)]
    [TestCase(4, 12, 2)]
    [TestCase(9, 12, 4)]
    [TestCase(10, 12, 5)]
    [TestCase(1, 2, 1)]
    [TestCase(2, 2, 5)]
    [TestCase(7, 11, 3)]
    public void Bin_of_rank_matches_qcut_edges(int rank, int n, int bin)
    {
        Assert.That(RfmScorer.BinOfRank(rank, n), Is.EqualTo(bin));
    }

    [Test]
    public void Invalid_input_is_rejected_with_a_message()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(() => RfmScorer.Score([new RfmCustomer("A", 1, 1, 1), new RfmCustomer("A", 2, 2, 2)]),
                Throws.ArgumentException.With.Message.Contains("more than once"));
            Assert.That(() => RfmScorer.Score([new RfmCustomer("A", -1, 1, 1)]),
                Throws.ArgumentException.With.Message.Contains("recency"));
            Assert.That(() => RfmScorer.Score(Table, new RfmOptions { FrequencyCutPoints = [3, 2, 1, 0] }),
                Throws.ArgumentException.With.Message.Contains("non-decreasing"));
            Assert.That(() => RfmScorer.Score(Table, new RfmOptions { MonetaryCutPoints = [1, 2] }),
                Throws.ArgumentException.With.Message.Contains("exactly 4"));
        }
    }

    /// <summary>
    /// The rank order (value, then customer id in ordinal order) against LINQ's stable OrderBy/ThenBy on the same
    /// data: many ties (as in frequency), ids whose ordinal order differs from their index order, −0 and +0.
    /// </summary>
    [TestCase(1)]
    [TestCase(7)]
    public void Rank_order_is_by_value_then_by_id_in_ordinal_order(int seed)
    {
        var random = new Random(seed);
        const int n = 20_000;
        var ids = Enumerable.Range(0, n).Select(i => $"C{random.Next(1_000_000_000):D9}-{i}").ToArray();
        var values = Enumerable.Range(0, n).Select(_ => random.Next(8) switch { 0 => -0.0, 1 => 0.0, 2 => random.NextDouble() * 100, _ => random.Next(5) }).ToArray();
        var ranks = ids.Select((id, i) => (id, i)).OrderBy(x => x.id, StringComparer.Ordinal).Select((x, p) => (x.i, p)).OrderBy(x => x.i).Select(x => x.p).ToArray();

        var expected = Enumerable.Range(0, n).OrderBy(i => values[i]).ThenBy(i => ids[i], StringComparer.Ordinal).ToArray();
        Assert.That(RfmScorer.RankOrder(values, ranks), Is.EqualTo(expected));
    }
}
