namespace Pipeline.Models.Ltv;

/// <summary>
/// Weakly informative priors for the BG/NBD fallback fit (<see cref="BgNbd.FitMap"/>): independent normal priors on
/// ln r, ln α, ln a, ln b with a common standard deviation, centred on the neutral values the maximum likelihood
/// optimiser starts from: r = 1, α = the mean T (one purchase per mean observation time), a = b = 1 (drop-out
/// probability uniform on [0, 1], as PyMC-Marketing's default prior on it).
/// </summary>
/// <remarks>
/// Scale-free: α is centred on the data's own time scale, so the prior means the same in days and in weeks. A log-scale
/// standard deviation of 1 allows each parameter a factor e ≈ 2.7 either way at one standard deviation, e² ≈ 7.4 at two;
/// far enough from every centre to cover what rich data give (CDNOW: r = 0.24, α = 0.13 × mean T, a = 0.79, b = 2.4;
/// each within two standard deviations), tight enough that a likelihood which is flat towards a → 0 or a, b → ∞ (a few
/// dozen customers over a few weeks) cannot carry the estimate there. It is only used when the maximum likelihood fit
/// cannot be trusted (<see cref="LtvFits"/>), so it never moves a well-identified fit.
/// </remarks>
public sealed record BgNbdPrior
{
    /// <summary>Standard deviation of each log-parameter. Default 1.</summary>
    public double LogSd { get; init; } = 1.0;

    /// <summary>Centre of r. Default 1 (Gamma heterogeneity of purchase rates with the shape of an exponential).</summary>
    public double R { get; init; } = 1.0;

    /// <summary>Centre of α, in the summary's time unit. Default null: the mean T of the customers fitted, at least <see cref="MinAlpha"/>.</summary>
    public double? Alpha { get; init; }

    /// <summary>
    /// Floor of α's default centre, in the summary's time unit. Default 0 (none). With a few days of history the mean T
    /// is a few days, and a prior of one purchase per few days makes the CLV of every new customer absurd; the LTV
    /// stage sets a month (30 days in the summary's unit), the time scale of retail purchase cycles.
    /// </summary>
    public double MinAlpha { get; init; }

    /// <summary>Centre of a. Default 1.</summary>
    public double A { get; init; } = 1.0;

    /// <summary>Centre of b. Default 1.</summary>
    public double B { get; init; } = 1.0;

    /// <summary>The centre as parameters, α taken from <paramref name="meanT"/> when not set.</summary>
    internal BgNbdParameters Centre(double meanT)
    {
        Validate();
        return new BgNbdParameters(R, Alpha ?? Math.Max(Math.Max(meanT, MinAlpha), 1e-6), A, B);
    }

    private void Validate()
    {
        if (!(double.IsFinite(LogSd) && LogSd > 0))
        {
            throw new InvalidOperationException($"The prior's log-scale standard deviation must be finite and > 0, not {LogSd}.");
        }
    }
}

/// <summary>
/// Weakly informative priors for the Gamma-Gamma fallback fit (<see cref="GammaGamma.FitMap"/>): normal priors on ln p,
/// ln(q − 1) and ln γ with a common standard deviation, centred on p = 1, q = 2 and γ = the spend scale, so that the
/// population mean order value p·γ/(q − 1) is centred on the observed mean spend, and q &gt; 1 keeps it finite.
/// </summary>
/// <param name="SpendScale">
/// γ's centre in the base currency when there are no repeat buyers to take it from; null: the mean monetary value of
/// the repeat buyers fitted (then at least one is needed). Callers pass the mean value of all purchases, which exists
/// even when nobody has bought twice.
/// </param>
public sealed record GammaGammaPrior(double? SpendScale = null)
{
    /// <summary>Standard deviation of each log-parameter. Default 1 (see <see cref="BgNbdPrior"/>).</summary>
    public double LogSd { get; init; } = 1.0;

    /// <summary>Centre of p. Default 1.</summary>
    public double P { get; init; } = 1.0;

    /// <summary>Centre of q. Default 2 (q − 1 = 1).</summary>
    public double Q { get; init; } = 2.0;

    /// <summary>The centre as parameters; γ from <paramref name="meanRepeatSpend"/>, else <see cref="SpendScale"/>.</summary>
    internal GammaGammaParameters Centre(double? meanRepeatSpend)
    {
        if (!(double.IsFinite(LogSd) && LogSd > 0))
        {
            throw new InvalidOperationException($"The prior's log-scale standard deviation must be finite and > 0, not {LogSd}.");
        }
        if (!(Q > 1))
        {
            throw new InvalidOperationException($"The prior's centre of q must be > 1 (a finite mean order value), not {Q}.");
        }
        double scale = meanRepeatSpend ?? SpendScale
            ?? throw new InvalidOperationException("Gamma-Gamma's prior needs a spend scale when there are no repeat buyers: pass the mean purchase value.");
        if (!(double.IsFinite(scale) && scale > 0))
        {
            throw new InvalidOperationException($"The spend scale must be finite and > 0, not {scale}.");
        }
        return new GammaGammaParameters(P, Q, scale * (Q - 1) / P);
    }
}
