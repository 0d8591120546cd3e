using Apache.Arrow;
using Apache.Arrow.Types;
using NUnit.Framework;
using Pipeline.Engine.Spark;

namespace Pipeline.Tests.Engine.Spark;

/// <summary>
/// What the tests that drive the Spark engine against the in-process fake server share: a fresh server and a fresh
/// temp folder per test, a retry policy that does not wait, and every statement answering one BIGINT row (7) unless a
/// test says otherwise — counts, and harmless for DDL.
/// </summary>
public abstract class FakeSparkFixture
{
    protected static readonly SparkRetryPolicy FastRetry = new() { MaxRetries = 2, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(2), Jitter = 0 };

    private FakeSparkServer? _server;

    private protected FakeSparkServer Server => _server ?? throw new InvalidOperationException("the fake server starts in SetUp");

    private protected FakeSparkService Fake => Server.Service;

    /// <summary>This test's own temp folder (deleted after it).</summary>
    protected string Dir { get; private set; } = "";

    /// <summary>The prefix of the temp folder's name.</summary>
    protected abstract string DirPrefix { get; }

    [SetUp]
    public async Task StartFakeServer()
    {
        _server = await FakeSparkServer.StartAsync();
        Dir = Path.Combine(Path.GetTempPath(), DirPrefix + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
        Fake.OnQuery = _ => [FakeSparkService.Batch(Longs(7))];
    }

    [TearDown]
    public async Task StopFakeServer()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    /// <summary>One BIGINT column <c>n</c> with these values.</summary>
    protected static RecordBatch Longs(params long[] values)
    {
        var b = new Int64Array.Builder();
        foreach (var v in values)
        {
            b.Append(v);
        }
        return new RecordBatch(new Schema([new Field("n", Int64Type.Default, false)], null), [b.Build()], values.Length);
    }
}
