#!/usr/bin/env python3
"""Checks, with the reference safetensors library, a file Heed wrote: the tensors and metadata
of SafetensorsTests.interopTensors / interopMetadata (keep the two in step), bit for bit, and the
layout Heed promises (header padded to 8 bytes with spaces, __metadata__ first, then names in
sorted order, data in the same order).

    HEED_SAFETENSORS_EXPORT=/tmp/heed.safetensors swift test --filter SafetensorsTests/testInterop
    /tmp/st-venv/bin/python Tests/Fixtures/verify_heed_file.py /tmp/heed.safetensors
"""
import json
import struct
import sys

import numpy as np
import safetensors
from safetensors import safe_open


def expected():
    bits = np.array([0x7F800000, 0xFF800000, 0x80000000, 0x00000001, 0x7FC00000, 0x7F7FFFFF], dtype="<u4")
    tensors = {
        "blocks.0.attn.query.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / np.float32(8) - np.float32(0.75),
        "blocks.0.attn.query.bias": np.array([0.125, -0.5, 3.0], dtype=np.float32),
        "special": bits.view(np.float32).reshape(2, 3),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        'name "with" quotes\\and é': np.array([1.0, 2.0], dtype=np.float32),
    }
    metadata = {"epoch": "3", "format": "pt", "note": 'line1\nline2 "quoted" é ✓'}
    return tensors, metadata


def main(path):
    want, want_meta = expected()
    failures = []
    checks = 0

    def check(ok, what):
        nonlocal checks
        checks += 1
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    with safe_open(path, framework="numpy") as f:
        names = list(f.keys())
        check(sorted(names) == sorted(want), f"names {sorted(names)}")
        check(f.metadata() == want_meta, f"metadata {f.metadata()}")
        for name, w in want.items():
            if name not in names:
                continue
            got = f.get_tensor(name)
            same = got.dtype == np.float32 and got.shape == w.shape and np.array_equal(
                got.view(np.uint32), w.view(np.uint32))
            check(same, f"{name!r}: float32 {list(got.shape)}, bit-exact")

    with open(path, "rb") as fh:
        data = fh.read()
    (n,) = struct.unpack("<Q", data[:8])
    raw = data[8:8 + n]
    check(n % 8 == 0 and raw.rstrip(b" ") == raw.rstrip(), f"header of {n} bytes, padded to 8 with spaces")
    keys = list(json.loads(raw).keys())
    check(keys == ["__metadata__"] + sorted(want), "__metadata__ first, then names sorted")
    header = json.loads(raw)
    offsets = [header[k]["data_offsets"] for k in keys[1:]]
    check(all(a[1] == b[0] for a, b in zip(offsets, offsets[1:])) and offsets[0][0] == 0
          and offsets[-1][1] == len(data) - 8 - n, "data laid out in header order, no gaps")

    print(f"safetensors {safetensors.__version__}, numpy {np.__version__}: "
          f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
