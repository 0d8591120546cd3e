#!/usr/bin/env bash
# Does the nightly (incremental) run cost follow the new data or the history? Issue #15's incremental target.
#
#   scripts/bench-history.sh [--customers 83500] [--days 365] [--short-days 36] [--repeats 3] [--memory-limit 6GB]
#
# Comparing the incremental run at 100M with the one at 10M mixes two things: the 100M shop has 10× the customers,
# so its new day is 10× the data as well as its history 10× the rows. This benchmark separates them. From one
# generated shop (same generator as bench-all.sh, cached under bench-data/) it builds two histories that end on the
# same day and differ only in length:
#   long:  every day but the last;
#   short: the last --short-days days before the last (the same recent context, ≈ 10× fewer events);
# runs each cold once, then times R incremental runs per history (the same held-back last day added, the cold
# output restored before each run, long and short interleaved so that load on a shared machine hits both alike).
# If the nightly cost follows the new data, long / short ≈ 1; whatever grows with the history shows per stage.
# Writes bench/results/history-<customers>-d<days>.md (and .json beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

customers=83500 days=365 short_days=36 repeats=3 memory_limit=6GB
while [ $# -gt 0 ]; do
  case $1 in
    --customers) customers=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --short-days) short_days=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --memory-limit) memory_limit=$2; shift 2 ;;
    *) echo "error: unknown argument $1" >&2; exit 2 ;;
  esac
done
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

name="history-${customers}-d${days}"
data="bench-data/c${customers}-d${days}"
# The 10M and 100M shops are bench-all.sh's folders (the 100M one gzipped, as bench-all.sh makes it): the 100M year is
# the 100M history, its last 36 days ≈ 8M events.
gzip=""
[ "$customers" = 83500 ] && [ "$days" = 365 ] && data="bench-data/10M"
[ "$customers" = 835000 ] && [ "$days" = 365 ] && data="bench-data/100M" && gzip=1
work="$data/history"
results="bench/results"
mkdir -p "$results" bench-data

log "building (Release)"
dotnet build -c Release jobs >/dev/null
pipeline="dotnet jobs/bin/Release/net10.0/pipeline.dll"
export PIPELINE_HASH_KEY=${PIPELINE_HASH_KEY:-bench-history}

. scripts/bench-data.sh
bench_generate "$data" "$customers" "$days" "$gzip" $pipeline
now=$(sed -n 's/.*"observation_end": *"\([^"]*\)".*/\1/p' "$data/ground_truth.json" | head -n 1)
mapfile -t files < <(ls "$data/events" | sort)
last=${files[-1]}
n=${#files[@]}

rm -rf "$work"
for h in long short; do
  mkdir -p "$work/$h/landing/orders" "$work/$h/landing/events"
  first=0
  [ "$h" = short ] && first=$((n - 1 - short_days))
  for ((i = first; i < n - 1; i++)); do ln "$data/events/${files[$i]}" "$work/$h/landing/events/"; done
  # Orders: the whole order history in both (orders are small; what differs is the clickstream's history).
  for f in "$data"/orders/*; do ln "$f" "$work/$h/landing/orders/"; done
  cat >"$work/$h/pipeline.json" <<EOF
{
  "output": "$root/$work/$h/out",
  "now": "$now",
  "engine": { "threads": 0, "memory_limit": "$memory_limit" },
  "orders": { "input": "$root/$work/$h/landing/orders/" },
  "events": { "input": "$root/$work/$h/landing/events/", "site_hosts": ["shop.example.com"] }
}
EOF
  log "cold run: $h ($(ls "$work/$h/landing/events" | wc -l) event files)"
  $pipeline run -q -c "$work/$h/pipeline.json" >"$work/$h/cold.out" 2>"$work/$h/cold.err"
  cp -a "$work/$h/out" "$work/$h/out.cold"
done

timed() { # timed H R: one incremental run of history H, round R, from the cold output
  local h=$1 r=$2
  rm -rf "$work/$h/out" "$work/$h/landing/events/$last"
  cp -a "$work/$h/out.cold" "$work/$h/out"
  ln "$data/events/$last" "$work/$h/landing/events/"
  /usr/bin/time -f '{"wall_s": %e, "cpu_s": %U, "sys_s": %S, "peak_kb": %M}' -o "$work/$h/inc-$r.time" \
    $pipeline run -q -c "$work/$h/pipeline.json" >"$work/$h/inc-$r.out" 2>"$work/$h/inc-$r.err"
  # The run's manifests, kept before the next round restores the cold output over them.
  ls -t "$work/$h/out/_runs" | grep -E '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]+\.json$' | head -n 1 >"$work/$h/inc-$r.run"
  cp -a "$work/$h/out/_runs" "$work/$h/runs-$r"
}
for ((r = 1; r <= repeats; r++)); do
  for h in long short; do log "incremental run $r: $h"; timed "$h" "$r"; done
done

{
  echo "{"
  echo "  \"invocation\": \"scripts/bench-history.sh --customers $customers --days $days --short-days $short_days --repeats $repeats --memory-limit $memory_limit\","
  echo "  \"cpu\": \"$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)\", \"cores\": $(nproc),"
  echo "  \"load_at_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"finished\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\""
  echo "}"
} >"$work/machine.json"
python3 scripts/bench-history-report.py "$work" "$name" "$results" "$repeats" "$last" "$short_days"
log "done: $results/$name.md"
