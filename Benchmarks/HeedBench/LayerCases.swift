import Heed
import HeedNN

/// The HeedNN attention layers at a typical size, forward (inference: `noGrad`, eval mode)
/// and forward+backward (gradients of the parameters and, for MultiHeadAttention, the input).
func layerCases() -> [BenchCase] {
    // MultiHeadAttention, self-attention over S1's geometry: B 4, N 256, 8 heads of 64.
    let (b, n, e, heads) = (4, 256, 512, 8)
    // Four E×E projections (8·B·N·E²) plus the attention core (4·B·N²·E).
    let mhaFlops = 8 * Double(b * n) * Double(e * e) + 4 * Double(b) * Double(n * n) * Double(e)
    let mhaShape = "B \(b), N \(n), E \(e), \(heads) heads"
    let mha = [Pass.fwd, .fwdBwd].map { pass in
        BenchCase(group: "layers", name: "layers/MultiHeadAttention/\(pass.rawValue)", shape: mhaShape, n: n,
                  path: "automatic", pass: pass, flops: mhaFlops * (pass == .fwd ? 1 : 3)) {
            let layer = MultiHeadAttention(modelDim: e, heads: heads, seed: 1)
            let x = Tensor.randomNormal([b, n, e], seed: 2).requiringGrad(pass == .fwdBwd)
            let dy = Tensor.randomNormal([b, n, e], seed: 3)
            if pass == .fwd {
                layer.eval()
                return { noGrad { blackHole(layer(x).output) } }
            }
            return {
                layer(x).output.backward(dy)
                layer.zeroGrad(); x.zeroGrad()
            }
        }
    }

    // AdditiveAttentionPooling: B 32 sequences of 128 elements of width 256, hidden 128.
    let (pb, pn, width, hidden) = (32, 128, 256, 128)
    // Projection 2·B·N·in·hid, scores 2·B·N·hid, weighted sum 2·B·N·in (tanh, softmax not counted).
    let poolFlops = 2 * Double(pb * pn) * Double(width * hidden + hidden + width)
    let poolShape = "B \(pb), N \(pn), in \(width), hidden \(hidden)"
    let pool = [Pass.fwd, .fwdBwd].map { pass in
        BenchCase(group: "layers", name: "layers/AdditiveAttentionPooling/\(pass.rawValue)", shape: poolShape, n: pn,
                  path: "composed", pass: pass, flops: poolFlops * (pass == .fwd ? 1 : 3)) {
            let layer = AdditiveAttentionPooling(inputCount: width, hiddenCount: hidden, seed: 1)
            let x = Tensor.randomNormal([pb, pn, width], seed: 2)
            let dy = Tensor.randomNormal([pb, width], seed: 3)
            if pass == .fwd {
                layer.eval()
                return { noGrad { blackHole(layer(x).output) } }
            }
            return {
                layer(x).output.backward(dy)
                layer.zeroGrad()
            }
        }
    }
    return mha + pool
}
