using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.Generate;
using Pipeline.Models.Ltv;
using Pipeline.Models.Segmentation;

namespace Pipeline.Bench.Suite;

/// <summary>
/// Model micro-benchmarks on data with a known answer: (a) BG/NBD + Gamma-Gamma fitted (exactly as the ltv stage
/// does, standard errors included) to N customers simulated from known parameters; (b) our k-means (the segment
/// stage's model with a fixed k) on a synthetic N × 8 customer-feature matrix, written to disk so that the
/// scikit-learn peer fits the very same rows.
/// </summary>
internal static class ModelBench
{
    // The generator's defaults (pipeline generate): the parameters the fits should recover.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private static readonly BgNbdParameters TrueBg = new(0.75, 40.0, 0.8, 2.5);
    private static readonly GammaGammaParameters TrueGg = new(6.0, 4.0, 40.0);

    // The segment stage's default features and log-transformed features (jobs/Config/PipelineConfig.cs).
    private static readonly string[] Features =
        ["recency_days", "orders", "net_revenue", "avg_order_value", "tenure_days", "sessions", "engaged_seconds_avg", "natural_traffic_share"];

    private static readonly string[] LogFeatures = ["orders", "net_revenue", "avg_order_value", "sessions", "engaged_seconds_avg"];

    public static int Run(Options o)
    {
        var n = o.Int("customers", 1_000_000);
        var k = o.Int("k", 8);
        var restarts = o.Int("restarts", new SegmentationOptions().Restarts);
        var sklearnRestarts = o.Int("sklearn-n-init", 4);
        var repeats = o.Int("repeats", 3);
        var seed = o.Int("seed", 7);
        var matrixOut = o.Text("matrix-out");
        var result = new Dictionary<string, object?>
        {
            ["customers"] = n,
            ["cores"] = Environment.ProcessorCount,
            ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
        };

        // (a) LTV: continuous times (one distinct row per customer: the likelihood's general path) and whole days
        // (what the pipeline's summaries hold: the time-table path).
        foreach (var daily in o.Text("skip-ltv") is null ? new[] { false, true } : [])
        {
            var customers = SimulateSummary(n, seed, daily);
            result[daily ? "ltv_daily" : "ltv_continuous"] = TimeLtv(customers, repeats);
        }

        // (b) k-means.
        var matrix = SyntheticFeatures(n, seed);
        if (matrixOut is not null)
        {
            Directory.CreateDirectory(matrixOut);
            WriteMatrix(matrix, Path.Combine(matrixOut, "matrix.npy"));
            File.WriteAllText(Path.Combine(matrixOut, "matrix.json"), JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["features"] = Features,
                ["log_features"] = LogFeatures,
                ["k"] = k,
                ["restarts"] = restarts,
                ["sklearn_n_init"] = sklearnRestarts,
                ["seed"] = 42,
                ["rows"] = n,
            }));
        }
        var init = o.Text("init") switch
        {
            null => new SegmentationOptions().Initialization,
            "plusplus" => KMeansInitialization.KMeansPlusPlus,
            "parallel" => KMeansInitialization.KMeansParallel,
            var other => throw new FormatException($"--init {other}: expected plusplus or parallel"),
        };
        var tolerance = o.Text("tolerance") is { } t ? float.Parse(t, CultureInfo.InvariantCulture) : new SegmentationOptions().OptimizationTolerance;
        var engine = o.Text("engine") switch
        {
            null => new SegmentationOptions().Engine,
            "parallel" => KMeansEngine.Parallel,
            "mlnet" => KMeansEngine.MlNet,
            var other => throw new FormatException($"--engine {other}: expected parallel or mlnet"),
        };
        var dop = o.Int("dop", new SegmentationOptions().DegreeOfParallelism);
        result["kmeans"] = TimeKMeans(matrix, k, restarts, repeats, init, tolerance, engine, dop);
        Console.WriteLine(JsonSerializer.Serialize(result, Indented));
        return 0;
    }

    private static Dictionary<string, object?> TimeLtv(List<CustomerSummary> customers, int repeats)
    {
        var times = new List<double>();
        var bgTimes = new List<double>();
        BgNbdFit? bg = null;
        GammaGammaFit? gg = null;
        for (var i = 0; i < repeats + 1; i++)
        {
            // The ltv stage's two fits (LtvJob.Fit): BG/NBD on everyone, Gamma-Gamma on the spenders.
            var sw = Stopwatch.StartNew();
            bg = BgNbd.Fit(customers);
            var bgSeconds = sw.Elapsed.TotalSeconds;
            var spenders = customers.Where(x => x.Frequency == 0 || x.MonetaryValue > 0).ToList();
            gg = GammaGamma.Fit(spenders);
            var total = sw.Elapsed.TotalSeconds;
            if (i > 0)
            {
                // The first round warms the JIT up and is not counted.
                times.Add(total);
                bgTimes.Add(bgSeconds);
            }
            Console.Error.WriteLine($"ltv round {i}: {total:0.000} s (BG/NBD {bgSeconds:0.000} s, {bg.UniqueRows} unique rows)");
        }
        return new Dictionary<string, object?>
        {
            ["seconds_best"] = times.Min(),
            ["seconds_median"] = Median(times),
            ["bgnbd_seconds_best"] = bgTimes.Min(),
            ["unique_rows"] = bg!.UniqueRows,
            ["repeat_buyers"] = gg!.RepeatBuyers,
            ["bgnbd"] = new Dictionary<string, object?>
            {
                ["true"] = new[] { TrueBg.R, TrueBg.Alpha, TrueBg.A, TrueBg.B },
                ["fitted"] = new[] { bg.Parameters.R, bg.Parameters.Alpha, bg.Parameters.A, bg.Parameters.B },
                ["standard_errors"] = bg.StandardErrors is { } s ? new[] { s.R, s.Alpha, s.A, s.B } : null,
                ["log_likelihood"] = bg.LogLikelihood,
                ["converged"] = bg.Convergence.Converged,
                ["iterations"] = bg.Convergence.Iterations,
            },
            ["gamma_gamma"] = new Dictionary<string, object?>
            {
                ["true"] = new[] { TrueGg.P, TrueGg.Q, TrueGg.Gamma },
                ["fitted"] = new[] { gg.Parameters.P, gg.Parameters.Q, gg.Parameters.Gamma },
                ["log_likelihood"] = gg.LogLikelihood,
                ["converged"] = gg.Convergence.Converged,
            },
        };
    }

    private static Dictionary<string, object?> TimeKMeans(
        FeatureMatrix matrix, int k, int restarts, int repeats, KMeansInitialization init, float tolerance, KMeansEngine engine, int dop)
    {
        var options = new SegmentationOptions
        {
            Engine = engine,
            DegreeOfParallelism = dop,
            K = k,
            Restarts = restarts,
            Initialization = init,
            OptimizationTolerance = tolerance,
            Seed = 42,
            LogTransformedFeatures = LogFeatures,
            ValueFeature = "net_revenue",
        };
        var times = new List<double>();
        SegmentationFit? fit = null;
        // k-means is the slow one: one uncounted warm-up on a small slice, then the counted full fits.
        SegmentationModel.Fit(Slice(matrix, Math.Min(matrix.RowCount, 20_000)), options);
        for (var i = 0; i < Math.Max(1, repeats - 1); i++)
        {
            var sw = Stopwatch.StartNew();
            fit = SegmentationModel.Fit(matrix, options);
            times.Add(sw.Elapsed.TotalSeconds);
            Console.Error.WriteLine($"k-means round {i}: {times[^1]:0.00} s, inertia {fit.Assignments.Inertia:0.0}");
        }
        return new Dictionary<string, object?>
        {
            ["k"] = k,
            ["restarts"] = restarts,
            ["rows"] = matrix.RowCount,
            ["features"] = matrix.FeatureCount,
            ["engine"] = engine.ToString(),
            ["initialization"] = engine == KMeansEngine.Parallel ? "GreedyKMeansPlusPlus" : options.Initialization.ToString(),
            ["parallel_runs"] = engine == KMeansEngine.Parallel ? 1 : options.MaxParallelRuns,
            ["threads"] = engine == KMeansEngine.Parallel ? dop : options.NumberOfThreads,
            ["seconds_best"] = times.Min(),
            ["seconds_median"] = Median(times),
            ["inertia"] = fit!.Assignments.Inertia,
            ["segment_sizes"] = fit.Assignments.Profiles.Select(p => p.Size).ToArray(),
        };
    }

    /// <summary>
    /// BG/NBD customers: λ ~ Gamma(r, α), p ~ Beta(a, b), observed for T ∈ {1 … 365} days from their first purchase;
    /// Exp(λ) gaps, death with probability p after each repeat purchase. Spend: ν ~ Gamma(q, γ), and the mean of x
    /// Gamma(p, ν) purchases is Gamma(p·x, ν·x). With <paramref name="daily"/> the times are whole days (floored), as
    /// in the pipeline's summaries.
    /// </summary>
    private static List<CustomerSummary> SimulateSummary(int n, int seed, bool daily)
    {
        var rng = new Rng(seed);
        var list = new List<CustomerSummary>(n);
        for (var i = 0; i < n; i++)
        {
            var t = 1.0 + rng.NextInt(365);
            var lambda = rng.Gamma(TrueBg.R, TrueBg.Alpha);
            var p = rng.Beta(TrueBg.A, TrueBg.B);
            var nu = rng.Gamma(TrueGg.Q, TrueGg.Gamma);
            var x = 0;
            var last = 0.0;
            var now = 0.0;
            while (true)
            {
                now += rng.Exponential(lambda);
                if (now >= t)
                {
                    break;
                }
                x++;
                last = now;
                if (rng.Bernoulli(p))
                {
                    break;
                }
            }
            var monetary = x == 0 ? 0.0 : rng.Gamma(TrueGg.P * x, nu * x);
            list.Add(new CustomerSummary(i.ToString("D8", CultureInfo.InvariantCulture), x, daily ? Math.Floor(last) : last, t, monetary));
        }
        return list;
    }

    /// <summary>
    /// N customers × the segment stage's 8 features, drawn from 6 overlapping groups: for each group a centre in the
    /// transformed space (signed log1p for the heavy-tailed features) plus unit normal noise; heavy-tailed features
    /// are mapped back with expm1 of their positive part (so they have the zeros and long tails of real counts and
    /// revenue), the others are shifted and scaled into days and shares.
    /// </summary>
    private static FeatureMatrix SyntheticFeatures(int n, int seed)
    {
        double[][] centres =
        [
            [0.0, 0.5, 3.5, 3.4, 0.0, 0.3, 2.0, 0.0],
            [-1.5, 1.5, 5.0, 3.6, 1.0, 2.0, 4.0, 0.5],
            [1.5, 0.3, 3.0, 3.0, 1.5, 0.0, 0.5, -0.5],
            [-0.5, 1.0, 4.2, 3.5, -1.0, 2.5, 4.5, 1.0],
            [1.0, 0.7, 4.8, 4.6, 0.5, 1.0, 3.0, -1.0],
            [-1.0, 2.2, 6.0, 3.9, 1.5, 3.0, 5.0, 0.0],
        ];
        double[] weights = [0.30, 0.15, 0.20, 0.15, 0.12, 0.08];
        var rng = new Rng(seed + 1);
        var columns = Features.Select(_ => new double[n]).ToArray();
        var ids = new string[n];
        for (var i = 0; i < n; i++)
        {
            ids[i] = i.ToString("D8", CultureInfo.InvariantCulture);
            var u = rng.NextDouble();
            var g = 0;
            while (g < weights.Length - 1 && u >= weights[g])
            {
                u -= weights[g];
                g++;
            }
            for (var j = 0; j < Features.Length; j++)
            {
                var y = centres[g][j] + (rng.Normal() * 0.8);
                columns[j][i] = Features[j] switch
                {
                    "recency_days" => Math.Max(0, Math.Round(120 + (60 * y))),
                    "tenure_days" => Math.Max(0, Math.Round(200 + (80 * y))),
                    "natural_traffic_share" => Math.Clamp(0.5 + (0.2 * y), 0, 1),
                    _ => Math.Round(Math.Exp(Math.Max(0, y)) - 1, 2),
                };
            }
        }
        return new FeatureMatrix(ids, Features, columns);
    }

    private static FeatureMatrix Slice(FeatureMatrix m, int rows) =>
        new(m.CustomerIds.Take(rows).ToList(), m.FeatureNames, m.FeatureNames.Select(f => m.Column(f).Take(rows).ToArray()).ToList());

    /// <summary>Writes the raw (untransformed) matrix as NumPy .npy, float64 little-endian, row-major n × d.</summary>
    private static void WriteMatrix(FeatureMatrix m, string path)
    {
        var n = m.RowCount;
        var d = m.FeatureCount;
        var header = $"{{'descr': '<f8', 'fortran_order': False, 'shape': ({n}, {d}), }}";
        // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + ((64 - (total % 64)) % 64)) + "\n";
        using var stream = new BufferedStream(File.Create(path), 1 << 20);
        using var w = new BinaryWriter(stream);
        w.Write((byte)0x93);
        w.Write("NUMPY"u8);
        w.Write((byte)1);
        w.Write((byte)0);
        w.Write((ushort)header.Length);
        w.Write(System.Text.Encoding.ASCII.GetBytes(header));
        var columns = m.FeatureNames.Select(f => m.Column(f)).ToArray();
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < d; j++)
            {
                w.Write(columns[j][i]);
            }
        }
    }

    private static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }
}
