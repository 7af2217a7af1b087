#!/usr/bin/env bash
# The `mlops cache` subcommands end to end on a real store: put, exact and semantic
# lookups, the open/close miss, feedback, invalidation, stats, and usage errors.
set -euo pipefail
mlops=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="$dir/cli.db"
fail() { echo "FAIL: $*"; exit 1; }

out=$("$mlops" --db "$db" cache put --ns docs --prompt "How do I open a file?" --response "Use open().")
[[ $out == '{"entry_id":1}' ]] || fail "put: $out"
out=$("$mlops" --db "$db" cache lookup --ns docs --prompt "How do I open a file?")
[[ $out == *'"hit":"exact"'* && $out == *'"response":"Use open()."'* ]] || fail "exact: $out"
out=$("$mlops" --db "$db" cache lookup --ns docs --prompt "how can I open a file")
[[ $out == *'"hit":"semantic"'* && $out == *'"entry_id":1'* ]] || fail "semantic: $out"
out=$("$mlops" --db "$db" cache lookup --ns docs --prompt "How do I close a file?")
[[ $out == *'"hit":null'* ]] || fail "close: $out"
out=$("$mlops" --db "$db" cache lookup --ns docs --prompt "how can I open a file" --exact-only)
[[ $out == *'"hit":null'* ]] || fail "exact-only: $out"
out=$("$mlops" --db "$db" cache put --ns docs --prompt "Status?" --response '{"ok": true}' --json --ttl 60)
[[ $out == '{"entry_id":2}' ]] || fail "put json: $out"
out=$("$mlops" --db "$db" cache feedback --entry 1 --wrong)
[[ $out == *'"verdict":"wrong"'* ]] || fail "feedback: $out"
out=$("$mlops" --db "$db" cache lookup --ns docs --prompt "How do I open a file?")
[[ $out == *'"hit":null'* ]] || fail "after feedback: $out"
out=$("$mlops" --db "$db" cache stats)
[[ $out == *'"entries":1'* ]] || fail "stats: $out"
out=$("$mlops" --db "$db" cache invalidate --ns docs)
[[ $out == '{"invalidated":1}' ]] || fail "invalidate: $out"
out=$("$mlops" --db "$db" cache lookup --request '{"model":"m","messages":[{"role":"user","content":"hi"}]}')
[[ $out == *'"partition":"ns=default|model=m|t=default"'* ]] || fail "request: $out"

# Errors: usage is exit 2, library refusals exit 1 with the reason on stderr.
set +e
"$mlops" --db "$db" cache put --ns docs --prompt x 2>/dev/null; [[ $? == 2 ]] || fail "missing --response"
"$mlops" --db "$db" cache frobnicate 2>/dev/null; [[ $? == 2 ]] || fail "unknown command"
err=$("$mlops" --db "$db" cache lookup --ns docs --prompt "   " 2>&1 >/dev/null); rc=$?
[[ $rc == 1 && $err == *"empty"* ]] || fail "empty prompt: $rc $err"
err=$("$mlops" --db "$db" cache feedback --entry 999 --wrong 2>&1 >/dev/null); rc=$?
[[ $rc == 1 && $err == *"not found"* ]] || fail "unknown entry: $rc $err"
"$mlops" --db "$db" cache --help | grep -q "usage: mlops" || fail "help"
echo "cache CLI: all checks passed"
