using NUnit.Framework;
using Pipeline.Generate;

namespace Pipeline.Tests.Generate;

/// <summary>Re-reads the generated files independently and recounts every fault class from the rows themselves.</summary>
[TestFixture]
public sealed class OrderGeneratorAccountingTests
{
    private static readonly string[] ThreeMonths = ["orders-2024-01.csv", "orders-2024-02.csv", "orders-2024-03.csv"];
    private string _dir = "";
    private GroundTruth _truth = null!;
    private IReadOnlyList<GeneratedFiles.FileRead> _files = [];

    [OneTimeSetUp]
    public void Generate()
    {
        _dir = TestPaths.NewTempDir("generate-accounting");
        _truth = OrderGenerator.Generate(new GenerateOptions
        {
            OutputDirectory = _dir,
            Customers = 3000,
            Days = 365,
            Seed = 11,
            Faults = true,
        });
        _files = GeneratedFiles.ReadAll(_dir);
    }

    [OneTimeTearDown]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Ground_truth_file_matches_returned_truth()
    {
        var loaded = GroundTruth.Load(Path.Combine(_dir, GroundTruth.FileName));
        Assert.That(loaded.ToJson(), Is.EqualTo(_truth.ToJson()));
        var json = File.ReadAllText(Path.Combine(_dir, GroundTruth.FileName));
        Assert.That(json, Does.Contain("\"rows_valid_unique\"").And.Contain("\"malformed_row\"").And.Contain("\"unit\": \"day\""));
    }

    [Test]
    public void Files_have_header_and_recorded_variety()
    {
        Assert.That(_files.Select(f => f.Name), Is.EqualTo(_truth.Files.Select(f => f.Name)));
        foreach (var (read, info) in _files.Zip(_truth.Files))
        {
            using (Assert.EnterMultipleScope())
            {
                Assert.That(read.HeaderLine, Is.EqualTo(GeneratedFiles.Header), read.Name);
                Assert.That(read.Bom, Is.EqualTo(info.Bom), read.Name);
                Assert.That(read.Crlf, Is.EqualTo(info.Crlf), read.Name);
                Assert.That(read.Gzip, Is.EqualTo(info.Gzip), read.Name);
                Assert.That(read.Name.EndsWith(".csv.gz", StringComparison.Ordinal), Is.EqualTo(info.Gzip), read.Name);
                Assert.That((long)read.Lines.Count, Is.EqualTo(info.Rows), read.Name);
            }
        }
        Assert.That(_truth.Files.Count(f => f.Bom), Is.EqualTo(1));
        Assert.That(_truth.Files.Count(f => f.Crlf), Is.EqualTo(1));
        Assert.That(_truth.Files.Count(f => f.Gzip), Is.EqualTo(1));
        Assert.That(_truth.Files, Has.Count.GreaterThanOrEqualTo(12));
    }

    [Test]
    public void Every_fault_class_recounted_from_rows_equals_ground_truth()
    {
        var (rows, validUnique, duplicates, dupSame, dupLater, quarantined) = GeneratedFiles.Recount(_files, _truth.Orders.FutureTimestampAfter);

        var q = _truth.Orders.Quarantined;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rows, Is.EqualTo(_truth.Orders.RowsRead));
            Assert.That(validUnique, Is.EqualTo(_truth.Orders.RowsValidUnique));
            Assert.That(duplicates, Is.EqualTo(_truth.Orders.Duplicates));
            Assert.That(dupSame, Is.EqualTo(_truth.Orders.DuplicatesSameFile));
            Assert.That(dupLater, Is.EqualTo(_truth.Orders.DuplicatesLaterFile));
            Assert.That(quarantined.GetValueOrDefault("malformed_row"), Is.EqualTo(q.MalformedRow));
            Assert.That(quarantined.GetValueOrDefault("bad_timestamp"), Is.EqualTo(q.BadTimestamp));
            Assert.That(quarantined.GetValueOrDefault("missing_order_id"), Is.EqualTo(q.MissingOrderId));
            Assert.That(quarantined.GetValueOrDefault("bad_amount"), Is.EqualTo(q.BadAmount));
            Assert.That(quarantined.GetValueOrDefault("unknown_status"), Is.EqualTo(q.UnknownStatus));
            Assert.That(quarantined.GetValueOrDefault("future_timestamp"), Is.EqualTo(q.FutureTimestamp));
            Assert.That(quarantined.Keys, Is.SubsetOf(OrderGenerator.QuarantineReasons));
            Assert.That(_truth.Orders.RowsRead,
                Is.EqualTo(_truth.Orders.RowsValidUnique + _truth.Orders.Duplicates + q.Total), "invariant");
            Assert.That(_truth.Orders.Duplicates, Is.EqualTo(_truth.Orders.DuplicatesSameFile + _truth.Orders.DuplicatesLaterFile));
        }

        // Every class occurs, and duplicates land both in the same and in a later file.
        Assert.That(new[] { q.MalformedRow, q.BadTimestamp, q.MissingOrderId, q.BadAmount, q.UnknownStatus, q.FutureTimestamp },
            Has.All.GreaterThan(0));
        Assert.That(dupSame, Is.GreaterThan(0));
        Assert.That(dupLater, Is.GreaterThan(0));
    }

    [Test]
    public void Valid_rows_recount_process_noise_and_formats()
    {
        var start = new DateTimeOffset(_truth.StartDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var seen = new HashSet<string>();
        var customers = new HashSet<string>();
        long process = 0, cancelled = 0, refunded = 0, guests = 0;
        long isoZ = 0, isoOffset = 0, epochS = 0, epochMs = 0, caseVariants = 0, emptyEmail = 0;
        decimal revenue = 0;
        foreach (var line in _files.SelectMany(f => f.Lines))
        {
            var f = GeneratedFiles.ParseCsv(line);
            if (GeneratedFiles.Faults(f, _truth.Orders.FutureTimestampAfter).Count > 0 || !seen.Add(f[0]))
            {
                continue;
            }
            Assert.That(f[0], Does.Match("^O[0-9]{8}$"));
            Assert.That(f[1], Does.Match("^(C[0-9]{7})?$"));
            Assert.That(f[4], Is.EqualTo("USD"));
            Assert.That(f[11], Is.AnyOf("organic_search", "paid_search", "email", "direct", "social", "referral"));
            Assert.That(GeneratedFiles.TryParseInstant(f[2], out var at), Is.True);
            Assert.That(at, Is.GreaterThanOrEqualTo(start).And.LessThan(_truth.ObservationEnd), line);
            Assert.That(f[2].EndsWith('Z') || f[2].EndsWith("+08:00", StringComparison.Ordinal) || f[2].Length is 10 or 13, Is.True, line);
            isoZ += f[2].EndsWith('Z') ? 1 : 0;
            isoOffset += f[2].EndsWith("+08:00", StringComparison.Ordinal) ? 1 : 0;
            epochS += f[2].Length == 10 ? 1 : 0;
            epochMs += f[2].Length == 13 ? 1 : 0;
            caseVariants += f[3] is "completed" or "cancelled" or "refunded" ? 0 : 1;
            emptyEmail += f[10].Length == 0 ? 1 : 0;
            if (f[10].Length > 0)
            {
                Assert.That(f[10], Does.Match("^(c[0-9]{7}|guest[0-9]{7})@example\\.com$"));
            }

            var total = GeneratedFiles.Amount(f[5]);
            Assert.That(total, Is.GreaterThan(0m));
            foreach (var part in new[] { f[6], f[7], f[8] })
            {
                if (part.Length > 0)
                {
                    Assert.That(GeneratedFiles.TryParseAmount(part, out var v), Is.True, line);
                    Assert.That(v, Is.InRange(0m, total), line);
                }
            }

            var status = f[3].ToLowerInvariant();
            if (status == "refunded")
            {
                refunded++;
                Assert.That(f[9], Is.EqualTo(f[5]), "refunded_amount = total_amount");
            }
            else
            {
                Assert.That(f[9], Is.Empty, line);
            }
            if (status == "cancelled")
            {
                cancelled++;
            }
            if (f[1].Length == 0)
            {
                guests++;
                Assert.That(status, Is.EqualTo("completed"));
            }
            else if (status == "completed")
            {
                process++;
                revenue += total;
                customers.Add(f[1]);
                Assert.That(f[10], Is.Empty.Or.EqualTo("c" + f[1][1..] + "@example.com"));
            }
        }

        var c = _truth.Counts;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(process, Is.EqualTo(c.ProcessPurchases));
            Assert.That(c.ProcessPurchases, Is.EqualTo(c.Customers + c.RepeatPurchases));
            Assert.That((long)customers.Count, Is.EqualTo(c.Customers));
            Assert.That(revenue, Is.EqualTo(c.ProcessRevenue));
            Assert.That(cancelled, Is.EqualTo(c.NoiseOrders.Cancelled));
            Assert.That(refunded, Is.EqualTo(c.NoiseOrders.Refunded));
            Assert.That(guests, Is.EqualTo(c.NoiseOrders.Guest));
            Assert.That(guests, Is.EqualTo(c.Guests));
            Assert.That(process + c.NoiseOrders.Total, Is.EqualTo(_truth.Orders.RowsValidUnique));
            Assert.That(isoZ, Is.EqualTo(_truth.Formats.OrderedAtIsoUtc));
            Assert.That(isoOffset, Is.EqualTo(_truth.Formats.OrderedAtIsoOffset));
            Assert.That(epochS, Is.EqualTo(_truth.Formats.OrderedAtEpochSeconds));
            Assert.That(epochMs, Is.EqualTo(_truth.Formats.OrderedAtEpochMillis));
            Assert.That(caseVariants, Is.EqualTo(_truth.Formats.StatusCaseVariants));
            Assert.That(emptyEmail, Is.EqualTo(_truth.Formats.EmptyEmail));
        }
        // Noise rates are near the configured ones (~3%, ~2%, ~5% of process purchases).
        Assert.That(cancelled / (double)process, Is.InRange(0.02, 0.04));
        Assert.That(refunded / (double)process, Is.InRange(0.012, 0.028));
        Assert.That(guests / (double)process, Is.InRange(0.04, 0.06));
    }

    [Test]
    public void Without_faults_every_row_is_valid_and_unique()
    {
        var dir = TestPaths.NewTempDir("generate-clean");
        try
        {
            var truth = OrderGenerator.Generate(new GenerateOptions { OutputDirectory = dir, Customers = 500, Days = 90, Seed = 3 });
            var files = GeneratedFiles.ReadAll(dir);
            var ids = new HashSet<string>();
            foreach (var line in files.SelectMany(f => f.Lines))
            {
                var f = GeneratedFiles.ParseCsv(line);
                Assert.That(GeneratedFiles.Faults(f, truth.Orders.FutureTimestampAfter), Is.Empty, line);
                Assert.That(ids.Add(f[0]), Is.True, "unique order_id");
            }
            using (Assert.EnterMultipleScope())
            {
                Assert.That(files.Any(f => f.Bom || f.Crlf || f.Gzip), Is.False);
                Assert.That(truth.Orders.Duplicates, Is.Zero);
                Assert.That(truth.Orders.Quarantined.Total, Is.Zero);
                Assert.That((long)ids.Count, Is.EqualTo(truth.Orders.RowsValidUnique));
                Assert.That(truth.Orders.RowsRead, Is.EqualTo(truth.Orders.RowsValidUnique));
                Assert.That(files.Select(f => f.Name), Is.EqualTo(ThreeMonths));
                Assert.That(truth.EndDate, Is.EqualTo(new DateOnly(2024, 3, 30)));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
