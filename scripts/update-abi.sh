#!/usr/bin/env bash
# Regenerates the ABI baseline abi/libmlops.abi from a RelWithDebInfo build.
# Run it only for a deliberate ABI change, and say so in CHANGELOG.md in the same commit.
# usage: scripts/update-abi.sh [BUILD_DIR]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" --target mlops -j"$(nproc)" > /dev/null
lib=$(find "$build" -maxdepth 1 -name 'libmlops.so.*.*.*' | head -n 1)
abidw --headers-dir include --no-corpus-path --no-show-locs --no-comp-dir-path --out-file abi/libmlops.abi "$lib"
# Translation-unit paths name this checkout: keep them relative so the baseline is the
# same whoever regenerates it (abidiff does not compare them).
sed -i "s|path='$(pwd)/|path='|g" abi/libmlops.abi
echo "abi/libmlops.abi updated from $lib"
