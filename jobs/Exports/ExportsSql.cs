using System.Globalization;
using Pipeline.Engine;

namespace Pipeline.Exports;

/// <summary>
/// The exports' queries. Portable SQL plus <see cref="ISqlDialect"/> calls only (explicit NULLS FIRST/LAST), so an
/// export runs on whichever engine the run uses.
/// </summary>
public static class ExportsSql
{
    /// <summary>
    /// <c>pipeline export segments</c>: one snapshot's rfm/scores (grain: customer_id, so every scored customer is one
    /// row) left-joined with the k-means label of segments/assignments and the LTV figures of ltv/customers, with one
    /// <c>clv_{h}d</c> column per horizon in <paramref name="horizonsDays"/>. Ordered by customer_id so the file is
    /// the same on every run. A CRM wants 0.7266 and 28.31, not 0.72659931 and 28.310398466752396: p_alive is rounded to
    /// 4 decimals and the CLVs (money) to cents.
    /// </summary>
    public static string Segments(ISqlDialect d, string scoresRelation, string assignmentsRelation, string ltvRelation, IReadOnlyList<int> horizonsDays)
    {
        var clvColumns = horizonsDays.Select(h => d.Id($"clv_{h.ToString(CultureInfo.InvariantCulture)}d")).ToList();
        var clv = string.Concat(clvColumns.Select(c => $", round(l.{c}, 2) AS {c}"));
        var clvInput = string.Concat(clvColumns.Select(c => $", {c}"));
        return $"""
            WITH scores AS (SELECT customer_id, segment, rfm_cell FROM {scoresRelation}),
            assignments AS (SELECT customer_id, segment_label FROM {assignmentsRelation}),
            ltv AS (SELECT customer_id, p_alive{clvInput} FROM {ltvRelation})
            SELECT s.customer_id, s.segment AS rfm_segment, s.rfm_cell, a.segment_label AS kmeans_segment, round(l.p_alive, 4) AS p_alive{clv}
            FROM scores s
            LEFT JOIN assignments a ON a.customer_id = s.customer_id
            LEFT JOIN ltv l ON l.customer_id = s.customer_id
            ORDER BY s.customer_id ASC NULLS LAST
            """;
    }
}
