using Grpc.Core;

namespace Pipeline.Engine.Spark;

/// <summary>What went wrong, coarse enough to map to a process exit code.</summary>
public enum SparkErrorKind
{
    /// <summary>Any other server or client failure (job failed, internal error, protocol violation).</summary>
    Failure = 0,

    /// <summary>The server could not be reached, went away, or rejected the credentials (UNAVAILABLE, UNAUTHENTICATED, PERMISSION_DENIED, DEADLINE_EXCEEDED).</summary>
    Connection = 1,

    /// <summary>The SQL or a setting was rejected: Spark's AnalysisException / ParseException (SQLSTATE class 42), INVALID_ARGUMENT.</summary>
    Sql = 2,

    /// <summary>The client was configured wrongly (malformed connection string, invalid argument).</summary>
    Configuration = 3,
}

/// <summary>
/// A failed Spark Connect call. <see cref="Exception.Message"/> is a single line, includes the Spark error
/// class when the server sent one, and never contains the bearer token.
/// </summary>
public class SparkConnectException : Exception
{
    /// <summary>Creates an exception of kind <see cref="SparkErrorKind.Failure"/>.</summary>
    public SparkConnectException()
        : this(SparkErrorKind.Failure, "Spark Connect call failed")
    {
    }

    /// <summary>Creates an exception of kind <see cref="SparkErrorKind.Failure"/>.</summary>
    public SparkConnectException(string message)
        : this(SparkErrorKind.Failure, message)
    {
    }

    /// <summary>Creates an exception of kind <see cref="SparkErrorKind.Failure"/>.</summary>
    public SparkConnectException(string message, Exception? innerException)
        : this(SparkErrorKind.Failure, message, innerException)
    {
    }

    /// <summary>Creates an exception.</summary>
    public SparkConnectException(SparkErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>Coarse category for exit-code mapping.</summary>
    public SparkErrorKind Kind { get; init; }

    /// <summary>The gRPC status code of the failed call, when there was one.</summary>
    public StatusCode? GrpcStatus { get; init; }

    /// <summary>Spark's error class (e.g. <c>TABLE_OR_VIEW_NOT_FOUND</c>), when the server sent one.</summary>
    public string? ErrorClass { get; init; }

    /// <summary>Spark's SQLSTATE (e.g. <c>42P01</c>), when the server sent one.</summary>
    public string? SqlState { get; init; }

    /// <summary>The server-side exception class (ErrorInfo.reason, e.g. <c>org.apache.spark.sql.AnalysisException</c>).</summary>
    public string? ServerExceptionClass { get; init; }

    /// <summary>The full (possibly multi-line) server message, token removed; null when there was none.</summary>
    public string? ServerMessage { get; init; }

    /// <summary>
    /// The client never got an answer from the server within its connect budget (kind <see cref="SparkErrorKind.Connection"/>);
    /// the message says where it tried, for how long, how often and the last reason.
    /// </summary>
    public bool NeverConnected { get; init; }

    /// <summary>The connect budget spent when <see cref="NeverConnected"/> because the time ran out (null: failed at once, e.g. TLS).</summary>
    public TimeSpan? ConnectBudget { get; init; }
}

/// <summary>A malformed Spark Connect connection string (kind <see cref="SparkErrorKind.Configuration"/>).</summary>
public sealed class SparkConnectionStringException : SparkConnectException
{
    /// <summary>Creates the exception.</summary>
    public SparkConnectionStringException()
        : this("Malformed Spark connection string")
    {
    }

    /// <summary>Creates the exception with a one-line message.</summary>
    public SparkConnectionStringException(string message)
        : base(SparkErrorKind.Configuration, message)
    {
    }

    /// <summary>Creates the exception with a one-line message.</summary>
    public SparkConnectionStringException(string message, Exception? innerException)
        : base(SparkErrorKind.Configuration, message, innerException)
    {
    }
}
