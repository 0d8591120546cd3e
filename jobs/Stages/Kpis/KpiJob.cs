using System.Globalization;
using Pipeline.Core;
using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Publishing;
using Pipeline.Runs;

namespace Pipeline.Stages.Kpis;

/// <summary>
/// <c>pipeline kpis</c>: clean/orders + sessions (+ clean/events, + the optional ad spend input) → <c>kpi/daily</c>,
/// <c>kpi/channels</c>, <c>kpi/cohorts</c> (and <c>quarantine/ad_spend</c> when there is a spend input). Every table is
/// recomputed from the full clean tables and replaced whole, all published together.
/// </summary>
public static class KpiJob
{
    private const string DailyTable = TableNames.KpiDaily;
    private const string ChannelsTable = TableNames.KpiChannels;
    private const string CohortsTable = TableNames.KpiCohorts;
    private const string AdSpendQuarantineTable = TableNames.QuarantineAdSpend;

    /// <param name="run">The stage's context; its input root holds clean/orders, sessions and clean/events.</param>
    /// <param name="settings">The KPI settings.</param>
    public static void Run(StageContext run, KpiSettings settings)
    {
        var root = run.InputRoot;
        var ordersDir = Path.Combine(root, TableNames.CleanOrders);
        if (!OutputStore.HasParquet(ordersDir))
        {
            throw PipelineException.Input($"no clean orders under {ordersDir}: run `pipeline clean-orders` first (or point --input at the output that has them)");
        }
        var published = new List<(string Table, long Rows)>();
        string? spendRelation = null;
        if (run.HasInput(KpiStage.AdSpendInput))
        {
            published.Add((AdSpendQuarantineTable, CleanAdSpend(run, settings)));
            spendRelation = KpiSql.AdSpendKept;
        }

        run.Measure("kpis", report =>
        {
            var engine = run.Engine;
            var d = engine.Dialect;
            var kc = settings.Kpis;
            var sessionsDir = Path.Combine(root, TableNames.Sessions);
            var eventsDir = Path.Combine(root, TableNames.CleanEvents);
            var options = new KpiSqlOptions(
                OrdersRelation: engine.ParquetRelation(ordersDir),
                SessionsRelation: OutputStore.HasParquet(sessionsDir) ? engine.ParquetRelation(sessionsDir) : null,
                EventsRelation: OutputStore.HasParquet(eventsDir) ? engine.ParquetRelation(eventsDir) : null,
                AdSpendRelation: spendRelation,
                RepeatWindowDays: kc.RepeatWindowDays,
                RepeatCohortDays: kc.RepeatCohortDays,
                AttributionLookbackDays: kc.AttributionLookbackDays);
            if (options.SessionsRelation is null)
            {
                run.Log.Info($"no sessions under {sessionsDir}: session figures are 0 and every purchase is unattributed", "kpis");
            }
            else if (options.EventsRelation is null)
            {
                run.Log.Info($"no clean events under {eventsDir}: purchases are attributed through their customer's sessions only", "kpis");
            }
            var Step = run.StepTimer("kpis");

            var daily = engine.WriteParquet(KpiSql.Daily(d, options), run.StagingPath(DailyTable), []);
            Step("kpi/daily written");
            var channels = engine.WriteParquet(KpiSql.Channels(d, options), run.StagingPath(ChannelsTable), []);
            Step("kpi/channels written");
            var span = engine.Query(KpiSql.OrderDateSpan(options.OrdersRelation))[0];
            var cohortSql = span[0] is null || span[1] is null
                ? KpiSql.Cohorts(d, options, [])
                : KpiSql.Cohorts(d, options, Months(AsDate(span[0]!), AsDate(span[1]!)));
            var cohorts = engine.WriteParquet(cohortSql, run.StagingPath(CohortsTable), []);
            Step("kpi/cohorts written");

            report.RowsWritten = daily + channels + cohorts;
            report.RowsRead = report.RowsWritten; // aggregates of the clean tables: nothing to account row by row
            report.Counts["daily_rows"] = daily;
            report.Counts["channel_rows"] = channels;
            report.Counts["cohort_rows"] = cohorts;

            run.CheckStaged(DailyTable, daily);
            run.CheckStaged(ChannelsTable, channels);
            run.CheckStaged(CohortsTable, cohorts);
            published.InsertRange(0, [(DailyTable, daily), (ChannelsTable, channels), (CohortsTable, cohorts)]);
            run.Publish(published);
            Step("published");
        });
    }

    /// <summary>
    /// Reads, types and checks the ad spend input into the session table <c>ad_spend_typed</c>, stages its quarantine
    /// and returns the quarantined row count. Same gates as the cleaning stages: balanced books, quarantine share.
    /// </summary>
    private static long CleanAdSpend(StageContext run, KpiSettings settings)
    {
        var quality = settings.Quality;
        long quarantined = 0;
        run.Measure("ad-spend", report =>
        {
            var raw = run.ReadInput(KpiStage.AdSpendInput);
            InputBinder.Require(raw, ["date", "channel", "spend"], "kpis.ad_spend");
            var engine = run.Engine;
            var d = engine.Dialect;
            engine.RegisterRawInput("ad_spend_raw", raw);
            var hasFx = run.HasInput(KpiStage.FxInput);
            if (hasFx)
            {
                // The orders' FX table, held to the same checks (clean-orders has already failed on a bad one).
                var fxRaw = run.ReadInput(KpiStage.FxInput);
                InputBinder.Require(fxRaw, CanonicalColumns.Fx, KpiStage.FxInput);
                engine.RegisterRawInput("fx_raw", fxRaw);
                var bad = engine.Query(KpiSql.InvalidFxRows(d))[0];
                if (Long(bad[0]) > 0)
                {
                    throw PipelineException.Input($"FX table: {Long(bad[0])} row(s) without a valid date, 3-letter currency and positive rate, or giving a currency two different rates on one date (first at line {bad[1]})");
                }
            }
            var baseCurrency = settings.BaseCurrency ?? throw new InvalidOperationException("kpis settings without a base currency but with ad spend");
            engine.Materialize("ad_spend_typed", KpiSql.AdSpendTyped(d, new AdSpendSqlOptions(quality.MinValidDate, baseCurrency, hasFx)));
            engine.DropRawInput("ad_spend_raw");
            if (hasFx)
            {
                engine.DropRawInput("fx_raw");
            }

            run.RecordBooks(report, TypedInputSql.Books("ad_spend_typed"), TypedInputSql.QuarantineByReason("ad_spend_typed"), quality.AllowEmptyInput,
                "the ad spend input has no data rows (header only?); set quality.allow_empty_input to accept it");
            quarantined = engine.WriteParquet(KpiSql.AdSpendQuarantine(d, run.RunId), run.StagingPath(AdSpendQuarantineTable), []);
            run.CheckStaged(AdSpendQuarantineTable, report.RowsQuarantined);
            run.CheckQualityGates(report, "ad spend", quality.MaxQuarantineShare);
        });
        return quarantined;
    }

    private static IReadOnlyList<DateOnly> Months(DateOnly first, DateOnly last)
    {
        var months = new List<DateOnly>();
        for (var m = new DateOnly(first.Year, first.Month, 1); m <= last; m = m.AddMonths(1))
        {
            months.Add(m);
        }
        return months;
    }

    private static DateOnly AsDate(object value) => value switch
    {
        DateOnly d => d,
        DateTime dt => DateOnly.FromDateTime(dt),
        _ => DateOnly.Parse(Convert.ToString(value, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
    };

    private static long Long(object? value) => value is null ? 0 : Convert.ToInt64(value, CultureInfo.InvariantCulture);
}
