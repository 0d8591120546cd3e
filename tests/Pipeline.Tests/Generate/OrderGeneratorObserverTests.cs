using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>The per-order facts a later clickstream generator will consume, and option validation.</summary>
[TestFixture]
public sealed class OrderGeneratorObserverTests
{
    [Test]
    public void Observer_sees_every_valid_order_once_matching_the_files()
    {
        var dir = TestPaths.NewTempDir("generate-observer");
        try
        {
            var observer = new RecordingObserver();
            var truth = OrderGenerator.Generate(
                new GenerateOptions { OutputDirectory = dir, Customers = 800, Days = 180, Seed = 21, Faults = true }, observer);

            var fromFiles = new Dictionary<string, string[]>();
            foreach (var line in GeneratedFiles.ReadAll(dir).SelectMany(f => f.Lines))
            {
                var f = GeneratedFiles.ParseCsv(line);
                if (GeneratedFiles.Faults(f, truth.Orders.FutureTimestampAfter).Count == 0)
                {
                    fromFiles.TryAdd(f[0], f);
                }
            }

            Assert.That((long)observer.Orders.Count, Is.EqualTo(truth.Orders.RowsValidUnique));
            Assert.That(observer.Orders.Select(o => o.OrderId), Is.Unique);
            Assert.That(observer.Customers, Has.Count.EqualTo(truth.Counts.Customers));
            Assert.That(observer.Customers.Sum(c => c.ProcessOrders), Is.EqualTo(truth.Counts.ProcessPurchases));
            Assert.That(observer.Customers.Count(c => c.Fact.AliveAtEnd), Is.EqualTo(truth.Counts.CustomersAliveAtEnd));
            foreach (var o in observer.Orders)
            {
                var row = fromFiles[o.OrderId];
                var at = GeneratedFiles.Instant(row[2]);
                var total = GeneratedFiles.Amount(row[5]);
                using (Assert.EnterMultipleScope())
                {
                    Assert.That(row[1], Is.EqualTo(o.CustomerId ?? ""));
                    Assert.That(at, Is.EqualTo(o.OrderedAt));
                    Assert.That(total, Is.EqualTo(o.TotalCents / 100m));
                    Assert.That(row[11], Is.EqualTo(o.Channel));
                    Assert.That(row[3].ToLowerInvariant(), Is.EqualTo(o.Kind switch
                    {
                        OrderKind.Cancelled => "cancelled",
                        OrderKind.Refunded => "refunded",
                        _ => "completed",
                    }));
                }
            }
            foreach (var c in observer.Customers)
            {
                Assert.That(c.FirstProcessAt, Is.EqualTo(c.Fact.FirstPurchaseAt));
                Assert.That(c.Sorted, Is.True);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Invalid_options_are_rejected()
    {
        var dir = Path.Combine(Path.GetTempPath(), "never-created-" + Guid.NewGuid().ToString("N"));
        var ok = new GenerateOptions { OutputDirectory = dir, Customers = 10, Days = 10 };
        Rejected(() => OrderGenerator.Generate(ok with { Customers = 0 }), "Customers");
        Rejected(() => OrderGenerator.Generate(ok with { Days = -1 }), "Days");
        Rejected(() => OrderGenerator.Generate(ok with { BgAlpha = 0 }), "BgAlpha");
        Rejected(() => OrderGenerator.Generate(ok with { GgQ = double.NaN }), "GgQ");
        Rejected(() => OrderGenerator.Generate(ok with { CancelledRate = 1.5 }), "CancelledRate");
        Rejected(() => OrderGenerator.Generate(ok with { AcquisitionFraction = 0 }), "AcquisitionFraction");
        Rejected(() => OrderGenerator.Generate(ok with { OutputDirectory = " " }), "OutputDirectory");
        Assert.That(Directory.Exists(dir), Is.False);
    }

    /// <summary>Bad options are usage errors (exit 2) naming the option, not ArgumentExceptions a bug could also throw.</summary>
    private static void Rejected(Action generate, string option)
    {
        var e = Assert.Throws<GenerateOptionsException>(() => generate())!;
        Assert.That(e.ParamName, Is.EqualTo(option));
        Assert.That(e.ExitCode, Is.EqualTo(Pipeline.Core.ExitCodes.UsageOrConfig));
        Assert.That(e.Message, Does.Contain(option));
    }

    private sealed class RecordingObserver : IOrderObserver
    {
        public List<OrderFact> Orders { get; } = [];
        public List<(CustomerFact Fact, int ProcessOrders, DateTimeOffset FirstProcessAt, bool Sorted)> Customers { get; } = [];

        public void OnCustomer(in CustomerFact customer, IReadOnlyList<OrderFact> orders)
        {
            var sorted = orders.Zip(orders.Skip(1)).All(p => p.First.OrderedAt <= p.Second.OrderedAt);
            var process = orders.Where(o => o.Kind == OrderKind.Process).ToList();
            var cid = customer.CustomerId;
            if (orders.Any(o => o.CustomerId != cid || o.Kind == OrderKind.Guest))
            {
                throw new InvalidOperationException("order of another customer");
            }
            Customers.Add((customer, process.Count, process.Min(o => o.OrderedAt), sorted));
            Orders.AddRange(orders);
        }

        public void OnGuestOrder(in OrderFact order)
        {
            if (order.Kind != OrderKind.Guest || order.CustomerId is not null)
            {
                throw new InvalidOperationException("guest expected");
            }
            Orders.Add(order);
        }
    }
}
