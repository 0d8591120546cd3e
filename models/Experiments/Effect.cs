namespace Pipeline.Models.Experiments;

/// <summary>Absolute (m_t − m_c) or relative ((m_t − m_c)/|m_c|) difference against control.</summary>
public enum DifferenceType
{
    Absolute,
    Relative,
}

/// <summary>Which alternative a test reports: two-sided, treatment greater, treatment lesser.</summary>
public enum Sides
{
    Two,
    Greater,
    Lesser,
}

/// <summary>
/// An estimated effect of a treatment against control with its interval and p-value. A one-sided test leaves one bound
/// infinite. NaN everywhere when it cannot be computed (an empty arm, a control mean of 0 for a relative effect).
/// </summary>
/// <param name="Estimate">The effect: absolute, or relative to the control's mean.</param>
/// <param name="StandardError">Standard error of the effect (the delta method for a relative effect).</param>
/// <param name="Df">Degrees of freedom (Welch–Satterthwaite); infinity for a z-test.</param>
/// <param name="CiLower">Lower bound of the interval (−∞ for a one-sided "lesser" test).</param>
/// <param name="CiUpper">Upper bound (+∞ for a one-sided "greater" test).</param>
/// <param name="PValue">p-value of "no effect" against the test's alternative.</param>
public sealed record Effect(double Estimate, double StandardError, double Df, double CiLower, double CiUpper, double PValue)
{
    public static readonly Effect Undefined = new(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);

    /// <summary>The interval excludes 0.</summary>
    public bool IsSignificant => CiLower > 0 || CiUpper < 0;
}
