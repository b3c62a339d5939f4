#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, with clang, ASan + UBSan) and runs each for a bounded time
# from its seed corpus: expression, parsers, csv, batch, sql, lines. Any crash, sanitizer
# report, leak or broken invariant fails the run, and the input that caused it is left in
# build-fuzz/.
# Usage: scripts/run-fuzzers.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
# Installs clang, its fuzzer runtime and OpenMP when they are missing (Debian/Ubuntu).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(expression parsers csv batch sql lines)

have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
install() {
  echo "run-fuzzers: installing $*"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}
if ! command -v clang++ >/dev/null; then install clang; fi
# The fuzzer runtime ships apart from clang in newer Debian and Ubuntu releases.
major="$(clang++ -dumpversion | cut -d. -f1)"
runtime="$(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
if [ ! -e "$runtime" ] && ! have "libclang-rt-${major}-dev"; then install "libclang-rt-${major}-dev"; fi
if ! have libomp-dev && ! have "libomp-${major}-dev"; then install "libomp-${major}-dev"; fi

cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build-fuzz
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for t in "${targets[@]}"; do
  work="build-fuzz/corpus-$t"
  mkdir -p "$work"
  echo "== fuzz_$t: ${seconds}s"
  # A fixed seed, so a run in CI can be repeated; the seed corpus is read, never written.
  if ! build-fuzz/fuzz_"$t" -seed=1 -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/$t-" \
      "$work" "fuzz/corpus/$t" 2>&1 | tail -n 30; then
    status=1
  fi
done
exit $status
