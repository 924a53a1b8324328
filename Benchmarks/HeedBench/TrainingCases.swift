import Heed
import HeedNN

/// One full training step — forward, cross-entropy, backward, Adam update — of
///
///   - the design document's MLP, 784 → 128 (ReLU) → 10, batch 32 (PERF-NOTES: 0.22 ms per
///     step written directly on `cblas_sgemm` in C; PyTorch eager 0.6–1.0 ms). An epoch of
///     Fashion-MNIST is 1875 such steps.
///   - a pre-norm Transformer encoder block (width 64, 4 heads, feed-forward 128, tanh GELU,
///     no dropout) on [32, 17, 64] with a mean-pooled linear head, the ViT's building block.
///
/// FLOPs count the GEMMs only (2 per multiply-add), forward + backward = 3 × forward.
func trainingCases() -> [BenchCase] {
    let mlpFlops = 3 * 2 * 32.0 * Double(784 * 128 + 128 * 10)
    let mlp = BenchCase(group: "train", name: "train/mlp-784-128-10/b32/adam", shape: "B 32, 784→128→10",
                        path: "heed", pass: .fwdBwd, flops: mlpFlops, callsPerRun: 200) {
        let model = MLPClassifier(seed: 0)
        let optimizer = Adam(model.namedParameters(), learningRate: 1e-3)
        let x = Tensor.randomUniform([32, 28, 28], seed: 1)
        let y = (0..<32).map { $0 % 10 }
        return {   // callsPerRun steps per timed run; the harness divides
            for _ in 0..<200 {
                let loss = crossEntropy(logits: model(x), targets: y)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
    }

    let (b, n, d, ff) = (32, 17, 64, 128)
    let tokens = Double(b * n)
    let blockFlops = 3 * 2 * (tokens * Double(4 * d * d + 2 * d * ff) + Double(b) * Double(2 * n * n * d) + Double(b * d * 10))
    let block = BenchCase(group: "train", name: "train/transformer-block/b32/adam", shape: "B \(b), N \(n), D \(d), FF \(ff)",
                          path: "heed", pass: .fwdBwd, flops: blockFlops, callsPerRun: 20) {
        let layer = TransformerEncoderLayer(modelDim: d, heads: 4, feedForwardDim: ff, dropout: 0, normFirst: true,
                                            activation: .geluTanh, seed: 1)
        let head = Linear(d, 10, seed: 2)
        let optimizer = Adam(layer.namedParameters() + head.namedParameters(), learningRate: 1e-3)
        let x = Tensor.randomNormal([b, n, d], seed: 3)
        let y = (0..<b).map { $0 % 10 }
        return {
            for _ in 0..<20 {
                let loss = crossEntropy(logits: head(layer(x).mean(axis: 1)), targets: y)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
    }
    return [mlp, block]
}

/// Cases the benchmark should run but cannot here, with the reason: the embedding cases
/// without the model.
var skippedCases: [(name: String, reason: String)] {
    EmbeddingBench.modelMissingReason.map { [("embed/*", $0)] } ?? []
}
