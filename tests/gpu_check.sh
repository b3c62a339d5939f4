#!/usr/bin/env bash
# The one script a GPU machine runs: builds for the GPU in its own build directory, fails fast
# without a working GPU, runs the GPU-labelled tests, then the rest of the suite, the CUDA
# sanitizers over the GPU test binaries, and `sluice run` on the GPU against the CPU on
# generated out-of-order data. One summary line per step; exit status 1 if any step failed.
#
# Environment (all optional):
#   SLUICE_CUDA_ARCH        CUDA architectures (default 90)
#   OUT                     log directory (default build-gpu-check/logs)
#   SLUICE_CHECK_ROWS       rows of the generated CSV (default 1000000)
#   SLUICE_SANITIZER_TIMEOUT  seconds per sanitizer run (default 1800)
#   SLUICE_SANITIZE_E2E_FILTER  gtest filter of the e2e tests run under the sanitizers
#   SLUICE_SANITIZE_GPU_FILTER  gtest filter of sluice_gpu_tests under the sanitizers (default all)
set -euo pipefail
cd "$(dirname "$0")/.."

build="build-gpu-check"
logs="${OUT:-$build/logs}"
mkdir -p "$logs"
logs="$(cd "$logs" && pwd)"
jobs="$(nproc 2>/dev/null || echo 4)"
export OMP_WAIT_POLICY=PASSIVE  # as the default test preset
failed=0

# step NAME COMMAND...: runs COMMAND with its output in $logs/NAME.log; one summary line.
step() {
  local name="$1"
  shift
  local start=$SECONDS
  if "$@" >"$logs/$name.log" 2>&1; then
    printf 'PASS  %-28s %5ds\n' "$name" $((SECONDS - start))
  else
    printf 'FAIL  %-28s %5ds  (%s)\n' "$name" $((SECONDS - start)) "$logs/$name.log"
    failed=1
    return 1
  fi
}

# ------------------------------------------------------------------------------------------------
# A GPU, or stop here.

# Commands run by step() are in an if-condition, where set -e does not apply: the functions
# below chain their commands with && or check them explicitly.
gpu_present() {
  local gpus
  gpus="$(nvidia-smi -L)" && echo "$gpus" && grep -q '^GPU ' <<<"$gpus"
}
if ! step gpu-present gpu_present; then
  echo "no working GPU (nvidia-smi -L failed): nothing to check" >&2
  exit 1
fi

step configure cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CUDA_ARCHITECTURES=${SLUICE_CUDA_ARCH:-90}" -DSLUICE_ENABLE_CUDA=ON \
  -DCMAKE_CUDA_FLAGS=-lineinfo || exit 1
step build cmake --build "$build" -j "$jobs" || exit 1

# The engine itself must see the GPU (the CUDA backend built, a device that accepts work).
gpu_demo() {
  "$build/bin/sluice" demo --events 200000 --backend gpu | tee /dev/stderr | grep -q "backend gpu"
}
if ! step gpu-engine gpu_demo; then
  echo "the engine cannot use the GPU: see $logs/gpu-engine.log" >&2
  exit 1
fi

# ------------------------------------------------------------------------------------------------
# Test suites.

# GPU-labelled tests: the e2e suite on the GPU backend, GPU vs CPU comparisons, CLI GPU tests.
# A test skipped for want of a GPU is a failure here.
gpu_tests() {
  local rc=0
  ctest --test-dir "$build" -L gpu -j "$jobs" --no-tests=error --output-on-failure || rc=$?
  cp "$build/Testing/Temporary/LastTest.log" "$logs/gpu-tests.LastTest.log" || true
  if grep -q "no usable GPU" "$build/Testing/Temporary/LastTest.log"; then
    echo "GPU tests were skipped for lack of a usable GPU:"
    grep -B3 "no usable GPU" "$build/Testing/Temporary/LastTest.log" | head -40
    rc=1
  fi
  return $rc
}
step gpu-tests gpu_tests || true
# Everything else, so that the whole suite has run once.
step other-tests ctest --test-dir "$build" -LE gpu -j "$jobs" --no-tests=error \
  --output-on-failure || true

# ------------------------------------------------------------------------------------------------
# CUDA sanitizers over the GPU test binaries, with small sizes where the tests offer them.

sanitizer="$(command -v compute-sanitizer || true)"
if [[ -z "$sanitizer" && -n "$(command -v nvcc || true)" ]]; then
  sanitizer="$(dirname "$(command -v nvcc)")/compute-sanitizer"
fi
[[ -x "$sanitizer" ]] || sanitizer=/usr/local/cuda/bin/compute-sanitizer
e2e_filter="${SLUICE_SANITIZE_E2E_FILTER:-GpuBackend.TumblingWithOffset:GpuBackend.SlidingSizeNotAMultipleOfTheSlide:GpuBackend.GlobalWindow:GpuBackend.NoKeys:GpuBackend.TwoKeysStringAndInteger:GpuBackend.StatelessRowsInPushOrder:Windows.*:LateEvents.*}"

sanitize() {  # sanitize TOOL BINARY [ARGS...]
  local tool="$1"
  shift
  [[ -x "$sanitizer" ]] || {
    echo "compute-sanitizer not found"
    return 1
  }
  SLUICE_TEST_SMALL=1 SLUICE_E2E_BACKEND=gpu timeout "${SLUICE_SANITIZER_TIMEOUT:-1800}" \
    "$sanitizer" --tool "$tool" --error-exitcode 1 "$@"
}

for tool in memcheck racecheck synccheck; do
  if [[ -x "$build/tests/sluice_gpu_tests" ]]; then
    step "$tool-gpu-tests" sanitize "$tool" "$build/tests/sluice_gpu_tests" \
      "--gtest_filter=${SLUICE_SANITIZE_GPU_FILTER:-*}" || true
  else
    printf 'SKIP  %-28s        (no %s in this branch)\n' "$tool-gpu-tests" \
      "$build/tests/sluice_gpu_tests"
  fi
  step "$tool-e2e" sanitize "$tool" "$build/tests/sluice_e2e_tests" \
    "--gtest_filter=$e2e_filter" || true
done

# ------------------------------------------------------------------------------------------------
# `sluice run` on the GPU against the CPU on generated out-of-order data.

data="$build/gpu-check-data"
mkdir -p "$data"

# ~1M rows, 5 ms apart, up to 3 s out of order, 0.5% up to 60 s late, Zipf-like hosts.
generate() {
  awk -v rows="${SLUICE_CHECK_ROWS:-1000000}" 'BEGIN {
    srand(20240611)
    print "ts,host,region,cpu,status"
    for (i = 0; i < rows; i++) {
      ts = 1700000000000 + i * 5 - int(rand() * 3000)
      if (rand() < 0.005) ts -= 1 + int(rand() * 60000)
      h = int(2000 ^ rand()) - 1  # skewed over 0..1999
      r = rand() < 0.5 ? "eu-west" : "us-east"
      p = rand()
      s = p < 0.8 ? 200 : (p < 0.9 ? 404 : 500)
      printf "%.0f,host-%d,%s,%.3f,%d\n", ts, h, r, rand() * 100, s  # %d is 32-bit in mawk
    }
  }' >"$data/in.csv"
}

# compare_csv GPU.csv CPU.csv: same rows in the same order; columns whose header starts with
# "sum(cpu" or "avg(" within 1e-5 relative, every other field exactly as written.
compare_csv() {
  awk -F, -v other="$1" '
    function abs(x) { return x < 0 ? -x : x }
    {
      if ((getline line < other) <= 0) { print "GPU output ends at CPU row " NR; bad++; exit }
      n = split(line, g, ",")
      if (NR == 1) for (i = 1; i <= NF; i++) approx[i] = ($i ~ /^(sum\(cpu|avg\()/)
      if (n != NF) { report("field count", line); next }
      for (i = 1; i <= NF; i++) {
        if (NR > 1 && approx[i]) {
          m = abs($i); if (abs(g[i]) > m) m = abs(g[i]); if (m < 1) m = 1
          if (abs($i - g[i]) > 1e-5 * m) { report("column " i, line); break }
        } else if ($i != g[i]) { report("column " i, line); break }
      }
    }
    function report(what, line) {
      bad++
      if (bad <= 10) printf "row %d (%s): GPU %s | CPU %s\n", NR, what, line, $0
    }
    END {
      if (!bad && (getline line < other) > 0) { print "GPU output has more rows"; bad++ }
      printf "%d rows compared, %d differ\n", NR, bad
      exit (bad > 0 ? 1 : 0)
    }' "$2"
}

# run_both NAME FLAGS...: the query on both backends, outputs and summaries compared.
run_both() {
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
  # Counters agree (the rate and the backend aside).
  diff <(sed 's/ events\/s=.*//' "$data/$name.cpu.err") \
    <(sed 's/ events\/s=.*//' "$data/$name.gpu.err") || return 1
  compare_csv "$data/$name.gpu.csv" "$data/$name.cpu.csv"
}

if step generate-data generate; then
  step run-tumbling run_both tumbling --window tumbling:10s --key host --max-delay 1s \
    --allowed-lateness 2s || true
  step run-sliding-filter run_both sliding --window sliding:30s/5s --key host,region \
    --where "cpu > 20 and status == 200" --max-delay 2s --workers 2 || true
fi

if [[ $failed -ne 0 ]]; then
  echo "gpu_check: FAILED (logs in $logs)"
  exit 1
fi
echo "gpu_check: all steps passed (logs in $logs)"
