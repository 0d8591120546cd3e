namespace Pipeline.Models.Segmentation;

/// <summary>
/// Per-customer features in column layout: one id per row and one <c>double[]</c> per named feature.
/// </summary>
/// <remarks>
/// Columns rather than rows because that is how jobs read them (one column per query/Parquet column) and how
/// the scaler consumes them. The constructor copies the arrays, so later changes by the caller cannot change a
/// fitted model's inputs. Every value must be finite: k-means has no meaning for missing values and ML.NET
/// would silently drop such rows, so the caller decides how to impute before building the matrix.
/// </remarks>
public sealed class FeatureMatrix
{
    private readonly double[][] _columns;
    private readonly Dictionary<string, int> _index;

    /// <summary>Creates the matrix, checking shapes, unique non-empty names, unique ids and finite values.</summary>
    /// <exception cref="ArgumentException">On any inconsistency, naming the offending feature or customer.</exception>
    public FeatureMatrix(IReadOnlyList<string> customerIds, IReadOnlyList<string> featureNames, IReadOnlyList<double[]> columns)
    {
        ArgumentNullException.ThrowIfNull(customerIds);
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(columns);
        if (featureNames.Count == 0)
        {
            throw new ArgumentException("At least one feature is needed.", nameof(featureNames));
        }
        if (columns.Count != featureNames.Count)
        {
            throw new ArgumentException($"{featureNames.Count} feature names but {columns.Count} columns.", nameof(columns));
        }

        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var j = 0; j < featureNames.Count; j++)
        {
            var name = featureNames[j];
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException($"Feature name {j} is empty.", nameof(featureNames));
            }
            if (!_index.TryAdd(name, j))
            {
                throw new ArgumentException($"Feature '{name}' appears more than once.", nameof(featureNames));
            }
        }

        var ids = customerIds.ToArray();
        var seen = new HashSet<string>(ids.Length, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (id is null)
            {
                throw new ArgumentException("A customer id is null.", nameof(customerIds));
            }
            if (!seen.Add(id))
            {
                throw new ArgumentException($"Customer id '{id}' appears more than once.", nameof(customerIds));
            }
        }

        _columns = new double[columns.Count][];
        for (var j = 0; j < columns.Count; j++)
        {
            var column = columns[j] ?? throw new ArgumentException($"Column '{featureNames[j]}' is null.", nameof(columns));
            if (column.Length != ids.Length)
            {
                throw new ArgumentException(
                    $"Column '{featureNames[j]}' has {column.Length} values for {ids.Length} customers.", nameof(columns));
            }
            for (var i = 0; i < column.Length; i++)
            {
                if (!double.IsFinite(column[i]))
                {
                    throw new ArgumentException(
                        $"Feature '{featureNames[j]}' of customer '{ids[i]}' is {column[i]}; impute missing values before segmenting.",
                        nameof(columns));
                }
            }
            _columns[j] = (double[])column.Clone();
        }

        CustomerIds = ids;
        FeatureNames = featureNames.ToArray();
    }

    /// <summary>Customer ids, one per row.</summary>
    public IReadOnlyList<string> CustomerIds { get; }

    /// <summary>Feature names, one per column.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>Number of customers.</summary>
    public int RowCount => CustomerIds.Count;

    /// <summary>Number of features.</summary>
    public int FeatureCount => _columns.Length;

    /// <summary>The values of feature <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such feature.</exception>
    public IReadOnlyList<double> Column(string name) => _columns[IndexOf(name)];

    /// <summary>Whether the matrix has a feature called <paramref name="name"/>.</summary>
    public bool HasFeature(string name) => _index.ContainsKey(name);

    internal int IndexOf(string name) =>
        _index.TryGetValue(name, out var j) ? j : throw new KeyNotFoundException($"No feature named '{name}'.");

    internal double[] ColumnArray(int index) => _columns[index];
}
