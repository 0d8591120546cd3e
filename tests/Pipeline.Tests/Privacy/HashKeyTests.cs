using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using Pipeline.Engine.DuckDb;
using Pipeline.Privacy;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Privacy;

public class HashKeyTests
{
    [TestCase("short key")]
    [TestCase("a key that is longer than the sixty-four byte block of SHA-256, so HMAC hashes it first")]
    public void The_sql_rendering_of_hmac_equals_dotnet_hmacsha256(string key)
    {
        var hk = HashKey.FromBytes(Encoding.UTF8.GetBytes(key));
        var (ipad, opad) = hk.Pads();
        using var engine = new DuckDbEngine(new DuckDbOptions());
        engine.RegisterHashKey(ipad, opad);
        var d = engine.Dialect;
        var rows = engine.Query($"SELECT v, {d.HmacHex("v")} FROM (VALUES ('alice@example.com'), ('Zoë ☕'), ('')) t(v) CROSS JOIN _hmac_key k ORDER BY v");
        foreach (var row in rows)
        {
            var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes((string)row[0]!)));
            Assert.That(row[1], Is.EqualTo(expected), $"value '{row[0]}'");
        }
        Assert.That(hk.Hmac("alice@example.com"), Is.EqualTo(rows.Single(r => (string)r[0]! == "alice@example.com")[1]));
    }

    [Test]
    public void A_key_is_generated_once_with_owner_only_permissions_and_reused()
    {
        var dir = TestPaths.NewTempDir("key");
        var previous = Environment.GetEnvironmentVariable(HashKey.EnvironmentVariable);
        Environment.SetEnvironmentVariable(HashKey.EnvironmentVariable, null);
        try
        {
            var first = HashKey.Resolve(null, dir);
            var second = HashKey.Resolve(null, dir);
            Assert.Multiple(() =>
            {
                Assert.That(first.Generated, Is.True);
                Assert.That(second.Generated, Is.False);
                Assert.That(second.Hmac("x"), Is.EqualTo(first.Hmac("x")));
                if (!OperatingSystem.IsWindows())
                {
                    Assert.That(File.GetUnixFileMode(first.Source), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
                }
                Assert.That(first.Source, Does.Not.Contain(File.ReadAllText(first.Source).Trim()), "the source names a path, never the key");
            });
            Environment.SetEnvironmentVariable(HashKey.EnvironmentVariable, "from-env");
            var env = HashKey.Resolve(null, dir);
            Assert.That(env.Hmac("x"), Is.Not.EqualTo(first.Hmac("x")));
            Assert.That(env.Source, Does.Not.Contain("from-env"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(HashKey.EnvironmentVariable, previous);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void A_blank_key_in_the_environment_is_a_configuration_error()
    {
        var output = TestPaths.NewTempDir("blank-key");
        try
        {
            var r = PipelineCli.RunProcess(new Dictionary<string, string> { [HashKey.EnvironmentVariable] = "   " },
                "clean-orders", "-c", Path.Combine(TestPaths.RepoRoot, "data-samples", "shop.json"), "-o", output);
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).Single(), Does.StartWith("error: PIPELINE_HASH_KEY is set but blank"));
            Assert.That(lines, Has.None.Contains(" at Pipeline."), "no stack trace");
            Assert.That(Directory.Exists(Path.Combine(output, "clean")), Is.False, "nothing published");
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }
}
