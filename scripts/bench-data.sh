# Sourced by the benchmark scripts (bench.sh, bench-all.sh, bench-history.sh), which share the folders of bench-data/
# (bench-data/10M, 100M, c<customers>-d<days>): each folder is generated one way, whichever script makes it first, so
# every script measures the same files. (bench-history.sh once generated the shared folders without the legacy
# defaults: the same folder then held other files depending on which script ran first.)

# bench_generate DIR CUSTOMERS DAYS GZIP PIPELINE...: unless DIR holds its ground truth, generates it with PIPELINE
# (seed 1, faults, the generator's legacy defaults: the files the earlier pages were measured on) into DIR.tmp, gzips
# every file when GZIP is non-empty (gzip -1, one process per core: 100M events are ≈ 42 GB of JSON lines, 2.9 GB
# gzipped), then renames it to DIR, so a failed generation never leaves a folder that looks complete.
bench_generate() {
  local dir=$1 customers=$2 days=$3 gzip=$4
  shift 4
  if [ -f "$dir/ground_truth.json" ]; then
    return 0
  fi
  echo "[$(date -u +%H:%M:%S)] generating $dir ($customers customers × $days days, faults${gzip:+, gzipped})" >&2
  rm -rf "$dir.tmp"
  "$@" generate --output "$dir.tmp" --customers "$customers" --days "$days" --seed 1 --faults --legacy-defaults >&2
  if [ -n "$gzip" ]; then
    find "$dir.tmp" -name '*.jsonl' -o -name '*.csv' | xargs -r -P "$(nproc)" -n 8 gzip -1
  fi
  mv "$dir.tmp" "$dir"
}
