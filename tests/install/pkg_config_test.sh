#!/usr/bin/env bash
# Compiles and runs the README's C++ API example with a plain compiler command and
# `pkg-config --cflags --libs sluice`, against the prefix the install test filled.
# Usage: pkg_config_test.sh CXX WORK_DIR. Exits 77 (skipped) where pkg-config is missing.
set -euo pipefail
cxx=$1 work=$2
if ! command -v pkg-config > /dev/null; then
  echo "pkg-config not found: the pkg-config check is skipped"
  exit 77
fi
pc=$(find "$work/prefix" -name sluice.pc -print -quit)
[ -n "$pc" ] || { echo "no sluice.pc under $work/prefix"; exit 1; }
export PKG_CONFIG_PATH=${pc%/*}
# shellcheck disable=SC2046
"$cxx" $(pkg-config --cflags sluice) "$work/readme_example.cpp" -o "$work/readme_pkg_config" \
  $(pkg-config --libs sluice)
"$work/readme_pkg_config"
echo "pkg-config: $(pkg-config --cflags --libs sluice)"
