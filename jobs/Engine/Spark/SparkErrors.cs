using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Grpc.Core;
using Pipeline.Engine.Spark.Protocol.Rpc;

namespace Pipeline.Engine.Spark;

/// <summary>Turns gRPC failures into one-line <see cref="SparkConnectException"/>s; keeps the token out.</summary>
internal static class SparkErrors
{
    internal const string StatusDetailsTrailer = "grpc-status-details-bin";
    private const int MaxMessageLength = 600;

    /// <summary>True for failures worth retrying (the server may not have seen the call, or the stream broke).</summary>
    public static bool IsRetryable(RpcException ex) =>
        ex.StatusCode == StatusCode.Unavailable
        || (ex.StatusCode == StatusCode.Internal && ex.Status.Detail.Contains("INVALID_CURSOR.DISCONNECTED", StringComparison.Ordinal));

    /// <summary>
    /// True when the call got no answer from the server at all: the client's own transport failed (connection refused,
    /// name not resolved, TLS handshake, connect timeout, connection lost) and gRPC reports it as UNAVAILABLE with the
    /// local exception attached. A server (or proxy) that answers UNAVAILABLE sends no exception along.
    /// </summary>
    public static bool IsTransportFailure(RpcException ex) =>
        ex.StatusCode == StatusCode.Unavailable && ex.Status.DebugException is not null;

    /// <summary>The TLS handshake failed (the client's transport says so; gRPC reports it as INTERNAL or UNAVAILABLE).</summary>
    public static bool IsTlsFailure(RpcException ex)
    {
        for (var e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException or HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A short reason for a retry line: "connection refused", "host name not resolved", "Unavailable: busy".</summary>
    public static string Reason(RpcException ex, string? token)
    {
        for (var e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SocketException s:
                    return s.SocketErrorCode switch
                    {
                        SocketError.ConnectionRefused => "connection refused",
                        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host name not resolved",
                        SocketError.TimedOut => "connection timed out",
                        SocketError.HostUnreachable => "host unreachable",
                        SocketError.NetworkUnreachable or SocketError.NetworkDown => "network unreachable",
                        SocketError.ConnectionReset => "connection reset",
                        SocketError.ConnectionAborted => "connection aborted",
                        var other => "socket error " + other,
                    };
                case AuthenticationException a:
                    return "TLS handshake failed: " + OneLine(Scrub(FirstLine(a.Message), token) ?? "");
            }
        }
        for (var e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError }:
                    return "host name not resolved";
                case HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError }:
                    return "TLS handshake failed";
                case TimeoutException or OperationCanceledException:
                    return "connection timed out";
            }
        }
        var detail = FirstLine(Scrub(ex.Status.Detail, token));
        if (ex.Status.DebugException is { } debug && (detail is null || detail.StartsWith("Error connecting to subchannel", StringComparison.Ordinal)))
        {
            detail = FirstLine(Scrub(debug.Message, token));
        }
        return OneLine(detail is null ? ex.StatusCode.ToString() : $"{ex.StatusCode}: {detail}");
    }

    /// <summary>The server already has this operation id (a resent ExecutePlan it had received): reattach instead.</summary>
    public static bool IsOperationAlreadyExists(RpcException ex) =>
        ex.Status.Detail.Contains("INVALID_HANDLE.OPERATION_ALREADY_EXISTS", StringComparison.Ordinal)
        || ErrorClassOf(ex) == "INVALID_HANDLE.OPERATION_ALREADY_EXISTS";

    /// <summary>The server does not know this operation id (ExecutePlan never arrived): send it again.</summary>
    public static bool IsOperationNotFound(RpcException ex) =>
        ex.Status.Detail.Contains("INVALID_HANDLE.OPERATION_NOT_FOUND", StringComparison.Ordinal)
        || ErrorClassOf(ex) == "INVALID_HANDLE.OPERATION_NOT_FOUND";

    public static SparkConnectException FromRpc(RpcException ex, string rpc, Uri endpoint, string? token, int attempts)
    {
        var info = ReadErrorInfo(ex);
        string? errorClass = null;
        string? sqlState = null;
        string? classes = null;
        if (info is not null)
        {
            errorClass = NullIfEmpty(info.Metadata.GetValueOrDefault("errorClass"));
            sqlState = NullIfEmpty(info.Metadata.GetValueOrDefault("sqlState"));
            classes = info.Metadata.GetValueOrDefault("classes");
        }
        var reason = NullIfEmpty(info?.Reason);
        var serverMessage = NullIfEmpty(Scrub(ex.Status.Detail, token));
        var kind = Classify(ex.StatusCode, reason, classes, sqlState);

        var sb = new StringBuilder();
        if (kind == SparkErrorKind.Connection)
        {
            sb.Append("Spark Connect server ").Append(endpoint.GetLeftPart(UriPartial.Authority)).Append(' ')
              .Append(ex.StatusCode switch
              {
                  StatusCode.Unauthenticated => "rejected the credentials",
                  StatusCode.PermissionDenied => "denied access",
                  StatusCode.DeadlineExceeded => "did not answer in time",
                  _ => "is unavailable",
              })
              .Append(" (");
            // The RPC that failed, not the kind: "(Config call, 16 attempts)".
            sb.Append(rpc).Append(" call");
            if (attempts > 1)
            {
                sb.Append(", ").Append(attempts).Append(" attempts");
            }
            sb.Append(')');
        }
        else
        {
            sb.Append("Spark ").Append(rpc).Append(" failed (").Append(ex.StatusCode).Append(')');
        }
        var first = FirstLine(serverMessage);
        if (errorClass is not null && (first is null || !first.Contains($"[{errorClass}]", StringComparison.Ordinal)))
        {
            sb.Append(": [").Append(errorClass).Append(']');
            if (first is not null)
            {
                sb.Append(' ').Append(first);
            }
        }
        else if (first is not null)
        {
            sb.Append(": ").Append(first);
        }
        if (sqlState is not null && (first is null || !first.Contains(sqlState, StringComparison.Ordinal)))
        {
            sb.Append(" (SQLSTATE ").Append(sqlState).Append(')');
        }
        var message = OneLine(Scrub(sb.ToString(), token) ?? string.Empty);

        // The inner RpcException's ToString() shows the server's detail: replace it when it carries the token.
        Exception inner = ex;
        if (!string.IsNullOrEmpty(token) && ex.ToString().Contains(token, StringComparison.Ordinal))
        {
            inner = new RpcException(new Grpc.Core.Status(ex.StatusCode, Scrub(ex.Status.Detail, token) ?? string.Empty), Scrub(ex.Message, token) ?? string.Empty);
        }
        return new SparkConnectException(kind, message, inner)
        {
            GrpcStatus = ex.StatusCode,
            ErrorClass = errorClass,
            SqlState = sqlState,
            ServerExceptionClass = reason,
            ServerMessage = serverMessage,
        };
    }

    /// <summary>Maps a gRPC status and Spark's error details to a kind.</summary>
    public static SparkErrorKind Classify(StatusCode code, string? reason, string? classes, string? sqlState)
    {
        switch (code)
        {
            case StatusCode.Unavailable:
            case StatusCode.Unauthenticated:
            case StatusCode.PermissionDenied:
            case StatusCode.DeadlineExceeded:
                return SparkErrorKind.Connection;
        }
        static bool IsSqlError(string? s) =>
            s is not null && (s.Contains("AnalysisException", StringComparison.Ordinal) || s.Contains("ParseException", StringComparison.Ordinal));
        if (IsSqlError(reason) || IsSqlError(classes) || (sqlState is not null && sqlState.StartsWith("42", StringComparison.Ordinal)))
        {
            return SparkErrorKind.Sql;
        }
        return SparkErrorKind.Failure;
    }

    /// <summary>The ErrorInfo in the call's <c>grpc-status-details-bin</c> trailer, if any.</summary>
    public static ErrorInfo? ReadErrorInfo(RpcException ex)
    {
        var bytes = ex.Trailers?.GetValueBytes(StatusDetailsTrailer);
        if (bytes is null || bytes.Length == 0)
        {
            return null;
        }
        try
        {
            var status = Protocol.Rpc.Status.Parser.ParseFrom(bytes);
            foreach (var detail in status.Details)
            {
                if (detail.Is(ErrorInfo.Descriptor))
                {
                    return detail.Unpack<ErrorInfo>();
                }
            }
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            // A malformed trailer is not worth failing over: the status detail still carries the message.
        }
        return null;
    }

    /// <summary>Removes every occurrence of the token; null stays null.</summary>
    public static string? Scrub(string? text, string? token) =>
        text is null || string.IsNullOrEmpty(token) ? text : text.Replace(token, "***", StringComparison.Ordinal);

    /// <summary>Collapses whitespace/newlines to single spaces and shortens to a sane length.</summary>
    public static string OneLine(string text)
    {
        var sb = new StringBuilder(Math.Min(text.Length, MaxMessageLength + 3));
        var space = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = sb.Length > 0;
                continue;
            }
            if (space)
            {
                sb.Append(' ');
                space = false;
            }
            sb.Append(c);
            if (sb.Length >= MaxMessageLength)
            {
                sb.Append("...");
                break;
            }
        }
        return sb.ToString();
    }

    private static string? ErrorClassOf(RpcException ex) => ReadErrorInfo(ex)?.Metadata.GetValueOrDefault("errorClass");

    private static string? FirstLine(string? text)
    {
        if (text is null)
        {
            return null;
        }
        foreach (var line in text.Split('\n'))
        {
            var trimmed = line.Trim();
            if (trimmed.Length > 0)
            {
                return trimmed;
            }
        }
        return null;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;
}
