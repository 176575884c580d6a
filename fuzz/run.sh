# Runs every fuzz target built in BUILD_FUZZ_DIR (each executable named *_fuzzer) from its
# committed seed corpus (fuzz/corpus/TARGET) for RUNS executions (default 1,000,000) or
# MAX_SECONDS (default 210), whichever comes first, LANES targets at a time (default: the
# number of cores; each libFuzzer process uses one), the slowest first. Fails on the first
# crash, leak, sanitizer report or unclean error. Prints each target's executions, seconds
# and coverage, whether it reached RUNS, and the totals.
#
#   bash fuzz/run.sh BUILD_FUZZ_DIR [RUNS] [LANES] [MAX_SECONDS]
set -euo pipefail
build=$1
runs_wanted=${2:-1000000}
lanes=${3:-$(nproc)}
seconds=${4:-210}
here=$(cd "$(dirname "$0")" && pwd)
# The targets hand each input to the readers as a file (they take paths): in memory it
# costs half as much as on disk (fuzz_input.h).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
  TMPDIR=$(mktemp -d /dev/shm/synapse-fuzz.XXXXXX)
  export TMPDIR
  trap 'rm -rf "$TMPDIR"' EXIT
fi

# The slowest targets first, so that the lanes end together (executions per second on two
# busy cores, 2026-12-06: precompiled_charsmap ~1,100, tokenizer ~1,300, jsonl_reader ~3,800,
# the others 6,000 to 30,000).
targets=()
for first in precompiled_charsmap_fuzzer tokenizer_fuzzer jsonl_reader_fuzzer; do
  [ -x "$build/$first" ] && targets+=("$first")
done
for path in "$build"/*_fuzzer; do
  name=$(basename "$path")
  case " ${targets[*]} " in *" $name "*) continue ;; esac
  [ -x "$path" ] && targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no *_fuzzer executable in $build (build it first: make fuzz)" >&2
  exit 2
fi

# One target: its own work directory, log and status file, so lanes never share a file.
run_target() {
  local target=$1 work=$build/work/$1
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  if [ -d "$here/corpus/$target" ]; then cp "$here/corpus/$target"/* "$work/corpus/"; fi
  local started=$SECONDS
  if "$build/$target" "$work/corpus" -runs="$runs_wanted" -max_total_time="$seconds" -max_len=4096 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" > "$work/fuzz.log" 2>&1; then
    echo ok > "$work/status"
    echo $((SECONDS - started)) > "$work/seconds"
  else
    echo failed > "$work/status"
  fi
}

running=0
for target in "${targets[@]}"; do
  run_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$lanes" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

total=0 failed=0 reached=0
for target in "${targets[@]}"; do
  work=$build/work/$target log=$build/work/$target/fuzz.log
  if [ "$(cat "$work/status" 2>/dev/null)" != ok ]; then
    tail -n 60 "$log"
    echo "fuzz: $target failed; the input is in $work/artifacts/ (rerun: $build/$target FILE)" >&2
    failed=1
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  took=$(cat "$work/seconds")
  printf 'fuzz: %-26s %10d executions in %4ss, %s coverage points, corpus %d inputs\n' \
    "$target" "$runs" "$took" "${cov:-?}" "$(ls "$work/corpus" | wc -l)"
  total=$((total + runs))
  if [ "$runs" -ge "$runs_wanted" ]; then
    reached=$((reached + 1))
  else
    echo "fuzz: $target stopped at its $seconds s limit, $runs of $runs_wanted executions"
  fi
done
[ "$failed" -eq 0 ] || exit 1
echo "fuzz: ${#targets[@]} targets, $reached of them to $runs_wanted executions, $total in all, $lanes at a time; no crash, leak or sanitizer report"
