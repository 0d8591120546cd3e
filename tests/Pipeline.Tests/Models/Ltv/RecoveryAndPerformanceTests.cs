using System.Diagnostics;
using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

[TestFixture]
public class RecoveryAndPerformanceTests
{
    [Test]
    public void Fits_recover_simulated_parameters_within_three_standard_errors()
    {
        var bg = new BgNbdParameters(0.25, 4.0, 0.8, 2.5);
        var gg = new GammaGammaParameters(6.0, 4.0, 15.0);
        var customers = Simulation.Customers(50_000, 20261125, bg, gg, r => 10 + 70 * r.NextDouble(), wholeDays: false);

        var bgFit = BgNbd.Fit(customers);
        var ggFit = GammaGamma.Fit(customers);
        TestContext.Out.WriteLine($"BG/NBD: {bgFit.Parameters} SE {bgFit.StandardErrors} {bgFit.Convergence}");
        TestContext.Out.WriteLine($"Gamma-Gamma: {ggFit.Parameters} SE {ggFit.StandardErrors} {ggFit.Convergence} repeat buyers {ggFit.RepeatBuyers} ρ {ggFit.FrequencyMonetaryCorrelation:F3}");

        var se = bgFit.StandardErrors!;
        var gse = ggFit.StandardErrors!;
        Assert.Multiple(() =>
        {
            Assert.That(bgFit.Convergence.Converged, Is.True);
            Assert.That(ggFit.Convergence.Converged, Is.True);
            Assert.That(bgFit.Parameters.R, Is.EqualTo(bg.R).Within(3 * se.R));
            Assert.That(bgFit.Parameters.Alpha, Is.EqualTo(bg.Alpha).Within(3 * se.Alpha));
            Assert.That(bgFit.Parameters.A, Is.EqualTo(bg.A).Within(3 * se.A));
            Assert.That(bgFit.Parameters.B, Is.EqualTo(bg.B).Within(3 * se.B));
            Assert.That(ggFit.Parameters.P, Is.EqualTo(gg.P).Within(3 * gse.P));
            Assert.That(ggFit.Parameters.Q, Is.EqualTo(gg.Q).Within(3 * gse.Q));
            Assert.That(ggFit.Parameters.Gamma, Is.EqualTo(gg.Gamma).Within(3 * gse.Gamma));
            // The standard errors themselves must be informative (not inflated to make the check pass).
            Assert.That(se.R / bg.R, Is.LessThan(0.1));
            Assert.That(se.B / bg.B, Is.LessThan(0.15));
            Assert.That(gse.P / gg.P, Is.LessThan(0.15));
            // Simulated spend is independent of frequency by construction.
            Assert.That(Math.Abs(ggFit.FrequencyMonetaryCorrelation), Is.LessThan(0.05));
        });
    }

    [Test]
    [Category("Performance")]
    public void Million_customer_fit_timing_is_reported()
    {
        // Daily data over one year, α in days: the realistic shape, where (x, t_x, T) patterns repeat.
        var bg = new BgNbdParameters(0.243, 4.414 * 7, 0.793, 2.426);
        var gg = new GammaGammaParameters(6.25, 3.74, 15.44);
        var sw = Stopwatch.StartNew();
        var customers = Simulation.Customers(1_000_000, 42, bg, gg, r => 1 + r.Next(365), wholeDays: true);
        double simulate = sw.Elapsed.TotalSeconds;

        sw.Restart();
        var bgFit = BgNbd.Fit(customers);
        double bgSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var ggFit = GammaGamma.Fit(customers);
        double ggSeconds = sw.Elapsed.TotalSeconds;

        var noSe = new BgNbdFitOptions { ComputeStandardErrors = false };
        sw.Restart();
        BgNbd.Fit(customers, noSe);
        double bgNoSe = sw.Elapsed.TotalSeconds;

        // The job's path: validate once (with the Gamma-Gamma check), then fit both models without re-validating.
        sw.Restart();
        SummaryValidator.ThrowIfInvalid(customers, forGammaGamma: true);
        double validate = sw.Elapsed.TotalSeconds;
        sw.Restart();
        BgNbd.Fit(customers, new BgNbdFitOptions { ValidateInput = false });
        GammaGamma.Fit(customers, new GammaGammaFitOptions { ValidateInput = false });
        double bothPreValidated = sw.Elapsed.TotalSeconds;

        var ll = new BgNbdLikelihood(
            [.. customers.Select(c => c.Frequency)], [.. customers.Select(c => c.Recency)], [.. customers.Select(c => c.T)], null);
        var grad = new double[4];
        sw.Restart();
        const int evaluations = 20;
        for (int i = 0; i < evaluations; i++)
        {
            ll.Evaluate(0.243, 30.9, 0.793, 2.426, grad);
        }
        double perEval = sw.Elapsed.TotalMilliseconds / evaluations;

        TestContext.Out.WriteLine($"simulate 1,000,000 customers: {simulate:F2} s");
        TestContext.Out.WriteLine($"BG/NBD fit (validation + unique-row collapse + BFGS + SEs): {bgSeconds:F2} s; without SEs {bgNoSe:F2} s; " +
                                  $"{bgFit.UniqueRows:N0} unique rows, {bgFit.Convergence.Iterations} iterations, {bgFit.Convergence.FunctionEvaluations} evaluations; {bgFit.Parameters}");
        TestContext.Out.WriteLine($"one BG/NBD likelihood+gradient evaluation over the unique rows: {perEval:F2} ms");
        TestContext.Out.WriteLine($"Gamma-Gamma fit ({ggFit.RepeatBuyers:N0} repeat buyers, incl. validation + SEs): {ggSeconds:F2} s; {ggFit.Convergence.Iterations} iterations; {ggFit.Parameters}");
        TestContext.Out.WriteLine($"BG/NBD + Gamma-Gamma: {bgSeconds + ggSeconds:F2} s on {Environment.ProcessorCount} cores (each validating); " +
                                  $"validate once {validate:F2} s + both fits with SEs {bothPreValidated:F2} s");

        Assert.That(bgFit.Convergence.Converged && ggFit.Convergence.Converged, Is.True);
        Assert.That(bgFit.Customers, Is.EqualTo(1_000_000));
    }
}
