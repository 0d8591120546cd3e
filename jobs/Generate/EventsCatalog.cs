namespace Pipeline.Generate;

/// <summary>The fixed vocabularies of the clickstream: event types, channels, landing variants, pages, user agents.</summary>
internal static class EventsCatalog
{
    public const string Site = "https://shop.example.com";

    public static readonly string[] EventTypes =
        ["page_view", "page_ping", "product_view", "search", "add_to_cart", "remove_from_cart", "begin_checkout", "purchase", "login"];

    public static readonly string[] UnknownEventTypes = ["scroll_depth", "video_play", "form_submit", "heatmap_click"];

    public static readonly string[] BadTimestamps = ["not-a-time", "2024-02-30T10:00:00Z"];

    /// <summary>Channel codes in <see cref="ChannelCounts"/> order.</summary>
    public static readonly string[] Channels =
        ["paid_search", "paid_social", "email", "affiliate", "organic_social", "organic_search", "referral", "direct"];

    public const int PaidSearch = 0, PaidSocial = 1, Email = 2, Affiliate = 3, OrganicSocial = 4, OrganicSearch = 5, Referral = 6, Direct = 7;

    /// <summary>Channel mix of sessions not tied to an order.</summary>
    public static readonly double[] BrowseChannelWeights = [0.17, 0.07, 0.06, 0.03, 0.12, 0.25, 0.08, 0.22];

    /// <summary>Landing variants per channel: the utm query appended to the landing URL (or null) and the external referrer (or null).</summary>
    public static readonly (string? Utm, string? Referrer)[][] Landings = BuildLandings();

    private static (string? Utm, string? Referrer)[][] BuildLandings()
    {
        var paidSearch = new List<(string?, string?)>();
        foreach (var (source, host) in new[] { ("google", "https://www.google.com/"), ("bing", "https://www.bing.com/"), ("baidu", "https://www.baidu.com/") })
        {
            foreach (var campaign in new[] { "spring", "brand", "generic" })
            {
                paidSearch.Add(($"utm_source={source}&utm_medium=cpc&utm_campaign={campaign}", host));
                paidSearch.Add(($"utm_source={source}&utm_medium=cpc&utm_campaign={campaign}", null));
            }
        }
        var paidSocial = new List<(string?, string?)>();
        foreach (var (source, host) in new[]
                 {
                     ("facebook", "https://m.facebook.com/"), ("weibo", "https://www.weibo.com/"),
                     ("douyin", "https://www.douyin.com/"), ("xiaohongshu", "https://www.xiaohongshu.com/explore"),
                 })
        {
            paidSocial.Add(($"utm_source={source}&utm_medium=cpc&utm_campaign=launch", host));
            paidSocial.Add(($"utm_source={source}&utm_medium=paid_social&utm_campaign=kol", null));
        }
        (string?, string?)[] email =
        [
            ("utm_source=newsletter&utm_medium=email&utm_campaign=weekly", null),
            ("utm_source=crm&utm_medium=email&utm_campaign=winback", null),
        ];
        (string?, string?)[] affiliate =
        [
            ("utm_source=partnerhub&utm_medium=affiliate&utm_campaign=cps", "https://deals.example.net/top"),
            ("utm_source=cashbackclub&utm_medium=affiliate&utm_campaign=cps", null),
        ];
        (string?, string?)[] organicSocial =
        [
            (null, "https://www.weibo.com/"), (null, "https://www.douyin.com/"), (null, "https://m.facebook.com/"),
            (null, "https://www.xiaohongshu.com/explore"),
        ];
        (string?, string?)[] organicSearch =
            [(null, "https://www.google.com/"), (null, "https://www.baidu.com/"), (null, "https://www.bing.com/")];
        (string?, string?)[] referral =
        [
            (null, "https://blog.example.org/post/best-gifts"), (null, "https://forum.example.net/t/12345"),
            (null, "https://news.example.com/deals"),
        ];
        (string?, string?)[] direct = [(null, null)];
        return [paidSearch.ToArray(), paidSocial.ToArray(), email, affiliate, organicSocial, organicSearch, referral, direct];
    }

    /// <summary>Maps an order's channel (<see cref="OrderGenerator.Channels"/>) to a session channel; <paramref name="u"/> uniform on [0, 1).</summary>
    public static int FromOrderChannel(string orderChannel, double u) => orderChannel switch
    {
        "organic_search" => OrganicSearch,
        "paid_search" => PaidSearch,
        "email" => Email,
        "direct" => Direct,
        "social" => u < 0.6 ? OrganicSocial : PaidSocial,
        "referral" => u < 0.8 ? Referral : Affiliate,
        _ => Direct,
    };

    public static readonly string[] Categories = ["shoes", "outerwear", "bags", "kitchen", "beauty", "toys", "electronics", "sports"];

    /// <summary>Search terms: the JSON value, and the URL-encoded query value.</summary>
    public static readonly (string Term, string Query)[] SearchTerms =
    [
        ("running shoes", "running+shoes"), ("rain jacket", "rain+jacket"), ("backpack", "backpack"),
        ("coffee grinder", "coffee+grinder"), ("lipstick", "lipstick"), ("lego", "lego"), ("headphones", "headphones"),
        ("yoga mat", "yoga+mat"), ("wool socks", "wool+socks"), ("phone case", "phone+case"),
    ];

    public const int Products = 5000;

    public static readonly string[] DeviceTypes = ["desktop", "mobile", "tablet"];

    public static readonly string[][] BrowserUserAgents =
    [
        [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
        ],
        [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
            "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.118 Mobile Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN",
        ],
        [
            "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Safari/537.36",
        ],
    ];

    /// <summary>Device type weights: desktop, mobile, tablet.</summary>
    public static readonly double[] DeviceWeights = [0.40, 0.52, 0.08];

    public static readonly string[] BotUserAgents =
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/) UptimeRobot monitoring",
    ];

    /// <summary>Case-insensitive substrings that mark a bot user agent (every <see cref="BotUserAgents"/> entry matches; no browser one does).</summary>
    public static readonly string[] BotPatterns =
        ["bot", "crawl", "spider", "slurp", "headless", "googlebot", "bingbot", "baiduspider", "slackbot-linkexpanding", "uptimerobot"];

    public static readonly string[] IpPrefixes = ["203.0.113.", "198.51.100.", "192.0.2."];
}
