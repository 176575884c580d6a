#!/usr/bin/env bash
# Robustness tracked across two model versions with Google Benchmark's own compare.py:
# the embedded default model (models/spam-tiny, early-stopped after 5 of 10 epochs) against
# the same recipe trained for 1 epoch (SPAM_TINY_EPOCHS=1 models/spam-tiny/train.sh).
# Usage: bench/robustness_versions.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$build/bench/robustness_versions
mkdir -p "$out"
if [ ! -f "$out/spam-tiny-1epoch/model.pt" ]; then
  echo "== training the 1-epoch version (about a minute)"
  SYNAPSE="$(realpath "$build")/synapse" SPAM_TINY_EPOCHS=1 bash "$root/models/spam-tiny/train.sh" \
    "$out/spam-tiny-1epoch" > "$out/train.log"
fi
echo "== robustness metrics of both versions"
SYNAPSE_MODEL="$root/models/spam-tiny" "$build/bench/robustness_metrics_bench" \
  --benchmark_out="$out/v1.json" --benchmark_out_format=json > /dev/null
SYNAPSE_MODEL="$out/spam-tiny-1epoch" "$build/bench/robustness_metrics_bench" \
  --benchmark_out="$out/v2.json" --benchmark_out_format=json > /dev/null
echo "== compare.py (time = the metric's shortfall: 1 - accuracy, or 1 / budget; lower is better)"
/usr/bin/python3 /usr/share/benchmark/compare.py --no-color benchmarks "$out/v1.json" "$out/v2.json"
