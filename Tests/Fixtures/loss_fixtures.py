"""Expected values for Tests/HeedNNTests/LossTests.swift, in float64 with numpy.

Transcribes PyTorch's definitions (torch.nn.functional.cross_entropy with label_smoothing and
ignore_index; kl_div(..., reduction="batchmean")). Run: python3 Tests/Fixtures/loss_fixtures.py
"""
import numpy as np

def log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return (x - m) - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))

def cross_entropy(logits, targets, eps=0.0, ignore=None, reduction="mean"):
    # aten/src/ATen/native/LossNLL.cpp, cross_entropy_loss_label_smoothing (no class weights)
    lp = log_softmax(logits.reshape(-1, logits.shape[-1]))
    t = np.array(targets)
    keep = t != ignore if ignore is not None else np.ones(len(t), bool)
    rows = np.arange(len(t))
    nll = np.where(keep, -lp[rows, np.where(keep, t, 0)], 0.0)
    smooth = np.where(keep, -lp.sum(axis=-1), 0.0)
    C = logits.shape[-1]
    if reduction == "none":
        return (1 - eps) * nll + eps / C * smooth
    if reduction == "sum":
        return (1 - eps) * nll.sum() + eps / C * smooth.sum()
    return (1 - eps) * nll.sum() / keep.sum() + eps / C * smooth.sum() / keep.sum()

def ce_grad_mean(logits, targets, eps=0.0, ignore=None):
    """d mean-loss / d logits: (softmax − target distribution) / kept, 0 on ignored rows."""
    x = logits.reshape(-1, logits.shape[-1])
    p = np.exp(log_softmax(x))
    t = np.array(targets)
    keep = t != ignore if ignore is not None else np.ones(len(t), bool)
    C = x.shape[-1]
    q = np.full_like(p, eps / C)
    q[np.arange(len(t)), np.where(keep, t, 0)] += 1 - eps
    return ((p - q) * keep[:, None] / keep.sum()).reshape(logits.shape)

def kl_distill(s, t, T):
    logq = log_softmax(s / T)
    p = np.exp(log_softmax(t / T))
    return (p * (np.log(p) - logq)).sum() / s.shape[0] * T * T

def show(name, a):
    a = np.atleast_1d(np.asarray(a, dtype=np.float64)).ravel()
    print(f"let {name}: [Float] = [" + ", ".join(f"{v:.9g}" for v in a) + "]")

logits = np.array([[1.0, 2.0, 3.0, -1.0], [0.5, -0.5, 2.5, 0.0], [-2.0, 1.0, 0.0, 4.0]])
targets = [3, 0, 2]
show("ceNone", cross_entropy(logits, targets, reduction="none"))
show("ceMean", cross_entropy(logits, targets))
show("ceSum", cross_entropy(logits, targets, reduction="sum"))
show("ceSmoothNone", cross_entropy(logits, targets, eps=0.1, reduction="none"))
show("ceSmoothMean", cross_entropy(logits, targets, eps=0.1))
show("ceIgnoreMean", cross_entropy(logits, [3, -100, 2], ignore=-100))
show("ceSmoothIgnoreMean", cross_entropy(logits, [3, -100, 2], eps=0.2, ignore=-100))
show("ceSmoothIgnoreNone", cross_entropy(logits, [3, -100, 2], eps=0.2, ignore=-100, reduction="none"))
show("ceSmoothIgnoreGrad", ce_grad_mean(logits, [3, -100, 2], eps=0.2, ignore=-100))
show("kl", kl_distill(logits, logits[[1, 2, 0]], 1.0))
show("klT2", kl_distill(logits, logits[[1, 2, 0]], 2.0))
