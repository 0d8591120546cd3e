#!/usr/bin/env bash
# The whole-pipeline benchmark (issue "Benchmarks and scale"). For one scale, in one run on this machine:
#   1. generates the dataset once (cached under bench-data/<scale>/), holding the last day's events file back;
#   2. `pipeline run` cold on everything else, then incremental after adding the held-back day's file
#      (per-stage seconds and rows from the run manifests; whole-process wall, CPU and peak RSS from /usr/bin/time -v;
#      the steps inside each stage from the --verbose log, kept as $work/run-*.err);
#   3. the baseline statements on the same files: clean-orders and clean-clicks (bench/, best of BENCH_REPEATS) and
#      the features aggregation (bench/Suite), each a single hand-written DuckDB statement;
#   4. the pandas / scikit-learn / SciPy peer (scripts/peer/) on the same files and the run's LTV summary;
#   5. the model micro-benchmark (bench/Suite models: BG/NBD + Gamma-Gamma and k-means on 1M customers) and the
#      scikit-learn k-means on the same matrix;
# then writes bench/results/<scale>.json and bench/results/<scale>.md (scripts/bench-report.py).
#
#   scripts/bench-all.sh --events 10M|100M|<customers> [--days D] [--skip-peer] [--peer] [--skip-models]
#                        [--model-customers N] [--memory-limit 6GB] [--threads 0] [--keep] [--gzip]
#
# 10M ≈ 83,500 customers × 365 days (≈ 10M events, ≈ 320k orders); 100M ≈ 835,000 customers × 365 days. A plain
# number is a customer count (default 60 days, e.g. `--events 20000` ≈ 1.5M events, for a quick check). The peer
# holds every event in pandas (≈ 1 GB per million events), so it is skipped by default above 30M events (--peer forces it);
# so is the payload clicks baseline (it carries every column through its windows and spills for hours at that size).
# --gzip (the default at 100M) gzips the generated files once (gzip -1, one process per core): 100M events are ≈ 42 GB
# of JSON lines, 2.9 GB gzipped, which leaves the disk to DuckDB's spill files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

args="$*"
scale="" days="" skip_peer="" force_peer="" skip_models="" model_customers=1000000 memory_limit=6GB threads=0 keep="" gzip=""
while [ $# -gt 0 ]; do
  case "$1" in
    --events) scale=$2; shift 2 ;;
    --days) days=$2; shift 2 ;;
    --skip-peer) skip_peer=1; shift ;;
    --peer) force_peer=1; shift ;;
    --skip-models) skip_models=1; shift ;;
    --model-customers) model_customers=$2; shift 2 ;;
    --memory-limit) memory_limit=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --gzip) gzip=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$scale" in
  10M) customers=83500; days=${days:-365}; approx_events=10000000 ;;
  100M) customers=835000; days=${days:-365}; approx_events=100000000; gzip=1 ;;
  ''|*[!0-9]*) echo "error: --events 10M, 100M or a customer count" >&2; exit 2 ;;
  *) customers=$scale; days=${days:-60}; approx_events=$((customers * 75)); scale="c${customers}-d${days}" ;;
esac
if [ -n "$force_peer" ]; then skip_peer=""; elif [ "$approx_events" -gt 30000000 ]; then skip_peer=${skip_peer:-auto}; fi

data="bench-data/$scale"
work="$data/run"
results="bench/results"
mkdir -p "$results"
log() { echo "bench-all: $(date -u +%H:%M:%S) $*" >&2; }
timed() { # timed NAME cmd...: /usr/bin/time -v into $work/NAME.time, stdout to $work/NAME.out, stderr to $work/NAME.err
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err"
}

log "building (Release)"
dotnet build -c Release jobs >/dev/null
dotnet build -c Release bench >/dev/null
dotnet build -c Release bench/Suite >/dev/null
pipeline="dotnet jobs/bin/Release/net10.0/pipeline.dll"
suite="dotnet bench/Suite/bin/Release/net10.0/Pipeline.Bench.Suite.dll"

. scripts/bench-data.sh
bench_generate "$data" "$customers" "$days" "$gzip" $pipeline

# The cold view: every file but the last day's events (hard links, same bytes); the held-back file arrives later.
last_day=$(ls "$data/events" | sort | tail -n 1)
rm -rf "$data/cold" "$work"
mkdir -p "$data/cold/orders" "$data/cold/events" "$work/landing/orders" "$work/landing/events"
for f in "$data"/orders/*; do ln "$f" "$data/cold/orders/"; ln "$f" "$work/landing/orders/"; done
for f in "$data"/events/*; do
  [ "$(basename "$f")" = "$last_day" ] && continue
  ln "$f" "$data/cold/events/"; ln "$f" "$work/landing/events/"
done
cp "$data/ground_truth.json" "$data/cold/"
now=$(sed -n 's/.*"observation_end": *"\([^"]*\)".*/\1/p' "$data/ground_truth.json" | head -n 1)
cat >"$work/pipeline.json" <<EOF
{
  "output": "$root/$work/out",
  "now": "$now",
  "engine": { "threads": $threads, "memory_limit": "$memory_limit" },
  "orders": { "input": "$root/$work/landing/orders/" },
  "events": { "input": "$root/$work/landing/events/", "site_hosts": ["shop.example.com"] }
}
EOF

{
  echo "{"
  echo "  \"invocation\": \"scripts/bench-all.sh $args\","
  echo "  \"scale\": \"$scale\", \"customers\": $customers, \"days\": $days, \"held_back\": \"$last_day\","
  echo "  \"memory_limit\": \"$memory_limit\", \"threads\": $threads,"
  echo "  \"cores\": $(nproc), \"mem_total_kb\": $(awk '/MemTotal/ {print $2}' /proc/meminfo),"
  echo "  \"cpu\": \"$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)\","
  echo "  \"os\": \"$(. /etc/os-release && echo "$PRETTY_NAME"), $(uname -sr)\","
  echo "  \"dotnet\": \"$(dotnet --version)\","
  echo "  \"load_at_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\","
  echo "  \"started\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"commit\": \"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)\""
  echo "}"
} >"$work/machine.json"
$suite engine-version >"$work/engine.json"

# sample_disk NAME: every 5 s, the bytes in the output's DuckDB spill folder (_tmp) and in its staging folder (_staging:
# the staged tables and clean-clicks' scratch Parquet), peaks written to $work/NAME.disk.json until killed.
sample_disk() {
  local spill_peak=0 staging_peak=0 sum_peak=0 spill staging
  while :; do
    spill=$(du -sb "$work/out/_tmp" 2>/dev/null | cut -f1); spill=${spill:-0}
    staging=$(du -sb "$work/out/_staging" 2>/dev/null | cut -f1); staging=${staging:-0}
    [ "$spill" -gt "$spill_peak" ] && spill_peak=$spill
    [ "$staging" -gt "$staging_peak" ] && staging_peak=$staging
    [ $((spill + staging)) -gt "$sum_peak" ] && sum_peak=$((spill + staging))
    echo "{\"spill_peak_bytes\": $spill_peak, \"staging_peak_bytes\": $staging_peak, \"sum_peak_bytes\": $sum_peak, \"interval_s\": 5}" >"$work/$1.disk.json"
    sleep 5
  done
}
sampled() { # sampled NAME cmd...: timed, with the disk sampled
  local name=$1 rc=0
  sample_disk "$name" & local sampler=$!
  timed "$@" || rc=$?
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
  return $rc
}

log "pipeline run, cold"
sampled run-cold $pipeline run --verbose -c "$work/pipeline.json" || { log "cold run failed, see $work/run-cold.err"; exit 1; }
ls "$work/out/_runs" >"$work/runs-cold.txt"

log "pipeline run, incremental (+ $last_day)"
ln "$data/events/$last_day" "$work/landing/events/"
sampled run-incremental $pipeline run --verbose -c "$work/pipeline.json" || { log "incremental run failed, see $work/run-incremental.err"; exit 1; }

log "baseline statements"
repeats=${BENCH_REPEATS:-1}
BENCH_ONLY=baseline timed baseline-orders dotnet bench/bin/Release/net10.0/Pipeline.Bench.dll clean-orders "$data/cold" "$repeats"
BENCH_ONLY=baseline timed baseline-clicks dotnet bench/bin/Release/net10.0/Pipeline.Bench.dll clean-clicks "$data/cold" "$repeats"
# The same statement carrying the clean-events payload columns (what one writes to get the stage's table without its rules).
if [ "$approx_events" -le 30000000 ]; then
  BENCH_CLICKS_BASELINE=payload BENCH_ONLY=baseline timed baseline-clicks-payload dotnet bench/bin/Release/net10.0/Pipeline.Bench.dll clean-clicks "$data/cold" "$repeats"
  # Again under the pipeline's memory limit (DuckDB's default is 80% of the machine's memory; the stage is held to the limit).
  BENCH_MEMORY_LIMIT=$memory_limit BENCH_CLICKS_BASELINE=payload BENCH_ONLY=baseline timed baseline-clicks-payload-capped dotnet bench/bin/Release/net10.0/Pipeline.Bench.dll clean-clicks "$data/cold" "$repeats"
fi
# The features statement reads what the cold run published for the cold run's snapshot date.
as_of=$(ls "$work/out/customers/features" | sed -n 's/^as_of=//p' | sort | head -n 1)
timed baseline-features $suite features-baseline "$work/out" "$as_of" --repeats "$repeats"

$suite to-csv "$root/$work/out/ltv/customers/**/*.parquet" "$root/$work/ltv_customers.csv" >/dev/null
$suite to-csv "$root/$work/out/ltv/params/**/*.parquet" "$root/$work/ltv_params.csv" >/dev/null
if [ -z "$skip_peer" ]; then
  log "peer (pandas / scikit-learn / SciPy)"
  timed peer scripts/peer/run.sh pipeline --data "$data/cold" --summary "$work/ltv_customers.csv" || log "peer failed, see $work/peer.err"
else
  log "peer skipped ($skip_peer)"
  echo "{\"skipped\": \"${skip_peer/1/requested}\"}" >"$work/peer.out"
fi

if [ -z "$skip_models" ]; then
  log "model micro-benchmark ($model_customers customers)"
  timed models $suite models --customers "$model_customers" --matrix-out "$work/matrix"
  log "scikit-learn k-means on the same matrix"
  timed peer-kmeans scripts/peer/run.sh kmeans --matrix "$work/matrix"
  rm -f "$work/matrix/matrix.npy"
fi

/usr/bin/python3 scripts/bench-report.py "$work" "$scale" "$results"
if [ -z "$keep" ]; then rm -rf "$work/out" "$work/landing"; fi
log "done: $results/$scale.md"
