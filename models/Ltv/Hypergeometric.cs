namespace Pipeline.Models.Ltv;

/// <summary>
/// The Gauss hypergeometric pieces BG/NBD predictions need, arranged so that nothing overflows or cancels, over the
/// whole parameter range an optimiser can return (shapes from 1e-15 to 1e12, horizons up to 10¹² × (α + T)).
/// </summary>
/// <remarks>
/// <para>
/// The textbook conditional expectation contains
/// G = (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) with z = t/(α+T+t). Summed directly, that ₂F₁ series grows like
/// (1−z)^−(r+x+1−a): for large x it needs thousands of terms and overflows, and it is then multiplied by a tiny
/// (1−z)^(r+x). Euler's transformation ₂F₁(A',B';C;z) = (1−z)^(C−A'−B') ₂F₁(C−A', C−B'; C; z) turns G into
/// (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose upper parameters do not grow with x, so large frequencies
/// converge in a handful of terms. Writing ₂F₁ = 1 + (B/C)·S (B = a−1, C = a+b+x−1) then lets the prefactor
/// (a+b+x−1)/(a−1) be cancelled analytically, which removes the 0/0 at a = 1 and at a + b + x = 1 (a + b &lt; 1, x = 0).
/// </para>
/// <para>
/// That series is the fast path, and on well-identified fits (CDNOW, or any data with a few hundred repeat buyers) it
/// is the only one used, so its results are unchanged to the last bit. It fails in two corners: z near 1 (a horizon
/// many times α + T: the terms shrink like zᵏ) and large a (a degenerate fit: a = 9.35e7, b = 1.55e8 on a month of
/// data, where the terms grow like (a·z)ᵏ/k! up to k ≈ a·z before they shrink); and it loses digits to cancellation when
/// b is large (the result is then a small difference of terms of size (a+b+x)·z). When it would need more than
/// <see cref="SeriesTermBudget"/> terms or lose more than two digits, Pfaff's transformation gives an alternating series
/// in −τ, τ = t/(α+T), whose first term is the answer to leading order (for τ &lt; 1); failing that, the same quantity
/// is computed from its integral form Q = E[(1 − (1 + pτ)^−(r+x)) / p] over p ~ Beta(a, b+x) (the expected purchases of a customer who is
/// alive, averaged over the posterior drop-out probability): the trapezoid rule in v = logit p, which converges
/// geometrically because the integrand is analytic in the strip |Im v| &lt; π and decays at both ends; the decaying
/// tails where the integrand is a pure exponential to machine precision are summed in closed form, so a tiny a (a
/// slowly decaying left tail) costs nothing extra. All three agree with reference values computed independently to
/// ~1e-14 (tests/Pipeline.Tests/Models/Ltv/HypergeometricTests.cs: exact rational arithmetic on 120-digit fixed-point
/// integers for Pfaff's series and for Euler's series with an integer B, and closed forms near z = 1).
/// </para>
/// </remarks>
internal static class Hypergeometric
{
    /// <summary>
    /// Terms a series may take before the next form is tried: the integral costs a few hundred integrand evaluations,
    /// a series term a few nanoseconds, so beyond ~10⁴ terms the integral is both faster and as exact.
    /// </summary>
    internal const int SeriesTermBudget = 20_000;

    /// <summary>
    /// Largest ratio of what a series form subtracts (its largest term, the leading term of a final difference) to its
    /// result that is accepted: 100 loses at most two of the sixteen digits, so every path is good to ~1e-14.
    /// </summary>
    private const double CancellationLimit = 100;

    /// <summary>
    /// C·(1 − (1−z)^B ₂F₁(A, B; C; z)) / B for z in [0, 1), computed without dividing by B or C; the BG/NBD reading is
    /// Q(s, a, β, τ) (see <see cref="AliveExpectationByQuadrature"/>) with s = C − A, a = B + 1, β = C − B,
    /// τ = z/(1 − z), valid for s, a, β &gt; 0.
    /// </summary>
    /// <param name="a">A (any real &gt; −2 in BG/NBD use).</param>
    /// <param name="b">B (any real; B = 0 is handled as the limit).</param>
    /// <param name="c">C &gt; −1 (so C + k &gt; 0 for every k ≥ 1).</param>
    /// <param name="z">Argument in [0, 1).</param>
    /// <param name="log1mz">ln(1 − z), passed in because callers can compute it without cancellation (−log1p(t/(α+T))).</param>
    public static double ScaledOneMinus(double a, double b, double c, double z, double log1mz)
    {
        if (z == 0)
        {
            return 0;
        }
        if (TrySeries(a, b, c, z, log1mz, out double value))
        {
            return value;
        }
        double tau = ExpMinusOne(-log1mz);
        return TryPfaffSeries(c - a, b + 1, c + 1, tau, out value) ? value : AliveExpectationByQuadrature(c - a, b + 1, c - b, tau);
    }

    /// <summary>
    /// E[purchases in (T, T+t] | alive, x] = Q(r + x, a, b + x, τ) for BG/NBD parameters (r, a, b), frequency x and
    /// τ = t/(α+T): the series of <see cref="ScaledOneMinus"/> when it converges quickly and without cancellation, else
    /// Pfaff's series in −τ, else the integral; the last two fed with r + x, a and b + x themselves (not recovered from
    /// A, B, C, which would cost digits when a and b are huge).
    /// </summary>
    internal static double AliveExpectation(double r, double a, double b, int x, double tau, double z, double log1mz)
    {
        if (z == 0)
        {
            return 0;
        }
        if (TrySeries(a + b - 1 - r, a - 1, a + b + x - 1, z, log1mz, out double value))
        {
            return value;
        }
        return TryPfaffSeries(r + x, a, a + b + x, tau, out value) ? value : AliveExpectationByQuadrature(r + x, a, b + x, tau);
    }

    /// <summary>
    /// The series form of <see cref="ScaledOneMinus"/>, C(1 − (1−z)^B)/B − (1−z)^B·S; false when it is too long or
    /// would lose more than two digits: to the largest term of S (terms of both signs when A &lt; −1) or to the final
    /// difference (when the result is much smaller than C·z, i.e. a + b + x ≫ r + x: a large b).
    /// </summary>
    private static bool TrySeries(double a, double b, double c, double z, double log1mz, out double value)
    {
        value = double.NaN;
        if (!TryScaledSeries(a, b, c, z, SeriesTermBudget, out double cs, out double largestTerm))
        {
            return false;
        }
        // C · (−expm1(B·L)/B) with the B → 0 limit −C·L.
        double bl = b * log1mz;
        double first = b == 0 ? -c * log1mz : -c * ExpMinusOne(bl) / b;
        double scale = Math.Exp(bl);
        value = first - scale * cs;
        return double.IsFinite(value) && Math.Abs(first) + scale * largestTerm <= CancellationLimit * Math.Abs(value);
    }

    /// <summary>
    /// Q(s, a, β, τ) by Pfaff's transformation (1−z)^B ₂F₁(A, B; C; z) = ₂F₁(C−A, B; C; −τ):
    /// Q = Σ_{k≥1} (−1)^(k+1) (s)_k (a)_{k−1} τ^k / ((a+β)_{k−1} k!), an alternating series whose first term sτ is the
    /// answer to leading order. Used for τ &lt; 1 when Euler's form cancels (a large b); false when its terms grow (sτ
    /// large) or it is slow.
    /// </summary>
    /// <param name="s">r + x.</param>
    /// <param name="a">a.</param>
    /// <param name="aPlusBeta">a + b + x.</param>
    /// <param name="tau">t/(α+T).</param>
    /// <param name="value">Q when true.</param>
    private static bool TryPfaffSeries(double s, double a, double aPlusBeta, double tau, out double value)
    {
        value = double.NaN;
        if (!(tau < 1))
        {
            return false;
        }
        double term = s * tau, sum = term, largest = Math.Abs(term);
        for (int k = 1; k < SeriesTermBudget; k++)
        {
            term *= -(s + k) * (a + k - 1) * tau / ((aPlusBeta + k - 1) * (k + 1));
            sum += term;
            largest = Math.Max(largest, Math.Abs(term));
            // Alternating and eventually decreasing (ratio → τ): the tail is below the next term.
            if (Math.Abs(term) <= 1e-17 * Math.Abs(sum))
            {
                value = sum;
                return double.IsFinite(sum) && largest <= CancellationLimit * Math.Abs(sum);
            }
        }
        return false;
    }

    /// <summary>
    /// e^v − 1 to full relative precision (Kahan's trick). Not MathNet 5.0.0's Expm1, whose short Taylor series gives only
    /// ~7 correct digits near |v| = 0.07 (0.0739413498 vs 0.0739413654), enough to move BG/NBD predictions at the 1e-7 level.
    /// </summary>
    internal static double ExpMinusOne(double v)
    {
        double u = Math.Exp(v);
        if (u == 1.0)
        {
            return v;
        }
        double um1 = u - 1.0;
        return um1 == -1.0 ? -1.0 : um1 * v / Math.Log(u);
    }

    /// <summary>
    /// S = Σ_{k≥1} (A)_k (B+1)_{k−1} z^k / ((C+1)_{k−1} k!), so that ₂F₁(A, B; C; z) = 1 + (B/C)·S
    /// (using (B)_k = B·(B+1)_{k−1} and (C)_k = C·(C+1)_{k−1}); neither B nor C appears as a divisor.
    /// False when it has not converged within <paramref name="maxTerms"/> terms (or overflowed).
    /// </summary>
    internal static bool TryScaledSeries(double a, double b, double c, double z, int maxTerms, out double sum, out double largestTerm)
    {
        double term = a * z; // k = 1
        sum = term;
        largestTerm = Math.Abs(term);
        for (int k = 1; k < maxTerms; k++)
        {
            double ratio = z * (a + k) * (b + k) / ((c + k) * (k + 1));
            term *= ratio;
            sum += term;
            largestTerm = Math.Max(largestTerm, Math.Abs(term));
            if (term == 0)
            {
                return true;
            }
            if (!double.IsFinite(sum))
            {
                return false;
            }
            // Once the term ratio is below one and the terms shrink geometrically, the remaining tail is
            // at most |term|·ρ/(1−ρ) with ρ = max(ratio, z) (the ratio tends to z monotonically in the tail).
            if (ratio < 1 && k > 2)
            {
                double rho = Math.Max(Math.Abs(ratio), z);
                if (rho < 1 && Math.Abs(term) * rho / (1 - rho) <= 1e-16 * Math.Abs(sum))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>
    /// Q(s, a, β, τ) = E[(1 − (1 + pτ)^−s) / p] for p ~ Beta(a, β), all of s, a, β &gt; 0 and τ ≥ 0: the expected
    /// purchases over a horizon τ·(α+T) of a customer who is alive, with λ ~ Gamma(s, α+T) integrated out in closed
    /// form and p by the trapezoid rule in v = logit p. Equal to C·(1 − (1−z)^B ₂F₁(C−s, B; C; z))/B with B = a − 1,
    /// C = a + β − 1, z = τ/(1+τ).
    /// </summary>
    /// <remarks>
    /// In v the integrand is I(v) = g(σ(v)) · σ(v)^a σ(−v)^β / B(a, β), g(p) = (1 − (1+pτ)^−s)/p ≤ sτ, decreasing in
    /// p. It is evaluated relative to the peak v* = ln(a/β) of the Beta factor, whose log is written with log1p/expm1 of
    /// the offset and Stirling remainders for the normalising constant, so a = 1e8 costs no digits. Step
    /// h = min(0.2, sd/3) with sd = √(1/a + 1/β) the width of the peak: the trapezoid error is then below e^−40. The
    /// walk from v* stops on each side when a bound on what is left (log-concavity of the Beta factor, monotonicity of
    /// g) is below 1e-17 of the sum, or when the integrand has become a pure exponential to machine precision
    /// (σ(v) = e^v, g = sτ on the left; σ(−v) = e^−v, g = g(1) on the right), whose remaining grid sum is geometric.
    /// </remarks>
    internal static double AliveExpectationByQuadrature(double s, double a, double beta, double tau)
    {
        if (!(tau > 0))
        {
            return 0;
        }
        if (double.IsPositiveInfinity(tau))
        {
            // (1 + pτ)^−s → 0 for every p > 0: Q = E[1/p] = (a+β−1)/(a−1), infinite for a ≤ 1 (an optimiser's α of
            // 1e-308 gives τ = ∞ for a customer with T = 0).
            return a > 1 ? (a + beta - 1) / (a - 1) : double.PositiveInfinity;
        }
        // ln σ(v*) and ln σ(−v*) with σ(v*) = a/(a+β), each without cancellation whatever the ratio of a to β.
        var beta0 = new BetaPeak(-BgNbd.LogOnePlus(beta / a), -BgNbd.LogOnePlus(a / beta));
        double vStar = Math.Log(a) - Math.Log(beta);
        double logPeak = LogBetaPeak(a, beta);
        double h = Math.Min(0.2, Math.Sqrt(1 / a + 1 / beta) / 3);
        double gZero = s * tau;
        // Beyond these the integrand equals C·e^(a v) (left) or C·e^(−β v) (right) to a relative 1e-17.
        double vLeft = -39.2 - Math.Log(a + beta + (s + 1) * tau + 1);
        double vRight = 39.2 + Math.Log(a + beta + s + 2);

        // Integrand, Beta-factor log and the slope ℓ'(v) = a σ(−v) − β σ(v) at offset d from the peak; σ(v) and
        // σ(−v) each computed directly (1 − σ(v) would be 0 at v = 300, where a = 1e154 still makes a σ(−v) large).
        (double Value, double LogDensity, double Slope) At(double d)
        {
            double logDensity = logPeak + LogBetaFactorRatio(a, beta, beta0, d);
            double v = vStar + d;
            double e = Math.Exp(-Math.Abs(v));
            double p = v >= 0 ? 1 / (1 + e) : e / (1 + e);
            double pBar = v >= 0 ? e / (1 + e) : 1 / (1 + e);
            double g = p == 0 ? gZero : -ExpMinusOne(-s * BgNbd.LogOnePlus(p * tau)) / p;
            return (g * Math.Exp(logDensity), logDensity, a * pBar - beta * p);
        }

        // Neumaier-compensated: a few hundred terms summed naively would cost ~1e-14.
        double sum = At(0).Value, compensation = 0;
        void Add(double term)
        {
            double t = sum + term;
            compensation += Math.Abs(sum) >= Math.Abs(term) ? (sum - t) + term : (term - t) + sum;
            sum = t;
        }
        // A safety net, never reached: each side closes within ~40 peak widths or at the exponential tail.
        const int maxSteps = 1_000_000;
        // Right of the peak: g is decreasing and the Beta factor log-concave, so what is left is at most
        // value·q/(1 − q) with q = e^(h·ℓ'(v)), ℓ'(v) < 0.
        for (int k = 1; k < maxSteps; k++)
        {
            double d = k * h;
            var (value, _, slope) = At(d);
            Add(value);
            if (vStar + d >= vRight)
            {
                Add(value * GeometricTail(beta * h));
                break;
            }
            if (slope < 0 && value * GeometricTail(-slope * h) <= 1e-17 * sum)
            {
                break;
            }
        }
        // Left of the peak: g ≤ sτ, so what is left is at most sτ·e^ℓ(v)·q/(1 − q) with q = e^(−h·ℓ'(v)), ℓ'(v) > 0.
        for (int k = 1; k < maxSteps; k++)
        {
            double d = -k * h;
            var (value, logDensity, slope) = At(d);
            Add(value);
            if (vStar + d <= vLeft)
            {
                Add(value * GeometricTail(a * h));
                break;
            }
            if (slope > 0 && gZero * Math.Exp(logDensity) * GeometricTail(slope * h) <= 1e-17 * sum)
            {
                break;
            }
        }
        return (sum + compensation) * h;
    }

    /// <summary>ln σ(v*) and ln σ(−v*) at the Beta factor's peak, σ(v*) = a/(a+β).</summary>
    private readonly record struct BetaPeak(double LogSigma, double LogSigmaBar)
    {
        public double Sigma => Math.Exp(LogSigma);

        public double SigmaBar => Math.Exp(LogSigmaBar);
    }

    /// <summary>q/(1 − q) with q = e^(−x), x &gt; 0: the sum of a geometric tail after its first term.</summary>
    private static double GeometricTail(double x) => 1 / ExpMinusOne(x);

    /// <summary>
    /// ℓ(v* + d) − ℓ(v*) for ℓ(v) = a ln σ(v) + β ln σ(−v), which is −a·ln(σ* + σ̄*·e^−d) − β·ln(σ̄* + σ*·e^d)
    /// (σ(v* + d) = σ*/(σ* + σ̄* e^−d)). Near a sharp peak (a, β ~ 1e8) both terms are ~1e4 and cancel to O(1); their
    /// first-order parts cancel exactly (a σ̄* = β σ* = κ), so within |d| &lt; ½ they are taken out analytically:
    /// −a·L(σ̄* e₋) − β·L(σ* e₊) − 4κ sinh²(d/2), e± = expm1(±d), L(u) = log1p(u) − u. Farther out each log is a
    /// log-sum-exp, exact even where σ̄* is 1e-46 and 1 + σ*·expm1(d) would round to 0.
    /// </summary>
    private static double LogBetaFactorRatio(double a, double beta, BetaPeak peak, double d)
    {
        if (!(Math.Abs(d) < 0.5))
        {
            return -a * LogAddExp(peak.LogSigma, peak.LogSigmaBar - d) - beta * LogAddExp(peak.LogSigmaBar, peak.LogSigma + d);
        }
        double sigma = peak.Sigma, sigmaBar = peak.SigmaBar;
        double sinhHalf = Math.Sinh(0.5 * d);
        return -a * LogOnePlusMinusIdentity(sigmaBar * ExpMinusOne(-d)) - beta * LogOnePlusMinusIdentity(sigma * ExpMinusOne(d))
            - 4 * (a * sigmaBar) * sinhHalf * sinhHalf;
    }

    /// <summary>ln(e^x + e^y) without overflow.</summary>
    private static double LogAddExp(double x, double y)
    {
        double hi = Math.Max(x, y), lo = Math.Min(x, y);
        return double.IsNegativeInfinity(lo) ? hi : hi + BgNbd.LogOnePlus(Math.Exp(lo - hi));
    }

    /// <summary>
    /// log1p(u) − u without cancellation: for |u| &lt; ½ from log1p(u) = 2 atanh(w), w = u/(2+u), which gives
    /// −u²/(2+u) + 2(w³/3 + w⁵/5 + …) (w² ≤ 1/25: a dozen terms); directly otherwise.
    /// </summary>
    internal static double LogOnePlusMinusIdentity(double u)
    {
        if (!(Math.Abs(u) < 0.5))
        {
            return BgNbd.LogOnePlus(u) - u;
        }
        double w = u / (2 + u), w2 = w * w;
        double power = w * w2, series = 0;
        for (int k = 3; k < 60; k += 2)
        {
            double term = power / k;
            series += term;
            if (Math.Abs(term) <= 1e-18 * Math.Abs(series))
            {
                break;
            }
            power *= w2;
        }
        return -u * u / (2 + u) + 2 * series;
    }

    /// <summary>
    /// ln of the Beta(a, β) density in logit coordinates at its peak, σ*^a σ̄*^β / B(a, β) with σ* = a/(a+β):
    /// ½ ln(aβ/(a+β)) − ½ ln 2π − μ(a) − μ(β) + μ(a+β), μ the Stirling remainder (no cancellation of huge lnΓ values).
    /// </summary>
    internal static double LogBetaPeak(double a, double beta) =>
        0.5 * (Math.Log(a) + Math.Log(beta) - Math.Log(a + beta)) - HalfLogTwoPi - StirlingRemainder(a) - StirlingRemainder(beta) + StirlingRemainder(a + beta);

    private const double HalfLogTwoPi = 0.91893853320467274178;

    /// <summary>
    /// μ(x) = lnΓ(x) − (x − ½) ln x + x − ½ ln 2π, the Stirling remainder: its asymptotic series at y = x + n ≥ 8 (error
    /// below 1e-15), brought down by lnΓ(x) = lnΓ(y) − ln(x(x+1)…(y−1)). Not from MathNet's GammaLn, whose Lanczos
    /// approximation is off by up to ~3e-14 in this difference (at x = 5.7), which would show in Q.
    /// </summary>
    internal static double StirlingRemainder(double x)
    {
        double y = x, logProduct = 0;
        while (y < 8)
        {
            logProduct += Math.Log(y);
            y += 1;
        }
        double inv = 1 / y, inv2 = inv * inv;
        // Bernoulli-number coefficients B₂ₖ/(2k(2k−1)): 1/12, −1/360, 1/1260, −1/1680, 1/1188, −691/360360, 1/156.
        double muY = inv * (1.0 / 12 + inv2 * (-1.0 / 360 + inv2 * (1.0 / 1260 + inv2 * (-1.0 / 1680 + inv2 * (1.0 / 1188 + inv2 * (-691.0 / 360360 + inv2 / 156))))));
        return y == x ? muY : muY + (y - 0.5) * Math.Log(y) - y - logProduct - (x - 0.5) * Math.Log(x) + x;
    }
}
