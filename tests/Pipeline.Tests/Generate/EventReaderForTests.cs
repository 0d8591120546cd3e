using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace Pipeline.Tests.Generate;

/// <summary>
/// An independent reader and classifier of the generated event files (shares no code with the generator):
/// decompresses gzip, splits CRLF/LF, parses each line as JSON and applies the pipeline's rules in order:
/// malformed_row, bad_timestamp, future_timestamp, missing_identity, unknown_event_type; duplicates by event_id;
/// bots by user agent, then by more than 60 events in one calendar minute per anonymous_id; sessions per
/// anonymous_id split on gaps over 30 minutes, sessions over 3 days quarantined as session_too_long.
/// </summary>
internal static class EventReaderForTests
{
    public static readonly HashSet<string> EventTypes =
        ["page_view", "page_ping", "product_view", "search", "add_to_cart", "remove_from_cart", "begin_checkout", "purchase", "login"];

    private static readonly string[] BotPatterns = ["bot", "crawl", "spider", "slurp", "headless"];
    private static readonly string[] SearchEngines = ["google", "bing", "baidu"];
    private static readonly string[] SocialNetworks = ["facebook", "weibo", "douyin", "xiaohongshu"];

    public sealed record FileRead(string Name, bool Crlf, bool Gzip, IReadOnlyList<string> Lines);

    public sealed record Event(
        string EventId, DateTimeOffset At, string? AnonymousId, string? UserId, string Type, string? PageUrl, string? Referrer,
        string? ProductId, string? OrderId, string? UserAgent, string? Ip, string File, int Arrival, string RawTimestamp);

    public sealed class Session
    {
        public required List<Event> Events { get; init; }
        public Event Landing => Events[0];
        public bool Converted => Events.Any(e => e.Type == "purchase");
        public TimeSpan Span => Events[^1].At - Events[0].At;
    }

    public sealed class Result
    {
        public long RowsRead { get; set; }
        public long Duplicates { get; set; }
        public Dictionary<string, long> Quarantined { get; } = new()
        {
            ["malformed_row"] = 0, ["bad_timestamp"] = 0, ["missing_identity"] = 0, ["unknown_event_type"] = 0,
            ["future_timestamp"] = 0, ["session_too_long"] = 0,
        };
        public long BotsUserAgent { get; set; }
        public long BotsEventRate { get; set; }
        public List<Event> Kept { get; } = [];
        public List<Session> Sessions { get; } = [];
        public List<FileRead> Files { get; } = [];
        /// <summary>Every valid (parseable, first-seen) event, bots included: for file-placement checks.</summary>
        public List<Event> Valid { get; } = [];
        public List<string> DuplicateLinesNotExact { get; } = [];
    }

    public static IReadOnlyList<FileRead> ReadAll(string outputDirectory) =>
        Directory.GetFiles(Path.Combine(outputDirectory, "events")).OrderBy(f => f, StringComparer.Ordinal).Select(Read).ToList();

    public static FileRead Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var gzip = bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;
        if (gzip)
        {
            using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var output = new MemoryStream();
            input.CopyTo(output);
            bytes = output.ToArray();
        }
        var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        var crlf = text.Contains("\r\n", StringComparison.Ordinal);
        if (crlf && text.Replace("\r\n", "", StringComparison.Ordinal).Contains('\n', StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: mixed line endings");
        }
        var lines = text.Split(crlf ? "\r\n" : "\n").ToList();
        if (lines[^1].Length != 0)
        {
            throw new InvalidDataException($"{path}: last line not terminated");
        }
        lines.RemoveAt(lines.Count - 1);
        return new FileRead(Path.GetFileName(path), crlf, gzip, lines);
    }

    /// <summary>ISO-8601 with Z or an offset (optional fraction), or epoch milliseconds as exactly 13 digits.</summary>
    public static bool TryParseInstant(string s, out DateTimeOffset value)
    {
        value = default;
        if (s.Length == 13 && s.All(char.IsAsciiDigit))
        {
            value = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(s, CultureInfo.InvariantCulture));
            return true;
        }
        string[] formats = ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];
        return s.Length > 19 && (s.EndsWith('Z') || s[^6] is '+' or '-')
            && DateTimeOffset.TryParseExact(s, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    private static string? Str(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static Result Classify(string outputDirectory, DateTimeOffset futureAfter)
    {
        var r = new Result();
        var candidates = new List<Event>();
        var seen = new Dictionary<string, string>();
        var arrival = 0;
        foreach (var file in ReadAll(outputDirectory))
        {
            r.Files.Add(file);
            foreach (var line in file.Lines)
            {
                r.RowsRead++;
                arrival++;
                JsonElement o;
                try
                {
                    using var doc = JsonDocument.Parse(line);
                    o = doc.RootElement.Clone();
                }
                catch (JsonException)
                {
                    r.Quarantined["malformed_row"]++;
                    continue;
                }
                if (o.ValueKind != JsonValueKind.Object)
                {
                    r.Quarantined["malformed_row"]++;
                    continue;
                }
                var ts = Str(o, "occurred_at");
                if (ts is null || !TryParseInstant(ts, out var at))
                {
                    r.Quarantined["bad_timestamp"]++;
                    continue;
                }
                if (at > futureAfter)
                {
                    r.Quarantined["future_timestamp"]++;
                    continue;
                }
                var anon = Str(o, "anonymous_id");
                var user = Str(o, "user_id");
                if (string.IsNullOrEmpty(anon) && string.IsNullOrEmpty(user))
                {
                    r.Quarantined["missing_identity"]++;
                    continue;
                }
                var type = Str(o, "event_type");
                if (type is null || !EventTypes.Contains(type))
                {
                    r.Quarantined["unknown_event_type"]++;
                    continue;
                }
                var id = Str(o, "event_id") ?? throw new InvalidDataException("event without id: " + line);
                if (seen.TryGetValue(id, out var first))
                {
                    r.Duplicates++;
                    if (first != line)
                    {
                        r.DuplicateLinesNotExact.Add(line);
                    }
                    continue;
                }
                seen[id] = line;
                candidates.Add(new Event(id, at, anon, user, type, Str(o, "page_url"), Str(o, "referrer_url"), Str(o, "product_id"),
                    Str(o, "order_id"), Str(o, "user_agent"), Str(o, "ip"), file.Name, arrival, ts));
            }
        }
        r.Valid.AddRange(candidates);

        var humans = new List<Event>();
        foreach (var e in candidates)
        {
            var ua = e.UserAgent ?? "";
            if (BotPatterns.Any(p => ua.Contains(p, StringComparison.OrdinalIgnoreCase)))
            {
                r.BotsUserAgent++;
            }
            else
            {
                humans.Add(e);
            }
        }
        foreach (var group in humans.GroupBy(e => e.AnonymousId ?? "user:" + e.UserId))
        {
            var events = group.OrderBy(e => e.At).ThenBy(e => e.Arrival).ToList();
            var maxPerMinute = events.GroupBy(e => e.At.ToUnixTimeMilliseconds() / 60_000).Max(g => g.Count());
            if (maxPerMinute > 60)
            {
                r.BotsEventRate += events.Count;
                continue;
            }
            var session = new List<Event>();
            foreach (var e in events)
            {
                if (session.Count > 0 && e.At - session[^1].At > TimeSpan.FromMinutes(30))
                {
                    Close(r, session);
                    session = [];
                }
                session.Add(e);
            }
            Close(r, session);
        }
        return r;
    }

    private static void Close(Result r, List<Event> events)
    {
        var s = new Session { Events = events };
        if (s.Span > TimeSpan.FromDays(3))
        {
            r.Quarantined["session_too_long"] += events.Count;
            return;
        }
        r.Sessions.Add(s);
        r.Kept.AddRange(events);
    }

    /// <summary>The channel of a landing event, by the pipeline's rules (utm first, then the referrer host).</summary>
    public static string Channel(Event landing)
    {
        string? medium = null, source = null;
        var url = landing.PageUrl ?? "";
        var q = url.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            foreach (var kv in url[(q + 1)..].Split('&'))
            {
                var eq = kv.IndexOf('=', StringComparison.Ordinal);
                if (eq < 0)
                {
                    continue;
                }
                var (k, v) = (kv[..eq], Uri.UnescapeDataString(kv[(eq + 1)..]).ToLowerInvariant());
                if (k == "utm_medium")
                {
                    medium = v;
                }
                else if (k == "utm_source")
                {
                    source = v;
                }
            }
        }
        if (medium is not null || source is not null)
        {
            var search = source is not null && SearchEngines.Contains(source);
            var social = source is not null && SocialNetworks.Contains(source);
            return (medium, search, social) switch
            {
                ("cpc", true, _) => "paid_search",
                ("cpc" or "paid_social", _, true) => "paid_social",
                ("email", _, _) => "email",
                ("affiliate", _, _) => "affiliate",
                _ => "unclassified_utm",
            };
        }
        if (landing.Referrer is null)
        {
            return "direct";
        }
        var host = new Uri(landing.Referrer).Host;
        if (host == "shop.example.com")
        {
            return "internal";
        }
        if (SocialNetworks.Any(s => host.Contains(s, StringComparison.Ordinal)))
        {
            return "organic_social";
        }
        return SearchEngines.Any(s => host.Contains(s, StringComparison.Ordinal)) ? "organic_search" : "referral";
    }
}
