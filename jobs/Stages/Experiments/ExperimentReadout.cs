using System.Globalization;
using Pipeline.Config;
using Pipeline.Models.Experiments;

namespace Pipeline.Stages.Experiments;

/// <summary>
/// One experiment's readout from its per-variant sums: the control and intended split, the sample-ratio test, and every
/// metric of every treatment against control (Welch t, delta-method relative uplift, Holm over the treatments, the
/// normal-approximation chance to beat control), the minimum detectable effect and the verdict in plain words.
/// </summary>
public sealed class ExperimentReadout
{
    private ExperimentReadout(string id, string control, IReadOnlyList<VariantSums> variants, IReadOnlyList<double> weights, SrmResult srm, List<ResultRow> results)
    {
        ExperimentId = id;
        Control = control;
        Variants = variants;
        Weights = weights;
        Srm = srm;
        Results = results;
    }

    public string ExperimentId { get; }
    public string Control { get; }
    public IReadOnlyList<VariantSums> Variants { get; }
    public IReadOnlyList<double> Weights { get; }
    public SrmResult Srm { get; }
    public List<ResultRow> Results { get; }

    /// <summary>The metrics, in output order: name, higher is better, the per-variant statistic.</summary>
    private static readonly (string Name, bool HigherIsBetter, Func<VariantSums, SampleStats> Stats)[] Metrics =
    [
        ("conversion", true, v => SampleStats.FromProportion(v.Converted, v.N)),
        ("revenue_per_unit", true, v => SampleStats.FromSums(v.N, v.Revenue, v.Revenue2)),
        ("orders_per_unit", true, v => SampleStats.FromSums(v.N, v.Orders, v.Orders2)),
        ("aov", true, v => SampleStats.FromRatio(v.N, v.Revenue, v.Revenue2, v.Orders, v.Orders2, v.RevenueOrders)),
        ("add_to_cart_rate", true, v => SampleStats.FromProportion(v.Carted, v.N)),
        ("bounce_rate", false, v => SampleStats.FromRatio(v.N, v.Bounced, v.Bounced2, v.Sessions, v.Sessions2, v.BouncedSessions)),
    ];

    /// <summary>Null when fewer than two variants have units (nothing to compare).</summary>
    public static ExperimentReadout? Compute(string id, ExperimentDefinition? def, IReadOnlyList<VariantSums> sums, ExperimentsConfig x)
    {
        // Variants: those with units, plus any the definition expects (a variant that got no units is the worst mismatch).
        var byName = sums.ToDictionary(s => s.Variant, StringComparer.Ordinal);
        foreach (var v in def?.Weights?.Keys ?? [])
        {
            byName.TryAdd(v, new VariantSums(id, v, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        }
        var names = byName.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var control = def?.Control ?? (byName.ContainsKey("control") ? "control" : names.FirstOrDefault());
        if (control is null || names.Count < 2 || !byName.ContainsKey(control))
        {
            return null;
        }
        // Control first, then the treatments by name.
        names = [control, .. names.Where(n => n != control)];
        var variants = names.Select(n => byName[n]).ToList();
        var weights = names.Select(n => def?.Weights?.GetValueOrDefault(n) ?? (def?.Weights is null ? 1.0 : 0.0)).ToList();
        var srm = Health.SampleRatioMismatch(variants.Select(v => v.N).ToList(), weights, x.SrmThreshold);

        var treatments = variants.Skip(1).ToList();
        var m = treatments.Count;
        var ciAlpha = m > 1 ? x.Alpha / m : x.Alpha;
        var results = new List<ResultRow>();
        var c = variants[0];
        foreach (var (name, higher, stats) in Metrics)
        {
            var cs = stats(c);
            results.Add(new ResultRow { ExperimentId = id, Variant = control, Metric = name, IsControl = true, Units = c.N, Value = Finite(cs.Mean), ControlValue = Finite(cs.Mean), HigherIsBetter = higher });
            var rows = new List<ResultRow>();
            foreach (var t in treatments)
            {
                var ts = stats(t);
                var abs = Frequentist.Welch(cs, ts, DifferenceType.Absolute, ciAlpha);
                var rel = Frequentist.Welch(cs, ts, DifferenceType.Relative, ciAlpha);
                rows.Add(Row(id, t, name, higher, cs.Mean, ts.Mean, abs, rel, ciAlpha));
            }
            Adjust(rows, m, x.Alpha);
            results.AddRange(rows);
        }
        if (x.Cuped)
        {
            var cSums = CupedOf(c);
            var mean = c.N > 0 ? c.Revenue / c.N : double.NaN;
            results.Add(new ResultRow { ExperimentId = id, Variant = control, Metric = "revenue_per_unit_cuped", IsControl = true, Units = c.N, Value = Finite(mean), ControlValue = Finite(mean), HigherIsBetter = true });
            var rows = new List<ResultRow>();
            foreach (var t in treatments)
            {
                var abs = Cuped.Compare(cSums, CupedOf(t), DifferenceType.Absolute, alpha: ciAlpha);
                var rel = Cuped.Compare(cSums, CupedOf(t), DifferenceType.Relative, alpha: ciAlpha);
                var row = Row(id, t, "revenue_per_unit_cuped", true, mean, t.N > 0 ? t.Revenue / t.N : double.NaN, abs.Effect, rel.Effect, ciAlpha);
                row.VarianceReduction = Finite(rel.VarianceReduction);
                rows.Add(row);
            }
            Adjust(rows, m, x.Alpha);
            results.AddRange(rows);
        }
        return new ExperimentReadout(id, control, variants, weights, srm, results);
    }

    private static CupedSums CupedOf(VariantSums v) => new(v.N, v.Revenue, v.Revenue2, v.Pre, v.Pre2, v.PreRevenue);

    private static ResultRow Row(string id, VariantSums t, string metric, bool higher, double controlValue, double value, Effect abs, Effect rel, double ciAlpha)
    {
        var post = Bayesian.FromEstimate(rel.Estimate, rel.StandardError);
        var chance = double.IsNaN(post.ChanceToWin) ? (double?)null : higher ? post.ChanceToWin : 1 - post.ChanceToWin;
        return new ResultRow
        {
            ExperimentId = id, Variant = t.Variant, Metric = metric, IsControl = false, Units = t.N, HigherIsBetter = higher,
            Value = Finite(value), ControlValue = Finite(controlValue),
            AbsUplift = Finite(abs.Estimate), AbsCiLower = Finite(abs.CiLower), AbsCiUpper = Finite(abs.CiUpper),
            RelUplift = Finite(rel.Estimate), RelCiLower = Finite(rel.CiLower), RelCiUpper = Finite(rel.CiUpper),
            CiLevel = 1 - ciAlpha, PValue = Finite(rel.PValue), ChanceToBeatControl = chance,
        };
    }

    /// <summary>Holm over the treatments of one metric; significance on the adjusted p-value.</summary>
    private static void Adjust(List<ResultRow> rows, int m, double alpha)
    {
        var adjusted = Health.Holm(rows.Select(r => r.PValue ?? double.NaN).ToList());
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].PValueAdjusted = Finite(adjusted[i]);
            rows[i].Correction = m > 1 ? "holm" : "none";
            rows[i].IsSignificant = rows[i].PValueAdjusted is { } p ? p < alpha : null;
        }
    }

    /// <summary>The summary row: health in plain words and the verdict.</summary>
    public SummaryRow Summary(string status, DateOnly start, DateOnly end, int days, long exposures, long withoutVariant, ExperimentsConfig x)
    {
        var total = Variants.Sum(v => v.N);
        var excluded = Variants.Sum(v => v.Excluded);
        var wsum = Weights.Sum();
        string Split(IEnumerable<double> shares) => string.Join(" / ", Variants.Zip(shares, (v, s) => $"{v.Variant} {Pct(s)}"));
        var c = SampleStats.FromProportion(Variants[0].Converted, Variants[0].N);
        double? mde = null;
        foreach (var t in Variants.Skip(1))
        {
            var ts = SampleStats.FromProportion(t.Converted, t.N);
            var abs = Health.MinimumDetectableEffect(c, ts, x.Alpha, x.Power);
            if (c.Mean > 0 && double.IsFinite(abs))
            {
                mde = Math.Max(mde ?? 0, abs / c.Mean);
            }
        }
        double? daysNeeded = mde is { } md ? Finite(Health.DaysNeeded(md, x.TargetMde, total, days)) : null;
        var conversion = Results.Where(r => r.Metric == "conversion" && !r.IsControl).ToList();
        var best = conversion.Where(r => r.ChanceToBeatControl is not null).OrderByDescending(r => r.ChanceToBeatControl).ThenBy(r => r.Variant, StringComparer.Ordinal).FirstOrDefault();

        var flags = new List<string>();
        if (Srm.IsMismatch)
        {
            flags.Add($"sample ratio mismatch: units split {Split(Variants.Select(v => total == 0 ? 0 : (double)v.N / total))} against the intended {Split(Weights.Select(w => w / wsum))} (p = {Sci(Srm.PValue)})");
        }
        if (excluded > 0)
        {
            flags.Add($"{excluded} unit(s) saw more than one variant and are left out ({Pct((double)excluded / (total + excluded))} of the exposed)");
        }
        if (withoutVariant > 0)
        {
            flags.Add($"{withoutVariant} exposure(s) name no variant and are ignored");
        }
        if (daysNeeded is > 0)
        {
            flags.Add($"too few units yet to detect a {Pct(x.TargetMde)} conversion uplift (detectable now: {Pct(mde!.Value)}), about {daysNeeded:0} more day(s) needed");
        }

        string verdict;
        if (Srm.IsMismatch)
        {
            verdict = "Do not trust this result: the units were not split as intended, so the variants are not comparable.";
        }
        else if (conversion.FirstOrDefault(r => r.IsSignificant == true && r.RelUplift > 0) is { } win && best is not null)
        {
            var w = conversion.Where(r => r.IsSignificant == true && r.RelUplift > 0).OrderByDescending(r => r.RelUplift).First();
            verdict = $"{w.Variant} converts {Pct(w.RelUplift!.Value)} better than {Control} (interval {Pct(w.RelCiLower!.Value)} to {Pct(w.RelCiUpper!.Value)}; chance to beat control {Pct(w.ChanceToBeatControl ?? double.NaN)}).";
        }
        else if (conversion.FirstOrDefault(r => r.IsSignificant == true && r.RelUplift < 0) is { } lose)
        {
            verdict = $"{lose.Variant} converts {Pct(-lose.RelUplift!.Value)} worse than {Control} (interval {Pct(lose.RelCiLower!.Value)} to {Pct(lose.RelCiUpper!.Value)}).";
        }
        else
        {
            verdict = $"No significant difference in conversion yet{(best is null ? "" : $" (best: {best.Variant}, chance to beat control {Pct(best.ChanceToBeatControl ?? double.NaN)})")}.";
        }
        return new SummaryRow
        {
            ExperimentId = ExperimentId, Status = status, StartDate = start, EndDate = end, Days = days, ControlVariant = Control,
            Variants = Variants.Count, Units = total, ExcludedUnits = excluded, Exposures = exposures, ExposuresWithoutVariant = withoutVariant,
            ExpectedSplit = Split(Weights.Select(w => w / wsum)), ObservedSplit = Split(Variants.Select(v => total == 0 ? 0 : (double)v.N / total)),
            SrmChiSquare = Srm.ChiSquare, SrmPValue = Srm.PValue, IsSrm = Srm.IsMismatch,
            MdeRelative = mde, TargetMde = x.TargetMde, DaysNeeded = daysNeeded,
            BestVariant = best?.Variant, BestChanceToBeatControl = best?.ChanceToBeatControl,
            Flags = string.Join("; ", flags), Verdict = verdict,
        };
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static string Pct(double share) => double.IsFinite(share) ? (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%" : "n/a";

    private static string Sci(double p) => p.ToString(p < 0.001 ? "0.0E+0" : "0.000", CultureInfo.InvariantCulture);
}
