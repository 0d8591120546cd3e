using System.Globalization;
using System.Text.Json.Serialization;
using Pipeline.Core;
using Pipeline.Models.Segmentation;
using Pipeline.Runs;

namespace Pipeline.Stages.Customers;

/// <summary>
/// <c>pipeline segment</c>: customers/features → k-means behavioural segments (the deterministic parallel engine, or
/// ML.NET's trainer with <c>analytics.segments.engine: mlnet</c>). Writes, per as_of:
/// <c>segments/assignments</c> (one row per customer), <c>segments/profiles</c> (one row per segment × feature, in
/// original units), <c>segments/k_selection</c> (one row per k tried, with the criterion), <c>segments/model</c>
/// (the model zip: centroids or the ML.NET model + scaler + feature list + labels) and <c>segments/migration</c> (customers per
/// previous segment × current segment since the latest earlier as_of).
/// </summary>
public static class SegmentJob
{
    private const string AssignmentsTable = TableNames.SegmentAssignments;
    private const string ProfilesTable = TableNames.SegmentProfiles;
    private const string KSelectionTable = TableNames.SegmentKSelection;
    private const string ModelTable = TableNames.SegmentModel;
    private const string MigrationTable = TableNames.SegmentMigration;

    public static StageReport Run(StageContext run, SegmentSettings settings)
    {
        return run.Measure("segment", report =>
        {
            var a = AnalyticsRun.Create(run, settings.TimeUnit);
            var c = settings.Segments;
            var ids = new List<string>();
            var columns = c.Features.Select(_ => new List<double>()).ToList();
            run.Engine.ForEachRow(CustomersSql.SegmentInputs(run.Engine.Dialect, a.FeaturesRelation, c.Features), r =>
            {
                ids.Add(r.GetString(0));
                for (var i = 0; i < columns.Count; i++)
                {
                    columns[i].Add(r.IsDBNull(i + 1) ? 0.0 : r.GetDouble(i + 1));
                }
            });
            report.RowsRead = ids.Count;
            if (ids.Count < 2)
            {
                throw PipelineException.Quality($"only {ids.Count} customer(s) on {a.AsOf:yyyy-MM-dd}: too few to segment");
            }
            var matrix = new FeatureMatrix(ids, c.Features.ToList(), columns.Select(col => col.ToArray()).ToList());
            var options = new SegmentationOptions
            {
                K = c.K,
                KMin = c.KMin,
                KMax = c.KMax,
                Criterion = settings.Criterion,
                CriterionSampleSize = c.SampleSize,
                Seed = c.Seed,
                Restarts = c.Restarts,
                Engine = c.Engine == "mlnet" ? KMeansEngine.MlNet : KMeansEngine.Parallel,
                // The result does not depend on it (fixed chunks, reduced in order): engine.threads is no setting of the stage.
                DegreeOfParallelism = run.Threads,
                LogTransformedFeatures = c.LogFeatures.ToList(),
                ValueFeature = c.Features.Contains("net_revenue") ? "net_revenue" : null,
            };
            SegmentationFit fit;
            IReadOnlyList<KCandidate>? sampledCandidates = null;
            var fitClock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                if (c.K is null && ids.Count > c.KSelectionSample)
                {
                    // Choose k on a seeded sample (k_max − k_min + 1 fits × restarts), then fit everyone once with it.
                    var rng = new Random(c.Seed);
                    var picked = Enumerable.Range(0, ids.Count).OrderBy(_ => rng.Next()).Take(c.KSelectionSample).Order().ToArray();
                    var sample = new FeatureMatrix(picked.Select(i => ids[i]).ToList(), c.Features.ToList(),
                        columns.Select(col => picked.Select(i => col[i]).ToArray()).ToList());
                    var choice = SegmentationModel.Fit(sample, options);
                    sampledCandidates = choice.Candidates;
                    options = options with { K = choice.Model.K };
                    run.Log.Info($"k = {choice.Model.K} chosen on a sample of {picked.Length} customers", "segment");
                }
                fit = SegmentationModel.Fit(matrix, options);
                report.Counts["fit_ms"] = fitClock.ElapsedMilliseconds;
            }
            catch (ArgumentException e)
            {
                throw PipelineException.Quality("segmentation: " + e.Message);
            }
            var assignments = fit.Assignments;
            var labels = fit.Model.Segments.ToDictionary(s => s.Id, s => s.Label);
            var assignmentRows = assignments.CustomerIds.Select((id, i) => new AssignmentRow
            {
                CustomerId = id,
                SegmentId = assignments.SegmentIds[i],
                SegmentLabel = labels[assignments.SegmentIds[i]],
            }).ToList();
            var profileRows = assignments.Profiles.SelectMany(p => p.Features.Select(f => new ProfileRow
            {
                SegmentId = p.SegmentId,
                SegmentLabel = p.Label,
                Customers = p.Size,
                CustomerShare = p.Share,
                RevenueShare = p.ValueShare,
                Feature = f.Feature,
                Mean = f.Mean,
                Median = f.Median,
                ZScore = f.ZScore,
            })).ToList();
            var chosenK = fit.Model.K;
            var kRows = (sampledCandidates ?? fit.Candidates).Select(k => new KRow
            {
                K = k.K,
                Criterion = fit.Criterion == KSelectionCriterion.Silhouette ? "silhouette" : "davies_bouldin",
                CriterionValue = k.Criterion,
                Inertia = k.Inertia,
                IsChosen = k.K == chosenK,
            }).ToList();

            // Migration against the latest earlier snapshot's assignments, matched by segment id (ids are ordered by
            // mean net revenue, so id 1 is the most valuable segment in both).
            var previous = PreviousAssignments(run, a);
            var migrationRows = new List<MigrationRow>();
            if (previous is { } prev)
            {
                var matrixOfMoves = SegmentMigration.Compute(prev.Segments, assignments.ToDictionary());
                for (var i = 0; i < matrixOfMoves.From.Count; i++)
                {
                    for (var j = 0; j < matrixOfMoves.To.Count; j++)
                    {
                        var n = matrixOfMoves.CountAt(i, j);
                        if (n > 0)
                        {
                            migrationRows.Add(new MigrationRow { FromAsOf = prev.AsOf, FromSegment = matrixOfMoves.From[i], ToSegment = matrixOfMoves.To[j], Customers = n });
                        }
                    }
                }
            }

            report.RowsWritten = a.Write(AssignmentsTable, assignmentRows);
            a.Write(ProfilesTable, profileRows);
            a.Write(KSelectionTable, kRows);
            a.Write(MigrationTable, migrationRows);
            var modelDir = a.StagedPartition(ModelTable);
            Directory.CreateDirectory(modelDir);
            using (var stream = File.Create(Path.Combine(modelDir, "model.zip")))
            {
                fit.Model.Save(stream);
            }
            report.Counts["k"] = chosenK;
            report.Counts["segments"] = fit.Model.Segments.Count;
            run.Log.Info($"fitted in {report.Counts["fit_ms"] / 1000.0:0.00} s; k = {chosenK} ({kRows.Single(k => k.IsChosen).Criterion} {kRows.Single(k => k.IsChosen).CriterionValue:0.000}), inertia {assignments.Inertia:0.0}: " +
                string.Join("; ", fit.Model.Segments.Select(s => $"{s.Id} {s.Label}")), "segment");
            run.Publish([(AssignmentsTable, assignmentRows.Count), (ProfilesTable, profileRows.Count), (KSelectionTable, kRows.Count),
                (MigrationTable, migrationRows.Count), (ModelTable, 1)], replaceTables: false);
        });
    }

    private static (string AsOf, Dictionary<string, int> Segments)? PreviousAssignments(StageContext run, AnalyticsRun a)
    {
        var dir = run.PublishedPath(AssignmentsTable);
        if (!Directory.Exists(dir))
        {
            return null;
        }
        var earlier = Directory.GetDirectories(dir, "as_of=*")
            .Select(p => Path.GetFileName(p)!["as_of=".Length..])
            .Where(d => string.CompareOrdinal(d, a.AsOf.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)) < 0)
            .Order(StringComparer.Ordinal)
            .LastOrDefault();
        if (earlier is null)
        {
            return null;
        }
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        run.Engine.ForEachRow(CustomersSql.SegmentAssignments(run.Engine.ParquetRelation(Path.Combine(dir, "as_of=" + earlier))),
            r => map[r.GetString(0)] = Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture));
        return (earlier, map);
    }

    internal sealed class AssignmentRow
    {
        [JsonPropertyName("customer_id")] public string CustomerId { get; set; } = "";
        [JsonPropertyName("segment_id")] public int SegmentId { get; set; }
        [JsonPropertyName("segment_label")] public string SegmentLabel { get; set; } = "";
    }

    internal sealed class ProfileRow
    {
        [JsonPropertyName("segment_id")] public int SegmentId { get; set; }
        [JsonPropertyName("segment_label")] public string SegmentLabel { get; set; } = "";
        [JsonPropertyName("customers")] public int Customers { get; set; }
        [JsonPropertyName("customer_share")] public double CustomerShare { get; set; }
        [JsonPropertyName("revenue_share")] public double? RevenueShare { get; set; }
        [JsonPropertyName("feature")] public string Feature { get; set; } = "";
        [JsonPropertyName("mean")] public double Mean { get; set; }
        [JsonPropertyName("median")] public double Median { get; set; }
        [JsonPropertyName("z_score")] public double ZScore { get; set; }
    }

    internal sealed class KRow
    {
        [JsonPropertyName("k")] public int K { get; set; }
        [JsonPropertyName("criterion")] public string Criterion { get; set; } = "";
        [JsonPropertyName("criterion_value")] public double CriterionValue { get; set; }
        [JsonPropertyName("inertia")] public double Inertia { get; set; }
        [JsonPropertyName("is_chosen")] public bool IsChosen { get; set; }
    }

    internal sealed class MigrationRow
    {
        [JsonPropertyName("from_as_of")] public string FromAsOf { get; set; } = "";
        [JsonPropertyName("from_segment")] public string FromSegment { get; set; } = "";
        [JsonPropertyName("to_segment")] public string ToSegment { get; set; } = "";
        [JsonPropertyName("customers")] public int Customers { get; set; }
    }
}
