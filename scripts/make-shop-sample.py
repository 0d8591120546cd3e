#!/usr/bin/env python3
"""Writes data-samples/shop/ (the quick-start shop) from `pipeline generate`, then adds a little dirt.

Deterministic: same generator, same files. Usage (after `dotnet build -c Release`):
    python3 scripts/make-shop-sample.py [path/to/pipeline]

The shop: the generator's default calibration (the plan's starting point: session conversion ~1.5%, natural traffic
~20%, new-customer 90-day repurchase ~30%, ACoS ~35% on the paid channels, bots ~3% of events), 2024-03-01 to
2024-06-25 (a Tuesday, so the last week is partial; 618 is inside). Event day files are regrouped into weekly gzipped
files; a few dirty lines are added (one unreadable line, a bad timestamp, an event without identity, an unknown event
type, a re-delivered line), Sunday's paid search spend spelled "Paid Search", and three bad ad spend rows (unknown channel, bad amount, impossible date).
"""
import gzip, os, shutil, subprocess, sys, tempfile, datetime as dt

repo = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
pipeline = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "jobs", "bin", "Release", "net10.0", "pipeline")
shop = os.path.join(repo, "data-samples", "shop")
CUSTOMERS, DAYS, SEED, START = 110, 117, 7, "2024-03-01"

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([pipeline, "generate", "-o", tmp, "--customers", str(CUSTOMERS), "--days", str(DAYS), "--seed", str(SEED),
                    "--start-date", START], check=True, stdout=subprocess.DEVNULL)
    for sub in ("orders", "events"):
        shutil.rmtree(os.path.join(shop, sub), ignore_errors=True)
        os.makedirs(os.path.join(shop, sub))
    for name in sorted(os.listdir(os.path.join(tmp, "orders"))):
        shutil.copy(os.path.join(tmp, "orders", name), os.path.join(shop, "orders", name))

    # Weekly files (Monday to Sunday), named by the week's Monday.
    weeks = {}
    for name in sorted(os.listdir(os.path.join(tmp, "events"))):
        day = dt.date.fromisoformat(name[len("events-"):len("events-") + 10])
        monday = day - dt.timedelta(days=day.weekday())
        with open(os.path.join(tmp, "events", name), "rb") as f:
            weeks.setdefault(monday, []).extend(f.read().splitlines())
    mondays = sorted(weeks)
    # Dirt: in the second week, an unreadable line, a bad timestamp, a line without identity, an unknown event type;
    # the first line of the second week delivered again in the third (a duplicate).
    weeks[mondays[1]] += [
        b"not json at all",
        b'{"event_id":"X1","occurred_at":"yesterday","anonymous_id":"a-x","event_type":"page_view"}',
        b'{"event_id":"X2","occurred_at":"2024-03-10T10:00:00Z","event_type":"page_view"}',
        b'{"event_id":"X3","occurred_at":"2024-03-10T10:00:01Z","anonymous_id":"a-x","event_type":"heatmap_click"}',
    ]
    weeks[mondays[2]].append(weeks[mondays[1]][0])
    for monday in mondays:
        path = os.path.join(shop, "events", f"events-week-{monday.isoformat()}.jsonl.gz")
        with gzip.GzipFile(path, "wb", mtime=0, compresslevel=9) as f:
            f.write(b"\n".join(weeks[monday]) + b"\n")

    with open(os.path.join(tmp, "ad_spend", "ad_spend.csv"), "rb") as f:
        spend = f.read()
    # Another spelling of a channel, as exports from ad platforms have: Sunday's paid search rows say "Paid Search".
    lines = spend.decode().splitlines()
    for i, line in enumerate(lines[1:], 1):
        date, channel, rest = line.split(",", 2)
        if channel == "paid_search" and dt.date.fromisoformat(date).weekday() == 6:
            lines[i] = f"{date},Paid Search,{rest}"
    spend = ("\n".join(lines) + "\n").encode()
    spend += b"2024-04-18,tv,upfront,250.00\n2024-04-19,paid_search,generic,\"1,234.50\"\n2024-04-31,paid_social,launch,6.10\n"
    with open(os.path.join(shop, "ad_spend.csv"), "wb") as f:
        f.write(spend)
    shutil.copy(os.path.join(tmp, "ground_truth.json"), os.path.join(shop, "ground_truth.json"))

total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(shop) for f in fs)
print(f"data-samples/shop: {total / 1024:.0f} kB")
