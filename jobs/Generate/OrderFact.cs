namespace Pipeline.Generate;

/// <summary>Why an order exists: the BG/NBD purchase process, or noise outside it.</summary>
public enum OrderKind
{
    /// <summary>A purchase of the BG/NBD + Gamma-Gamma process (status completed).</summary>
    Process,
    /// <summary>Extra cancelled order of a known customer (not part of the process).</summary>
    Cancelled,
    /// <summary>Extra refunded order of a known customer (refunded_amount = total_amount; not part of the process).</summary>
    Refunded,
    /// <summary>Extra completed order with no customer id (not part of the process).</summary>
    Guest,
    /// <summary>
    /// A process, refunded or guest order that failed at checkout (<c>--anomalies</c>' mobile checkout bug): not written to
    /// the order files; the clickstream renders its session ending at begin_checkout. Its fact has an empty order id.
    /// </summary>
    Lost,
}

/// <summary>
/// The facts of one VALID generated order (what the CSV row means, independent of how it is written).
/// Faulty injected rows and duplicates are not reported as facts.
/// </summary>
/// <param name="OrderId">e.g. <c>O00000001</c>.</param>
/// <param name="CustomerId">e.g. <c>C0000001</c>; null for guests.</param>
/// <param name="CustomerNumber">1-based customer number; 0 for guests.</param>
/// <param name="OrderedAt">The instant of the order (UTC, whole seconds).</param>
/// <param name="Kind">Process purchase or noise.</param>
/// <param name="TotalCents">total_amount in cents.</param>
/// <param name="Channel">Marketing channel of the order (one of <see cref="OrderGenerator.Channels"/>).</param>
/// <param name="DeviceType">The device type index (<see cref="EventsCatalog.DeviceTypes"/>) the order must be placed on, or -1
/// (the clickstream chooses): set only inside the <c>--anomalies</c> checkout-bug window.</param>
public readonly record struct OrderFact(
    string OrderId,
    string? CustomerId,
    int CustomerNumber,
    DateTimeOffset OrderedAt,
    OrderKind Kind,
    long TotalCents,
    string Channel,
    int DeviceType = -1);

/// <summary>The latent (true) per-customer draws, for an events generator or for recovery checks.</summary>
/// <param name="CustomerId">e.g. <c>C0000001</c>.</param>
/// <param name="CustomerNumber">1-based.</param>
/// <param name="FirstPurchaseAt">Acquisition instant (the first process purchase).</param>
/// <param name="Lambda">BG/NBD purchase rate per day while alive.</param>
/// <param name="DropoutProbability">BG/NBD p: probability of dropping out after each repeat purchase.</param>
/// <param name="AliveAtEnd">Whether the customer had not dropped out by the end of the period.</param>
/// <param name="Nu">Gamma-Gamma scale: mean spend per purchase is GgP / Nu.</param>
public readonly record struct CustomerFact(
    string CustomerId,
    int CustomerNumber,
    DateTimeOffset FirstPurchaseAt,
    double Lambda,
    double DropoutProbability,
    bool AliveAtEnd,
    double Nu);

/// <summary>
/// Receives the valid orders in the same pass that writes them, so a clickstream generator can derive a
/// purchase event (in a session of that customer) for every order without re-reading the files.
/// Called customer by customer; lists are reused buffers, valid only during the call.
/// An observer needing randomness must use its own <see cref="Rng"/> (e.g. seeded from <c>Seed ^ constant</c>):
/// drawing from the order generator's stream would change the order files.
/// </summary>
public interface IOrderObserver
{
    /// <summary>One customer: its latent draws and all its valid orders (process + cancelled + refunded), sorted by time.</summary>
    void OnCustomer(in CustomerFact customer, IReadOnlyList<OrderFact> orders);

    /// <summary>One guest order (no customer id).</summary>
    void OnGuestOrder(in OrderFact order);
}
