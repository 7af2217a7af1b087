#!/usr/bin/env bash
# Installs missing Debian packages, builds libmlops three ways and runs every test:
#   1. build/       RelWithDebInfo, -Wall -Wextra -Werror: the whole suite (incl. ABI,
#                   symbols, install, header and fuzz-corpus tests);
#   2. build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite but the
#                   tests that inspect the plain build's artefacts (label noasan);
#   3. build-tsan/  ThreadSanitizer: the tests labelled "threads".
# Exits non-zero if any build or test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
export CTEST_OUTPUT_ON_FAILURE=1

build() {  # build DIR CMAKE_ARGS...
  local dir=$1; shift
  echo "== configure and build $dir"
  cmake -S . -B "$dir" -DMLOPS_WERROR=ON "$@" > "$dir.log" 2>&1 || { cat "$dir.log"; return 1; }
  cmake --build "$dir" -j"$jobs" >> "$dir.log" 2>&1 || { grep -E 'error|Error' "$dir.log" | head -50; return 1; }
}

build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== tests (plain build)"
ctest --test-dir build -j"$jobs"

build build-asan -DCMAKE_BUILD_TYPE=Debug -DMLOPS_SANITIZE=address -DMLOPS_BUILD_BENCH=OFF
echo "== tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" -LE noasan

build build-tsan -DCMAKE_BUILD_TYPE=Debug -DMLOPS_SANITIZE=thread -DMLOPS_BUILD_BENCH=OFF
echo "== tests (TSan, label threads)"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  ctest --test-dir build-tsan -j"$jobs" -L threads

echo "== all test runs passed"
