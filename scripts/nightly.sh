#!/usr/bin/env bash
# Nightly entry point for cron or a systemd timer.
#
#   scripts/nightly.sh <config.json> [pipeline run options...]     e.g. scripts/nightly.sh /etc/pipeline/shop.json
#
# - One nightly at a time: `flock -n` on its own lock file (not the pipeline's <output>/_lock, which the run takes
#   itself), so a night that overruns makes the next cron start exit 5 at once instead of queueing.
# - Logs: JSON lines (one object per line: timestamp, level, run_id, stage, message, counts) appended to
#   $PIPELINE_LOG_DIR/nightly-YYYY-MM-DD.jsonl; one file per day and nothing held open between runs, so logrotate
#   (or a find -mtime +30 -delete) can rotate them without copytruncate.
# - The exit code is the pipeline's (0 ok, 2 config, 3 input, 4 quality gate, 5 locked, 1 unexpected): cron's
#   MAILTO or systemd's OnFailure= sees failures. The script's own: 2 for a PIPELINE_BIN that is not a command or a
#   lock file it cannot open, 5 only when another nightly holds the lock.
#
# Environment: PIPELINE_LOG_DIR (default <repo>/logs), PIPELINE_NIGHTLY_LOCK (default $PIPELINE_LOG_DIR/nightly.lock),
# PIPELINE_BIN (the command that runs pipeline, e.g. /opt/pipeline/pipeline; default: this checkout, built once),
# PIPELINE_HASH_KEY (the pseudonymisation key, if not in a key file).
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 <config.json> [pipeline run options...]" >&2
  exit 2
fi
config=$1
shift
repo=$(cd "$(dirname "$0")/.." && pwd)
log_dir=${PIPELINE_LOG_DIR:-$repo/logs}
mkdir -p "$log_dir" || exit 2
lock_file=${PIPELINE_NIGHTLY_LOCK:-$log_dir/nightly.lock}
log_file=$log_dir/nightly-$(date -u +%Y-%m-%d).jsonl

# A line in the day's log from the script itself (the pipeline writes its own).
log_line() {
  echo "{\"timestamp\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"level\":\"$1\",\"run_id\":null,\"stage\":\"nightly\",\"message\":\"$2\"}" >>"$log_file"
}

if [ -n "${PIPELINE_BIN:-}" ]; then
  read -r -a bin <<< "$PIPELINE_BIN"
  # A wrong PIPELINE_BIN is a configuration error (2), not a failed night: the shell's 127 is in no table of codes.
  if [ ${#bin[@]} -eq 0 ] || ! command -v "${bin[0]}" >/dev/null 2>&1; then
    log_line error "PIPELINE_BIN '${PIPELINE_BIN//[\"\\]/}' is not a command"
    echo "nightly: PIPELINE_BIN '$PIPELINE_BIN' is not a command" >&2
    exit 2
  fi
else
  dll=$repo/jobs/bin/Release/net10.0/pipeline.dll
  if [ ! -f "$dll" ]; then
    dotnet build "$repo/jobs" -c Release -nologo -v quiet >>"$log_file" 2>&1 || { echo "nightly: build failed, see $log_file" >&2; exit 1; }
  fi
  bin=(dotnet "$dll")
fi

# Exit 5 means "another nightly holds the lock" only: a lock file that cannot be opened (a directory, no permission)
# is a configuration error, or systemd's SuccessExitStatus=5 would hide a nightly that never runs.
if ! { exec 9>"$lock_file"; } 2>/dev/null; then
  log_line error "cannot open the lock file $lock_file (PIPELINE_NIGHTLY_LOCK)"
  echo "nightly: cannot open the lock file $lock_file (PIPELINE_NIGHTLY_LOCK)" >&2
  exit 2
fi
flock -n 9
locked=$?
if [ "$locked" -eq 1 ]; then
  log_line error "another nightly run holds $lock_file"
  echo "nightly: another nightly run holds $lock_file" >&2
  exit 5
elif [ "$locked" -ne 0 ]; then
  log_line error "flock failed on $lock_file (exit $locked)"
  echo "nightly: flock failed on $lock_file (exit $locked)" >&2
  exit 1
fi

# stdout and stderr both into the log. The pipeline writes JSON lines; the few lines that are not JSON (its final
# `error:` line, a runtime's crash message) are wrapped into JSON objects so the file stays one object per line.
started=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
"${bin[@]}" run --config "$config" "$@" 2>&1 | awk -v ts="$started" '
function esc(s,    out, i, c) {
  out = ""
  for (i = 1; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\\") out = out "\\\\"
    else if (c == "\"") out = out "\\\""
    else if (c == "\t") out = out "\\t"
    else if (c >= " ") out = out c
  }
  return out
}
/^[{]/ { print; fflush(); next }
{
  printf "{\"timestamp\":\"%s\",\"level\":\"%s\",\"run_id\":null,\"stage\":\"nightly\",\"message\":\"%s\"}\n", ts, ($0 ~ /^error: /) ? "error" : "info", esc($0)
  fflush()
}
' >>"$log_file"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
  echo "nightly: pipeline run failed with exit code $status, see $log_file" >&2
fi
exit "$status"
