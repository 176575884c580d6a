#!/usr/bin/env bash
# Prints the BERT fixture's inputs as pre-tokenized JSONL rows (for `make demo`).
set -euo pipefail
/usr/bin/python3 - "$1" <<'PY'
import json, sys
entry = json.load(open(sys.argv[1]))["models"]["bert_traced"]
for i, (ids, mask) in enumerate(zip(entry["inputs"]["input_ids"], entry["inputs"]["attention_mask"])):
    n = sum(mask)
    print(json.dumps({"input_ids": ids[:n], "label": i % 3}))
PY
