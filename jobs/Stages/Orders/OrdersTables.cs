namespace Pipeline.Stages.Orders;

/// <summary>The tables clean-orders publishes.</summary>
internal static class OrdersTables
{
    public static readonly TableSpec Clean = new(TableNames.CleanOrders, "one row per order", ["order_id"], ["order_date"], [])
    {
        Description = "Typed, deduplicated orders (the latest version of each order_id), amounts in the base currency as DECIMAL.",
    };

    public static readonly TableSpec Quarantine = new(TableNames.QuarantineOrders, "one row per rejected input row", ["source_file", "source_line"], [], [])
    {
        Description = "Every order row that was not kept, with its reason code and the raw line.",
    };
}
