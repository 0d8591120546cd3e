using MathNet.Numerics.Distributions;

namespace Pipeline.Models.Experiments;

/// <summary>
/// Intervals for one proportion and for two (R's binom.confint / PropCIs conventions), and the beta-binomial posterior.
/// The readout uses Wald intervals for per-variant rates (clipped to [0, 1]: <see cref="Wald"/> with clip) and the
/// beta posterior only where said; the rest are here so that a reader can compare conventions.
/// </summary>
public static class ProportionIntervals
{
    private static double Z(double level) => Normal.InvCDF(0, 1, 1 - (1 - level) / 2);

    /// <summary>p ± z·√(p(1 − p)/n); <paramref name="clip"/> keeps it inside [0, 1].</summary>
    public static (double Lower, double Upper) Wald(long x, long n, double level = 0.95, bool clip = false)
    {
        var p = (double)x / n;
        var h = Z(level) * Math.Sqrt(p * (1 - p) / n);
        return clip ? (Math.Max(0, p - h), Math.Min(1, p + h)) : (p - h, p + h);
    }

    /// <summary>Wilson score interval.</summary>
    public static (double Lower, double Upper) Wilson(long x, long n, double level = 0.95)
    {
        var z = Z(level);
        var p = (double)x / n;
        var centre = (p + z * z / (2 * n)) / (1 + z * z / n);
        var h = z / (1 + z * z / n) * Math.Sqrt(p * (1 - p) / n + z * z / (4.0 * n * n));
        return (centre - h, centre + h);
    }

    /// <summary>Agresti–Coull: Wald around (x + z²/2)/(n + z²).</summary>
    public static (double Lower, double Upper) AgrestiCoull(long x, long n, double level = 0.95)
    {
        var z = Z(level);
        var nt = n + z * z;
        var pt = (x + z * z / 2) / nt;
        var h = z * Math.Sqrt(pt * (1 - pt) / nt);
        return (pt - h, pt + h);
    }

    /// <summary>Clopper–Pearson exact interval (beta quantiles).</summary>
    public static (double Lower, double Upper) ClopperPearson(long x, long n, double level = 0.95)
    {
        var a = (1 - level) / 2;
        var lo = x == 0 ? 0 : Beta.InvCDF(x, n - x + 1, a);
        var hi = x == n ? 1 : Beta.InvCDF(x + 1, n - x, 1 - a);
        return (lo, hi);
    }

    /// <summary>Wilson score interval with continuity correction (R's <c>prop.test</c>).</summary>
    public static (double Lower, double Upper) WilsonContinuityCorrected(long x, long n, double level = 0.95)
    {
        var z = Z(level);
        var p = (double)x / n;
        double z2 = z * z, den = 2 * (n + z2);
        var lo = x == 0 ? 0 : Math.Max(0, (2 * n * p + z2 - 1 - z * Math.Sqrt(z2 - 2 - 1.0 / n + 4 * p * (n * (1 - p) + 1))) / den);
        var hi = x == n ? 1 : Math.Min(1, (2 * n * p + z2 + 1 + z * Math.Sqrt(z2 + 2 - 1.0 / n + 4 * p * (n * (1 - p) - 1))) / den);
        return (lo, hi);
    }

    /// <summary>Unpooled Wald interval of p₁ − p₂.</summary>
    public static (double Lower, double Upper) WaldDifference(long x1, long n1, long x2, long n2, double level = 0.95)
    {
        double p1 = (double)x1 / n1, p2 = (double)x2 / n2;
        var h = Z(level) * Math.Sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2);
        return (p1 - p2 - h, p1 - p2 + h);
    }

    /// <summary>Agresti–Caffo: the Wald difference after adding one success and one failure to each group.</summary>
    public static (double Lower, double Upper) AgrestiCaffoDifference(long x1, long n1, long x2, long n2, double level = 0.95) =>
        WaldDifference(x1 + 1, n1 + 2, x2 + 1, n2 + 2, level);

    /// <summary>Newcombe's hybrid score interval of p₁ − p₂ (from the two Wilson intervals).</summary>
    public static (double Lower, double Upper) NewcombeDifference(long x1, long n1, long x2, long n2, double level = 0.95)
    {
        double p1 = (double)x1 / n1, p2 = (double)x2 / n2;
        var (l1, u1) = Wilson(x1, n1, level);
        var (l2, u2) = Wilson(x2, n2, level);
        var d = p1 - p2;
        return (d - Math.Sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2)), d + Math.Sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2)));
    }

    /// <summary>Katz log interval of the risk ratio p₁/p₂.</summary>
    public static (double Lower, double Upper) KatzRatio(long x1, long n1, long x2, long n2, double level = 0.95)
    {
        var ratio = (double)x1 / n1 / ((double)x2 / n2);
        var h = Z(level) * Math.Sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2);
        return (ratio * Math.Exp(-h), ratio * Math.Exp(h));
    }

    /// <summary>Equal-tailed credible interval of the Beta(x + a, n − x + b) posterior (Jeffreys: a = b = ½).</summary>
    public static (double Lower, double Upper) BetaCredible(long x, long n, double level = 0.95, double a = 0.5, double b = 0.5)
    {
        var t = (1 - level) / 2;
        return (Beta.InvCDF(x + a, n - x + b, t), Beta.InvCDF(x + a, n - x + b, 1 - t));
    }

    /// <summary>
    /// P(p_t &gt; p_c) under independent Beta(x + a, n − x + b) posteriors, by numerical integration of
    /// f_t(u)·F_c(u) over [0, 1] (Simpson's rule on a fine grid; exact to ~1e-7 for n up to 10⁵).
    /// </summary>
    public static double ProbabilityBeats(long xc, long nc, long xt, long nt, double a = 0.5, double b = 0.5)
    {
        var ct = new Beta(xt + a, nt - xt + b);
        var cc = new Beta(xc + a, nc - xc + b);
        // Integrate where the treatment's posterior has its mass.
        double lo = Math.Max(0, ct.InverseCumulativeDistribution(1e-12)), hi = Math.Min(1, ct.InverseCumulativeDistribution(1 - 1e-12));
        const int steps = 20000;
        var h = (hi - lo) / steps;
        double sum = 0;
        for (var i = 0; i <= steps; i++)
        {
            var u = lo + i * h;
            var w = i == 0 || i == steps ? 1 : (i % 2 == 1 ? 4 : 2);
            sum += w * ct.Density(u) * cc.CumulativeDistribution(u);
        }
        return sum * h / 3;
    }
}
