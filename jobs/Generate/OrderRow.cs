using System.Globalization;

namespace Pipeline.Generate;

internal enum TimestampForm : byte
{
    IsoUtc,
    IsoOffset,
    EpochSeconds,
    EpochMillis,
}

/// <summary>
/// One CSV row before formatting. Plain fields for valid rows; the <c>*Override</c> texts and
/// <see cref="FieldDelta"/> exist to inject exactly one fault. Formatting is a pure function of the row.
/// </summary>
internal struct OrderRow
{
    public long OrderNumber;          // 0 → empty order_id
    public int CustomerNumber;        // 0 → empty customer_id
    public long UnixSeconds;
    public TimestampForm TimestampForm;
    public string Status;
    public long TotalCents;
    public long DiscountCents;        // < 0 → empty
    public long ShippingCents;        // < 0 → empty
    public long TaxCents;             // < 0 → empty
    public long RefundedCents;        // < 0 → empty
    public int EmailNumber;           // 0 → empty e-mail
    public bool GuestEmail;
    public int Channel;
    public string? TimestampOverride;
    public string? TotalOverride;
    public int FieldDelta;            // -1: last field dropped; +1: one extra field

    public const int MaxLength = 1024;
    private const string ExtraField = "x";

    public readonly int Format(Span<char> buffer)
    {
        var w = new SpanWriter(buffer);
        if (OrderNumber > 0)
        {
            w.Append('O');
            w.Append(OrderNumber, "D8");
        }
        w.Append(',');
        if (CustomerNumber > 0)
        {
            w.Append('C');
            w.Append(CustomerNumber, "D7");
        }
        w.Append(',');
        if (TimestampOverride is not null)
        {
            w.AppendField(TimestampOverride);
        }
        else
        {
            AppendTimestamp(ref w, UnixSeconds, TimestampForm);
        }
        w.Append(',');
        w.AppendField(Status);
        w.Append(',');
        w.Append("USD");
        w.Append(',');
        if (TotalOverride is not null)
        {
            w.AppendField(TotalOverride);
        }
        else
        {
            w.AppendAmount(TotalCents);
        }
        w.Append(',');
        w.AppendOptionalAmount(DiscountCents);
        w.Append(',');
        w.AppendOptionalAmount(ShippingCents);
        w.Append(',');
        w.AppendOptionalAmount(TaxCents);
        w.Append(',');
        w.AppendOptionalAmount(RefundedCents);
        w.Append(',');
        if (EmailNumber > 0)
        {
            w.Append(GuestEmail ? "guest" : "c");
            w.Append(EmailNumber, "D7");
            w.Append("@example.com");
        }
        if (FieldDelta >= 0)
        {
            w.Append(',');
            w.Append(OrderGenerator.Channels[Channel]);
        }
        if (FieldDelta > 0)
        {
            w.Append(',');
            w.Append(ExtraField);
        }
        return w.Length;
    }

    private static void AppendTimestamp(ref SpanWriter w, long unixSeconds, TimestampForm form)
    {
        switch (form)
        {
            case TimestampForm.EpochSeconds:
                w.Append(unixSeconds, null);
                break;
            case TimestampForm.EpochMillis:
                w.Append(unixSeconds * 1000, null);
                break;
            case TimestampForm.IsoOffset:
                w.Append(DateTime.UnixEpoch.AddSeconds(unixSeconds + 8 * 3600), "yyyy-MM-dd'T'HH:mm:ss'+08:00'");
                break;
            default:
                w.Append(DateTime.UnixEpoch.AddSeconds(unixSeconds), "yyyy-MM-dd'T'HH:mm:ss'Z'");
                break;
        }
    }

    /// <summary>Appends into a fixed buffer; throws if the row would not fit.</summary>
    private ref struct SpanWriter(Span<char> buffer)
    {
        private readonly Span<char> _buffer = buffer;
        public int Length { get; private set; }

        public void Append(char c) => _buffer[Length++] = c;

        public void Append(ReadOnlySpan<char> s)
        {
            s.CopyTo(_buffer[Length..]);
            Length += s.Length;
        }

        public void Append(long value, string? format)
        {
            if (!value.TryFormat(_buffer[Length..], out var n, format, CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException("row buffer too small");
            }
            Length += n;
        }

        public void Append(DateTime value, string format)
        {
            if (!value.TryFormat(_buffer[Length..], out var n, format, CultureInfo.InvariantCulture))
            {
                throw new InvalidOperationException("row buffer too small");
            }
            Length += n;
        }

        public void AppendAmount(long cents)
        {
            if (cents < 0)
            {
                Append('-');
                cents = -cents;
            }
            Append(cents / 100, null);
            Append('.');
            var rest = cents % 100;
            Append((char)('0' + rest / 10));
            Append((char)('0' + rest % 10));
        }

        public void AppendOptionalAmount(long cents)
        {
            if (cents >= 0)
            {
                AppendAmount(cents);
            }
        }

        /// <summary>RFC 4180: quote only when the field holds a comma, quote, CR or LF.</summary>
        public void AppendField(string s)
        {
            if (s.AsSpan().IndexOfAny(",\"\r\n") < 0)
            {
                Append(s);
                return;
            }
            Append('"');
            foreach (var c in s)
            {
                if (c == '"')
                {
                    Append('"');
                }
                Append(c);
            }
            Append('"');
        }
    }
}
