using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Pipeline.Core;

namespace Pipeline.Config;

/// <summary>
/// Reads the JSON configuration (comments and trailing commas allowed), checks it against the records in
/// <see cref="PipelineConfig"/> and collects <em>every</em> problem before failing, so one `validate-config` run shows
/// the whole list. Keys are snake_case; unknown keys are errors (a typo must not silently fall back to a default).
/// </summary>
public static partial class ConfigLoader
{
    /// <summary>Environment variable with the Spark Connect connection string (PySpark's name).</summary>
    public const string SparkRemoteVariable = "SPARK_REMOTE";

    /// <summary>Earliest quality.min_valid_date (and so the earliest snapshot date of <c>pipeline run</c>).</summary>
    public static readonly DateOnly MinValidDateFloor = new(1900, 1, 1);

    /// <summary>Largest engine.connect_timeout_seconds: an hour.</summary>
    public const int MaxConnectTimeoutSeconds = 3600;

    private static readonly JsonSerializerOptions SerializerOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Loads and validates a file; <paramref name="path"/> null means "no file: all defaults".</summary>
    public static PipelineConfig Load(string? path)
    {
        var (config, errors) = TryLoad(path);
        if (config is not null && Environment.GetEnvironmentVariable(SparkRemoteVariable) is { Length: > 0 } remote)
        {
            // Like PySpark: SPARK_REMOTE gives the Spark Connect address (and token) when the command line does not.
            config = config with { Engine = config.Engine with { Remote = remote } };
            errors = [.. errors, .. Validate(config).Where(e => e.StartsWith("engine.remote", StringComparison.Ordinal)).Select(e => $"{SparkRemoteVariable}: {e}")];
        }
        if (errors.Count > 0)
        {
            var where = path is null ? "configuration" : path;
            throw PipelineException.Config(errors.Count == 1
                ? $"{where}: {errors[0]}"
                : $"{where}: {errors.Count} problems: " + string.Join("; ", errors));
        }
        return config!;
    }

    /// <summary>Loads a file and returns the config (null when unusable) with every problem found.</summary>
    public static (PipelineConfig? Config, IReadOnlyList<string> Errors) TryLoad(string? path) => TryLoad(path, File.ReadAllText);

    /// <summary><see cref="TryLoad(string?)"/> reading the file with <paramref name="readAllText"/> (tests fail the read).</summary>
    internal static (PipelineConfig? Config, IReadOnlyList<string> Errors) TryLoad(string? path, Func<string, string> readAllText)
    {
        if (path is null)
        {
            return (new PipelineConfig(), []);
        }
        if (!File.Exists(path))
        {
            return (null, [$"config file not found: {path}"]);
        }
        string json;
        try
        {
            json = readAllText(path);
        }
        catch (UnauthorizedAccessException)
        {
            return (null, [$"config file cannot be read (permission denied): {path}"]);
        }
        catch (IOException e)
        {
            return (null, [$"config file cannot be read: {path} ({e.Message.Split('\n')[0]})"]);
        }
        return Parse(json, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Parses configuration text. Relative paths inside it are resolved against <paramref name="baseDirectory"/>.</summary>
    public static (PipelineConfig? Config, IReadOnlyList<string> Errors) Parse(string json, string baseDirectory)
    {
        var errors = new List<string>();
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
        }
        catch (JsonException e)
        {
            return (null, [$"not valid JSON (line {e.LineNumber + 1}, position {e.BytePositionInLine + 1})"]);
        }
        if (root is not JsonObject obj)
        {
            return (null, ["the top level must be a JSON object"]);
        }
        // A key given twice in one object: JSON allows it, but which value wins is a guess, so it is an error (and the
        // parsed objects cannot be read until it is fixed, so nothing else is checked).
        var duplicates = DuplicateKeys(json);
        if (duplicates.Count > 0)
        {
            return (null, duplicates);
        }

        // `input` may be one string or a list: normalise to a list before binding.
        foreach (var section in new[] { obj["orders"], obj["events"], (obj["kpis"] as JsonObject)?["ad_spend"], obj["experiments"] })
        {
            if (section is JsonObject s && s["input"] is JsonValue single && single.TryGetValue<string>(out var one))
            {
                s["input"] = new JsonArray(one);
            }
        }

        // Shape errors (unknown keys, wrong JSON types) are collected and their values pruned, so the rest still binds
        // (pruned keys take their defaults) and its value checks are reported in the same list.
        CheckShape(obj, typeof(PipelineConfig), "", errors);
        var shapeErrors = errors.Count;

        PipelineConfig config;
        try
        {
            config = obj.Deserialize<PipelineConfig>(SerializerOptions) ?? new PipelineConfig();
        }
        catch (JsonException e)
        {
            var where = (e.Path ?? "$").TrimStart('$').TrimStart('.');
            errors.Add($"{(where.Length == 0 ? "configuration" : where)}: {e.Message.Split('.')[0]}");
            return (null, errors);
        }
        config = ResolvePaths(config, baseDirectory);
        errors.AddRange(Validate(config));
        if (shapeErrors > 0)
        {
            return (null, errors);
        }
        return (config, errors);
    }

    /// <summary>Semantic checks on a bound configuration (also run after command-line overrides).</summary>
    public static IReadOnlyList<string> Validate(PipelineConfig c)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(c.Output))
        {
            errors.Add("output: must not be empty");
        }
        else if (WritablePaths.DirectoryProblem(c.Output) is { } outputProblem)
        {
            errors.Add($"output: '{Path.GetFullPath(c.Output)}' {outputProblem}");
        }
        if (!string.IsNullOrEmpty(c.Engine.TempDirectory) && WritablePaths.DirectoryProblem(c.Engine.TempDirectory) is { } tempProblem)
        {
            errors.Add($"engine.temp_directory: '{Path.GetFullPath(c.Engine.TempDirectory)}' {tempProblem}");
        }
        if (!CurrencyCode().IsMatch(c.BaseCurrency))
        {
            errors.Add($"base_currency: '{c.BaseCurrency}' is not a 3-letter ISO-4217 code such as USD");
        }
        if (!IsKnownTimeZone(c.SourceTimeZone))
        {
            errors.Add($"source_time_zone: '{c.SourceTimeZone}' is not a known IANA time zone (e.g. UTC, Europe/Paris, Asia/Shanghai)");
        }
        if (c.Now is not null && !DateTimeOffset.TryParse(c.Now, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
        {
            errors.Add($"now: '{c.Now}' is not an ISO-8601 timestamp");
        }
        if (c.Engine.Kind is not ("duckdb" or "spark"))
        {
            errors.Add($"engine.kind: '{c.Engine.Kind}' is not one of duckdb, spark");
        }
        if (!string.IsNullOrWhiteSpace(c.Engine.Remote) && !Engine.Spark.SparkConnectionString.TryParse(c.Engine.Remote, out _))
        {
            // The parser's own message never echoes the token; this one does not quote the value at all.
            try
            {
                Engine.Spark.SparkConnectionString.Parse(c.Engine.Remote);
            }
            catch (Engine.Spark.SparkConnectionStringException e)
            {
                errors.Add($"engine.remote: {e.Message}");
            }
        }
        if (c.Engine.SliceDays is < -1 or > 3660)
        {
            errors.Add("engine.slice_days: must be a number of days (1 to 3660), 0 (automatic, from engine.memory_limit) or -1 (one pass)");
        }
        if (c.Engine.ConnectTimeoutSeconds is < 1 or > MaxConnectTimeoutSeconds)
        {
            errors.Add($"engine.connect_timeout_seconds: must be between 1 and {MaxConnectTimeoutSeconds} (seconds to keep trying a Spark Connect server that does not answer)");
        }
        if (c.Engine.Threads < 0)
        {
            errors.Add("engine.threads: must be 0 (one per core) or positive");
        }
        if (!string.IsNullOrEmpty(c.Engine.MemoryLimit) && !MemorySize().IsMatch(c.Engine.MemoryLimit))
        {
            errors.Add($"engine.memory_limit: '{c.Engine.MemoryLimit}' is not a size such as 4GB or 512MB");
        }
        if (c.Quality.MaxQuarantineShare is < 0 or > 1 || double.IsNaN(c.Quality.MaxQuarantineShare))
        {
            errors.Add("quality.max_quarantine_share: must be between 0 and 1");
        }
        if (c.Quality.FutureToleranceMinutes < 0)
        {
            errors.Add("quality.future_tolerance_minutes: must be 0 or positive");
        }
        if (!DateOnly.TryParseExact(c.Quality.MinValidDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var minValid))
        {
            errors.Add($"quality.min_valid_date: '{c.Quality.MinValidDate}' is not a date YYYY-MM-DD");
        }
        else if (minValid < MinValidDateFloor)
        {
            // The stages reach back from a snapshot date by their windows: a date near year 1 has no days before it.
            errors.Add($"quality.min_valid_date: '{c.Quality.MinValidDate}' must be {MinValidDateFloor:yyyy-MM-dd} or later");
        }
        ValidateOutputApartFromInputs(c, errors);
        ValidateOrders(c.Orders, errors);
        ValidateEvents(c.Events, errors);
        ValidateAnalytics(c.Analytics, errors);
        ValidateKpis(c.Kpis, errors);
        ValidateAlerts(c.Alerts, errors);
        ValidateExperiments(c.Experiments, errors);
        ValidateReport(c.Report, errors);
        return errors;
    }

    /// <summary>
    /// The output folder and the input folders must not contain each other. An output that is an input folder, or lies
    /// where the input lists files, publishes clean/ and quarantine/ among the inputs and the next run reads its own
    /// Parquet back as input; an input folder in the output folder is the pipeline's own territory (the stages read
    /// their tables from there by name, never through an input). Only folders count (a directory input, or the folder
    /// a glob starts from): a single file may sit anywhere, since only that file is read.
    /// </summary>
    private static void ValidateOutputApartFromInputs(PipelineConfig c, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(c.Output))
        {
            return;
        }
        var output = Path.TrimEndingDirectorySeparator(Path.GetFullPath(c.Output));
        foreach (var (section, inputs) in new[]
                 {
                     ("orders", c.Orders.Input), ("events", c.Events.Input), ("experiments", c.Experiments.Input),
                     ("kpis.ad_spend", c.Kpis.AdSpend?.Input ?? []),
                 })
        {
            foreach (var input in inputs.Where(i => !string.IsNullOrWhiteSpace(i)))
            {
                if (Inputs.InputResolver.ListedFolder(input) is not { } folder)
                {
                    continue;
                }
                if (PathsEqual(output, folder))
                {
                    errors.Add($"output: '{output}' is the {section} input folder '{folder}': "
                               + "the next run would read its own tables as input; choose an output folder outside every input folder");
                }
                else if (Inputs.InputResolver.CouldList(input, output))
                {
                    errors.Add($"output: '{output}' is inside the {section} input folder '{folder}' and '{input}' lists files there: "
                               + "the next run would read its own tables as input; choose an output folder outside every input folder");
                }
                else if (IsInside(folder, output))
                {
                    errors.Add($"{section}.input: '{folder}' is inside the output folder '{output}', which holds the pipeline's own tables; keep inputs outside it");
                }
            }
        }

        static StringComparison Comparison() => OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        static bool PathsEqual(string a, string b) => a.Equals(b, Comparison());
        static bool IsInside(string path, string folder) =>
            path.StartsWith(folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar, Comparison());
    }

    /// <summary>The format and CSV dialect every file input (orders, events, ad spend) shares.</summary>
    private static void ValidateFileFormat(string section, string format, CsvConfig csv, List<string> errors)
    {
        if (format is not ("auto" or "csv" or "jsonl" or "parquet"))
        {
            errors.Add($"{section}.format: '{format}' is not one of auto, csv, jsonl, parquet");
        }
        if (csv.Delimiter != "auto" && (csv.Delimiter.Length != 1 || csv.Delimiter is "\"" or "\n" or "\r"))
        {
            errors.Add($"{section}.csv.delimiter: '{csv.Delimiter}' must be 'auto' or a single character other than a quote or newline");
        }
        if (csv.Quote.Length != 1)
        {
            errors.Add($"{section}.csv.quote: must be a single character");
        }
    }

    private static void ValidateOrders(OrdersConfig o, List<string> errors)
    {
        ValidateFileFormat("orders", o.Format, o.Csv, errors);
        if (o.Grain is not ("auto" or "order" or "line"))
        {
            errors.Add($"orders.grain: '{o.Grain}' is not one of auto, order, line");
        }
        ValidateMapping("orders.columns", o.Columns, CanonicalColumns.Orders, errors);
        foreach (var (from, to) in o.StatusMap)
        {
            if (!OrderStatuses.Canonical.Contains(to))
            {
                errors.Add($"orders.status_map.{from}: '{to}' is not one of {string.Join(", ", OrderStatuses.Canonical)}");
            }
            if (from.Length == 0 || from.Length > 200)
            {
                errors.Add("orders.status_map: source values must be 1 to 200 characters");
            }
        }
        if (o.TimestampFormat is { } tf && (tf.Length == 0 || !tf.Contains('%', StringComparison.Ordinal) || tf.Contains('\'', StringComparison.Ordinal)))
        {
            errors.Add($"orders.timestamp_format: '{tf}' must be a strptime format such as %Y%m%d (no quotes)");
        }
        if (o.Fx is { } fx)
        {
            if (string.IsNullOrWhiteSpace(fx.Input))
            {
                errors.Add("orders.fx.input: give the FX file's path, or remove the fx section");
            }
            ValidateMapping("orders.fx.columns", fx.Columns, CanonicalColumns.Fx, errors);
        }
    }

    private static void ValidateAnalytics(AnalyticsConfig a, List<string> errors)
    {
        if (a.AsOf is not null && !DateOnly.TryParseExact(a.AsOf, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            errors.Add($"analytics.as_of: '{a.AsOf}' is not a date YYYY-MM-DD");
        }
        if (a.TimeUnit is not ("day" or "week")) errors.Add($"analytics.time_unit: '{a.TimeUnit}' is not one of day, week");
        if (a.BehaviourWindowDays <= 0) errors.Add("analytics.behaviour_window_days: must be positive");
        if (a.Rfm.Monetary is not ("total" or "mean")) errors.Add($"analytics.rfm.monetary: '{a.Rfm.Monetary}' is not one of total, mean");
        foreach (var (name, cuts) in new[] { ("recency", a.Rfm.RecencyCutPoints), ("frequency", a.Rfm.FrequencyCutPoints), ("monetary", a.Rfm.MonetaryCutPoints) })
        {
            if (cuts is not null && (cuts.Count != 4 || cuts.Zip(cuts.Skip(1)).Any(p => p.Second < p.First)))
            {
                errors.Add($"analytics.rfm.{name}_cut_points: give 4 ascending values");
            }
        }
        var s = a.Segments;
        if (s.K is { } k && k < 2) errors.Add("analytics.segments.k: must be at least 2");
        if (s.KMin < 2 || s.KMax < s.KMin) errors.Add("analytics.segments.k_min/k_max: need 2 <= k_min <= k_max");
        if (s.Criterion is not ("silhouette" or "davies_bouldin")) errors.Add($"analytics.segments.criterion: '{s.Criterion}' is not one of silhouette, davies_bouldin");
        if (s.Features.Count == 0) errors.Add("analytics.segments.features: give at least one feature");
        foreach (var f in s.LogFeatures.Where(f => !s.Features.Contains(f)))
        {
            errors.Add($"analytics.segments.log_features: '{f}' is not in analytics.segments.features");
        }
        foreach (var f in s.Features.Where(f => !FeatureColumns.Numeric.Contains(f)))
        {
            errors.Add($"analytics.segments.features: '{f}' is not a numeric column of customers/features ({string.Join(", ", FeatureColumns.Numeric)})");
        }
        if (s.SampleSize < 100) errors.Add("analytics.segments.sample_size: must be at least 100");
        if (s.Restarts < 1) errors.Add("analytics.segments.restarts: must be at least 1");
        if (s.Engine is not ("parallel" or "mlnet")) errors.Add($"analytics.segments.engine: '{s.Engine}' is not one of parallel, mlnet");
        if (s.KSelectionSample < 1000) errors.Add("analytics.segments.k_selection_sample: must be at least 1000");
        if (a.Ltv.HorizonsDays.Count == 0 || a.Ltv.HorizonsDays.Any(h => h <= 0)) errors.Add("analytics.ltv.horizons_days: give positive numbers of days");
        if (a.Ltv.DiscountRatePerPeriod is < 0 or >= 1) errors.Add("analytics.ltv.discount_rate_per_period: must be in [0, 1)");
        if (a.Ltv.HoldoutDays <= 0) errors.Add("analytics.ltv.holdout_days: must be positive");
        if (a.Ltv.Penalizer < 0) errors.Add("analytics.ltv.penalizer: must be 0 or positive");
    }

    private static void ValidateKpis(KpisConfig k, List<string> errors)
    {
        if (k.RepeatWindowDays <= 0) errors.Add("kpis.repeat_window_days: must be positive");
        if (k.RepeatCohortDays <= 0) errors.Add("kpis.repeat_cohort_days: must be positive");
        if (k.AttributionLookbackDays <= 0) errors.Add("kpis.attribution_lookback_days: must be positive");
        if (k.AdSpend is not { } a)
        {
            return;
        }
        if (a.Input.Count == 0 || a.Input.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add("kpis.ad_spend.input: give the ad spend file, directory or glob, or remove the ad_spend section");
        }
        ValidateFileFormat("kpis.ad_spend", a.Format, a.Csv, errors);
        ValidateMapping("kpis.ad_spend.columns", a.Columns, CanonicalColumns.AdSpend, errors);
    }

    private static void ValidateAlerts(AlertsConfig a, List<string> errors)
    {
        if (!(a.Sensitivity > 0) || a.Sensitivity > 100) errors.Add("alerts.sensitivity: must be a positive number of standard deviations (at most 100)");
        if (!(a.CriticalSensitivity >= a.Sensitivity) || a.CriticalSensitivity > 100) errors.Add("alerts.critical_sensitivity: must be at least alerts.sensitivity (and at most 100)");
        if (a.WindowDays % 7 != 0 || a.WindowDays is < 42 or > 364) errors.Add("alerts.window_days: must be a multiple of 7 between 42 and 364");
        if (!(a.MinDenominator >= 0)) errors.Add("alerts.min_denominator: must be 0 or positive");
        if (!(a.MinVolume >= 0)) errors.Add("alerts.min_volume: must be 0 or positive");
        if (a.FailOn is not ("none" or "warning" or "critical")) errors.Add($"alerts.fail_on: '{a.FailOn}' is not one of none, warning, critical");
        if (a.Metrics is { } m && string.IsNullOrWhiteSpace(m)) errors.Add("alerts.metrics: give the metrics file, or leave it out");
        foreach (var (key, name) in a.Calendar)
        {
            if (ConfigValues.CalendarDays(key) is null)
            {
                errors.Add($"alerts.calendar.{key}: not a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD (at most 366 days, first ≤ last)");
            }
            if (string.IsNullOrWhiteSpace(name) || name.Length > 100 || name.Any(char.IsControl)) errors.Add($"alerts.calendar.{key}: the event's name must be 1 to 100 characters");
        }
    }

    private static void ValidateExperiments(ExperimentsConfig x, List<string> errors)
    {
        if (x.Input.Any(string.IsNullOrWhiteSpace)) errors.Add("experiments.input: paths must not be empty");
        ValidateFileFormat("experiments", x.Format, x.Csv, errors);
        ValidateMapping("experiments.columns", x.Columns, CanonicalColumns.Assignments, errors);
        if (x.AttributionDays is < 0 or > 365) errors.Add("experiments.attribution_days: must be between 0 and 365");
        if (!(x.SrmThreshold > 0 && x.SrmThreshold < 1)) errors.Add("experiments.srm_threshold: must be strictly between 0 and 1");
        if (!(x.Alpha > 0 && x.Alpha < 0.5)) errors.Add("experiments.alpha: must be strictly between 0 and 0.5 (0.05 = 95% intervals)");
        if (!(x.Power > 0 && x.Power < 1)) errors.Add("experiments.power: must be strictly between 0 and 1");
        if (!(x.TargetMde > 0 && double.IsFinite(x.TargetMde))) errors.Add("experiments.target_mde: must be a positive relative uplift (0.05 = 5%)");
        if (x.CupedLookbackDays is < 1 or > 3660) errors.Add("experiments.cuped_lookback_days: must be between 1 and 3660");
        foreach (var (id, d) in x.Definitions)
        {
            if (id.Length is 0 or > 200) errors.Add("experiments.definitions: experiment ids must be 1 to 200 characters");
            if (d is null) { errors.Add($"experiments.definitions.{id}: must be an object"); continue; }
            DateOnly? start = null, end = null;
            foreach (var (name, value) in new[] { ("start", d.Start), ("end", d.End) })
            {
                if (value is null) continue;
                if (!DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                {
                    errors.Add($"experiments.definitions.{id}.{name}: '{value}' is not a date YYYY-MM-DD");
                }
                else if (name == "start") start = day;
                else end = day;
            }
            if (start > end) errors.Add($"experiments.definitions.{id}: start is after end");
            if (d.Weights is { } w)
            {
                if (w.Count < 2 || w.Values.Any(v => !(v > 0 && double.IsFinite(v)))) errors.Add($"experiments.definitions.{id}.weights: give a positive weight for each of at least two variants");
                if (d.Control is { } c && !w.ContainsKey(c)) errors.Add($"experiments.definitions.{id}.control: '{c}' has no weight in weights");
            }
        }
    }

    private static void ValidateReport(ReportConfig r, List<string> errors)
    {
        if (r.Title.Length > 200 || r.Title.Any(char.IsControl)) errors.Add("report.title: must be at most 200 characters, without control characters");
        if (r.WindowDays is < 1 or > 366) errors.Add("report.window_days: must be between 1 and 366");
        if (r.RollingDays is < 1 or > 366) errors.Add("report.rolling_days: must be between 1 and 366");
        if (r.RecentRuns is < 1 or > 1000) errors.Add("report.recent_runs: must be between 1 and 1000");
        var t = r.Targets;
        foreach (var (name, target, baseline) in new[]
                 {
                     ("conversion_rate", t.ConversionRate, t.ConversionRateBaseline),
                     ("repeat_purchase_rate", t.RepeatPurchaseRate, t.RepeatPurchaseRateBaseline),
                     ("natural_traffic_share", t.NaturalTrafficShare, t.NaturalTrafficShareBaseline),
                 })
        {
            if (!IsShare(target) || !IsShare(baseline) || target <= baseline)
            {
                errors.Add($"report.targets.{name}: it and {name}_baseline must be shares between 0 and 1, the target above the baseline");
            }
        }
        if (!IsShare(t.Acos) || t.Acos == 0) errors.Add("report.targets.acos: must be a share above 0 and at most 1");
        if (!IsShare(t.AcquisitionCostReduction) || t.AcquisitionCostReduction is 0 or 1)
        {
            errors.Add("report.targets.acquisition_cost_reduction: must be a share strictly between 0 and 1 (0.3 = 30% lower)");
        }
        if (t.AcquisitionCostBaseline is { } b && !(b > 0 && double.IsFinite(b)))
        {
            errors.Add("report.targets.acquisition_cost_baseline: must be a positive amount (or leave it out)");
        }

        static bool IsShare(double x) => x is >= 0 and <= 1;
    }

    private static void ValidateEvents(EventsConfig e, List<string> errors)
    {
        ValidateFileFormat("events", e.Format, e.Csv, errors);
        ValidateMapping("events.columns", e.Columns, CanonicalColumns.Events, errors);
        foreach (var (from, to) in e.EventTypeMap)
        {
            if (!CanonicalColumns.EventTypes.Contains(to))
            {
                errors.Add($"events.event_type_map.{from}: '{to}' is not one of {string.Join(", ", CanonicalColumns.EventTypes)}");
            }
        }
        if (e.SessionTimeoutMinutes <= 0) errors.Add("events.session_timeout_minutes: must be positive");
        if (e.MaxSessionHours <= 0) errors.Add("events.max_session_hours: must be positive");
        if (e.LookbackDays < 1) errors.Add("events.lookback_days: must be at least 1 (the last published day is always re-processed)");
        if (e.HeartbeatSeconds <= 0) errors.Add("events.heartbeat_seconds: must be positive");
        if (e.MinVisitSeconds < 0) errors.Add("events.min_visit_seconds: must be 0 or positive");
        if (e.MaxEngagedGapMinutes <= 0) errors.Add("events.max_engaged_gap_minutes: must be positive");
        if (e.MaxEventsPerMinute <= 0) errors.Add("events.max_events_per_minute: must be positive");
        if (e.Ip is not ("drop" or "network_key")) errors.Add($"events.ip: '{e.Ip}' is not one of drop, network_key");
        if (e.TimestampFormat is { } tf && (tf.Length == 0 || !tf.Contains('%', StringComparison.Ordinal) || tf.Contains('\'', StringComparison.Ordinal)))
        {
            errors.Add($"events.timestamp_format: '{tf}' must be a strptime format such as %Y%m%d%H%M%S (no quotes)");
        }
        foreach (var p in e.KeepQueryParams)
        {
            if (!QueryParam().IsMatch(p)) errors.Add($"events.keep_query_params: '{p}' is not a plain parameter name");
        }
        foreach (var h in e.SiteHosts)
        {
            if (!HostName().IsMatch(h)) errors.Add($"events.site_hosts: '{h}' is not a host name");
        }
        foreach (var ua in e.BotUserAgents)
        {
            if (ua.Length == 0 || ua.Any(char.IsControl)) errors.Add("events.bot_user_agents: entries must be non-empty text");
        }
    }

    /// <summary>
    /// Column mappings end up as quoted identifiers in SQL. The quoting doubles quote characters, but we also refuse
    /// the characters no sane column name needs, so a config file can never smuggle SQL into a stage.
    /// </summary>
    internal static void ValidateMapping(string where, IReadOnlyDictionary<string, string> map, IReadOnlyList<string> canonical, List<string> errors)
    {
        foreach (var (key, source) in map)
        {
            if (!canonical.Contains(key))
            {
                errors.Add($"{where}.{key}: unknown canonical column (known: {string.Join(", ", canonical)})");
            }
            if (!IsSafeIdentifier(source))
            {
                errors.Add($"{where}.{key}: source column name '{Printable(source)}' is not allowed: use 1-128 characters without quotes, backticks, semicolons or control characters");
            }
        }
    }

    /// <summary>True for a source column name we are willing to put, quoted, into SQL.</summary>
    public static bool IsSafeIdentifier(string name) =>
        name.Length is > 0 and <= 128 && name.Trim().Length > 0 && !name.Any(ch => char.IsControl(ch) || ch is '"' or '`' or ';' or '\\');

    internal static bool IsKnownTimeZone(string id)
    {
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            return false;
        }
    }

    private static string Printable(string s) => new(s.Select(ch => char.IsControl(ch) ? '?' : ch).ToArray());

    private static PipelineConfig ResolvePaths(PipelineConfig c, string baseDirectory)
    {
        string Abs(string p) => Path.IsPathRooted(p) ? p : Path.GetFullPath(Path.Combine(baseDirectory, p));
        return c with
        {
            Output = Abs(c.Output),
            Privacy = c.Privacy.KeyFile is null ? c.Privacy : c.Privacy with { KeyFile = Abs(c.Privacy.KeyFile) },
            Engine = string.IsNullOrEmpty(c.Engine.TempDirectory) ? c.Engine : c.Engine with { TempDirectory = Abs(c.Engine.TempDirectory) },
            Events = c.Events with
            {
                Input = c.Events.Input.Select(Abs).ToList(),
                BotUserAgentsFile = c.Events.BotUserAgentsFile is null ? null : Abs(c.Events.BotUserAgentsFile),
                SearchEnginesFile = c.Events.SearchEnginesFile is null ? null : Abs(c.Events.SearchEnginesFile),
                SocialNetworksFile = c.Events.SocialNetworksFile is null ? null : Abs(c.Events.SocialNetworksFile),
            },
            Alerts = c.Alerts.Metrics is null ? c.Alerts : c.Alerts with { Metrics = Abs(c.Alerts.Metrics) },
            Experiments = c.Experiments with { Input = c.Experiments.Input.Select(Abs).ToList() },
            Kpis = c.Kpis.AdSpend is null ? c.Kpis : c.Kpis with { AdSpend = c.Kpis.AdSpend with { Input = c.Kpis.AdSpend.Input.Select(Abs).ToList() } },
            Orders = c.Orders with
            {
                Input = c.Orders.Input.Select(Abs).ToList(),
                Fx = c.Orders.Fx is null ? null : c.Orders.Fx with { Input = Abs(c.Orders.Fx.Input) },
            },
        };
    }

    /// <summary>Every key that appears more than once in the same object, with its full key path.</summary>
    private static List<string> DuplicateKeys(string json)
    {
        var errors = new List<string>();
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        Walk(doc.RootElement, "");
        return errors;

        void Walk(JsonElement e, string prefix)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    Walk(item, $"{prefix}[{i++}]");
                }
                return;
            }
            if (e.ValueKind != JsonValueKind.Object)
            {
                return;
            }
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                seen[p.Name] = seen.GetValueOrDefault(p.Name) + 1;
                Walk(p.Value, prefix.Length == 0 ? p.Name : $"{prefix}.{p.Name}");
            }
            foreach (var (key, count) in seen.Where(kv => kv.Value > 1))
            {
                errors.Add($"{(prefix.Length == 0 ? key : $"{prefix}.{key}")}: appears {(count == 2 ? "twice" : $"{count} times")} in the same object; keep one");
            }
        }
    }

    /// <summary>Walks the JSON against the record types: unknown keys and wrong value kinds, each with its full key path.</summary>
    private static void CheckShape(JsonObject obj, Type type, string prefix, List<string> errors)
    {
        var props = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .ToDictionary(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name), StringComparer.Ordinal);
        var nullability = new NullabilityInfoContext();
        var pruned = new List<string>();
        foreach (var (key, value) in obj)
        {
            var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if (!props.TryGetValue(key, out var prop))
            {
                var near = props.Keys.OrderBy(k => Distance(k, key)).First();
                errors.Add($"{path}: unknown key (did you mean '{near}'?)");
                pruned.Add(key);
                continue;
            }
            var before = errors.Count;
            var declared = nullability.Create(prop);
            if (value is null && declared.ReadState != NullabilityState.Nullable)
            {
                // A null where the record has no "absent" value would bind null into a setting every stage relies on.
                errors.Add($"{path}: must not be null (leave the key out to use the default)");
                pruned.Add(key);
                continue;
            }
            CheckValue(value, prop.PropertyType, path, errors, declared);
            // A section (an object bound to a record) prunes its own bad keys; any other bad value goes whole.
            var underlying = Nullable.GetUnderlyingType(prop.PropertyType) ?? prop.PropertyType;
            var section = value is JsonObject && underlying.IsClass && underlying != typeof(string);
            if (errors.Count > before && !section)
            {
                pruned.Add(key);
            }
        }
        foreach (var key in pruned)
        {
            obj.Remove(key);
        }
    }

    /// <param name="declared">The value's declared nullability (a property's or a map value's); null when unknown.</param>
    private static void CheckValue(JsonNode? value, Type t, string path, List<string> errors, NullabilityInfo? declared)
    {
        var underlying = Nullable.GetUnderlyingType(t) ?? t;
        if (value is null)
        {
            if (declared is null ? t.IsValueType && Nullable.GetUnderlyingType(t) is null : declared.ReadState != NullabilityState.Nullable)
            {
                errors.Add($"{path}: must not be null");
            }
            return;
        }
        if (underlying == typeof(string))
        {
            Expect(value is JsonValue v && v.GetValueKind() == JsonValueKind.String, "a string");
        }
        else if (underlying == typeof(int))
        {
            Expect(value is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out _), "an integer");
        }
        else if (underlying == typeof(double))
        {
            Expect(value is JsonValue v && v.GetValueKind() == JsonValueKind.Number, "a number");
        }
        else if (underlying == typeof(bool))
        {
            Expect(value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False, "true or false");
        }
        else if (underlying == typeof(IReadOnlyList<string>))
        {
            if (Expect(value is JsonArray, "a string or a list of strings"))
            {
                foreach (var item in value.AsArray())
                {
                    Expect(item is JsonValue iv && iv.GetValueKind() == JsonValueKind.String, "a string or a list of strings");
                }
            }
        }
        else if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            // A list of numbers (analytics.ltv.horizons_days, the RFM cut points): each item is checked like a value.
            if (Expect(value is JsonArray, "a list"))
            {
                var i = 0;
                foreach (var item in value.AsArray())
                {
                    CheckValue(item, underlying.GetGenericArguments()[0], $"{path}[{i++}]", errors, null);
                }
            }
        }
        else if (underlying == typeof(IReadOnlyDictionary<string, string>))
        {
            if (Expect(value is JsonObject, "an object of \"name\": \"value\" pairs"))
            {
                foreach (var (k, item) in value.AsObject())
                {
                    if (item is not JsonValue iv || iv.GetValueKind() != JsonValueKind.String)
                    {
                        errors.Add($"{path}.{k}: must be a string");
                    }
                }
            }
        }
        else if (underlying.IsGenericType && underlying.GetGenericTypeDefinition() == typeof(IReadOnlyDictionary<,>)
                 && underlying.GetGenericArguments()[0] == typeof(string))
        {
            // A map of names to numbers or sections (experiments.definitions, its weights).
            if (Expect(value is JsonObject, "an object"))
            {
                var itemNullability = declared?.GenericTypeArguments is [_, var v] ? v : null;
                foreach (var (k, item) in value.AsObject())
                {
                    CheckValue(item, underlying.GetGenericArguments()[1], $"{path}.{k}", errors, itemNullability);
                }
            }
        }
        else if (underlying.IsClass)
        {
            if (Expect(value is JsonObject, "an object"))
            {
                CheckShape(value.AsObject(), underlying, path, errors);
            }
        }

        bool Expect(bool ok, string what)
        {
            if (!ok)
            {
                errors.Add($"{path}: must be {what}");
            }
            return ok;
        }
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
        }
        return d[a.Length, b.Length];
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex QueryParam();

    [GeneratedRegex("^[A-Za-z0-9.-]{1,253}$")]
    private static partial Regex HostName();

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();

    [GeneratedRegex("^[0-9]+(\\.[0-9]+)?\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", RegexOptions.IgnoreCase)]
    private static partial Regex MemorySize();
}

/// <summary>The canonical order statuses and the synonyms sources commonly use for them.</summary>
public static class OrderStatuses
{
    public static readonly IReadOnlyList<string> Canonical = ["completed", "cancelled", "refunded", "partially_refunded", "returned"];

    /// <summary>Built-in synonyms (lower-case source value → canonical). The config's status_map adds to these.</summary>
    public static readonly IReadOnlyDictionary<string, string> Synonyms = new Dictionary<string, string>
    {
        ["completed"] = "completed", ["complete"] = "completed", ["paid"] = "completed", ["fulfilled"] = "completed",
        ["delivered"] = "completed", ["shipped"] = "completed",
        ["cancelled"] = "cancelled", ["canceled"] = "cancelled", ["voided"] = "cancelled",
        ["refunded"] = "refunded",
        ["partially_refunded"] = "partially_refunded", ["partially refunded"] = "partially_refunded",
        ["returned"] = "returned",
    };
}
