#!/usr/bin/env bash
# Smoke test of the Spark engine against a real Spark Connect server — the acceptance test of the Spark path:
#   scripts/spark-smoke.sh sc://host:15002[/;token=...]      (or: SPARK_REMOTE=... scripts/spark-smoke.sh)
# Generates a small dataset with every kind of dirt, runs the whole pipeline (`pipeline run`, every stage) once on
# DuckDB and once on Spark, compares the two outputs table by table (row counts, key sets, numeric sums) with
# tools/compare, and writes everything into one report file to attach to an issue:
#   <dir>/spark-smoke-report.md   (machine, versions, each stage's status and seconds on both engines, every error
#                                  line, the comparison)
# Exit 0 only when both runs succeed and the outputs match. A failing Spark stage does not stop the report.
#
# The Spark server must see this machine's files under the same paths (a shared mount, or Spark in local mode on
# this host): set SMOKE_DIR to a directory on that mount (default: a fresh directory under ./out/).
set -uo pipefail
cd "$(dirname "$0")/.."

remote="${1:-${SPARK_REMOTE:-}}"
if [ -z "$remote" ]; then
  echo "usage: $0 sc://host:15002[/;token=...]   (or set SPARK_REMOTE)" >&2
  exit 2
fi
export SPARK_REMOTE="$remote"   # passed through the environment: a token never appears in ps output or logs

dir="$(realpath -m "${SMOKE_DIR:-out/spark-smoke-$(date -u +%Y%m%dT%H%M%SZ)}")"
mkdir -p "$dir"
report="$dir/spark-smoke-report.md"
echo "working directory: $dir"

dotnet build -c Release jobs/Pipeline.Jobs.csproj -v q -nologo >/dev/null || { echo "error: build failed" >&2; exit 1; }
dotnet build -c Release tools/compare/Pipeline.Compare.csproj -v q -nologo >/dev/null || { echo "error: build failed" >&2; exit 1; }
pipeline() { dotnet jobs/bin/Release/net10.0/pipeline.dll "$@"; }

# A small dataset with every kind of dirt; a fixed key, and the generator's observation end as "now", so both runs
# see the same data and are comparable.
pipeline generate --output "$dir/input" --customers 300 --days 60 --seed 11 --faults >/dev/null || exit 1
export PIPELINE_HASH_KEY="spark-smoke-not-secret"
now=$(sed -n 's/.*"observation_end": *"\([^"]*\)".*/\1/p' "$dir/input/ground_truth.json" | head -n 1)
cat > "$dir/pipeline.json" <<JSON
{
  "now": "${now:-2024-03-15T00:00:00Z}",
  "quality": { "max_quarantine_share": 1 },
  "orders": { "input": "$dir/input/orders/" },
  "events": { "input": "$dir/input/events/" },
  "analytics": { "ltv": { "holdout_days": 14 }, "segments": { "k_max": 4 } }
}
JSON

{
  echo "# Spark smoke test, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); .NET $(dotnet --version); $(uname -sr)"
  echo "- Spark Connect server: $(printf '%s' "$remote" | sed -E 's/(token=)[^;]*/\1***/')"
  echo "- dataset: pipeline generate --customers 300 --days 60 --seed 11 --faults; now ${now:-2024-03-15T00:00:00Z}"
  echo
} >"$report"

status=0
for engine in duckdb spark; do
  echo "== $engine: pipeline run"
  # Text logs: one "[stage] succeeded (12.3 s)" / "[stage] failed …" line per stage, kept whole in the report.
  PIPELINE_LOG_FORMAT=text pipeline run -c "$dir/pipeline.json" -o "$dir/$engine" --engine "$engine" --full-refresh \
    >"$dir/$engine.out" 2>"$dir/$engine.log"
  code=$?
  [ "$code" -eq 0 ] || status=1
  {
    echo "## $engine: exit $code"
    echo
    echo '```'
    grep -E '^\[[a-z-]+( [0-9-]+)?\] (succeeded|failed|skipped)|^error:|^warn' "$dir/$engine.log" || true
    echo '```'
    echo
  } >>"$report"
  grep -E '^error:' "$dir/$engine.log" >&2 || true
done

echo "== compare duckdb vs spark"
{
  echo "## tools/compare duckdb vs spark"
  echo
  echo '```'
} >>"$report"
dotnet tools/compare/bin/Release/net10.0/pipeline-compare.dll "$dir/duckdb" "$dir/spark" | tee -a "$report"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo '```' >>"$report"

echo "report: $report"
exit $status
