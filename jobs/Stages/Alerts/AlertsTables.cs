namespace Pipeline.Stages.Alerts;

/// <summary>The table the alerts stage publishes, recomputed from the KPI tables (or a metrics file) and replaced whole.</summary>
internal static class AlertsTables
{
    public static readonly TableSpec Alerts = new(TableNames.KpiAlerts, "one row per metric, dimension value and date flagged (outside its band)",
        ["alert_date", "metric", "dimension", "dimension_value"], [],
    [
        new("alert_date", "DATE", "The UTC date flagged."),
        new("metric", "VARCHAR", "The metric: sessions, orders, revenue, new_customers, conversion_rate, aov, natural_traffic_share, ad_spend, acos, event_hours (or a column of the `--metrics` file)."),
        new("dimension", "VARCHAR", "`overall`, `channel` or `device` (`overall` for a metrics file)."),
        new("dimension_value", "VARCHAR", "The channel or device type; `all` for overall."),
        new("value", "DOUBLE", "The metric's value that day, in its own unit (amounts in the base currency, rates as fractions)."),
        new("expected", "DOUBLE", "Its expected value: the robust trend at that day plus its weekday's effect, from the trailing `alerts.window_days` days."),
        new("band_low", "DOUBLE", "expected − `alerts.sensitivity` × scale: below it a day is flagged."),
        new("band_high", "DOUBLE", "expected + `alerts.sensitivity` × scale: above it a day is flagged."),
        new("score", "DOUBLE", "(value − expected) / scale: the deviation in robust standard deviations (scale = 1.4826 × MAD of the window's residuals, floored)."),
        new("severity", "VARCHAR", "`critical` (|score| ≥ `alerts.critical_sensitivity`) or `warning`."),
        new("direction", "VARCHAR", "`up` or `down`."),
        new("status", "VARCHAR", "`new` (the day before was not flagged the same way), `ongoing`, or `expected` (a known-event day of `alerts.calendar`: not an alert)."),
        new("explanation", "VARCHAR", "In words: the change against the expectation and, for an overall metric, the channel or device whose deviation explains the largest share of it."),
    ])
    {
        Description = "KPI anomaly alerts: every day a watched metric (overall, per channel, per device type) left its expected band, with its expectation, band, severity, status and where the change came from.",
    };
}
