#!/usr/bin/env bash
# Tokenization throughput of every tokenizer.json kind besides WordPiece (byte-level BPE,
# Metaspace BPE with byte fallback, Unigram with a precompiled charsmap, WordLevel),
# Synapse vs Hugging Face tokenizers (Rust via Node), one thread each, same texts and files.
#   bash bench/tokenizer_kinds_throughput.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
ref=$build/tokenizer_parity/kinds
export NODE_PATH=$build/npm/tokenizer_parity/node_modules
here=$(cd "$(dirname "$0")" && pwd)
json=$("$build/bench/tokenizer_bench" --benchmark_filter=BM_EncodeKind --benchmark_min_time="${seconds}s" \
       --benchmark_format=json 2>/dev/null || "$build/bench/tokenizer_bench" --benchmark_filter=BM_EncodeKind \
       --benchmark_format=json 2>/dev/null)
echo "corpus: $(ls -la "$ref/texts.json" | awk '{print $5}') bytes of JSON, SpamAssassin messages + edge cases"
printf '%-26s %12s %12s %10s\n' tokenizer synapse_MB/s hf_MB/s synapse/hf
for kind in roberta_bpe metaspace_bpe unigram_precompiled wordlevel; do
  syn=$(echo "$json" | /usr/bin/python3 -c "import json,sys
for b in json.load(sys.stdin)['benchmarks']:
    if b['name'].startswith('BM_EncodeKind/$kind'): print(b['bytes_per_second'])")
  hf=$(RAYON_NUM_THREADS=1 node "$here/hf_tokenizer_throughput.js" "$ref" "$seconds" "$kind.json" | awk '{print $2}')
  awk -v k="$kind" -v a="$syn" -v b="$hf" 'BEGIN { printf "%-26s %12.2f %12.2f %10.2f\n", k, a / 1e6, b / 1e6, a / b }'
done
