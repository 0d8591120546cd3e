using MathNet.Numerics;

namespace Pipeline.Models.Ltv;

/// <summary>
/// The BG/NBD log-likelihood over unique (x, t_x, T) rows with weights, with its analytic gradient.
/// </summary>
/// <remarks>
/// Per customer: ln L = A1 + A2 + ln(e^A3 + [x&gt;0] e^A4) with
/// A1 = lnΓ(r+x) − lnΓ(r) + r ln α, A2 = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x),
/// A3 = −(r+x) ln(α+T), A4 = ln a − ln(b+x−1) − (r+x) ln(α+t_x).
/// The last term is evaluated as max + log1p(exp(min − max)) (Hardie's fix for Excel's "#NUM!"), so neither large x
/// nor huge T overflows. A1 and A2 depend on x only, so they are computed once per distinct x; only A3/A4 are per row.
/// Rows are sorted by (x, t_x, T) so sums are deterministic; large inputs are split into fixed chunks evaluated in
/// parallel and reduced in chunk order, which keeps results bit-for-bit reproducible.
/// </remarks>
internal sealed class BgNbdLikelihood
{
    private const int ChunkSize = 16_384;

    private readonly int[] _groupX;
    private readonly double[] _groupWeight;
    private readonly int[] _rowGroup;
    private readonly int[] _rowTx;  // index into _times
    private readonly int[] _rowT;   // index into _times
    private readonly double[] _rowWeight;
    private readonly double[] _times; // distinct t_x and T values, ascending
    private readonly double[] _rowTxValue; // per-row copies for the no-table path (sequential access)
    private readonly double[] _rowTValue;
    private readonly bool _timeTable; // few distinct times (whole days): look ln(α + time) up instead of computing it per row

    /// <summary>Row key: x, then the ranks of t_x and T among the distinct time values (so sorting keys sorts by value).</summary>
    private readonly record struct RowKey(int X, int Tx, int T, double Weight) : IComparable<RowKey>
    {
        public int CompareTo(RowKey other) =>
            X != other.X ? X.CompareTo(other.X) : Tx != other.Tx ? Tx.CompareTo(other.Tx) : T.CompareTo(other.T);
    }

    public BgNbdLikelihood(int[] x, double[] tx, double[] t, double[]? weights)
    {
        int n = x.Length;
        if (tx.Length != n || t.Length != n || (weights is not null && weights.Length != n))
        {
            throw new ArgumentException("frequency, recency, T (and weights) must have the same length.");
        }

        // Distinct time values: real data are recorded in whole days, so there are few of them and ln(α + time) can be
        // computed once per value per evaluation instead of twice per row.
        var timeIndex = new Dictionary<double, int>();
        var txIdx = new int[n];
        var tIdx = new int[n];
        for (int i = 0; i < n; i++)
        {
            txIdx[i] = IndexOf(timeIndex, tx[i]);
            tIdx[i] = IndexOf(timeIndex, t[i]);
        }
        var times = new double[timeIndex.Count];
        foreach (var (value, index) in timeIndex)
        {
            times[index] = value;
        }
        var order = new int[times.Length];
        for (int k = 0; k < order.Length; k++)
        {
            order[k] = k;
        }
        Array.Sort((double[])times.Clone(), order);
        var rank = new int[times.Length];
        for (int k = 0; k < order.Length; k++)
        {
            rank[order[k]] = k;
        }
        _times = new double[times.Length];
        for (int k = 0; k < times.Length; k++)
        {
            _times[rank[k]] = times[k];
        }

        double sumT = 0, total = 0;
        for (int i = 0; i < n; i++)
        {
            double w = weights?[i] ?? 1.0;
            sumT += w * t[i];
            total += w;
        }

        int maxX = 0;
        foreach (int v in x)
        {
            maxX = Math.Max(maxX, v);
        }
        var groupX = new List<int>();
        var groupW = new List<double>();
        var rowGroup = new List<int>();
        var rowTx = new List<int>();
        var rowT = new List<int>();
        var rowW = new List<double>();
        void AddRow(int xi, int txr, int tr, double w, bool isNew)
        {
            if (isNew)
            {
                if (groupX.Count == 0 || groupX[^1] != xi)
                {
                    groupX.Add(xi);
                    groupW.Add(0);
                }
                rowGroup.Add(groupX.Count - 1);
                rowTx.Add(txr);
                rowT.Add(tr);
                rowW.Add(0);
            }
            rowW[^1] += w;
            groupW[^1] += w;
        }

        if (maxX < 1 << 20 && times.Length <= 1 << 22)
        {
            // Fast path: pack (x, rank t_x, rank T) into one ulong so a primitive sort groups identical rows.
            var packed = new ulong[n];
            for (int i = 0; i < n; i++)
            {
                packed[i] = ((ulong)(uint)x[i] << 44) | ((ulong)(uint)rank[txIdx[i]] << 22) | (uint)rank[tIdx[i]];
            }
            double[]? w = weights is null ? null : (double[])weights.Clone();
            if (w is null)
            {
                Array.Sort(packed);
            }
            else
            {
                Array.Sort(packed, w);
            }
            for (int i = 0; i < n; i++)
            {
                ulong k = packed[i];
                AddRow((int)(k >> 44), (int)((k >> 22) & 0x3F_FFFF), (int)(k & 0x3F_FFFF), w?[i] ?? 1.0, i == 0 || k != packed[i - 1]);
            }
        }
        else
        {
            var keys = new RowKey[n];
            for (int i = 0; i < n; i++)
            {
                keys[i] = new RowKey(x[i], rank[txIdx[i]], rank[tIdx[i]], weights?[i] ?? 1.0);
            }
            Array.Sort(keys);
            for (int i = 0; i < n; i++)
            {
                var k = keys[i];
                AddRow(k.X, k.Tx, k.T, k.Weight, i == 0 || k.CompareTo(keys[i - 1]) != 0);
            }
        }
        _timeTable = _times.Length <= Math.Max(4096, rowGroup.Count / 8);
        _rowGroup = [.. rowGroup];
        _rowTx = [.. rowTx];
        _rowT = [.. rowT];
        _rowWeight = [.. rowW];
        _rowTxValue = _timeTable ? [] : [.. _rowTx.Select(k => _times[k])];
        _rowTValue = _timeTable ? [] : [.. _rowT.Select(k => _times[k])];
        _groupX = [.. groupX];
        _groupWeight = [.. groupW];
        TotalWeight = total;
        MeanT = total > 0 ? sumT / total : 0;
    }

    private static int IndexOf(Dictionary<double, int> index, double value)
    {
        if (!index.TryGetValue(value, out int k))
        {
            k = index.Count;
            index.Add(value, k);
        }
        return k;
    }

    public double TotalWeight { get; }

    public double MeanT { get; }

    public int UniqueRows => _rowT.Length;

    public double LogLikelihood(BgNbdParameters p) => Evaluate(p.R, p.Alpha, p.A, p.B, new double[4]);

    /// <summary>
    /// Mean penalised negative log-likelihood −ΣwℓL/Σw + pen·Σθ², and its gradient w.r.t. u = ln θ (the optimiser's space,
    /// where positivity is automatic).
    /// </summary>
    public double MeanObjective(ReadOnlySpan<double> u, Span<double> gradU, double penalizer)
    {
        Span<double> theta = stackalloc double[4];
        for (int i = 0; i < 4; i++)
        {
            theta[i] = Math.Exp(u[i]);
        }
        var g = new double[4];
        double ll = Evaluate(theta[0], theta[1], theta[2], theta[3], g);
        double pen = 0;
        for (int i = 0; i < 4; i++)
        {
            pen += theta[i] * theta[i];
            gradU[i] = (-g[i] / TotalWeight + 2 * penalizer * theta[i]) * theta[i];
        }
        return -ll / TotalWeight + penalizer * pen;
    }

    /// <summary>Gradient of the total penalised negative log-likelihood w.r.t. natural parameters (for the Hessian).</summary>
    public double[] TotalObjectiveNaturalGradient(double[] theta, double penalizer)
    {
        var g = new double[4];
        Evaluate(theta[0], theta[1], theta[2], theta[3], g);
        for (int i = 0; i < 4; i++)
        {
            g[i] = -g[i] + TotalWeight * 2 * penalizer * theta[i];
        }
        return g;
    }

    /// <summary>Total log-likelihood; writes ∂ℓ/∂(r, α, a, b) into <paramref name="grad"/>.</summary>
    internal double Evaluate(double r, double alpha, double a, double b, double[] grad)
    {
        int groups = _groupX.Length;
        var c4 = new double[groups];
        var invBx = new double[groups];
        double ll = 0, dr = 0, dAlpha = 0, da = 0, db = 0;
        double lnAlpha = Math.Log(alpha);
        double lgR = SpecialFunctions.GammaLn(r), psiR = SpecialFunctions.DiGamma(r);
        double lgAb = SpecialFunctions.GammaLn(a + b), psiAb = SpecialFunctions.DiGamma(a + b);
        double lgB = SpecialFunctions.GammaLn(b), psiB = SpecialFunctions.DiGamma(b);
        double lnA = Math.Log(a);
        // r ln α is in every customer's A1; the Gamma-function differences vanish at x = 0.
        ll += TotalWeight * r * lnAlpha;
        dr += TotalWeight * lnAlpha;
        dAlpha += TotalWeight * r / alpha;
        for (int g = 0; g < groups; g++)
        {
            int x = _groupX[g];
            if (x == 0)
            {
                continue; // lnΓ(r+x) − lnΓ(r) = 0 and A2 = 0 exactly
            }
            double w = _groupWeight[g];
            double psiAbx = SpecialFunctions.DiGamma(a + b + x);
            ll += w * (SpecialFunctions.GammaLn(r + x) - lgR
                       + lgAb + SpecialFunctions.GammaLn(b + x) - lgB - SpecialFunctions.GammaLn(a + b + x));
            dr += w * (SpecialFunctions.DiGamma(r + x) - psiR);
            da += w * (psiAb - psiAbx);
            db += w * (psiAb + SpecialFunctions.DiGamma(b + x) - psiB - psiAbx);
            invBx[g] = 1.0 / (b + x - 1);
            c4[g] = lnA - Math.Log(b + x - 1);
        }

        double[] logAt = [], invAt = [];
        if (_timeTable)
        {
            logAt = new double[_times.Length];
            invAt = new double[_times.Length];
            for (int k = 0; k < _times.Length; k++)
            {
                double v = alpha + _times[k];
                logAt[k] = Math.Log(v);
                invAt[k] = 1.0 / v;
            }
        }

        int rows = _rowT.Length;
        int chunks = (rows + ChunkSize - 1) / ChunkSize;
        var partial = new double[chunks * 5];
        if (chunks > 1)
        {
            Parallel.For(0, chunks, k => RowChunk(k, r, alpha, a, c4, invBx, logAt, invAt, partial));
        }
        else if (chunks == 1)
        {
            RowChunk(0, r, alpha, a, c4, invBx, logAt, invAt, partial);
        }
        for (int k = 0; k < chunks; k++)
        {
            ll += partial[5 * k];
            dr += partial[5 * k + 1];
            dAlpha += partial[5 * k + 2];
            da += partial[5 * k + 3];
            db += partial[5 * k + 4];
        }
        grad[0] = dr;
        grad[1] = dAlpha;
        grad[2] = da;
        grad[3] = db;
        return ll;
    }

    private void RowChunk(int chunk, double r, double alpha, double a, double[] c4, double[] invBx, double[] logAt, double[] invAt, double[] partial)
    {
        int start = chunk * ChunkSize;
        int end = Math.Min(start + ChunkSize, _rowT.Length);
        double ll = 0, dr = 0, dAlpha = 0, da = 0, db = 0;
        for (int i = start; i < end; i++)
        {
            int g = _rowGroup[i];
            int x = _groupX[g];
            double w = _rowWeight[i];
            double rx = r + x;
            int ti = _rowT[i];
            double la3, inv3;
            if (_timeTable)
            {
                la3 = logAt[ti];
                inv3 = invAt[ti];
            }
            else
            {
                double v = alpha + _rowTValue[i];
                la3 = Math.Log(v);
                inv3 = 1 / v;
            }
            double a3 = -rx * la3;
            if (x == 0)
            {
                ll += w * a3;
                dr -= w * la3;
                dAlpha -= w * rx * inv3;
                continue;
            }
            int txi = _rowTx[i];
            double la4, inv4;
            if (_timeTable)
            {
                la4 = logAt[txi];
                inv4 = invAt[txi];
            }
            else
            {
                double v = alpha + _rowTxValue[i];
                la4 = Math.Log(v);
                inv4 = 1 / v;
            }
            double a4 = c4[g] - rx * la4;
            // ln(e^A3 + e^A4) = max + ln(1 + e^(min − max)); w3, w4 are the softmax weights (the gradient's mixing weights).
            double lse, w3, w4;
            double hi = Math.Max(a3, a4);
            double e = Math.Exp(Math.Min(a3, a4) - hi);
            double inv = 1 / (1 + e);
            lse = hi + (e < 1e-8 ? e : Math.Log(1 + e));
            if (a3 >= a4)
            {
                w3 = inv;
                w4 = e * inv;
            }
            else
            {
                w3 = e * inv;
                w4 = inv;
            }
            ll += w * lse;
            dr -= w * (w3 * la3 + w4 * la4);
            dAlpha -= w * rx * (w3 * inv3 + w4 * inv4);
            da += w * w4 / a;
            db -= w * w4 * invBx[g];
        }
        partial[5 * chunk] = ll;
        partial[5 * chunk + 1] = dr;
        partial[5 * chunk + 2] = dAlpha;
        partial[5 * chunk + 3] = da;
        partial[5 * chunk + 4] = db;
    }
}
