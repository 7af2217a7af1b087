#!/usr/bin/env bash
# The main job: installs missing Debian packages, builds libmlops, and runs the
# quickstart demo on the embedded defaults (an SQLite file, the local engine, no
# network, no keys).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -50 build.log; exit 1; }
mkdir -p build/demo
rm -f build/demo/quickstart.db*
cd build/demo
exec ../quickstart quickstart.db
