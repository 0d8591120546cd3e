using System.Globalization;
using Pipeline.Models.Ltv;

namespace Pipeline.Tests.Models.Ltv;

/// <summary>Readers for the CDNOW reference files committed under tests/Pipeline.Tests/Data/cdnow (source and licence in its README).</summary>
internal static class CdnowData
{
    public static readonly DateOnly CalibrationEnd = new(1997, 9, 30);
    public static readonly DateOnly HoldoutEnd = new(1998, 6, 30);

    /// <summary>CDNOW_sample.txt: master id, sample id, YYYYMMDD, CDs, dollars; customer id = sample id as an integer string.</summary>
    public static List<Transaction> SampleTransactions()
    {
        var result = new List<Transaction>();
        foreach (var line in File.ReadLines(TestPaths.Cdnow("CDNOW_sample.txt")))
        {
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 0)
            {
                continue;
            }
            string id = int.Parse(f[1], CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
            var date = DateOnly.ParseExact(f[2], "yyyyMMdd", CultureInfo.InvariantCulture);
            result.Add(new Transaction(id, date, double.Parse(f[4], CultureInfo.InvariantCulture)));
        }
        return result;
    }

    public sealed record DerivedRow(string Id, int X, double Tx, double T, double Zbar, int XStar);

    /// <summary>derived_cdnow_sample_cbs_exact.csv (full-precision x, t_x, T, zbar, x_star per sample customer).</summary>
    public static List<DerivedRow> DerivedExact()
    {
        var rows = new List<DerivedRow>();
        foreach (var line in File.ReadLines(TestPaths.Cdnow("derived_cdnow_sample_cbs_exact.csv")).Skip(1))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var f = line.Split(',');
            rows.Add(new DerivedRow(
                f[0], int.Parse(f[3], CultureInfo.InvariantCulture), D(f[4]), D(f[5]), D(f[6]), int.Parse(f[7], CultureInfo.InvariantCulture)));
        }
        return rows;
    }

    /// <summary>cdnow_customers_summary_with_transactions.csv (2-dp lifetimes summary with zbar).</summary>
    public static List<CustomerSummary> LifetimesSummaryWithMonetary()
    {
        var rows = new List<CustomerSummary>();
        foreach (var line in File.ReadLines(TestPaths.Cdnow("cdnow_customers_summary_with_transactions.csv")).Skip(1))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var f = line.Trim().Split(',');
            rows.Add(new CustomerSummary(f[0], int.Parse(f[1], CultureInfo.InvariantCulture), D(f[2]), D(f[3]), D(f[4])));
        }
        return rows;
    }

    private static double D(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
