namespace Pipeline.Stages.Orders;

/// <summary>The tables clean-orders publishes.</summary>
internal static class OrdersTables
{
    public static readonly TableSpec Clean = new(TableNames.CleanOrders, "one row per order", ["order_id"], ["order_date"],
    [
        new("order_id", "VARCHAR", "The order's id (an id with e-mail-shaped text in it: its keyed hash)."),
        new("customer_id", "VARCHAR", "The customer's id; NULL for guests. An id with e-mail-shaped text in it is its keyed hash (for a lower-case address: its `email_key`)."),
        new("ordered_at", "TIMESTAMP WITH TIME ZONE", "When the order was placed (UTC)."),
        new("status", "VARCHAR", "Canonical status (`returned` for credit notes)."),
        new("currency", "VARCHAR", "The order's own currency (ISO 4217 code)."),
        new("gross_amount", "DECIMAL(18,2)", "What the customer was charged, in `currency` (line-level: goods − discount + shipping + tax), rounded half away from zero to cents."),
        new("discount_amount", "DECIMAL(18,2)", "Discount, in `currency`; 0 when absent."),
        new("shipping_amount", "DECIMAL(18,2)", "Shipping, in `currency`; 0 when absent."),
        new("tax_amount", "DECIMAL(18,2)", "Tax, in `currency`; 0 when absent."),
        new("refunded_amount", "DECIMAL(18,2)", "Refunded, in `currency`; defaults to the whole amount for `refunded`/`returned` orders without one; includes returned lines."),
        new("fx_rate", "DECIMAL(18,8)", "Rate to the base currency used: the FX table's latest rate on or before the order's UTC date, rounded half away from zero to 8 decimals (1 for the base currency)."),
        new("net_revenue", "DECIMAL(18,2)", "(gross_amount − refunded_amount) × fx_rate from this row's own values, rounded half away from zero to cents, in `base_currency`; 0 for cancelled orders; negative for credit notes."),
        new("is_purchase", "BOOLEAN", "Not cancelled and not a credit note (a zero-value order is a purchase)."),
        new("is_guest", "BOOLEAN", "No customer id."),
        new("customer_order_seq", "BIGINT", "1 = the customer's first purchase, in `ordered_at` then `order_id` order, over all the history this run read; NULL for guests and non-purchases."),
        new("is_first_order", "BOOLEAN", "`customer_order_seq = 1`."),
        new("line_count", "INTEGER", "Lines aggregated (1 for order-level input)."),
        new("email_key", "VARCHAR", "HMAC-SHA256 (hex) of the lower-cased, trimmed e-mail; NULL when absent."),
        new("channel", "VARCHAR", "The order's channel as given, lower-cased (e-mail-shaped text redacted)."),
        new("source_file", "VARCHAR", "The input file the order came from."),
        new("order_date", "DATE", "Partition: UTC date of `ordered_at`."),
    ])
    {
        Description = "Typed, deduplicated orders (the latest version of each order_id). Amounts are DECIMAL(18,2), each rounded once to cents (half away from zero) in the order's currency; net_revenue is converted to the base currency from those cents.",
    };

    public static readonly TableSpec Quarantine = new(TableNames.QuarantineOrders, "one row per rejected input row", ["source_file", "source_line"], [],
        QuarantineTables.With("The row as text, e-mail addresses replaced by `<email redacted>`."))
    {
        Description = "Every order row that was not kept, with its reason code and the raw line.",
    };
}
