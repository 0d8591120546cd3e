using NUnit.Framework;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>The likelihood must stay finite (and its gradient right) where the naive formula gives NaN/∞ (Hardie's "#NUM!").</summary>
[TestFixture]
public class BgNbdLikelihoodStabilityTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        // (x, t_x, T) rows × parameter points
        (string Name, int[] X, double[] Tx, double[] T)[] data =
        [
            ("frequency 500", [500, 500, 0], [50, 52, 0], [52, 52, 52]),
            ("T tiny", [0, 1, 2], [0, 1e-6, 1e-6], [1e-6, 1e-6, 1e-6]),
            ("T huge", [0, 3, 40], [0, 1e6, 10], [1e6, 1e6, 1e6]),
            ("mixed", [0, 1, 500, 7], [0, 1e-6, 1e5, 3], [1e-6, 2e-6, 1e6, 39]),
        ];
        (string Name, double[] Theta)[] points =
        [
            ("paper", [0.243, 4.414, 0.793, 2.426]),
            ("a+b<1", [0.5, 2.0, 0.2, 0.3]),
            ("tiny a,b", [0.05, 0.01, 1e-3, 1e-3]),
            ("large", [50, 1e4, 80, 300]),
        ];
        foreach (var d in data)
        {
            foreach (var p in points)
            {
                yield return new TestCaseData(d.X, d.Tx, d.T, p.Theta).SetName($"{d.Name} @ {p.Name}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Log_likelihood_and_gradient_are_finite_and_consistent(int[] x, double[] tx, double[] t, double[] theta)
    {
        var ll = new BgNbdLikelihood(x, tx, t, null);
        double[] u = [.. theta.Select(v => Math.Log(v))];
        var g = new double[4];
        double f = ll.MeanObjective(u, g, 0);
        Assert.That(double.IsFinite(f), Is.True, $"objective {f}");
        Assert.That(g.All(double.IsFinite), Is.True, string.Join(", ", g));
        // Analytic gradient = central finite difference of the value (checks the log-sum-exp weights, too).
        for (int i = 0; i < 4; i++)
        {
            double h = 1e-5;
            var up = (double[])u.Clone();
            var um = (double[])u.Clone();
            up[i] += h;
            um[i] -= h;
            var tmp = new double[4];
            double fd = (ll.MeanObjective(up, tmp, 0) - ll.MeanObjective(um, tmp, 0)) / (2 * h);
            Assert.That(g[i], Is.EqualTo(fd).Within(1e-5 * Math.Max(1, Math.Abs(f))), $"component {i}");
        }
    }

    [Test]
    public void Frequency_500_row_matches_log_space_reference()
    {
        // Reference written out independently: ln L = A1 + A2 + A4 + ln(1 + e^(A3 − A4)) for a row where A4 ≫ A3
        // (e^A3 alone underflows: A3 ≈ −2000).
        double r = 0.243, alpha = 4.414, a = 0.793, b = 2.426;
        int x = 500;
        double tx = 50, t = 52;
        double a1 = MathNet.Numerics.SpecialFunctions.GammaLn(r + x) - MathNet.Numerics.SpecialFunctions.GammaLn(r) + r * Math.Log(alpha);
        double a2 = MathNet.Numerics.SpecialFunctions.BetaLn(a, b + x) - MathNet.Numerics.SpecialFunctions.BetaLn(a, b);
        double a3 = -(r + x) * Math.Log(alpha + t);
        double a4 = Math.Log(a) - Math.Log(b + x - 1) - (r + x) * Math.Log(alpha + tx);
        // A2 written as a Beta ratio: B(a, b+x)/B(a, b) = Γ(a+b)Γ(b+x)/(Γ(b)Γ(a+b+x)).
        double expected = a1 + a2 + Math.Max(a3, a4) + Math.Log(1 + Math.Exp(Math.Min(a3, a4) - Math.Max(a3, a4)));
        Assert.That(Math.Exp(a3), Is.Zero.Or.LessThan(1e-300), "naive e^A3 underflows here");
        double actual = BgNbd.LogLikelihood(new BgNbdParameters(r, alpha, a, b), [new CustomerSummary("c", x, tx, t, 1)]);
        Assert.That(actual, Is.EqualTo(expected).Within(1e-9 * Math.Abs(expected)));
    }

    [Test]
    public void Fit_on_extreme_rows_terminates_with_finite_parameters()
    {
        var rows = new List<CustomerSummary>();
        var rnd = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            int x = rnd.Next(0, 4);
            double t = 1 + 50 * rnd.NextDouble();
            rows.Add(new CustomerSummary($"n{i}", x, x == 0 ? 0 : t * rnd.NextDouble(), t, 10));
        }
        rows.Add(new CustomerSummary("heavy", 500, 52, 52, 10));
        rows.Add(new CustomerSummary("tiny", 1, 1e-6, 1e-6, 10));
        rows.Add(new CustomerSummary("huge", 2, 1e6, 1e6, 10));
        var fit = BgNbd.Fit(rows);
        Assert.That(new[] { fit.Parameters.R, fit.Parameters.Alpha, fit.Parameters.A, fit.Parameters.B }.All(double.IsFinite), Is.True);
        Assert.That(double.IsFinite(fit.LogLikelihood), Is.True);
        Assert.That(fit.Convergence.Iterations, Is.GreaterThan(0));
    }

    [Test]
    public void Penalizer_shrinks_parameters_as_in_lifetimes()
    {
        var summary = CdnowData.LifetimesSummaryWithMonetary();
        var plain = BgNbd.Fit(summary).Parameters;
        var penalised = BgNbd.Fit(summary, new BgNbdFitOptions { Penalizer = 0.1 }).Parameters;
        double Norm(BgNbdParameters p) => p.R * p.R + p.Alpha * p.Alpha + p.A * p.A + p.B * p.B;
        Assert.That(Norm(penalised), Is.LessThan(Norm(plain)));
    }
}
