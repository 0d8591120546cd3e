using System.Globalization;
using Pipeline.Core;
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
    private const string CleanTable = TableNames.CleanOrders;
    private const string QuarantineTable = TableNames.QuarantineOrders;

    public static StageReport Run(StageContext run, CleanOrdersSettings settings)
    {
        var oc = settings.Orders;
        return run.Measure("clean-orders", report =>
        {
            // Orders are small: a JSON line with a key twice is rejected rather than read with one of its values.
            var read = run.ReadInput("orders");
            var raw = read with { Groups = read.Groups.Select(g => g with { RejectDuplicateKeys = true }).ToList() };
            InputBinder.Require(raw, ["order_id", "ordered_at"], "orders");
            var lineLevel = settings.Grain == OrderGrain.Line || settings.Grain == OrderGrain.Auto
                && InputBinder.Has(raw, "quantity") && InputBinder.Has(raw, "unit_price") && !InputBinder.Has(raw, "total_amount");
            InputBinder.Require(raw, lineLevel ? ["quantity", "unit_price"] : ["total_amount"], "orders");
            run.Log.Info($"{raw.Groups.Sum(g => g.Files.Count)} file(s), {(lineLevel ? "line-level" : "order-level")} rows", "clean-orders");

            var engine = run.Engine;
            var Step = run.StepTimer("clean-orders");
            engine.RegisterRawInput("orders_raw", raw);
            Step("raw input registered");
            if (oc.Fx is not null)
            {
                var fxRaw = run.ReadInput("orders.fx");
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
                BaseCurrency: settings.BaseCurrency,
                SourceTimeZone: settings.SourceTimeZone,
                TimestampFormat: oc.TimestampFormat,
                Now: run.Now,
                FutureTolerance: settings.Quality.FutureTolerance,
                MinValidDate: settings.Quality.MinValidDate,
                StatusMap: statusMap,
                HasFx: oc.Fx is not null,
                RunId: run.RunId);

            var d = engine.Dialect;
            engine.Materialize("orders_typed", OrdersSql.Typed(d, options));
            engine.DropRawInput("orders_raw");
            Step("typed");
            engine.Materialize("orders_deduplicated", OrdersSql.Deduplicated(options));
            Step("deduplicated");
            run.RecordBooks(report, OrdersSql.Accounting(), TypedInputSql.QuarantineByReason("orders_typed"), settings.Quality.AllowEmptyInput,
                "the orders input has no data rows (header only?); set quality.allow_empty_input to accept empty days");

            var orders = engine.WriteParquet(OrdersSql.CleanOrders(d, options), run.StagingPath(CleanTable), ["order_date"]);
            Step("clean orders written");
            engine.WriteParquet(OrdersSql.Quarantine(d, options), run.StagingPath(QuarantineTable), []);
            Step("quarantine written");
            report.Counts["orders_written"] = orders;
            report.Counts["lines_written"] = lineLevel ? report.RowsWritten : orders;

            // Validate what was staged before anything is published: the files read back, and the books balance.
            run.CheckStaged(CleanTable, orders);
            run.CheckStaged(QuarantineTable, report.RowsQuarantined);
            run.CheckQualityGates(report, "order", settings.Quality.MaxQuarantineShare);
            Step("validated");
            run.Publish([(CleanTable, orders), (QuarantineTable, report.RowsQuarantined)]);
            Step("published");
        });
    }

    private static void CheckFx(StageContext run)
    {
        var bad = run.Engine.Query(OrdersSql.InvalidFxRows(run.Engine.Dialect))[0];
        var n = Convert.ToInt64(bad[0], CultureInfo.InvariantCulture);
        if (n > 0)
        {
            throw PipelineException.Input($"FX table: {n} row(s) without a valid date, 3-letter currency and positive rate, or giving a currency two different rates on one date (first at line {bad[1]})");
        }
    }
}
