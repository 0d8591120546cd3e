namespace Pipeline.Models.Rfm;

/// <summary>
/// The named RFM segments of the usual R × F grid, declared best to worst; this order is also the row
/// order of <see cref="RfmResult.Summary"/>, so reports list segments the way marketers read the grid.
/// </summary>
public enum RfmSegment
{
    /// <summary>R 5, F 4–5.</summary>
    Champions,
    /// <summary>R 4, F 4–5 and R 3, F 4–5.</summary>
    LoyalCustomers,
    /// <summary>R 4–5, F 2–3.</summary>
    PotentialLoyalists,
    /// <summary>R 5, F 1.</summary>
    NewCustomers,
    /// <summary>R 4, F 1.</summary>
    Promising,
    /// <summary>R 3, F 3.</summary>
    NeedAttention,
    /// <summary>R 3, F 1–2.</summary>
    AboutToSleep,
    /// <summary>R 1–2, F 5.</summary>
    CantLoseThem,
    /// <summary>R 1–2, F 3–4.</summary>
    AtRisk,
    /// <summary>R 2, F 1–2 and R 1, F 2.</summary>
    Hibernating,
    /// <summary>R 1, F 1.</summary>
    Lost,
}

/// <summary>Maps R and F scores to the named segment and segments to their display names.</summary>
public static class RfmSegments
{
    // Rows R = 5..1 (index 0 = R5), columns F = 1..5, exactly the table in the domain reference. A full
    // lookup table is the "first match wins" rule list with every cell spelled out, so no cell can fall through.
    private static readonly RfmSegment[][] Grid =
    [
        [RfmSegment.NewCustomers, RfmSegment.PotentialLoyalists, RfmSegment.PotentialLoyalists, RfmSegment.Champions, RfmSegment.Champions],
        [RfmSegment.Promising, RfmSegment.PotentialLoyalists, RfmSegment.PotentialLoyalists, RfmSegment.LoyalCustomers, RfmSegment.LoyalCustomers],
        [RfmSegment.AboutToSleep, RfmSegment.AboutToSleep, RfmSegment.NeedAttention, RfmSegment.LoyalCustomers, RfmSegment.LoyalCustomers],
        [RfmSegment.Hibernating, RfmSegment.Hibernating, RfmSegment.AtRisk, RfmSegment.AtRisk, RfmSegment.CantLoseThem],
        [RfmSegment.Lost, RfmSegment.Hibernating, RfmSegment.AtRisk, RfmSegment.AtRisk, RfmSegment.CantLoseThem],
    ];

    /// <summary>All segments in grid order (best to worst).</summary>
    public static IReadOnlyList<RfmSegment> All { get; } = Enum.GetValues<RfmSegment>();

    /// <summary>The segment of an R score and an F score, each 1–5.</summary>
    public static RfmSegment Classify(int recencyScore, int frequencyScore)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(recencyScore, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(recencyScore, 5);
        ArgumentOutOfRangeException.ThrowIfLessThan(frequencyScore, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frequencyScore, 5);
        return Grid[5 - recencyScore][frequencyScore - 1];
    }

    /// <summary>The conventional display name, e.g. "Can't Lose Them".</summary>
    public static string DisplayName(this RfmSegment segment) => segment switch
    {
        RfmSegment.Champions => "Champions",
        RfmSegment.LoyalCustomers => "Loyal Customers",
        RfmSegment.PotentialLoyalists => "Potential Loyalists",
        RfmSegment.NewCustomers => "New Customers",
        RfmSegment.Promising => "Promising",
        RfmSegment.NeedAttention => "Need Attention",
        RfmSegment.AboutToSleep => "About to Sleep",
        RfmSegment.CantLoseThem => "Can't Lose Them",
        RfmSegment.AtRisk => "At Risk",
        RfmSegment.Hibernating => "Hibernating",
        RfmSegment.Lost => "Lost",
        _ => throw new ArgumentOutOfRangeException(nameof(segment), segment, "Unknown RFM segment."),
    };
}
