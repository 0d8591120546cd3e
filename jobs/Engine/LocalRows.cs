using System.Reflection;
using System.Text.Json.Serialization;
using Parquet.Serialization.Attributes;

namespace Pipeline.Engine;

/// <summary>One column of rows computed in this process (model outputs): name, CLR type and one value per row.</summary>
/// <param name="DecimalType">For a decimal column, its declared DECIMAL(precision, scale) (<c>[ParquetDecimal]</c>, as the
/// DuckDB engine's Parquet.Net writer uses it), so both engines publish the documented type; null = undeclared.</param>
public sealed record LocalColumn(string Name, Type Type, IReadOnlyList<object?> Values, (int Precision, int Scale)? DecimalType = null);

/// <summary>One column of untyped rows: name, CLR type and, for money, its declared DECIMAL(precision, scale).</summary>
public sealed record LocalField(string Name, Type Type, (int Precision, int Scale)? DecimalType = null);

/// <summary>
/// Rows computed in the driver process (RFM scores, segments, LTV predictions), column by column, so an engine can
/// write them wherever its tables live: DuckDB as a local Parquet file, Spark through LocalRelation + WriteOperation.
/// </summary>
public static class LocalRows
{
    /// <summary>
    /// The columns of typed rows: public instance properties, named by their <c>[JsonPropertyName]</c> (else the
    /// property name), in declaration order.
    /// </summary>
    public static IReadOnlyList<LocalColumn> Columns<T>(IReadOnlyCollection<T> rows)
    {
        var properties = typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
            .OrderBy(p => p.MetadataToken)
            .ToList();
        return properties.Select(p => new LocalColumn(
            p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? p.Name,
            p.PropertyType,
            rows.Select(r => p.GetValue(r)).ToList(),
            p.GetCustomAttribute<ParquetDecimalAttribute>() is { } dec ? (dec.Precision, dec.Scale) : null)).ToList();
    }

    /// <summary>The columns of untyped rows (one dictionary per row) with the given schema.</summary>
    public static IReadOnlyList<LocalColumn> Columns(IReadOnlyCollection<IDictionary<string, object?>> rows, IReadOnlyList<LocalField> schema) =>
        schema.Select(f => new LocalColumn(f.Name, f.Type, rows.Select(r => r.TryGetValue(f.Name, out var v) ? v : null).ToList(), f.DecimalType)).ToList();
}
