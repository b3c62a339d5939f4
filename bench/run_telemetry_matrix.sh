#!/usr/bin/env bash
# Runs the telemetry matrix of bench/NOTES.md: on the CPU backend keys 100, 100 000, 1 000 000 x
# workers 1, 2; then, where a GPU works, the GPU backend's modes resident and host-fed x keys
# 100, 100 000, 10 000 000.
# usage: bench/run_telemetry_matrix.sh [BUILD_DIR] [OUT_DIR] [extra sluice-bench options...]
# SLUICE_BENCH_CPU=0 skips the CPU matrix, SLUICE_BENCH_GPU=0 the GPU matrix.
set -u
build=${1:-build}
out=${2:-bench-results}
shift $(( $# < 2 ? $# : 2 ))
bench="$build/bin/sluice-bench"
mkdir -p "$out"

run() {  # run NAME sluice-bench-options...
  local name=$1
  shift
  echo "== $name (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  "$bench" telemetry "$@" --json "$out/$name.json" 2>&1 | tee "$out/$name.txt"
  echo "exit status ${PIPESTATUS[0]}" | tee -a "$out/$name.txt"
}

if [ "${SLUICE_BENCH_CPU:-1}" != 0 ]; then
  for keys in 100 100000 1000000; do
    for workers in 1 2; do
      run "telemetry_k${keys}_w${workers}" --events 20000000 --keys "$keys" --workers "$workers" "$@"
    done
  done
fi

# The GPU matrix runs only where a small resident run succeeds (exit status 1 and "not
# available" without a GPU).
if [ "${SLUICE_BENCH_GPU:-1}" != 0 ]; then
  if "$bench" telemetry --backend gpu --mode resident --events 200000 --keys 100 \
       --batch-rows 65536 --repeat 1 > "$out/gpu_probe.txt" 2>&1; then
    # More events than on the CPU: a resident run of 20 M events would last milliseconds.
    # Host-fed runs with many keys are bound by the host result path: fewer events.
    for mode in resident host-fed; do
      events=200000000
      [ "$mode" = host-fed ] && events=50000000
      for keys in 100 100000 10000000; do
        extra=()
        # 10 M keys host-fed: 10 M names interned per job, ~1 result row per event decoded
        # on the host; fewer events and one run.
        [ "$mode" = host-fed ] && [ "$keys" = 10000000 ] && extra=(--events 20000000 --repeat 1)
        run "telemetry_gpu_${mode}_k${keys}" --backend gpu --mode "$mode" --events "$events" \
          --keys "$keys" ${extra[@]+"${extra[@]}"} "$@"
      done
    done
  else
    echo "== GPU matrix skipped: $(tail -n 1 "$out/gpu_probe.txt")"
  fi
fi
