#!/usr/bin/env bash
# Runs the example robustness suite and a binary of failing tests as a user and a CI job
# would, and checks every report they leave (tests/scripts/check_test_reports.py).
set -euo pipefail
example=$1 failing=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out"
mkdir -p "$out"

echo "== the example suite (examples/spam_filter)"
"$example" --gtest_brief=1 --synapse_report_dir="$out/example"
/usr/bin/python3 "$here/check_test_reports.py" passing "$out/example"

echo "== failing tests: exit 1, failures reported"
set +e
"$failing" --gtest_brief=1 --synapse_report_dir="$out/failing" > "$out/failing.log" 2>&1
code=$?
set -e
cat "$out/failing.log"
[ "$code" -eq 1 ] || { echo "expected exit 1 from failing tests, got $code"; exit 1; }
/usr/bin/python3 "$here/check_test_reports.py" failing "$out/failing"

echo "== sharded: two shards, each its own reports, together every test once"
for i in 0 1; do
  set +e
  GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$i "$failing" --gtest_brief=1 --synapse_report_dir="$out/sharded" \
    > "$out/shard-$i.log" 2>&1
  set -e
done
/usr/bin/python3 "$here/check_test_reports.py" sharded "$out/sharded" "$out/failing"

echo "== a bad --synapse_ flag: exit 2, one line"
set +e
msg=$("$failing" --synapse_modle=x 2>&1 >/dev/null)
code=$?
set -e
echo "$msg"
[ "$code" -eq 2 ] && [ "$(echo "$msg" | wc -l)" -eq 1 ] && [[ "$msg" == *"unknown flag"* ]]
