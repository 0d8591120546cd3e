using NUnit.Framework;
using Pipeline.Engine.Spark;

namespace Pipeline.Tests.Engine.Spark;

[TestFixture]
public sealed class SparkConnectionStringTests
{
    [Test]
    public void Host_only_uses_default_port_and_plaintext()
    {
        var cs = SparkConnectionString.Parse("sc://spark-master");
        Assert.That(cs.Host, Is.EqualTo("spark-master"));
        Assert.That(cs.Port, Is.EqualTo(15002));
        Assert.That(cs.UseSsl, Is.False);
        Assert.That(cs.Token, Is.Null);
        Assert.That(cs.Headers, Is.Empty);
        Assert.That(cs.Endpoint, Is.EqualTo(new Uri("http://spark-master:15002")));
        Assert.That(SparkConnectionString.Parse("sc://spark-master/").Port, Is.EqualTo(15002));
    }

    [Test]
    public void All_known_parameters_are_parsed()
    {
        var cs = SparkConnectionString.Parse(
            "sc://10.0.0.5:443/;token=abc;user_id=etl;user_agent=nightly;session_id=0F8E2A3C-5B1D-4C7E-9A6F-2D4B8C1E3F5A;grpc_max_message_size=268435456");
        Assert.That(cs.Host, Is.EqualTo("10.0.0.5"));
        Assert.That(cs.Port, Is.EqualTo(443));
        Assert.That(cs.Token, Is.EqualTo("abc"));
        Assert.That(cs.UseSsl, Is.True, "token implies TLS");
        Assert.That(cs.Endpoint.Scheme, Is.EqualTo("https"));
        Assert.That(cs.UserId, Is.EqualTo("etl"));
        Assert.That(cs.UserAgent, Is.EqualTo("nightly"));
        Assert.That(cs.SessionId, Is.EqualTo("0f8e2a3c-5b1d-4c7e-9a6f-2d4b8c1e3f5a"));
        Assert.That(cs.GrpcMaxMessageSize, Is.EqualTo(268435456));
        Assert.That(cs.Headers, Is.Empty);
    }

    [Test]
    public void Token_with_explicit_use_ssl_false_stays_plaintext()
    {
        var cs = SparkConnectionString.Parse("sc://localhost:15002/;token=abc;use_ssl=false");
        Assert.That(cs.UseSsl, Is.False);
        Assert.That(cs.Endpoint.Scheme, Is.EqualTo("http"));
        Assert.That(SparkConnectionString.Parse("sc://localhost/;use_ssl=true").Endpoint.Scheme, Is.EqualTo("https"));
    }

    [Test]
    public void Unknown_parameters_become_headers_in_order_with_decoded_values()
    {
        var cs = SparkConnectionString.Parse("sc://h:1/;x-databricks-cluster-id=0123-456;X-Custom=a%3Bb%20c;");
        Assert.That(cs.Headers, Is.EqualTo(new[]
        {
            new KeyValuePair<string, string>("x-databricks-cluster-id", "0123-456"),
            new KeyValuePair<string, string>("x-custom", "a;b c"),
        }));
    }

    [Test]
    public void Parameter_names_are_case_sensitive()
    {
        var cs = SparkConnectionString.Parse("sc://h/;Token=abc");
        Assert.That(cs.Token, Is.Null);
        Assert.That(cs.UseSsl, Is.False);
        Assert.That(cs.Headers.Single().Key, Is.EqualTo("token"), "an unknown parameter, sent as a header");
    }

    [TestCase("spark_connect", TestName = "underscore (compose service name)")]
    [TestCase("spark-1.internal.example.com", TestName = "dns name")]
    [TestCase("192.168.1.20", TestName = "ipv4")]
    public void Host_names_are_accepted(string host)
    {
        Assert.That(SparkConnectionString.Parse($"sc://{host}:15002/").Host, Is.EqualTo(host));
    }

    [Test]
    public void Ipv6_hosts_are_supported()
    {
        var cs = SparkConnectionString.Parse("sc://[::1]:15003/");
        Assert.That(cs.Host, Is.EqualTo("::1"));
        Assert.That(cs.Port, Is.EqualTo(15003));
        Assert.That(cs.Endpoint, Is.EqualTo(new Uri("http://[::1]:15003")));
    }

    [Test]
    public void ToString_and_Redacted_hide_the_token_and_secret_headers()
    {
        var cs = SparkConnectionString.Parse("sc://h:443/;token=Sup3rS3cret;x-api-key=k3y-value;x-cluster=c1");
        foreach (var text in new[] { cs.ToString(), cs.Redacted })
        {
            Assert.That(text, Does.Not.Contain("Sup3rS3cret").And.Not.Contain("k3y-value"));
            Assert.That(text, Does.Contain("token=***").And.Contain("x-api-key=***").And.Contain("x-cluster=c1"));
            Assert.That(text, Does.StartWith("sc://h:443/"));
        }
        var roundTrip = SparkConnectionString.Parse(SparkConnectionString.Parse("sc://h/;user_id=a%20b;x-c=1").ToString());
        Assert.That(roundTrip.UserId, Is.EqualTo("a b"));
    }

    [TestCase("", TestName = "empty")]
    [TestCase("   ", TestName = "blank")]
    [TestCase("http://host:15002", TestName = "wrong scheme")]
    [TestCase("sc://", TestName = "no host")]
    [TestCase("sc://:15002/", TestName = "empty host")]
    [TestCase("sc://host:abc/", TestName = "port not a number")]
    [TestCase("sc://host:0/", TestName = "port zero")]
    [TestCase("sc://host:70000/", TestName = "port too big")]
    [TestCase("sc://host/token=abc", TestName = "params without semicolon")]
    [TestCase("sc://host/;token", TestName = "param without value")]
    [TestCase("sc://host/;=abc", TestName = "param without name")]
    [TestCase("sc://host/;user_id=a;user_id=b", TestName = "duplicate param")]
    [TestCase("sc://host/;session_id=not-a-uuid", TestName = "session id not a uuid")]
    [TestCase("sc://host/;use_ssl=maybe", TestName = "use_ssl not boolean")]
    [TestCase("sc://host/;grpc_max_message_size=-5", TestName = "negative message size")]
    [TestCase("sc://host/;token=", TestName = "empty token")]
    [TestCase("sc://host/;bad header=1", TestName = "invalid header name")]
    [TestCase("sc://host/;grpc-timeout=1", TestName = "reserved header")]
    [TestCase("sc://host/;authorization=Bearer%20x", TestName = "authorization header as param")]
    [TestCase("sc://user@host/", TestName = "user info")]
    [TestCase("sc://[::1/", TestName = "unterminated ipv6")]
    [TestCase("sc://[nope]:1/", TestName = "bad ipv6")]
    [TestCase("sc://ho st/", TestName = "space in host")]
    [TestCase("sc://host?x=1/", TestName = "query in host")]
    public void Malformed_strings_fail_with_a_one_line_configuration_error(string text)
    {
        var ex = Assert.Throws<SparkConnectionStringException>(() => SparkConnectionString.Parse(text));
        Assert.That(ex!.Kind, Is.EqualTo(SparkErrorKind.Configuration));
        Assert.That(ex.Message, Is.Not.Empty.And.Not.Contain("\n"));
        Assert.That(SparkConnectionString.TryParse(text, out var parsed), Is.False);
        Assert.That(parsed, Is.Null);
    }

    [Test]
    public void Errors_never_echo_a_token_like_value()
    {
        var ex = Assert.Throws<SparkConnectionStringException>(() => SparkConnectionString.Parse("sc://host/;tokenSup3rS3cret"));
        Assert.That(ex!.Message, Does.Not.Contain("Sup3rS3cret"));
        ex = Assert.Throws<SparkConnectionStringException>(() => SparkConnectionString.Parse("sc://host/;token=Sup3rS3cret;token=Sup3rS3cret"));
        Assert.That(ex!.Message, Does.Not.Contain("Sup3rS3cret"));
    }

    [Test]
    public void Retry_policy_backoff_grows_by_the_multiplier_up_to_the_cap()
    {
        var policy = SparkRetryPolicy.Default;
        Assert.That(policy.MaxRetries, Is.EqualTo(15));
        Assert.That(policy.BackoffFor(0), Is.EqualTo(TimeSpan.FromMilliseconds(50)));
        Assert.That(policy.BackoffFor(1), Is.EqualTo(TimeSpan.FromMilliseconds(200)));
        Assert.That(policy.BackoffFor(2), Is.EqualTo(TimeSpan.FromMilliseconds(800)));
        Assert.That(policy.BackoffFor(10), Is.EqualTo(TimeSpan.FromMinutes(1)));
        Assert.That(policy.BackoffFor(1000), Is.EqualTo(TimeSpan.FromMinutes(1)));
    }
}
