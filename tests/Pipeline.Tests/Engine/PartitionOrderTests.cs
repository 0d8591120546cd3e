using NUnit.Framework;
using Pipeline.Engine.DuckDb;

namespace Pipeline.Tests.Engine;

/// <summary>Which partitioned writes may sort each partition instead of the whole table (<see cref="PartitionOrder"/>).</summary>
public class PartitionOrderTests
{
    private static readonly string[] Day = ["event_date"];

    [Test]
    public void A_final_order_by_the_partition_column_then_columns_is_split()
    {
        var (statement, within) = PartitionOrder.Split(
            "SELECT a, event_date FROM t WHERE x > 1 ORDER BY event_date ASC NULLS LAST, session_id ASC NULLS LAST, seq DESC", Day);
        Assert.That(statement, Is.EqualTo("SELECT a, event_date FROM t WHERE x > 1 "));
        Assert.That(within, Is.EqualTo("session_id ASC NULLS LAST, seq DESC"));
        Assert.That(PartitionOrder.Columns(within!), Is.EqualTo(new[] { "session_id", "seq" }));
    }

    [Test]
    public void An_order_by_the_partition_column_alone_leaves_nothing_to_sort_within()
    {
        Assert.That(PartitionOrder.Split("SELECT * FROM t ORDER BY event_date", Day), Is.EqualTo(("SELECT * FROM t ", (string?)null)));
    }

    [TestCase("SELECT * FROM t", TestName = "no ORDER BY")]
    [TestCase("SELECT * FROM t ORDER BY session_id, event_date", TestName = "the partition column not first")]
    [TestCase("SELECT * FROM t ORDER BY event_date, lower(page)", TestName = "an expression")]
    [TestCase("SELECT * FROM t ORDER BY event_date, 2", TestName = "a position")]
    [TestCase("SELECT * FROM (SELECT * FROM t ORDER BY event_date, a) s", TestName = "in a subquery")]
    [TestCase("SELECT a, row_number() OVER (PARTITION BY b ORDER BY event_date, a) AS n FROM t", TestName = "in a window")]
    [TestCase("SELECT * FROM t ORDER BY event_date, a LIMIT 10", TestName = "followed by a LIMIT")]
    public void Any_other_statement_is_sorted_whole(string sql)
    {
        Assert.That(PartitionOrder.Split(sql, Day), Is.EqualTo((sql, (string?)null)));
    }

    [Test]
    public void Several_partition_columns_must_lead_in_their_order()
    {
        string[] both = ["y", "m"];
        Assert.That(PartitionOrder.Split("SELECT * FROM t ORDER BY y, m, id", both), Is.EqualTo(("SELECT * FROM t ", (string?)"id")));
        Assert.That(PartitionOrder.Split("SELECT * FROM t ORDER BY m, y, id", both).Within, Is.Null);
        Assert.That(PartitionOrder.Split("SELECT * FROM t ORDER BY y", both).Within, Is.Null, "fewer keys than partition columns");
        Assert.That(PartitionOrder.Split("SELECT * FROM t ORDER BY y", both).Statement, Is.EqualTo("SELECT * FROM t ORDER BY y"));
    }
}
