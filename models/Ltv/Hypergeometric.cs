namespace Pipeline.Models.Ltv;

/// <summary>
/// The Gauss hypergeometric pieces BG/NBD predictions need, arranged so that nothing overflows or cancels.
/// </summary>
/// <remarks>
/// The textbook conditional expectation contains
/// G = (1−z)^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) with z = t/(α+T+t). Summed directly, that ₂F₁ series grows like
/// (1−z)^−(r+x+1−a): for large x it needs thousands of terms and overflows, and it is then multiplied by a tiny
/// (1−z)^(r+x). Euler's transformation ₂F₁(A',B';C;z) = (1−z)^(C−A'−B') ₂F₁(C−A', C−B'; C; z) turns G into
/// (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose upper parameters do not grow with x, so large frequencies
/// converge in a handful of terms. Writing ₂F₁ = 1 + (B/C)·S (B = a−1, C = a+b+x−1) then lets the prefactor
/// (a+b+x−1)/(a−1) be cancelled analytically, which removes the 0/0 at a = 1 and at a + b + x = 1 (a + b &lt; 1, x = 0).
/// </remarks>
internal static class Hypergeometric
{
    /// <summary>Hard cap on series terms; reached only when t exceeds α+T by a factor of ~10⁵.</summary>
    private const int MaxTerms = 5_000_000;

    /// <summary>
    /// C·(1 − (1−z)^B ₂F₁(A, B; C; z)) / B for z in [0, 1), computed without dividing by B or C.
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
        // C · (−expm1(B·L)/B) with the B → 0 limit −C·L.
        double bl = b * log1mz;
        double first = b == 0 ? -c * log1mz : -c * ExpMinusOne(bl) / b;
        double cs = ScaledSeries(a, b, c, z);
        return first - Math.Exp(bl) * cs;
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
    /// </summary>
    internal static double ScaledSeries(double a, double b, double c, double z)
    {
        double term = a * z; // k = 1
        double sum = term;
        for (int k = 1; k < MaxTerms; k++)
        {
            double ratio = z * (a + k) * (b + k) / ((c + k) * (k + 1));
            term *= ratio;
            sum += term;
            if (term == 0)
            {
                return sum;
            }
            // Once the term ratio is below one and the terms shrink geometrically, the remaining tail is
            // at most |term|·ρ/(1−ρ) with ρ = max(ratio, z) (the ratio tends to z monotonically in the tail).
            if (ratio < 1 && k > 2)
            {
                double rho = Math.Max(Math.Abs(ratio), z);
                if (rho < 1 && Math.Abs(term) * rho / (1 - rho) <= 1e-16 * Math.Abs(sum))
                {
                    return sum;
                }
            }
        }
        throw new InvalidOperationException(
            $"The hypergeometric series did not converge in {MaxTerms} terms (z = {z}); the prediction horizon is too long relative to α + T. Predict over shorter horizons.");
    }
}
