using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using Pipeline.Engine;
using Pipeline.Engine.DuckDb;
using Pipeline.Tests.Support;

namespace Pipeline.Tests.Engine;

/// <summary>The DuckDB engine's own parts: how it writes partitioned Parquet (read back with Parquet.Net).</summary>
public class DuckDbEngineTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestPaths.NewTempDir("duckdb-engine");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void A_partitioned_write_keeps_the_statement_order_in_every_file_with_several_threads()
    {
        // 600,000 rows over two threads: DuckDB's own PARTITION_BY appended each thread's sorted chunks in the order the
        // threads finished (duckdb#14349), so files came out unsorted and differed from run to run.
        const int rows = 600_000;
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        var written = engine.WriteParquet(
            $"SELECT CAST(i % 3 AS INTEGER) AS part_no, sha256(CAST(i AS VARCHAR)) AS s FROM range({rows}) t(i) ORDER BY part_no, s",
            _dir, ["part_no"]);

        Assert.That(written, Is.EqualTo(rows));
        var expected = PartsAndHashes(rows, i => i % 3);
        Assert.That(Directory.GetDirectories(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "part_no=0", "part_no=1", "part_no=2" }));
        Assert.That(PartsAndHashesIn(_dir), Is.EqualTo(expected));
    }

    [Test]
    public void Sorting_each_partition_or_the_whole_table_writes_the_same_files()
    {
        // The same rows (part_no = i / 200,000, s = sha256(i)) staged in two orders: by i, so each partition's rows are
        // together and each partition is sorted alone; and by i × 7919 mod 600,000 (a permutation), so every vector holds
        // every partition and the table is sorted whole. Either way the files hold the statement's order, byte for byte.
        const int rows = 600_000;
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        string Rows(string i) => $"SELECT CAST({i} // 200000 AS INTEGER) AS part_no, sha256(CAST({i} AS VARCHAR)) AS s FROM range({rows}) t(j)";
        var together = Path.Combine(_dir, "together");
        var scattered = Path.Combine(_dir, "scattered");
        Assert.That(engine.WriteParquet($"{Rows("j")} ORDER BY part_no, s", together, ["part_no"]), Is.EqualTo(rows));
        Assert.That(engine.WriteParquet($"{Rows("(j * 7919) % 600000")} ORDER BY part_no, s", scattered, ["part_no"]), Is.EqualTo(rows));

        var expected = PartsAndHashes(rows, i => i / 200_000);
        Assert.That(PartsAndHashesIn(together), Is.EqualTo(expected));
        AssertSameFiles(together, scattered, ["part_no=0", "part_no=1", "part_no=2"]);
    }

    [TestCase("j", true)]
    [TestCase("(j * 7919) % 600000", false)]
    public void A_shared_table_is_written_as_it_is_the_same_files_as_its_statement_and_dropped(string i, bool clustered)
    {
        // The sliced clean-clicks run writes each slice's table itself (no staged copy), after appending the rows still
        // pending from earlier slices and moving out those of dates that are not final yet: the files must be those of
        // the statement over the remaining rows, whether the table is in partition order (written a partition at a
        // time) or not (sorted whole first, into a table that takes its name).
        const int rows = 600_000;
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        var select = $"SELECT CAST({i} // 100000 AS INTEGER) AS part_no, sha256(CAST({i} AS VARCHAR)) AS s FROM range({rows}) t(j)";
        var fromStatement = Path.Combine(_dir, "statement");
        var fromTable = Path.Combine(_dir, "table");
        Assert.That(engine.WriteParquet($"SELECT * FROM ({select}) r WHERE part_no < 4 ORDER BY part_no, s", fromStatement, ["part_no"]), Is.EqualTo(400_000));
        // A temp table of the same name must not be what the write reads, drops or renames.
        engine.Materialize("slice_rows", "SELECT 1 AS other");
        engine.MaterializeShared("slice_rows", $"SELECT * FROM ({select}) r WHERE s >= '1'");
        engine.Execute($"INSERT INTO memory.main.slice_rows SELECT * FROM ({select}) r WHERE s < '1'");
        engine.Execute("DELETE FROM memory.main.slice_rows WHERE part_no >= 4");
        Assert.That(engine.ClusteredBy("memory.main.slice_rows", "part_no", 4), Is.EqualTo(clustered), "the path under test");

        Assert.That(engine.WriteTableParquet("slice_rows", "ORDER BY part_no, s", fromTable, ["part_no"]), Is.EqualTo(400_000));
        Assert.That(engine.Query("SELECT count(*) FROM duckdb_tables() WHERE NOT temporary AND (table_name = 'slice_rows' OR table_name LIKE '\\_write\\_%' ESCAPE '\\')")[0][0],
            Is.EqualTo(0L), "the table and any staged copy are dropped");
        Assert.That(engine.Query("SELECT other FROM slice_rows")[0][0], Is.EqualTo(1), "the temp table is untouched");
        Assert.That(Directory.GetDirectories(fromTable).Select(Path.GetFileName), Is.EquivalentTo(new[] { "part_no=0", "part_no=1", "part_no=2", "part_no=3" }));
        var expected = PartsAndHashes(rows, n => n / 100_000).Where(r => string.CompareOrdinal(r.Part, "4") < 0).ToList();
        Assert.That(PartsAndHashesIn(fromTable), Is.EqualTo(expected));
        AssertSameFiles(fromTable, fromStatement, ["part_no=0", "part_no=1", "part_no=2", "part_no=3"]);
    }

    /// <summary>(part, lower-hex SHA-256 of i's text) for i below <paramref name="rows"/>, in (part, hash) order: what the write statements above produce.</summary>
    private static List<(string Part, string S)> PartsAndHashes(int rows, Func<int, int> part) => Enumerable.Range(0, rows)
        .Select(i => (Part: part(i).ToString(System.Globalization.CultureInfo.InvariantCulture),
            S: Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture))))))
        .OrderBy(x => x.Part, StringComparer.Ordinal).ThenBy(x => x.S, StringComparer.Ordinal)
        .ToList();

    /// <summary>The (part_no, s) rows of a written table, partition folders in name order, each file in row order.</summary>
    private static List<(string Part, string S)> PartsAndHashesIn(string directory) =>
        ParquetTable.Read(directory).Select(r => ((string)r["part_no"]!, (string)r["s"]!)).ToList();

    /// <summary>Each partition's file is the same bytes in both tables.</summary>
    private static void AssertSameFiles(string directory, string other, IEnumerable<string> partitions)
    {
        foreach (var part in partitions)
        {
            Assert.That(File.ReadAllBytes(Path.Combine(directory, part, "part-0.parquet")), Is.EqualTo(File.ReadAllBytes(Path.Combine(other, part, "part-0.parquet"))), part);
        }
    }

    [Test]
    public void Rows_in_the_order_of_the_partition_column_count_as_clustered_and_rows_in_no_order_do_not()
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        engine.Execute("SET preserve_insertion_order = true");
        // 200,000 rows in 100 partitions: in order, each vector (2,048 rows) holds one or two of them; in a permuted order
        // each holds nearly all 100.
        engine.Execute("CREATE TABLE main.in_order AS SELECT CAST(j // 2000 AS INTEGER) AS p FROM range(200000) t(j)");
        engine.Execute("CREATE TABLE main.permuted AS SELECT CAST(((j * 7919) % 200000) // 2000 AS INTEGER) AS p FROM range(200000) t(j)");
        // A day's files that also hold a few events of other days: one row in 50 is from another partition.
        engine.Execute("CREATE TABLE main.mostly AS SELECT CAST(CASE WHEN j % 50 = 0 THEN (j * 7919) % 200000 ELSE j END // 2000 AS INTEGER) AS p FROM range(200000) t(j)");
        Assert.That(engine.ClusteredBy("main.in_order", "p", 100), Is.True);
        Assert.That(engine.ClusteredBy("main.permuted", "p", 100), Is.False);
        Assert.That(engine.ClusteredBy("main.mostly", "p", 100), Is.False, "≈ 40 strays per vector: 40 more fetches each");
    }

    [Test]
    public void An_order_by_a_column_that_is_not_written_sorts_the_whole_table()
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        Assert.That(engine.WriteParquet("SELECT CAST(j // 1000 AS INTEGER) AS part_no, j * 2 AS x FROM range(3000) t(j) ORDER BY part_no, j DESC", _dir, ["part_no"]),
            Is.EqualTo(3000));
        var expected = Enumerable.Range(0, 3000).Select(j => (Part: j / 1000, X: 2L * j)).OrderBy(r => r.Part).ThenByDescending(r => r.X).ToList();
        Assert.That(ParquetTable.Read(_dir).Select(r => (int.Parse((string)r["part_no"]!, System.Globalization.CultureInfo.InvariantCulture), (long)r["x"]!)).ToList(), Is.EqualTo(expected));
    }

    [Test]
    public void The_thread_pool_is_given_back_after_the_worker_connections_finish_or_fail()
    {
        // The partitions are written on worker connections with DuckDB's pool cut to none meanwhile; every statement
        // after them must have the configured threads again, also when a worker fails.
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        long Threads() => Convert.ToInt64(engine.Query("SELECT current_setting('threads')")[0][0], System.Globalization.CultureInfo.InvariantCulture);
        const string Rows = "SELECT CAST(i % 3 AS INTEGER) AS part_no, i FROM range(30) t(i)";

        Assert.That(engine.WriteParquet(Rows, Path.Combine(_dir, "ok"), ["part_no"]), Is.EqualTo(30));
        Assert.That(Threads(), Is.EqualTo(2));

        // A file where a partition's folder must go: that worker's write fails.
        var blocked = Path.Combine(_dir, "blocked");
        Directory.CreateDirectory(blocked);
        File.WriteAllText(Path.Combine(blocked, "part_no=1"), "not a folder");
        Assert.That(() => engine.WriteParquet(Rows, blocked, ["part_no"]), Throws.InstanceOf<IOException>());
        Assert.That(Threads(), Is.EqualTo(2));
    }

    [Test]
    public void A_partitioned_write_of_no_rows_writes_no_file()
    {
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        var written = engine.WriteParquet("SELECT DATE '2024-01-01' AS d, 1 AS x WHERE false", _dir, ["d"]);
        Assert.That(written, Is.Zero);
        Assert.That(Directory.GetFiles(_dir, "*.parquet", SearchOption.AllDirectories), Is.Empty);
    }

    [Test]
    public void Sorted_scratch_is_one_file_in_the_order_of_its_key_with_several_threads()
    {
        // The sliced clean-clicks run reads a slice's time range back from the chunks' scratch and relies on each row
        // group holding a narrow, ascending range of the key (row-group statistics then skip the others). 7919 is
        // prime and does not divide 600,000, so k is a permutation of 0..599,999 that arrives out of order.
        const int rows = 600_000;
        using var engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        var written = engine.WriteScratchParquet($"SELECT CAST((i * 7919) % {rows} AS BIGINT) AS k, CAST(i AS VARCHAR) AS payload FROM range({rows}) t(i)", _dir, "k");

        Assert.That(written, Is.EqualTo(rows));
        Assert.That(Directory.GetFiles(_dir, "*.parquet", SearchOption.AllDirectories), Has.Length.EqualTo(1));
        var keys = ParquetTable.Read(_dir).Select(r => (long)r["k"]!).ToList();
        Assert.That(keys, Is.EqualTo(Enumerable.Range(0, rows).Select(i => (long)i)));
    }

    [Test]
    public void Row_group_ranges_come_from_the_files_statistics()
    {
        // One thread keeps the rows in order: row groups of 122,880 rows hold i = 0..122879, 122880..245759 and
        // 245760..299999, and t is i seconds after 2024-03-01 for i < 245,760 (NULL after): the third has no range.
        using IEngine engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        engine.WriteScratchParquet(
            "SELECT i, CASE WHEN i < 245760 THEN TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_seconds(i) END AS t FROM range(300000) r(i)", _dir, null);
        var file = Directory.GetFiles(_dir, "*.parquet").Single();
        var start = (new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc) - DateTime.UnixEpoch).Ticks / 10;
        const long second = 1_000_000;

        Assert.That(engine.RowGroupRanges([file], "t"), Is.EqualTo(new[]
        {
            new RowGroupRange(file, 122_880, start, start + 122_879 * second),
            new RowGroupRange(file, 122_880, start + 122_880 * second, start + 245_759 * second),
            new RowGroupRange(file, 54_240, null, null),
        }));
        Assert.That(engine.RowGroupRanges([], "t"), Is.Empty);
    }

    [Test]
    public void Consecutive_batches_keep_the_files_order_and_split_by_size()
    {
        // Sizes 10, 10, 10, 10, 40, 10, 10 bytes (100 in all) in 4 runs of 25: each file goes to the run its middle
        // byte (5, 15, 25, 35, 60, 85, 95) falls in.
        var files = new[] { 10, 10, 10, 10, 40, 10, 10 }.Select((size, i) =>
        {
            var path = Path.Combine(_dir, $"f{i}.jsonl");
            File.WriteAllText(path, new string('x', size));
            return path;
        }).ToList();
        var names = (List<IReadOnlyList<string>> batches) => batches.Select(b => string.Join(" ", b.Select(Path.GetFileNameWithoutExtension))).ToList();

        Assert.That(names(DuckDbEngine.ConsecutiveBatches(files, 4)), Is.EqualTo(new[] { "f0 f1", "f2 f3", "f4", "f5 f6" }));
        Assert.That(names(DuckDbEngine.ConsecutiveBatches(files, 1)), Is.EqualTo(new[] { "f0 f1 f2 f3 f4 f5 f6" }));
        Assert.That(names(DuckDbEngine.ConsecutiveBatches(files[..2], 8)), Is.EqualTo(new[] { "f0", "f1" }), "no more runs than files");
    }

    [Test]
    public void Columns_written_as_typed_arrays_read_back_with_their_declared_types()
    {
        // The ltv stage writes one row per customer this way: value types required, strings optional, a declared
        // decimal an optional DECIMAL(p, s) holding exactly the amounts given.
        LocalColumn[] columns =
        [
            new("id", typeof(string), new[] { "a", "Ç ☕", "" }),
            new("n", typeof(int), new[] { 1, -2, int.MaxValue }),
            new("x", typeof(double), new[] { 0.1, -1e300, double.Epsilon }),
            new("money", typeof(decimal?), new decimal?[] { 28.31m, null, -0.01m }, (18, 2)),
        ];
        using IEngine engine = new DuckDbEngine(new DuckDbOptions(Threads: 2));
        Assert.That(engine.WriteColumns(columns, 3, _dir), Is.EqualTo(3));

        var types = engine.Query($"SELECT column_name, column_type, \"null\" FROM (DESCRIBE SELECT * FROM {engine.ParquetRelation(_dir)})")
            .Select(r => $"{r[0]} {r[1]}").ToList();
        Assert.That(types, Is.EqualTo(new[] { "id VARCHAR", "n INTEGER", "x DOUBLE", "money DECIMAL(18,2)" }));
        var back = engine.Query($"SELECT id, n, x, money FROM {engine.ParquetRelation(_dir)}");
        Assert.That(back.Select(r => r[0]), Is.EqualTo(new object[] { "a", "Ç ☕", "" }));
        Assert.That(back.Select(r => r[1]), Is.EqualTo(new object[] { 1, -2, int.MaxValue }));
        Assert.That(back.Select(r => r[2]), Is.EqualTo(new object[] { 0.1, -1e300, double.Epsilon }));
        Assert.That(back.Select(r => r[3]), Is.EqualTo(new object?[] { 28.31m, null, -0.01m }));
    }

    [Test]
    public void Columns_of_unequal_length_or_untyped_values_are_refused_by_name()
    {
        using IEngine engine = new DuckDbEngine(new DuckDbOptions(Threads: 1));
        var e = Assert.Throws<ArgumentException>(() => engine.WriteColumns([new LocalColumn("n", typeof(int), new[] { 1, 2 })], 3, _dir))!;
        Assert.That(e.Message, Does.Contain("column n has 2 values for 3 rows"));
        e = Assert.Throws<ArgumentException>(() => engine.WriteColumns([new LocalColumn("n", typeof(int), new List<object?> { 1 })], 1, _dir))!;
        Assert.That(e.Message, Does.Contain("column n"));
    }
}
