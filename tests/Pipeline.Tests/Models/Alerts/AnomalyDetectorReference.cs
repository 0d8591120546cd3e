using Pipeline.Models;
using Pipeline.Models.Alerts;

namespace Pipeline.Tests.Models.Alerts;

/// <summary>
/// The detector as first written (commit 60afa81): every day's window re-selected from scratch (week medians, Theil–Sen,
/// weekday medians, residual median and MAD each by <see cref="OrderStatistics.Median"/>). Kept as the reference the
/// faster <see cref="AnomalyDetector.Assess"/> must reproduce bit for bit (AnomalyDetectorEquivalenceTests).
/// </summary>
internal static class AnomalyDetectorReference
{
    public static Assessment[] Assess(DateOnly first, ReadOnlySpan<double> values, SeriesKind kind, DetectorOptions options)
    {
        var problems = AnomalyDetector.Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }
        var n = values.Length;
        var result = new Assessment[n];
        // Usable: a value that is not a known-event day. Computed once.
        var usable = new bool[n];
        var isEvent = new bool[n];
        for (var i = 0; i < n; i++)
        {
            isEvent[i] = options.KnownEvents.Count > 0 && options.KnownEvents.Contains(first.AddDays(i));
            usable[i] = !double.IsNaN(values[i]) && !double.IsInfinity(values[i]) && !isEvent[i];
        }
        var weeks = options.WindowDays / 7;
        Span<double> level = stackalloc double[weeks];
        Span<double> centre = stackalloc double[weeks];
        Span<double> scratch = stackalloc double[Math.Max(options.WindowDays, weeks * (weeks - 1) / 2)];
        Span<double> seasonal = stackalloc double[7];
        Span<double> residuals = stackalloc double[options.WindowDays];
        for (var t = 0; t < n; t++)
        {
            var v = values[t];
            if (double.IsNaN(v) || double.IsInfinity(v))
            {
                result[t] = Assessment.None;
                continue;
            }
            // 1. Week levels: week k (0 = most recent) is days t−7(k+1) … t−7k−1; a week with fewer than 4 usable days is
            // replaced by an older one, up to twice the window back (the rule added after this copy was taken).
            var used = 0;
            for (var k = 0; k < 2 * weeks && used < weeks; k++)
            {
                var start = t - 7 * (k + 1);
                if (start < 0)
                {
                    break;
                }
                var m = 0;
                for (var j = start; j < start + 7; j++)
                {
                    if (usable[j])
                    {
                        scratch[m++] = values[j];
                    }
                }
                if (m < 4)
                {
                    continue;
                }
                level[used] = OrderStatistics.Median(scratch[..m]);
                centre[used] = start + 3;
                used++;
            }
            if (used < options.MinWeeks)
            {
                result[t] = Assessment.None with { Value = v, KnownEvent = isEvent[t] };
                continue;
            }
            // 2–3 twice: the second time the week levels are medians of the deseasonalised values, so a week with missing
            // days (its median drawn towards the weekdays it has) gets its level right.
            var slope = 0.0;
            var levelAtT = 0.0;
            for (var pass = 0; pass < 2; pass++)
            {
                if (pass == 1)
                {
                    for (var k = 0; k < used; k++)
                    {
                        var s0 = (int)centre[k] - 3;
                        var m = 0;
                        for (var j = s0; j < s0 + 7; j++)
                        {
                            if (usable[j])
                            {
                                scratch[m++] = values[j] - seasonal[(t - j) % 7];
                            }
                        }
                        level[k] = OrderStatistics.Median(scratch[..m]);
                    }
                }
                // 2. Trend: Theil–Sen slope through the week levels, the level at t as the median intercept.
                var pairs = 0;
                for (var a = 0; a < used; a++)
                {
                    for (var b = a + 1; b < used; b++)
                    {
                        scratch[pairs++] = (level[a] - level[b]) / (centre[a] - centre[b]);
                    }
                }
                slope = OrderStatistics.Median(scratch[..pairs]);
                for (var k = 0; k < used; k++)
                {
                    scratch[k] = level[k] + slope * (t - centre[k]);
                }
                levelAtT = OrderStatistics.Median(scratch[..used]);
                // 3. Weekday effects: per weekday (offset d = (t − j) mod 7), the median of value − the week's trend line.
                for (var d = 0; d < 7; d++)
                {
                    var m = 0;
                    for (var k = 0; k < used; k++)
                    {
                        // Day j of week k with (t − j) mod 7 == d: week k starts at s = centre − 3 ≡ t (mod 7), so j = s + (7 − d) mod 7.
                        var j = (int)centre[k] - 3 + (7 - d) % 7;
                        if (usable[j])
                        {
                            scratch[m++] = values[j] - level[k] - slope * (j - centre[k]);
                        }
                    }
                    seasonal[d] = m == 0 ? 0 : OrderStatistics.Median(scratch[..m]);
                }
            }
            // 4. Scale: MAD of the window's residuals.
            var r = 0;
            for (var k = 0; k < used; k++)
            {
                var s = (int)centre[k] - 3;
                for (var j = s; j < s + 7; j++)
                {
                    if (usable[j])
                    {
                        residuals[r++] = values[j] - level[k] - slope * (j - centre[k]) - seasonal[(t - j) % 7];
                    }
                }
            }
            var window = residuals[..r];
            var centreOfResiduals = OrderStatistics.Median(window);
            for (var q = 0; q < r; q++)
            {
                scratch[q] = Math.Abs(window[q] - centreOfResiduals);
            }
            var mad = OrderStatistics.Median(scratch[..r]);
            var expected = levelAtT + seasonal[0];
            // A series that was never negative in the window is not expected to be (a trend running into zero).
            var minimum = double.PositiveInfinity;
            for (var k = 0; k < used; k++)
            {
                var s0 = (int)centre[k] - 3;
                for (var j = s0; j < s0 + 7; j++)
                {
                    if (usable[j])
                    {
                        minimum = Math.Min(minimum, values[j]);
                    }
                }
            }
            if (minimum >= 0)
            {
                expected = Math.Max(expected, 0);
            }
            var scale = AnomalyDetector.MadToSigma * mad * AnomalyDetector.Inflation * Math.Sqrt(r / Math.Max(1.0, r - used - 8));
            scale = Math.Max(scale, options.MinRelativeScale * Math.Abs(expected));
            if (kind == SeriesKind.Count)
            {
                scale = Math.Max(scale, Math.Sqrt(Math.Max(expected, 1)));
            }
            scale = Math.Max(scale, 1e-12);
            var score = (v - expected) / scale;
            var abs = Math.Abs(score);
            var severity = abs >= options.CriticalSensitivity ? Severity.Critical : abs >= options.Sensitivity ? Severity.Warning : Severity.None;
            result[t] = new Assessment(true, v, expected, scale, score, severity, isEvent[t]);
        }
        return result;
    }
}
