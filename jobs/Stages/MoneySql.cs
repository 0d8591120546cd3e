using System.Globalization;
using Pipeline.Engine;

namespace Pipeline.Stages;

/// <summary>
/// Money in SQL: one set of rules for every stage that handles it (orders, customer features, KPIs) and both engines.
/// <list type="bullet">
/// <item>Amounts are <see cref="AmountType"/> (cents); FX rates <see cref="RateType"/>. Every rounding is half away
/// from zero, once, at the documented step: DuckDB's and Spark's <c>round()</c> of a DECIMAL both round that way
/// (Spark calls it HALF_UP), so the two engines agree to the cent.</item>
/// <item>Conversion to the base currency (<see cref="ToBase"/>): the amount in cents of its own currency × the rate,
/// rounded to cents. The product is exact first: DECIMAL(19,2) × DECIMAL(18,8) is DECIMAL(37,10) in DuckDB and
/// DECIMAL(38,10) in Spark, within both engines' 38 digits, so Spark never trims its scale (it would above 38).</item>
/// <item>Sums are DECIMAL sums: exact, so the same whichever thread adds which rows (a DOUBLE sum's last bits depend
/// on the order of the additions, and so on the thread count and the machine's load).</item>
/// <item>Per-unit figures (AOV, CPA, CAC, means) are the exact quotient rounded once (<see cref="PerUnit"/>): DuckDB
/// divides decimals into a DOUBLE and Spark into a decimal rounded to its own scale, so the quotient is computed in
/// integers instead.</item>
/// </list>
/// DOUBLE appears only in ratios of two exact values (shares, ACoS, ROAS): the same on every run as well.
/// </summary>
internal static class MoneySql
{
    /// <summary>Every amount of money in a published table: 16 digits before the point, cents after it.</summary>
    public const string AmountType = "DECIMAL(18,2)";

    /// <summary>FX rates (to the base currency): 10 digits before the point, 8 after it (a JPY→USD rate 0.00671234 keeps 6 significant digits).</summary>
    public const string RateType = "DECIMAL(18,8)";

    /// <summary>Decimals of <see cref="RateType"/>.</summary>
    public const int RateScale = 8;

    /// <summary>A zero amount of the amount type (for empty inputs and coalesce).</summary>
    public const string Zero = "CAST(0 AS DECIMAL(18,2))";

    /// <summary>A DECIMAL expression rounded half away from zero to cents, as <see cref="AmountType"/>.</summary>
    public static string Cents(string decimalExpr) => $"CAST(round({decimalExpr}, 2) AS {AmountType})";

    /// <summary>
    /// An amount in cents of its own currency converted with a rate: round(amount × rate, 2), half away from zero,
    /// from the exact product.
    /// </summary>
    public static string ToBase(string amount, string rate) =>
        Cents($"CAST({amount} AS DECIMAL(19,2)) * CAST({rate} AS {RateType})");

    /// <summary>
    /// True when a DECIMAL expression, rounded to cents, fits <see cref="AmountType"/> (|value| &lt; 10^16), false when
    /// it does not or is NULL. It never raises: the range test is a try-cast, so it can guard <see cref="Cents"/> and
    /// <see cref="ToBase"/> (whose casts raise on such a value) whatever order an engine evaluates it in.
    /// </summary>
    public static string FitsAmount(ISqlDialect d, string decimalExpr) =>
        $"({d.TryDecimal($"round({decimalExpr}, 2)", 18, 2)} IS NOT NULL)";

    /// <summary>
    /// <see cref="FitsAmount"/> of <see cref="ToBase"/>(<paramref name="amount"/>, <paramref name="rate"/>): the same
    /// exact product, with the amount's cast made a try-cast (an amount beyond DECIMAL(19,2) does not fit either).
    /// <paramref name="rate"/> must already be a valid <see cref="RateType"/> value (or NULL: then false).
    /// </summary>
    /// <remarks>
    /// Every valid order and spend row reaches this test, and the exact product is a 128-bit multiplication and a
    /// try-cast (it made the typing of 3.3M orders 3.7 s → 5.7 s). A rate is below 10^10 (its type), so an amount
    /// below 10^5 always fits: only larger ones take the exact test. A CASE, not an OR: DuckDB evaluates both sides of
    /// an OR under a NOT for every row, and the branches of a CASE only for the rows that reach them.
    /// </remarks>
    public static string ToBaseFits(ISqlDialect d, string amount, string rate) =>
        $"(CASE WHEN {rate} IS NOT NULL AND abs({amount}) < 100000 THEN true ELSE {FitsAmount(d, $"{d.TryDecimal(amount, 19, 2)} * CAST({rate} AS {RateType})")} END)";

    /// <summary>
    /// An amount read with <see cref="ISqlDialect.TryDecimal(string)"/> (<paramref name="value"/>) from the text
    /// <paramref name="text"/> is not a non-negative number: the text is not a plain decimal number, or it is a negative
    /// one, however small (<c>-1e-9</c> reads as 0). A number too large to read is not caught here: see <see cref="TooLargeToRead"/>.
    /// </summary>
    public static string NotNonNegative(ISqlDialect d, string value, string text) =>
        $"(({value} IS NULL AND NOT {d.FullMatch(text, DecimalText.Pattern)}) OR {DecimalText.IsNegative(d, text)})";

    /// <summary>
    /// Text given but no value read: after the form checks, a plain decimal number beyond what
    /// <see cref="ISqlDialect.TryDecimal(string)"/> holds (|value| ≥ 10^14).
    /// </summary>
    public static string TooLargeToRead(string value, string text) => $"({text} IS NOT NULL AND {value} IS NULL)";

    /// <summary>The exact sum of an amount expression, as <see cref="AmountType"/> (NULL over no rows).</summary>
    public static string Sum(string amountExpr) => $"CAST(sum({amountExpr}) AS {AmountType})";

    /// <summary>
    /// <paramref name="amount"/> / <paramref name="count"/> rounded half away from zero to <paramref name="scale"/>
    /// decimals, exactly, as DECIMAL(18, scale); NULL when the count is 0 or NULL. Computed on integers: with
    /// u = amount in units of 10^−scale, |quotient| = ⌊(2·|u| + n) / (2·n)⌋ (the half rounds up), signed as u.
    /// </summary>
    /// <param name="d">The dialect (integer division differs).</param>
    /// <param name="amount">A DECIMAL expression with at most <paramref name="scale"/> decimals (an amount, a sum of amounts).</param>
    /// <param name="count">A non-negative integer expression (orders, customers, days).</param>
    /// <param name="scale">Decimals of the result: 2 for money, more for model inputs.</param>
    public static string PerUnit(ISqlDialect d, string amount, string count, int scale = 2)
    {
        var s = scale.ToString(CultureInfo.InvariantCulture);
        var unitsPerOne = "1" + new string('0', scale);
        var oneUnit = "0." + new string('0', scale - 1) + "1";
        // DECIMAL(38, s) × an integer keeps scale s in both engines (Spark adjusts the precision, not the scale).
        var units = $"CAST(CAST({amount} AS DECIMAL(38,{s})) * {unitsPerOne} AS BIGINT)";
        var n = $"CAST({count} AS BIGINT)";
        var magnitude = d.IntegerDivide($"2 * abs({units}) + {n}", $"2 * {n}");
        return $"(CASE WHEN {n} > 0 THEN CAST(CAST(CASE WHEN {units} < 0 THEN -{magnitude} ELSE {magnitude} END AS DECIMAL(18,0)) * {oneUnit} AS DECIMAL(18,{s})) END)";
    }

    /// <summary>A rate read from text: parsed wide, then rounded half away from zero to <see cref="RateScale"/> decimals.</summary>
    public static string Rate(ISqlDialect d, string stringExpr) =>
        $"CAST(round({WideRate(d, stringExpr)}, {RateScale.ToString(CultureInfo.InvariantCulture)}) AS {RateType})";

    /// <summary>A rate's text read wide (DECIMAL(38,12)), NULL unless it is a plain decimal number (<see cref="DecimalText"/>), as amounts are.</summary>
    private static string WideRate(ISqlDialect d, string stringExpr) =>
        $"(CASE WHEN {d.FullMatch(stringExpr, DecimalText.Pattern)} THEN {d.TryDecimal(stringExpr, 38, 12)} END)";

    /// <summary>
    /// The CTEs <c>fx_rates</c> (with an FX table), <c>rated</c> and <c>with_fx</c> over the CTE <c>parsed</c>: each row's
    /// <c>fx_rate</c> (1 for <paramref name="baseCurrency"/>, else the latest FX row of its currency on or before
    /// <paramref name="rowDate"/>; one per row: row_number over the row's identity, and rates of one currency and date
    /// agree, see <see cref="InvalidFxRows"/>) and <c>fx_known</c>. Orders and ad spend are converted by this one rule.
    /// </summary>
    /// <param name="baseCurrency">The base currency as a SQL literal.</param>
    /// <param name="rowDate">The row's date as a SQL expression over <c>p</c> (the row of <c>parsed</c>).</param>
    public static string WithFxCtes(ISqlDialect d, bool hasFx, string baseCurrency, string rowDate) => hasFx
        ? $"""
          fx_rates AS (
            {FxRates(d)}
          ),
          rated AS (
            SELECT p.*, r.fx_rate AS fx_rate_found,
                   row_number() OVER (PARTITION BY p._source_file, p._source_line ORDER BY r.fx_date DESC NULLS LAST) AS fx_pick,
                   p.currency = {baseCurrency} OR (SELECT count(*) FROM fx_rates c WHERE c.fx_currency = p.currency) > 0 AS fx_known
            FROM parsed p
            LEFT JOIN fx_rates r ON r.fx_currency = p.currency AND r.fx_date <= {rowDate}
          ),
          with_fx AS (
            SELECT rated.*, CASE WHEN currency = {baseCurrency} THEN CAST(1 AS {RateType}) ELSE fx_rate_found END AS fx_rate
            FROM rated WHERE fx_pick = 1
          ),
          """
        : $"""
          with_fx AS (
            SELECT parsed.*, CASE WHEN currency = {baseCurrency} THEN CAST(1 AS {RateType}) END AS fx_rate,
                   currency = {baseCurrency} AS fx_known
            FROM parsed
          ),
          """;

    /// <summary>
    /// The FX table registered raw as <c>fx_raw</c> (columns date, currency, rate as text), typed: one row per input
    /// row as (fx_currency, fx_date, fx_rate). Run <see cref="InvalidFxRows"/> first: every row is then valid.
    /// </summary>
    public static string FxRates(ISqlDialect d) => $"""
        SELECT upper(trim(currency)) AS fx_currency, {d.TryDate("trim(" + d.Id("date") + ")")} AS fx_date, {Rate(d, "trim(rate)")} AS fx_rate
        FROM fx_raw
        """;

    /// <summary>
    /// The FX table's invalid rows: how many, and the first one's line. A row is valid with a date, a 3-letter
    /// currency code and a rate that is positive once rounded to <see cref="RateScale"/> decimals and fits
    /// <see cref="RateType"/>; two rows of one currency and date must give the same rate (else which one applies
    /// would depend on the engine's row order). One invalid row fails the run: an FX table is reference data, not
    /// something to quarantine around.
    /// </summary>
    public static string InvalidFxRows(ISqlDialect d) => $"""
        WITH fx AS (
          SELECT _source_line, _parse_error, upper(trim(currency)) AS fx_currency, {d.TryDate("trim(" + d.Id("date") + ")")} AS fx_date,
                 {ValidRate(d)} AS rate_ok, {WideRate(d, "trim(rate)")} AS wide_rate
          FROM fx_raw
        ),
        conflicts AS (
          SELECT fx_currency, fx_date FROM fx
          WHERE rate_ok AND fx_date IS NOT NULL
          GROUP BY fx_currency, fx_date
          HAVING min(round(wide_rate, {RateScale.ToString(CultureInfo.InvariantCulture)})) <> max(round(wide_rate, {RateScale.ToString(CultureInfo.InvariantCulture)}))
        )
        SELECT count(*), min(fx._source_line) FROM fx
        LEFT JOIN conflicts c ON c.fx_currency = fx.fx_currency AND c.fx_date = fx.fx_date
        WHERE fx._parse_error IS NOT NULL OR fx.fx_date IS NULL OR NOT fx.rate_ok
           OR NOT coalesce({d.FullMatch("fx.fx_currency", "[A-Z]{3}")}, false) OR c.fx_currency IS NOT NULL
        """;

    private static string ValidRate(ISqlDialect d)
    {
        var wide = WideRate(d, "trim(rate)");
        var scale = RateScale.ToString(CultureInfo.InvariantCulture);
        return $"coalesce({wide} IS NOT NULL AND round({wide}, {scale}) > 0 AND {wide} < 10000000000, false)";
    }
}
