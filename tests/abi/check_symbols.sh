#!/usr/bin/env bash
# Every dynamic symbol the library defines must be an mlops_ function declared with
# MLOPS_API in a public header, and every such declaration must be exported.
set -euo pipefail
lib=$1
include=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
declared=$(grep -rhoE 'MLOPS_API[^;(]*[ *]mlops_[a-z0-9_]+[[:space:]]*\(' "$include" |
           grep -oE 'mlops_[a-z0-9_]+[[:space:]]*\($' | tr -d '( ' | sort -u)
status=0
for s in $exported; do
  case $s in
    mlops__*) echo "internal symbol exported: $s"; status=1 ;;
    mlops_*) ;;
    *) echo "non-mlops symbol exported: $s"; status=1 ;;
  esac
  if ! grep -qx "$s" <<<"$declared"; then
    echo "exported but not declared with MLOPS_API in include/: $s"; status=1
  fi
done
for s in $declared; do
  if ! grep -qx "$s" <<<"$exported"; then
    echo "declared in include/ but not exported: $s"; status=1
  fi
done
n=$(wc -w <<<"$exported")
[ "$status" -eq 0 ] && echo "symbols: $n exported, all mlops_ and declared"
exit $status
