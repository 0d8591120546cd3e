using Pipeline.Config;
using Pipeline.Engine;

namespace Pipeline.Stages.Orders;

/// <summary>Everything the orders SQL depends on besides the dialect.</summary>
/// <param name="LineLevel">True when rows are order lines (quantity × unit_price) to aggregate per order.</param>
/// <param name="BaseCurrency">Currency net_revenue is expressed in.</param>
/// <param name="SourceTimeZone">Zone of timestamps without an offset.</param>
/// <param name="TimestampFormat">Optional extra strptime format.</param>
/// <param name="Now">The run's reference time for the future-timestamp rule.</param>
/// <param name="FutureTolerance">Allowed clock skew into the future.</param>
/// <param name="MinValidDate">Earlier timestamps are bad_timestamp.</param>
/// <param name="StatusMap">Lower-case source status → canonical status (built-in synonyms plus config).</param>
/// <param name="HasFx">True when an FX relation <c>fx_raw</c> is registered.</param>
/// <param name="RunId">Stamped on quarantine rows.</param>
public sealed record OrdersSqlOptions(
    bool LineLevel,
    string BaseCurrency,
    string SourceTimeZone,
    string? TimestampFormat,
    DateTimeOffset Now,
    TimeSpan FutureTolerance,
    DateOnly MinValidDate,
    IReadOnlyDictionary<string, string> StatusMap,
    bool HasFx,
    string RunId);

/// <summary>
/// The orders stage as SQL, in dbt's layering: <b>staging</b> (<see cref="Typed"/>: one row per input row, typed,
/// with its reason code when it is rejected) then <b>marts</b> (<see cref="CleanOrders"/>: one row per order;
/// <see cref="Quarantine"/>: one row per rejected input row). Each query is input CTEs → logic CTEs → final select,
/// built only from portable SQL and <see cref="ISqlDialect"/> calls, so it renders for DuckDB and Spark alike.
/// </summary>
public static class OrdersSql
{

    /// <summary>Staging: one row per raw row of <c>orders_raw</c>, typed, with reason_code (NULL = valid).</summary>
    public static string Typed(ISqlDialect d, OrdersSqlOptions o)
    {
        string T(string col) => $"NULLIF(trim({d.Id(col)}), '')";
        var statusCase = "CASE status_s " + string.Join(" ", o.StatusMap.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"WHEN {d.Str(kv.Key)} THEN {d.Str(kv.Value)}")) + " END";
        var fxJoin = MoneySql.WithFxCtes(d, o.HasFx, d.Str(o.BaseCurrency), d.DateOf("p.ordered_at"));
        var amountRules = o.LineLevel
            ? new List<Rule>
            {
                new("quantity_s IS NULL OR unit_price_s IS NULL", "missing_amount", "'a line needs quantity and unit_price'"),
                new($"(quantity IS NULL AND NOT {d.FullMatch("quantity_s", DecimalText.Pattern)}) OR quantity = 0 OR quantity <> round(quantity, 0)", "bad_quantity",
                    $"'quantity ' || {Quoted(d, "quantity_s")} || ' is not a non-zero whole number'"),
                new(MoneySql.NotNonNegative(d, "unit_price", "unit_price_s"), "bad_amount", $"'unit_price ' || {Quoted(d, "unit_price_s")} || ' is not a non-negative number'"),
            }
            : new List<Rule>
            {
                new("total_s IS NULL", "missing_amount", "'total_amount is empty'"),
                new(MoneySql.NotNonNegative(d, "total_amount", "total_s"), "bad_amount", $"'total_amount ' || {Quoted(d, "total_s")} || ' is not a non-negative number'"),
                new("status = 'partially_refunded' AND refunded_s IS NULL", "missing_amount", "'a partially_refunded order needs refunded_amount'"),
                new("refunded_amount > total_amount", "bad_amount", "'refunded_amount exceeds total_amount'"),
            };
        var optionalAmounts = new[] { "discount", "shipping", "tax", "refunded" }
            .Select(a => new Rule($"{a}_s IS NOT NULL AND {MoneySql.NotNonNegative(d, a + "_amount", a + "_s")}", "bad_amount",
                $"'{a}_amount ' || {Quoted(d, a + "_s")} || ' is not a non-negative number'"));
        var rules = new List<Rule>
        {
            new("_parse_error IS NOT NULL", "_parse_error", "coalesce(_parse_detail, 'unreadable row')", CodeIsExpression: true),
            new("order_id_s IS NULL", "missing_order_id", "'order_id is empty'"),
            new("ordered_at_s IS NULL", "missing_timestamp", "'ordered_at is empty'"),
            new($"ordered_at IS NULL OR ordered_at < {d.TimestampLiteral(new DateTimeOffset(o.MinValidDate.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero))}",
                "bad_timestamp", $"'ordered_at ' || {Quoted(d, "ordered_at_s")} || ' is not a recognised timestamp on or after {o.MinValidDate:yyyy-MM-dd}'"),
            new($"ordered_at > {d.TimestampLiteral(o.Now + o.FutureTolerance)}", "future_timestamp",
                $"'ordered_at ' || {Quoted(d, "ordered_at_s")} || ' is in the future'"),
            new("status IS NULL", "unknown_status", $"'status ' || {Quoted(d, "status_s")} || ' is not a known status'"),
            new($"NOT {d.FullMatch("currency", "[A-Z]{3}")} OR NOT fx_known", "unknown_currency",
                $"'currency ' || {Quoted(d, "currency")} || ' is not the base currency and has no FX rates'"),
            new("fx_rate IS NULL", "missing_fx_rate", $"'no FX rate for ' || currency || ' on or before the order date'"),
        };
        rules.AddRange(amountRules);
        rules.AddRange(optionalAmounts);
        // Last: numbers out of range. First those too large to read (a DECIMAL(18,4) holds 14 digits before the point),
        rules.AddRange((o.LineLevel ? new[] { "quantity", "unit_price" } : ["total_amount"])
            .Concat(["discount_amount", "shipping_amount", "tax_amount", "refunded_amount"])
            .Select(c => (Value: c, Text: c.Replace("_amount", "", StringComparison.Ordinal) + "_s"))
            .Select(c => new Rule(MoneySql.TooLargeToRead(c.Value, c.Text), OutOfRange,
                $"'{c.Value} ' || {Quoted(d, c.Text)} || ' is too large: numbers are read with at most 14 digits before the point'")));
        // then those that would overflow a published DECIMAL(18,2). Order level: the net revenue; line level: each line's
        // value here, its order's sums below.
        rules.Add(o.LineLevel
            ? new Rule($"NOT {MoneySql.FitsAmount(d, LineValue)}", OutOfRange, "'quantity * unit_price does not fit decimal(18,2)'")
            : new Rule($"NOT {MoneySql.ToBaseFits(d, $"round(total_amount, 2) - round({OrderRefunded}, 2)", "fx_rate")}", OutOfRange,
                "'net revenue in the base currency (total less refunded, times the FX rate) does not fit decimal(18,2)'"));
        var reasonCode = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {(r.CodeIsExpression ? r.Code : d.Str(r.Code))}")) + " END";
        var reasonDetail = "CASE " + string.Join(" ", rules.Select(r => $"WHEN {r.Condition} THEN {r.Detail}")) + " END";
        var ts = (string e) => d.ParseTimestamp(e, o.SourceTimeZone, o.TimestampFormat);
        return $"""
            WITH src AS (
              SELECT _source_file, _source_line, _raw, _parse_error, _parse_detail,
                     {T("order_id")} AS order_id_s, {T("customer_id")} AS customer_id_s, {T("ordered_at")} AS ordered_at_s,
                     {T("updated_at")} AS updated_at_s, lower({T("status")}) AS status_s, upper({T("currency")}) AS currency_s,
                     {T("total_amount")} AS total_s, {T("discount_amount")} AS discount_s, {T("shipping_amount")} AS shipping_s,
                     {T("tax_amount")} AS tax_s, {T("refunded_amount")} AS refunded_s, {T("quantity")} AS quantity_s,
                     {T("unit_price")} AS unit_price_s, {T("email")} AS email_s, lower({T("channel")}) AS channel_s,
                     {T("product_id")} AS product_id_s, {T("category")} AS category_s
              FROM orders_raw
            ),
            parsed AS (
              SELECT src.*,
                     {ts("ordered_at_s")} AS ordered_at,
                     {ts("updated_at_s")} AS updated_at,
                     CASE WHEN status_s IS NULL THEN 'completed' ELSE {statusCase} END AS status,
                     coalesce(currency_s, {d.Str(o.BaseCurrency)}) AS currency,
                     {d.TryDecimal("total_s")} AS total_amount, {d.TryDecimal("discount_s")} AS discount_amount,
                     {d.TryDecimal("shipping_s")} AS shipping_amount, {d.TryDecimal("tax_s")} AS tax_amount,
                     {d.TryDecimal("refunded_s")} AS refunded_amount, {d.TryDecimal("quantity_s")} AS quantity,
                     {d.TryDecimal("unit_price_s")} AS unit_price
              FROM src
            ),
            {fxJoin}
            checked AS (
              SELECT with_fx.*, {reasonCode} AS {(o.LineLevel ? "row_reason_code" : "reason_code")}, {reasonDetail} AS {(o.LineLevel ? "row_reason_detail" : "reason_detail")}
              FROM with_fx
            ){(o.LineLevel ? ",\n" + OrderSumsCtes(d) + "\nSELECT * FROM order_checked" : "\nSELECT * FROM checked")}
            """;
    }

    /// <summary>
    /// Line level: the CTEs <c>order_sums</c> and <c>order_checked</c> over <c>checked</c>. The lines of an order that one
    /// file delivers are what <see cref="CleanOrders"/> aggregates (only the latest file's lines are kept): over the lines
    /// that passed the row checks, their sums and the order's net revenue must fit DECIMAL(18,2) as CleanOrders
    /// computes them; otherwise each of those lines is <c>amount_out_of_range</c>, and an earlier delivery of the order,
    /// if any, is kept instead (duplicates are decided among valid rows). Every line's value fits (a row check), so the
    /// sums cannot overflow.
    /// </summary>
    private static string OrderSumsCtes(ISqlDialect d)
    {
        const string window = "OVER (PARTITION BY order_id_s, _source_file)";
        string Valid(string e) => $"CASE WHEN row_reason_code IS NULL THEN {e} END";
        var gross = "order_sales - coalesce(order_discount, 0) + coalesce(order_shipping, 0) + coalesce(order_tax, 0)";
        var refunded = "order_returns + coalesce(order_refunded, 0)";
        var checks = new (string Fits, string Detail)[]
        {
            (MoneySql.FitsAmount(d, gross), d.Str("the gross amount of the order's lines in this file does not fit decimal(18,2)")),
            (MoneySql.FitsAmount(d, refunded), d.Str("the returns and refunds of the order's lines in this file do not fit decimal(18,2)")),
            (MoneySql.ToBaseFits(d, $"round({gross}, 2) - round({refunded}, 2)", "order_fx_rate"),
                d.Str("the net revenue in the base currency of the order's lines in this file does not fit decimal(18,2)")),
        };
        var code = "CASE WHEN row_reason_code IS NOT NULL THEN row_reason_code " +
                   string.Join(" ", checks.Select(c => $"WHEN NOT {c.Fits} THEN {d.Str(OutOfRange)}")) + " END";
        var detail = "CASE WHEN row_reason_code IS NOT NULL THEN row_reason_detail " +
                     string.Join(" ", checks.Select(c => $"WHEN NOT {c.Fits} THEN {c.Detail}")) + " END";
        return $"""
            order_sums AS (
              SELECT checked.*,
                     sum({Valid($"CASE WHEN quantity > 0 THEN {LineValue} ELSE 0 END")}) {window} AS order_sales,
                     sum({Valid($"CASE WHEN quantity < 0 THEN -{LineValue} ELSE 0 END")}) {window} AS order_returns,
                     max({Valid("discount_amount")}) {window} AS order_discount,
                     max({Valid("shipping_amount")}) {window} AS order_shipping,
                     max({Valid("tax_amount")}) {window} AS order_tax,
                     max({Valid("refunded_amount")}) {window} AS order_refunded,
                     min_by({Valid("fx_rate")}, {Valid("_source_line")}) {window} AS order_fx_rate
              FROM checked
            ),
            order_checked AS (
              SELECT order_sums.*, {code} AS reason_code, {detail} AS reason_detail
              FROM order_sums
            )
            """;
    }

    /// <summary>Valid rows with the dedup decision: <c>is_kept</c> false marks a duplicate (see docs/inputs.md, "Duplicates").</summary>
    public static string Deduplicated(OrdersSqlOptions o) => o.LineLevel
        // Line level: the lines of one order are never duplicates of each other; an order delivered again in a later
        // file replaces the earlier delivery as a whole, so only the lines of its latest file are kept.
        ? """
          WITH valid AS (SELECT * FROM orders_typed WHERE reason_code IS NULL),
          latest AS (SELECT valid.*, max(_source_file) OVER (PARTITION BY order_id_s) AS latest_file FROM valid)
          SELECT latest.*, _source_file = latest_file AS is_kept FROM latest
          """
        // Order level: the latest version wins: the greatest updated_at, then the latest file (path order), then the
        // last line within that file.
        : """
          WITH valid AS (SELECT * FROM orders_typed WHERE reason_code IS NULL),
          ranked AS (
            SELECT valid.*, row_number() OVER (PARTITION BY order_id_s
                     ORDER BY updated_at DESC NULLS LAST, _source_file DESC NULLS LAST, _source_line DESC NULLS LAST) AS version_rank
            FROM valid
          )
          SELECT ranked.*, version_rank = 1 AS is_kept FROM ranked
          """;

    /// <summary>Marts: one row per order (grain: order_id), from <c>orders_deduplicated</c>.</summary>
    public static string CleanOrders(ISqlDialect d, OrdersSqlOptions o)
    {
        var orders = o.LineLevel
            ? $"""
              SELECT order_id_s AS order_id,
                     min_by(customer_id_s, _source_line) AS customer_id,
                     min(ordered_at) AS ordered_at,
                     CASE WHEN sum(CASE WHEN quantity > 0 THEN 1 ELSE 0 END) = 0 THEN 'returned'
                          ELSE min_by(status, _source_line) END AS status,
                     min_by(currency, _source_line) AS currency,
                     sum(CASE WHEN quantity > 0 THEN {LineValue} ELSE 0 END) AS sales_amount,
                     sum(CASE WHEN quantity < 0 THEN -{LineValue} ELSE 0 END) AS returns_amount,
                     coalesce(max(discount_amount), 0) AS discount_amount,
                     coalesce(max(shipping_amount), 0) AS shipping_amount,
                     coalesce(max(tax_amount), 0) AS tax_amount,
                     coalesce(max(refunded_amount), 0) AS refunded_extra,
                     min_by(fx_rate, _source_line) AS fx_rate,
                     min_by(email_s, _source_line) AS email,
                     min_by(channel_s, _source_line) AS channel,
                     count(*) AS line_count,
                     CAST(min(_source_file) AS {d.StringType}) AS source_file
              FROM orders_deduplicated WHERE is_kept
              GROUP BY order_id_s
              """
            : $"""
              SELECT order_id_s AS order_id, customer_id_s AS customer_id, ordered_at, status, currency,
                     total_amount AS sales_amount, CAST(0 AS DECIMAL(18,4)) AS returns_amount,
                     coalesce(discount_amount, 0) AS discount_amount, coalesce(shipping_amount, 0) AS shipping_amount,
                     coalesce(tax_amount, 0) AS tax_amount, {OrderRefunded} AS refunded_extra,
                     fx_rate, email_s AS email, channel_s AS channel, 1 AS line_count, CAST(_source_file AS {d.StringType}) AS source_file
              FROM orders_deduplicated WHERE is_kept
              """;
        // Order level: total_amount already is what the customer paid. Line level: goods minus discount plus
        // shipping and tax; returned lines count as refunds. Each amount is rounded to cents once, in its own currency;
        // net revenue is then computed from those published cents and the published rate (round((gross − refunded) ×
        // fx_rate, 2), half away from zero), so anyone can recompute it from the row.
        var gross = o.LineLevel ? "sales_amount - discount_amount + shipping_amount + tax_amount" : "sales_amount";
        return $"""
            WITH orders AS (
              {orders}
            ),
            amounts AS (
              SELECT orders.*, {MoneySql.Cents(gross)} AS gross_cents, {MoneySql.Cents("returns_amount + refunded_extra")} AS refunded_cents
              FROM orders
            ),
            email_keys AS (
              SELECT e.email, {d.HmacHex("lower(e.email)")} AS email_key
              FROM (SELECT DISTINCT email FROM amounts WHERE email IS NOT NULL) e CROSS JOIN _hmac_key k
            ),
            valued AS (
              SELECT amounts.*,
                     CASE WHEN status = 'cancelled' THEN {MoneySql.Zero} ELSE {MoneySql.ToBase("gross_cents - refunded_cents", "fx_rate")} END AS net_base,
                     status <> 'cancelled' AND NOT (sales_amount = 0 AND returns_amount > 0) AS is_purchase
              FROM amounts
            ),
            sequenced AS (
              SELECT v.*, ek.email_key,
                     CASE WHEN v.is_purchase AND v.customer_id IS NOT NULL THEN
                       row_number() OVER (PARTITION BY v.customer_id, v.is_purchase ORDER BY v.ordered_at ASC NULLS LAST, v.order_id ASC NULLS LAST)
                     END AS customer_order_seq
              FROM valued v LEFT JOIN email_keys ek ON ek.email = v.email
            )
            SELECT {TypedInputSql.PseudonymousId(d, "order_id")} AS order_id,
                   {TypedInputSql.PseudonymousId(d, "customer_id")} AS customer_id,
                   ordered_at,
                   {d.DateOf("ordered_at")} AS order_date,
                   status,
                   currency,
                   gross_cents AS gross_amount,
                   {MoneySql.Cents("discount_amount")} AS discount_amount,
                   {MoneySql.Cents("shipping_amount")} AS shipping_amount,
                   {MoneySql.Cents("tax_amount")} AS tax_amount,
                   refunded_cents AS refunded_amount,
                   CAST(fx_rate AS {MoneySql.RateType}) AS fx_rate,
                   net_base AS net_revenue,
                   is_purchase,
                   customer_id IS NULL AS is_guest,
                   customer_order_seq,
                   coalesce(customer_order_seq = 1, false) AS is_first_order,
                   CAST(line_count AS INTEGER) AS line_count,
                   email_key,
                   {TypedInputSql.WithoutEmails(d, "channel")} AS channel,
                   source_file
            FROM sequenced CROSS JOIN _hmac_key k
            ORDER BY order_date ASC NULLS LAST, order_id ASC NULLS LAST
            """;
    }

    /// <summary>Marts: one row per rejected input row (grain: source_file × source_line). E-mail addresses in the raw text are redacted.</summary>
    public static string Quarantine(ISqlDialect d, OrdersSqlOptions o) => TypedInputSql.Quarantine(d, "orders_typed", "_raw", o.RunId);

    /// <summary>The accounting of the typed and deduplicated rows, as one row.</summary>
    public static string Accounting() => """
        SELECT (SELECT count(*) FROM orders_typed) AS rows_read,
               (SELECT count(*) FROM orders_deduplicated WHERE is_kept) AS rows_kept,
               (SELECT count(*) FROM orders_deduplicated WHERE NOT is_kept) AS duplicates,
               (SELECT count(*) FROM orders_typed WHERE reason_code IS NOT NULL) AS quarantined
        """;

    /// <inheritdoc cref="MoneySql.InvalidFxRows"/>
    public static string InvalidFxRows(ISqlDialect d) => MoneySql.InvalidFxRows(d);

    // quantity × unit_price, exact: DECIMAL(19,4) × DECIMAL(18,4) is DECIMAL(37,8) in DuckDB (two DECIMAL(18,4) would
    // make a DECIMAL(18,8), which overflows from 10^10) and DECIMAL(38,8) in Spark.
    private const string LineValue = "(CAST(quantity AS DECIMAL(19,4)) * unit_price)";

    // What an order-level row refunds: refunded_amount when given, the whole total for a refunded or returned order, else 0.
    private const string OrderRefunded =
        "CASE WHEN refunded_amount IS NOT NULL THEN refunded_amount WHEN status IN ('refunded', 'returned') THEN total_amount ELSE 0 END";

    private const string OutOfRange = "amount_out_of_range";

    private static string Quoted(ISqlDialect d, string expr) => $"'\"' || coalesce({expr}, '') || '\"'";

    private sealed record Rule(string Condition, string Code, string Detail, bool CodeIsExpression = false);
}
