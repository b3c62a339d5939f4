#!/usr/bin/env bash
# Installs what building and testing Sluice needs on a fresh Debian/Ubuntu machine (as root or
# with sudo): compiler, CMake, Ninja, GoogleTest, OpenMP, and the CCCL headers from Debian's
# packages (used when there is no CUDA toolkit, and by the sanitizer build), and OpenMPI (ranks
# across processes, and the tests that launch them), pkg-config (the install tests) and
# python3-venv (the test that compares `sluice sql` with DuckDB, installed from PyPI),
# cpp-httplib (the metrics endpoint; optional at build time), prometheus (its promtool lints
# the endpoint's output in the tests) and librdkafka (the Kafka source and sink; optional at
# build time). Skips what is there.
# With --quick, only what the quick start's build needs (no GoogleTest, OpenMPI, pkg-config).
set -euo pipefail
packages=(g++ cmake ninja-build libthrust-dev libcub-dev libcu++-dev)
if [ "${1:-}" != "--quick" ]; then
  packages+=(libgtest-dev libopenmpi-dev openmpi-bin pkg-config python3-venv libcpp-httplib-dev
             prometheus librdkafka-dev)
fi
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in "${packages[@]}"; do
  have "$pkg" || need+=("$pkg")
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
