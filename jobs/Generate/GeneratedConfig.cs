using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Pipeline.Generate;

/// <summary>
/// The <c>pipeline.json</c> that <c>pipeline generate</c> writes next to the data, so the dataset runs as it is:
/// <c>pipeline run -c &lt;dir&gt;/pipeline.json</c>. Paths are relative to the file (the loader resolves them against
/// its folder): inputs <c>orders/</c> and <c>events/</c>, output <c>out/</c>. <c>now</c> is the generator's
/// observation end, so the injected future timestamps (a year after it) are quarantined and nothing else is, whenever
/// it runs; the site host is the clickstream's own, so its internal referrers are not traffic sources.
/// </summary>
public static class GeneratedConfig
{
    public const string FileName = "pipeline.json";

    /// <summary>The output folder, relative to the file.</summary>
    public const string OutputFolder = "out";

    /// <summary>The host of the generated site (the clickstream's page URLs and internal referrers).</summary>
    public static string SiteHost => new Uri(EventsCatalog.Site).Host;

    /// <summary>Writes <c>&lt;dir&gt;/pipeline.json</c> for a generated dataset; returns its path.</summary>
    public static string Write(GenerateOptions options, GroundTruth truth)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(truth);
        var path = Path.Combine(options.OutputDirectory, FileName);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteCommentValue($" Written by pipeline generate (seed {truth.Seed.ToString(CultureInfo.InvariantCulture)}, {truth.Days.ToString(CultureInfo.InvariantCulture)} days"
                + (truth.Faults ? ", faults" : "") + "). Paths are relative to this file; now is the generator's observation end. ");
            json.WriteString("output", OutputFolder);
            json.WriteString("now", truth.ObservationEnd.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            json.WriteStartObject("orders");
            json.WriteString("input", "orders/");
            json.WriteEndObject();
            if (truth.Events is not null)
            {
                json.WriteStartObject("events");
                json.WriteString("input", "events/");
                json.WriteStartArray("site_hosts");
                json.WriteStringValue(SiteHost);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            if (truth.Shop is { } shop)
            {
                json.WriteStartObject("kpis");
                json.WriteStartObject("ad_spend");
                json.WriteString("input", shop.AdSpendFile);
                json.WriteEndObject();
                json.WriteEndObject();
                // The promotions the generator put in the period are known events, not anomalies.
                var promotions = ShopPlan.Promotions(options.StartDate, options.Days);
                if (promotions.Count > 0)
                {
                    json.WriteStartObject("alerts");
                    json.WriteStartObject("calendar");
                    foreach (var (days, name) in promotions)
                    {
                        json.WriteString(days, name);
                    }
                    json.WriteEndObject();
                    json.WriteEndObject();
                }
            }
            if (truth.Experiments is { Count: > 0 } experiments)
            {
                // The intended split of each injected test (the readout's SRM test checks against it).
                json.WriteStartObject("experiments");
                json.WriteStartObject("definitions");
                foreach (var x in experiments)
                {
                    json.WriteStartObject(x.ExperimentId);
                    json.WriteString("control", x.Control);
                    json.WriteStartObject("weights");
                    for (var i = 0; i < x.Variants.Count; i++)
                    {
                        json.WriteNumber(x.Variants[i], Math.Round(x.IntendedSplit[i], 6));
                    }
                    json.WriteEndObject();
                    json.WriteEndObject();
                }
                json.WriteEndObject();
                json.WriteEndObject();
            }
            if (truth.Faults)
            {
                // The injected faults are a few per cent of the rows by design: the quarantine gate would stop the run.
                json.WriteStartObject("quality");
                json.WriteNumber("max_quarantine_share", 1);
                json.WriteEndObject();
            }
            if (options.Days < 360)
            {
                // A short period: an LTV holdout of a quarter of it (the default 90 days would leave too little to fit).
                json.WriteStartObject("analytics");
                json.WriteStartObject("ltv");
                json.WriteNumber("holdout_days", Math.Max(1, options.Days / 4));
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        File.WriteAllText(path, Encoding.UTF8.GetString(stream.ToArray()) + "\n", new UTF8Encoding(false));
        return path;
    }
}
