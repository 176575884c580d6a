#!/usr/bin/python3
"""A BERT-base-shaped classifier (12 layers, hidden 768, 12 heads, intermediate 3072, 512
positions; seeded random weights, the probe's 600-token WordPiece tokenizer) saved for
synapse-export, for pt2_probe's timing.    make_base.py TOKENIZER_JSON OUT_DIR"""
import shutil
import sys

import torch
import transformers

tok, out = sys.argv[1:3]
torch.manual_seed(1234)
config = transformers.BertConfig(vocab_size=600, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                 intermediate_size=3072, max_position_embeddings=512, num_labels=3, pad_token_id=0,
                                 id2label={0: "ham", 1: "hard_ham", 2: "spam"},
                                 label2id={"ham": 0, "hard_ham": 1, "spam": 2})
transformers.BertForSequenceClassification(config).eval().save_pretrained(out)
shutil.copyfile(tok, out + "/tokenizer.json")
