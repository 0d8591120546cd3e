using System.Globalization;
using System.Text;
using CsvHelper;
using Pipeline.Core;
using Pipeline.Engine;
using Pipeline.Publishing;
using Pipeline.Runs;
using Pipeline.Stages;

namespace Pipeline.Exports;

/// <summary>
/// <c>pipeline export segments --format csv</c>: the audience list for CRM and ad platforms, one row per customer of
/// the snapshot's rfm/scores (grain: customer_id), left-joined with segments/assignments and ltv/customers of the same
/// as_of. Written with CsvHelper (RFC 4180 quoting, invariant culture, UTF-8 without BOM), every text field passed
/// through <see cref="SpreadsheetSafe"/>, atomically: a temp file in the target folder renamed over the target.
/// </summary>
public static class SegmentsExport
{
    public const string ExportsFolder = "exports";

    /// <summary>The CSV's columns: fixed ones, then clv_&lt;h&gt;d per configured horizon.</summary>
    public static IReadOnlyList<string> Columns(IReadOnlyList<int> horizonsDays) =>
        ["customer_id", "rfm_segment", "rfm_cell", "kmeans_segment", "p_alive", .. horizonsDays.Select(h => $"clv_{h}d")];

    /// <summary>Writes the export and returns its path and row count.</summary>
    /// <param name="run">The run (output directory, engine, config).</param>
    /// <param name="asOf">Snapshot YYYY-MM-DD; null = the latest as_of found in the three tables.</param>
    /// <param name="outputFile">Target file; null = <c>&lt;output&gt;/exports/segments-&lt;as_of&gt;.csv</c>.</param>
    public static (string Path, long Rows) Run(JobRun run, string? asOf, string? outputFile)
    {
        (string Path, long Rows) result = ("", 0);
        run.Stage("export-segments", report =>
        {
            var root = run.Config.Output;
            var sources = new (string Table, string Command)[]
            {
                (TableNames.RfmScores, "rfm"), (TableNames.SegmentAssignments, "segment"), (TableNames.LtvCustomers, "ltv"),
            };
            var snapshot = asOf ?? LatestAsOf(root, sources.Select(s => s.Table))
                ?? throw PipelineException.Input(
                    $"no customer snapshots under {root}: run `pipeline features`, then `pipeline rfm`, `pipeline segment` and `pipeline ltv` first");
            var missing = sources.Where(s => !OutputStore.HasParquet(Partition(root, s.Table, snapshot))).ToList();
            if (missing.Count > 0)
            {
                throw PipelineException.Input(
                    $"no {string.Join(", ", missing.Select(m => m.Table))} for as_of {snapshot} under {root}: run " +
                    string.Join(", ", missing.Select(m => $"`pipeline {m.Command} --as-of {snapshot}`")) + " first");
            }
            var horizons = run.Config.Analytics.Ltv.HorizonsDays;
            var ltvDir = Partition(root, TableNames.LtvCustomers, snapshot);
            var ltvColumns = ParquetColumns(ltvDir);
            var absent = horizons.Select(h => $"clv_{h}d").Where(c => !ltvColumns.Contains(c)).ToList();
            if (absent.Count > 0)
            {
                throw PipelineException.Input(
                    $"{TableNames.LtvCustomers} for as_of {snapshot} has no {string.Join(", ", absent)} (its horizons differ from analytics.ltv.horizons_days): " +
                    $"run `pipeline ltv --as-of {snapshot}` with this configuration first");
            }

            var engine = run.Engine;
            var sql = ExportsSql.Segments(engine.Dialect, engine.ParquetRelation(Partition(root, TableNames.RfmScores, snapshot)),
                engine.ParquetRelation(Partition(root, TableNames.SegmentAssignments, snapshot)), engine.ParquetRelation(ltvDir), horizons);
            var target = Path.GetFullPath(outputFile ?? Path.Combine(root, ExportsFolder, $"segments-{snapshot}.csv"));
            var rows = WriteCsvAtomically(target, Columns(horizons), write => engine.ForEachRow(sql, write));
            report.RowsRead = rows;
            report.RowsWritten = rows;
            report.Counts["customers"] = rows;
            run.Manifest.Outputs.Add(new ManifestOutput($"{ExportsFolder}/segments", target, rows, 0));
            result = (target, rows);
        });
        return result;
    }

    /// <summary>
    /// Writes rows to a temp file beside <paramref name="target"/>, flushes it to disk and renames it over the target,
    /// so a reader sees the old file or the new one, never a part. Text values are neutralised (<see cref="SpreadsheetSafe"/>,
    /// which also catches triggers after leading whitespace); numbers are written with the invariant culture's
    /// round-trip format; NULL is an empty field.
    /// </summary>
    internal static long WriteCsvAtomically(string target, IReadOnlyList<string> header, Action<Action<System.Data.IDataRecord>> produce)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temp = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Environment.ProcessId}.tmp");
        long rows = 0;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true))
                using (var csv = CsvWriter.Create(writer, CsvFormat.Options, leaveOpen: true))
                {
                    foreach (var h in header)
                    {
                        csv.WriteField(h);
                    }
                    csv.EndRecord();
                    produce(record =>
                    {
                        for (var i = 0; i < record.FieldCount; i++)
                        {
                            csv.WriteField(Field(record, i));
                        }
                        csv.EndRecord();
                        rows++;
                    });
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
        return rows;
    }

    private static string? Field(System.Data.IDataRecord record, int i)
    {
        if (record.IsDBNull(i))
        {
            return null;
        }
        return record.GetValue(i) switch
        {
            string s => SpreadsheetSafe.Neutralise(s),
            double v => v.ToString("R", CultureInfo.InvariantCulture),
            float v => v.ToString("R", CultureInfo.InvariantCulture),
            decimal v => v.ToString(CultureInfo.InvariantCulture),
            int or long or short or byte => Convert.ToString(record.GetValue(i), CultureInfo.InvariantCulture),
            var other => SpreadsheetSafe.Neutralise(Convert.ToString(other, CultureInfo.InvariantCulture)),
        };
    }

    /// <summary>The latest <c>as_of=YYYY-MM-DD</c> partition found in any of the tables, or null.</summary>
    private static string? LatestAsOf(string root, IEnumerable<string> tables) => tables
        .Select(t => Path.Combine(root, t))
        .Where(Directory.Exists)
        .SelectMany(Directory.GetDirectories)
        .Select(Path.GetFileName)
        .Where(n => n is not null && n.StartsWith("as_of=", StringComparison.Ordinal) && HasDate(n[6..]))
        .Select(n => n![6..])
        .Order(StringComparer.Ordinal)
        .LastOrDefault();

    private static bool HasDate(string s) => DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    private static string Partition(string root, string table, string asOf) => Path.Combine(root, table, "as_of=" + asOf);

    private static HashSet<string> ParquetColumns(string dir)
    {
        var file = Directory.EnumerateFiles(dir, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal).First();
        using var stream = File.OpenRead(file);
        var reader = Parquet.ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
        try
        {
            return reader.Schema.Fields.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
