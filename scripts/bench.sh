#!/usr/bin/env bash
# Benchmarks a cleaning stage against a single hand-written DuckDB statement doing its core, in one process, on the
# same generated files (cached under bench-data/). Prints each round and the best-of ratio.
#   scripts/bench.sh [clean-orders|clean-clicks] [customers|dataset-dir] [days]
# Defaults: clean-orders on 260,000 customers × 365 days (≈ 1,000,000 orders). For clean-clicks use e.g. 100000
# customers (≈ 12,000,000 events), or an existing dataset directory (e.g. a subset of a generated one's daily files
# plus its ground_truth.json) for faster iterations.
# BENCH_REPEATS (default 3) sets the rounds; BENCH_ONLY=baseline|pipeline runs one side.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:-clean-orders}
customers=${2:-260000}
days=${3:-365}
if [ -d "$customers" ]; then
  data="$customers"
else
  data="bench-data/c${customers}-d${days}"
fi
dotnet build -c Release jobs >/dev/null
dotnet build -c Release bench >/dev/null
. scripts/bench-data.sh
bench_generate "$data" "$customers" "$days" "" dotnet jobs/bin/Release/net10.0/pipeline.dll
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
dotnet bench/bin/Release/net10.0/Pipeline.Bench.dll "$stage" "$data" "${BENCH_REPEATS:-3}"
