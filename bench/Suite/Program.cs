using System.Globalization;
using Pipeline.Bench.Suite;

// Tools of scripts/bench-all.sh. Every command prints one JSON object on stdout (progress on stderr).
//   models [--customers N] [--k K] [--restarts R] [--sklearn-n-init N] [--engine parallel|mlnet] [--dop N] [--init plusplus|parallel] [--tolerance T]
//          [--repeats N] [--seed S] [--matrix-out DIR] [--skip-ltv 1]
//       BG/NBD + Gamma-Gamma fit on N simulated customers with known parameters, and k-means (our segmentation model,
//       fixed k) on a synthetic N × 8 feature matrix that is also written (matrix.npy + matrix.json) for the peer.
//   features-baseline <pipeline output dir> <as_of YYYY-MM-DD> [--repeats N]
//       one hand-written DuckDB statement doing the core of `pipeline features` on the run's clean/orders + sessions.
//   to-csv <parquet glob> <csv file>        copies Parquet files to one CSV (DuckDB), for the Python peer.
//   engine-version                          the embedded DuckDB's version.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Pipeline.Bench.Suite models|features-baseline|to-csv|engine-version ...");
    return 2;
}
try
{
    var rest = args[1..];
    return args[0] switch
    {
        "models" => ModelBench.Run(Options.Parse(rest)),
        "features-baseline" when rest.Length >= 2 => DuckDbTools.FeaturesBaseline(rest[0], DateOnly.Parse(rest[1], CultureInfo.InvariantCulture), Options.Parse(rest[2..])),
        "to-csv" when rest.Length == 2 => DuckDbTools.ToCsv(rest[0], rest[1]),
        "engine-version" => DuckDbTools.EngineVersion(),
        _ => Usage(),
    };
}
catch (FormatException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("usage: Pipeline.Bench.Suite models [--customers N] [--k K] [--restarts R] [--sklearn-n-init N] [--engine parallel|mlnet] [--dop N] [--init plusplus|parallel] [--tolerance T] [--repeats N] [--seed S] [--matrix-out DIR] [--skip-ltv 1]");
    Console.Error.WriteLine("       Pipeline.Bench.Suite features-baseline <output dir> <as_of> [--repeats N]");
    Console.Error.WriteLine("       Pipeline.Bench.Suite to-csv <parquet glob> <csv file> | engine-version");
    return 2;
}
