#!/usr/bin/env bash
# Sets up the peers' Python packages from PyPI in a virtual environment and runs bench/peers.py.
#
#   bench/peers.sh BUILD_DIR [peers.py options]
#
# e.g. bench/peers.sh build-cpu --json peers.json --plot peers.png
# The environment lives in BUILD_DIR/peers-venv; the data and logs in BUILD_DIR/peers-work.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: bench/peers.sh BUILD_DIR [peers.py options]}" && pwd)"
shift
venv="$build/peers-venv"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
fi
# Versions the figures in bench/NOTES.md were measured with.
"$venv/bin/pip" install --quiet "duckdb==2.0.*" "polars==2.1.*" "pyarrow>=17" numpy matplotlib
exec "$venv/bin/python" "$here/peers.py" --bench "$build/bin/sluice-bench" \
  --sluice "$build/bin/sluice" --work "$build/peers-work" "$@"
