using MathNet.Numerics.Distributions;

namespace Pipeline.Models.Experiments;

/// <summary>
/// Frequentist comparisons of a treatment with control, as GrowthBook's gbstats computes them (the convention of the
/// readout): Welch's t-test with unequal variances and Welch–Satterthwaite degrees of freedom, for means, proportions
/// (variance p(1 − p), unpooled: not the pooled z-test) and ratio metrics (per-unit delta-method variances) alike;
/// a relative effect's standard error by the delta method with independent arms,
/// var = v_t/(n_t·m_c²) + v_c·m_t²/(n_c·m_c⁴); interval estimate ± t_df(1 − α/2)·se.
/// </summary>
public static class Frequentist
{
    /// <summary>Welch's test of treatment against control.</summary>
    /// <param name="alpha">1 − the interval's level (0.05: 95%).</param>
    public static Effect Welch(SampleStats control, SampleStats treatment, DifferenceType type, double alpha = 0.05, Sides sides = Sides.Two)
    {
        if (!Usable(control) || !Usable(treatment) || (type == DifferenceType.Relative && control.Mean == 0))
        {
            return Effect.Undefined;
        }
        double vc = control.Variance / control.N, vt = treatment.Variance / treatment.N;
        var df = WelchDf(vc, control.N, vt, treatment.N);
        double estimate, variance;
        if (type == DifferenceType.Absolute)
        {
            estimate = treatment.Mean - control.Mean;
            variance = vc + vt;
        }
        else
        {
            var mc = control.Mean;
            estimate = (treatment.Mean - mc) / Math.Abs(mc);
            variance = vt / (mc * mc) + vc * treatment.Mean * treatment.Mean / Math.Pow(mc, 4);
        }
        return FromEstimate(estimate, Math.Sqrt(variance), df, alpha, sides);
    }

    /// <summary>Welch–Satterthwaite degrees of freedom from the variances of the two means.</summary>
    /// <param name="varMeanC">Variance of the control's mean (per-unit variance / n).</param>
    public static double WelchDf(double varMeanC, long nC, double varMeanT, long nT)
    {
        var num = (varMeanC + varMeanT) * (varMeanC + varMeanT);
        var den = varMeanC * varMeanC / (nC - 1) + varMeanT * varMeanT / (nT - 1);
        return den > 0 ? num / den : double.PositiveInfinity;
    }

    /// <summary>Interval and p-value of an estimate with a t (finite <paramref name="df"/>) or normal (infinite) sampling distribution.</summary>
    public static Effect FromEstimate(double estimate, double se, double df, double alpha = 0.05, Sides sides = Sides.Two)
    {
        if (!double.IsFinite(estimate) || !(se >= 0))
        {
            return Effect.Undefined;
        }
        if (se == 0)
        {
            // No variation in either arm: the effect is known exactly.
            var p0 = estimate == 0 ? 1.0 : 0.0;
            return new Effect(estimate, 0, df, estimate, estimate, p0);
        }
        var t = estimate / se;
        switch (sides)
        {
            case Sides.Greater:
                return new Effect(estimate, se, df, estimate - Quantile(1 - alpha, df) * se, double.PositiveInfinity, Upper(t, df));
            case Sides.Lesser:
                return new Effect(estimate, se, df, double.NegativeInfinity, estimate + Quantile(1 - alpha, df) * se, Upper(-t, df));
            default:
                var q = Quantile(1 - alpha / 2, df);
                return new Effect(estimate, se, df, estimate - q * se, estimate + q * se, Math.Min(1.0, 2 * Upper(Math.Abs(t), df)));
        }
    }

    /// <summary>
    /// The two-proportion z-test: pooled standard error for the p-value (equal to Pearson's χ² without Yates), unpooled
    /// Wald interval for the difference (statsmodels' <c>proportions_ztest</c> and Spotify Confidence's convention).
    /// Relative: the absolute interval divided by the control rate (Spotify; no delta method).
    /// </summary>
    public static Effect TwoProportionZ(long successesC, long nC, long successesT, long nT, DifferenceType type = DifferenceType.Absolute, double alpha = 0.05)
    {
        if (nC <= 0 || nT <= 0)
        {
            return Effect.Undefined;
        }
        double pc = (double)successesC / nC, pt = (double)successesT / nT;
        var pooled = (double)(successesC + successesT) / (nC + nT);
        var sePooled = Math.Sqrt(pooled * (1 - pooled) * (1.0 / nC + 1.0 / nT));
        var p = sePooled > 0 ? 2 * Normal.CDF(0, 1, -Math.Abs((pt - pc) / sePooled)) : (pt == pc ? 1.0 : 0.0);
        var se = Math.Sqrt(pc * (1 - pc) / nC + pt * (1 - pt) / nT);
        var z = Normal.InvCDF(0, 1, 1 - alpha / 2);
        double d = pt - pc, lo = d - z * se, hi = d + z * se;
        return type == DifferenceType.Absolute || pc == 0
            ? new Effect(d, se, double.PositiveInfinity, lo, hi, p)
            : new Effect(d / pc, se / pc, double.PositiveInfinity, lo / pc, hi / pc, p);
    }

    /// <summary>One-sample z-test of a proportion against <paramref name="value"/>, the variance from the sample proportion (statsmodels' default).</summary>
    public static double OneProportionZPValue(long successes, long n, double value)
    {
        var p = (double)successes / n;
        var se = Math.Sqrt(p * (1 - p) / n);
        return 2 * Normal.CDF(0, 1, -Math.Abs((p - value) / se));
    }

    /// <summary>Quantile of Student's t with <paramref name="df"/> degrees of freedom (normal when infinite).</summary>
    public static double Quantile(double p, double df) =>
        double.IsPositiveInfinity(df) || df > 1e7 ? Normal.InvCDF(0, 1, p) : StudentT.InvCDF(0, 1, df, p);

    /// <summary>P(T &gt; t).</summary>
    private static double Upper(double t, double df) =>
        double.IsPositiveInfinity(df) || df > 1e7 ? Normal.CDF(0, 1, -t) : StudentT.CDF(0, 1, df, -t);

    private static bool Usable(SampleStats s) => s.N > 1 && double.IsFinite(s.Mean) && double.IsFinite(s.Variance);
}
