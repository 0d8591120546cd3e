namespace Pipeline.Models.Alerts;

/// <summary>
/// The sustained-shift rule, a run rule in the spirit of statistical process control (the Western Electric rule "2 of
/// 3 beyond 2σ", a CUSUM): a shift that is too small to flag any single day (a conversion halved on a segment whose
/// daily noise is a sixth of the rate: ≈ 3 scales a day) is flagged when it lasts.
/// <list type="number">
/// <item>A <b>run</b> is a stretch of consecutive days that are assessed, not known events, and each ≥
/// <see cref="DetectorOptions.SustainedDayShare"/> × <see cref="DetectorOptions.Sensitivity"/> (2 by default) from
/// their expectation in the same direction. A missing, unjudged or known-event day, a day closer to its expectation,
/// or a day in the other direction ends it.</item>
/// <item>Every stretch of k consecutive days of a run, <see cref="DetectorOptions.SustainedMinDays"/> (3) ≤ k ≤
/// <see cref="DetectorOptions.SustainedMaxDays"/> (7), has the combined score Σ min(|score|, sensitivity) ÷ √k: the
/// z-score of the stretch's mean deviation when the days' scores are independent standard normals. A day that alerts on
/// its own counts as the sensitivity and no more, so one huge spike does not make two neighbours merely 2 scales off
/// critical alerts: (4 + 2 + 2) ÷ √3 = 4.6, a warning.</item>
/// <item>A stretch qualifies when its combined score reaches the sensitivity; its severity is the combined score's
/// against the two sensitivities. For a count or a rate of counts the stretch must also be unusual as one Poisson
/// count (a sum of independent Poisson counts is Poisson): the signed <see cref="CountNoise.Score"/> of its summed
/// observed count against its summed expected count (each day's expected count at least <see cref="CountNoise.MinMean"/>,
/// as for a single day: k days of a series that is usually 0 are compared with a mean of k ÷ 2) must reach the
/// sensitivity in the run's direction, and caps the severity as <see cref="CountNoise.Cap"/> does for a single day.</item>
/// <item>Every day of a qualifying stretch, its first included, is flagged with at least the stretch's severity (the
/// higher of its own and the qualifying stretches'), and <see cref="Assessment.Sustained"/> = the length of the block
/// of consecutive flagged-by-the-rule days it is part of.</item>
/// </list>
/// At the defaults, 3 days of a run qualify at a mean |score| of 2.31, 4 or more whenever every day is beyond 2 (two
/// days never do: see <see cref="DetectorOptions.SustainedMinDays"/>). Unlike <see cref="AnomalyDetector.Assess"/> the
/// rule looks ahead: the first days of a run are flagged once a later day completes a qualifying stretch (two mornings
/// later for a 3-day stretch), so they enter <c>kpi/alerts</c> then, not in their own morning's run.
/// </summary>
public static class SustainedShift
{
    /// <summary>
    /// Applies the rule to a series' assessments in place: raises the severity of the days of qualifying stretches and
    /// sets their <see cref="Assessment.Sustained"/>.
    /// </summary>
    /// <param name="assessments">The series' assessments (after any per-day cap, which only lowers <see cref="Assessment.Severity"/>; the rule reads the scores).</param>
    /// <param name="options">The sensitivities and the rule's two options.</param>
    /// <param name="observedCounts">For a count or a rate of counts: each day's count (null otherwise).</param>
    /// <param name="expectedCounts">… and its expected count (null exactly when <paramref name="observedCounts"/> is).</param>
    public static void Apply(Assessment[] assessments, DetectorOptions options, double[]? observedCounts = null, double[]? expectedCounts = null)
    {
        var problems = AnomalyDetector.Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }
        if ((observedCounts is null) != (expectedCounts is null)
            || (observedCounts is not null && (observedCounts.Length != assessments.Length || expectedCounts!.Length != assessments.Length)))
        {
            throw new ArgumentException("observed and expected counts: both or neither, one per assessment");
        }
        var n = assessments.Length;
        var floor = options.SustainedDayShare * options.Sensitivity;
        var severity = new Severity[n];
        var covered = new bool[n];
        var start = 0;
        while (start < n)
        {
            var direction = RunDirection(assessments[start], floor);
            if (direction == 0)
            {
                start++;
                continue;
            }
            var end = start;
            while (end + 1 < n && RunDirection(assessments[end + 1], floor) == direction)
            {
                end++;
            }
            for (var s = start; s < end; s++)
            {
                double sum = 0, observed = 0, expected = 0;
                for (var e = s; e <= end && e - s < options.SustainedMaxDays; e++)
                {
                    sum += Math.Min(Math.Abs(assessments[e].Score), options.Sensitivity);
                    if (observedCounts is not null)
                    {
                        // Each day's count as CountNoise reads it: at least 0, its mean at least CountNoise.MinMean.
                        observed += Math.Max(observedCounts[e], 0);
                        expected += Math.Max(expectedCounts![e], CountNoise.MinMean);
                    }
                    var k = e - s + 1;
                    if (k < options.SustainedMinDays)
                    {
                        continue;
                    }
                    var grade = Grade(sum / Math.Sqrt(k), options);
                    if (grade != Severity.None && observedCounts is not null)
                    {
                        var z = CountNoise.Score(observed, expected);
                        var poisson = Math.Sign(z) == direction ? Grade(Math.Abs(z), options) : Severity.None;
                        grade = poisson < grade ? poisson : grade;
                    }
                    if (grade == Severity.None)
                    {
                        continue;
                    }
                    for (var i = s; i <= e; i++)
                    {
                        covered[i] = true;
                        severity[i] = grade > severity[i] ? grade : severity[i];
                    }
                }
            }
            start = end + 1;
        }
        for (var i = 0; i < n;)
        {
            if (!covered[i])
            {
                i++;
                continue;
            }
            // A block of consecutive covered days of one direction (two runs of opposite directions may touch).
            var direction = Math.Sign(assessments[i].Score);
            var j = i;
            while (j + 1 < n && covered[j + 1] && Math.Sign(assessments[j + 1].Score) == direction)
            {
                j++;
            }
            for (var d = i; d <= j; d++)
            {
                var a = assessments[d];
                assessments[d] = a with { Severity = severity[d] > a.Severity ? severity[d] : a.Severity, Sustained = j - i + 1 };
            }
            i = j + 1;
        }
    }

    /// <summary>The direction (+1, −1) in which a day can be part of a run, 0 when it cannot.</summary>
    private static int RunDirection(Assessment a, double floor) =>
        a.Assessed && !a.KnownEvent && double.IsFinite(a.Score) && Math.Abs(a.Score) >= floor ? Math.Sign(a.Score) : 0;

    private static Severity Grade(double z, DetectorOptions o) =>
        z >= o.CriticalSensitivity ? Severity.Critical : z >= o.Sensitivity ? Severity.Warning : Severity.None;
}
