using MathNet.Numerics.Distributions;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>Draws customers from the BG/NBD and Gamma-Gamma generative stories (seeded, so tests are reproducible).</summary>
internal static class Simulation
{
    /// <summary>
    /// λ ~ Gamma(r, α), p ~ Beta(a, b); purchases arrive as Poisson(λ) after the first purchase at 0, and after each
    /// repeat purchase the customer drops out with probability p. ν ~ Gamma(q, γ); each repeat value ~ Gamma(p_gg, ν), so
    /// the mean of x values is Gamma(p_gg·x, ν)/x.
    /// </summary>
    /// <param name="n">Customers.</param>
    /// <param name="seed">System.Random seed.</param>
    /// <param name="bg">True BG/NBD parameters.</param>
    /// <param name="gg">True Gamma-Gamma parameters.</param>
    /// <param name="drawT">Draws each customer's T (time from first purchase to observation end).</param>
    /// <param name="wholeDays">Floor purchase times to whole units (as real daily data are), which makes (x, t_x, T) repeat.</param>
    public static List<CustomerSummary> Customers(int n, int seed, BgNbdParameters bg, GammaGammaParameters gg, Func<Random, double> drawT, bool wholeDays)
    {
        var rnd = new Random(seed);
        var result = new List<CustomerSummary>(n);
        for (int i = 0; i < n; i++)
        {
            double t = drawT(rnd);
            double lambda = Gamma.Sample(rnd, bg.R, bg.Alpha);
            double p = Beta.Sample(rnd, bg.A, bg.B);
            int x = 0;
            double now = 0, last = 0;
            while (true)
            {
                now += -Math.Log(1 - rnd.NextDouble()) / lambda;
                if (now > t)
                {
                    break;
                }
                x++;
                last = now;
                if (rnd.NextDouble() < p)
                {
                    break;
                }
            }
            double monetary = 0;
            if (x > 0)
            {
                double nu = Gamma.Sample(rnd, gg.Q, gg.Gamma);
                monetary = Gamma.Sample(rnd, gg.P * x, nu) / x;
            }
            result.Add(new CustomerSummary(i.ToString(System.Globalization.CultureInfo.InvariantCulture), x, wholeDays ? Math.Floor(last) : last, t, monetary));
        }
        return result;
    }
}
