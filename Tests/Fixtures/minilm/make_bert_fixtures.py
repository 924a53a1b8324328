"""Reference hidden states of all-MiniLM-L6-v2's encoder for Heed's BertModel tests.

Run with a Python that has torch and transformers (the fixtures were made with the versions
recorded in the output):

    python Tests/Fixtures/minilm/make_bert_fixtures.py [MODEL_DIR]

Writes Tests/Fixtures/minilm/bert_hidden.json: for a padded batch of token-id rows (given as
ids, so the encoder is tested apart from the tokenizer), Hugging Face BertModel's
last_hidden_state at the real tokens, computed in float64 from the float32 weights so the
fixture carries no float32 rounding of its own (rounded to 6 decimals: the states are below 10
in magnitude; float32 inference differs from float64 by a few 1e-6). Also the largest
difference of PyTorch's own float32 run from the float64 one, the scale of a fair tolerance.
"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModel

here = os.path.dirname(os.path.abspath(__file__))
model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "models", "all-MiniLM-L6-v2")

# [CLS] the quick brown fox jumps over the lazy dog . [SEP], then a shorter row padded with 0,
# then a row with token types, a [UNK] and ids near the vocabulary's end.
rows = [
    [101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102],
    [101, 7592, 2088, 999, 102],
    [101, 100, 30521, 30000, 2023, 102, 2003, 102],
]
types = [[0] * 12, [0] * 5, [0, 0, 0, 0, 0, 0, 1, 1]]
length = max(len(r) for r in rows)
ids = torch.tensor([r + [0] * (length - len(r)) for r in rows])
mask = torch.tensor([[1] * len(r) + [0] * (length - len(r)) for r in rows])
token_types = torch.tensor([t + [0] * (length - len(t)) for t in types])

model = AutoModel.from_pretrained(model_dir).eval()
out = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__},
       "ids": [r for r in rows], "token_types": types}
with torch.no_grad():
    h32 = model(input_ids=ids, attention_mask=mask, token_type_ids=token_types).last_hidden_state
    h = model.to(torch.float64)(input_ids=ids, attention_mask=mask, token_type_ids=token_types).last_hidden_state
real = mask.bool()
out["torch_float32_max_abs_error"] = float((h32.double() - h)[real].abs().max())
out["hidden"] = [[[round(x, 6) for x in token] for token in h[i, :len(r)].tolist()] for i, r in enumerate(rows)]
path = os.path.join(here, "bert_hidden.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {path}: {len(rows)} rows, hidden size {h.shape[-1]}")
