#!/usr/bin/env bash
# The one script a GPU machine runs. One line per step (PASS/FAIL/SKIP, seconds, log); exit
# status 1 if any step failed.
#
#   tests/gpu_check.sh [--quick | --full]
#
# --quick (the default) fits one GPU machine's 15 minutes, build included: it builds only the
# targets it runs (GPU tests, e2e tests, the CLI, sluice-bench), runs the GPU tests at their
# small sizes (SLUICE_GPU_TEST_SIZES=small, read by tests/gpu/gpu_test_util.hpp), the e2e
# suite on the GPU backend, compute-sanitizer memcheck over a filtered subset, `sluice run` on
# both backends against each other, and the GPU benchmark at 100 000 keys.
# --full adds every other test, the full test sizes, racecheck and synccheck, and the benchmark
# at every key count.
#
# Environment (all optional):
#   SLUICE_CUDA_ARCH   CUDA architectures (default 90)
#   OUT                log directory (default build-gpu-check/logs)
#   SLUICE_SANITIZE_GPU_FILTER  gtest filter of sluice_gpu_tests under the sanitizers
set -euo pipefail
cd "$(dirname "$0")/.."

mode=quick
case "${1:-}" in
  "" | --quick) mode=quick ;;
  --full) mode=full ;;
  *)
    echo "usage: tests/gpu_check.sh [--quick | --full]" >&2
    exit 2
    ;;
esac

build="build-gpu-check"
logs="${OUT:-$build/logs}"
mkdir -p "$logs"
logs="$(cd "$logs" && pwd)"
jobs="$(nproc 2>/dev/null || echo 4)"
export OMP_WAIT_POLICY=PASSIVE
[[ $mode == quick ]] && export SLUICE_GPU_TEST_SIZES=small
failed=0
started=$SECONDS

# step NAME COMMAND...: runs COMMAND with its output in $logs/NAME.log; one summary line.
step() {
  local name="$1"
  shift
  local start=$SECONDS
  if "$@" >"$logs/$name.log" 2>&1; then
    printf 'PASS  %-24s %5ds\n' "$name" $((SECONDS - start))
  else
    printf 'FAIL  %-24s %5ds  %s\n' "$name" $((SECONDS - start)) "$logs/$name.log"
    tail -n 5 "$logs/$name.log" | sed 's/^/      /'
    failed=1
    return 1
  fi
}

# Every message with which a test skips for want of a GPU (tests/gpu/gpu_test_util.hpp,
# tests/e2e/harness.hpp, tests/cli/cli_test.cpp). Any of them in a GPU run is a failure.
skip_patterns='needs a working CUDA device|no usable GPU'

# gtest_gpu BINARY [ARGS...]: runs a test binary; fails on a failed test and on any test that
# skipped for want of a GPU (which would otherwise pass unnoticed).
gtest_gpu() {
  local rc=0
  "$@" --gtest_brief=1 2>&1 | tee /dev/stderr >"$logs/.gtest_out" || rc=$?
  if grep -Eq "$skip_patterns" "$logs/.gtest_out"; then
    echo "skipped for want of a GPU:"
    grep -E -B2 "$skip_patterns" "$logs/.gtest_out" | head -20
    rc=1
  fi
  grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$logs/.gtest_out" || true
  return $rc
}

# ------------------------------------------------------------------------------------------------
# A GPU, a build, an engine that uses it.

gpu_present() {
  local gpus
  gpus="$(nvidia-smi -L)" && echo "$gpus" && grep -q '^GPU ' <<<"$gpus"
}
if ! step gpu-present gpu_present; then
  echo "no working GPU (nvidia-smi -L failed): nothing to check" >&2
  exit 1
fi

step configure cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_CUDA_ARCHITECTURES=${SLUICE_CUDA_ARCH:-90}" -DSLUICE_ENABLE_CUDA=ON \
  -DCMAKE_CUDA_FLAGS=-lineinfo -DSLUICE_BUILD_SAMPLES=OFF || exit 1
if [[ $mode == quick ]]; then
  step build cmake --build "$build" -j "$jobs" --target sluice_gpu_tests sluice_e2e_tests \
    sluice_cli sluice-bench || exit 1
else
  step build cmake --build "$build" -j "$jobs" || exit 1
fi

gpu_demo() {
  "$build/bin/sluice" demo --events 200000 --backend gpu | tee /dev/stderr | grep -q "backend gpu"
}
if ! step gpu-engine gpu_demo; then
  echo "the engine cannot use the GPU: see $logs/gpu-engine.log" >&2
  exit 1
fi

# ------------------------------------------------------------------------------------------------
# Tests.

step gpu-tests gtest_gpu timeout 600 "$build/tests/sluice_gpu_tests" || true
# The e2e suite on the GPU backend: every window against brute force, 1-4 GPU workers.
step e2e-gpu-backend gtest_gpu timeout 600 env SLUICE_E2E_BACKEND=gpu \
  "$build/tests/sluice_e2e_tests" || true
if [[ $mode == full ]]; then
  step other-tests ctest --test-dir "$build" -LE gpu -j "$jobs" --no-tests=error \
    --output-on-failure || true
  step gpu-labelled-tests ctest --test-dir "$build" -L gpu -j 1 --no-tests=error \
    --output-on-failure || true
fi

# ------------------------------------------------------------------------------------------------
# compute-sanitizer over a subset at small sizes.

sanitizer="$(command -v compute-sanitizer || true)"
[[ -n "$sanitizer" ]] || sanitizer=/usr/local/cuda/bin/compute-sanitizer
gpu_filter="${SLUICE_SANITIZE_GPU_FILTER:-SizesKeysAndSkew/CudaFold.*/[0-5]:CudaFoldCases.*:*PartitionGpu.*/[0-3]:*GroupTableGpu.*/[0-2]:SizesAndKeys/WindowStateGpu.*/[0-2]:Windows/PipelineGpu.*/0:PipelineGpuStateless.*}"
sanitize() {  # sanitize TOOL
  [[ -x "$sanitizer" ]] || {
    echo "compute-sanitizer not found"
    return 1
  }
  SLUICE_GPU_TEST_SIZES=small timeout 900 "$sanitizer" --tool "$1" --error-exitcode 1 \
    "$build/tests/sluice_gpu_tests" "--gtest_filter=$gpu_filter" --gtest_brief=1
}
tools=(memcheck)
[[ $mode == full ]] && tools+=(racecheck synccheck)
for tool in "${tools[@]}"; do
  step "$tool" sanitize "$tool" || true
done

# ------------------------------------------------------------------------------------------------
# `sluice run` on both backends, outputs compared.

data="$build/gpu-check-data"
mkdir -p "$data"

generate() {  # 300k rows, 5 ms apart, up to 3 s out of order, 0.5% up to 60 s late
  awk -v rows=300000 'BEGIN {
    srand(20240611)
    print "ts,host,region,cpu,status"
    for (i = 0; i < rows; i++) {
      ts = 1700000000000 + i * 5 - int(rand() * 3000)
      if (rand() < 0.005) ts -= 1 + int(rand() * 60000)
      h = int(2000 ^ rand()) - 1
      r = rand() < 0.5 ? "eu-west" : "us-east"
      p = rand()
      s = p < 0.8 ? 200 : (p < 0.9 ? 404 : 500)
      printf "%.0f,host-%d,%s,%.3f,%d\n", ts, h, r, rand() * 100, s
    }
  }' >"$data/in.csv"
}

# compare_csv GPU.csv CPU.csv: same rows in the same order; float sums and averages within
# 1e-9 relative (the device adds in any order), every other field exactly.
compare_csv() {
  awk -F, -v other="$1" '
    function abs(x) { return x < 0 ? -x : x }
    function report(what, line) {
      bad++
      if (bad <= 10) printf "row %d (%s): GPU %s | CPU %s\n", NR, what, line, $0
    }
    {
      if ((getline line < other) <= 0) { print "GPU output ends at CPU row " NR; bad++; exit }
      n = split(line, g, ",")
      if (NR == 1) for (i = 1; i <= NF; i++) approx[i] = ($i ~ /^(sum\(cpu|avg\()/)
      if (n != NF) { report("field count", line); next }
      for (i = 1; i <= NF; i++) {
        if (NR > 1 && approx[i]) {
          m = abs($i); if (abs(g[i]) > m) m = abs(g[i]); if (m < 1) m = 1
          if (abs($i - g[i]) > 1e-9 * m) { report("column " i, line); break }
        } else if ($i != g[i]) { report("column " i, line); break }
      }
    }
    END {
      if (!bad && (getline line < other) > 0) { print "GPU output has more rows"; bad++ }
      printf "%d rows compared, %d differ\n", NR, bad
      exit (bad > 0 ? 1 : 0)
    }' "$2"
}

run_both() {  # run_both NAME FLAGS...
  local name="$1"
  shift
  local args=(run --input "$data/in.csv"
    --schema "ts:timestamp[ms],host:string,region:string,cpu:f64,status:i32" --time ts
    --agg "count,sum(cpu),min(cpu),max(cpu),avg(cpu),sum(status)" --batch-rows 65536 "$@")
  local backend
  for backend in cpu gpu; do
    "$build/bin/sluice" "${args[@]}" --backend $backend --output "$data/$name.$backend.csv" \
      2>"$data/$name.$backend.err" || {
      echo "sluice run --backend $backend failed:"
      cat "$data/$name.$backend.err"
      return 1
    }
  done
  cat "$data/$name.cpu.err" "$data/$name.gpu.err"
  grep -q "backend=gpu" "$data/$name.gpu.err" || return 1
  diff <(sed 's/ events\/s=.*//; s/backend=[a-z]*//' "$data/$name.cpu.err") \
    <(sed 's/ events\/s=.*//; s/backend=[a-z]*//' "$data/$name.gpu.err") || return 1
  compare_csv "$data/$name.gpu.csv" "$data/$name.cpu.csv"
}

if step generate-data generate; then
  step run-tumbling run_both tumbling --window tumbling:10s --key host --max-delay 1s \
    --allowed-lateness 2s || true
  step run-sliding-2-workers run_both sliding --window sliding:30s/5s --key host,region \
    --where "cpu > 20 and status == 200" --max-delay 2s --workers 2 || true
fi

# ------------------------------------------------------------------------------------------------
# The GPU benchmark (figures next to their ceilings, in the logs and as JSON).

bench() {  # bench KEYS
  local keys="$1" mode_
  for mode_ in host-fed resident; do
    "$build/bin/sluice-bench" telemetry --backend gpu --mode "$mode_" --events 20_000_000 \
      --keys "$keys" --repeat 3 --json "$logs/bench-$mode_-$keys.json" || return 1
  done
}
keys_list=(100000)
[[ $mode == full ]] && keys_list=(100 1000 100000)
for keys in "${keys_list[@]}"; do
  step "bench-gpu-$keys" bench "$keys" || true
done

printf '%s: %ds in all\n' "$mode" $((SECONDS - started))
if [[ $failed -ne 0 ]]; then
  echo "gpu_check: FAILED (logs in $logs)"
  exit 1
fi
echo "gpu_check: all steps passed (logs in $logs)"
