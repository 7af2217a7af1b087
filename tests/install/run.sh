#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs a tiny consumer
# twice: with `pkg-config --cflags --libs mlops` and with CMake's find_package(mlops).
set -euo pipefail
build=$1
consumer=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
pcdir=$(dirname "$(find "$tmp/prefix" -name mlops.pc | head -n 1)")
libdir=$(dirname "$pcdir")
export PKG_CONFIG_PATH=$pcdir
cc -std=c99 -Wall -Werror -o "$tmp/consumer_pc" "$consumer/consumer.c" \
   $(pkg-config --cflags --libs mlops) -Wl,-rpath,"$libdir"
"$tmp/consumer_pc"
cmake -S "$consumer" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/cmake.log"
cmake --build "$tmp/cm" > "$tmp/build.log"
"$tmp/cm/consumer"
echo "install: pkg-config and find_package consumers built and ran"
