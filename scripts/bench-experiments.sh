#!/usr/bin/env bash
# The experiments benchmark (issue #19: "50 concurrent experiments on the 10M-event set add at most 15% to the cold
# run"). On this machine, in one go:
#   1. builds the pipeline (Release) and runs a snapshot copy of it (bench-data/experiments-bin), so rebuilding the
#      worktree while the benchmark runs changes nothing;
#   2. generates the 10M set once WITH experiments (cached under bench-data/10M-x50/):
#      `pipeline generate --customers 83500 --days 365 --seed 1 --faults --legacy-defaults --experiments` (the four
#      injected tests) plus scripts/bench-experiments-expand.py (46 more concurrent tests: 50 in all);
#   3. runs `pipeline run` cold on it with the experiments stage ("on") and with `--skip experiments` ("off") in
#      interleaved pairs (on/off, then off/on, …), each into an emptied output directory, and takes the wall seconds
#      of each process and the experiments stage's own seconds from the run manifest;
#   4. writes bench/results/experiments-10M.md: commit, CPU, load average, per-round seconds, the ratio of each pair
#      and their median.
#
#   scripts/bench-experiments.sh [--pairs 3] [--experiments 50] [--no-build] [--report-only]
#
# Each finished run is appended to <data>/rounds.txt; --report-only writes the results from that file alone (after a
# benchmark stopped early, e.g. after two pairs on a loaded machine).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

pairs=3 experiments=50 build=1 report_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs=$2; shift 2 ;;
    --experiments) experiments=$2; shift 2 ;;
    --no-build) build=""; shift ;;
    --report-only) report_only=1; build=""; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

data="bench-data/10M-x$experiments"
bin="bench-data/experiments-bin"
results="bench/results"
out="$results/experiments-10M.md"
log() { echo "bench-experiments: $(date -u +%H:%M:%S) $*" >&2; }
mkdir -p "$results" bench-data

if [ -n "$build" ]; then
  log "building (Release)"
  dotnet build -c Release jobs >/dev/null
  rm -rf "$bin" && cp -r jobs/bin/Release/net10.0 "$bin"
  git describe --always --dirty >"$bin/COMMIT"
fi
commit=$(cat "$bin/COMMIT")
pipeline="dotnet $bin/pipeline.dll"

if [ -z "$report_only" ] && [ ! -f "$data/ground_truth.json" ]; then
  log "generating $data (83,500 customers × 365 days, faults, legacy defaults, experiments)"
  rm -rf "$data.tmp"
  $pipeline generate --output "$data.tmp" --customers 83500 --days 365 --seed 1 --faults --legacy-defaults --experiments >&2
  python3 scripts/bench-experiments-expand.py "$data.tmp" "$experiments" >&2
  mv "$data.tmp" "$data"
fi
exposures=$(cat "$data"/events/experiments*.jsonl | wc -l)
events=$(cat "$data"/events/*.jsonl | wc -l)

rounds="$data/rounds.txt"
run_one() { # run_one on|off ROUND: a cold run; appends "round mode wall stage_s load_before load_after exit"
  local mode=$1 round=$2 dir="$data/run-$1" skip=() t0 t1 code=0 stage_s load0 load1
  rm -rf "$dir"
  [ "$mode" = off ] && skip=(--skip experiments)
  load0=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  $pipeline run -c "$data/pipeline.json" -o "$dir" -q "${skip[@]}" >"$data/run-$mode-$round.log" 2>&1 || code=$?
  t1=$(date +%s.%N)
  load1=$(cut -d' ' -f1 /proc/loadavg)
  stage_s=$(python3 - "$dir" <<'PY'
import glob, json, os, re, sys
runs = sorted(p for p in glob.glob(os.path.join(sys.argv[1], "_runs", "*.json")) if re.search(r"/\d{8}T\d{6}Z-[0-9a-f]+\.json$", p))
s = "-"
if runs:
    for step in json.load(open(runs[0])).get("steps", []):
        if step.get("stage") == "experiments" and step.get("status") == "succeeded":
            s = "%.1f" % step.get("seconds", 0)
print(s)
PY
)
  local wall
  wall=$(python3 -c "print('%.1f' % ($t1 - $t0))")
  log "round $round $mode: ${wall}s (experiments stage ${stage_s}s), exit $code, load $load0 → $load1"
  echo "$round $mode $wall $stage_s $load0 $load1 $code" >>"$rounds"
}

if [ -z "$report_only" ]; then
  rm -f "$rounds"
  for r in $(seq 1 "$pairs"); do
      if [ $((r % 2)) -eq 1 ]; then run_one on "$r"; run_one off "$r"; else run_one off "$r"; run_one on "$r"; fi
  done
fi
mapfile -t rows <"$rounds"

python3 - "$out" "$commit" "$data" "$events" "$exposures" "$experiments" "${rows[@]}" <<'PY'
import platform, statistics, sys
out, commit, data, events, exposures, experiments, *rows = sys.argv[1:]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
cores = sum(1 for l in open("/proc/cpuinfo") if l.startswith("processor"))
rounds = {}
for r in rows:
    rnd, mode, wall, stage, l0, l1, code = r.split()
    rounds.setdefault(int(rnd), {})[mode] = (float(wall), stage, l0, l1, int(code))
lines = [f"# Experiments benchmark: {experiments} concurrent experiments on the 10M-event set", "",
         f"- commit `{commit}`, written by `scripts/bench-experiments.sh`",
         f"- CPU: {cpu}, {cores} logical cores (shared with other work while this ran: see the load averages)",
         f"- data: `pipeline generate --customers 83500 --days 365 --seed 1 --faults --legacy-defaults --experiments` + "
         f"`scripts/bench-experiments-expand.py` ({experiments} experiments): {int(events):,} event lines, of which {int(exposures):,} exposures",
         "- each run: `pipeline run` cold (output emptied first); `off` = the same with `--skip experiments`", "",
         "| round | order | on: wall s | experiments stage s | off: wall s | on / off | stage s / off wall s | load 1-min (on: before → after; off) | exits |",
         "|---|---|---|---|---|---|---|---|---|"]
ratios = []
stage_shares = []
for rnd in sorted(rounds):
    m = rounds[rnd]
    if "on" not in m or "off" not in m:
        continue
    on, off = m["on"], m["off"]
    ok = on[4] == 0 and off[4] == 0
    ratio = on[0] / off[0]
    if ok:
        ratios.append(ratio)
    order = "on, off" if rnd % 2 == 1 else "off, on"
    share = float(on[1]) / off[0] if on[1] not in ("-", "") else None
    if ok and share is not None:
        stage_shares.append(share)
    lines.append(f"| {rnd} | {order} | {on[0]:.1f} | {on[1]} | {off[0]:.1f} | {ratio:.3f} | {'-' if share is None else f'{share:.3f}'} | {on[2]} → {on[3]}; {off[2]} → {off[3]} | {on[4]}, {off[4]} |")
lines.append("")
if ratios:
    med = statistics.median(ratios)
    lines.append(f"**Median on / off: {med:.3f}** ({(med - 1) * 100:+.1f}% for the experiments stage; the issue's limit is +15%: "
                 f"{'within it' if med <= 1.15 else 'OVER it'}), over {len(ratios)} pair(s).")
    if stage_shares:
        sm = statistics.median(stage_shares)
        lines.append("")
        lines.append(f"**Median experiments stage seconds / off wall: {sm:.3f}** (+{sm * 100:.1f}%): the stage's own time from the run "
                     "manifest, which other work on the machine inflates far less than it moves whole-run wall times. When the "
                     "machine is shared (1-minute load well above the core count), the wall ratio above is dominated by that noise "
                     "(pairs differ by more than the whole stage takes), and this is the figure to read.")
else:
    lines.append("No successful pair.")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
log "wrote $out"
