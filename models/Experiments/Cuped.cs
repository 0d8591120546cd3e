namespace Pipeline.Models.Experiments;

/// <summary>
/// One variant's sums for CUPED (regression adjustment with a pre-exposure covariate): units, Σ post, Σ post², Σ pre,
/// Σ pre², Σ post·pre. For a binomial metric the squares are not needed (variances p(1 − p), divisor n).
/// </summary>
public readonly record struct CupedSums(long N, double PostSum, double PostSumSquares, double PreSum, double PreSumSquares, double PostPreSumProduct)
{
    public static CupedSums operator +(CupedSums a, CupedSums b) => new(a.N + b.N, a.PostSum + b.PostSum,
        a.PostSumSquares + b.PostSumSquares, a.PreSum + b.PreSum, a.PreSumSquares + b.PreSumSquares, a.PostPreSumProduct + b.PostPreSumProduct);
}

/// <summary>A CUPED comparison: the adjusted effect and how much of the variance the covariate removed.</summary>
/// <param name="Effect">The adjusted effect against control (means reported elsewhere stay unadjusted).</param>
/// <param name="Theta">The regression coefficient, pooled over both arms.</param>
/// <param name="VarianceReduction">1 − var(adjusted effect)/var(unadjusted effect): the share of the variance removed (0.3 = 30% fewer units needed).</param>
public sealed record CupedResult(Effect Effect, double Theta, double VarianceReduction);

/// <summary>
/// CUPED as GrowthBook computes it: θ = Cov(post, pre)/Var(pre) on the two arms' combined sums; each arm's adjusted
/// mean post − θ·pre and per-unit variance v_post + θ²·v_pre − 2θ·cov; a relative effect is
/// (adj_t − adj_c)/|unadjusted control mean| with the delta-method variance
/// v_adj_t/(n_t·m_c²) + (v_post_c·m_t²/m_c² − 2θ·cov_c·m_t/m_c + θ²·v_pre_c)/(n_c·m_c²) (m the unadjusted post means);
/// Welch's t with the adjusted variances.
/// </summary>
public static class Cuped
{
    public static CupedResult Compare(CupedSums control, CupedSums treatment, DifferenceType type, bool binomial = false, double alpha = 0.05)
    {
        if (control.N < 2 || treatment.N < 2)
        {
            return new CupedResult(Effect.Undefined, double.NaN, double.NaN);
        }
        var all = control + treatment;
        var (_, vPreAll, covAll) = Moments(all, binomial);
        var theta = vPreAll > 0 ? covAll / vPreAll : 0.0;
        var (vPostC, vPreC, covC) = Moments(control, binomial);
        var (vPostT, vPreT, covT) = Moments(treatment, binomial);
        double mc = control.PostSum / control.N, mt = treatment.PostSum / treatment.N;
        double adjC = mc - theta * control.PreSum / control.N, adjT = mt - theta * treatment.PreSum / treatment.N;
        var vAdjC = Math.Max(0, vPostC + theta * theta * vPreC - 2 * theta * covC);
        var vAdjT = Math.Max(0, vPostT + theta * theta * vPreT - 2 * theta * covT);
        var df = Frequentist.WelchDf(vAdjC / control.N, control.N, vAdjT / treatment.N, treatment.N);
        double estimate, variance, unadjusted;
        if (type == DifferenceType.Absolute)
        {
            estimate = adjT - adjC;
            variance = vAdjC / control.N + vAdjT / treatment.N;
            unadjusted = vPostC / control.N + vPostT / treatment.N;
        }
        else
        {
            if (mc == 0)
            {
                return new CupedResult(Effect.Undefined, theta, double.NaN);
            }
            estimate = (adjT - adjC) / Math.Abs(mc);
            variance = vAdjT / (treatment.N * mc * mc)
                + (vPostC * mt * mt / (mc * mc) - 2 * theta * covC * mt / mc + theta * theta * vPreC) / (control.N * mc * mc);
            unadjusted = vPostT / (treatment.N * mc * mc) + vPostC * mt * mt / (control.N * Math.Pow(mc, 4));
        }
        var effect = Frequentist.FromEstimate(estimate, Math.Sqrt(Math.Max(0, variance)), df, alpha);
        return new CupedResult(effect, theta, unadjusted > 0 ? 1 - variance / unadjusted : 0.0);
    }

    /// <summary>Per-unit variance of post, of pre, and their covariance (n − 1 divisor; binomial: p(1 − p) and divisor n).</summary>
    private static (double VPost, double VPre, double Cov) Moments(CupedSums s, bool binomial)
    {
        double n = s.N;
        if (binomial)
        {
            double py = s.PostSum / n, px = s.PreSum / n;
            return (py * (1 - py), px * (1 - px), s.PostPreSumProduct / n - s.PostSum * s.PreSum / (n * n));
        }
        return ((s.PostSumSquares - s.PostSum * s.PostSum / n) / (n - 1),
            (s.PreSumSquares - s.PreSum * s.PreSum / n) / (n - 1),
            (s.PostPreSumProduct - s.PostSum * s.PreSum / n) / (n - 1));
    }
}
