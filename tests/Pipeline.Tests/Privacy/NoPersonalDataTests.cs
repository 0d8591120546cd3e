using System.Text;
using NUnit.Framework;
using Pipeline.Privacy;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Privacy;

/// <summary>
/// The house rule end to end: raw e-mails, IPs, user agents and anonymous ids never reach an output. The sample shop
/// with a few hostile rows added (personal data where a column is free text or an id, escaped quotes, percent-encoding,
/// IPv6, a line that is not JSON) goes through <c>pipeline run</c>, and every file the run leaves (every Parquet value,
/// every text file, the report, the manifests, the log) is searched for them.
/// </summary>
public class NoPersonalDataTests
{
    private const string Day = "2024-06-20";

    private static string Event(string id, string time, string anon, string? user, string type, string url, string? search = null,
        string? orderId = null, string? utm = null, string ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0", string ip = "198.51.100.9") =>
        "{" + string.Join(",", new[]
        {
            $"\"event_id\":\"{id}\"", $"\"occurred_at\":\"{time}\"", $"\"anonymous_id\":\"{anon}\"",
            $"\"user_id\":{(user is null ? "null" : $"\"{user}\"")}", $"\"event_type\":\"{type}\"", $"\"page_url\":\"{url}\"",
            $"\"search_term\":{(search is null ? "null" : $"\"{search}\"")}", $"\"order_id\":{(orderId is null ? "null" : $"\"{orderId}\"")}",
            $"\"utm_campaign\":{(utm is null ? "null" : $"\"{utm}\"")}", $"\"user_agent\":\"{ua}\"", $"\"ip\":\"{ip}\"",
        }) + "}";

    /// <param name="sliceDays">0: clean-clicks in one pass; 7: in week-long slices (its own identity statement).</param>
    [TestCase(0)]
    [TestCase(7)]
    public void A_run_with_personal_data_in_every_kind_of_column_publishes_none_of_it(int sliceDays)
    {
        var dir = TestPaths.NewTempDir("privacy");
        try
        {
            TestPaths.CopySampleShop(dir);
            File.Copy(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop", "ad_spend.csv"), Path.Combine(dir, "ad_spend.csv"));
            File.WriteAllLines(Path.Combine(dir, "events", "events-crafted.jsonl"),
            [
                // A shopper whose user id is an e-mail, an address in the page path and (percent-encoded) in a campaign.
                Event("EV-P1", $"{Day}T10:00:00Z", "a-leak-0001", "ivan.leak@example.org", "page_view",
                    "https://shop.example.com/account/nina.leak@example.org/orders?utm_source=newsletter&utm_medium=email&utm_campaign=dave.leak%40example.org"),
                Event("EV-P2", $"{Day}T10:01:00Z", "a-leak-0001", "ivan.leak@example.org", "search", "https://shop.example.com/search",
                    search: "grace.leak%40example.org"),
                Event("EV-P3", $"{Day}T10:02:00Z", "a-leak-0001", null, "page_view", "https://shop.example.com/", utm: "carol.leak@example.org"),
                Event("EV-P4", $"{Day}T10:03:00Z", "a-leak-0001", null, "purchase", "https://shop.example.com/checkout/confirmation",
                    orderId: "pat.leak@example.org"),
                // Rejected (no time): its user agent holds escaped quotes, its page an IPv6 host.
                Event("EV-P5", "not a time", "a-leak-0002", null, "page_view", "http://[2001:db8::78]/x",
                    ua: "Mozilla/5.0 \\\"Quoted\\\" LeakUA/15", ip: "2001:db8::77"),
                // Not JSON at all: nothing says which of its words is the anonymous id.
                $"EV-P6,{Day} 10:05:00,a-leak-0003,page_view",
            ]);
            File.WriteAllLines(Path.Combine(dir, "orders", "orders-crafted.csv"),
            [
                "order_id,customer_id,ordered_at,status,currency,total_amount,discount_amount,shipping_amount,tax_amount,refunded_amount,email,channel",
                $"OP-1,xena.leak@example.org,{Day}T11:00:00Z,completed,USD,50.00,0.00,0.00,0.00,,xena.leak@example.org,amy.leak@example.org",
            ]);
            // A/B assignments: a unit whose user id is an e-mail, an experiment named with one.
            File.WriteAllLines(Path.Combine(dir, "assignments.csv"),
            [
                "experiment_id,variant,assigned_at,user_id,anonymous_id",
                $"exp-zed.leak@example.org,control,{Day}T09:00:00Z,ivan.leak@example.org,",
                $"exp-zed.leak@example.org,B,{Day}T09:00:00Z,,a-leak-0004",
            ]);
            // The sample's own configuration, pointed at the copy.
            var config = Path.Combine(dir, "shop.json");
            File.WriteAllText(config, File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json"))
                .Replace("\"shop/", "\"", StringComparison.Ordinal)
                .Replace("\"output\":", $"\"engine\": {{ \"slice_days\": {sliceDays} }},\n  \"experiments\": {{ \"input\": \"assignments.csv\" }},\n  \"output\":", StringComparison.Ordinal));
            var output = Path.Combine(dir, "out");
            var run = PipelineCli.Run("run", "-c", config, "-o", output, "--verbose");
            Assert.That(run.ExitCode, Is.Zero, run.ToString());
            Assert.That(run.Stderr, sliceDays > 0 ? Does.Contain("slice(s) of 7 day(s)") : Does.Not.Contain("slice(s)"));

            string[] secrets = ["leak@example.org", "leak%40example.org", "a-leak-000", "LeakUA", "Quoted", "2001:db8::7"];
            var found = new List<string>();
            void Search(string where, string text)
            {
                found.AddRange(secrets.Where(s => text.Contains(s, StringComparison.OrdinalIgnoreCase)).Select(s => $"{where}: {s}"));
            }
            Search("stdout", run.Stdout);
            Search("stderr", run.Stderr);
            foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories).Where(f => !f.Contains("_keys", StringComparison.Ordinal)))
            {
                if (file.EndsWith(".parquet", StringComparison.Ordinal))
                {
                    var values = ParquetTable.Read(Path.GetDirectoryName(file)!).SelectMany(r => r.Values).Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "");
                    Search(file, string.Join("\n", values));
                }
                else if (!file.EndsWith(".zip", StringComparison.Ordinal))
                {
                    Search(file, File.ReadAllText(file, Encoding.UTF8));
                }
            }
            Assert.That(found.Distinct(), Is.Empty, "personal data in the outputs");

            // What is there instead. The ids are keyed hashes, the same one for an address as customer id and e-mail.
            var key = HashKey.Resolve(null, output);
            var order = ParquetTable.Read(Path.Combine(output, "clean", "orders")).Single(r => (string?)r["email_key"] == key.Hmac("xena.leak@example.org"));
            var events = ParquetTable.Read(Path.Combine(output, "clean", "events")).Where(r => ((string)r["event_id"]!).StartsWith("EV-P", StringComparison.Ordinal))
                .ToDictionary(r => (string)r["event_id"]!);
            var units = ParquetTable.Read(Path.Combine(output, "experiments", "units"));
            var quarantine = ParquetTable.Read(Path.Combine(output, "quarantine", "events")).Where(r => ((string)r["raw"]!).Contains("EV-P", StringComparison.Ordinal) || ((string)r["raw"]!).StartsWith("#,", StringComparison.Ordinal))
                .Select(r => (string)r["raw"]!).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(order["customer_id"], Is.EqualTo(key.Hmac("xena.leak@example.org")), "an e-mail customer id is its email_key");
                Assert.That(order["channel"], Is.EqualTo("<email redacted>"));
                Assert.That(order["order_id"], Is.EqualTo("OP-1"), "other ids stay as they are");
                Assert.That(events["EV-P1"]["customer_id"], Is.EqualTo(key.Hmac("ivan.leak@example.org")), "the same keyed hash for an e-mail user id");
                Assert.That(events["EV-P1"]["page_path"], Is.EqualTo("/account/<email redacted>/orders"));
                Assert.That(events["EV-P1"]["utm_campaign"], Is.EqualTo("<email redacted>"));
                Assert.That(events["EV-P1"]["utm_source"], Is.EqualTo("newsletter"));
                Assert.That(events["EV-P2"]["search_term"], Is.EqualTo("<email redacted>"));
                Assert.That(events["EV-P3"]["utm_campaign"], Is.EqualTo("<email redacted>"));
                Assert.That(events["EV-P4"]["order_id"], Is.EqualTo(key.Hmac("pat.leak@example.org")));
                Assert.That(units.Select(u => (u["experiment_id"], u["unit_id"])),
                    Has.Member(((object?)"<email redacted>", (object?)key.Hmac("ivan.leak@example.org"))), "the assigned customer, keyed as in clean/events");
                Assert.That(quarantine, Has.Some.Contains("\"user_agent\":\"<redacted>\",\"ip\":\"<ip redacted>\"")
                    .Or.Some.Contains("\"user_agent\":\"<redacted>\",\"ip\":\"<redacted>\""), string.Join(" | ", quarantine));
                Assert.That(quarantine, Has.Some.Contains("http://[<ip redacted>]/x"), string.Join(" | ", quarantine));
                Assert.That(quarantine, Has.Some.EqualTo("#,# #:#:#,#,page_view"), "a line that is not JSON keeps its shape, not its ids");
            });
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
