using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>
/// The fit diagnostics and the maximum a posteriori fallback: CDNOW passes every check and keeps its plain maximum
/// likelihood fit to the last bit; hand-made fits trip each check; thin samples from a known simulation (the generator's
/// parameters) get a fallback whose predictions are closer to the truth than the degenerate maximum likelihood fit's.
/// </summary>
[TestFixture]
public class LtvFitsTests
{
    private static List<CustomerSummary> CdnowCalibration() =>
        ClvSummary.CalibrationHoldout(CdnowData.SampleTransactions(), CdnowData.CalibrationEnd, CdnowData.HoldoutEnd, TimeUnit.Week).Rows.Select(r => r.Calibration).ToList();

    /// <summary>`pipeline generate`'s defaults, in days: BG/NBD (0.75, 40, 0.8, 2.5), Gamma-Gamma (6, 4, 40).</summary>
    private static readonly BgNbdParameters TrueBgNbd = new(0.75, 40.0, 0.8, 2.5);

    private static readonly GammaGammaParameters TrueGammaGamma = new(6.0, 4.0, 40.0);

    [Test]
    public void Cdnow_passes_every_check_and_keeps_its_plain_maximum_likelihood_fit_bit_for_bit()
    {
        var customers = CdnowCalibration();
        var bg = LtvFits.FitBgNbd(customers);
        var gg = LtvFits.FitGammaGamma(customers);
        var plainBg = BgNbd.Fit(customers);
        var plainGg = GammaGamma.Fit(customers);
        TestContext.Out.WriteLine($"BG/NBD {bg.Diagnosis.Code} {string.Join("; ", bg.Diagnosis.Reasons)}; Gamma-Gamma {gg.Diagnosis.Code} {string.Join("; ", gg.Diagnosis.Reasons)}");
        Assert.Multiple(() =>
        {
            Assert.That(bg.Diagnosis.Status, Is.EqualTo(FitStatus.Ok));
            Assert.That(bg.Diagnosis.Reasons, Is.Empty);
            Assert.That(bg.Estimator, Is.EqualTo(FitEstimator.MaximumLikelihood));
            Assert.That(bg.Fit.Parameters, Is.EqualTo(plainBg.Parameters), "the same doubles as BgNbd.Fit");
            Assert.That(bg.Fit.LogLikelihood, Is.EqualTo(plainBg.LogLikelihood));
            Assert.That(bg.Fit.Hessian, Is.EqualTo(HessianState.PositiveDefinite));
            Assert.That(bg.Fit.RepeatBuyers, Is.EqualTo(946));
            Assert.That(gg.Diagnosis.Status, Is.EqualTo(FitStatus.Ok));
            Assert.That(gg.Estimator, Is.EqualTo(FitEstimator.MaximumLikelihood));
            Assert.That(gg.Fit.Parameters, Is.EqualTo(plainGg.Parameters));
        });
    }

    private static BgNbdFit HandMade(BgNbdParameters p, BgNbdStandardErrors? se, HessianState hessian, bool converged = true) =>
        new(p, se, -100, 100, 50, new OptimizationReport(converged, 20, 40, 1e-9, converged ? "gradient norm below tolerance" : "maximum iterations reached")) { Hessian = hessian };

    [Test]
    public void Each_check_gives_its_status_and_reason()
    {
        var options = new LtvFitOptions();
        var good = new BgNbdParameters(0.243, 4.414, 0.793, 2.426);
        var goodSe = new BgNbdStandardErrors(0.0126, 0.378, 0.186, 0.705); // lifetimes' CDNOW standard errors
        double meanT = 32.7;
        Assert.Multiple(() =>
        {
            Assert.That(LtvFits.Diagnose(HandMade(good, goodSe, HessianState.PositiveDefinite), meanT, options).Status, Is.EqualTo(FitStatus.Ok));

            // The online-retail sample's fit: a, b run off to 1e8.
            var offRange = LtvFits.Diagnose(HandMade(new BgNbdParameters(0.731, 10.8, 9.35e7, 1.55e8), goodSe, HessianState.PositiveDefinite), meanT, options);
            Assert.That(offRange.Status, Is.EqualTo(FitStatus.Degenerate));
            Assert.That(offRange.Reasons, Has.Some.Contains("a = 9.35E+7 is outside the sane range [0.001, 1000]"));
            Assert.That(offRange.Reasons, Has.Some.Contains("b = 1.55E+8"));

            // The quick-start shop's: a → 0 with a Hessian that is not positive definite.
            var flat = LtvFits.Diagnose(HandMade(new BgNbdParameters(1.18, 85.8, 4.1e-6, 16812), new BgNbdStandardErrors(double.NaN, double.NaN, double.NaN, double.NaN), HessianState.NotPositiveDefinite), 30.3, options);
            Assert.That(flat.Status, Is.EqualTo(FitStatus.Degenerate));
            Assert.That(flat.Reasons, Has.Some.Contains("Hessian is not positive definite"));
            Assert.That(flat.Reasons, Has.Some.Contains("a = 4.1E-6"));

            var nonFiniteSe = LtvFits.Diagnose(HandMade(good, goodSe with { B = double.PositiveInfinity }, HessianState.PositiveDefinite), meanT, options);
            Assert.That(nonFiniteSe.Status, Is.EqualTo(FitStatus.Degenerate));
            Assert.That(nonFiniteSe.Reasons, Has.Some.Contains("standard errors of b are not finite"));

            var notConverged = LtvFits.Diagnose(HandMade(good, goodSe, HessianState.PositiveDefinite, converged: false), meanT, options);
            Assert.That(notConverged.Reasons, Has.Some.Contains("did not converge"));

            var alphaOff = LtvFits.Diagnose(HandMade(good, goodSe, HessianState.PositiveDefinite), 1e-9, options);
            Assert.That(alphaOff.Reasons, Has.Some.Contains("alpha = 4.414 is outside the sane range"), "α is judged against the data's time scale");

            var loose = LtvFits.Diagnose(HandMade(good, goodSe with { B = 3.0 }, HessianState.PositiveDefinite), meanT, options);
            Assert.That(loose.Status, Is.EqualTo(FitStatus.Weak));
            Assert.That(loose.Reasons, Is.EqualTo(new[] { "b = 2.426 is uncertain (standard error 3)" }));

            var infiniteMean = LtvFits.Diagnose(new GammaGammaFit(new GammaGammaParameters(6.25, 0.9, 15.44), new GammaGammaStandardErrors(0.1, 0.1, 0.1), -10, 20, 0, 0,
                new OptimizationReport(true, 10, 20, 1e-9, "ok")) { Hessian = HessianState.PositiveDefinite }, 35, options);
            Assert.That(infiniteMean.Status, Is.EqualTo(FitStatus.Degenerate));
            Assert.That(infiniteMean.Reasons, Has.Some.Contains("q = 0.9 is not above 1"));
        });
    }

    [Test]
    public void Too_few_repeat_buyers_is_insufficient_data_and_gets_the_fallback()
    {
        // 40 customers, 6 of whom bought again: below the 10 repeat buyers needed.
        var customers = Enumerable.Range(0, 40).Select(i => i < 6
            ? new CustomerSummary($"c{i}", 1 + i % 2, 5 + i, 30, 20 + i)
            : new CustomerSummary($"c{i}", 0, 0, 10 + i % 20, 0)).ToList();
        var bg = LtvFits.FitBgNbd(customers);
        var gg = LtvFits.FitGammaGamma(customers, new LtvFitOptions { GammaGammaPrior = new GammaGammaPrior(25) });
        Assert.Multiple(() =>
        {
            Assert.That(bg.Diagnosis.Status, Is.EqualTo(FitStatus.InsufficientData));
            Assert.That(bg.Diagnosis.Reasons[0], Is.EqualTo("only 6 repeat buyers (at least 10 are needed to estimate the model from the data)"));
            Assert.That(bg.Diagnosis.Reasons[^1], Does.StartWith("fell back to the maximum a posteriori fit"));
            Assert.That(bg.Estimator, Is.EqualTo(FitEstimator.MaximumAPosteriori));
            Assert.That(bg.Fit.Convergence.Converged, Is.True);
            Assert.That(gg.Diagnosis.Status, Is.EqualTo(FitStatus.InsufficientData));
            Assert.That(gg.Fit.Parameters.Q, Is.GreaterThan(1), "a finite population mean");
            Assert.That(double.IsFinite(gg.Fit.Parameters.PopulationMeanValue), Is.True);
        });
    }

    [Test]
    public void Without_any_repeat_buyer_gamma_gamma_is_the_priors_centre_at_the_mean_purchase_value()
    {
        var customers = Enumerable.Range(0, 20).Select(i => new CustomerSummary($"c{i}", 0, 0, 5 + i, 0)).ToList();
        var gg = LtvFits.FitGammaGamma(customers, new LtvFitOptions { GammaGammaPrior = new GammaGammaPrior(SpendScale: 42.5) });
        var bg = LtvFits.FitBgNbd(customers);
        Assert.Multiple(() =>
        {
            // Centre p = 1, q = 2, γ = 42.5: the population mean p·γ/(q − 1) is the mean purchase value.
            Assert.That(gg.Fit.Parameters.P, Is.EqualTo(1).Within(1e-9));
            Assert.That(gg.Fit.Parameters.Q, Is.EqualTo(2).Within(1e-9));
            Assert.That(gg.Fit.Parameters.PopulationMeanValue, Is.EqualTo(42.5).Within(1e-7));
            Assert.That(gg.Fit.RepeatBuyers, Is.Zero);
            Assert.That(bg.Diagnosis.Status, Is.EqualTo(FitStatus.InsufficientData));
            Assert.That(customers.Select(c => BgNbd.ConditionalExpectedPurchases(bg.Fit.Parameters, 90, 0, 0, c.T)), Is.All.GreaterThan(0).And.All.LessThan(100));
        });
    }

    /// <summary>
    /// Samples from the generator's BG/NBD and Gamma-Gamma with whole-day purchase times, T uniform over the first
    /// <c>window</c> days (a new shop's history): only the samples whose maximum likelihood fit is degenerate (or has too
    /// few repeat buyers) count, since only there the fallback is used. Errors are against the predictions with the
    /// true parameters (the best any fit could do): expected purchases in the next 90 days, P(alive) and the 90-day CLV
    /// (expected purchases × expected order value), mean absolute error per customer.
    /// </summary>
    [TestCase(50, 45, 40)]
    [TestCase(200, 45, 40)]
    [TestCase(1000, 30, 20)]
    public void On_thin_samples_the_fallback_predicts_closer_to_the_truth_than_the_degenerate_mle(int customers, int window, int samples)
    {
        int used = 0, closer = 0;
        double purchasesMle = 0, purchasesFallback = 0, aliveMle = 0, aliveFallback = 0, clvMle = 0, clvFallback = 0;
        for (int sample = 0; sample < samples; sample++)
        {
            var summary = Simulation.Customers(customers, 7000 + 100 * customers + sample, TrueBgNbd, TrueGammaGamma, r => 1 + r.Next(window), wholeDays: true);
            // As the LTV stage fits daily data: α's prior centre at least 30 days; the spend scale from the data.
            var plain = new LtvFitOptions
            {
                FallBack = false,
                BgNbdPrior = new BgNbdPrior { MinAlpha = 30 },
                GammaGammaPrior = new GammaGammaPrior(summary.Where(c => c.Frequency > 0).Select(c => c.MonetaryValue).DefaultIfEmpty(1).Average()),
            };
            var withFallback = plain with { FallBack = true };
            var mle = LtvFits.FitBgNbd(summary, plain);
            if (mle.Diagnosis.Status < FitStatus.Degenerate)
            {
                continue;
            }
            used++;
            var fallback = LtvFits.FitBgNbd(summary, withFallback);
            Assert.That(fallback.Estimator, Is.EqualTo(FitEstimator.MaximumAPosteriori));
            var ggMle = LtvFits.FitGammaGamma(summary, plain).Fit.Parameters;
            var ggFallback = LtvFits.FitGammaGamma(summary, withFallback).Fit.Parameters;
            double e1 = 0, e2 = 0, p1 = 0, p2 = 0, c1 = 0, c2 = 0;
            foreach (var c in summary)
            {
                double truth = BgNbd.ConditionalExpectedPurchases(TrueBgNbd, 90, c.Frequency, c.Recency, c.T);
                double byMle = BgNbd.ConditionalExpectedPurchases(mle.Fit.Parameters, 90, c.Frequency, c.Recency, c.T);
                double byFallback = BgNbd.ConditionalExpectedPurchases(fallback.Fit.Parameters, 90, c.Frequency, c.Recency, c.T);
                double alive = BgNbd.ProbabilityAlive(TrueBgNbd, c.Frequency, c.Recency, c.T);
                e1 += Math.Abs(byMle - truth);
                e2 += Math.Abs(byFallback - truth);
                p1 += Math.Abs(BgNbd.ProbabilityAlive(mle.Fit.Parameters, c.Frequency, c.Recency, c.T) - alive);
                p2 += Math.Abs(BgNbd.ProbabilityAlive(fallback.Fit.Parameters, c.Frequency, c.Recency, c.T) - alive);
                double value = truth * OrderValue(TrueGammaGamma, c);
                c1 += Math.Abs(byMle * OrderValue(ggMle, c) - value);
                c2 += Math.Abs(byFallback * OrderValue(ggFallback, c) - value);
            }
            purchasesMle += e1 / customers;
            purchasesFallback += e2 / customers;
            aliveMle += p1 / customers;
            aliveFallback += p2 / customers;
            clvMle += c1 / customers;
            clvFallback += c2 / customers;
            closer += c2 < c1 ? 1 : 0;
        }
        TestContext.Out.WriteLine($"{customers} customers over {window} days: {used} of {samples} samples with a degenerate MLE; mean absolute error per customer, MLE vs fallback: " +
                                  $"expected purchases (90 d) {purchasesMle / used:F3} vs {purchasesFallback / used:F3}, P(alive) {aliveMle / used:F3} vs {aliveFallback / used:F3}, " +
                                  $"CLV (90 d) {clvMle / used:F2} vs {clvFallback / used:F2}; fallback closer on CLV in {closer} of {used}");
        Assert.Multiple(() =>
        {
            Assert.That(used, Is.GreaterThanOrEqualTo(samples / 4), "thin enough that the MLE is often degenerate");
            Assert.That(purchasesFallback, Is.LessThan(purchasesMle), "expected purchases");
            Assert.That(aliveFallback, Is.LessThan(aliveMle), "P(alive)");
            Assert.That(clvFallback, Is.LessThan(0.8 * clvMle), "CLV");
            Assert.That(closer, Is.GreaterThanOrEqualTo((int)Math.Ceiling(0.75 * used)), "the fallback is closer in most samples, not on average only");
        });
    }

    private static double OrderValue(GammaGammaParameters p, CustomerSummary c) =>
        c.Frequency > 0 && c.MonetaryValue > 0 ? GammaGamma.ConditionalExpectedAverageValue(p, c.Frequency, c.MonetaryValue) : p.PopulationMeanValue;
}
