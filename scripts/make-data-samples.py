#!/usr/bin/env python3
"""Writes the committed files under data-samples/ (run once; kept to document how the dirt was made).

Deterministic (seeded). Not needed to build, run or test the pipeline. Usage: python3 scripts/make-data-samples.py
"""
import gzip, random, datetime as dt, os

random.seed(20240101)
root = os.path.join(os.path.dirname(__file__), "..", "data-samples")
Z = dt.timezone.utc

def iso(t, style):
    if style == "z":
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == "offset":   # the same instant written in Shanghai time
        return (t + dt.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    if style == "epoch_ms":
        return str(int(t.timestamp() * 1000))
    if style == "epoch_s":
        return str(int(t.timestamp()))
    return t.strftime("%Y-%m-%d %H:%M:%S")  # naive = UTC (source_time_zone)

# ---- order-level: two quarterly exports -------------------------------------------------------------------------
header = "order_id,customer_id,ordered_at,status,currency,total_amount,discount_amount,shipping_amount,tax_amount,refunded_amount,email,channel"
channels = ["organic_search", "paid_search", "email", "direct", "social", "referral"]
rows = {1: [], 2: []}
n = 0
for c in range(1, 181):
    cid = f"C{c:04d}"
    t = dt.datetime(2024, 1, 1, tzinfo=Z) + dt.timedelta(minutes=random.randint(0, 60 * 24 * 120))
    while t < dt.datetime(2024, 6, 30, tzinfo=Z):
        n += 1
        status = random.choices(["completed", "Completed", "cancelled", "refunded", "partially_refunded", "paid"], [70, 5, 4, 3, 3, 5])[0]
        cur = "EUR" if random.random() < 0.08 else "USD"
        total = round(random.gammavariate(4, 15), 2)
        disc = round(total * 0.1, 2) if random.random() < 0.2 else ""
        ship = random.choice(["", "4.99", "0"])
        tax = round(total * 0.07, 2)
        refunded = round(total * 0.3, 2) if status == "partially_refunded" else ""
        email = f"{cid.lower()}@example.com" if random.random() < 0.9 else ""
        style = random.choices(["z", "offset", "epoch_ms", "naive"], [70, 10, 10, 10])[0]
        q = 1 if t.month <= 3 else 2
        rows[q].append([f"A{n:05d}", cid, iso(t, style), status, cur, f"{total:.2f}", str(disc), ship, f"{tax:.2f}", str(refunded), email, random.choice(channels)])
        t += dt.timedelta(days=random.expovariate(1 / 25), minutes=random.randint(0, 600))
for i in range(12):  # guest checkouts
    n += 1
    rows[2].append([f"A{n:05d}", "", f"2024-05-{10 + i:02d}T12:00:00Z", "completed", "USD", "19.90", "", "", "", "", f"guest{i}@example.org", "direct"])
# dirt: a few of each, plus re-delivered orders (duplicates) and a late status change
rows[1].append(["A99001", "C0001", "2024-02-30T10:00:00Z", "completed", "USD", "10.00", "", "", "", "", "", "direct"])   # bad date
rows[1].append(["A99002", "C0002", "yesterday", "completed", "USD", "10.00", "", "", "", "", "", "direct"])              # bad timestamp
rows[1].append(["", "C0003", "2024-02-01T10:00:00Z", "completed", "USD", "10.00", "", "", "", "", "", "direct"])         # no order id
rows[2].append(["A99003", "C0004", "2024-04-01T10:00:00Z", "shipped??", "USD", "10.00", "", "", "", "", "", "direct"])     # unknown status
rows[2].append(["A99004", "C0005", "2024-04-02T10:00:00Z", "completed", "USD", "-12.50", "", "", "", "", "", "direct"])   # negative amount
rows[2].append(["A99005", "C0006", "2024-04-03T10:00:00Z", "completed", "GBP", "12.50", "", "", "", "", "", "direct"])    # no FX rate for GBP
rows[2].append(["A99006", "C0007", "2031-04-03T10:00:00Z", "completed", "USD", "12.50", "", "", "", "", "", "direct"])    # future
for r in random.sample(rows[1], 6):            # re-delivered in the next export: duplicates
    rows[2].append(list(r))
late = list(rows[1][5]); late[3] = "refunded"; late[9] = late[5]
rows[2].append(late)                            # later version of an order: refunded after the fact

def write(name, lines, bom=False, crlf=False, malformed=()):
    eol = "\r\n" if crlf else "\n"
    body = header + eol + eol.join(",".join(x) for x in lines) + eol
    for m in malformed:
        body += m + eol
    with open(os.path.join(root, "orders", name), "wb") as f:
        f.write((b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8"))

write("orders-2024-q1.csv", rows[1], malformed=['A99007,C0008,2024-03-01T10:00:00Z,completed,USD,10.00,,,,,,direct,EXTRA'])
write("orders-2024-q2.csv", rows[2], bom=True, crlf=True, malformed=['A99008,C0009,"2024-05-01T10:00:00Z,completed'])

with open(os.path.join(root, "reference", "fx_rates.csv"), "w") as f:
    f.write("date,currency,rate\n")
    d = dt.date(2023, 12, 29)
    while d <= dt.date(2024, 6, 30):
        if d.weekday() < 5:   # business days only: weekend orders use Friday's rate
            f.write(f"{d},EUR,{1.08 + 0.03 * random.random():.4f}\n")
        d += dt.timedelta(days=1)

# ---- line-level: UCI Online Retail style ------------------------------------------------------------------------
lh = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
products = [("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 2.55), ("71053", "WHITE METAL LANTERN", 3.39),
            ("84406B", "CREAM CUPID HEARTS COAT HANGER", 2.75), ("22752", "SET 7 BABUSHKA NESTING BOXES", 7.65),
            ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 4.25), ("22633", "HAND WARMER UNION JACK", 1.85),
            ("84879", "ASSORTED COLOUR BIRD ORNAMENT", 1.69), ("22745", "POPPY'S PLAYHOUSE BEDROOM", 2.10)]
lines = []
inv = 536365
for c in range(1, 121):
    cid = str(12345 + c) if random.random() < 0.93 else ""
    t = dt.datetime(2010, 12, 1, 8, 0) + dt.timedelta(minutes=random.randint(0, 60 * 24 * 60))
    for _ in range(random.randint(1, 5)):
        inv += 1
        items = random.sample(products, random.randint(1, 5))
        for code, desc, price in items:
            qty = random.choice([1, 2, 3, 4, 6, 12, 24])
            lines.append([str(inv), code, f'"{desc}"', str(qty), t.strftime("%m/%d/%Y %H:%M"), f"{price:.2f}", cid, "United Kingdom"])
        if random.random() < 0.1 and cid:   # a credit note returning the first item
            code, desc, price = items[0]
            lines.append([f"C{inv}", code, f'"{desc}"', "-1", (t + dt.timedelta(days=3)).strftime("%m/%d/%Y %H:%M"), f"{price:.2f}", cid, "United Kingdom"])
        t += dt.timedelta(days=random.expovariate(1 / 12))
lines.append(["536999", "22633", '"HAND WARMER UNION JACK"', "abc", "12/05/2010 10:00", "1.85", "12400", "United Kingdom"])  # bad quantity
lines.append(["537000", "22633", '"HAND WARMER UNION JACK"', "2", "13/45/2010 10:00", "1.85", "12401", "United Kingdom"])  # bad timestamp
with gzip.GzipFile(os.path.join(root, "order-lines", "online-retail-2010-12.csv.gz"), "wb", mtime=0) as f:
    f.write((lh + "\n" + "\n".join(",".join(x) for x in lines) + "\n").encode("utf-8"))
print("orders:", len(rows[1]) + len(rows[2]), "lines:", len(lines))
