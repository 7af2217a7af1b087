#!/usr/bin/env bash
# Compares the built library's ABI with the checked-in baseline (abi/libmlops.abi).
# Additions are allowed (--no-added-syms); any other difference fails. A deliberate
# break updates the baseline (scripts/update-abi.sh) and CHANGELOG.md together.
set -uo pipefail
lib=$1
baseline=$2
include=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -f "$baseline" ]; then
  echo "no ABI baseline at $baseline: run scripts/update-abi.sh"; exit 1
fi
abidw --headers-dir "$include" --no-corpus-path --no-show-locs --no-comp-dir-path --out-file "$tmp/current.abi" "$lib" || {
  echo "abidw failed (is the library built with -g?)"; exit 1; }
abidiff --no-added-syms --headers-dir1 "$include" --headers-dir2 "$include" "$baseline" "$tmp/current.abi" > "$tmp/diff.txt"
rc=$?
cat "$tmp/diff.txt"
if [ $rc -ne 0 ]; then
  echo "ABI differs from the baseline (abidiff exit $rc)"; exit 1
fi
echo "ABI matches the baseline (additions allowed)"
