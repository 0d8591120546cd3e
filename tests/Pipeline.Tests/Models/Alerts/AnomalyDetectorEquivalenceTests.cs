using NUnit.Framework;
using Pipeline.Models.Alerts;

namespace Pipeline.Tests.Models.Alerts;

/// <summary>
/// The optimised detector (blocks summarised once, sorted weekday runs merged for the MAD) gives the same bits as the
/// straightforward reference on random series of every shape the pipeline meets: smooth amounts, small counts full of
/// ties, signed values, ratios with gaps, ±0, infinities, level shifts; random windows, minimum weeks and known events.
/// </summary>
public class AnomalyDetectorEquivalenceTests
{
    [Test]
    public void The_detector_equals_the_reference_bit_for_bit_on_random_series()
    {
        var rng = new Random(7);
        var first = new DateOnly(2022, 1, 1);
        var compared = 0;
        var assessed = 0;
        var flagged = 0;
        for (var series = 0; series < 300; series++)
        {
            var n = rng.Next(1, 700);
            var shape = series % 6;
            var values = new double[n];
            for (var i = 0; i < n; i++)
            {
                values[i] = shape switch
                {
                    0 => 1000 + 100.0 * (i % 7) + i * 0.1 + 30 * (rng.NextDouble() - 0.5) + (rng.Next(50) == 0 ? 500 : 0),
                    1 => rng.Next(0, 4),
                    2 => Math.Round(rng.NextDouble() * 3) - 1,
                    3 => rng.NextDouble() < 0.2 ? double.NaN : rng.NextDouble() * 0.05,
                    4 => i % 13 == 0 ? 0.0 : -0.0,
                    _ => rng.NextDouble() < 0.05 ? double.PositiveInfinity : (i > n / 2 ? 50 : 10) + rng.Next(0, 5),
                };
            }
            var events = new HashSet<DateOnly>();
            var eventCount = rng.Next(0, 20);
            for (var e = 0; e < eventCount; e++)
            {
                events.Add(first.AddDays(rng.Next(0, n)));
            }
            var window = 7 * rng.Next(3, 12);
            var options = new DetectorOptions { WindowDays = window, MinWeeks = rng.Next(2, (window / 7) + 1), KnownEvents = events };
            var kind = (SeriesKind)(series % 3);

            var expected = AnomalyDetectorReference.Assess(first, values, kind, options);
            var actual = AnomalyDetector.Assess(first, values, kind, options);

            Assert.That(actual, Has.Length.EqualTo(expected.Length));
            for (var i = 0; i < n; i++)
            {
                var (x, y) = (expected[i], actual[i]);
                var where = $"series {series} (shape {shape}, window {window}), day {i}";
                Assert.That(y.Assessed, Is.EqualTo(x.Assessed), where);
                Assert.That(y.Severity, Is.EqualTo(x.Severity), where);
                Assert.That(y.KnownEvent, Is.EqualTo(x.KnownEvent), where);
                Assert.That(Bits(y.Value), Is.EqualTo(Bits(x.Value)), where);
                Assert.That(Bits(y.Expected), Is.EqualTo(Bits(x.Expected)), where);
                Assert.That(Bits(y.Scale), Is.EqualTo(Bits(x.Scale)), where);
                Assert.That(Bits(y.Score), Is.EqualTo(Bits(x.Score)), where);
                compared++;
                assessed += x.Assessed ? 1 : 0;
                flagged += x.Severity != Severity.None ? 1 : 0;
            }
        }
        // The comparison covered assessed and flagged days, not only days without history.
        Assert.That(compared, Is.GreaterThan(50_000));
        Assert.That(assessed, Is.GreaterThan(compared / 2));
        Assert.That(flagged, Is.GreaterThan(100));
    }

    private static long Bits(double value) => BitConverter.DoubleToInt64Bits(value);
}
