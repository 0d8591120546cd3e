using System.CommandLine;
using Pipeline.Config;
using Pipeline.Core;
using Pipeline.Engine;
using Pipeline.Nightly;
using Pipeline.Runs;
using Pipeline.Stages;

namespace Pipeline.Cli;

/// <summary>
/// The <c>pipeline</c> command line: verbs, their options, and the one place where failures become exit codes and
/// one readable line. Precedence of settings: built-in defaults &lt; config file &lt; command-line flags &lt; environment
/// variables (secrets only).
/// </summary>
public static class CliApp
{
    private static readonly Option<string?> ConfigOption = new("--config", "-c")
    {
        Description = "Configuration file (JSON). Without it every setting has its documented default.",
        Recursive = true,
    };

    private static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "More detail, and a stack trace on unexpected failures.",
        Recursive = true,
    };

    private static readonly Option<bool> QuietOption = new("--quiet", "-q")
    {
        Description = "Only warnings and errors.",
        Recursive = true,
    };

    private static readonly Option<string?> EngineOption = EngineKindOption();

    private static readonly Option<string?> RemoteOption = new("--remote")
    {
        Description = "Spark Connect connection string sc://host:15002/;token=... (engine.remote; default $SPARK_REMOTE). Prefer SPARK_REMOTE for tokens.",
    };

    private static Option<string?> EngineKindOption()
    {
        var option = new Option<string?>("--engine") { Description = "duckdb (embedded, default) | spark (Spark Connect) (engine.kind)." };
        option.AcceptOnlyFromAmong("duckdb", "spark");
        return option;
    }

    /// <summary>
    /// --engine and --remote belong to the commands that run an engine (run, the stage verbs, export): not recursive on
    /// the root, so generate, validate-config and query neither offer nor accept them.
    /// </summary>
    private static void AddEngineOptions(Command command)
    {
        command.Options.Add(EngineOption);
        command.Options.Add(RemoteOption);
    }

    /// <summary>--engine and --remote over the configuration (and over SPARK_REMOTE, applied by the loader).</summary>
    private static PipelineConfig ApplyEngineOptions(ParseResult pr, PipelineConfig config) => config with
    {
        Engine = config.Engine with
        {
            Kind = pr.GetValue(EngineOption) ?? config.Engine.Kind,
            Remote = pr.GetValue(RemoteOption) ?? config.Engine.Remote,
        },
    };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = BuildRoot(stdout, stderr);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            stderr.WriteLine($"error: {OneLine(parse.Errors[0].Message)} (see '{string.Join(' ', ["pipeline", .. CommandPath(parse), "--help"])}')");
            return ExitCodes.UsageOrConfig;
        }
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    /// <summary>
    /// A parser message on one line: System.CommandLine lists the accepted values of an option on tab-indented lines
    /// ("Must be one of:\n\t'duckdb'\n\t'spark'"), which become "Must be one of: 'duckdb', 'spark'".
    /// </summary>
    internal static string OneLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length <= 1 ? message.Trim() : lines[0] + " " + string.Join(", ", lines[1..]);
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null && r.Command is not RootCommand; r = r.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Insert(0, r.Command.Name);
        }
        return names;
    }

    private static RootCommand BuildRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Batch analytics pipeline: clean raw orders and clickstream into Parquet, then build customer features, RFM and k-means segments, and LTV.");
        root.Options.Add(ConfigOption);
        root.Options.Add(VerboseOption);
        root.Options.Add(QuietOption);
        root.Subcommands.Add(RunCommand(stdout, stderr));
        // One verb per registered stage, in dependency order, with the options of its kind.
        foreach (var stage in StageRegistry.All)
        {
            root.Subcommands.Add(StageCommand(stage, stdout, stderr));
        }
        root.Subcommands.Add(ExportCommand(stdout, stderr));
        root.Subcommands.Add(QueryCommand(stdout, stderr));
        root.Subcommands.Add(GenerateCommand(stdout, stderr));
        root.Subcommands.Add(ValidateConfigCommand(stdout, stderr));
        return root;
    }

    // ---- run ----------------------------------------------------------------------------------------------------

    private static Command RunCommand(TextWriter stdout, TextWriter stderr)
    {
        var output = OutputOption();
        var date = new Option<string?>("--date") { Description = "Snapshot date YYYY-MM-DD (as_of) of the customer stages (default: analytics.as_of, else the last order date)." };
        var from = new Option<string?>("--from") { Description = "First snapshot date of a backfill, YYYY-MM-DD (with --to): one snapshot per day." };
        var to = new Option<string?>("--to") { Description = "Last snapshot date of a backfill, YYYY-MM-DD, inclusive." };
        var full = new Option<bool>("--full-refresh") { Description = "Run every selected stage even when its inputs are unchanged." };
        var only = new Option<string[]>("--only") { Description = $"Run only these stages (comma-separated or repeated): {string.Join(", ", StageRegistry.Names)}.", AllowMultipleArgumentsPerToken = true };
        var skip = new Option<string[]>("--skip") { Description = "Do not run these stages.", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("run", "Run every stage in dependency order, skipping those whose inputs did not change since their last run; stops at the first failure with its exit code.")
        {
            output, date, from, to, full, only, skip,
        };
        AddEngineOptions(cmd);
        cmd.SetAction(pr =>
        {
            var verbose = pr.GetValue(VerboseOption);
            var quiet = pr.GetValue(QuietOption);
            var interactive = !Console.IsOutputRedirected && !Console.IsErrorRedirected && !quiet && !verbose
                && ReferenceEquals(stdout, Console.Out);
            // On a terminal the progress bars replace the per-stage log lines; warnings still show.
            var log = interactive ? new Log(stderr, json: false, quiet: true, verbose: false) : Log.ForConsole(quiet, verbose);
            try
            {
                var config = LoadConfig(pr, c => c with { Output = pr.GetValue(output) is { } o ? Path.GetFullPath(o) : c.Output });
                var options = new Nightly.NightlyOptions
                {
                    Dates = SnapshotDates(pr.GetValue(date), pr.GetValue(from), pr.GetValue(to), config),
                    FullRefresh = pr.GetValue(full),
                    Only = StageSet(pr.GetValue(only)),
                    Skip = StageSet(pr.GetValue(skip)),
                };
                int exit;
                Nightly.NightlyRun nightly;
                if (interactive)
                {
                    Nightly.NightlyRun? started = null;
                    exit = Nightly.TerminalProgress.Show(Spectre.Console.AnsiConsole.Console, view =>
                    {
                        started = new Nightly.NightlyRun(config, options, log, view);
                        return started.Execute();
                    });
                    nightly = started!;
                    Nightly.TerminalProgress.Summary(Spectre.Console.AnsiConsole.Console, nightly.Steps);
                }
                else
                {
                    nightly = new Nightly.NightlyRun(config, options, log, new Nightly.LogProgress(log));
                    exit = nightly.Execute();
                }
                var failed = nightly.Steps.FirstOrDefault(s => s.Status == "failed");
                if (failed is not null)
                {
                    stderr.WriteLine($"error: {failed.Stage}{(failed.Date is null ? "" : " " + failed.Date)}: {failed.Reason}");
                }
                else if (nightly.Notice is { } notice)
                {
                    stderr.WriteLine($"error: {notice.Message}");
                }
                var ran = nightly.Steps.Count(s => s.Status == "succeeded");
                var skipped = nightly.Steps.Count(s => s.Status == "skipped");
                var manifest = new Publishing.OutputStore(config.Output).ManifestPath(nightly.RunId);
                if (log.Json)
                {
                    // Under cron everything the run prints is one JSON object per line, the summary included: the
                    // log's own line format, on stdout.
                    stdout.WriteLine(log.JsonLine(exit == ExitCodes.Success ? "info" : "error", $"finished with exit code {exit}: {ran} stage(s) ran, {skipped} skipped",
                        "run", new { exit_code = exit, ran, skipped, output = config.Output, manifest }));
                    return exit;
                }
                stdout.WriteLine($"{"stages:",-22}{ran} ran, {skipped} up to date or skipped{(failed is null ? "" : ", 1 failed")}");
                stdout.WriteLine($"{"output:",-22}{config.Output}");
                stdout.WriteLine($"{"run manifest:",-22}{manifest}");
                return exit;
            }
            catch (Exception e)
            {
                var (code, message) = Failures.Classify(e);
                return Fail(stderr, verbose, code, message, e);
            }
        });
        return cmd;
    }

    private static HashSet<string> StageSet(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// The snapshot dates of --date or --from/--to: none before quality.min_valid_date (no order counts before it, and the
    /// stages' windows reach back from the date) and none after the run's now (a snapshot of a day to come would be
    /// the latest one for every reader).
    /// </summary>
    private static List<DateOnly> SnapshotDates(string? date, string? from, string? to, PipelineConfig config)
    {
        var first = ConfigValues.Quality(config).MinValidDate;
        var now = JobRun.ReferenceNow(config);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        DateOnly Parse(string value, string flag)
        {
            if (!DateOnly.TryParseExact(value, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var d))
            {
                throw PipelineException.Config($"{flag}: '{value}' is not a date YYYY-MM-DD");
            }
            if (d < first)
            {
                throw PipelineException.Config($"{flag} {value} is before quality.min_valid_date ({first:yyyy-MM-dd}): no order counts on it");
            }
            if (d > today)
            {
                throw PipelineException.Config($"{flag} {value} is after now ({now.UtcDateTime:yyyy-MM-dd HH:mm} UTC): "
                                               + $"a snapshot of a day to come would become the latest one everywhere; give a date on or before {today:yyyy-MM-dd}");
            }
            return d;
        }
        if (date is not null)
        {
            if (from is not null || to is not null)
            {
                throw PipelineException.Config("give either --date or --from/--to, not both");
            }
            return [Parse(date, "--date")];
        }
        if (from is null && to is null)
        {
            return [];
        }
        if (from is null || to is null)
        {
            throw PipelineException.Config("--from and --to go together");
        }
        var (start, end) = (Parse(from, "--from"), Parse(to, "--to"));
        if (end < start)
        {
            throw PipelineException.Config($"--to {to} is before --from {from}");
        }
        if (end.DayNumber - start.DayNumber > 366)
        {
            throw PipelineException.Config("a backfill covers at most 367 snapshot dates; split it");
        }
        return Enumerable.Range(0, end.DayNumber - start.DayNumber + 1).Select(start.AddDays).ToList();
    }

    // ---- one verb per stage ---------------------------------------------------------------------------------------

    /// <summary>
    /// The verb of a registered stage. Its options follow from the stage's kind: a cleaning stage takes its input
    /// files, format, source zone and now; a snapshot stage its date and time unit; every stage its output directory,
    /// and those that read upstream tables an input directory. A few stages have one flag of their own (below).
    /// </summary>
    private static Command StageCommand(Stage stage, TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command(stage.Name, stage.Description);
        var output = OutputOption();
        cmd.Options.Add(output);
        AddEngineOptions(cmd);
        Func<ParseResult, PipelineConfig, PipelineConfig> overrides;
        Option<string?>? inputRoot = null;
        if (stage.Kind == StageKind.Cleaning)
        {
            var primary = stage.Inputs(new PipelineConfig())[0].What;
            var options = CleaningOptions.Create(primary == "orders" ? "Order files" : "Event files", primary);
            options.AddTo(cmd);
            var grain = GrainOption(stage);
            overrides = (pr, config) =>
            {
                var inputs = pr.GetValue(options.Input);
                var c = config with
                {
                    SourceTimeZone = pr.GetValue(options.TimeZone) ?? config.SourceTimeZone,
                    Now = pr.GetValue(options.Now) ?? config.Now,
                };
                c = stage.WithInput(c, inputs is { Length: > 0 } ? inputs.Select(Path.GetFullPath).ToList() : null, pr.GetValue(options.Format));
                return grain is not null && pr.GetValue(grain) is { } g ? c with { Orders = c.Orders with { Grain = g } } : c;
            };
            if (grain is not null)
            {
                cmd.Options.Add(grain);
            }
        }
        else
        {
            inputRoot = new Option<string?>("--input", "-i")
            {
                Description = (stage.Reads.Count <= 4 ? $"Directory holding {string.Join(", ", stage.Reads)}" : "Directory holding the published tables it reads")
                    + " (default: the output directory).",
            };
            cmd.Options.Add(inputRoot);
            var asOf = stage.UsesAsOf ? new Option<string?>("--as-of") { Description = "Snapshot date YYYY-MM-DD, inclusive (default: the date of the last order)." } : null;
            var unit = stage.Kind == StageKind.Snapshot ? new Option<string?>("--time-unit") { Description = "day | week (analytics.time_unit)." } : null;
            unit?.AcceptOnlyFromAmong("day", "week");
            foreach (var o in new[] { asOf, unit })
            {
                if (o is not null)
                {
                    cmd.Options.Add(o);
                }
            }
            var metrics = MetricsOption(stage);
            if (metrics is not null)
            {
                cmd.Options.Add(metrics);
            }
            overrides = (pr, config) => stage.WithInput(config with
            {
                Analytics = config.Analytics with
                {
                    AsOf = (asOf is null ? null : pr.GetValue(asOf)) ?? config.Analytics.AsOf,
                    TimeUnit = (unit is null ? null : pr.GetValue(unit)) ?? config.Analytics.TimeUnit,
                },
            }, metrics is not null && pr.GetValue(metrics) is { } m ? [Path.GetFullPath(m)] : null, null);
        }
        cmd.SetAction(pr => ExecuteStage(pr, stdout, stderr, stage, config => overrides(pr, config with
        {
            Output = pr.GetValue(output) is { } o ? Path.GetFullPath(o) : config.Output,
        }), inputRoot is not null && pr.GetValue(inputRoot) is { } i ? Path.GetFullPath(i) : null));
        return cmd;
    }

    /// <summary>alerts' own flag: a table of a date column and metric columns to watch instead of the KPI tables.</summary>
    private static Option<string?>? MetricsOption(Stage stage) => stage.Name != "alerts" ? null : new Option<string?>("--metrics")
    {
        Description = "A table of a 'date' column (YYYY-MM-DD) and metric columns (CSV, JSON lines or Parquet) to watch instead of the KPI tables (alerts.metrics).",
    };

    /// <summary>clean-orders' own flag: the grain of the order rows.</summary>
    private static Option<string?>? GrainOption(Stage stage)
    {
        if (stage.Name != "clean-orders")
        {
            return null;
        }
        var grain = new Option<string?>("--grain") { Description = "auto | order | line (orders.grain)." };
        grain.AcceptOnlyFromAmong("auto", "order", "line");
        return grain;
    }

    /// <summary>The options both cleaning commands take.</summary>
    private sealed record CleaningOptions(Option<string[]> Input, Option<string?> Format, Option<string?> TimeZone, Option<string?> Now)
    {
        public static CleaningOptions Create(string files, string section)
        {
            var format = new Option<string?>("--format") { Description = $"auto | csv | jsonl | parquet ({section}.format)." };
            format.AcceptOnlyFromAmong("auto", "csv", "jsonl", "parquet");
            return new CleaningOptions(
                new Option<string[]>("--input", "-i") { Description = $"{files}: a file, a directory or a glob (repeatable). Overrides {section}.input.", AllowMultipleArgumentsPerToken = true },
                format,
                new Option<string?>("--source-time-zone") { Description = "IANA zone of timestamps without an offset (source_time_zone)." },
                new Option<string?>("--now") { Description = "Reference time for the future-timestamp rule (ISO-8601; default: the clock)." });
        }

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Input, Format, TimeZone, Now })
            {
                command.Options.Add(option);
            }
        }
    }

    /// <summary>Runs one stage in a session of its own and prints where its tables and manifest are.</summary>
    private static int ExecuteStage(ParseResult pr, TextWriter stdout, TextWriter stderr, Stage stage,
        Func<PipelineConfig, PipelineConfig> overrides, string? inputRoot)
    {
        var verbose = pr.GetValue(VerboseOption);
        var log = Log.ForConsole(pr.GetValue(QuietOption), verbose);
        try
        {
            var config = LoadConfig(pr, overrides);
            using var session = RunSession.Open(config.Output, log);
            var options = new StageRunOptions(AsOf: stage.Kind == StageKind.Cleaning ? null : ConfigValues.AsOf(config), InputRoot: inputRoot);
            var outcome = StageRunner.Execute(session, stage, config, log, options, session.RunId, JobRun.ReferenceNow(config));
            if (!outcome.Succeeded)
            {
                return Fail(stderr, verbose, outcome.ExitCode, outcome.Message!, outcome.Error);
            }
            foreach (var table in stage.Writes)
            {
                if (outcome.Outputs.FirstOrDefault(o => o.Table == table.Name) is { } published)
                {
                    stdout.WriteLine($"{table.Name + ":",-22}{published.Path}");
                }
            }
            stdout.WriteLine($"{"run manifest:",-22}{outcome.ManifestPath}");
            if (outcome.Report?.Notice is { } notice)
            {
                stderr.WriteLine($"error: {notice.Message}");
                return notice.ExitCode;
            }
            return ExitCodes.Success;
        }
        catch (Exception e)
        {
            var (code, message) = Failures.Classify(e);
            return Fail(stderr, verbose, code, message, e);
        }
    }

    /// <summary>The configuration file, then the command's overrides, then --engine/--remote; validated (exit 2 with every problem).</summary>
    private static PipelineConfig LoadConfig(ParseResult pr, Func<PipelineConfig, PipelineConfig> overrides)
    {
        var config = ApplyEngineOptions(pr, overrides(ConfigLoader.Load(pr.GetValue(ConfigOption))));
        var problems = ConfigLoader.Validate(config);
        if (problems.Count > 0)
        {
            throw PipelineException.Config(string.Join("; ", problems));
        }
        EngineFactory.Check(config.Engine);
        return config;
    }

    /// <summary>The one error line (and the stack trace with --verbose); returns the exit code.</summary>
    private static int Fail(TextWriter stderr, bool verbose, int code, string message, Exception? error)
    {
        stderr.WriteLine($"error: {message}");
        if (verbose && error is not null)
        {
            stderr.WriteLine(error.ToString());
        }
        return code;
    }

    // ---- export -------------------------------------------------------------------------------------------------

    private static Command ExportCommand(TextWriter stdout, TextWriter stderr)
    {
        var output = OutputOption();
        var format = new Option<string>("--format") { Description = "csv (the only format so far).", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv");
        var file = new Option<string?>("--output-file") { Description = "Where to write (default: <output>/exports/segments-<as_of>.csv)." };
        var asOf = new Option<string?>("--as-of") { Description = "Snapshot YYYY-MM-DD (default: the latest one)." };
        var segments = new Command("segments", "Audience list for CRM / ad platforms: customer_id, RFM segment and cell, k-means segment, p_alive, CLV per horizon.")
        {
            output, format, file, asOf,
        };
        AddEngineOptions(segments);
        segments.SetAction(pr => Execute(pr, stderr, "export segments", config =>
        {
            // Checked with the configuration, before the run starts: a target that cannot be a file writes nothing.
            if (pr.GetValue(file) is { } target && WritablePaths.FileProblem(target) is { } problem)
            {
                throw PipelineException.Config($"--output-file: '{Path.GetFullPath(target)}' {problem}");
            }
            return config with { Output = pr.GetValue(output) is { } o ? Path.GetFullPath(o) : config.Output };
        }, run =>
        {
            var day = pr.GetValue(asOf);
            if (day is not null && !DateOnly.TryParseExact(day, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _))
            {
                throw PipelineException.Config($"--as-of: '{day}' is not a date YYYY-MM-DD");
            }
            var (path, rows) = Exports.SegmentsExport.Run(run, day, pr.GetValue(file) is { } f ? Path.GetFullPath(f) : null);
            stdout.WriteLine($"{"exports/segments:",-22}{path} ({rows} customers)");
            stdout.WriteLine($"{"run manifest:",-22}{run.Store.ManifestPath(run.RunId)}");
        }));
        return new Command("export", "Write outputs for other tools (CRM, ad platforms).") { segments };
    }

    // ---- query --------------------------------------------------------------------------------------------------

    private static Command QueryCommand(TextWriter stdout, TextWriter stderr)
    {
        var sql = new Argument<string>("sql") { Description = "One read-only query: SELECT, WITH, SHOW, DESCRIBE, SUMMARIZE or EXPLAIN." };
        var output = OutputOption();
        var format = new Option<string>("--format")
        {
            Description = "table: aligned text, numbers right-aligned, NULL printed as NULL | csv: RFC 4180 with a header, NULL an empty field | jsonl: one JSON object per row, NULL null.",
            DefaultValueFactory = _ => "table",
        };
        format.AcceptOnlyFromAmong("table", "csv", "jsonl");
        var cmd = new Command("query", "Run one read-only SQL query (embedded DuckDB) over the published tables of the output directory. "
            + "Each table is a view named by its path with / as _: " + string.Join(", ", Query.TableQuery.QueryableViews) + ". "
            + "Values print in the invariant culture, decimals exactly. Anything that writes (INSERT, COPY, ATTACH, CREATE, SET, …) or more than one statement is refused (exit 2).")
        {
            sql, output, format,
        };
        cmd.SetAction(pr =>
        {
            var verbose = pr.GetValue(VerboseOption);
            try
            {
                var dir = pr.GetValue(output) is { } o ? Path.GetFullPath(o) : LoadConfig(pr, c => c).Output;
                var kind = pr.GetValue(format) switch
                {
                    "csv" => Query.QueryFormat.Csv,
                    "jsonl" => Query.QueryFormat.Jsonl,
                    _ => Query.QueryFormat.Table,
                };
                Query.TableQuery.Run(dir, pr.GetValue(sql)!, kind, stdout);
                return ExitCodes.Success;
            }
            catch (Exception e)
            {
                var (code, message) = Failures.Classify(e);
                return Fail(stderr, verbose, code, message, e);
            }
        });
        return cmd;
    }

    // ---- generate -----------------------------------------------------------------------------------------------

    private static Command GenerateCommand(TextWriter stdout, TextWriter stderr)
    {
        var output = new Option<string>("--output", "-o") { Description = "Directory to write orders/, events/, ground_truth.json and pipeline.json (the configuration to run the pipeline on them) into.", Required = true };
        var customers = new Option<int>("--customers") { Description = "Customers to simulate.", DefaultValueFactory = _ => 10_000 };
        var days = new Option<int>("--days") { Description = "Length of the period in days.", DefaultValueFactory = _ => 365 };
        var seed = new Option<long>("--seed") { Description = "Random seed: same seed, same files.", DefaultValueFactory = _ => 42 };
        var faults = new Option<bool>("--faults") { Description = "Inject known numbers of each fault class (recorded in ground_truth.json)." };
        var noEvents = new Option<bool>("--no-events") { Description = "Write orders only (no clickstream events)." };
        var experiments = new Option<bool>("--experiments") { Description = "Also inject four A/B tests with known truth (a creative test with a real conversion lift, an A/A test, a broken 50/50 split, a three-variant test) as exposure events; their truth goes to ground_truth.json." };
        var anomalies = new Option<bool>("--anomalies") { Description = "Also inject five incidents with known truth for the KPI alerts (a six-hour tracking outage, a three-day mobile checkout bug, a bot storm, an order-value glitch, a day without ad spend), after a 9-week warm-up and away from the promotions; their truth goes to ground_truth.json." };
        var start = new Option<string?>("--start-date") { Description = "First day, YYYY-MM-DD (default 2024-01-01)." };
        var scenario = new Option<string>("--scenario")
        {
            Description = "baseline: the plan's starting point all period (conversion 1.5%, natural traffic 20%, 90-day repurchase 30%, ACoS 35%); plan: those KPIs move toward the targets (2.8%, 35%, 45%, 28%) over three years.",
            DefaultValueFactory = _ => "baseline",
        };
        scenario.AcceptOnlyFromAmong("baseline", "plan");
        var legacy = new Option<bool>("--legacy-defaults")
        {
            Description = "The generator's settings from before the plan's shop (organic-heavy orders, acquisition over the first 60% of the days, no traffic sized to a conversion rate, no ad spend): the same files as earlier versions wrote.",
        };
        var cmd = new Command("generate", "Write a realistic synthetic dataset with known ground truth: orders (BG/NBD purchases, Gamma-Gamma spend) and consistent clickstream events, optional faults.")
        {
            output, customers, days, seed, faults, start, noEvents, scenario, legacy, experiments, anomalies,
        };
        cmd.SetAction(pr =>
        {
            try
            {
                var options = new Generate.GenerateOptions
                {
                    OutputDirectory = Path.GetFullPath(pr.GetValue(output)!),
                    Customers = pr.GetValue(customers),
                    Days = pr.GetValue(days),
                    Seed = pr.GetValue(seed),
                    Faults = pr.GetValue(faults),
                    Events = !pr.GetValue(noEvents),
                    Scenario = pr.GetValue(scenario) == "plan" ? Generate.ShopScenario.Plan : Generate.ShopScenario.Baseline,
                    Experiments = pr.GetValue(experiments),
                    Anomalies = pr.GetValue(anomalies),
                    StartDate = pr.GetValue(start) is { } s
                        ? DateOnly.TryParseExact(s, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var d)
                            ? d : throw PipelineException.Config($"--start-date: '{s}' is not a date YYYY-MM-DD")
                        : new DateOnly(2024, 1, 1),
                };
                if (pr.GetValue(legacy))
                {
                    options = options.WithLegacyDefaults();
                }
                var truth = Generate.DatasetGenerator.Generate(options);
                stdout.WriteLine($"orders:        {Path.Combine(options.OutputDirectory, "orders")} ({truth.Orders.RowsRead} rows)");
                if (truth.Events is { } events)
                {
                    stdout.WriteLine($"events:        {Path.Combine(options.OutputDirectory, "events")} ({events.RowsRead} lines)");
                }
                stdout.WriteLine($"ground truth:  {Path.Combine(options.OutputDirectory, "ground_truth.json")}");
                var config = Generate.GeneratedConfig.Write(options, truth);
                stdout.WriteLine($"config:        {config}");
                stdout.WriteLine($"run it with:   pipeline run -c {Quoted(config)}");
                return ExitCodes.Success;
            }
            catch (Exception e)
            {
                // Bad options are GenerateOptionsException (a PipelineException, exit 2); anything else is a bug (exit 1).
                var (code, message) = Failures.Classify(e);
                return Fail(stderr, pr.GetValue(VerboseOption), code, message, e);
            }
        });
        return cmd;
    }

    /// <summary>A path as a shell argument: quoted when it holds anything but safe characters.</summary>
    private static string Quoted(string path) =>
        path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ':' or '\\') ? path : "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    // ---- validate-config ------------------------------------------------------------------------------------------

    private static Command ValidateConfigCommand(TextWriter stdout, TextWriter stderr)
    {
        var cmd = new Command("validate-config", "Check a configuration file and report every problem at once (exit 0 when valid, 2 otherwise).");
        cmd.SetAction(pr =>
        {
            var path = pr.GetValue(ConfigOption);
            if (path is null)
            {
                stderr.WriteLine("error: give the file to check with --config <file>");
                return ExitCodes.UsageOrConfig;
            }
            var (_, errors) = ConfigLoader.TryLoad(path);
            if (errors.Count == 0)
            {
                stdout.WriteLine($"{path}: valid");
                return ExitCodes.Success;
            }
            stderr.WriteLine($"{path}: {errors.Count} problem(s):");
            foreach (var e in errors)
            {
                stderr.WriteLine("  - " + e);
            }
            return ExitCodes.UsageOrConfig;
        });
        return cmd;
    }

    // ---- shared -------------------------------------------------------------------------------------------------

    internal static Option<string?> OutputOption() =>
        new("--output", "-o") { Description = "Output directory (overrides the config's output)." };

    /// <summary>Loads config, applies overrides, runs a command that is not a stage (an export) inside a <see cref="JobRun"/>.</summary>
    internal static int Execute(ParseResult pr, TextWriter stderr, string command,
        Func<PipelineConfig, PipelineConfig> overrides, Action<JobRun> body)
    {
        var verbose = pr.GetValue(VerboseOption);
        var log = Log.ForConsole(pr.GetValue(QuietOption), verbose);
        JobRun? run = null;
        try
        {
            var config = LoadConfig(pr, overrides);
            run = JobRun.Start(config, command, log);
            body(run);
            run.Finish(ExitCodes.Success, null);
            return ExitCodes.Success;
        }
        catch (Exception e)
        {
            var (code, message) = Failures.Classify(e);
            run?.Finish(code, message);
            return Fail(stderr, verbose, code, message, e);
        }
        finally
        {
            run?.Dispose();
        }
    }
}
