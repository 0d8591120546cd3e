using System.Globalization;

namespace Pipeline.Models.Ltv;

/// <summary>How far a fit can be trusted, worst last.</summary>
public enum FitStatus
{
    /// <summary>A proper, precise maximum: converged, Hessian positive definite, parameters in range, enough repeat buyers.</summary>
    Ok = 0,

    /// <summary>A proper maximum, but some parameter is known only loosely (standard error above its value).</summary>
    Weak = 1,

    /// <summary>
    /// The data do not identify the maximum likelihood estimate: parameters run off to the edge of the space, the
    /// Hessian is not positive definite or not finite, standard errors are not finite, or the optimiser did not converge.
    /// </summary>
    Degenerate = 2,

    /// <summary>Too few repeat buyers to estimate the model from the data at all.</summary>
    InsufficientData = 3,
}

/// <summary>Which estimator gave the parameters a fit reports.</summary>
public enum FitEstimator
{
    /// <summary>Maximum likelihood (with the configured L2 penalizer, 0 by default).</summary>
    MaximumLikelihood = 0,

    /// <summary>Maximum a posteriori under the weakly informative priors (<see cref="BgNbdPrior"/>, <see cref="GammaGammaPrior"/>): the fallback.</summary>
    MaximumAPosteriori = 1,
}

/// <summary>A fit's status and the reasons for it (empty when <see cref="FitStatus.Ok"/>), in plain words.</summary>
public sealed record FitDiagnosis(FitStatus Status, IReadOnlyList<string> Reasons)
{
    /// <summary>The status as the tables write it: <c>ok</c>, <c>weak</c>, <c>degenerate</c>, <c>insufficient_data</c>.</summary>
    public string Code => StatusCode(Status);

    /// <summary>The table spelling of a status.</summary>
    public static string StatusCode(FitStatus status) => status switch
    {
        FitStatus.Ok => "ok",
        FitStatus.Weak => "weak",
        FitStatus.Degenerate => "degenerate",
        FitStatus.InsufficientData => "insufficient_data",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown status"),
    };
}

/// <summary>A fit as the LTV stage uses it: the parameters, how they were estimated and how far they can be trusted.</summary>
/// <param name="Fit">The fit whose parameters are used (the maximum likelihood one, or the fallback's).</param>
/// <param name="Estimator">Which estimator <paramref name="Fit"/> came from.</param>
/// <param name="Diagnosis">The status of the maximum likelihood fit on this data, with its reasons (and the fallback's, when it was used).</param>
public sealed record CheckedBgNbdFit(BgNbdFit Fit, FitEstimator Estimator, FitDiagnosis Diagnosis);

/// <summary>A Gamma-Gamma fit as the LTV stage uses it (see <see cref="CheckedBgNbdFit"/>).</summary>
public sealed record CheckedGammaGammaFit(GammaGammaFit Fit, FitEstimator Estimator, FitDiagnosis Diagnosis);

/// <summary>
/// The checks a maximum likelihood fit must pass to be used as it is, and the fallback's priors. Every default is the
/// documented one (docs/models.md).
/// </summary>
public sealed record LtvFitOptions
{
    /// <summary>L2 penalizer of the maximum likelihood fits (lifetimes' penalizer_coef). Default 0: plain maximum likelihood.</summary>
    public double Penalizer { get; init; }

    /// <summary>
    /// Fewer repeat buyers than this (customers with x &gt; 0; for Gamma-Gamma, with a positive repeat spend) is
    /// <see cref="FitStatus.InsufficientData"/>: the model is not estimated from the data but taken from the fallback.
    /// Default 10: below that, drop-out and spend heterogeneity rest on a handful of people.
    /// </summary>
    public int MinRepeatBuyers { get; init; } = 10;

    /// <summary>
    /// Sane range of the shape parameters r, a, b (BG/NBD) and p, q (Gamma-Gamma). Default [1e-3, 1e3]: beyond it a
    /// parameter is on its way to 0 or ∞ (a heterogeneity that collapses to a point or to nothing), where the likelihood
    /// is flat and the value carries no information (CDNOW: all within [0.24, 6.3]).
    /// </summary>
    public double ShapeMin { get; init; } = 1e-3;

    /// <inheritdoc cref="ShapeMin"/>
    public double ShapeMax { get; init; } = 1e3;

    /// <summary>
    /// Sane range of the scale parameters relative to the data: α / mean T and γ / mean repeat spend. Default [1e-6, 1e6]
    /// (they follow the shapes: with r and q in range they stay within a few powers of ten of 1).
    /// </summary>
    public double ScaleRatioMin { get; init; } = 1e-6;

    /// <inheritdoc cref="ScaleRatioMin"/>
    public double ScaleRatioMax { get; init; } = 1e6;

    /// <summary>A standard error larger than this multiple of its parameter makes the fit <see cref="FitStatus.Weak"/>. Default 1.</summary>
    public double MaxRelativeStandardError { get; init; } = 1.0;

    /// <summary>Fall back to the maximum a posteriori fit when the status is degenerate or insufficient_data. Default true.</summary>
    public bool FallBack { get; init; } = true;

    /// <summary>The BG/NBD fallback's prior. Default <see cref="BgNbdPrior"/>'s.</summary>
    public BgNbdPrior BgNbdPrior { get; init; } = new();

    /// <summary>The Gamma-Gamma fallback's prior (its spend scale is set by the caller when there may be no repeat buyers).</summary>
    public GammaGammaPrior GammaGammaPrior { get; init; } = new();
}

/// <summary>
/// Fits BG/NBD and Gamma-Gamma the way the LTV stage needs them: maximum likelihood when the data identify it, checked
/// (<see cref="Diagnose(BgNbdFit, double, LtvFitOptions)"/>), and the maximum a posteriori fallback when they do not.
/// On rich data (CDNOW) the maximum likelihood fit passes every check and is returned exactly as
/// <see cref="BgNbd.Fit"/> gives it.
/// </summary>
public static class LtvFits
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>BG/NBD: maximum likelihood, checked; the MAP fallback when degenerate or with too few repeat buyers.</summary>
    /// <param name="customers">A validated summary with at least one customer.</param>
    /// <param name="options">Checks and fallback; null: the defaults.</param>
    public static CheckedBgNbdFit FitBgNbd(IReadOnlyList<CustomerSummary> customers, LtvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(customers);
        options ??= new LtvFitOptions();
        var fitOptions = new BgNbdFitOptions { Penalizer = options.Penalizer, ValidateInput = false };
        int repeatBuyers = customers.Count(c => c.Frequency > 0);
        double meanT = customers.Count == 0 ? 0 : customers.Average(c => c.T);
        FitDiagnosis diagnosis;
        BgNbdFit? mle = null;
        if (repeatBuyers < options.MinRepeatBuyers)
        {
            diagnosis = new FitDiagnosis(FitStatus.InsufficientData, [TooFewRepeatBuyers(repeatBuyers, options.MinRepeatBuyers)]);
        }
        else
        {
            mle = BgNbd.Fit(customers, fitOptions);
            diagnosis = Diagnose(mle, meanT, options);
        }
        if (mle is not null && (diagnosis.Status <= FitStatus.Weak || !options.FallBack))
        {
            return new CheckedBgNbdFit(mle, FitEstimator.MaximumLikelihood, diagnosis);
        }
        if (!options.FallBack)
        {
            // Too few repeat buyers and no fallback wanted: the plain fit is all there is.
            return new CheckedBgNbdFit(BgNbd.Fit(customers, fitOptions), FitEstimator.MaximumLikelihood, diagnosis);
        }
        var map = BgNbd.FitMap(customers, options.BgNbdPrior, new BgNbdFitOptions { ValidateInput = false });
        return new CheckedBgNbdFit(map, FitEstimator.MaximumAPosteriori, WithFallback(diagnosis, map.Convergence));
    }

    /// <summary>
    /// Gamma-Gamma on the repeat buyers with a positive spend: maximum likelihood, checked; the MAP fallback when
    /// degenerate or with too few of them (with none, the fallback is the prior's centre: the mean purchase value of
    /// <see cref="GammaGammaPrior.SpendScale"/>).
    /// </summary>
    /// <param name="spenders">A validated summary whose repeat buyers all have a monetary value &gt; 0 (others left out by the caller).</param>
    /// <param name="options">Checks and fallback; null: the defaults.</param>
    public static CheckedGammaGammaFit FitGammaGamma(IReadOnlyList<CustomerSummary> spenders, LtvFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spenders);
        options ??= new LtvFitOptions();
        var fitOptions = new GammaGammaFitOptions { Penalizer = options.Penalizer, ValidateInput = false };
        var repeat = spenders.Where(c => c.Frequency > 0).ToList();
        FitDiagnosis diagnosis;
        GammaGammaFit? mle = null;
        if (repeat.Count < Math.Max(2, options.MinRepeatBuyers))
        {
            diagnosis = new FitDiagnosis(FitStatus.InsufficientData, [TooFewRepeatBuyers(repeat.Count, Math.Max(2, options.MinRepeatBuyers), " with a positive spend")]);
        }
        else
        {
            mle = GammaGamma.Fit(spenders, fitOptions);
            diagnosis = Diagnose(mle, repeat.Average(c => c.MonetaryValue), options);
        }
        if (mle is not null && (diagnosis.Status <= FitStatus.Weak || !options.FallBack))
        {
            return new CheckedGammaGammaFit(mle, FitEstimator.MaximumLikelihood, diagnosis);
        }
        if (!options.FallBack && repeat.Count >= 2)
        {
            return new CheckedGammaGammaFit(GammaGamma.Fit(spenders, fitOptions), FitEstimator.MaximumLikelihood, diagnosis);
        }
        var map = GammaGamma.FitMap(spenders, options.GammaGammaPrior, new GammaGammaFitOptions { ValidateInput = false });
        return new CheckedGammaGammaFit(map, FitEstimator.MaximumAPosteriori, WithFallback(diagnosis, map.Convergence));
    }

    /// <summary>
    /// The status of a BG/NBD maximum likelihood fit: degenerate when it did not converge, its Hessian is not positive
    /// definite or not finite, a standard error is not finite, or a parameter is outside its sane range; weak when a
    /// standard error exceeds <see cref="LtvFitOptions.MaxRelativeStandardError"/> × its parameter; else ok.
    /// </summary>
    /// <param name="fit">The fit (with standard errors).</param>
    /// <param name="meanT">Mean T of the customers fitted: the time scale α is compared with.</param>
    /// <param name="options">The thresholds.</param>
    public static FitDiagnosis Diagnose(BgNbdFit fit, double meanT, LtvFitOptions options)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(options);
        var p = fit.Parameters;
        var se = fit.StandardErrors;
        return Diagnose(
            fit.Convergence, fit.Hessian,
            [("r", p.R, se?.R, Kind.Shape, 1), ("alpha", p.Alpha, se?.Alpha, Kind.Scale, meanT), ("a", p.A, se?.A, Kind.Shape, 1), ("b", p.B, se?.B, Kind.Shape, 1)],
            [], options);
    }

    /// <summary>The status of a Gamma-Gamma maximum likelihood fit (as for BG/NBD, plus q ≤ 1: an infinite mean order value).</summary>
    /// <param name="fit">The fit (with standard errors).</param>
    /// <param name="meanSpend">Mean monetary value of the repeat buyers fitted: the scale γ is compared with.</param>
    /// <param name="options">The thresholds.</param>
    public static FitDiagnosis Diagnose(GammaGammaFit fit, double meanSpend, LtvFitOptions options)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(options);
        var p = fit.Parameters;
        var se = fit.StandardErrors;
        var extra = new List<string>();
        if (!(p.Q > 1))
        {
            extra.Add($"q = {G(p.Q)} is not above 1, so the mean order value of a new customer is infinite");
        }
        return Diagnose(
            fit.Convergence, fit.Hessian,
            [("p", p.P, se?.P, Kind.Shape, 1), ("q", p.Q, se?.Q, Kind.Shape, 1), ("gamma", p.Gamma, se?.Gamma, Kind.Scale, meanSpend)],
            extra, options);
    }

    private enum Kind
    {
        Shape,
        Scale,
    }

    private static FitDiagnosis Diagnose(OptimizationReport convergence, HessianState hessian,
        (string Name, double Value, double? Se, Kind Kind, double Reference)[] parameters, List<string> degenerate, LtvFitOptions options)
    {
        var reasons = new List<string>(degenerate);
        foreach (var (name, value, _, kind, reference) in parameters)
        {
            var (lo, hi) = kind == Kind.Shape ? (options.ShapeMin, options.ShapeMax) : (options.ScaleRatioMin * reference, options.ScaleRatioMax * reference);
            if (!(value >= lo && value <= hi))
            {
                reasons.Add(kind == Kind.Shape
                    ? $"{name} = {G(value)} is outside the sane range [{G(lo)}, {G(hi)}]"
                    : $"{name} = {G(value)} is outside the sane range [{G(lo)}, {G(hi)}] ({G(options.ScaleRatioMin)} to {G(options.ScaleRatioMax)} times the data's scale {G(reference)})");
            }
        }
        if (!convergence.Converged)
        {
            reasons.Add($"the optimiser did not converge ({convergence.Message})");
        }
        switch (hessian)
        {
            case HessianState.NotPositiveDefinite:
                reasons.Add("the Hessian is not positive definite (the likelihood is flat in some direction or its maximum is on the boundary)");
                break;
            case HessianState.NotFinite:
                reasons.Add("the Hessian is not finite");
                break;
            case HessianState.PositiveDefinite:
                var nonFinite = parameters.Where(x => x.Se is { } s && !double.IsFinite(s)).Select(x => x.Name).ToList();
                if (nonFinite.Count > 0)
                {
                    reasons.Add($"the standard errors of {string.Join(", ", nonFinite)} are not finite");
                }
                break;
            case HessianState.NotComputed:
                break;
        }
        if (reasons.Count > 0)
        {
            return new FitDiagnosis(FitStatus.Degenerate, reasons);
        }
        var loose = parameters
            .Where(x => x.Se is { } s && s > options.MaxRelativeStandardError * x.Value)
            .Select(x => $"{x.Name} = {G(x.Value)} is uncertain (standard error {G(x.Se!.Value)})")
            .ToList();
        return loose.Count > 0 ? new FitDiagnosis(FitStatus.Weak, loose) : new FitDiagnosis(FitStatus.Ok, []);
    }

    private static string TooFewRepeatBuyers(int found, int needed, string what = "") =>
        $"only {found} repeat buyer{(found == 1 ? "" : "s")}{what} (at least {needed} are needed to estimate the model from the data)";

    private static FitDiagnosis WithFallback(FitDiagnosis diagnosis, OptimizationReport convergence) =>
        diagnosis with
        {
            Reasons = [.. diagnosis.Reasons, convergence.Converged
                ? "fell back to the maximum a posteriori fit with weakly informative priors"
                : $"fell back to the maximum a posteriori fit with weakly informative priors, which did not converge either ({convergence.Message})"],
        };

    /// <summary>A parameter for a sentence: 0.793, 2.43, 1000, 9.35E+7, 4.12E-6.</summary>
    private static string G(double v) =>
        v == 0 || (Math.Abs(v) >= 1e-3 && Math.Abs(v) < 1e4) ? v.ToString("0.###", Inv) : v.ToString("0.##E+0", Inv);
}
