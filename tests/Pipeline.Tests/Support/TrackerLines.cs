using System.Globalization;

namespace Pipeline.Tests.Support;

/// <summary>Hand-written tracker events as JSON lines, for the clean-clicks fixtures (slices, identities).</summary>
internal static class TrackerLines
{
    /// <summary>A desktop browser's user agent (no bot pattern).</summary>
    public const string Ua = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/125.0";

    /// <summary>One event on shop.example.com, from 192.0.2.1; <paramref name="user"/> null writes <c>"user_id":null</c>.</summary>
    public static string Line(string id, DateTime at, string anon, string type, string? user = null, string path = "/p", string ua = Ua) =>
        "{" + string.Join(",",
            $"\"event_id\":\"{id}\"",
            $"\"occurred_at\":\"{at.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}\"",
            $"\"anonymous_id\":\"{anon}\"",
            user is null ? "\"user_id\":null" : $"\"user_id\":\"{user}\"",
            $"\"event_type\":\"{type}\"",
            $"\"page_url\":\"https://shop.example.com{path}\"",
            $"\"user_agent\":\"{ua}\"",
            "\"ip\":\"192.0.2.1\"") + "}";
}
