using System.Globalization;
using System.Text.Json.Serialization;
using Parquet.Serialization.Attributes;
using Pipeline.Models.Rfm;
using Pipeline.Runs;

namespace Pipeline.Stages.Customers;

/// <summary>
/// <c>pipeline rfm</c>: customers/features → <c>rfm/scores</c> (one row per customer), <c>rfm/segments</c> (one row
/// per named segment) and <c>rfm/cut_points</c> (one row per dimension × boundary), all partitioned by as_of.
/// R = recency_days, F = orders (purchases), M = net revenue (total, or mean per purchase).
/// </summary>
public static class RfmJob
{
    private const string ScoresTable = TableNames.RfmScores;
    private const string SegmentsTable = TableNames.RfmSegments;
    private const string CutPointsTable = TableNames.RfmCutPoints;

    public static StageReport Run(StageContext run, RfmSettings settings)
    {
        return run.Measure("rfm", report =>
        {
            var a = AnalyticsRun.Create(run, settings.TimeUnit);
            var customers = new List<RfmCustomer>();
            // Net revenue is DECIMAL(18,2) in customers/features: kept exact here for the published money columns; the
            // model ranks on its double value (the same order: doubles of cents keep the order of the cents). Kept by
            // position: the model's scores come back in the customers' order.
            var netRevenue = new List<decimal>();
            run.Engine.ForEachRow(CustomersSql.RfmInputs(a.FeaturesRelation), r =>
            {
                var revenue = Math.Round(Convert.ToDecimal(r.GetValue(3), CultureInfo.InvariantCulture), 2, MidpointRounding.AwayFromZero);
                netRevenue.Add(revenue);
                customers.Add(new RfmCustomer(r.GetString(0), Convert.ToDouble(r.GetValue(1), CultureInfo.InvariantCulture),
                    Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture), (double)revenue));
            });
            var c = settings.Rfm;
            var result = RfmScorer.Score(customers, new RfmOptions
            {
                Monetary = settings.Monetary,
                RecencyCutPoints = c.RecencyCutPoints,
                FrequencyCutPoints = c.FrequencyCutPoints,
                MonetaryCutPoints = c.MonetaryCutPoints,
            });
            var scores = result.Scores.Select((s, i) => new ScoreRow
            {
                CustomerId = SameCustomer(s.CustomerId, customers[i].CustomerId),
                RecencyDays = customers[i].RecencyDays,
                Frequency = customers[i].Frequency,
                Monetary = Monetary(netRevenue[i], customers[i].Frequency, settings.Monetary),
                RScore = s.R,
                FScore = s.F,
                MScore = s.M,
                RfmCell = s.Cell,
                Segment = s.SegmentName,
            }).ToList();
            // Segment revenue summed exactly from the customers' DECIMAL net revenue (the model's double sums are not money).
            var segmentRevenue = result.Scores.Select((s, i) => (s.SegmentName, Revenue: netRevenue[i])).GroupBy(s => s.SegmentName, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(s => s.Revenue), StringComparer.Ordinal);
            var totalRevenue = segmentRevenue.Values.Sum();
            var segments = result.Summary.Select(s => new SegmentRow
            {
                Segment = s.SegmentName,
                Customers = s.Customers,
                CustomerShare = s.CustomerShare,
                Revenue = segmentRevenue.GetValueOrDefault(s.SegmentName),
                RevenueShare = totalRevenue == 0m ? 0.0 : (double)(segmentRevenue.GetValueOrDefault(s.SegmentName) / totalRevenue),
                MeanR = s.MeanR,
                MeanF = s.MeanF,
                MeanM = s.MeanM,
            }).ToList();
            var cuts = new List<CutPointRow>();
            if (result.CutPoints is { } cp)
            {
                foreach (var (dimension, values) in new[] { ("recency", cp.Recency), ("frequency", cp.Frequency), ("monetary", cp.Monetary) })
                {
                    cuts.AddRange(values.Select((v, i) => new CutPointRow { Dimension = dimension, Boundary = i + 1, Value = v, IsOverride = IsOverride(c, dimension) }));
                }
            }
            report.RowsRead = customers.Count;
            report.RowsWritten = a.Write(ScoresTable, scores);
            a.Write(SegmentsTable, segments);
            a.Write(CutPointsTable, cuts);
            run.Publish([(ScoresTable, scores.Count), (SegmentsTable, segments.Count), (CutPointsTable, cuts.Count)], replaceTables: false);
        });
    }

    private static string SameCustomer(string scored, string read) => string.Equals(scored, read, StringComparison.Ordinal)
        ? scored
        : throw new InvalidOperationException($"rfm: the model's scores are not in the customers' order ({scored} where {read} was read)");

    /// <summary>rfm/scores' monetary: the total, or net revenue / purchases rounded half away from zero to cents (0 without purchases).</summary>
    internal static decimal Monetary(decimal netRevenue, int purchases, MonetaryBasis basis) => basis switch
    {
        MonetaryBasis.MeanPerPurchase => purchases > 0 ? Math.Round(netRevenue / purchases, 2, MidpointRounding.AwayFromZero) : 0m,
        _ => netRevenue,
    };

    private static bool IsOverride(Config.RfmConfig c, string dimension) => dimension switch
    {
        "recency" => c.RecencyCutPoints is not null,
        "frequency" => c.FrequencyCutPoints is not null,
        _ => c.MonetaryCutPoints is not null,
    };

    internal sealed class ScoreRow
    {
        [JsonPropertyName("customer_id")] public string CustomerId { get; set; } = "";
        [JsonPropertyName("recency_days")] public double RecencyDays { get; set; }
        [JsonPropertyName("frequency")] public int Frequency { get; set; }
        [JsonPropertyName("monetary")] [ParquetDecimal(18, 2)] public decimal Monetary { get; set; }
        [JsonPropertyName("r_score")] public int RScore { get; set; }
        [JsonPropertyName("f_score")] public int FScore { get; set; }
        [JsonPropertyName("m_score")] public int MScore { get; set; }
        [JsonPropertyName("rfm_cell")] public string RfmCell { get; set; } = "";
        [JsonPropertyName("segment")] public string Segment { get; set; } = "";
    }

    internal sealed class SegmentRow
    {
        [JsonPropertyName("segment")] public string Segment { get; set; } = "";
        [JsonPropertyName("customers")] public int Customers { get; set; }
        [JsonPropertyName("customer_share")] public double CustomerShare { get; set; }
        [JsonPropertyName("revenue")] [ParquetDecimal(18, 2)] public decimal Revenue { get; set; }
        [JsonPropertyName("revenue_share")] public double RevenueShare { get; set; }
        [JsonPropertyName("mean_r")] public double? MeanR { get; set; }
        [JsonPropertyName("mean_f")] public double? MeanF { get; set; }
        [JsonPropertyName("mean_m")] public double? MeanM { get; set; }
    }

    internal sealed class CutPointRow
    {
        [JsonPropertyName("dimension")] public string Dimension { get; set; } = "";
        [JsonPropertyName("boundary")] public int Boundary { get; set; }
        [JsonPropertyName("value")] public double Value { get; set; }
        [JsonPropertyName("is_override")] public bool IsOverride { get; set; }
    }
}
