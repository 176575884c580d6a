#!/usr/bin/env bash
# Wall time of one `synapse analyze` on the embedded default model with glibc's malloc
# defaults and with synapse::KeepFreedMemory() (what the CLI does), alternating the two
# ROUNDS times so both see the same machine load. Prints one line per run and the ratio of
# the medians.
#   bash bench/allocator.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
args=(analyze --threads 1 --layers -1 --k 10% --random-seeds 1 --noise 0.5 --weight-noise 0.1
      --weight-noise-seeds 1 --quiet --out "$(mktemp -d)")
run() {  # $1: SYNAPSE_MALLOC_DEFAULTS value; prints wall seconds
  local start end
  start=$(date +%s.%N)
  SYNAPSE_MALLOC_DEFAULTS=$1 "$build/synapse" "${args[@]}"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }'
}
defaults=() tuned=()
for ((i = 0; i < rounds; i++)); do
  d=$(run 1); t=$(run 0)
  defaults+=("$d"); tuned+=("$t")
  printf 'round %d: glibc defaults %6.1f s   KeepFreedMemory %6.1f s\n' "$i" "$d" "$t"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
md=$(median "${defaults[@]}"); mt=$(median "${tuned[@]}")
printf 'median: glibc defaults %.1f s, KeepFreedMemory %.1f s, speed-up %.2fx\n' "$md" "$mt" "$(awk -v a="$md" -v b="$mt" 'BEGIN { print a / b }')"
