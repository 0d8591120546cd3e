using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>
/// Golden checks on the CDNOW 1/10 sample against published numbers (FHL 2005, Fader &amp; Hardie 2013, BTYD, lifetimes)
/// as collected in tests/Pipeline.Tests/Data/cdnow/README.md.
/// </summary>
[TestFixture]
public class CdnowGoldenTests
{
    private static readonly Lazy<CalibrationHoldoutSplit> Split = new(() =>
        ClvSummary.CalibrationHoldout(CdnowData.SampleTransactions(), CdnowData.CalibrationEnd, CdnowData.HoldoutEnd, TimeUnit.Week));

    private static readonly Lazy<BgNbdFit> Fit = new(() => BgNbd.Fit(Calibration()));

    private static List<CustomerSummary> Calibration() => Split.Value.Rows.Select(r => r.Calibration).ToList();

    [Test]
    public void Summary_matches_derived_exact_file_for_every_customer()
    {
        var expected = CdnowData.DerivedExact().ToDictionary(r => r.Id);
        var rows = Split.Value.Rows;
        Assert.That(rows, Has.Count.EqualTo(2357));
        Assert.That(Split.Value.HoldoutLength, Is.EqualTo(273.0 / 7).Within(1e-12)); // 39 weeks
        foreach (var row in rows)
        {
            var c = row.Calibration;
            var e = expected[c.CustomerId];
            Assert.Multiple(() =>
            {
                Assert.That(c.Frequency, Is.EqualTo(e.X), c.CustomerId);
                Assert.That(c.Recency, Is.EqualTo(e.Tx).Within(1e-9), c.CustomerId);
                Assert.That(c.T, Is.EqualTo(e.T).Within(1e-9), c.CustomerId);
                Assert.That(c.MonetaryValue, Is.EqualTo(e.Zbar).Within(1e-9), c.CustomerId);
                Assert.That(row.HoldoutPurchases, Is.EqualTo(e.XStar), c.CustomerId);
            });
        }
    }

    [Test]
    public void Summary_matches_lifetimes_two_decimal_file()
    {
        var lifetimes = CdnowData.LifetimesSummaryWithMonetary().ToDictionary(r => r.CustomerId);
        foreach (var c in Calibration())
        {
            var e = lifetimes[c.CustomerId];
            Assert.That(c.Frequency, Is.EqualTo(e.Frequency));
            Assert.That(c.Recency, Is.EqualTo(e.Recency).Within(0.0050001));
            Assert.That(c.T, Is.EqualTo(e.T).Within(0.0050001));
            Assert.That(c.MonetaryValue, Is.EqualTo(e.MonetaryValue).Within(0.0050001));
        }
    }

    [Test]
    public void Summary_facts_from_readme()
    {
        var cal = Calibration();
        var c1 = cal.Single(c => c.CustomerId == "1");
        Assert.Multiple(() =>
        {
            Assert.That(cal.Count(c => c.Frequency == 0), Is.EqualTo(1411));
            Assert.That(cal.Sum(c => c.Frequency), Is.EqualTo(2457));
            Assert.That(Split.Value.Rows.Sum(r => r.HoldoutPurchases), Is.EqualTo(1882));
            Assert.That(cal.Where(c => c.Frequency > 0).Average(c => c.MonetaryValue), Is.EqualTo(35.0778).Within(5e-5));
            Assert.That(c1.Frequency, Is.EqualTo(2));
            Assert.That(c1.MonetaryValue, Is.EqualTo((29.73 + 14.96) / 2).Within(1e-12));
        });
    }

    [Test]
    public void BgNbd_fit_reproduces_published_parameters_and_log_likelihood()
    {
        var fit = Fit.Value;
        TestContext.Out.WriteLine($"BG/NBD CDNOW: {fit.Parameters}, LL {fit.LogLikelihood:F4}, SE {fit.StandardErrors}, {fit.Convergence}, unique rows {fit.UniqueRows}");
        Assert.Multiple(() =>
        {
            Assert.That(fit.Convergence.Converged, Is.True, fit.Convergence.Message);
            Assert.That(fit.Parameters.R, Is.EqualTo(0.243).Within(0.0005));
            Assert.That(fit.Parameters.Alpha, Is.EqualTo(4.414).Within(0.0005));
            Assert.That(fit.Parameters.A, Is.EqualTo(0.793).Within(0.0005));
            Assert.That(fit.Parameters.B, Is.EqualTo(2.426).Within(0.0005));
            // BTYD / CLVTools: -9582.429 at the full-precision optimum.
            Assert.That(fit.LogLikelihood, Is.EqualTo(-9582.429).Within(0.01));
            Assert.That(fit.Customers, Is.EqualTo(2357));
        });
    }

    [Test]
    public void BgNbd_log_likelihood_at_paper_parameters_on_lifetimes_summary()
    {
        // README: −9582.4268 on cdnow_customers_summary.csv (2 dp) at (0.243, 4.414, 0.793, 2.426).
        var ll = BgNbd.LogLikelihood(new BgNbdParameters(0.243, 4.414, 0.793, 2.426), CdnowData.LifetimesSummaryWithMonetary());
        Assert.That(ll, Is.EqualTo(-9582.4268).Within(0.001));
    }

    [Test]
    public void BgNbd_standard_errors_match_lifetimes()
    {
        // lifetimes Quickstart (fit on the 2-dp summary): r 0.012557, alpha 0.378221, a 0.185719, b 0.705345.
        var fit = BgNbd.Fit(CdnowData.LifetimesSummaryWithMonetary());
        var se = fit.StandardErrors!;
        Assert.Multiple(() =>
        {
            Assert.That(se.R, Is.EqualTo(0.012557).Within(0.01 * 0.012557));
            Assert.That(se.Alpha, Is.EqualTo(0.378221).Within(0.01 * 0.378221));
            Assert.That(se.A, Is.EqualTo(0.185719).Within(0.01 * 0.185719));
            Assert.That(se.B, Is.EqualTo(0.705345).Within(0.01 * 0.705345));
        });
    }

    [Test]
    public void GammaGamma_fit_reproduces_published_parameters()
    {
        var fit = GammaGamma.Fit(Calibration());
        TestContext.Out.WriteLine($"Gamma-Gamma CDNOW: {fit.Parameters}, LL {fit.LogLikelihood:F4}, SE {fit.StandardErrors}, {fit.Convergence}");
        Assert.Multiple(() =>
        {
            Assert.That(fit.Convergence.Converged, Is.True, fit.Convergence.Message);
            Assert.That(fit.RepeatBuyers, Is.EqualTo(946));
            Assert.That(fit.ExcludedOneTimeBuyers, Is.EqualTo(1411));
            Assert.That(fit.Parameters.P, Is.EqualTo(6.25).Within(0.005));
            Assert.That(fit.Parameters.Q, Is.EqualTo(3.74).Within(0.005));
            Assert.That(fit.Parameters.Gamma, Is.EqualTo(15.44).Within(0.005));
            Assert.That(fit.LogLikelihood, Is.EqualTo(-4055.9177).Within(0.001)); // CLVTools
            Assert.That(fit.Parameters.PopulationMeanValue, Is.EqualTo(35.17).Within(0.005));
        });
    }

    [Test]
    public void GammaGamma_correlation_matches_lifetimes_quickstart()
    {
        // lifetimes Quickstart computes it on the 2-dp file: 0.113884.
        Assert.That(GammaGamma.FrequencyMonetaryCorrelation(CdnowData.LifetimesSummaryWithMonetary()), Is.EqualTo(0.113884).Within(1e-5));
    }

    [Test]
    public void GammaGamma_conditional_expected_average_value_matches_hardie_spreadsheet()
    {
        // lifetimes test_conditional_expected_average_profit: fixed params (6.25, 3.74, 15.44), atol 0.1, customers 1..10
        // ("from Hardie spreadsheet notes/025").
        double[] spreadsheet = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17];
        // lifetimes Quickstart prints the same with the parameters refitted on the 2-dp file.
        double[] quickstart = [24.658619, 18.911489, 35.170981, 35.170981, 35.170981, 71.462843, 18.911489, 35.170981, 27.282408, 35.170981];
        var summary = CdnowData.LifetimesSummaryWithMonetary();
        var fixedParams = new GammaGammaParameters(6.25, 3.74, 15.44);
        var refit = GammaGamma.Fit(summary).Parameters;
        for (int i = 0; i < spreadsheet.Length; i++)
        {
            var c = summary[i];
            Assert.That(GammaGamma.ConditionalExpectedAverageValue(fixedParams, c.Frequency, c.MonetaryValue), Is.EqualTo(spreadsheet[i]).Within(0.1), c.CustomerId);
            Assert.That(GammaGamma.ConditionalExpectedAverageValue(refit, c.Frequency, c.MonetaryValue), Is.EqualTo(quickstart[i]).Within(5e-4), c.CustomerId);
        }
    }

    [Test]
    public void Clv_reproduces_lifetimes_quickstart_with_its_30_unit_periods()
    {
        // lifetimes' Quickstart refits both models on the 2-dp file and uses 12 "months" of 30 time units (here 30 weeks), d = 0.01.
        var summary = CdnowData.LifetimesSummaryWithMonetary();
        var bg = BgNbd.Fit(summary).Parameters;
        var gg = GammaGamma.Fit(summary).Parameters;
        double[] expected = [140.096211, 18.943467, 38.180574, 38.180574, 38.180574, 1003.868107, 28.109683, 38.180574, 167.418216, 38.180574];
        var clv = Clv.CustomerLifetimeValues(bg, gg, summary.Take(10).ToList(), new ClvOptions(12, 0.01, PeriodLengthInSummaryUnits: 30));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(clv[i], Is.EqualTo(expected[i]).Within(1e-3 * expected[i]), summary[i].CustomerId);
        }
    }

    [Test]
    public void Holdout_actuals_by_frequency_bucket_match_published_table()
    {
        var split = Split.Value;
        var (_, report) = Backtest.Run(Fit.Value.Parameters, split);
        int[] customers = [1411, 439, 214, 100, 62, 38, 29, 64];
        double[] meanActual = [0.2367, 0.6970, 1.3925, 1.5600, 2.5323, 2.9474, 3.8621, 6.3594];
        Assert.That(report.Buckets, Has.Count.EqualTo(8));
        for (int k = 0; k < 8; k++)
        {
            Assert.That(report.Buckets[k].Customers, Is.EqualTo(customers[k]), report.Buckets[k].Label);
            Assert.That(report.Buckets[k].MeanActual, Is.EqualTo(meanActual[k]).Within(5e-5), report.Buckets[k].Label);
        }
        Assert.That(report.Buckets[7].Label, Is.EqualTo("7+"));
        Assert.That(report.TotalActual, Is.EqualTo(1882));
        TestContext.Out.WriteLine($"MAE {report.MeanAbsoluteError:F4} RMSE {report.RootMeanSquaredError:F4} bias {report.Bias:F4}");
    }

    [Test]
    public void Holdout_predictions_by_bucket_match_btyd_with_btyd_parameters()
    {
        // BTYD walkthrough: parameters and conditional expectations by calibration frequency bin (0..7+), Σ E = 1653.40.
        var btyd = new BgNbdParameters(0.2425982, 4.4136842, 0.7929899, 2.4261667);
        var (_, report) = Backtest.Run(btyd, Split.Value);
        double[] expected = [0.2250893, 0.5231364, 1.044126, 1.520256, 2.163824, 2.653789, 3.503957, 6.157036];
        for (int k = 0; k < 8; k++)
        {
            Assert.That(report.Buckets[k].MeanPredicted, Is.EqualTo(expected[k]).Within(2e-6 * Math.Max(1, expected[k])), report.Buckets[k].Label);
        }
        Assert.That(report.TotalPredicted, Is.EqualTo(1653.40).Within(0.01));
        Assert.That(report.Bias, Is.EqualTo((report.TotalPredicted - 1882) / 2357).Within(1e-12));
    }
}
