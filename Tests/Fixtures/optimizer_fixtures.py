"""Expected parameter values for Tests/HeedNNTests/OptimizerTests.swift, in float64 with numpy.

Transcribes the algorithms of torch.optim.SGD, Adam and AdamW (the `_single_tensor_*` code
paths): three steps from p0 with the fixed gradients G[0..2].
Run: python3 Tests/Fixtures/optimizer_fixtures.py
"""
import math
import numpy as np

p0 = np.array([0.5, -1.0, 2.0, 0.25])
G = [np.array([0.1, -0.2, 0.3, 0.0]),
     np.array([-0.4, 0.5, 0.05, 1.0]),
     np.array([0.2, 0.2, -0.6, -0.3])]

def sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf, out = p0.copy(), None, []
    for g in G:
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p.copy())
    return out

def adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    p, m, v, out = p0.copy(), np.zeros(4), np.zeros(4), []
    for t, g in enumerate(G, start=1):
        if decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay != 0:
            g = g + weight_decay * p
        m = m + (1 - betas[0]) * (g - m)
        v = betas[1] * v + (1 - betas[1]) * g * g
        step_size = lr / (1 - betas[0] ** t)
        denom = np.sqrt(v) / math.sqrt(1 - betas[1] ** t) + eps
        p = p - step_size * m / denom
        out.append(p.copy())
    return out

def show(name, steps):
    rows = ",\n    ".join("[" + ", ".join(f"{x:.9g}" for x in s) + "]" for s in steps)
    print(f"static let {name}: [[Float]] = [\n    {rows}]")

show("sgdPlain", sgd(0.1))
show("sgdMomentum", sgd(0.1, momentum=0.9))
show("sgdDampenedDecay", sgd(0.1, momentum=0.9, dampening=0.5, weight_decay=0.01))
show("sgdNesterovDecay", sgd(0.1, momentum=0.9, weight_decay=0.1, nesterov=True))
show("adam", adam(0.01))
show("adamL2", adam(0.01, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1))
show("adamW", adam(0.01, weight_decay=0.1, decoupled=True))
