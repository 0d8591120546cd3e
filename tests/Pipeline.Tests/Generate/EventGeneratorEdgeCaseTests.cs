using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>
/// The event generator driven directly as an observer with hand-made orders: orders at the very start of the
/// period, orders minutes apart (one session checks out twice), same-second orders, and guests.
/// </summary>
[TestFixture]
public sealed class EventGeneratorEdgeCaseTests
{
    [Test]
    public void Crowded_and_boundary_orders_still_get_one_purchase_each_in_consistent_sessions()
    {
        var dir = TestPaths.NewTempDir("generate-events-edge");
        try
        {
            var options = new GenerateOptions
            {
                OutputDirectory = dir, Customers = 40, Days = 10, Seed = 77, Faults = false, AnonymousVisitors = 5,
                UserAgentBots = 1, RateBots = 1,
            };
            var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
            var end = start.AddDays(10);
            var expected = new Dictionary<string, (string? Customer, DateTimeOffset At)>();
            var n = 0;
            OrderFact Order(string? customer, int number, DateTimeOffset at)
            {
                var id = $"O{++n:D8}";
                expected[id] = (customer, at);
                return new OrderFact(id, customer, number, at, customer is null ? OrderKind.Guest : OrderKind.Process, 1000, "social");
            }

            EventsTruth truth;
            using (var gen = new EventGenerator(options))
            {
                TimeSpan[][] patterns =
                [
                    [TimeSpan.Zero],                                                          // at the first instant
                    [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)],                       // same second, 1 s after start
                    [TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(6)],
                    [TimeSpan.FromMinutes(2.5), TimeSpan.FromMinutes(40), TimeSpan.FromMinutes(75), TimeSpan.FromMinutes(76)],
                    [TimeSpan.FromHours(5), TimeSpan.FromHours(5.6), TimeSpan.FromHours(6.3), TimeSpan.FromHours(7.2)],
                    [TimeSpan.FromDays(9.999), TimeSpan.FromDays(10) - TimeSpan.FromSeconds(1)],
                ];
                for (var c = 1; c <= 40; c++)
                {
                    var id = $"C{c:D7}";
                    var orders = patterns[c % patterns.Length].Select(o => Order(id, c, start + o)).ToList();
                    gen.OnCustomer(new CustomerFact(id, c, orders[0].OrderedAt, 0.1, 0.1, true, 1.0), orders);
                    if (c % 4 == 0)
                    {
                        gen.OnGuestOrder(Order(null, 0, start + TimeSpan.FromSeconds(c % 8 == 0 ? 0 : 61)));
                    }
                }
                truth = gen.Complete();
            }

            var read = EventReaderForTests.Classify(dir, truth.Rules.FutureTimestampAfter);
            using (Assert.EnterMultipleScope())
            {
                Assert.That((long)read.Kept.Count, Is.EqualTo(truth.Kept));
                Assert.That((long)read.Sessions.Count, Is.EqualTo(truth.Sessions));
                Assert.That((long)read.Sessions.Count(s => s.Converted), Is.EqualTo(truth.ConvertedSessions));
                Assert.That(read.BotsEventRate, Is.EqualTo(truth.Bots.EventRate));
                Assert.That(read.BotsUserAgent, Is.EqualTo(truth.Bots.UserAgent));
                Assert.That(truth.RowsRead, Is.EqualTo(truth.Kept + truth.Bots.Total));
            }
            var purchases = read.Kept.Where(k => k.Type == "purchase").ToList();
            Assert.That(purchases.Select(p => p.OrderId!), Is.EquivalentTo(expected.Keys));
            foreach (var p in purchases)
            {
                var (customer, at) = expected[p.OrderId!];
                Assert.That(p.At, Is.EqualTo(at), p.OrderId);
                Assert.That(p.UserId, Is.EqualTo(customer), p.OrderId);
            }
            foreach (var s in read.Sessions)
            {
                Assert.That(s.Landing.At, Is.GreaterThanOrEqualTo(start));
                Assert.That(s.Events[^1].At, Is.LessThan(end));
                Assert.That(EventReaderForTests.Channel(s.Landing), Is.Not.EqualTo("internal").And.Not.EqualTo("unclassified_utm"));
                // The landing event is strictly first: no tie decides the channel.
                if (s.Events.Count > 1)
                {
                    Assert.That(s.Events[1].At, Is.GreaterThan(s.Landing.At), s.Landing.EventId);
                }
            }
            // Some session checked out twice (orders minutes apart on one device).
            Assert.That(read.Sessions.Any(s => s.Events.Count(e => e.Type == "purchase") >= 2), Is.True);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Complete_twice_is_rejected()
    {
        var dir = TestPaths.NewTempDir("generate-events-twice");
        try
        {
            using var gen = new EventGenerator(new GenerateOptions { OutputDirectory = dir, Customers = 1, Days = 3, AnonymousVisitors = 1 });
            gen.Complete();
            Assert.Throws<InvalidOperationException>(() => gen.Complete());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
