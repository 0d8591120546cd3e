namespace Pipeline.Generate;

/// <summary>Which KPI path the generated shop follows.</summary>
public enum ShopScenario
{
    /// <summary>The plan's starting point all period: conversion 1.5%, natural traffic 20%, repurchase 30%, ACoS 35%.</summary>
    Baseline,

    /// <summary>From the starting point toward the plan's targets, linearly over three years (then held): 2.8%, 35%, 45%, 28%.</summary>
    Plan,
}

/// <summary>The KPIs the generator aims at on a day.</summary>
/// <param name="Conversion">Orders ÷ sessions.</param>
/// <param name="NaturalShare">Natural sessions ÷ sessions.</param>
/// <param name="Repurchase">Share of new customers with a second purchase within 90 days.</param>
/// <param name="Acos">Ad spend ÷ the paid channels' revenue.</param>
public readonly record struct ShopKpis(double Conversion, double NaturalShare, double Repurchase, double Acos);

/// <summary>
/// The e-commerce plan's numbers (docs: /work/shared/reference/domain.md; conversion 1.5% → 2.8%, natural traffic
/// &lt; 20% → 35%, new-customer repurchase &lt; 30% → 45%, ACoS ≤ 30%) and the shop's calendar (weekly rhythm, 618 and
/// Double 11). Pure functions of the options and the day.
/// </summary>
public static class ShopPlan
{
    public static readonly ShopKpis Baseline = new(0.015, 0.20, 0.30, 0.35);

    public static readonly ShopKpis Targets = new(0.028, 0.35, 0.45, 0.28);

    /// <summary>Days over which the plan scenario moves from the baseline to the targets.</summary>
    public const int PlanDays = 3 * 365;

    /// <summary>The repeat window of the repurchase KPI (the pipeline's <c>kpis.repeat_window_days</c> default).</summary>
    public const int RepeatWindowDays = 90;

    /// <summary>
    /// α of the BG/NBD purchase rate (r = 0.5) for which 30% of new customers buy again within 90 days:
    /// 1 − (α/(α+90))^0.5 = 0.30 ⇔ α = 90 · 0.49 / 0.51.
    /// </summary>
    public const double BaselineAlpha = 90.0 * 0.49 / 0.51;

    /// <summary>The KPIs aimed at on day <paramref name="day"/> (0 = the start date).</summary>
    public static ShopKpis At(GenerateOptions o, double day)
    {
        var baseline = new ShopKpis(o.TargetConversion ?? Baseline.Conversion, o.NaturalShare, Repurchase(o.BgR, o.BgAlpha), o.Acos);
        if (o.Scenario == ShopScenario.Baseline)
        {
            return baseline;
        }
        var f = Math.Clamp(day / PlanDays, 0.0, 1.0);
        return new ShopKpis(
            baseline.Conversion + f * (Targets.Conversion - Baseline.Conversion),
            baseline.NaturalShare + f * (Targets.NaturalShare - Baseline.NaturalShare),
            baseline.Repurchase + f * (Targets.Repurchase - Baseline.Repurchase),
            baseline.Acos + f * (Targets.Acos - Baseline.Acos));
    }

    /// <summary>P(second purchase within 90 days) of a new customer: λ ~ Gamma(r, rate α), no dropout before the first repeat.</summary>
    public static double Repurchase(double r, double alpha) => 1 - Math.Pow(alpha / (alpha + RepeatWindowDays), r);

    /// <summary>The α giving repurchase rate <paramref name="q"/> with shape <paramref name="r"/> (inverse of <see cref="Repurchase"/>).</summary>
    public static double AlphaFor(double r, double q)
    {
        var x = Math.Pow(1 - q, 1 / r);
        return RepeatWindowDays * x / (1 - x);
    }

    /// <summary>The BG/NBD α of a customer acquired on day <paramref name="t0"/>: the options' α, or on the plan path.</summary>
    public static double AlphaAt(GenerateOptions o, double t0) =>
        o.Scenario == ShopScenario.Baseline ? o.BgAlpha : AlphaFor(o.BgR, At(o, t0).Repurchase);

    /// <summary>Weekday factors, Monday first: weekends busier.</summary>
    private static readonly double[] Weekday = [0.95, 0.93, 0.94, 0.96, 1.02, 1.12, 1.08];

    /// <summary>
    /// The relative activity of a date: weekday × promotion. 618: June 1–17 × 1.4, June 18 × 3; Double 11: November 1–10
    /// × 1.5, November 11 × 4; Double 12 (December 12) × 1.8.
    /// </summary>
    public static double DayWeight(DateOnly date) => Weekday[((int)date.DayOfWeek + 6) % 7] * PromotionFactor(date);

    /// <summary>The promotions' part of <see cref="DayWeight"/>: 618 (June 1–17 × 1.4, June 18 × 3), Double 11 (November 1–10 × 1.5, November 11 × 4), December 12 × 1.8; else 1.</summary>
    public static double PromotionFactor(DateOnly date)
    {
        return (date.Month, date.Day) switch
        {
            (6, 18) => 3.0,
            (6, < 18) => 1.4,
            (11, 11) => 4.0,
            (11, < 11) => 1.5,
            (12, 12) => 1.8,
            _ => 1.0,
        };
    }

    /// <summary>
    /// The promotions of <see cref="DayWeight"/> that fall in the period, as an <c>alerts.calendar</c> (date or
    /// range → name): known events the anomaly detector reports as expected instead of alerting on them.
    /// </summary>
    public static SortedDictionary<string, string> Promotions(DateOnly start, int days)
    {
        var calendar = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var end = start.AddDays(days - 1);
        for (var year = start.Year; year <= end.Year; year++)
        {
            foreach (var (from, to, name) in new[]
            {
                (new DateOnly(year, 6, 1), new DateOnly(year, 6, 17), "618 warm-up"),
                (new DateOnly(year, 6, 18), new DateOnly(year, 6, 18), "618"),
                (new DateOnly(year, 11, 1), new DateOnly(year, 11, 10), "Double 11 warm-up"),
                (new DateOnly(year, 11, 11), new DateOnly(year, 11, 11), "Double 11"),
                (new DateOnly(year, 12, 12), new DateOnly(year, 12, 12), "Double 12"),
            })
            {
                if (to >= start && from <= end)
                {
                    var key = from == to ? $"{from:yyyy-MM-dd}" : $"{from:yyyy-MM-dd}..{to:yyyy-MM-dd}";
                    calendar[key] = name;
                }
            }
        }
        return calendar;
    }

    /// <summary>Cumulative day weights of the first <paramref name="days"/> days from <paramref name="start"/> (for inverse-CDF draws).</summary>
    public static double[] CumulativeWeights(DateOnly start, int days)
    {
        var result = new double[days];
        var acc = 0.0;
        for (var i = 0; i < days; i++)
        {
            acc += DayWeight(start.AddDays(i));
            result[i] = acc;
        }
        return result;
    }

    /// <summary>Day (with its fraction) at which the cumulative weight reaches <paramref name="u"/> × total; <paramref name="u"/> in [0, 1).</summary>
    public static double InverseCdf(double[] cumulative, double u)
    {
        var target = u * cumulative[^1];
        var lo = 0;
        var hi = cumulative.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (cumulative[mid] > target)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        var before = lo == 0 ? 0 : cumulative[lo - 1];
        var frac = (target - before) / (cumulative[lo] - before);
        return lo + Math.Clamp(frac, 0, 0.999999);
    }

    /// <summary>The session channels that are natural traffic (<see cref="EventsCatalog"/> indices), and their mix.</summary>
    internal static readonly (int Channel, double Weight)[] NaturalMix =
        [(EventsCatalog.OrganicSearch, 0.45), (EventsCatalog.Direct, 0.30), (EventsCatalog.OrganicSocial, 0.15), (EventsCatalog.Referral, 0.10)];

    /// <summary>Paid traffic: search (Google, Bing, Baidu), social (Douyin, Xiaohongshu, Weibo, Facebook), affiliates, e-mail.</summary>
    internal static readonly (int Channel, double Weight)[] PaidMix =
        [(EventsCatalog.PaidSearch, 0.45), (EventsCatalog.PaidSocial, 0.35), (EventsCatalog.Affiliate, 0.10), (EventsCatalog.Email, 0.10)];

    /// <summary>Per paid channel, its ACoS relative to <see cref="GenerateOptions.Acos"/>: 35% → search 33%, social 40%, affiliate and e-mail 30%.</summary>
    public static double ChannelAcosFactor(int channel) => channel switch
    {
        EventsCatalog.PaidSearch => 0.95,
        EventsCatalog.PaidSocial => 1.15,
        _ => 0.86,
    };

    internal static bool IsNatural(int channel) => channel is EventsCatalog.OrganicSearch or EventsCatalog.OrganicSocial or EventsCatalog.Referral or EventsCatalog.Direct;
}
