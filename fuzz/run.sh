#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) from its committed seed corpus
# (fuzz/corpus/TARGET), and fails on the first crash, leak, sanitizer report or unclean
# error. Prints each target's executions and the total.
#
#   bash fuzz/run.sh BUILD_FUZZ_DIR [SECONDS]
set -euo pipefail
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
total=0
for target in jsonl_reader_fuzzer csv_reader_fuzzer tokenizer_fuzzer gate_spec_fuzzer intervention_spec_fuzzer; do
  work=$build/work/$target
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  cp "$here/corpus/$target"/* "$work/corpus/"
  log=$work/fuzz.log
  if ! "$build/$target" "$work/corpus" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/" > "$log" 2>&1; then
    tail -n 60 "$log"
    echo "fuzz: $target failed; the input is in $work/artifacts/ (rerun: $build/$target FILE)" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf 'fuzz: %-26s %10d executions in %ss, %s coverage points, corpus %d inputs\n' \
    "$target" "$runs" "$seconds" "${cov:-?}" "$(ls "$work/corpus" | wc -l)"
  total=$((total + runs))
done
echo "fuzz: $total executions in all, no crash, leak or sanitizer report"
