using System.Security.Cryptography;
using System.Text;
using Pipeline.Core;

namespace Pipeline.Privacy;

/// <summary>
/// The secret behind every pseudonymous id (<c>email_key</c>, <c>anonymous_key</c>): HMAC-SHA256 with this key.
/// Looked up in order: the <c>PIPELINE_HASH_KEY</c> environment variable, the configured key file, the default key
/// file <c>&lt;output&gt;/_keys/hash.key</c>; when none exists a random key is generated there (owner-only) so
/// the first run works and ids stay stable across runs on the same output. The key is never logged.
/// </summary>
public sealed class HashKey
{
    public const string EnvironmentVariable = "PIPELINE_HASH_KEY";

    private readonly byte[] _key;

    private HashKey(byte[] key, string source)
    {
        _key = key;
        Source = source;
    }

    /// <summary>Where the key came from, for the log ("environment", or a file path) — never the key itself.</summary>
    public string Source { get; }

    /// <summary>True when this call created a new key file.</summary>
    public bool Generated { get; private init; }

    public static HashKey Resolve(string? configuredFile, string outputDirectory)
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            if (string.IsNullOrWhiteSpace(env))
            {
                // Blank is a template that lost its value, not a key: every id would be keyed with a space.
                throw PipelineException.Config($"{EnvironmentVariable} is set but blank: set it to the key, or unset it to use privacy.key_file or {Path.Combine("<output>", "_keys", "hash.key")}");
            }
            return new HashKey(Encoding.UTF8.GetBytes(env), "environment variable " + EnvironmentVariable);
        }
        if (configuredFile is not null)
        {
            if (!File.Exists(configuredFile))
            {
                throw PipelineException.Config($"privacy.key_file: {configuredFile} does not exist (remove the setting to have a key generated)");
            }
            return new HashKey(ReadKeyFile(configuredFile), configuredFile);
        }
        var path = Path.Combine(outputDirectory, "_keys", "hash.key");
        if (File.Exists(path))
        {
            return new HashKey(ReadKeyFile(path), path);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var key = RandomNumberGenerator.GetBytes(32);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, Convert.ToHexStringLower(key) + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(tmp, path, overwrite: false);
        return new HashKey(ReadKeyFile(path), path) { Generated = true };
    }

    /// <summary>A key from bytes (tests, and callers that manage keys themselves).</summary>
    public static HashKey FromBytes(byte[] key) => new((byte[])key.Clone(), "caller");

    private static byte[] ReadKeyFile(string path)
    {
        var text = File.ReadAllText(path).Trim();
        if (text.Length == 0)
        {
            throw PipelineException.Config($"{path}: hash key file is empty");
        }
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>HMAC-SHA256 in C#, the reference the SQL rendering is tested against.</summary>
    public string Hmac(string value) => Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(value)));

    /// <summary>
    /// The HMAC inner and outer pads (RFC 2104): HMAC(K, m) = H((K' xor opad) || H((K' xor ipad) || m)). Handing the
    /// engine the pads lets SQL compute a true HMAC with nothing but SHA-256 and byte concatenation, on any engine.
    /// </summary>
    public (byte[] InnerPad, byte[] OuterPad) Pads()
    {
        var k = new byte[64];
        (_key.Length > 64 ? SHA256.HashData(_key) : _key).CopyTo(k, 0);
        var ipad = new byte[64];
        var opad = new byte[64];
        for (var i = 0; i < 64; i++)
        {
            ipad[i] = (byte)(k[i] ^ 0x36);
            opad[i] = (byte)(k[i] ^ 0x5c);
        }
        return (ipad, opad);
    }
}
