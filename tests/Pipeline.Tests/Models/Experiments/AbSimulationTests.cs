using MathNet.Numerics.Distributions;
using NUnit.Framework;
using Pipeline.Models.Experiments;

namespace Pipeline.Tests.Models.Experiments;

/// <summary>
/// The readout's error rates against simulations with known truth (seeded, so every run draws the same experiments).
/// 1,000 experiments each rather than the 200 asked for: a correct 95% interval then stays within the 3–7% / 93–97%
/// bands with probability above 99.5% (binomial sd 0.7 points), so the test fails on a wrong interval, not on bad luck.
/// </summary>
[TestFixture]
public sealed class AbSimulationTests
{
    private const int Experiments = 1000;

    [Test]
    public void AA_tests_exclude_zero_about_five_percent_of_the_time()
    {
        var rng = new Random(19);
        int conversionFalse = 0, revenueFalse = 0;
        for (var e = 0; e < Experiments; e++)
        {
            // Conversion: 4% of 3,000 units per arm.
            var c = SampleStats.FromProportion(Binomial.Sample(rng, 0.04, 3000), 3000);
            var t = SampleStats.FromProportion(Binomial.Sample(rng, 0.04, 3000), 3000);
            if (Frequentist.Welch(c, t, DifferenceType.Relative).IsSignificant)
            {
                conversionFalse++;
            }
            // Revenue per unit: 10% buy, spend log-normal (skewed, as order values are).
            if (Frequentist.Welch(Revenue(rng, 2000, 0.10, 1.0), Revenue(rng, 2000, 0.10, 1.0), DifferenceType.Relative).IsSignificant)
            {
                revenueFalse++;
            }
        }
        TestContext.Out.WriteLine($"A/A: conversion {conversionFalse}/{Experiments}, revenue {revenueFalse}/{Experiments} intervals exclude 0");
        Assert.Multiple(() =>
        {
            Assert.That(conversionFalse / (double)Experiments, Is.InRange(0.03, 0.07), "conversion");
            Assert.That(revenueFalse / (double)Experiments, Is.InRange(0.03, 0.07), "revenue per unit");
        });
    }

    [Test]
    public void Intervals_cover_a_known_lift_about_95_percent_of_the_time()
    {
        var rng = new Random(20);
        int absCovered = 0, relCovered = 0, revCovered = 0;
        for (var e = 0; e < Experiments; e++)
        {
            // Conversion 10% → 11%: absolute +0.01, relative +10%.
            var c = SampleStats.FromProportion(Binomial.Sample(rng, 0.10, 5000), 5000);
            var t = SampleStats.FromProportion(Binomial.Sample(rng, 0.11, 5000), 5000);
            var abs = Frequentist.Welch(c, t, DifferenceType.Absolute);
            var rel = Frequentist.Welch(c, t, DifferenceType.Relative);
            absCovered += abs.CiLower <= 0.01 && 0.01 <= abs.CiUpper ? 1 : 0;
            relCovered += rel.CiLower <= 0.10 && 0.10 <= rel.CiUpper ? 1 : 0;
            // Revenue per unit ×1.2 (spend scale 1.2): relative lift 0.2.
            var rev = Frequentist.Welch(Revenue(rng, 3000, 0.2, 1.0), Revenue(rng, 3000, 0.2, 1.2), DifferenceType.Relative);
            revCovered += rev.CiLower <= 0.2 && 0.2 <= rev.CiUpper ? 1 : 0;
        }
        TestContext.Out.WriteLine($"coverage: absolute {absCovered}, relative {relCovered}, revenue {revCovered} of {Experiments}");
        Assert.Multiple(() =>
        {
            Assert.That(absCovered / (double)Experiments, Is.InRange(0.93, 0.97), "absolute");
            Assert.That(relCovered / (double)Experiments, Is.InRange(0.93, 0.97), "relative (delta method)");
            Assert.That(revCovered / (double)Experiments, Is.InRange(0.93, 0.97), "revenue per unit, relative");
        });
    }

    [Test]
    public void SRM_flags_the_broken_splits_and_not_the_sound_ones()
    {
        var rng = new Random(21);
        int soundFlagged = 0, brokenFlagged = 0, threeWayFlagged = 0;
        for (var e = 0; e < Experiments; e++)
        {
            // Intended 50/50; sound: each unit a fair coin. Broken: 45% reach control (e.g. a redirect losing 6% of them).
            const int n = 10000;
            var sound = Binomial.Sample(rng, 0.5, n);
            soundFlagged += Health.SampleRatioMismatch([sound, n - sound], [0.5, 0.5]).IsMismatch ? 1 : 0;
            var broken = Binomial.Sample(rng, 0.45, n);
            brokenFlagged += Health.SampleRatioMismatch([broken, n - broken], [0.5, 0.5]).IsMismatch ? 1 : 0;
            // Intended 20/40/40, drawn so: sound against its own weights.
            var a = Binomial.Sample(rng, 0.2, n);
            var b = Binomial.Sample(rng, 0.5, n - a);
            threeWayFlagged += Health.SampleRatioMismatch([a, b, n - a - b], [0.2, 0.4, 0.4]).IsMismatch ? 1 : 0;
        }
        TestContext.Out.WriteLine($"SRM flagged: sound {soundFlagged}, 20/40/40 {threeWayFlagged}, broken {brokenFlagged} of {Experiments}");
        Assert.Multiple(() =>
        {
            // 1,000 sound tests at p < 0.001: 1 expected, more than 4 has probability 0.004.
            Assert.That(soundFlagged, Is.LessThanOrEqualTo(4), "sound 50/50 flagged");
            Assert.That(threeWayFlagged, Is.LessThanOrEqualTo(4), "sound 20/40/40 flagged");
            Assert.That(brokenFlagged, Is.EqualTo(Experiments), "45/55 against 50/50 at 10,000 units: χ² ≈ 100 (p ≈ 1e-23), always flagged");
        });
    }

    [Test]
    public void Holm_keeps_the_family_wise_error_of_a_three_variant_AA_test_at_five_percent()
    {
        var rng = new Random(22);
        int anyRaw = 0, anyHolm = 0;
        for (var e = 0; e < Experiments; e++)
        {
            var c = SampleStats.FromProportion(Binomial.Sample(rng, 0.05, 4000), 4000);
            var p = Enumerable.Range(0, 3).Select(_ => Frequentist.Welch(c, SampleStats.FromProportion(Binomial.Sample(rng, 0.05, 4000), 4000), DifferenceType.Relative).PValue).ToList();
            anyRaw += p.Any(x => x < 0.05) ? 1 : 0;
            anyHolm += Health.Holm(p).Any(x => x < 0.05) ? 1 : 0;
        }
        TestContext.Out.WriteLine($"three-variant A/A: any p < 0.05 raw {anyRaw}, Holm {anyHolm} of {Experiments}");
        Assert.Multiple(() =>
        {
            // Three comparisons sharing a control: about 12% without correction, at most 5% with.
            Assert.That(anyRaw / (double)Experiments, Is.GreaterThan(0.09));
            Assert.That(anyHolm / (double)Experiments, Is.InRange(0.025, 0.065));
        });
    }

    [Test]
    public void Holm_adjusts_as_computed_by_hand()
    {
        // Sorted 0.01, 0.03, 0.04 → 3·0.01 = 0.03, 2·0.03 = 0.06, max(0.06, 1·0.04) = 0.06; NaN is left out of m.
        var adj = Health.Holm([0.01, 0.04, double.NaN, 0.03]);
        Assert.That(adj[0], Is.EqualTo(0.03).Within(1e-15));
        Assert.That(adj[1], Is.EqualTo(0.06).Within(1e-15));
        Assert.That(adj[2], Is.NaN);
        Assert.That(adj[3], Is.EqualTo(0.06).Within(1e-15));
    }

    [Test]
    public void CUPED_removes_about_rho_squared_of_the_variance_and_keeps_coverage()
    {
        // post = 10 + 2·pre' + noise with corr(pre, post) = 0.6 → variance reduction ≈ 0.36; treatment adds 0.5 (relative 0.05).
        var rng = new Random(23);
        int covered = 0;
        double reduction = 0;
        const int runs = 400;
        for (var e = 0; e < runs; e++)
        {
            var c = CupedArm(rng, 2000, 0.0);
            var t = CupedArm(rng, 2000, 0.5);
            var r = Cuped.Compare(c, t, DifferenceType.Absolute);
            covered += r.Effect.CiLower <= 0.5 && 0.5 <= r.Effect.CiUpper ? 1 : 0;
            reduction += r.VarianceReduction;
        }
        TestContext.Out.WriteLine($"CUPED: mean variance reduction {reduction / runs:F3}, coverage {covered}/{runs}");
        Assert.That(reduction / runs, Is.EqualTo(0.36).Within(0.02));
        Assert.That(covered / (double)runs, Is.InRange(0.92, 0.98));
    }

    [Test]
    public void MDE_and_days_needed_follow_from_the_sample_size()
    {
        // p = 0.1, 10,000 per arm: se = √(2·0.09/10000) = 0.0042426; (1.959964 + 0.841621)·se = 0.011886.
        var s = SampleStats.FromProportion(1000, 10000);
        Assert.That(Health.MinimumDetectableEffect(s, s), Is.EqualTo(0.011886).Within(1e-6));
        // MDE 0.02 after 10 days with 1,000 units; target 0.01 needs 4× the units: 3,000 more at 100 a day = 30 days.
        Assert.That(Health.DaysNeeded(0.02, 0.01, 1000, 10), Is.EqualTo(30));
        Assert.That(Health.DaysNeeded(0.005, 0.01, 1000, 10), Is.Zero);
    }

    private static SampleStats Revenue(Random rng, int n, double buyRate, double scale)
    {
        double sum = 0, sq = 0;
        var spend = new LogNormal(Math.Log(50 * scale), 0.8, rng);
        for (var i = 0; i < n; i++)
        {
            var x = rng.NextDouble() < buyRate ? spend.Sample() : 0;
            sum += x;
            sq += x * x;
        }
        return SampleStats.FromSums(n, sum, sq);
    }

    private static CupedSums CupedArm(Random rng, int n, double effect)
    {
        double ys = 0, yy = 0, xs = 0, xx = 0, xy = 0;
        for (var i = 0; i < n; i++)
        {
            var x = Normal.Sample(rng, 0, 1);
            var y = 10 + effect + 0.6 * x + 0.8 * Normal.Sample(rng, 0, 1);
            ys += y; yy += y * y; xs += x; xx += x * x; xy += x * y;
        }
        return new CupedSums(n, ys, yy, xs, xx, xy);
    }
}
