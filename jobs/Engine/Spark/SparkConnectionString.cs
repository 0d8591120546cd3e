using System.Globalization;
using System.Text;

namespace Pipeline.Engine.Spark;

/// <summary>
/// A parsed Spark Connect connection string: <c>sc://host[:port]/;param=value;...</c>.
/// </summary>
/// <remarks>
/// <para>Port defaults to 15002. Parameter names are case-sensitive. Known parameters: <c>token</c> (bearer
/// token; implies TLS unless <c>use_ssl=false</c> is given explicitly, e.g. behind an SSH tunnel or in tests),
/// <c>use_ssl</c>, <c>user_id</c>, <c>user_agent</c>, <c>session_id</c> (a UUID),
/// <c>grpc_max_message_size</c> (bytes). Every other parameter becomes a gRPC metadata header sent on each call
/// (e.g. <c>x-databricks-cluster-id</c>). Values are URL-decoded.</para>
/// <para><see cref="ToString"/> and <see cref="Redacted"/> never show the token (nor header values whose names
/// look secret); the token is only reachable through <see cref="Token"/>.</para>
/// </remarks>
public sealed class SparkConnectionString
{
    /// <summary>Spark Connect's default port.</summary>
    public const int DefaultPort = 15002;

    private const string Scheme = "sc://";
    private const string RedactedValue = "***";

    private static readonly string[] SecretHeaderHints = ["token", "secret", "password", "auth", "key", "cookie", "credential"];

    private SparkConnectionString(
        string host, int port, string? token, bool useSsl, string? userId, string? userAgent, string? sessionId,
        int? maxMessageSize, IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        Host = host;
        Port = port;
        Token = token;
        UseSsl = useSsl;
        UserId = userId;
        UserAgent = userAgent;
        SessionId = sessionId;
        GrpcMaxMessageSize = maxMessageSize;
        Headers = headers;
    }

    /// <summary>Host name or IP address (IPv6 without brackets).</summary>
    public string Host { get; }

    /// <summary>TCP port (default <see cref="DefaultPort"/>).</summary>
    public int Port { get; }

    /// <summary>The bearer token, or null. Never log this.</summary>
    public string? Token { get; }

    /// <summary>True when the channel uses TLS (https). Defaults to true when a token is given.</summary>
    public bool UseSsl { get; }

    /// <summary>The <c>user_id</c> parameter, or null.</summary>
    public string? UserId { get; }

    /// <summary>The <c>user_agent</c> parameter, or null.</summary>
    public string? UserAgent { get; }

    /// <summary>The <c>session_id</c> parameter (a canonical lower-case UUID), or null.</summary>
    public string? SessionId { get; }

    /// <summary>The <c>grpc_max_message_size</c> parameter in bytes, or null.</summary>
    public int? GrpcMaxMessageSize { get; }

    /// <summary>Extra gRPC metadata headers (every unknown parameter), in the order given; names lower-case.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The gRPC endpoint: <c>http(s)://host:port</c>.</summary>
    public Uri Endpoint
    {
        get
        {
            var host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
            return new Uri($"{(UseSsl ? "https" : "http")}://{host}:{Port.ToString(CultureInfo.InvariantCulture)}");
        }
    }

    /// <summary>The connection string with the token (and secret-looking header values) replaced by <c>***</c>.</summary>
    public string Redacted
    {
        get
        {
            var sb = new StringBuilder(Scheme);
            sb.Append(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host);
            sb.Append(':').Append(Port.ToString(CultureInfo.InvariantCulture)).Append('/');
            if (Token is not null)
            {
                sb.Append(";token=").Append(RedactedValue);
            }
            sb.Append(";use_ssl=").Append(UseSsl ? "true" : "false");
            AppendIfSet(sb, "user_id", UserId);
            AppendIfSet(sb, "user_agent", UserAgent);
            AppendIfSet(sb, "session_id", SessionId);
            AppendIfSet(sb, "grpc_max_message_size", GrpcMaxMessageSize?.ToString(CultureInfo.InvariantCulture));
            foreach (var (name, value) in Headers)
            {
                if (LooksSecret(name))
                {
                    sb.Append(';').Append(name).Append('=').Append(RedactedValue);
                }
                else
                {
                    AppendIfSet(sb, name, value);
                }
            }
            return sb.ToString();
        }
    }

    /// <summary>Same as <see cref="Redacted"/>: never contains the token.</summary>
    public override string ToString() => Redacted;

    /// <summary>Parses a connection string; throws <see cref="SparkConnectionStringException"/> (message never contains the input's token).</summary>
    public static SparkConnectionString Parse(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new SparkConnectionStringException("Spark connection string is empty; expected sc://host[:port]/;param=value");
        }
        var s = connectionString.Trim();
        if (!s.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new SparkConnectionStringException("Spark connection string must start with 'sc://' (sc://host[:port]/;param=value)");
        }
        var rest = s[Scheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? rest : rest[..slash];
        var tail = slash < 0 ? string.Empty : rest[(slash + 1)..];
        var (host, port) = ParseAuthority(authority);

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var headers = new List<KeyValuePair<string, string>>();
        if (tail.Length > 0)
        {
            if (tail[0] != ';')
            {
                throw new SparkConnectionStringException("Spark connection string: parameters must follow '/;' (sc://host:port/;name=value)");
            }
            var index = 0;
            foreach (var part in tail.Split(';'))
            {
                if (part.Length == 0)
                {
                    continue;
                }
                index++;
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    // The text itself is not echoed: it could be a mistyped token.
                    throw new SparkConnectionStringException(
                        $"Spark connection string: parameter #{index.ToString(CultureInfo.InvariantCulture)} is not of the form name=value");
                }
                var name = part[..eq];
                string value;
                try
                {
                    value = Uri.UnescapeDataString(part[(eq + 1)..]);
                }
                catch (UriFormatException)
                {
                    throw new SparkConnectionStringException($"Spark connection string: parameter '{SafeName(name)}' has a malformed %-escaped value");
                }
                if (!parameters.TryAdd(name, value))
                {
                    throw new SparkConnectionStringException($"Spark connection string: parameter '{SafeName(name)}' is given twice");
                }
                if (!IsKnown(name))
                {
                    ValidateHeaderName(name);
                    headers.Add(new KeyValuePair<string, string>(name.ToLowerInvariant(), value));
                }
            }
        }

        var token = parameters.GetValueOrDefault("token");
        if (token is not null && token.Length == 0)
        {
            throw new SparkConnectionStringException("Spark connection string: 'token' is empty");
        }
        bool useSsl = token is not null;
        if (parameters.TryGetValue("use_ssl", out var ssl))
        {
            useSsl = ssl.ToLowerInvariant() switch
            {
                "true" or "1" => true,
                "false" or "0" => false,
                _ => throw new SparkConnectionStringException($"Spark connection string: use_ssl must be true or false, not '{SafeName(ssl)}'"),
            };
        }
        string? sessionId = null;
        if (parameters.TryGetValue("session_id", out var sid))
        {
            if (!Guid.TryParseExact(sid, "D", out var guid))
            {
                throw new SparkConnectionStringException("Spark connection string: session_id must be a UUID (00112233-4455-6677-8899-aabbccddeeff)");
            }
            sessionId = guid.ToString("D");
        }
        int? maxSize = null;
        if (parameters.TryGetValue("grpc_max_message_size", out var max))
        {
            if (!int.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out var m) || m <= 0)
            {
                throw new SparkConnectionStringException($"Spark connection string: grpc_max_message_size must be a positive integer (bytes), not '{SafeName(max)}'");
            }
            maxSize = m;
        }
        var userId = parameters.GetValueOrDefault("user_id");
        var userAgent = parameters.GetValueOrDefault("user_agent");
        if (userAgent is not null && (userAgent.Length > 2048 || userAgent.Any(c => c < 0x20 || c > 0x7e)))
        {
            throw new SparkConnectionStringException("Spark connection string: user_agent must be printable ASCII of at most 2048 characters");
        }
        return new SparkConnectionString(host, port, token, useSsl, userId, userAgent, sessionId, maxSize, headers);
    }

    /// <summary>Like <see cref="Parse"/>, returning false instead of throwing.</summary>
    public static bool TryParse(string connectionString, out SparkConnectionString? result)
    {
        try
        {
            result = Parse(connectionString);
            return true;
        }
        catch (SparkConnectionStringException)
        {
            result = null;
            return false;
        }
    }

    private static bool IsKnown(string name) =>
        name is "token" or "use_ssl" or "user_id" or "user_agent" or "session_id" or "grpc_max_message_size";

    private static bool LooksSecret(string headerName) =>
        SecretHeaderHints.Any(h => headerName.Contains(h, StringComparison.OrdinalIgnoreCase));

    private static void AppendIfSet(StringBuilder sb, string name, string? value)
    {
        if (value is not null)
        {
            sb.Append(';').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }
    }

    // Names appear in error messages; values never do except for non-secret scalars, and are shortened.
    private static string SafeName(string s) => s.Length <= 40 ? s : s[..40] + "...";

    private static (string Host, int Port) ParseAuthority(string authority)
    {
        if (authority.Length == 0)
        {
            throw new SparkConnectionStringException("Spark connection string has no host (sc://host[:port]/)");
        }
        if (authority.Contains('@', StringComparison.Ordinal))
        {
            throw new SparkConnectionStringException("Spark connection string: user info (user@host) is not supported; use ;token=... or ;user_id=...");
        }
        string host;
        string? portText = null;
        if (authority[0] == '[')
        {
            var close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new SparkConnectionStringException("Spark connection string: unterminated IPv6 address '['");
            }
            host = authority[1..close];
            if (!host.Contains(':', StringComparison.Ordinal))
            {
                throw new SparkConnectionStringException($"Spark connection string: '[{SafeName(host)}]' is not an IPv6 address");
            }
            var after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    throw new SparkConnectionStringException("Spark connection string: expected ':port' after the IPv6 address");
                }
                portText = after[1..];
            }
        }
        else
        {
            var colon = authority.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? null : authority[(colon + 1)..];
        }
        if (host.Length == 0 || !IsValidHost(host))
        {
            throw new SparkConnectionStringException($"Spark connection string: '{SafeName(host)}' is not a valid host name");
        }
        var port = DefaultPort;
        if (portText is not null
            && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            throw new SparkConnectionStringException($"Spark connection string: port '{SafeName(portText)}' is not a number between 1 and 65535");
        }
        return (host, port);
    }

    // DNS names (underscores allowed: container/compose service names), IPv4, or IPv6 (given in brackets).
    private static bool IsValidHost(string host) =>
        host.Contains(':', StringComparison.Ordinal)
            ? System.Net.IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            : host.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && !host.StartsWith('.') && !host.EndsWith('.');

    private static void ValidateHeaderName(string name)
    {
        // gRPC metadata keys: ASCII letters, digits, '-', '_', '.'; "-bin" keys are binary and "grpc-" is reserved.
        var lower = name.ToLowerInvariant();
        if (!lower.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
        {
            throw new SparkConnectionStringException($"Spark connection string: '{SafeName(name)}' is not a valid header name (letters, digits, '-', '_', '.')");
        }
        if (lower.EndsWith("-bin", StringComparison.Ordinal) || lower.StartsWith("grpc-", StringComparison.Ordinal)
            || lower is "authorization" or "te" or "content-type" or "user-agent")
        {
            throw new SparkConnectionStringException($"Spark connection string: header '{SafeName(name)}' is reserved");
        }
    }
}
