using System.Globalization;
using System.Text;
using NUnit.Framework;
using Pipeline.Generate;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Stages.Customers;

/// <summary>
/// `pipeline ltv` through the CLI against published numbers (CDNOW 1/10 sample, committed under tests/Pipeline.Tests/Data/cdnow) and
/// against the known truth of `pipeline generate`.
/// </summary>
public class LtvJobTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("ltv");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Output => Path.Combine(_dir, "out");

    private static void Ok(params string[] args)
    {
        var r = PipelineCli.Run(args);
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
    }

    /// <summary>The CDNOW sample as raw orders: one order per transaction (several on one day are merged by the summary).</summary>
    private string CdnowAsOrders()
    {
        var sb = new StringBuilder("order_id,customer_id,ordered_at,total_amount\n");
        var n = 0;
        foreach (var line in File.ReadLines(TestPaths.Cdnow("CDNOW_sample.txt")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5)
            {
                continue;
            }
            var date = DateOnly.ParseExact(f[2], "yyyyMMdd", CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"T{++n},{f[1]},{date:yyyy-MM-dd},{f[4]}\n");
        }
        var path = Path.Combine(_dir, "cdnow.csv");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private static double Param(List<Dictionary<string, object?>> rows, string asOf, string fit, string name) =>
        (double)rows.Single(r => (string)r["as_of"]! == asOf && (string)r["fit"]! == fit && (string)r["parameter"]! == name)["value"]!;

    private static void ThreeSignificantDigits(double actual, double published, string name) =>
        Assert.That(actual, Is.EqualTo(published).Within(0.5 * Math.Pow(10, Math.Floor(Math.Log10(Math.Abs(published))) - 2)), name);

    [Test]
    public void Cdnow_sample_through_the_cli_gives_the_published_parameters_and_holdout_table()
    {
        var config = Path.Combine(_dir, "cdnow.json");
        File.WriteAllText(config, "{ \"now\": \"1999-01-01T00:00:00Z\", \"quality\": { \"min_valid_date\": \"1990-01-01\" }, \"analytics\": { \"time_unit\": \"week\", \"ltv\": { \"holdout_days\": 273, \"horizons_days\": [273] } } }");
        Ok("clean-orders", "-c", config, "-i", CdnowAsOrders(), "-o", Output);
        Ok("features", "-c", config, "-o", Output, "--as-of", "1997-09-30");
        Ok("ltv", "-c", config, "-o", Output, "--as-of", "1997-09-30");

        // The summary SQL agrees with the reference summary derived from the same file (x, t_x, T, zbar).
        var features = ParquetTable.Read(Path.Combine(Output, "customers", "features")).ToDictionary(r => int.Parse((string)r["customer_id"]!, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
        var reference = File.ReadAllLines(TestPaths.Cdnow("derived_cdnow_sample_cbs_exact.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.That(features, Has.Count.EqualTo(2357));
        foreach (var r in reference)
        {
            var f = features[r[0]];
            Assert.That(f["frequency"], Is.EqualTo(int.Parse(r[3], CultureInfo.InvariantCulture)), r[0]);
            Assert.That((double)f["recency"]!, Is.EqualTo(double.Parse(r[4], CultureInfo.InvariantCulture)).Within(1e-9), r[0]);
            Assert.That((double)f["T"]!, Is.EqualTo(double.Parse(r[5], CultureInfo.InvariantCulture)).Within(1e-9), r[0]);
            Assert.That(Convert.ToDouble(f["monetary_value"], CultureInfo.InvariantCulture), Is.EqualTo(double.Parse(r[6], CultureInfo.InvariantCulture)).Within(1e-6), r[0]);
        }

        var p = ParquetTable.Read(Path.Combine(Output, "ltv", "params"));
        Assert.Multiple(() =>
        {
            ThreeSignificantDigits(Param(p, "1997-09-30", "full", "r"), 0.243, "r");
            ThreeSignificantDigits(Param(p, "1997-09-30", "full", "alpha"), 4.414, "alpha");
            ThreeSignificantDigits(Param(p, "1997-09-30", "full", "a"), 0.793, "a");
            ThreeSignificantDigits(Param(p, "1997-09-30", "full", "b"), 2.426, "b");
            Assert.That((double)p.First(r => (string)r["model"]! == "bg_nbd")["log_likelihood"]!, Is.EqualTo(-9582.4).Within(0.05));
            ThreeSignificantDigits(Param(p, "1997-09-30", "full", "p"), 6.25, "p");
            ThreeSignificantDigits(Param(p, "1997-09-30", "full", "q"), 3.74, "q");
            ThreeSignificantDigits(Param(p, "1997-09-30", "full", "gamma"), 15.44, "gamma");
        });

        // Backtest: as_of 1998-06-30 with a 39-week holdout calibrates on exactly the published period.
        Ok("features", "-c", config, "-o", Output, "--as-of", "1998-06-30");
        Ok("ltv", "-c", config, "-o", Output, "--as-of", "1998-06-30");
        var buckets = ParquetTable.Read(Path.Combine(Output, "ltv", "backtest_buckets")).Where(b => (string)b["as_of"]! == "1998-06-30")
            .OrderBy(b => (int)b["calibration_frequency"]!).ToList();
        int[] customers = [1411, 439, 214, 100, 62, 38, 29, 64];
        double[] meanActual = [0.2367, 0.6970, 1.3925, 1.5600, 2.5323, 2.9474, 3.8621, 6.3594];
        Assert.Multiple(() =>
        {
            Assert.That(buckets.Select(b => (int)b["customers"]!), Is.EqualTo(customers));
            for (var i = 0; i < meanActual.Length; i++)
            {
                Assert.That((double)buckets[i]["mean_actual_purchases"]!, Is.EqualTo(meanActual[i]).Within(0.00005), $"bucket {buckets[i]["bucket"]}");
            }
            ThreeSignificantDigits(Param(p = ParquetTable.Read(Path.Combine(Output, "ltv", "params")), "1998-06-30", "calibration", "r"), 0.243, "calibration r");
            ThreeSignificantDigits(Param(p, "1998-06-30", "calibration", "b"), 2.426, "calibration b");
        });
        var customer = ParquetTable.Read(Path.Combine(Output, "ltv", "customers")).Where(c => (string)c["as_of"]! == "1997-09-30").ToList();
        Assert.That(customer.All(c => (double)c["p_alive"]! is >= 0 and <= 1), Is.True);
        Assert.That(customer.All(c => c.ContainsKey("clv_273d") && c.ContainsKey("expected_purchases_273d")), Is.True);
    }

    [Test]
    public void Parameters_fitted_on_generated_data_recover_the_ground_truth()
    {
        Ok("generate", "--legacy-defaults", "-o", Path.Combine(_dir, "data"), "--customers", "20000", "--days", "365", "--seed", "3");
        var truth = GroundTruth.Load(Path.Combine(_dir, "data", "ground_truth.json"));
        var end = truth.EndDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Ok("clean-orders", "-i", Path.Combine(_dir, "data", "orders"), "-o", Output, "--now", truth.ObservationEnd.ToString("O", CultureInfo.InvariantCulture));
        Ok("features", "-o", Output, "--as-of", end);
        Ok("ltv", "-o", Output, "--as-of", end);
        var p = ParquetTable.Read(Path.Combine(Output, "ltv", "params")).Where(r => (string)r["fit"]! == "full").ToList();
        // The truth is a continuous-time process; the pipeline sees calendar days: same-day repeat purchases merge
        // (about 4% of customers have one) and T is counted in whole days. That costs a few percent on r and alpha,
        // so the tolerance is the larger of 4 standard errors and 15%.
        void Near(string name, double expected)
        {
            var row = p.Single(r => (string)r["parameter"]! == name);
            var se = (double)row["standard_error"]!;
            Assert.That((double)row["value"]!, Is.EqualTo(expected).Within(Math.Max(4 * se, 0.15 * expected)), $"{name}: se {se}");
        }
        Assert.Multiple(() =>
        {
            Near("r", truth.BgNbd.R);
            Near("alpha", truth.BgNbd.Alpha);
            Near("a", truth.BgNbd.A);
            Near("b", truth.BgNbd.B);
            Near("p", truth.GammaGamma.P);
            Near("q", truth.GammaGamma.Q);
            Near("gamma", truth.GammaGamma.Gamma);
        });
    }
}
