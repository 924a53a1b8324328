#!/usr/bin/env python3
"""Writes python_fixture.safetensors with the reference safetensors library, for
SafetensorsTests.testReadsFileWrittenByPythonLibrary (which holds the expected values; no Python
is needed at test time).

    python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install safetensors numpy
    /tmp/st-venv/bin/python Tests/Fixtures/make_safetensors_fixtures.py

numpy has no bfloat16, so the BF16 tensor is given to the library's serializer as raw bytes
(a TensorSpec, which is what safetensors.numpy.save_file builds for numpy arrays).
"""
import os
import struct

import numpy as np
import safetensors
from safetensors import TensorSpec, serialize_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "python_fixture.safetensors")

arrays = {
    # Exactly representable in Float32, plus the largest finite value and -0.
    "f32": np.array([[1.5, -2.25, 0.0], [1024.0, 3.4028234663852886e38, -0.0]], dtype=np.float32),
    # 1, -2, 0.5, max half, min normal 2^-14, min subnormal 2^-24, +inf, -inf
    "f16": np.array([1.0, -2.0, 0.5, 65504.0, 2.0**-14, 2.0**-24, np.inf, -np.inf], dtype=np.float16),
    "scalar": np.array(42.0, dtype=np.float32),
    "empty": np.zeros((0, 4), dtype=np.float32),
    "layers.0.weight": np.arange(6, dtype=np.float32).reshape(3, 2) * 0.25,
}
# BF16 bit patterns: 1, -2, 3.140625, +inf, 2^-133 (the smallest BF16 subnormal), -0
bf16_bits = np.array([0x3F80, 0xC000, 0x4049, 0x7F80, 0x0001, 0x8000], dtype="<u2")

specs = {
    name: TensorSpec(dtype=a.dtype.name, shape=a.shape, data_ptr=a.ctypes.data, data_len=a.nbytes)
    for name, a in arrays.items()
}
specs["bf16"] = TensorSpec(dtype="bfloat16", shape=(2, 3), data_ptr=bf16_bits.ctypes.data,
                           data_len=bf16_bits.nbytes)
serialize_file(specs, OUT, metadata={"format": "np", "producer": "make_safetensors_fixtures.py"})

with open(OUT, "rb") as f:
    data = f.read()
(n,) = struct.unpack("<Q", data[:8])
print(f"wrote {OUT}: {len(data)} bytes, safetensors {safetensors.__version__}, numpy {np.__version__}")
print("header:", data[8:8 + n].decode())
