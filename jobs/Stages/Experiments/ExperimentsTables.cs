namespace Pipeline.Stages.Experiments;

/// <summary>The tables the experiments stage publishes, each recomputed from the clean tables and replaced whole.</summary>
internal static class ExperimentsTables
{
    public static readonly TableSpec Units = new(TableNames.ExperimentUnits, "one row per experiment and unit (person) exposed to it", ["experiment_id", "unit_id"], [],
    [
        new("experiment_id", "VARCHAR", "The experiment."),
        new("unit_id", "VARCHAR", "The unit: the stitched customer id, else `a:` + the visitor's `anonymous_key` (an HMAC; never the raw anonymous id)."),
        new("unit_type", "VARCHAR", "`customer` or `anonymous`."),
        new("variant", "VARCHAR", "The variant of the unit's first exposure (ties by variant name)."),
        new("first_exposure_at", "TIMESTAMP WITH TIME ZONE", "The unit's first exposure in the experiment's window (UTC)."),
        new("exposures", "BIGINT", "Exposures of the unit in the window."),
        new("variants_seen", "BIGINT", "Distinct variants the unit was exposed to."),
        new("is_excluded", "BOOLEAN", "Exposed to more than one variant: left out of the results (counted in experiments/summary)."),
        new("orders", "BIGINT", "Purchases (not cancelled, not credit notes) from the first exposure to the experiment's end + `experiments.attribution_days`."),
        new("revenue", "DECIMAL(18,2)", "Σ `net_revenue` of those purchases, in the base currency (exact)."),
        new("is_converted", "BOOLEAN", "orders > 0."),
        new("add_to_carts", "BIGINT", "Add-to-cart events in the same window."),
        new("exposed_sessions", "BIGINT", "Sessions in which the unit was exposed to the experiment."),
        new("bounced_sessions", "BIGINT", "Of those, sessions that bounced."),
        new("pre_revenue", "DECIMAL(18,2)", "Σ `net_revenue` of purchases in the `experiments.cuped_lookback_days` before the first exposure (CUPED's covariate)."),
    ])
    {
        Description = "Every unit exposed to an experiment: its variant (first exposure), whether it is excluded, and its outcomes after exposure.",
    };

    public static readonly TableSpec Results = new(TableNames.ExperimentResults, "one row per experiment, variant and metric", ["experiment_id", "variant", "metric"], [],
    [
        new("experiment_id", "VARCHAR", "The experiment."),
        new("variant", "VARCHAR", "The variant."),
        new("metric", "VARCHAR", "conversion, revenue_per_unit, orders_per_unit, aov, add_to_cart_rate, bounce_rate (and revenue_per_unit_cuped with `experiments.cuped`)."),
        new("is_control", "BOOLEAN", "The variant is the experiment's control (its uplift columns are NULL)."),
        new("units", "BIGINT", "Units of the variant (excluded units left out)."),
        new("value", "DOUBLE", "The metric: a rate, a mean per unit, or a ratio of sums (aov = revenue / orders, bounce_rate = bounced / exposed sessions)."),
        new("control_value", "DOUBLE", "The control's value of the metric."),
        new("higher_is_better", "BOOLEAN", "False for bounce_rate: its chance to beat control is the chance it is lower."),
        new("abs_uplift", "DOUBLE", "value − control_value (CUPED: the adjusted difference)."),
        new("abs_ci_lower", "DOUBLE", "Lower bound of abs_uplift's interval (Welch t; level in `ci_level`)."),
        new("abs_ci_upper", "DOUBLE", "Upper bound of abs_uplift's interval."),
        new("rel_uplift", "DOUBLE", "abs_uplift / |control_value|."),
        new("rel_ci_lower", "DOUBLE", "Lower bound of rel_uplift's interval (delta method, Welch t)."),
        new("rel_ci_upper", "DOUBLE", "Upper bound of rel_uplift's interval."),
        new("ci_level", "DOUBLE", "The intervals' level: 1 − alpha, or 1 − alpha / (variants − 1) (Bonferroni) with more than one treatment."),
        new("p_value", "DOUBLE", "Two-sided p-value of the relative uplift (Welch t)."),
        new("p_value_adjusted", "DOUBLE", "p_value after Holm's correction over the experiment's treatments (= p_value with one treatment)."),
        new("correction", "VARCHAR", "`none` (one treatment) or `holm` (p-values; intervals Bonferroni)."),
        new("is_significant", "BOOLEAN", "p_value_adjusted < alpha."),
        new("chance_to_beat_control", "DOUBLE", "Bayesian chance that the variant beats control on this metric: Φ(rel_uplift / se), the normal approximation with a flat prior (GrowthBook's default engine)."),
        new("variance_reduction", "DOUBLE", "revenue_per_unit_cuped only: share of the uplift's variance CUPED removed; NULL for other metrics."),
    ])
    {
        Description = "Per experiment, variant and metric: the value, absolute and relative uplift against control with intervals, p-values (Holm-adjusted with several treatments) and the chance to beat control.",
    };

    public static readonly TableSpec Summary = new(TableNames.ExperimentSummary, "one row per experiment", ["experiment_id"], [],
    [
        new("experiment_id", "VARCHAR", "The experiment."),
        new("status", "VARCHAR", "`running` (exposures on the last day of data) or `ended`."),
        new("start_date", "DATE", "First day of the window (definition, else the first exposure's UTC date)."),
        new("end_date", "DATE", "Last day of the window (definition, else the last exposure's UTC date)."),
        new("days", "INTEGER", "Days from start_date to end_date (inclusive)."),
        new("control_variant", "VARCHAR", "The control."),
        new("variants", "INTEGER", "Variants read out, control included."),
        new("units", "BIGINT", "Units in the results."),
        new("excluded_units", "BIGINT", "Units exposed to more than one variant, left out."),
        new("exposures", "BIGINT", "Exposures with a variant (events and assignments) in the window."),
        new("exposures_without_variant", "BIGINT", "Exposures of the experiment that name no variant (ignored)."),
        new("expected_split", "VARCHAR", "Intended share per variant, e.g. `control 50% / treatment 50%`."),
        new("observed_split", "VARCHAR", "Observed share of units per variant."),
        new("srm_chi_square", "DOUBLE", "Pearson χ² of the units per variant against the intended split."),
        new("srm_p_value", "DOUBLE", "Its p-value."),
        new("is_srm", "BOOLEAN", "srm_p_value < `experiments.srm_threshold`: the split is broken, do not trust the result."),
        new("mde_relative", "DOUBLE", "Smallest relative conversion uplift detectable now (power `experiments.power`, level alpha), over the treatments."),
        new("target_mde", "DOUBLE", "`experiments.target_mde`."),
        new("days_needed", "DOUBLE", "More days at the current rate of new units until mde_relative reaches target_mde (0 = enough; NULL when it cannot be said)."),
        new("best_variant", "VARCHAR", "The treatment with the highest chance to beat control on conversion."),
        new("best_chance_to_beat_control", "DOUBLE", "That chance."),
        new("flags", "VARCHAR", "Health problems in plain words, separated by `; ` (empty when none)."),
        new("verdict", "VARCHAR", "The readout in one sentence (starts with \"Do not trust this result\" under a sample-ratio mismatch)."),
    ])
    {
        Description = "Per experiment: dates, units, health (sample-ratio mismatch, units with several variants, minimum detectable effect, days needed) and a one-sentence verdict.",
    };

    public static readonly TableSpec AssignmentsQuarantine = new(TableNames.QuarantineAssignments, "one row per rejected assignments row", ["source_file", "source_line"], [],
        QuarantineTables.With("The row as text, the anonymous id and e-mail-shaped text redacted."))
    {
        Optional = true,
        Description = "Every row of the assignments file (`experiments.input`) that was rejected, with its reason code (only with an assignments input).",
    };
}
