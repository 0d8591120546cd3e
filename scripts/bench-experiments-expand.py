#!/usr/bin/env python3
"""Adds concurrent experiments to a generated dataset for the experiments benchmark (scripts/bench-experiments.sh).

`pipeline generate --experiments` writes four A/B tests (events/experiments.jsonl, each exposing about half the
customers and as many anonymous visitors as a quarter of them). This writes events/experiments-bench.jsonl with
N - 4 more: experiment k (5..N) takes the units of base experiment k mod 4 whose anonymous id falls in a 20% hash
bucket (so about 12,500 units each at 10M events), with the base's variants, times and windows, the experiment id
bench_kk and fresh event ids. The extra experiments carry no injected effect: they exist for the cost, not the truth.

    scripts/bench-experiments-expand.py <dataset dir> <experiments, e.g. 50>
"""
import hashlib
import json
import os
import sys

data, total = sys.argv[1], int(sys.argv[2])
src = os.path.join(data, "events", "experiments.jsonl")
dst = os.path.join(data, "events", "experiments-bench.jsonl")
bases = ["creative_test", "aa_test", "broken_split", "three_variant"]
extra = list(range(5, total + 1))
written = 0
with open(src, encoding="utf-8") as f, open(dst + ".tmp", "w", encoding="utf-8", newline="\n") as out:
    for line in f:
        e = json.loads(line)
        base = bases.index(e["experiment_id"])
        for k in extra:
            if k % 4 != base:
                continue
            h = hashlib.md5(f"{k}|{e['anonymous_id']}".encode()).digest()[0]
            if h % 5 != 0:
                continue
            e2 = dict(e)
            e2["event_id"] = f"B{k:02d}{e['event_id']}"
            e2["experiment_id"] = f"bench_{k:02d}"
            e2["event_type"] = "experiment_exposure"
            out.write(json.dumps(e2, separators=(",", ":")) + "\n")
            written += 1
os.replace(dst + ".tmp", dst)
print(f"{dst}: {written} exposure events of {len(extra)} more experiments")
