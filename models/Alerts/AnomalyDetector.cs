namespace Pipeline.Models.Alerts;

/// <summary>How bad a point is: inside its band, outside the warning band, outside the critical band.</summary>
public enum Severity
{
    None,
    Warning,
    Critical,
}

/// <summary>What kind of number a series holds: it decides the floor of the noise scale.</summary>
public enum SeriesKind
{
    /// <summary>An amount or any other number (revenue, AOV, hours): scale floor = <see cref="DetectorOptions.MinRelativeScale"/> × |expected|.</summary>
    Amount,

    /// <summary>A count of events (sessions, orders): additionally at least the Poisson noise √expected.</summary>
    Count,

    /// <summary>A ratio or share (conversion, ACoS): the relative floor only.</summary>
    Ratio,
}

/// <summary>
/// Options of <see cref="AnomalyDetector"/>. The defaults are the pipeline's (<c>alerts.*</c>): an 8-week trailing
/// window of which at least 6 weeks are usable, a warning beyond 4 robust standard deviations, critical beyond 6.
/// </summary>
public sealed record DetectorOptions
{
    /// <summary>Trailing days the expectation of a day is estimated from (a multiple of 7, 21 to 364). Default 56.</summary>
    public int WindowDays { get; init; } = 56;

    /// <summary>Usable weeks (blocks of 7 days with at least 4 values) a day needs in its window to be assessed. Default 6 (with fewer the band is unreliable).</summary>
    public int MinWeeks { get; init; } = 6;

    /// <summary>A point is a warning when |value − expected| ≥ this × scale. Default 4.</summary>
    public double Sensitivity { get; init; } = 4.0;

    /// <summary>A point is critical when |value − expected| ≥ this × scale. Default 6.</summary>
    public double CriticalSensitivity { get; init; } = 6.0;

    /// <summary>The scale is at least this share of |expected| (a perfectly regular series still has a band). Default 0.02.</summary>
    public double MinRelativeScale { get; init; } = 0.02;

    /// <summary>Known-event days (promotions, holidays): not used to estimate other days, and reported as expected.</summary>
    public IReadOnlySet<DateOnly> KnownEvents { get; init; } = new HashSet<DateOnly>();

    /// <summary>
    /// The sustained-shift rule (<see cref="SustainedShift"/>): a day of a run needs |score| ≥ this × <see cref="Sensitivity"/>.
    /// Default 0.5 (2 standard deviations at the default sensitivity, as in the Western Electric rule "2 of 3 beyond 2σ").
    /// </summary>
    public double SustainedDayShare { get; init; } = 0.5;

    /// <summary>
    /// The sustained-shift rule's shortest stretch, in days (2 to <see cref="SustainedMaxDays"/>). Default 3: with 2, the
    /// deviations of consecutive days from one imperfect expectation (a trend the window has not caught up with) made pairs
    /// of false alerts (8 ad-spend alerts in 4 pairs on the generated clean year; see AlertsGeneratedYearTests).
    /// </summary>
    public int SustainedMinDays { get; init; } = 3;

    /// <summary>The sustained-shift rule's longest stretch, in days (up to 28). Default 7: a run is judged a week at a time at most.</summary>
    public int SustainedMaxDays { get; init; } = 7;
}

/// <summary>The detector's verdict on one day of a series.</summary>
/// <param name="Assessed">False when the day has no value or too little history: every other field is then NaN / None.</param>
/// <param name="Value">The observed value.</param>
/// <param name="Expected">The expected value: robust level (trend) at the day + the day's weekday effect.</param>
/// <param name="Scale">The robust standard deviation of a day's deviation from its expectation (1.4826 × MAD, floored).</param>
/// <param name="Score">(value − expected) / scale.</param>
/// <param name="Severity">From |score| against the two sensitivities.</param>
/// <param name="KnownEvent">The day is in the known-events calendar.</param>
public readonly record struct Assessment(bool Assessed, double Value, double Expected, double Scale, double Score, Severity Severity, bool KnownEvent)
{
    /// <summary>
    /// The length of the sustained shift (<see cref="SustainedShift"/>) the day is part of: 0 when it is none, else the
    /// number of consecutive days (≥ 2) that the rule flags together with it. <see cref="AnomalyDetector.Assess"/> leaves it 0.
    /// </summary>
    public int Sustained { get; init; }

    public static readonly Assessment None = new(false, double.NaN, double.NaN, double.NaN, double.NaN, Severity.None, false);

    /// <summary>+1 above the expectation, −1 below, 0 when equal or not assessed.</summary>
    public int Direction => Assessed ? Math.Sign(Value - Expected) : 0;
}

/// <summary>
/// A robust seasonal detector for daily metrics, with no look-ahead: day t is judged against what the trailing
/// <see cref="DetectorOptions.WindowDays"/> days before it say.
/// <list type="number">
/// <item>The window is cut into weeks ending the day before t (each holds every weekday once); a week's level is the
/// median of its values (missing days and known-event days left out; a week needs 4 values, and one that has fewer is
/// replaced by the next older week, up to twice the window back).</item>
/// <item>Trend: the Theil–Sen slope through (week centre, week level); the level at t is the median over the weeks of
/// level + slope × (t − centre).</item>
/// <item>Weekly seasonality: the median, per weekday, of value − its week's trend line (week level + slope × (day −
/// centre)).</item>
/// <item>Steps 2–3 once more with each week's level the median of its deseasonalised values (value − weekday effect),
/// so that a week with missing days is not drawn towards the weekdays it has.</item>
/// <item>Scale: 1.4826 × the median absolute deviation of the window's residuals (value − trend line − weekday effect),
/// inflated by <see cref="Inflation"/> × √(n / (n − weeks − 8)) (n residuals; the medians fit weeks + 8 numbers) for the
/// estimation error of level and weekday effects, and floored at
/// <see cref="DetectorOptions.MinRelativeScale"/> × |expected| (and √expected for counts).</item>
/// </list>
/// The expectation is at least 0 when no value of the window is negative.
/// Medians everywhere, so past anomalies (up to 3 days of a week, 3 of the 8 same weekdays) do not move the
/// expectation nor widen the band: a level shift is flagged until the window has more weeks after it than before.
/// </summary>
public static class AnomalyDetector
{
    /// <summary>Consistency constant of the MAD for the normal distribution.</summary>
    public const double MadToSigma = 1.4826;

    /// <summary>
    /// How much wider a day's deviation from its expectation is than the window's in-sample residuals, beyond the
    /// degrees of freedom the medians use: calibrated on Gaussian noise around a weekly pattern (a 56-day window then
    /// gives a median |score| of 0.75 against 0.67 for a standard normal, and |score| ≥ 4 on 0.34% of the days; with the
    /// <see cref="SustainedShift"/> rule on top, 0.44% of the days are flagged, in 8% more separate runs; see
    /// AnomalyDetectorTests.Pure_noise_is_rarely_flagged).
    /// </summary>
    public const double Inflation = 1.3;

    /// <summary>Checks the options; returns the problems (empty when usable).</summary>
    public static IReadOnlyList<string> Problems(DetectorOptions o)
    {
        var problems = new List<string>();
        if (o.WindowDays % 7 != 0 || o.WindowDays < 21 || o.WindowDays > 364) problems.Add("window_days: must be a multiple of 7 between 21 and 364");
        if (o.MinWeeks < 2 || o.MinWeeks * 7 > o.WindowDays) problems.Add("min_weeks: must be at least 2 and fit in the window");
        if (!(o.Sensitivity > 0) || double.IsInfinity(o.Sensitivity)) problems.Add("sensitivity: must be a positive number of standard deviations");
        if (!(o.CriticalSensitivity >= o.Sensitivity) || double.IsInfinity(o.CriticalSensitivity)) problems.Add("critical_sensitivity: must be at least sensitivity");
        if (!(o.MinRelativeScale >= 0) || o.MinRelativeScale >= 1) problems.Add("min_relative_scale: must be in [0, 1)");
        if (!(o.SustainedDayShare > 0) || o.SustainedDayShare > 1) problems.Add("sustained_day_share: must be in (0, 1]");
        if (o.SustainedMinDays < 2 || o.SustainedMinDays > o.SustainedMaxDays || o.SustainedMaxDays > 28) problems.Add("sustained_min_days, sustained_max_days: must satisfy 2 ≤ min ≤ max ≤ 28");
        return problems;
    }

    /// <summary>
    /// Judges every day of a daily series.
    /// </summary>
    /// <param name="first">The date of <paramref name="values"/>[0]; value i is the day first + i.</param>
    /// <param name="values">One value per consecutive day; NaN = missing.</param>
    /// <param name="kind">What the numbers are (the scale's floor).</param>
    /// <param name="options">Window, sensitivities, known events.</param>
    /// <returns>One assessment per day, <see cref="Assessment.None"/> where the day has no value or too little history.</returns>
    public static Assessment[] Assess(DateOnly first, ReadOnlySpan<double> values, SeriesKind kind, DetectorOptions options)
    {
        var problems = Problems(options);
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
        // The first pass's week levels and the window's minimum depend only on where a week starts, not on the day
        // judged: each block of 7 days is summarised once (its usable count, median and minimum) instead of once per
        // day whose window holds it.
        var blocks = Math.Max(0, n - 6);
        var blockCount = new byte[blocks];
        var blockMedian = new double[blocks];
        var blockMinimum = new double[blocks];
        Span<double> scratch = stackalloc double[Math.Max(options.WindowDays, weeks * (weeks - 1) / 2)];
        for (var s = 0; s < blocks; s++)
        {
            var m = 0;
            var minimum = double.PositiveInfinity;
            for (var j = s; j < s + 7; j++)
            {
                if (usable[j])
                {
                    scratch[m++] = values[j];
                    minimum = Math.Min(minimum, values[j]);
                }
            }
            blockCount[s] = (byte)m;
            blockMinimum[s] = minimum;
            blockMedian[s] = m < 4 ? double.NaN : OrderStatistics.Median(scratch[..m]);
        }
        Span<double> level = stackalloc double[weeks];
        Span<double> centre = stackalloc double[weeks];
        Span<int> weekStart = stackalloc int[weeks];
        Span<double> seasonal = stackalloc double[7];
        Span<double> residuals = stackalloc double[options.WindowDays];
        Span<double> runs = stackalloc double[options.WindowDays];
        Span<int> runLength = stackalloc int[7];
        for (var t = 0; t < n; t++)
        {
            var v = values[t];
            if (double.IsNaN(v) || double.IsInfinity(v))
            {
                result[t] = Assessment.None;
                continue;
            }
            // 1. Week levels: week k (0 = most recent) is days t−7(k+1) … t−7k−1. A week with fewer than 4 usable days (a
            // promotion of the calendar, missing days) is replaced by an older one, up to twice the window back: 618's
            // 18 known days would otherwise leave fewer than MinWeeks weeks, and the days after it unjudged, for 7 weeks.
            var used = 0;
            var windowMinimum = double.PositiveInfinity;
            for (var k = 0; k < 2 * weeks && used < weeks; k++)
            {
                var start = t - 7 * (k + 1);
                if (start < 0)
                {
                    break;
                }
                if (blockCount[start] < 4)
                {
                    continue;
                }
                level[used] = blockMedian[start];
                weekStart[used] = start;
                centre[used] = start + 3;
                windowMinimum = Math.Min(windowMinimum, blockMinimum[start]);
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
                        var s0 = weekStart[k];
                        var m = 0;
                        for (var i = 0; i < 7; i++)
                        {
                            // Day s0 + i is (t − s0 − i) mod 7 = (7 − i) mod 7 weekdays before t (s0 ≡ t mod 7).
                            if (usable[s0 + i])
                            {
                                scratch[m++] = values[s0 + i] - seasonal[i == 0 ? 0 : 7 - i];
                            }
                        }
                        InsertionSort(scratch[..m]);
                        level[k] = MedianOfSorted(scratch[..m]);
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
                // The last pass keeps each weekday's values sorted (runs[d·weeks …]): step 4 merges them.
                for (var d = 0; d < 7; d++)
                {
                    var run = runs.Slice(d * weeks, weeks);
                    var m = 0;
                    // Day j of week k with (t − j) mod 7 == d: week k starts at s ≡ t (mod 7), so j = s + (7 − d) mod 7.
                    var offset = d == 0 ? 0 : 7 - d;
                    for (var k = 0; k < used; k++)
                    {
                        var j = weekStart[k] + offset;
                        if (usable[j])
                        {
                            run[m++] = values[j] - level[k] - slope * (j - centre[k]);
                        }
                    }
                    runLength[d] = m;
                    if (m == 0)
                    {
                        seasonal[d] = 0;
                        continue;
                    }
                    InsertionSort(run[..m]);
                    seasonal[d] = MedianOfSorted(run[..m]);
                }
            }
            // 4. Scale: MAD of the window's residuals (value − trend line − weekday effect). A weekday's residuals are its
            // sorted values minus its effect, still sorted: the runs are merged instead of selected from twice.
            var r = 0;
            for (var d = 0; d < 7; d++)
            {
                var run = runs.Slice(d * weeks, runLength[d]);
                for (var q = 0; q < run.Length; q++)
                {
                    run[q] -= seasonal[d];
                }
                r += run.Length;
            }
            var sorted = MergeRuns(runs, weeks, runLength, residuals);
            var centreOfResiduals = MedianOfSorted(sorted);
            var mad = MedianAbsoluteDeviationOfSorted(sorted, centreOfResiduals);
            var expected = levelAtT + seasonal[0];
            // A series that was never negative in the window is not expected to be (a trend running into zero).
            if (windowMinimum >= 0)
            {
                expected = Math.Max(expected, 0);
            }
            var scale = MadToSigma * mad * Inflation * Math.Sqrt(r / Math.Max(1.0, r - used - 8));
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

    /// <summary>Sorts a short span in place (the detector's spans hold at most one value per week).</summary>
    private static void InsertionSort(Span<double> a)
    {
        for (var i = 1; i < a.Length; i++)
        {
            var x = a[i];
            var j = i - 1;
            while (j >= 0 && a[j] > x)
            {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = x;
        }
    }

    /// <summary>The median of sorted values, computed as <see cref="OrderStatistics.Median"/> does (the same bits).</summary>
    private static double MedianOfSorted(ReadOnlySpan<double> sorted)
    {
        var size = sorted.Length;
        return size % 2 == 1 ? sorted[size / 2] : (sorted[(size / 2) - 1] + sorted[size / 2]) / 2.0;
    }

    /// <summary>
    /// Merges the 7 sorted runs (run d at <paramref name="runs"/>[d × <paramref name="stride"/>], of length
    /// <paramref name="lengths"/>[d]) into one sorted span of <paramref name="output"/>'s start. Reuses the runs as scratch.
    /// </summary>
    private static Span<double> MergeRuns(Span<double> runs, int stride, Span<int> lengths, Span<double> output)
    {
        // Pack the runs to the front of output, then merge neighbours pairwise between output and runs until one is left.
        Span<int> bounds = stackalloc int[8];
        var total = 0;
        for (var d = 0; d < 7; d++)
        {
            bounds[d] = total;
            runs.Slice(d * stride, lengths[d]).CopyTo(output[total..]);
            total += lengths[d];
        }
        bounds[7] = total;
        var count = 7;
        var from = output;
        var to = runs;
        while (count > 1)
        {
            var merged = 0;
            for (var i = 0; i < count; i += 2)
            {
                var lo = bounds[i];
                if (i + 1 == count)
                {
                    from[lo..bounds[i + 1]].CopyTo(to[lo..]);
                }
                else
                {
                    Merge(from[lo..bounds[i + 1]], from[bounds[i + 1]..bounds[i + 2]], to[lo..]);
                }
                bounds[merged++] = lo;
            }
            bounds[merged] = total;
            count = merged;
            var swap = from;
            from = to;
            to = swap;
        }
        return from[..total];
    }

    private static void Merge(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> output)
    {
        int i = 0, j = 0, o = 0;
        while (i < a.Length && j < b.Length)
        {
            var x = a[i];
            var y = b[j];
            if (y < x)
            {
                output[o++] = y;
                j++;
            }
            else
            {
                output[o++] = x;
                i++;
            }
        }
        a[i..].CopyTo(output[o..]);
        b[j..].CopyTo(output[(o + a.Length - i)..]);
    }

    /// <summary>
    /// The median of |value − centre| over sorted values, as <see cref="OrderStatistics.Median"/> of the deviations
    /// would give it: the deviations left of the centre grow leftwards and those right of it rightwards, so the two
    /// middle ones are found by walking both sides outwards.
    /// </summary>
    private static double MedianAbsoluteDeviationOfSorted(ReadOnlySpan<double> sorted, double centre)
    {
        var size = sorted.Length;
        if (size == 0)
        {
            return double.NaN;
        }
        var right = 0;
        while (right < size && sorted[right] < centre)
        {
            right++;
        }
        var left = right - 1;
        // Take the size/2 + 1 smallest deviations in order; keep the last two.
        var previous = double.NaN;
        var current = double.NaN;
        for (var taken = 0; taken <= size / 2; taken++)
        {
            previous = current;
            if (left >= 0 && (right >= size || Math.Abs(sorted[left] - centre) <= Math.Abs(sorted[right] - centre)))
            {
                current = Math.Abs(sorted[left] - centre);
                left--;
            }
            else
            {
                current = Math.Abs(sorted[right] - centre);
                right++;
            }
        }
        return size % 2 == 1 ? current : (previous + current) / 2.0;
    }

    /// <summary>The band of an assessment at the warning sensitivity: expected ∓ sensitivity × scale.</summary>
    public static (double Low, double High) Band(Assessment a, DetectorOptions options) =>
        (a.Expected - options.Sensitivity * a.Scale, a.Expected + options.Sensitivity * a.Scale);

}
