using System.Globalization;
using System.Text.Json.Serialization;
using Pipeline.Config;
using Pipeline.Core;
using Pipeline.Inputs;
using Pipeline.Models.Experiments;
using Pipeline.Publishing;

namespace Pipeline.Stages.Experiments;

/// <summary>
/// <c>pipeline experiments</c>: finds the experiments in the exposures, builds <c>experiments/units</c> in SQL, reads
/// the per-variant sums back and computes every comparison in C# (<see cref="Pipeline.Models.Experiments"/>), then
/// publishes the three tables together.
/// </summary>
public static class ExperimentsJob
{
    private const long MicrosPerDay = 86_400_000_000L;

    public static void Run(StageContext run, ExperimentsSettings settings)
    {
        var root = run.InputRoot;
        var ordersDir = Path.Combine(root, TableNames.CleanOrders);
        var eventsDir = Path.Combine(root, TableNames.CleanEvents);
        var sessionsDir = Path.Combine(root, TableNames.Sessions);
        if (!OutputStore.HasParquet(ordersDir))
        {
            throw PipelineException.Input($"no clean orders under {ordersDir}: run `pipeline clean-orders` first (or point --input at the output that has them)");
        }
        var x = settings.Experiments;
        var hasEvents = OutputStore.HasParquet(eventsDir) && OutputStore.HasParquet(sessionsDir);
        var events = hasEvents ? run.Engine.ParquetRelation(eventsDir) : EmptyEvents(run.Engine.Dialect);
        var published = new List<(string Table, long Rows)>();
        string? assignments = null;
        if (run.HasInput(ExperimentsStage.AssignmentsInput))
        {
            var a = settings.Assignments ?? throw new InvalidOperationException("experiments settings without assignment settings but with an assignments input");
            published.Add((TableNames.QuarantineAssignments, CleanAssignments(run, a, x, events)));
            assignments = AssignmentsKeptTable;
        }
        run.Measure("experiments", report =>
        {
            var engine = run.Engine;
            var d = engine.Dialect;
            var Step = run.StepTimer("experiments");
            if (!hasEvents)
            {
                run.Log.Info($"no clean events or sessions under {root}: no exposure events{(assignments is null ? ", the experiment tables are empty" : "")}", "experiments");
            }
            var sessions = hasEvents ? engine.ParquetRelation(sessionsDir) : "(SELECT CAST(NULL AS VARCHAR) AS session_id, false AS is_bounce WHERE 1 = 0)";

            var spans = new List<Span>();
            DateOnly? dataEnd = null;
            long withoutExperiment = 0;
            if (hasEvents || assignments is not null)
            {
                foreach (var r in engine.Query(ExperimentsSql.ExposureSpans(d, events, assignments)))
                {
                    if (r[0] is null)
                    {
                        withoutExperiment = Long(r[3]) + Long(r[4]);
                        continue;
                    }
                    if (r[1] is null)
                    {
                        spans.Add(new Span((string)r[0]!, null, null, 0, Long(r[4])));
                        continue;
                    }
                    spans.Add(new Span((string)r[0]!, Instant(r[1]!), Instant(r[2]!), Long(r[3]), Long(r[4])));
                }
            }
            if (withoutExperiment > 0)
            {
                run.Warn($"{withoutExperiment} experiment exposure event(s) without an experiment_id were ignored", "experiments");
            }
            var windows = new List<(Span Span, DateOnly Start, DateOnly End, ExperimentWindow Window)>();
            foreach (var s in spans.Where(s => s.First is not null))
            {
                var def = x.Definitions.GetValueOrDefault(s.ExperimentId);
                var start = def?.Start is { } a ? DateOnly.ParseExact(a, "yyyy-MM-dd", CultureInfo.InvariantCulture) : DateOnly.FromDateTime(s.First!.Value.UtcDateTime);
                var end = def?.End is { } b ? DateOnly.ParseExact(b, "yyyy-MM-dd", CultureInfo.InvariantCulture) : DateOnly.FromDateTime(s.Last!.Value.UtcDateTime);
                var startUs = Us(start);
                var endUs = Us(end.AddDays(1));
                windows.Add((s, start, end, new ExperimentWindow(s.ExperimentId, startUs, endUs, endUs + x.AttributionDays * MicrosPerDay)));
            }
            if (hasEvents && windows.Count > 0)
            {
                // The data's last day: clean/events' last event_date partition (the UTC day of its latest event), from
                // the folder names, not a scan of the history.
                var days = OutputStore.PartitionValues(eventsDir, "event_date");
                dataEnd = days.Count == 0 ? null : DateOnly.ParseExact(days[^1], "yyyy-MM-dd", CultureInfo.InvariantCulture);
            }
            var options = new ExperimentsSqlOptions(events, engine.ParquetRelation(ordersDir), sessions, assignments,
                windows.Select(w => w.Window).ToList(), x.CupedLookbackDays * MicrosPerDay);
            var unitsPath = run.StagingPath(TableNames.ExperimentUnits);
            // No experiment: no unit, known without reading the events (at 100M events the query over them took ≈ 6 s
            // to find nothing, opening every file of clean/events three times).
            var units = engine.WriteParquet(windows.Count == 0 ? ExperimentsTables.Units.EmptySelect(d) : ExperimentsSql.Units(d, options), unitsPath, []);
            Step("experiments/units written");

            var sums = new List<VariantSums>();
            if (units > 0)
            {
                foreach (var r in engine.Query(ExperimentsSql.VariantSums(engine.ParquetRelation(unitsPath))))
                {
                    sums.Add(new VariantSums((string)r[0]!, (string)r[1]!, Long(r[2]), Long(r[3]), Long(r[4]), Dbl(r[5]), Dbl(r[6]), Dbl(r[7]), Dbl(r[8]), Dbl(r[9]),
                        Long(r[10]), Dbl(r[11]), Dbl(r[12]), Dbl(r[13]), Dbl(r[14]), Dbl(r[15]), Dbl(r[16]), Dbl(r[17]), Dbl(r[18])));
                }
            }
            var results = new List<ResultRow>();
            var summaries = new List<SummaryRow>();
            foreach (var w in windows)
            {
                var readout = ExperimentReadout.Compute(w.Span.ExperimentId, x.Definitions.GetValueOrDefault(w.Span.ExperimentId),
                    sums.Where(s => s.ExperimentId == w.Span.ExperimentId).ToList(), x);
                if (readout is null)
                {
                    continue;
                }
                results.AddRange(readout.Results);
                var days = w.End.DayNumber - w.Start.DayNumber + 1;
                var status = dataEnd is { } de && w.End >= de ? "running" : "ended";
                summaries.Add(readout.Summary(status, w.Start, w.End, days, w.Span.Exposures, w.Span.WithoutVariant, x));
            }
            var resultsCount = engine.WriteRows(results, run.StagingPath(TableNames.ExperimentResults));
            var summaryCount = engine.WriteRows(summaries, run.StagingPath(TableNames.ExperimentSummary));
            Step("experiments/results and summary written");
            foreach (var s in summaries.Where(s => s.IsSrm))
            {
                run.Warn($"experiment {s.ExperimentId}: sample ratio mismatch (p = {s.SrmPValue:G3}): do not trust its result", "experiments");
            }
            report.RowsRead = units;
            report.RowsWritten = units + resultsCount + summaryCount;
            report.Counts["experiments"] = summaryCount;
            report.Counts["units"] = units;
            run.CheckStaged(TableNames.ExperimentUnits, units);
            run.CheckStaged(TableNames.ExperimentResults, resultsCount);
            run.CheckStaged(TableNames.ExperimentSummary, summaryCount);
            published.InsertRange(0, [(TableNames.ExperimentUnits, units), (TableNames.ExperimentResults, resultsCount), (TableNames.ExperimentSummary, summaryCount)]);
            run.Publish(published);
            Step("published");
        });
    }

    /// <summary>The session table of the kept assignments (<see cref="ExperimentsSql.AssignmentsKept"/>).</summary>
    private const string AssignmentsKeptTable = "assignments_kept";

    /// <summary>
    /// Reads, types and checks the assignments file into the session tables <c>assignments_typed</c> and
    /// <c>assignments_kept</c>, stages its quarantine and returns the quarantined row count. Same gates as the cleaning
    /// stages: balanced books (read = kept + quarantined + duplicates), quarantine share.
    /// </summary>
    private static long CleanAssignments(StageContext run, AssignmentsSettings settings, ExperimentsConfig x, string events)
    {
        long quarantined = 0;
        run.Measure("assignments", report =>
        {
            var raw = run.ReadInput(ExperimentsStage.AssignmentsInput);
            InputBinder.Require(raw, ["experiment_id", "variant", "assigned_at"], "experiments");
            if (raw.Groups.Any(g => g.Projection.Where(p => p.Canonical is "user_id" or "anonymous_id").All(p => p.Source is null)))
            {
                var g = raw.Groups.First(g => g.Projection.Where(p => p.Canonical is "user_id" or "anonymous_id").All(p => p.Source is null));
                throw PipelineException.Input(
                    $"{g.Files[0]}: an assignments file needs a user_id or an anonymous_id column (columns present: {string.Join(", ", g.HeaderColumns)}); " +
                    "map one with experiments.columns.user_id or experiments.columns.anonymous_id in the config");
            }
            var engine = run.Engine;
            var d = engine.Dialect;
            engine.RegisterRawInput("assignments_raw", raw);
            var (ipad, opad) = run.HashKey.Pads();
            engine.RegisterHashKey(ipad, opad);
            var declared = x.Definitions.Where(kv => kv.Value?.Weights is { Count: > 0 })
                .ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.Weights!.Keys.ToList(), StringComparer.Ordinal);
            var options = new AssignmentsSqlOptions(settings.SourceTimeZone, run.Now, settings.Quality.FutureTolerance, settings.Quality.MinValidDate, declared,
                raw.Groups.SelectMany(g => g.Projection).Where(p => p.Canonical == "anonymous_id" && p.Source is not null).Select(p => p.Source!).Distinct().ToList(),
                run.RunId);
            engine.Materialize("assignments_typed", ExperimentsSql.AssignmentsTyped(d, options));
            engine.DropRawInput("assignments_raw");

            run.RecordBooks(report, TypedInputSql.Books("assignments_typed"), TypedInputSql.QuarantineByReason("assignments_typed"), settings.Quality.AllowEmptyInput,
                "the assignments input (experiments.input) has no data rows (header only?); set quality.allow_empty_input to accept it");
            quarantined = engine.WriteParquet(ExperimentsSql.AssignmentsQuarantine(d, options), run.StagingPath(TableNames.QuarantineAssignments), []);
            run.CheckStaged(TableNames.QuarantineAssignments, report.RowsQuarantined);
            run.CheckQualityGates(report, "assignment", settings.Quality.MaxQuarantineShare);
            engine.Materialize(AssignmentsKeptTable, ExperimentsSql.AssignmentsKept(d, events));
        });
        return quarantined;
    }

    /// <summary>A clean/events stand-in with the columns the SQL reads and no rows.</summary>
    private static string EmptyEvents(Pipeline.Engine.ISqlDialect d) =>
        $"(SELECT CAST(NULL AS {d.StringType}) AS experiment_id, CAST(NULL AS {d.StringType}) AS variant, CAST(NULL AS {d.CastType("TIMESTAMP WITH TIME ZONE")}) AS occurred_at, " +
        $"CAST(NULL AS DATE) AS event_date, CAST(NULL AS {d.StringType}) AS session_id, CAST(NULL AS {d.StringType}) AS customer_id, CAST(NULL AS {d.StringType}) AS anonymous_key, " +
        $"CAST(NULL AS {d.StringType}) AS event_type, CAST(NULL AS {d.StringType}) AS order_id WHERE 1 = 0)";

    private static long Us(DateOnly day) => (day.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber) * MicrosPerDay;

    private sealed record Span(string ExperimentId, DateTimeOffset? First, DateTimeOffset? Last, long Exposures, long WithoutVariant);

    private static DateTimeOffset Instant(object v) => v switch
    {
        DateTimeOffset o => o.ToUniversalTime(),
        DateTime t => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc)),
        _ => DateTimeOffset.Parse(Convert.ToString(v, CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture),
    };

    // DuckDB's sum of integers is a HUGEINT (BigInteger).
    private static long Long(object? v) => v switch
    {
        null => 0,
        System.Numerics.BigInteger b => (long)b,
        _ => Convert.ToInt64(v, CultureInfo.InvariantCulture),
    };

    private static double Dbl(object? v) => v switch
    {
        null => 0,
        System.Numerics.BigInteger b => (double)b,
        _ => Convert.ToDouble(v, CultureInfo.InvariantCulture),
    };
}

/// <summary>One variant's sums over its units (see <see cref="ExperimentsSql.VariantSums"/>).</summary>
public sealed record VariantSums(string ExperimentId, string Variant, long N, long Excluded, long Converted, double Revenue, double Revenue2,
    double Orders, double Orders2, double RevenueOrders, long Carted, double Sessions, double Sessions2, double Bounced, double Bounced2,
    double BouncedSessions, double Pre, double Pre2, double PreRevenue);

/// <summary>experiments/results' row.</summary>
public sealed class ResultRow
{
    [JsonPropertyName("experiment_id")] public string ExperimentId { get; set; } = "";
    [JsonPropertyName("variant")] public string Variant { get; set; } = "";
    [JsonPropertyName("metric")] public string Metric { get; set; } = "";
    [JsonPropertyName("is_control")] public bool IsControl { get; set; }
    [JsonPropertyName("units")] public long Units { get; set; }
    [JsonPropertyName("value")] public double? Value { get; set; }
    [JsonPropertyName("control_value")] public double? ControlValue { get; set; }
    [JsonPropertyName("higher_is_better")] public bool HigherIsBetter { get; set; }
    [JsonPropertyName("abs_uplift")] public double? AbsUplift { get; set; }
    [JsonPropertyName("abs_ci_lower")] public double? AbsCiLower { get; set; }
    [JsonPropertyName("abs_ci_upper")] public double? AbsCiUpper { get; set; }
    [JsonPropertyName("rel_uplift")] public double? RelUplift { get; set; }
    [JsonPropertyName("rel_ci_lower")] public double? RelCiLower { get; set; }
    [JsonPropertyName("rel_ci_upper")] public double? RelCiUpper { get; set; }
    [JsonPropertyName("ci_level")] public double? CiLevel { get; set; }
    [JsonPropertyName("p_value")] public double? PValue { get; set; }
    [JsonPropertyName("p_value_adjusted")] public double? PValueAdjusted { get; set; }
    [JsonPropertyName("correction")] public string? Correction { get; set; }
    [JsonPropertyName("is_significant")] public bool? IsSignificant { get; set; }
    [JsonPropertyName("chance_to_beat_control")] public double? ChanceToBeatControl { get; set; }
    [JsonPropertyName("variance_reduction")] public double? VarianceReduction { get; set; }
}

/// <summary>experiments/summary's row.</summary>
public sealed class SummaryRow
{
    [JsonPropertyName("experiment_id")] public string ExperimentId { get; set; } = "";
    [JsonPropertyName("status")] public string Status { get; set; } = "";
    [JsonPropertyName("start_date")] public DateOnly StartDate { get; set; }
    [JsonPropertyName("end_date")] public DateOnly EndDate { get; set; }
    [JsonPropertyName("days")] public int Days { get; set; }
    [JsonPropertyName("control_variant")] public string ControlVariant { get; set; } = "";
    [JsonPropertyName("variants")] public int Variants { get; set; }
    [JsonPropertyName("units")] public long Units { get; set; }
    [JsonPropertyName("excluded_units")] public long ExcludedUnits { get; set; }
    [JsonPropertyName("exposures")] public long Exposures { get; set; }
    [JsonPropertyName("exposures_without_variant")] public long ExposuresWithoutVariant { get; set; }
    [JsonPropertyName("expected_split")] public string ExpectedSplit { get; set; } = "";
    [JsonPropertyName("observed_split")] public string ObservedSplit { get; set; } = "";
    [JsonPropertyName("srm_chi_square")] public double SrmChiSquare { get; set; }
    [JsonPropertyName("srm_p_value")] public double SrmPValue { get; set; }
    [JsonPropertyName("is_srm")] public bool IsSrm { get; set; }
    [JsonPropertyName("mde_relative")] public double? MdeRelative { get; set; }
    [JsonPropertyName("target_mde")] public double TargetMde { get; set; }
    [JsonPropertyName("days_needed")] public double? DaysNeeded { get; set; }
    [JsonPropertyName("best_variant")] public string? BestVariant { get; set; }
    [JsonPropertyName("best_chance_to_beat_control")] public double? BestChanceToBeatControl { get; set; }
    [JsonPropertyName("flags")] public string Flags { get; set; } = "";
    [JsonPropertyName("verdict")] public string Verdict { get; set; } = "";
}
