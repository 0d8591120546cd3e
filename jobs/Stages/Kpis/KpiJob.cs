using System.Globalization;
using Pipeline.Core;
using Pipeline.Config;
using Pipeline.Inputs;
using Pipeline.Publishing;
using Pipeline.Runs;

namespace Pipeline.Stages.Kpis;

/// <summary>
/// <c>pipeline kpis</c>: clean/orders + sessions (+ clean/events, + the optional ad spend input) → <c>kpi/daily</c>,
/// <c>kpi/channels</c>, <c>kpi/cohorts</c>, <c>kpi/purchase_links</c> (and <c>quarantine/ad_spend</c> when there is a
/// spend input), all published together. A full run computes every row from the clean tables; a nightly run
/// (<see cref="StageContext.Incremental"/>) recomputes the daily and channel rows from the first day whose inputs
/// changed and keeps the published rows before it (<see cref="KpiIncrement"/>): the same rows a full run computes.
/// </summary>
public static class KpiJob
{
    private const string DailyTable = TableNames.KpiDaily;
    private const string ChannelsTable = TableNames.KpiChannels;
    private const string CohortsTable = TableNames.KpiCohorts;
    private const string LinksTable = TableNames.KpiPurchaseLinks;
    private const string AdSpendQuarantineTable = TableNames.QuarantineAdSpend;
    private const string FirstPurchasesTable = "kpi_first_purchases";

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
        var published = new List<(string Table, long Rows, bool ReplaceTable)>();
        string? spendRelation = null;
        if (run.HasInput(KpiStage.AdSpendInput))
        {
            published.Add((AdSpendQuarantineTable, CleanAdSpend(run, settings), true));
            spendRelation = KpiSql.AdSpendKept;
        }

        run.Measure("kpis", report =>
        {
            var engine = run.Engine;
            var d = engine.Dialect;
            var kc = settings.Kpis;
            var sessionsDir = Path.Combine(root, TableNames.Sessions);
            var eventsDir = Path.Combine(root, TableNames.CleanEvents);
            var ordersRelation = engine.ParquetRelation(ordersDir);
            var sessionsRelation = OutputStore.HasParquet(sessionsDir) ? engine.ParquetRelation(sessionsDir) : null;
            var eventsRelation = OutputStore.HasParquet(eventsDir) ? engine.ParquetRelation(eventsDir) : null;
            if (sessionsRelation is null)
            {
                run.Log.Info($"no sessions under {sessionsDir}: session figures are 0 and every purchase is unattributed", "kpis");
            }
            else if (eventsRelation is null)
            {
                run.Log.Info($"no clean events under {eventsDir}: purchases are attributed through their customer's sessions only", "kpis");
            }
            var Step = run.StepTimer("kpis");

            var current = KpiIncrement.Current(engine, root, ordersRelation, spendRelation);
            var plan = KpiIncrement.Make(run, current);
            long links = 0;
            string? linksRelation = null;
            if (plan.From is not null)
            {
                (links, linksRelation) = UpdateLinks(run, eventsRelation, ordersRelation, ref plan);
            }
            if (plan.From is null)
            {
                links = eventsRelation is null ? 0 : engine.WriteParquet(KpiSql.PurchaseLinks(d, eventsRelation, null), run.StagingPath(LinksTable), ["event_date"]);
                linksRelation = OutputStore.HasParquet(run.StagingPath(LinksTable)) ? engine.ParquetRelation(run.StagingPath(LinksTable)) : null;
                run.Log.Info($"every day recomputed ({plan.Reason})", "kpis");
            }
            else
            {
                run.Log.Info(plan.From == DateOnly.MaxValue
                    ? $"no day recomputed: no input changed in a way the KPI rows see ({plan.Reason})"
                    : $"days from {plan.From:yyyy-MM-dd} recomputed, the earlier ones kept ({plan.Reason}; {plan.EventDays.Count} event day(s) of purchase links re-read)", "kpis");
            }
            Step("kpi/purchase_links written");

            var options = new KpiSqlOptions(
                OrdersRelation: ordersRelation,
                SessionsRelation: sessionsRelation,
                LinksRelation: linksRelation,
                AdSpendRelation: spendRelation,
                RepeatWindowDays: kc.RepeatWindowDays,
                RepeatCohortDays: kc.RepeatCohortDays,
                AttributionLookbackDays: kc.AttributionLookbackDays,
                FromDate: plan.From,
                FirstPurchasesRelation: FirstPurchasesTable);
            // Each customer's first purchases, over every order: read by all three marts, computed once.
            engine.Materialize(FirstPurchasesTable, KpiSql.FirstPurchasesOf(ordersRelation));
            Step("first purchases");
            var dailySql = KpiSql.Daily(d, options);
            var channelsSql = KpiSql.Channels(d, options);
            if (plan.From is { } from)
            {
                dailySql = KpiSql.MergeFrom(d, dailySql, engine.ParquetRelation(run.PublishedPath(DailyTable)), from, byChannel: false);
                channelsSql = KpiSql.MergeFrom(d, channelsSql, engine.ParquetRelation(run.PublishedPath(ChannelsTable)), from, byChannel: true);
            }
            var daily = engine.WriteParquet(dailySql, run.StagingPath(DailyTable), []);
            Step("kpi/daily written");
            var channels = engine.WriteParquet(channelsSql, run.StagingPath(ChannelsTable), []);
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
            report.Counts["purchase_link_rows_written"] = links;

            run.CheckStaged(DailyTable, daily);
            run.CheckStaged(ChannelsTable, channels);
            run.CheckStaged(CohortsTable, cohorts);
            run.CheckStaged(LinksTable, links);
            published.InsertRange(0, [(DailyTable, daily, true), (ChannelsTable, channels, true), (CohortsTable, cohorts, true), (LinksTable, links, plan.From is null)]);
            run.Publish(published);
            run.RecordInputDays(current);
            Step("published");
        });
    }

    /// <summary>
    /// A nightly run's purchase links: the changed event days' links staged (the other days' partitions are kept),
    /// the plan's day moved back to the earliest order those links, old and new, point to. Returns the rows staged and
    /// the links as this run sees them. When a changed event day has no link any more, its published partition could
    /// not be removed by a partial publication: the plan becomes a full one (and the caller restages every link).
    /// </summary>
    private static (long Rows, string? Relation) UpdateLinks(StageContext run, string? eventsRelation, string ordersRelation, ref KpiIncrement.Plan plan)
    {
        var engine = run.Engine;
        var d = engine.Dialect;
        var staged = run.StagingPath(LinksTable);
        var publishedDir = run.PublishedPath(LinksTable);
        var days = plan.EventDays;
        var rows = eventsRelation is null || days.Count == 0 ? 0 : engine.WriteParquet(KpiSql.PurchaseLinks(d, eventsRelation, days), staged, ["event_date"]);
        var restaged = OutputStore.PartitionValues(staged, "event_date").ToHashSet(StringComparer.Ordinal);
        var changed = days.Select(day => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).ToHashSet(StringComparer.Ordinal);
        if (OutputStore.PartitionValues(publishedDir, "event_date").Any(day => changed.Contains(day) && !restaged.Contains(day)))
        {
            if (Directory.Exists(staged))
            {
                Directory.Delete(staged, recursive: true);
            }
            plan = plan with { From = null, Reason = "a changed event day has no purchase link any more" };
            return (0, null);
        }
        var published = OutputStore.HasParquet(publishedDir) ? engine.ParquetRelation(publishedDir) : null;
        var stagedRelation = OutputStore.HasParquet(staged) ? engine.ParquetRelation(staged) : null;
        DateOnly? earliest = null;
        foreach (var (relation, from) in new[] { (published, plan.FirstSessionDay), (stagedRelation, null) })
        {
            if (relation is not null && engine.Query(KpiSql.EarliestLinkedOrder(d, relation, ordersRelation, days, from))[0][0] is { } v)
            {
                var day = AsDate(v);
                earliest = earliest is null || day < earliest ? day : earliest;
            }
        }
        plan = KpiIncrement.Widen(plan, earliest);
        return (rows, published is null && stagedRelation is null ? null : KpiSql.UpdatedLinks(d, published, stagedRelation, days));
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
