#!/usr/bin/env bash
# Smoke test of the Spark engine against a real Spark Connect server:
#   scripts/spark-smoke.sh sc://host:15002[/;token=...]      (or: SPARK_REMOTE=... scripts/spark-smoke.sh)
# Generates a small dataset, runs the whole pipeline once on DuckDB and once on Spark, and compares the two outputs
# table by table (row counts, key sets, numeric sums) with tools/compare. Exit 0 only when they match.
#
# The Spark server must see this machine's files under the same paths (a shared mount, or Spark in local mode on
# this host): set SMOKE_DIR to a directory on that mount (default: a fresh directory under ./out/).
set -euo pipefail
cd "$(dirname "$0")/.."

remote="${1:-${SPARK_REMOTE:-}}"
if [ -z "$remote" ]; then
  echo "usage: $0 sc://host:15002[/;token=...]   (or set SPARK_REMOTE)" >&2
  exit 2
fi
export SPARK_REMOTE="$remote"   # passed through the environment: a token never appears in ps output or logs

dir="$(realpath -m "${SMOKE_DIR:-out/spark-smoke-$(date -u +%Y%m%dT%H%M%SZ)}")"
mkdir -p "$dir"
echo "working directory: $dir"

dotnet build -c Release jobs/Pipeline.Jobs.csproj -v q -nologo >/dev/null
dotnet build -c Release tools/compare/Pipeline.Compare.csproj -v q -nologo >/dev/null
pipeline() { dotnet jobs/bin/Release/net10.0/pipeline.dll "$@"; }

# A small dataset with every kind of dirt, and a fixed clock and key so both runs are comparable.
pipeline generate --output "$dir/input" --customers 300 --days 60 --seed 11 --faults
export PIPELINE_HASH_KEY="spark-smoke-not-secret"
now="2024-03-15T00:00:00Z"
cat > "$dir/pipeline.json" <<JSON
{
  "now": "$now",
  "quality": { "max_quarantine_share": 1 },
  "orders": { "input": "$dir/input/orders/" },
  "events": { "input": "$dir/input/events/" },
  "analytics": { "ltv": { "holdout_days": 14 }, "segments": { "k_max": 4 } }
}
JSON

for engine in duckdb spark; do
  for command in clean-orders clean-clicks features rfm segment ltv; do
    echo "== $engine: $command"
    pipeline "$command" -c "$dir/pipeline.json" -o "$dir/$engine" --engine "$engine"
  done
done

echo "== compare duckdb vs spark"
dotnet tools/compare/bin/Release/net10.0/pipeline-compare.dll "$dir/duckdb" "$dir/spark"
