using System.Text;

namespace Pipeline.Generate;

/// <summary>
/// The whole synthetic dataset: orders (<see cref="OrderGenerator"/>) and, when <see cref="GenerateOptions.Events"/>
/// is set (the default), the clickstream (<see cref="EventGenerator"/>) in the same pass. The order files and the
/// orders part of the truth are byte-identical to <see cref="OrderGenerator.Generate"/> with the same options.
/// </summary>
public static class DatasetGenerator
{
    /// <summary>
    /// Writes <c>orders/</c>, <c>events/</c> (if enabled) and <c>ground_truth.json</c> (with an <c>events</c> block);
    /// returns the truth. With events off, stale event files are deleted so the folder never mixes runs.
    /// </summary>
    public static GroundTruth Generate(GenerateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Events)
        {
            var ordersOnly = OrderGenerator.Generate(options);
            EventFiles.DeleteStale(Path.Combine(options.OutputDirectory, EventGenerator.FolderName));
            return ordersOnly;
        }
        EventGenerator.ValidateOptions(options);
        GroundTruth truth;
        using (var events = new EventGenerator(options))
        {
            var experiments = options.Experiments ? new ExperimentsInjector(options) : null;
            truth = OrderGenerator.Generate(options, experiments is null ? events : new TeeObserver(events, experiments));
            // Shop after Events: Complete() is what settles the shop's truth (initialisers run in order).
            truth = truth with { Events = events.Complete(), Shop = events.Shop, Experiments = experiments?.Complete(), Anomalies = AnomalyPlan.For(options)?.Truth() };
        }
        if (!options.Experiments)
        {
            var stale = Path.Combine(options.OutputDirectory, EventGenerator.FolderName, ExperimentsInjector.FileName);
            if (File.Exists(stale))
            {
                File.Delete(stale);
            }
        }
        File.WriteAllText(Path.Combine(options.OutputDirectory, GroundTruth.FileName), truth.ToJson() + "\n", new UTF8Encoding(false));
        return truth;
    }
}
