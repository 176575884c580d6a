#!/bin/bash
# `synapse analyze` on every fixture family with two builds, then bench/compare_reports.py
# on each pair of reports: the same numbers, timings aside.
#
#   bash bench/compare_fixture_reports.sh OLD_BUILD NEW_BUILD [WORK]
#
# Both builds read NEW_BUILD's fixtures (tests/fixtures/make_fixtures.py makes the same
# models for both). Weight space on, a small grid, default pooling per family. Exits 1 when
# any report differs beyond the pass counts and new keys; with COMPARE_ARGS=--strict
# (tests/scripts/same_reports.sh), also when those differ.
set -u
old=$1
new=$2
work=${3:-$(mktemp -d)}
fixtures=$new/fixtures
here=$(cd "$(dirname "$0")" && pwd)
status=0
for family in roberta_traced:1:first distilbert_traced:0:first gpt2_traced:99:last electra_traced:0:first \
              deberta_v2_traced:0:first albert_traced:0:first albert_scripted:0:first \
              ids_masked_encoder_scripted:0:first; do
  IFS=: read -r name pad pool <<< "$family"
  rows=${name%_traced}
  rows=${rows%_scripted}
  [ "$rows" = ids_masked_encoder ] && rows=ids_masked
  for side in old new; do
    build=$old
    [ $side = new ] && build=$new
    "$build/synapse" analyze --model "$fixtures/$name.pt" --data "$fixtures/${rows}_rows.jsonl" --pad-id "$pad" \
      --pool "$pool" --k 1,4 --random-seeds 2 --noise 0.5 --weight-noise 0.1 --weight-noise-seeds 2 \
      --bisect-steps 4 --no-cache --quiet --threads 1 --out "$work/$name/$side" > /dev/null || status=1
  done
  echo "== $name"
  # shellcheck disable=SC2086  # COMPARE_ARGS is a list of flags
  /usr/bin/python3 "$here/compare_reports.py" ${COMPARE_ARGS:-} "$work/$name/old/report.json" \
    "$work/$name/new/report.json" > "$work/$name/compare.txt" || status=1
  grep -v '^added\|^passes' "$work/$name/compare.txt"
done
exit $status
