using NUnit.Framework;
using Pipeline.Models;

namespace Pipeline.Tests.Models;

/// <summary>The median by selection gives the median of the sorted values, ties and even counts included.</summary>
public class OrderStatisticsTests
{
    [Test]
    public void Median_by_selection_equals_the_median_of_the_sorted_values()
    {
        var random = new Random(8);
        foreach (var size in new[] { 1, 2, 3, 4, 7, 100, 1001, 5000 })
        {
            // Many repeated values (like order counts) and a few distinct ones.
            var values = Enumerable.Range(0, size).Select(_ => random.Next(3) == 0 ? random.NextDouble() * 100 : random.Next(4)).ToArray();
            var sorted = values.Order().ToArray();
            var expected = size % 2 == 1 ? sorted[size / 2] : (sorted[(size / 2) - 1] + sorted[size / 2]) / 2;

            Assert.That(OrderStatistics.Median(values.ToArray()), Is.EqualTo(expected), $"size {size}");
        }
    }

    [Test]
    public void The_median_agrees_with_sorting()
    {
        var rng = new Random(5);
        for (var n = 1; n < 80; n++)
        {
            // Ties included (values rounded to a few levels).
            var values = Enumerable.Range(0, n).Select(_ => (double)rng.Next(0, n / 3 + 2)).ToArray();
            var sorted = values.Order().ToArray();
            var expected = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            Assert.That(OrderStatistics.Median(values), Is.EqualTo(expected), $"n = {n}");
        }
    }
}
