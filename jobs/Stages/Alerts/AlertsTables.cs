namespace Pipeline.Stages.Alerts;

/// <summary>The table the alerts stage publishes, recomputed from the KPI tables (or a metrics file) and replaced whole.</summary>
internal static class AlertsTables
{
    public static readonly TableSpec Alerts = new(TableNames.KpiAlerts, "one row per metric, dimension value and date flagged (outside its band)",
        ["alert_date", "metric", "dimension", "dimension_value"], [],
    [
        new("alert_date", "DATE", "The UTC date flagged."),
        new("metric", "VARCHAR", "The metric: sessions, orders, revenue, new_customers, conversion_rate, aov, natural_traffic_share, ad_spend, acos, event_hours, bot_share, quarantine_share (or a column of the `--metrics` file)."),
        new("dimension", "VARCHAR", "`overall`, `channel`, `device` or `landing_page` (`overall` for a metrics file)."),
        new("dimension_value", "VARCHAR", "The channel, device type or landing-page group (first path segment: `/p`); `all` for overall."),
        new("value", "DECIMAL(28,6)", "The metric's value that day, in its own unit (amounts in the base currency, exact to the cent as in `kpi/daily`; rates as fractions), rounded half away from zero to 6 decimals. DECIMAL for every metric, money or not: one column type, and money stays exact."),
        new("expected", "DECIMAL(28,6)", "Its expected value: the robust trend at that day plus its weekday's effect, from the trailing `alerts.window_days` days (computed in double precision, rounded half away from zero to 6 decimals)."),
        new("band_low", "DECIMAL(28,6)", "expected − `alerts.sensitivity` × scale: below it a day is flagged (rounded like expected); a day inside the band is flagged only as part of a sustained shift (see `explanation`)."),
        new("band_high", "DECIMAL(28,6)", "expected + `alerts.sensitivity` × scale: above it a day is flagged (rounded like expected); a day inside the band is flagged only as part of a sustained shift."),
        new("score", "DOUBLE", "(value − expected) / scale: the deviation in robust standard deviations (scale = 1.4826 × MAD of the window's residuals, floored)."),
        new("severity", "VARCHAR", "`critical` (|score| ≥ `alerts.critical_sensitivity`, or a sustained shift whose combined score is) or `warning`."),
        new("direction", "VARCHAR", "`up` or `down`."),
        new("status", "VARCHAR", "`new` (the day before was not flagged the same way), `ongoing`, or `expected` (a known-event day of `alerts.calendar`: not an alert)."),
        new("explanation", "VARCHAR", "In words: the change against the expectation, `, for N days in a row` when the day is part of a sustained shift (3 or more consecutive days each at least half the sensitivity off the same way, together beyond it), and, for an overall metric, the channel, device or landing-page group whose deviation explains the largest share of it."),
    ])
    {
        Description = "KPI anomaly alerts: every day a watched metric (overall, per channel, per device type, per landing-page group) left its expected band or was part of a sustained shift, with its expectation, band, severity, status and where the change came from.",
    };

    public static readonly TableSpec Bands = new(TableNames.KpiAlertBands, "one row per alerted series (metric × dimension value) and day of its last 8 weeks",
        ["metric", "dimension", "dimension_value", "band_date"], [],
    [
        new("metric", "VARCHAR", "The metric, as in `kpi/alerts`."),
        new("dimension", "VARCHAR", "`overall`, `channel`, `device` or `landing_page`."),
        new("dimension_value", "VARCHAR", "The channel, device type or landing-page group (first path segment: `/p`); `all` for overall."),
        new("band_date", "DATE", "A day of the series' last 8 weeks (56 days up to the last day of the data)."),
        new("value", "DECIMAL(28,6)", "The metric's value that day (NULL when the day has none), rounded like `kpi/alerts`."),
        new("expected", "DECIMAL(28,6)", "The detector's expected value that day (NULL when the day is not judged: no value or too little history)."),
        new("band_low", "DECIMAL(28,6)", "expected − `alerts.sensitivity` × scale (NULL when not judged)."),
        new("band_high", "DECIMAL(28,6)", "expected + `alerts.sensitivity` × scale (NULL when not judged)."),
        new("status", "VARCHAR", "The day's row in `kpi/alerts`: `new`, `ongoing` or `expected`; NULL when the day is inside its band."),
    ])
    {
        Description = "What the report charts for each series with an alert (not a known event) in the last 7 days of the data: the series, its expectation and band day by day over its last 8 weeks. Only those series: the table stays small.",
    };
}
