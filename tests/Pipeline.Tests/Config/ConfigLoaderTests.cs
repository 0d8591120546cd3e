using NUnit.Framework;
using Pipeline.Config;

namespace Pipeline.Tests.Config;

public class ConfigLoaderTests
{
    private static (PipelineConfig? Config, IReadOnlyList<string> Errors) Parse(string json) => ConfigLoader.Parse(json, "/base");

    [Test]
    public void No_file_means_documented_defaults()
    {
        var c = ConfigLoader.Load(null);
        Assert.Multiple(() =>
        {
            Assert.That(c.Output, Is.EqualTo("out"));
            Assert.That(c.BaseCurrency, Is.EqualTo("USD"));
            Assert.That(c.SourceTimeZone, Is.EqualTo("UTC"));
            Assert.That(c.Engine.Kind, Is.EqualTo("duckdb"));
            Assert.That(c.Quality.MaxQuarantineShare, Is.EqualTo(0.05));
            Assert.That(c.Quality.FutureToleranceMinutes, Is.EqualTo(60));
            Assert.That(c.Orders.Format, Is.EqualTo("auto"));
            Assert.That(c.Orders.Csv.Delimiter, Is.EqualTo("auto"));
        });
    }

    [Test]
    public void Comments_trailing_commas_and_a_single_input_string_are_accepted()
    {
        var (c, errors) = Parse("""
            {
              // comment
              "output": "results",
              "orders": { "input": "orders/*.csv", "columns": { "order_id": "Invoice No" }, },
            }
            """);
        Assert.That(errors, Is.Empty);
        Assert.That(c!.Output, Is.EqualTo("/base/results"));
        Assert.That(c.Orders.Input, Is.EqualTo(new[] { "/base/orders/*.csv" }));
        Assert.That(c.Orders.Columns["order_id"], Is.EqualTo("Invoice No"));
    }

    [Test]
    public void Every_problem_is_reported_at_once()
    {
        var (_, errors) = Parse("""
            { "outptu": "x", "base_currency": 5, "quality": { "max_quarantine_share": "lots" }, "engine": { "kind": "oracle" } }
            """);
        // Shape errors and the value checks of what remains, in one list.
        Assert.That(errors, Has.Count.EqualTo(4), string.Join("\n", errors));
        Assert.That(errors, Has.Some.Contains("outptu: unknown key (did you mean 'output'?)"));
        Assert.That(errors, Has.Some.Contains("base_currency: must be a string"));
        Assert.That(errors, Has.Some.Contains("quality.max_quarantine_share: must be a number"));
        Assert.That(errors, Has.Some.Contains("engine.kind: 'oracle' is not one of duckdb, spark"));

        var (_, semantic) = Parse("""
            { "base_currency": "usd", "source_time_zone": "Mars/Olympus", "engine": { "kind": "oracle", "memory_limit": "lots" },
              "quality": { "max_quarantine_share": 2, "min_valid_date": "01/01/2000" }, "orders": { "format": "xml", "status_map": { "paid": "done" } } }
            """);
        Assert.That(semantic, Has.Count.EqualTo(8), string.Join("\n", semantic));
    }

    [Test]
    public void Validate_config_lists_two_type_errors_and_a_value_error_at_once()
    {
        var dir = TestPaths.NewTempDir("validate-config");
        try
        {
            var path = Path.Combine(dir, "pipeline.json");
            File.WriteAllText(path, """
                {
                  "now": 20240101,
                  "analytics": { "ltv": { "holdout_days": "ninety" } },
                  "base_currency": "dollars"
                }
                """);
            var r = Pipeline.Tests.Support.PipelineCli.Run("validate-config", "-c", path);
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            Assert.That(r.Stderr, Does.Contain($"{path}: 3 problem(s):"));
            Assert.That(r.Stderr, Does.Contain("  - now: must be a string"));
            Assert.That(r.Stderr, Does.Contain("  - analytics.ltv.holdout_days: must be an integer"));
            Assert.That(r.Stderr, Does.Contain("  - base_currency: 'dollars' is not a 3-letter ISO-4217 code"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase("order_id\"; DROP TABLE x; --")]
    [TestCase("a`b")]
    [TestCase("line\nbreak")]
    [TestCase("")]
    public void Column_mappings_that_could_escape_an_identifier_are_refused(string source)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new { orders = new { columns = new Dictionary<string, string> { ["order_id"] = source } } });
        var (_, errors) = Parse(json);
        Assert.That(errors, Has.Some.Contains("orders.columns.order_id: source column name"));
    }

    [Test]
    public void Unknown_canonical_columns_are_refused()
    {
        var (_, errors) = Parse("""{ "orders": { "columns": { "order_number": "x" } } }""");
        Assert.That(errors, Has.Some.Contains("orders.columns.order_number: unknown canonical column"));
    }

    [TestCase("""{ "engine": null }""", "engine")]
    [TestCase("""{ "output": null }""", "output")]
    [TestCase("""{ "base_currency": null }""", "base_currency")]
    [TestCase("""{ "orders": { "input": null } }""", "orders.input")]
    [TestCase("""{ "experiments": { "definitions": null } }""", "experiments.definitions")]
    [TestCase("""{ "orders": { "fx": { "input": "fx.csv", "columns": null } } }""", "orders.fx.columns")]
    [TestCase("""{ "quality": { "max_quarantine_share": null } }""", "quality.max_quarantine_share")]
    public void A_null_value_is_one_problem_naming_its_key(string json, string key)
    {
        var (config, errors) = Parse(json);
        Assert.That(config, Is.Null);
        Assert.That(errors, Is.EqualTo(new[] { $"{key}: must not be null (leave the key out to use the default)" }));
    }

    [TestCase("""{ "experiments": { "definitions": { "ab": null } } }""", "experiments.definitions.ab")]
    [TestCase("""{ "experiments": { "definitions": { "ab": { "weights": { "a": 1, "b": null } } } } }""", "experiments.definitions.ab.weights.b")]
    [TestCase("""{ "analytics": { "ltv": { "horizons_days": [90, null] } } }""", "analytics.ltv.horizons_days[1]")]
    [TestCase("""{ "analytics": { "rfm": { "recency_cut_points": [null, 1, 2, 3] } } }""", "analytics.rfm.recency_cut_points[0]")]
    public void A_null_item_is_one_problem_naming_it(string json, string key)
    {
        var (config, errors) = Parse(json);
        Assert.That(config, Is.Null);
        Assert.That(errors, Is.EqualTo(new[] { $"{key}: must not be null" }));
    }

    [Test]
    public void Null_keeps_its_meaning_where_a_key_has_no_value_by_default()
    {
        var (c, errors) = Parse("""{ "now": null, "analytics": { "as_of": null, "segments": { "k": null } }, "orders": { "fx": null }, "kpis": { "ad_spend": null } }""");
        Assert.That(errors, Is.Empty);
        Assert.That((c!.Now, c.Analytics.AsOf, c.Analytics.Segments.K, c.Orders.Fx, c.Kpis.AdSpend), Is.EqualTo(((string?)null, (string?)null, (int?)null, (FxConfig?)null, (AdSpendConfig?)null)));
    }

    /// <summary>Every key of every section, set to null: either a valid configuration or problems naming the key, never an exception.</summary>
    [Test]
    public void Every_key_set_to_null_is_accepted_or_named_never_a_crash()
    {
        var keys = KeyPaths(typeof(PipelineConfig), "").ToList();
        Assert.That(keys, Has.Count.GreaterThan(100), "the walk reaches every section");
        foreach (var key in keys)
        {
            var root = new System.Text.Json.Nodes.JsonObject();
            var node = root;
            var parts = key.Split('.');
            foreach (var part in parts[..^1])
            {
                var child = new System.Text.Json.Nodes.JsonObject();
                node[part] = child;
                node = child;
            }
            node[parts[^1]] = null;
            var json = root.ToJsonString();
            var (config, errors) = Parse(json);
            if (errors.Count == 0)
            {
                Assert.That(config, Is.Not.Null, json);
                Assert.That(ConfigLoader.Validate(config!), Is.Empty, json);
                continue;
            }
            // A section given with only this key may also fail its own checks (kpis.ad_spend needs an input).
            Assert.That(errors[0], Is.EqualTo($"{key}: must not be null (leave the key out to use the default)"), json);
        }
    }

    /// <summary>The snake_case key paths of a configuration record: each property, and each property of a nested section.</summary>
    private static IEnumerable<string> KeyPaths(Type type, string prefix)
    {
        foreach (var p in type.GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance))
        {
            var path = prefix + System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);
            yield return path;
            if (p.PropertyType.IsClass && p.PropertyType != typeof(string) && p.PropertyType.Namespace == typeof(PipelineConfig).Namespace)
            {
                foreach (var inner in KeyPaths(p.PropertyType, path + "."))
                {
                    yield return inner;
                }
            }
        }
    }

    [Test]
    public void A_duplicate_key_is_named_wherever_it_is()
    {
        var (config, errors) = Parse("""{ "output": "a", "output": "b" }""");
        Assert.That(config, Is.Null);
        Assert.That(errors, Is.EqualTo(new[] { "output: appears twice in the same object; keep one" }));
        var (_, nested) = Parse("""{ "orders": { "csv": { "delimiter": ";", "quote": "'", "delimiter": "," } }, "events": { "ip": "drop" } }""");
        Assert.That(nested, Is.EqualTo(new[] { "orders.csv.delimiter: appears twice in the same object; keep one" }));
        // The same key in two different objects is not a duplicate.
        var (_, none) = Parse("""{ "orders": { "format": "csv" }, "events": { "format": "csv" } }""");
        Assert.That(none, Is.Empty);
    }

    [Test]
    public void Output_and_input_folders_must_not_contain_each_other_but_a_single_file_may_sit_anywhere()
    {
        var dir = TestPaths.NewTempDir("output-inputs");
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "landing", "orders"));
            File.WriteAllText(Path.Combine(dir, "landing", "fx.csv"), "date,currency,rate\n");
            var (_, same) = ConfigLoader.Parse("""{ "output": "landing/orders/", "orders": { "input": "landing/orders" } }""", dir);
            Assert.That(same, Has.Count.EqualTo(1).And.Some.StartsWith($"output: '{Path.Combine(dir, "landing", "orders")}' is the orders input folder"));
            var (_, globbed) = ConfigLoader.Parse("""{ "output": "landing/out", "kpis": { "ad_spend": { "input": "landing/**/*.csv" } } }""", dir);
            Assert.That(globbed, Has.Count.EqualTo(1).And.Some.Contains("is inside the kpis.ad_spend input folder"));
            var (_, starred) = ConfigLoader.Parse("""{ "output": "landing/daily/out", "orders": { "input": "landing/*/*/*.parquet" } }""", dir);
            Assert.That(starred, Has.Count.EqualTo(1).And.Some.Contains("is inside the orders input folder"));
            // A glob that cannot reach the output (its files are one level up, or in hidden folders a directory skips).
            var (_, beside) = ConfigLoader.Parse("""{ "output": "landing/out", "orders": { "input": "landing/*.csv" }, "events": { "input": "landing/orders/*/*.jsonl" } }""", dir);
            Assert.That(beside, Is.Empty);
            var (_, hidden) = ConfigLoader.Parse("""{ "output": "landing/_out", "orders": { "input": "landing" } }""", dir);
            Assert.That(hidden, Is.Empty);
            var (_, reverse) = ConfigLoader.Parse("""{ "output": "landing", "experiments": { "input": ["landing/orders"] } }""", dir);
            Assert.That(reverse, Has.Count.EqualTo(1).And.Some.StartsWith("experiments.input: ").And.Some.Contains("is inside the output folder"));
            var (_, siblings) = ConfigLoader.Parse("""{ "output": "out", "orders": { "input": "landing/orders", "fx": { "input": "landing/fx.csv" } }, "events": { "input": "landing/*.jsonl" } }""", dir);
            Assert.That(siblings, Is.Empty);
            // A file input is only that file: an output next to it, or the file inside the output, reads nothing back.
            var (_, file) = ConfigLoader.Parse("""{ "output": "landing", "orders": { "input": "landing/fx.csv" } }""", dir);
            Assert.That(file, Is.Empty);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_config_file_that_cannot_be_read_is_one_problem_not_a_crash()
    {
        var dir = TestPaths.NewTempDir("unreadable-config");
        try
        {
            var path = Path.Combine(dir, "pipeline.json");
            File.WriteAllText(path, "{}");
            // Root reads any file whatever its mode, so a denied read is simulated here; the CLI test below uses chmod when it can.
            var (denied, deniedErrors) = ConfigLoader.TryLoad(path, _ => throw new UnauthorizedAccessException($"Access to the path '{path}' is denied."));
            Assert.That(denied, Is.Null);
            Assert.That(deniedErrors, Is.EqualTo(new[] { $"config file cannot be read (permission denied): {path}" }));
            var (_, ioErrors) = ConfigLoader.TryLoad(path, _ => throw new IOException("Input/output error"));
            Assert.That(ioErrors, Is.EqualTo(new[] { $"config file cannot be read: {path} (Input/output error)" }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void An_unreadable_config_file_is_exit_2_with_one_line()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("uses /proc and POSIX file modes");
            return;
        }
        // A file even root cannot read: the first page of this process's memory is not mapped (EIO).
        var proc = Pipeline.Tests.Support.PipelineCli.Run("run", "-c", "/proc/self/mem");
        Assert.That(proc.ExitCode, Is.EqualTo(2), proc.ToString());
        Assert.That(proc.Stderr.Trim(), Does.StartWith("error: /proc/self/mem: config file cannot be read: /proc/self/mem (").And.Not.Contain("\n"));
        var dir = TestPaths.NewTempDir("unreadable-config");
        try
        {
            var path = Path.Combine(dir, "pipeline.json");
            File.WriteAllText(path, "{}");
            File.SetUnixFileMode(path, UnixFileMode.None);
            try
            {
                using var probe = File.OpenRead(path);
                return; // root reads a file whatever its mode
            }
            catch (UnauthorizedAccessException)
            {
            }
            var r = Pipeline.Tests.Support.PipelineCli.Run("run", "-c", path, "-o", Path.Combine(dir, "out"));
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            Assert.That(r.Stderr.Trim(), Is.EqualTo($"error: {path}: config file cannot be read (permission denied): {path}"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Min_valid_date_is_1900_or_later()
    {
        Assert.That(Parse("""{ "quality": { "min_valid_date": "0001-01-01" } }""").Errors, Is.EqualTo(new[] { "quality.min_valid_date: '0001-01-01' must be 1900-01-01 or later" }));
        Assert.That(Parse("""{ "quality": { "min_valid_date": "1900-01-01" } }""").Errors, Is.Empty);
    }

    [Test]
    public void Invalid_json_reports_the_line()
    {
        var (_, errors) = Parse("{\n \"output\": \n}");
        Assert.That(errors.Single(), Does.StartWith("not valid JSON (line 3"));
    }
}
