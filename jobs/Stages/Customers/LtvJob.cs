using System.Globalization;
using System.Text.Json.Serialization;
using Parquet.Serialization.Attributes;
using Pipeline.Engine;
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

    /// <summary>Floor of the BG/NBD fallback prior's α centre, in days (see <see cref="BgNbdPrior.MinAlpha"/>).</summary>
    internal const double PriorMinAlphaDays = 30;

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
            // Purchase days from clean orders: the backtest's history, and the spend scale of the Gamma-Gamma fallback's
            // prior (the mean purchase value exists even when nobody has bought twice).
            var transactions = new List<Transaction>();
            run.Engine.ForEachRow(CustomersSql.LtvPurchaseDays(run.Engine.Dialect, a.OrdersRelation, a.AsOf), r => transactions.Add(new Transaction(r.GetString(0), ToDate(r.GetValue(1)), r.GetDouble(2))));
            var positive = transactions.Where(t => t.Value > 0).Select(t => t.Value).ToList();
            var options = new LtvFitOptions
            {
                Penalizer = c.Penalizer,
                // The fallback's time scale: the mean T, but at least a month (a few days of history would otherwise
                // centre the purchase rate on one per few days).
                BgNbdPrior = new BgNbdPrior { MinAlpha = PriorMinAlphaDays / a.DaysPerUnit },
                GammaGammaPrior = new GammaGammaPrior(positive.Count > 0 ? positive.Average() : 1.0),
            };
            var notOk = new List<string>();
            var horizons = c.HorizonsDays.Select(h => (Days: h, Periods: h / a.DaysPerUnit)).ToList();
            IReadOnlyList<LocalColumn> customerColumns = CustomerColumns([], [], [], horizons.Select(h => (h.Days, Array.Empty<double>(), Array.Empty<double>())).ToList());
            var paramRows = new List<ParamRow>();
            if (customers.Count == 0)
            {
                notOk.Add($"no customers with a purchase by {a.AsOf:yyyy-MM-dd}: nothing to fit");
            }
            else
            {
                var fitClock = System.Diagnostics.Stopwatch.StartNew();
                var (bg, gg) = Fit(customers, options, "as_of " + a.AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                report.Counts["fit_ms"] = fitClock.ElapsedMilliseconds;
                if (Math.Abs(gg.Fit.FrequencyMonetaryCorrelation) > c.CorrelationWarning)
                {
                    var warning = $"frequency and monetary value correlate ({gg.Fit.FrequencyMonetaryCorrelation:0.00}); Gamma-Gamma assumes they are independent, so expected values may be biased";
                    run.Warn(warning, "ltv");
                }
                NoteIfNotOk(notOk, "full", bg.Diagnosis, gg.Diagnosis);

                // Per customer predictions, in the base currency and the summary's time unit, column by column.
                var n = customers.Count;
                var values = new double[n];
                var pAlive = new double[n];
                var expected = horizons.Select(_ => new double[n]).ToArray();
                var clvs = horizons.Select(_ => new double[n]).ToArray();
                var clvOptions = horizons.Select(h => new ClvOptions((int)Math.Round(h.Periods), c.DiscountRatePerPeriod)).ToArray();
                for (var i = 0; i < n; i++)
                {
                    var s = customers[i];
                    values[i] = ExpectedValue(gg.Fit.Parameters, s);
                    pAlive[i] = BgNbd.ProbabilityAlive(bg.Fit.Parameters, s.Frequency, s.Recency, s.T);
                    for (var k = 0; k < horizons.Count; k++)
                    {
                        expected[k][i] = BgNbd.ConditionalExpectedPurchases(bg.Fit.Parameters, horizons[k].Periods, s.Frequency, s.Recency, s.T);
                        clvs[k][i] = Clv.CustomerLifetimeValue(bg.Fit.Parameters, values[i], s, clvOptions[k]);
                    }
                }
                customerColumns = CustomerColumns(customers, pAlive, values, horizons.Select((h, k) => (h.Days, expected[k], clvs[k])).ToList());
                paramRows.AddRange(ParamRows(bg, gg, a.TimeUnit, c.Penalizer, "full"));
                report.Counts["repeat_buyers"] = bg.Fit.RepeatBuyers;
                run.Log.Info(string.Create(CultureInfo.InvariantCulture,
                    $"fit of {customers.Count} customers in {report.Counts["fit_ms"] / 1000.0:0.00} s: BG/NBD r={bg.Fit.Parameters.R:0.####} alpha={bg.Fit.Parameters.Alpha:0.####} a={bg.Fit.Parameters.A:0.####} b={bg.Fit.Parameters.B:0.####} (LL {bg.Fit.LogLikelihood:0.0}; {Estimator(bg.Estimator)}, {bg.Diagnosis.Code}); Gamma-Gamma p={gg.Fit.Parameters.P:0.####} q={gg.Fit.Parameters.Q:0.####} gamma={gg.Fit.Parameters.Gamma:0.####} ({Estimator(gg.Estimator)}, {gg.Diagnosis.Code})"), "ltv");
            }
            a.Run.Engine.WriteColumns(customerColumns, customers.Count, a.StagedPartition(CustomersTable));

            // Backtest on purchase days read from clean orders (the models' own data preparation builds the split).
            var calibrationEnd = a.AsOf.AddDays(-c.HoldoutDays);
            var backtestRows = new List<BacktestRow>();
            var bucketRows = new List<BucketRow>();
            var metricRows = new List<MetricsRow>();
            var (split, skip) = BacktestSplit(transactions, calibrationEnd, a.AsOf, c.HoldoutDays, unit);
            if (skip is null)
            {
                var calibration = split!.Rows.Select(r => r.Calibration).ToList();
                var (cbg, cgg) = Fit(calibration, options, "calibration ending " + calibrationEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                NoteIfNotOk(notOk, "calibration", cbg.Diagnosis, cgg.Diagnosis);
                var (predicted, backtest) = Backtest.Run(cbg.Fit.Parameters, split);
                // The value errors come from the unrounded values; the rows publish them in cents.
                var values = new List<(double Predicted, double Actual)>(split.Rows.Count);
                for (var i = 0; i < split.Rows.Count; i++)
                {
                    var r = split.Rows[i];
                    var value = ExpectedValue(cgg.Fit.Parameters, r.Calibration);
                    values.Add((predicted[i] * value, r.HoldoutValue));
                    backtestRows.Add(new BacktestRow
                    {
                        CustomerId = r.Calibration.CustomerId,
                        CalibrationFrequency = r.Calibration.Frequency,
                        PredictedPurchases = predicted[i],
                        ActualPurchases = r.HoldoutPurchases,
                        PredictedValue = Money(predicted[i] * value),
                        ActualValue = Money(r.HoldoutValue),
                    });
                }
                bucketRows.AddRange(backtest.Buckets.Select(b => new BucketRow
                {
                    Bucket = b.IsOpenEnded ? $"{b.Frequency}+" : b.Frequency.ToString(CultureInfo.InvariantCulture),
                    Frequency = b.Frequency,
                    Customers = b.Customers,
                    MeanActual = b.Customers > 0 ? b.MeanActual : null,
                    MeanPredicted = b.Customers > 0 ? b.MeanPredicted : null,
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
                    ValueMae = Money(values.Average(v => Math.Abs(v.Predicted - v.Actual))),
                    ValueBias = Money(values.Average(v => v.Predicted - v.Actual)),
                    Status = "ran",
                });
                paramRows.AddRange(ParamRows(cbg, cgg, a.TimeUnit, c.Penalizer, "calibration"));
                run.Log.Info($"backtest: calibration to {calibrationEnd:yyyy-MM-dd}, {backtest.Customers} customers, MAE {backtest.MeanAbsoluteError:0.000}, RMSE {backtest.RootMeanSquaredError:0.000}, bias {backtest.Bias:+0.000;-0.000}", "ltv");
            }
            else
            {
                notOk.Add("backtest skipped: " + skip);
                metricRows.Add(new MetricsRow
                {
                    CalibrationEnd = calibrationEnd.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                    HoldoutDays = c.HoldoutDays,
                    TimeUnit = a.TimeUnit,
                    Customers = split?.Rows.Count ?? 0,
                    Status = "skipped",
                    Reason = skip,
                });
            }
            if (notOk.Count > 0)
            {
                // Once per stage run: every fit that is not ok, and a skipped backtest, in one line.
                run.Warn("LTV figures to read with care: " + string.Join(" | ", notOk), "ltv");
            }
            a.Write(ParamsTable, paramRows);
            a.Write(BacktestTable, backtestRows);
            a.Write(BucketsTable, bucketRows);
            a.Write(MetricsTable, metricRows);
            report.RowsWritten = customers.Count;
            run.Publish([(CustomersTable, customers.Count), (ParamsTable, paramRows.Count), (BacktestTable, backtestRows.Count),
                (BucketsTable, bucketRows.Count), (MetricsTable, metricRows.Count)], replaceTables: false);
        });
    }

    /// <summary>
    /// The backtest's calibration/holdout split, or why there is none: no purchase by the calibration end, a calibration
    /// period (first purchase → calibration end) shorter than the holdout — a model fitted on less history than it is
    /// asked to predict says nothing about the model (120 days of data with a 90-day holdout fitted a = b = 0 on 30 days
    /// and over-predicted by 24%) — or fewer than 10 customers in it. The backtest is then skipped, with the reason in
    /// ltv/backtest_metrics; the holdout is never shortened behind the configuration's back.
    /// </summary>
    internal static (CalibrationHoldoutSplit? Split, string? Skip) BacktestSplit(
        IReadOnlyList<Transaction> transactions, DateOnly calibrationEnd, DateOnly asOf, int holdoutDays, TimeUnit unit)
    {
        var first = transactions.Count == 0 ? (DateOnly?)null : transactions.Min(t => t.Date);
        if (first is not { } start || start > calibrationEnd)
        {
            return (null, $"no purchase on or before the calibration end {calibrationEnd:yyyy-MM-dd} (as_of − {holdoutDays} days)");
        }
        var split = ClvSummary.CalibrationHoldout(transactions, calibrationEnd, asOf, unit);
        var calibrationDays = calibrationEnd.DayNumber - start.DayNumber + 1;
        if (calibrationDays < holdoutDays)
        {
            return (split, $"the calibration period ({calibrationDays} days, {start:yyyy-MM-dd} to {calibrationEnd:yyyy-MM-dd}) is shorter than the {holdoutDays}-day holdout; lower analytics.ltv.holdout_days to at most half the history");
        }
        return split.Rows.Count < 10
            ? (split, $"only {split.Rows.Count} customers bought on or before {calibrationEnd:yyyy-MM-dd} (at least 10 are needed)")
            : (split, null);
    }

    private static void NoteIfNotOk(List<string> notes, string fit, FitDiagnosis bg, FitDiagnosis gg)
    {
        foreach (var (model, d) in new[] { ("BG/NBD", bg), ("Gamma-Gamma", gg) })
        {
            if (d.Status != FitStatus.Ok)
            {
                notes.Add($"{fit} {model} fit {d.Code}: {string.Join("; ", d.Reasons)}");
            }
        }
    }

    private static string Estimator(FitEstimator e) => e == FitEstimator.MaximumAPosteriori ? "map" : "mle";

    private static (CheckedBgNbdFit Bg, CheckedGammaGammaFit Gg) Fit(IReadOnlyList<CustomerSummary> customers, LtvFitOptions options, string what)
    {
        try
        {
            SummaryValidator.ThrowIfInvalid(customers);
            var bg = LtvFits.FitBgNbd(customers, options);
            // Gamma-Gamma models the spend of repeat buyers; refunds can leave a repeat buyer with a mean repeat value
            // <= 0, which the model cannot take: those customers are left out of the fit (one-time buyers too) and,
            // like one-time buyers, get the population mean as expected order value.
            var spenders = customers.Where(x => x.Frequency == 0 || x.MonetaryValue > 0).ToList();
            var gg = LtvFits.FitGammaGamma(spenders, options);
            return (bg, gg);
        }
        catch (SummaryValidationException e)
        {
            throw PipelineException.Quality($"LTV input ({what}) is not a valid CLV summary: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    private static double ExpectedValue(GammaGammaParameters p, CustomerSummary s) =>
        s.Frequency > 0 && s.MonetaryValue > 0 ? GammaGamma.ConditionalExpectedAverageValue(p, s.Frequency, s.MonetaryValue) : p.PopulationMeanValue;

    private static List<ParamRow> ParamRows(CheckedBgNbdFit bg, CheckedGammaGammaFit gg, string unit, double penalizer, string fit)
    {
        ParamRow P(string model, string name, double value, double? se, double ll, OptimizationReport conv, int n, FitEstimator estimator, FitDiagnosis diagnosis) => new()
        {
            Fit = fit, Model = model, Parameter = name, Value = value, StandardError = se is { } s && double.IsFinite(s) ? s : null, LogLikelihood = ll,
            Converged = conv.Converged, Iterations = conv.Iterations, Customers = n, TimeUnit = unit,
            Penalizer = estimator == FitEstimator.MaximumLikelihood ? penalizer : 0, Estimator = Estimator(estimator), Status = diagnosis.Code,
            Reasons = string.Join("; ", diagnosis.Reasons),
        };
        var b = bg.Fit;
        var g = gg.Fit;
        ParamRow B(string name, double value, double? se) => P("bg_nbd", name, value, se, b.LogLikelihood, b.Convergence, b.Customers, bg.Estimator, bg.Diagnosis);
        ParamRow G(string name, double value, double? se) => P("gamma_gamma", name, value, se, g.LogLikelihood, g.Convergence, g.RepeatBuyers, gg.Estimator, gg.Diagnosis);
        return
        [
            B("r", b.Parameters.R, b.StandardErrors?.R),
            B("alpha", b.Parameters.Alpha, b.StandardErrors?.Alpha),
            B("a", b.Parameters.A, b.StandardErrors?.A),
            B("b", b.Parameters.B, b.StandardErrors?.B),
            G("p", g.Parameters.P, g.StandardErrors?.P),
            G("q", g.Parameters.Q, g.StandardErrors?.Q),
            G("gamma", g.Parameters.Gamma, g.StandardErrors?.Gamma),
        ];
    }

    /// <summary>
    /// Money the ltv stage writes (expected order value, CLV, backtest values) in cents: rounded half away from zero to
    /// two decimals, as DuckDB's round(x, 2) and the audience export do, after every computation (a CRM gets 28.31, not
    /// 28.310398466752396). Non-finite values are left for the checks to see.
    /// </summary>
    internal static double Cents(double value) => double.IsFinite(value) ? Math.Round(value, 2, MidpointRounding.AwayFromZero) : value;

    /// <summary>
    /// Money as the tables publish it: <see cref="Cents"/> as an exact DECIMAL(18,2), or NULL when the model gives no
    /// finite amount that fits it (a degenerate fit can; its status in ltv/params says why). A double rounded to cents is
    /// only near the amount (28.31 is 28.309999…); the decimal is the amount.
    /// </summary>
    internal static decimal? Money(double value) => ToDecimal(Cents(value), 2);

    /// <summary>A model input in the base currency (monetary_value), to 6 decimals as customers/features has it.</summary>
    internal static decimal? Money6(double value) => ToDecimal(double.IsFinite(value) ? Math.Round(value, 6, MidpointRounding.AwayFromZero) : value, 6);

    /// <summary>Largest magnitude DECIMAL(18, s) holds.</summary>
    private static decimal? ToDecimal(double value, int scale) =>
        double.IsFinite(value) && Math.Abs(value) < Math.Pow(10, 18 - scale)
            ? Math.Round((decimal)value, scale, MidpointRounding.AwayFromZero)
            : null;

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

    /// <summary>
    /// The <c>ltv/customers</c> columns, one value per customer: the summary, p_alive and the expected order value, then
    /// expected purchases and CLV per horizon (so the columns depend on the configuration). Money is DECIMAL: the
    /// monetary value to 6 decimals as customers/features has it, the rest in cents.
    /// </summary>
    internal static IReadOnlyList<LocalColumn> CustomerColumns(IReadOnlyList<CustomerSummary> customers, double[] pAlive, double[] expectedOrderValue,
        IReadOnlyList<(int Days, double[] ExpectedPurchases, double[] Clv)> horizons)
    {
        var columns = new List<LocalColumn>
        {
            new("customer_id", typeof(string), customers.Select(s => s.CustomerId).ToArray()),
            new("frequency", typeof(int), customers.Select(s => s.Frequency).ToArray()),
            new("recency", typeof(double), customers.Select(s => s.Recency).ToArray()),
            new("T", typeof(double), customers.Select(s => s.T).ToArray()),
            new("monetary_value", typeof(decimal?), customers.Select(s => Money6(s.MonetaryValue)).ToArray(), (18, 6)),
            new("p_alive", typeof(double), pAlive),
            new("expected_order_value", typeof(decimal?), expectedOrderValue.Select(Money).ToArray(), (18, 2)),
        };
        foreach (var h in horizons)
        {
            columns.Add(new($"expected_purchases_{h.Days}d", typeof(double), h.ExpectedPurchases));
            columns.Add(new($"clv_{h.Days}d", typeof(decimal?), h.Clv.Select(Money).ToArray(), (18, 2)));
        }
        return columns;
    }

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
        [JsonPropertyName("estimator")] public string Estimator { get; set; } = "";
        [JsonPropertyName("status")] public string Status { get; set; } = "";
        [JsonPropertyName("reasons")] public string Reasons { get; set; } = "";
    }

    internal sealed class BacktestRow
    {
        [JsonPropertyName("customer_id")] public string CustomerId { get; set; } = "";
        [JsonPropertyName("calibration_frequency")] public int CalibrationFrequency { get; set; }
        [JsonPropertyName("predicted_purchases")] public double PredictedPurchases { get; set; }
        [JsonPropertyName("actual_purchases")] public int ActualPurchases { get; set; }
        [JsonPropertyName("predicted_value")] [ParquetDecimal(18, 2)] public decimal? PredictedValue { get; set; }
        [JsonPropertyName("actual_value")] [ParquetDecimal(18, 2)] public decimal? ActualValue { get; set; }
    }

    internal sealed class BucketRow
    {
        [JsonPropertyName("bucket")] public string Bucket { get; set; } = "";
        [JsonPropertyName("calibration_frequency")] public int Frequency { get; set; }
        [JsonPropertyName("customers")] public int Customers { get; set; }
        [JsonPropertyName("mean_actual_purchases")] public double? MeanActual { get; set; }
        [JsonPropertyName("mean_predicted_purchases")] public double? MeanPredicted { get; set; }
    }

    internal sealed class MetricsRow
    {
        [JsonPropertyName("calibration_end")] public string CalibrationEnd { get; set; } = "";
        [JsonPropertyName("holdout_days")] public int HoldoutDays { get; set; }
        [JsonPropertyName("time_unit")] public string TimeUnit { get; set; } = "";
        [JsonPropertyName("customers")] public int Customers { get; set; }
        [JsonPropertyName("mae")] public double? Mae { get; set; }
        [JsonPropertyName("rmse")] public double? Rmse { get; set; }
        [JsonPropertyName("bias")] public double? Bias { get; set; }
        [JsonPropertyName("total_predicted")] public double? TotalPredicted { get; set; }
        [JsonPropertyName("total_actual")] public double? TotalActual { get; set; }
        [JsonPropertyName("value_mae")] [ParquetDecimal(18, 2)] public decimal? ValueMae { get; set; }
        [JsonPropertyName("value_bias")] [ParquetDecimal(18, 2)] public decimal? ValueBias { get; set; }
        [JsonPropertyName("status")] public string Status { get; set; } = "";
        [JsonPropertyName("reason")] public string? Reason { get; set; }
    }
}
