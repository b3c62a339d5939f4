#!/usr/bin/env bash
# Runs the telemetry matrix of bench/NOTES.md: keys 100, 100 000, 1 000 000 x workers 1, 2.
# usage: bench/run_telemetry_matrix.sh [BUILD_DIR] [OUT_DIR] [extra sluice-bench options...]
set -u
build=${1:-build}
out=${2:-bench-results}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "$out"
for keys in 100 100000 1000000; do
  for workers in 1 2; do
    name="telemetry_k${keys}_w${workers}"
    echo "== $name (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
    "$build/bin/sluice-bench" telemetry --events 20000000 --keys "$keys" --workers "$workers" \
      --json "$out/$name.json" "$@" 2>&1 | tee "$out/$name.txt"
    echo "exit status ${PIPESTATUS[0]}" | tee -a "$out/$name.txt"
  done
done
