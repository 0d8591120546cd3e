namespace Pipeline.Generate;

/// <summary>
/// Deterministic pseudo-random source: xoshiro256** seeded through SplitMix64, plus the few distributions
/// the generator needs. Implemented here (not <see cref="Random"/>) so that the byte-identical output promise
/// does not depend on the runtime's choice of algorithm.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareNormal;
    private bool _hasSpare;

    public Rng(long seed)
    {
        var x = unchecked((ulong)seed);
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        unchecked
        {
            x += 0x9E3779B97F4A7C15UL;
            var z = x;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    public ulong NextUInt64()
    {
        unchecked
        {
            var result = RotateLeft(_s1 * 5, 7) * 9;
            var t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = RotateLeft(_s3, 45);
            return result;
        }
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    /// <summary>Uniform on [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform on (0, 1]: safe for logarithms.</summary>
    public double NextOpenDouble() => 1.0 - NextDouble();

    /// <summary>Uniform integer on [0, n).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)((NextUInt64() >> 33) * (ulong)n >> 31);
    }

    public bool Bernoulli(double probability) => NextDouble() < probability;

    /// <summary>Exponential with the given rate (mean 1/rate).</summary>
    public double Exponential(double rate) => -Math.Log(NextOpenDouble()) / rate;

    /// <summary>Standard normal (Marsaglia polar method).</summary>
    public double Normal()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareNormal;
        }
        double u, v, s;
        do
        {
            u = 2.0 * NextDouble() - 1.0;
            v = 2.0 * NextDouble() - 1.0;
            s = u * u + v * v;
        }
        while (s >= 1.0 || s == 0.0);
        var m = Math.Sqrt(-2.0 * Math.Log(s) / s);
        _spareNormal = v * m;
        _hasSpare = true;
        return u * m;
    }

    /// <summary>Gamma with the given shape and RATE (mean shape/rate); Marsaglia-Tsang, boosted for shape &lt; 1.</summary>
    public double Gamma(double shape, double rate)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shape);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        if (shape < 1.0)
        {
            // Gamma(k) = Gamma(k + 1) * U^(1/k)
            var g = StandardGamma(shape + 1.0);
            return g * Math.Pow(NextOpenDouble(), 1.0 / shape) / rate;
        }
        return StandardGamma(shape) / rate;
    }

    private double StandardGamma(double shape)
    {
        var d = shape - 1.0 / 3.0;
        var c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Normal();
                v = 1.0 + c * x;
            }
            while (v <= 0.0);
            v = v * v * v;
            var u = NextOpenDouble();
            var x2 = x * x;
            if (u < 1.0 - 0.0331 * x2 * x2)
            {
                return d * v;
            }
            if (Math.Log(u) < 0.5 * x2 + d * (1.0 - v + Math.Log(v)))
            {
                return d * v;
            }
        }
    }

    /// <summary>Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b).</summary>
    public double Beta(double a, double b)
    {
        var x = Gamma(a, 1.0);
        var y = Gamma(b, 1.0);
        var sum = x + y;
        // Both draws can underflow to 0 for tiny shapes; fall back to the mean then.
        return sum > 0.0 ? x / sum : a / (a + b);
    }
}
