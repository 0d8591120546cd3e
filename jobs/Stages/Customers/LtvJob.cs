using System.Globalization;
using System.Text.Json.Serialization;
using Parquet.Schema;
using Parquet.Serialization;
using Pipeline.Core;
using Pipeline.Models.Ltv;
using Pipeline.Runs;

namespace Pipeline.Stages.Customers;

/// <summary>
/// <c>pipeline ltv</c>: BG/NBD + Gamma-Gamma lifetime value. Fits on the CLV summary of customers/features at as_of,
/// predicts per customer, and backtests: calibration ends holdout_days before as_of, the models are refitted on
/// the calibration history and predicted purchases are compared with the actual holdout purchases.
/// Tables (all partitioned by as_of): <c>ltv/customers</c> (one row per customer), <c>ltv/params</c> (one row per
/// model parameter), <c>ltv/backtest</c> (one row per customer), <c>ltv/backtest_buckets</c> (one row per
/// calibration-frequency bucket), <c>ltv/backtest_metrics</c> (one row).
/// </summary>
public static class LtvJob
{
    private const string CustomersTable = TableNames.LtvCustomers;
    private const string ParamsTable = TableNames.LtvParams;
    private const string BacktestTable = TableNames.LtvBacktest;
    private const string BucketsTable = TableNames.LtvBacktestBuckets;
    private const string MetricsTable = TableNames.LtvBacktestMetrics;

    public static StageReport Run(StageContext run, LtvSettings settings)
    {
        return run.Measure("ltv", report =>
        {
            var a = AnalyticsRun.Create(run, settings.TimeUnit);
            var c = settings.Ltv;
            var unit = a.TimeUnit == "week" ? TimeUnit.Week : TimeUnit.Day;
            var customers = new List<CustomerSummary>();
            run.Engine.ForEachRow(CustomersSql.LtvInputs(a.FeaturesRelation),
                r => customers.Add(new CustomerSummary(r.GetString(0), Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture), r.GetDouble(2), r.GetDouble(3), r.GetDouble(4))));
            report.RowsRead = customers.Count;
            var featuresUnit = ReadFeaturesUnit(a);
            if (Math.Abs(featuresUnit - a.DaysPerUnit) > 1e-9)
            {
                throw PipelineException.Config($"customers/features for {a.AsOf:yyyy-MM-dd} were built in another time unit: rerun `pipeline features --time-unit {a.TimeUnit}` first");
            }

            var fitClock = System.Diagnostics.Stopwatch.StartNew();
            var (bg, gg) = Fit(customers, c.Penalizer, "as_of " + a.AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            report.Counts["fit_ms"] = fitClock.ElapsedMilliseconds;
            if (Math.Abs(gg.FrequencyMonetaryCorrelation) > c.CorrelationWarning)
            {
                var warning = $"frequency and monetary value correlate ({gg.FrequencyMonetaryCorrelation:0.00}); Gamma-Gamma assumes they are independent, so expected values may be biased";
                run.Warn(warning, "ltv");
            }
            var horizons = c.HorizonsDays.Select(h => (Days: h, Periods: h / a.DaysPerUnit)).ToList();

            // Per customer predictions, in the base currency and the summary's time unit.
            var customerRows = new List<IDictionary<string, object?>>(customers.Count);
            var values = customers.Select(s => ExpectedValue(gg.Parameters, s)).ToArray();
            var clvs = horizons.Select(h =>
            {
                var options = new ClvOptions((int)Math.Round(h.Periods), c.DiscountRatePerPeriod);
                return customers.Select((s, i) => Clv.CustomerLifetimeValue(bg.Parameters, values[i], s, options)).ToArray();
            }).ToList();
            for (var i = 0; i < customers.Count; i++)
            {
                var s = customers[i];
                customerRows.Add(CustomerRow(s, BgNbd.ProbabilityAlive(bg.Parameters, s.Frequency, s.Recency, s.T), values[i],
                    horizons.Select((h, k) => (h.Days, BgNbd.ConditionalExpectedPurchases(bg.Parameters, h.Periods, s.Frequency, s.Recency, s.T), clvs[k][i])).ToList()));
            }
            WriteUntyped(a, CustomersTable, customerRows, CustomersSchema(horizons.Select(h => h.Days).ToList()));

            var paramRows = ParamRows(bg, gg, a.TimeUnit, c.Penalizer, "full");

            // Backtest on purchase days read from clean orders (the models' own data preparation builds the split).
            var calibrationEnd = a.AsOf.AddDays(-c.HoldoutDays);
            var transactions = new List<Transaction>();
            run.Engine.ForEachRow(CustomersSql.LtvPurchaseDays(run.Engine.Dialect, a.OrdersRelation, a.AsOf), r => transactions.Add(new Transaction(r.GetString(0), ToDate(r.GetValue(1)), r.GetDouble(2))));
            var split = ClvSummary.CalibrationHoldout(transactions, calibrationEnd, a.AsOf, unit);
            var backtestRows = new List<BacktestRow>();
            var bucketRows = new List<BucketRow>();
            var metricRows = new List<MetricsRow>();
            if (split.Rows.Count >= 10)
            {
                var calibration = split.Rows.Select(r => r.Calibration).ToList();
                var (cbg, cgg) = Fit(calibration, c.Penalizer, "calibration ending " + calibrationEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                var (predicted, backtest) = Backtest.Run(cbg.Parameters, split);
                for (var i = 0; i < split.Rows.Count; i++)
                {
                    var r = split.Rows[i];
                    var value = ExpectedValue(cgg.Parameters, r.Calibration);
                    backtestRows.Add(new BacktestRow
                    {
                        CustomerId = r.Calibration.CustomerId,
                        CalibrationFrequency = r.Calibration.Frequency,
                        PredictedPurchases = predicted[i],
                        ActualPurchases = r.HoldoutPurchases,
                        PredictedValue = predicted[i] * value,
                        ActualValue = r.HoldoutValue,
                    });
                }
                bucketRows.AddRange(backtest.Buckets.Select(b => new BucketRow
                {
                    Bucket = b.IsOpenEnded ? $"{b.Frequency}+" : b.Frequency.ToString(CultureInfo.InvariantCulture),
                    Frequency = b.Frequency,
                    Customers = b.Customers,
                    MeanActual = b.MeanActual,
                    MeanPredicted = b.MeanPredicted,
                }));
                metricRows.Add(new MetricsRow
                {
                    CalibrationEnd = calibrationEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    HoldoutDays = c.HoldoutDays,
                    TimeUnit = a.TimeUnit,
                    Customers = backtest.Customers,
                    Mae = backtest.MeanAbsoluteError,
                    Rmse = backtest.RootMeanSquaredError,
                    Bias = backtest.Bias,
                    TotalPredicted = backtest.TotalPredicted,
                    TotalActual = backtest.TotalActual,
                    ValueMae = backtestRows.Average(b => Math.Abs(b.PredictedValue - b.ActualValue)),
                    ValueBias = backtestRows.Average(b => b.PredictedValue - b.ActualValue),
                });
                paramRows.AddRange(ParamRows(cbg, cgg, a.TimeUnit, c.Penalizer, "calibration"));
                run.Log.Info($"backtest: calibration to {calibrationEnd:yyyy-MM-dd}, {backtest.Customers} customers, MAE {backtest.MeanAbsoluteError:0.000}, RMSE {backtest.RootMeanSquaredError:0.000}, bias {backtest.Bias:+0.000;-0.000}", "ltv");
            }
            else
            {
                run.RecordWarning($"backtest skipped: only {split.Rows.Count} customers bought before {calibrationEnd:yyyy-MM-dd}");
            }
            a.Write(ParamsTable, paramRows);
            a.Write(BacktestTable, backtestRows);
            a.Write(BucketsTable, bucketRows);
            a.Write(MetricsTable, metricRows);
            report.RowsWritten = customerRows.Count;
            report.Counts["repeat_buyers"] = gg.RepeatBuyers;
            run.Log.Info(string.Create(CultureInfo.InvariantCulture,
                $"fit of {customers.Count} customers in {report.Counts["fit_ms"] / 1000.0:0.00} s: BG/NBD r={bg.Parameters.R:0.####} alpha={bg.Parameters.Alpha:0.####} a={bg.Parameters.A:0.####} b={bg.Parameters.B:0.####} (LL {bg.LogLikelihood:0.0}); Gamma-Gamma p={gg.Parameters.P:0.####} q={gg.Parameters.Q:0.####} gamma={gg.Parameters.Gamma:0.####}"), "ltv");
            run.Publish([(CustomersTable, customerRows.Count), (ParamsTable, paramRows.Count), (BacktestTable, backtestRows.Count),
                (BucketsTable, bucketRows.Count), (MetricsTable, metricRows.Count)], replaceTables: false);
        });
    }

    private static (BgNbdFit Bg, GammaGammaFit Gg) Fit(IReadOnlyList<CustomerSummary> customers, double penalizer, string what)
    {
        try
        {
            var bg = BgNbd.Fit(customers, new BgNbdFitOptions { Penalizer = penalizer });
            // Gamma-Gamma models the spend of repeat buyers; refunds can leave a repeat buyer with a mean repeat value
            // <= 0, which the model cannot take: those customers are left out of the fit (one-time buyers too) and,
            // like one-time buyers, get the population mean as expected order value.
            var spenders = customers.Where(x => x.Frequency == 0 || x.MonetaryValue > 0).ToList();
            var gg = GammaGamma.Fit(spenders, new GammaGammaFitOptions { Penalizer = penalizer });
            return (bg, gg);
        }
        catch (SummaryValidationException e)
        {
            throw PipelineException.Quality($"LTV input ({what}) is not a valid CLV summary: {e.Message.ReplaceLineEndings(" ")}");
        }
        catch (ArgumentException e)
        {
            throw PipelineException.Quality($"LTV fit ({what}): {e.Message.Split('\n')[0]}");
        }
    }

    private static double ExpectedValue(GammaGammaParameters p, CustomerSummary s) =>
        s.Frequency > 0 && s.MonetaryValue > 0 ? GammaGamma.ConditionalExpectedAverageValue(p, s.Frequency, s.MonetaryValue) : p.PopulationMeanValue;

    private static List<ParamRow> ParamRows(BgNbdFit bg, GammaGammaFit gg, string unit, double penalizer, string fit)
    {
        ParamRow P(string model, string name, double value, double? se, double ll, OptimizationReport conv, int n) => new()
        {
            Fit = fit, Model = model, Parameter = name, Value = value, StandardError = se, LogLikelihood = ll, Converged = conv.Converged,
            Iterations = conv.Iterations, Customers = n, TimeUnit = unit, Penalizer = penalizer,
        };
        var b = bg.Parameters;
        var g = gg.Parameters;
        return
        [
            P("bg_nbd", "r", b.R, bg.StandardErrors?.R, bg.LogLikelihood, bg.Convergence, bg.Customers),
            P("bg_nbd", "alpha", b.Alpha, bg.StandardErrors?.Alpha, bg.LogLikelihood, bg.Convergence, bg.Customers),
            P("bg_nbd", "a", b.A, bg.StandardErrors?.A, bg.LogLikelihood, bg.Convergence, bg.Customers),
            P("bg_nbd", "b", b.B, bg.StandardErrors?.B, bg.LogLikelihood, bg.Convergence, bg.Customers),
            P("gamma_gamma", "p", g.P, gg.StandardErrors?.P, gg.LogLikelihood, gg.Convergence, gg.RepeatBuyers),
            P("gamma_gamma", "q", g.Q, gg.StandardErrors?.Q, gg.LogLikelihood, gg.Convergence, gg.RepeatBuyers),
            P("gamma_gamma", "gamma", g.Gamma, gg.StandardErrors?.Gamma, gg.LogLikelihood, gg.Convergence, gg.RepeatBuyers),
        ];
    }

    private static double ReadFeaturesUnit(AnalyticsRun a)
    {
        // T in days / T in the unit, from a customer with T > 0: tells which unit the features were built in.
        var rows = a.Run.Engine.Query(CustomersSql.LtvFeaturesUnit(a.FeaturesRelation));
        return rows.Count == 0 ? a.DaysPerUnit : Convert.ToDouble(rows[0][1], CultureInfo.InvariantCulture) / Convert.ToDouble(rows[0][0], CultureInfo.InvariantCulture);
    }

    private static DateOnly ToDate(object value) => value switch
    {
        DateOnly d => d,
        DateTime dt => DateOnly.FromDateTime(dt),
        _ => DateOnly.Parse(Convert.ToString(value, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
    };

    /// <summary>One <c>ltv/customers</c> row (keys as in <see cref="CustomersSchema"/>).</summary>
    internal static Dictionary<string, object?> CustomerRow(CustomerSummary s, double pAlive, double expectedOrderValue,
        IReadOnlyList<(int Days, double ExpectedPurchases, double Clv)> horizons)
    {
        var row = new Dictionary<string, object?>
        {
            ["customer_id"] = s.CustomerId,
            ["frequency"] = s.Frequency,
            ["recency"] = s.Recency,
            ["T"] = s.T,
            ["monetary_value"] = s.MonetaryValue,
            ["p_alive"] = pAlive,
            ["expected_order_value"] = expectedOrderValue,
        };
        foreach (var h in horizons)
        {
            row[$"expected_purchases_{h.Days}d"] = h.ExpectedPurchases;
            row[$"clv_{h.Days}d"] = h.Clv;
        }
        return row;
    }

    /// <summary>The <c>ltv/customers</c> columns: fixed ones, then a pair per horizon (so the rows are untyped).</summary>
    internal static ParquetSchema CustomersSchema(IReadOnlyList<int> horizonDays)
    {
        var fields = new List<Field>
        {
            new DataField<string>("customer_id"), new DataField<int>("frequency"), new DataField<double>("recency"), new DataField<double>("T"),
            new DataField<double>("monetary_value"), new DataField<double>("p_alive"), new DataField<double>("expected_order_value"),
        };
        foreach (var days in horizonDays)
        {
            fields.Add(new DataField<double>($"expected_purchases_{days}d"));
            fields.Add(new DataField<double>($"clv_{days}d"));
        }
        return new ParquetSchema(fields);
    }

    /// <summary>
    /// The schema handed to <see cref="Engine.IEngine.WriteRows(IReadOnlyCollection{IDictionary{string, object}}, IReadOnlyList{ValueTuple{string, Type}}, string)"/>:
    /// Parquet.Net's CLR types as they are (strings are <c>ReadOnlyMemory&lt;char&gt;</c>; every engine takes them).
    /// </summary>
    internal static IReadOnlyList<(string Name, Type Type)> EngineSchema(ParquetSchema schema) =>
        schema.GetDataFields().Select(f => (f.Name, f.ClrType)).ToList();

    private static void WriteUntyped(AnalyticsRun a, string table, IReadOnlyCollection<IDictionary<string, object?>> rows, ParquetSchema schema) =>
        a.Run.Engine.WriteRows(rows, EngineSchema(schema), a.StagedPartition(table));

    internal sealed class ParamRow
    {
        [JsonPropertyName("fit")] public string Fit { get; set; } = "";
        [JsonPropertyName("model")] public string Model { get; set; } = "";
        [JsonPropertyName("parameter")] public string Parameter { get; set; } = "";
        [JsonPropertyName("value")] public double Value { get; set; }
        [JsonPropertyName("standard_error")] public double? StandardError { get; set; }
        [JsonPropertyName("log_likelihood")] public double LogLikelihood { get; set; }
        [JsonPropertyName("converged")] public bool Converged { get; set; }
        [JsonPropertyName("iterations")] public int Iterations { get; set; }
        [JsonPropertyName("customers")] public int Customers { get; set; }
        [JsonPropertyName("time_unit")] public string TimeUnit { get; set; } = "";
        [JsonPropertyName("penalizer")] public double Penalizer { get; set; }
    }

    internal sealed class BacktestRow
    {
        [JsonPropertyName("customer_id")] public string CustomerId { get; set; } = "";
        [JsonPropertyName("calibration_frequency")] public int CalibrationFrequency { get; set; }
        [JsonPropertyName("predicted_purchases")] public double PredictedPurchases { get; set; }
        [JsonPropertyName("actual_purchases")] public int ActualPurchases { get; set; }
        [JsonPropertyName("predicted_value")] public double PredictedValue { get; set; }
        [JsonPropertyName("actual_value")] public double ActualValue { get; set; }
    }

    internal sealed class BucketRow
    {
        [JsonPropertyName("bucket")] public string Bucket { get; set; } = "";
        [JsonPropertyName("calibration_frequency")] public int Frequency { get; set; }
        [JsonPropertyName("customers")] public int Customers { get; set; }
        [JsonPropertyName("mean_actual_purchases")] public double MeanActual { get; set; }
        [JsonPropertyName("mean_predicted_purchases")] public double MeanPredicted { get; set; }
    }

    internal sealed class MetricsRow
    {
        [JsonPropertyName("calibration_end")] public string CalibrationEnd { get; set; } = "";
        [JsonPropertyName("holdout_days")] public int HoldoutDays { get; set; }
        [JsonPropertyName("time_unit")] public string TimeUnit { get; set; } = "";
        [JsonPropertyName("customers")] public int Customers { get; set; }
        [JsonPropertyName("mae")] public double Mae { get; set; }
        [JsonPropertyName("rmse")] public double Rmse { get; set; }
        [JsonPropertyName("bias")] public double Bias { get; set; }
        [JsonPropertyName("total_predicted")] public double TotalPredicted { get; set; }
        [JsonPropertyName("total_actual")] public double TotalActual { get; set; }
        [JsonPropertyName("value_mae")] public double ValueMae { get; set; }
        [JsonPropertyName("value_bias")] public double ValueBias { get; set; }
    }
}
