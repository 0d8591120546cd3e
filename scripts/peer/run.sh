#!/usr/bin/env bash
# Runs the pandas / scikit-learn / SciPy peer (peer.py) with Debian's Python, installing Debian's python3-pandas,
# python3-sklearn and python3-scipy first when they are missing (needs root or sudo, and the apt registry).
#   scripts/peer/run.sh <peer.py arguments>      (see scripts/peer/peer.py --help)
set -euo pipefail
py=/usr/bin/python3
if ! "$py" -c 'import pandas, sklearn, scipy' 2>/dev/null; then
  echo "peer: installing python3-pandas python3-sklearn python3-scipy (apt)" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq python3-pandas python3-sklearn python3-scipy >&2
fi
exec "$py" "$(dirname "$0")/peer.py" "$@"
