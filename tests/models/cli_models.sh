#!/usr/bin/env bash
# The mlops model / mlops deploy commands end to end: output, exit codes, errors.
set -u
mlops=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db="$dir/cli.db"
fail() { echo "FAIL: $*"; exit 1; }
run() { "$mlops" --db "$db" "$@"; }

echo abc > "$dir/model.bin"
[ "$(run model register fraud --uri "$dir/model.bin" --metrics '{"auc": 0.9}' --tag team=risk)" = 1 ] || fail register
[ "$(run model register fraud --uri s3://b/2 --metrics '{"auc": 0.7}')" = 2 ] || fail register 2
run model gate fraud --rules '[{"metric": "auc", "threshold": 0.8}]' > /dev/null || fail gate
run model gate fraud --rules '[{"metric": "acc", "threshold": 0.8}]' 2> "$dir/err" && fail "gate on unlogged metric"
grep -q "logs metric 'acc'" "$dir/err" || fail "gate error text"
run model promote fraud 1 --alias production | grep -q '"passed":true' || fail promote
out=$(run model promote fraud 2 --alias production 2> "$dir/err")
[ $? -eq 1 ] || fail "blocked promotion must exit 1"
echo "$out" | grep -q '"action":"blocked"' || fail "blocked decision printed"
grep -q "refused" "$dir/err" || fail "blocked message"
run model promote fraud 2 --alias production --force 2> /dev/null && fail "force without reason"
run model promote fraud 2 --alias staging --force --reason "load test" | grep -q '"forced":true' || fail force
run model show fraud@production | grep -q '"version":1' || fail show
run model list --filter "tags.team = 'risk'" | grep -q '"name":"fraud"' || fail search
run model list --filter "tags.team = " 2> "$dir/err" && fail "bad filter"
grep -q "column" "$dir/err" || fail "filter error column"
run model verify fraud:1 | grep -q '"ok":true' || fail verify
echo changed > "$dir/model.bin"
run model verify fraud:1 2> "$dir/err" && fail "verify after change"
grep -q "model.bin" "$dir/err" || fail "verify names the file"
[ "$(run model register fraud --uri s3://b/3 --metrics '{"auc": 0.95}')" = 3 ] || fail register 3
run deploy start fraud --alias production --strategy '{"strategy": "canary", "candidate": 3, "steps": [50, 100], "min_observations": 2, "analysis": ["error_rate <= 0.1"]}' | grep -q '"state":"running"' || fail start
run deploy pick fraud --alias production --user alice | grep -q '"version": [13]' || fail pick
run deploy observe fraud 3 --metrics '{"error_rate": 1}' > /dev/null || fail observe
run deploy observe fraud 3 --metrics '{"error_rate": 1}' > /dev/null || fail observe
run deploy status fraud --alias production | grep -q '"state":"rolled_back"' || fail "automatic rollback"
run deploy resume fraud --alias production 2> /dev/null && fail "resume a rolled back deployment"
run history fraud > /dev/null 2>&1 && fail "unknown command"
run model history fraud | grep -q deploy_auto_rollback || fail history
run deploy bogus fraud --alias production 2> /dev/null; [ $? -eq 2 ] || fail "usage exit code"
echo "cli models: ok"
