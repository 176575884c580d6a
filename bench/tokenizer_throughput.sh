#!/usr/bin/env bash
# Tokenization throughput, Synapse vs Hugging Face tokenizers (Rust via Node), back to
# back on the same texts and tokenizer.json, each on one thread and on all cores for HF.
#   bash bench/tokenizer_throughput.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
ref=$build/tokenizer_parity
export NODE_PATH=$build/npm/tokenizer_parity/node_modules
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }
hf1=$(RAYON_NUM_THREADS=1 node "$(dirname "$0")/hf_tokenizer_throughput.js" "$ref" 5 | awk '{print $2}')
syn=$("$build/bench/tokenizer_bench" --benchmark_format=json 2>/dev/null |
      /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["benchmarks"][0]["bytes_per_second"])')
hfn=$(node "$(dirname "$0")/hf_tokenizer_throughput.js" "$ref" 5 | awk '{print $2}')
echo "corpus: $(ls -la "$ref/texts.json" | awk '{print $5}') bytes of JSON, SpamAssassin messages + edge cases"
echo "synapse (1 thread):           $(mb "$syn") MB/s"
echo "hf tokenizers (1 thread):     $(mb "$hf1") MB/s   synapse/hf = $(awk -v a="$syn" -v b="$hf1" 'BEGIN{printf "%.2f", a/b}')"
echo "hf tokenizers (all cores):    $(mb "$hfn") MB/s   synapse/hf = $(awk -v a="$syn" -v b="$hfn" 'BEGIN{printf "%.2f", a/b}')"
