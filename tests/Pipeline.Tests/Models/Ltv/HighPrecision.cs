using System.Numerics;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>
/// Reference values of the BG/NBD hypergeometric quantity computed without floating point: every input double is
/// converted to its exact rational value (mantissa / 2^k), the series terms are exact rational recurrences applied to a
/// fixed-point <see cref="BigInteger"/> with <see cref="Digits"/> decimal digits (each step truncates by at most 10^−120),
/// so cancellation between terms of alternating sign costs nothing until terms reach 10^100.
/// </summary>
/// <remarks>
/// The quantity is Q(s, a, β, τ) = E[(1 − (1+pτ)^−s)/p], p ~ Beta(a, β), which the production code writes as
/// C·(1 − (1−z)^B ₂F₁(C−s, B; C; z))/B with B = a − 1, C = a + β − 1, z = τ/(1+τ). The references use two routes that
/// the production code does not:
/// <list type="bullet">
/// <item>Pfaff's transformation (1−z)^B ₂F₁(A, B; C; z) = ₂F₁(C−A, B; C; z/(z−1)), which with z/(z−1) = −τ and the
/// (B/C)·S split gives Q = Σ_{k≥1} (−1)^(k+1) (s)_k (a)_{k−1} τ^k / ((a+β)_{k−1} k!): an alternating series in −τ,
/// convergent for τ &lt; 1 (z &lt; ½) whatever the size of a and β, which is where the production series fails.</item>
/// <item>Euler's form with an integer B = a − 1 ≥ 1, whose (1−z)^B is an exact rational, summed to convergence in z
/// (z up to 0.999 takes ~10⁵ exact steps).</item>
/// </list>
/// </remarks>
internal static class HighPrecision
{
    private const int Digits = 120;

    private static readonly BigInteger One = BigInteger.Pow(10, Digits);

    /// <summary>An exact fraction N/D with D &gt; 0.</summary>
    private readonly record struct Rational(BigInteger N, BigInteger D)
    {
        public static Rational Of(double v)
        {
            if (!double.IsFinite(v))
            {
                throw new ArgumentOutOfRangeException(nameof(v), v, "finite values only");
            }
            long bits = BitConverter.DoubleToInt64Bits(v);
            bool negative = bits < 0;
            int exponent = (int)((bits >> 52) & 0x7FF);
            long mantissa = bits & 0xF_FFFF_FFFF_FFFF;
            if (exponent == 0)
            {
                exponent++;
            }
            else
            {
                mantissa |= 1L << 52;
            }
            exponent -= 1075; // v = mantissa · 2^exponent
            BigInteger n = negative ? -mantissa : mantissa;
            return exponent >= 0 ? new Rational(n * BigInteger.Pow(2, exponent), 1) : new Rational(n, BigInteger.Pow(2, -exponent));
        }

        public static Rational operator +(Rational x, Rational y) => new(x.N * y.D + y.N * x.D, x.D * y.D);

        public static Rational operator +(Rational x, int k) => new(x.N + k * x.D, x.D);
    }

    private static double ToDouble(BigInteger fixedPoint) =>
        (double)(fixedPoint * BigInteger.Pow(2, 400) / One) / Math.Pow(2, 400);

    /// <summary>Q(s, a, β, τ) by Pfaff's transformation (τ &lt; 1 only).</summary>
    public static double AliveExpectationPfaff(double s, double a, double beta, double tau)
    {
        if (!(tau < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(tau), tau, "the series in −τ converges for τ < 1 only");
        }
        Rational rs = Rational.Of(s), ra = Rational.Of(a), rc = Rational.Of(a) + Rational.Of(beta), rt = Rational.Of(tau);
        // t₁ = sτ; t_{k+1} = −t_k (s+k)(a+k−1) τ / ((a+β+k−1)(k+1)).
        BigInteger term = One * rs.N * rt.N / (rs.D * rt.D);
        BigInteger sum = term;
        for (int k = 1; term != 0; k++)
        {
            Rational sk = rs + k, ak = ra + (k - 1), ck = rc + (k - 1);
            BigInteger numerator = sk.N * ak.N * rt.N * ck.D;
            BigInteger denominator = sk.D * ak.D * rt.D * ck.N * (k + 1);
            term = -term * numerator / denominator;
            sum += term;
            if (k > 10_000_000)
            {
                throw new InvalidOperationException("Pfaff series did not converge");
            }
        }
        return ToDouble(sum);
    }

    /// <summary>
    /// C·(1 − (1−z)^B ₂F₁(A, B; C; z))/B for an integer B ≥ 1, by the series in z: C(1 − w^B)/B − w^B·S with w = 1 − z and
    /// S = Σ_{k≥1} (A)_k (B+1)_{k−1} z^k / ((C+1)_{k−1} k!) (the same expansion as the production code, but exact).
    /// </summary>
    public static double ScaledOneMinusEuler(double a, int b, double c, double z)
    {
        if (b < 1 || !(z is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(b), b, "integer B ≥ 1 and 0 ≤ z < 1");
        }
        Rational ra = Rational.Of(a), rc = Rational.Of(c), rz = Rational.Of(z);
        var w = new Rational(rz.D - rz.N, rz.D);
        BigInteger wbN = BigInteger.Pow(w.N, b), wbD = BigInteger.Pow(w.D, b);
        // S in fixed point.
        BigInteger term = One * ra.N * rz.N / (ra.D * rz.D);
        BigInteger s = term;
        for (int k = 1; term != 0; k++)
        {
            Rational ak = ra + k, ck = rc + k;
            term = term * ak.N * (b + k) * rz.N * ck.D / (ak.D * rz.D * ck.N * (k + 1));
            s += term;
            if (k > 10_000_000)
            {
                throw new InvalidOperationException("series did not converge");
            }
        }
        // C(1 − w^B)/B − w^B·S
        BigInteger first = One * rc.N * (wbD - wbN) / (rc.D * wbD * b);
        BigInteger second = s * wbN / wbD;
        return ToDouble(first - second);
    }
}
