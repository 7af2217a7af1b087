#!/usr/bin/env bash
# Every function the shared library exports must be bound in Python and in Go.
set -euo pipefail
lib=$1
bindings=$2
status=0
n=0
for s in $(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u); do
  n=$((n + 1))
  grep -q "^    '$s': Function(" "$bindings/python/mlops/_ffi.py" || { echo "missing from Python: $s"; status=1; }
  grep -q "C\.$s(" "$bindings/go/mlops/zz_generated.go" || { echo "missing from Go: $s"; status=1; }
done
[ $status -eq 0 ] && echo "bindings: all $n exported functions bound in Python and Go"
exit $status
