import XCTest
import Heed
import HeedNN
import HeedTestSupport

final class MultiHeadAttentionTests: XCTestCase {
    /// The same layer written with primitive ops only (no fused kernel): per-head projections,
    /// explicit softmax of masked scores, weighted values, merge, output projection.
    func composed(_ mha: MultiHeadAttention, _ xq: Tensor, _ xk: Tensor, _ xv: Tensor,
                  allowed: Tensor?, causal: Bool) -> (Tensor, Tensor) {
        let (b, nq, nk, hd) = (xq.shape[0], xq.shape[1], xk.shape[1], mha.headDim)
        let q = mha.query(xq).reshaped([b, nq, mha.heads, hd]).permuted([0, 2, 1, 3])
        var k = mha.key(xk).reshaped([b, nk, mha.keyValueHeads, hd]).permuted([0, 2, 1, 3])
        var v = mha.value(xv).reshaped([b, nk, mha.keyValueHeads, hd]).permuted([0, 2, 1, 3])
        let group = mha.heads / mha.keyValueHeads
        if group > 1 {   // repeat each kv head for its group of query heads
            k = Tensor.concatenate((0..<mha.keyValueHeads).flatMap { g in Array(repeating: k.slice(axis: 1, g..<(g + 1)), count: group) }, axis: 1)
            v = Tensor.concatenate((0..<mha.keyValueHeads).flatMap { g in Array(repeating: v.slice(axis: 1, g..<(g + 1)), count: group) }, axis: 1)
        }
        var s = q.matmul(k.transposed()) / Float(hd).squareRoot()
        if let allowed { s = s.maskedFill(allowed .== 0, -.infinity) }
        if causal { s = s.maskedFill(Tensor.arange(nq).reshaped([nq, 1]) .< Tensor.arange(nk), -.infinity) }
        let w = s.softmax(axis: -1)
        let o = w.matmul(v).permuted([0, 2, 1, 3]).reshaped([b, nq, mha.heads * hd])
        return (mha.output(o), w.mean(axis: 1))
    }

    func testSelfAttentionMatchesComposedOps() {
        let mha = MultiHeadAttention(modelDim: 12, heads: 3, seed: 1)
        let x = rand([2, 5, 12], 2)
        let (y, w) = mha(x, needWeights: true)
        let (ry, rw) = composed(mha, x, x, x, allowed: nil, causal: false)
        assertClose(y, ry, rtol: 1e-4, atol: 1e-6, "output")
        assertClose(w!, rw, rtol: 1e-4, atol: 1e-6, "weights averaged over heads")
        XCTAssertEqual(mha.namedParameters().map(\.name), [
            "query.weight", "query.bias", "key.weight", "key.bias",
            "value.weight", "value.bias", "output.weight", "output.bias"])
    }

    func testCrossAttentionWithDifferentWidthsGQAAndMasks() {
        let mha = MultiHeadAttention(modelDim: 8, heads: 4, keyDim: 6, valueDim: 5, keyValueHeads: 2, seed: 3)
        let xq = rand([2, 3, 8], 4), xk = rand([2, 7, 6], 5), xv = rand([2, 7, 5], 6)
        let valid = Tensor([1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], shape: [2, 7])
        let (y, _) = mha(xq, key: xk, value: xv, mask: .keyPadding(valid), isCausal: true)
        let (ry, _) = composed(mha, xq, xk, xv, allowed: valid.reshaped([2, 1, 1, 7]), causal: true)
        assertClose(y, ry, rtol: 1e-4, atol: 1e-6, "cross + GQA + padding + causal")
    }

    func testGradientsThroughTheFusedKernel() {
        let mha = MultiHeadAttention(modelDim: 6, heads: 2, keyDim: 4, valueDim: 4, seed: 7)
        let xq = rand([1, 4, 6], 8), xk = rand([1, 5, 4], 9)
        parameterGradCheck("MHA", mha) { mha(xq, key: xk, value: xk, isCausal: true).output }
        gradCheck("MHA inputs", [xq, xk]) { mha($0[0], key: $0[1], value: $0[1]).output }
    }

    func testDropoutOnlyInTraining() {
        let mha = MultiHeadAttention(modelDim: 8, heads: 2, dropout: 0.5, seed: 11)
        let x = rand([1, 6, 8], 12)
        let (a, _) = mha(x)
        mha.eval()
        let (b, _) = mha(x), (c, _) = mha(x)
        XCTAssertEqual(b.scalars, c.scalars, "eval mode is deterministic")
        XCTAssertNotEqual(a.scalars, b.scalars, "training mode drops weights")
        assertClose(b, composed(mha, x, x, x, allowed: nil, causal: false).0, rtol: 1e-4, atol: 1e-6, "eval = no dropout")
    }
}
