#!/usr/bin/env python3
"""Table of scripts/bench-history.sh: incremental run seconds per stage, long vs short history (medians of R rounds)."""
import json
import os
import statistics
import sys

work, name, results, repeats, last, short_days = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]


def load(path):
    with open(path) as f:
        return json.load(f)


def cold_events(h):
    runs = sorted(p for p in os.listdir(os.path.join(work, h, "out.cold", "_runs")) if p.endswith(".json"))
    for p in runs:
        m = load(os.path.join(work, h, "out.cold", "_runs", p))
        for s in m.get("stages", []):
            if s.get("stage") == "clean-clicks":
                return s.get("rows_read")
    return None


rounds = {}
steps = {}  # history -> stage -> seconds of every round
for h in ("long", "short"):
    rounds[h] = []
    steps[h] = {}
    for r in range(1, repeats + 1):
        t = load(os.path.join(work, h, f"inc-{r}.time"))
        run_id = open(os.path.join(work, h, f"inc-{r}.run")).read().strip()
        top = load(os.path.join(work, h, f"runs-{r}", run_id))
        for s in top.get("steps", []):
            entry = steps[h].setdefault(s["stage"], {"status": s["status"], "seconds": []})
            entry["seconds"].append(s.get("seconds"))
        rounds[h].append({"time": t, "run": run_id})

machine = load(os.path.join(work, "machine.json"))
wall = {h: [x["time"]["wall_s"] for x in rounds[h]] for h in rounds}
peak = {h: max(x["time"]["peak_kb"] for x in rounds[h]) / 1024 for h in rounds}
ev = {h: cold_events(h) for h in rounds}
med = {h: statistics.median(wall[h]) for h in wall}

lines = [
    f"# Benchmark: incremental cost against the length of the history ({name})",
    "",
    f"Run {machine['finished']} at commit `{machine['commit']}` by `{machine['invocation']}`.",
    "",
    f"**Machine:** {machine['cores']} cores ({machine['cpu']}); load average at the end {machine['load_at_end']} "
    "(long and short rounds are interleaved, so load on a shared machine hits both alike: read the ratio).",
    "",
    f"Both histories end on the same day and get the same new day (`{last}`) in their incremental run: **long** is every "
    f"earlier day ({ev['long']:,} events in its cold run), **short** the last {short_days} of them ({ev['short']:,} "
    "events). Both have the whole order history. So the difference between the two incremental runs is what the "
    "nightly run pays for the length of the clickstream history.",
    "",
    f"| step (median of {repeats}) | long s | short s | long / short |",
    "|---|---:|---:|---:|",
]
for stage in steps["long"]:
    a = steps["long"][stage]
    b = steps["short"].get(stage, {})
    sa = statistics.median(a["seconds"]) if None not in a["seconds"] else None
    sb = statistics.median(b["seconds"]) if b and None not in b["seconds"] else None
    ratio = f"{sa / sb:.2f}" if sa and sb else "—"
    status = "" if a.get("status") == "succeeded" else f" ({a.get('status')})"
    fa = f"{sa:.2f}" if sa is not None else "—"
    fb = f"{sb:.2f}" if sb is not None else "—"
    lines.append(f"| {stage}{status} | {fa} | {fb} | {ratio} |")
lines.append(f"| **whole process** (median of {repeats}) | {med['long']:.2f} | {med['short']:.2f} | "
             f"**{med['long'] / med['short']:.2f}** |")
lines += [
    "",
    f"Whole-process rounds (s): long {', '.join(f'{x:.2f}' for x in wall['long'])}; "
    f"short {', '.join(f'{x:.2f}' for x in wall['short'])}. Peak RSS: long {peak['long']:,.0f} MB, short {peak['short']:,.0f} MB. "
    "Stage seconds are medians over the rounds, from each round's run manifest.",
    "",
]
os.makedirs(results, exist_ok=True)
with open(os.path.join(results, name + ".md"), "w") as f:
    f.write("\n".join(lines))
with open(os.path.join(results, name + ".json"), "w") as f:
    json.dump({"machine": machine, "events": ev, "wall_s": wall, "peak_mb": peak, "median_wall_s": med,
               "steps": steps}, f, indent=2, sort_keys=True)
print("\n".join(lines))
