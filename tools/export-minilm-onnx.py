#!/usr/bin/env python3
"""Exports all-MiniLM-L6-v2's BERT (token ids -> last hidden state) to ONNX, for the benchmark's
onnxruntime peer (`heed-bench --peers`, Benchmarks/HeedBench/EmbeddingPeers.swift).

    export-minilm-onnx.py MODEL_DIR OUT.onnx

MODEL_DIR is the sentence-transformers folder Heed reads (models/all-MiniLM-L6-v2). Pooling and
normalisation stay outside the graph, as in sentence-transformers: the peer mean-pools and
normalises in numpy. Batch and sequence axes are dynamic. Checks that onnxruntime reproduces
PyTorch's hidden states on a sample batch before the file is moved into place (atomically).
Needs torch, transformers, onnx and onnxruntime.
"""
import os, sys, tempfile, warnings

warnings.filterwarnings("ignore")
import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer


class Hidden(torch.nn.Module):
    """The model called by keyword (its positional order varies between transformers releases)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state


def main(model_dir, out):
    model = Hidden(AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval())
    tok = AutoTokenizer.from_pretrained(model_dir)
    sample = tok(["A man is playing a guitar.", "The quick brown fox jumps over the lazy dog near the river bank."],
                 padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    args = tuple(sample[n] for n in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(os.path.abspath(out)))
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(model, args, tmp, input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=18, dynamo=True)   # the TorchScript exporter mistraces this BERT
        import onnxruntime as ort
        sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        # A batch of another size and length than the traced one: the axes must be dynamic.
        check = tok(["Two dogs run.", "A woman is slicing an onion in the kitchen.", "Rain."],
                    padding=True, return_tensors="pt")
        got = sess.run(None, {n: check[n].numpy() for n in names})[0]
        with torch.no_grad():
            want = model(*(check[n] for n in names)).numpy()
        err = float(np.abs(got - want).max())
        if err > 1e-4:
            raise SystemExit(f"export-minilm-onnx: onnxruntime differs from PyTorch by {err:g}")
        os.replace(tmp, out)
        print(f"export-minilm-onnx: wrote {out} (max |onnxruntime - torch| = {err:.2g})", file=sys.stderr)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
