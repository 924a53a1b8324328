/// ─── TRAINING STEPS: PLACEHOLDER ────────────────────────────────────────────────────────────
///
/// The benchmark is to time one training step (forward, loss, backward, optimizer update) of
///
///   - the design document's MLP, 784 → 128 (ReLU) → 10, batch 32, cross-entropy, Adam
///     (PERF-NOTES: 0.22 ms per step written directly on `cblas_sgemm` in C; PyTorch eager
///     0.6–1.0 ms), reported as time per step and per epoch of 1875 steps;
///   - a small Transformer block (pre-norm, MultiHeadAttention + 4× MLP, layer norm), Adam.
///
/// HeedNN has no optimizer, loss or layer norm yet: the training issue adds them. Until then
/// these cases are listed as skipped in the table and in the JSON (`skipped`), never timed on
/// a stand-in. To add them: build the cases here as `BenchCase(group: "train", …)` whose body
/// runs one step, return them from `trainingCases()`, and delete the matching `skipped` entry.
func trainingCases() -> [BenchCase] { [] }

/// Cases that the benchmark should run but cannot yet, with the reason.
let skippedCases: [(name: String, reason: String)] = [
    ("train/mlp-784-128-10/b32/adam",
     "needs an optimizer (Adam) and cross-entropy in HeedNN: the training issue adds them"),
    ("train/transformer-block/adam",
     "needs Adam, layer norm and a Transformer block in HeedNN: the training issue adds them"),
]
