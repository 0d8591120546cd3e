using System.Globalization;
using Pipeline.Cli;
using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Runs;

namespace Pipeline.Stages.Orders;

/// <summary>
/// <c>pipeline clean-orders</c>: raw order files → <c>clean/orders</c> (one row per order, partitioned by order_date)
/// and <c>quarantine/orders</c> (one row per rejected input row), published atomically, with balanced accounting.
/// </summary>
public static class CleanOrdersJob
{
    public const string CleanTable = "clean/orders";
    public const string QuarantineTable = "quarantine/orders";

    public static StageReport Run(JobRun run)
    {
        var config = run.Config;
        var oc = config.Orders;
        return run.Stage("clean-orders", report =>
        {
            var raw = run.ReadInputs(oc.Input, new InputOptions(oc.Format, oc.Csv.Delimiter), CanonicalColumns.Orders, oc.Columns, oc.Csv.Quote[0], "orders");
            InputBinder.Require(raw, ["order_id", "ordered_at"], "orders");
            var lineLevel = oc.Grain == "line" || oc.Grain == "auto"
                && InputBinder.Has(raw, "quantity") && InputBinder.Has(raw, "unit_price") && !InputBinder.Has(raw, "total_amount");
            InputBinder.Require(raw, lineLevel ? ["quantity", "unit_price"] : ["total_amount"], "orders");
            run.Log.Info($"{raw.Groups.Sum(g => g.Files.Count)} file(s), {(lineLevel ? "line-level" : "order-level")} rows", "clean-orders");

            var engine = run.Engine;
            var Step = run.StepTimer("clean-orders");
            engine.RegisterRawInput("orders_raw", raw);
            Step("raw input registered");
            if (oc.Fx is { } fx)
            {
                var fxRaw = run.ReadInputs([fx.Input], new InputOptions("auto", "auto"), CanonicalColumns.Fx, fx.Columns, '"', "orders.fx");
                InputBinder.Require(fxRaw, CanonicalColumns.Fx, "orders.fx");
                engine.RegisterRawInput("fx_raw", fxRaw);
                CheckFx(run);
            }
            var (ipad, opad) = run.HashKey.Pads();
            engine.RegisterHashKey(ipad, opad);

            var statusMap = new Dictionary<string, string>(OrderStatuses.Synonyms);
            foreach (var (from, to) in oc.StatusMap)
            {
                statusMap[from.Trim().ToLowerInvariant()] = to;
            }
            var options = new OrdersSqlOptions(
                LineLevel: lineLevel,
                BaseCurrency: config.BaseCurrency,
                SourceTimeZone: config.SourceTimeZone,
                TimestampFormat: oc.TimestampFormat,
                Now: run.Now,
                FutureTolerance: TimeSpan.FromMinutes(config.Quality.FutureToleranceMinutes),
                MinValidDate: DateOnly.ParseExact(config.Quality.MinValidDate, "yyyy-MM-dd", CultureInfo.InvariantCulture),
                StatusMap: statusMap,
                HasFx: oc.Fx is not null,
                RunId: run.RunId);

            var d = engine.Dialect;
            engine.Materialize("orders_typed", OrdersSql.Typed(d, options));
            engine.DropRawInput("orders_raw");
            Step("typed");
            engine.Materialize("orders_deduplicated", OrdersSql.Deduplicated(options));
            Step("deduplicated");
            var acc = engine.Query(OrdersSql.Accounting())[0];
            report.RowsRead = Convert.ToInt64(acc[0], CultureInfo.InvariantCulture);
            report.RowsWritten = Convert.ToInt64(acc[1], CultureInfo.InvariantCulture);
            report.Duplicates = Convert.ToInt64(acc[2], CultureInfo.InvariantCulture);
            report.RowsQuarantined = Convert.ToInt64(acc[3], CultureInfo.InvariantCulture);
            foreach (var row in engine.Query(OrdersSql.QuarantineByReason()))
            {
                report.QuarantinedByReason[(string)row[0]!] = Convert.ToInt64(row[1], CultureInfo.InvariantCulture);
            }
            if (report.RowsRead == 0 && !config.Quality.AllowEmptyInput)
            {
                throw PipelineException.Input("the orders input has no data rows (header only?); set quality.allow_empty_input to accept empty days");
            }

            var orders = engine.WriteParquet(OrdersSql.CleanOrders(d, options), run.StagingPath(CleanTable), ["order_date"]);
            Step("clean orders written");
            engine.WriteParquet(OrdersSql.Quarantine(d, options), run.StagingPath(QuarantineTable), []);
            Step("quarantine written");
            report.Counts["orders_written"] = orders;
            report.Counts["lines_written"] = lineLevel ? report.RowsWritten : orders;

            // Validate what was staged before anything is published: the files read back, and the books balance.
            run.CheckStaged(CleanTable, orders);
            run.CheckStaged(QuarantineTable, report.RowsQuarantined);
            run.CheckQualityGates(report, "order");
            Step("validated");
            run.Publish([(CleanTable, orders), (QuarantineTable, report.RowsQuarantined)]);
            Step("published");
        });
    }

    private static void CheckFx(JobRun run)
    {
        var bad = run.Engine.Query(OrdersSql.InvalidFxRows(run.Engine.Dialect))[0];
        var n = Convert.ToInt64(bad[0], CultureInfo.InvariantCulture);
        if (n > 0)
        {
            throw PipelineException.Input($"FX table: {n} row(s) without a valid date, 3-letter currency and positive rate (first at line {bad[1]})");
        }
    }
}
