import XCTest
import CHeedKernels
@testable import Heed
import HeedTestSupport

/// The fused kernels (materialised and tiled) against the naive loops, forward and backward.
final class AttentionTests: XCTestCase {
    struct Case {
        var b = 1, h = 1, hkv = 1, nq = 1, nk = 1, d = 8, dv = 8
        var causal = false
        var mask: ((Int) -> AttentionMask)? = nil   // built per case from a seed
        var dropout: Float = 0
        var name: String
    }

    /// Runs one configuration through every path: naive, materialised and tiled (default
    /// tiles and tiny tiles that cut through rows, heads and the causal diagonal).
    func check(_ c: Case, file: StaticString = #filePath, line: UInt = #line) {
        let q = rand([c.b, c.h, c.nq, c.d], 1), k = rand([c.b, c.hkv, c.nk, c.d], 2)
        let v = rand([c.b, c.hkv, c.nk, c.dv], 3), g = rand([c.b, c.h, c.nq, c.dv], 4)
        let mask = c.mask?(5)
        let seed: UInt64 = 99
        let ref = Reference.attention(query: q, key: k, value: v, mask: mask, isCausal: c.causal,
                                      dropout: c.dropout, dropoutSeed: seed)
        let refGrad = Reference.attentionBackward(query: q, key: k, value: v, dOut: g, mask: mask, isCausal: c.causal,
                                                  dropout: c.dropout, dropoutSeed: seed)
        // The tiled path without dropout runs CHeedKernels' attention kernels: every level this
        // CPU supports.
        let levels = CPUDispatch.runnableLevels.map { ($0, CPUDispatch.kernels(for: $0)!) }
        let variants: [(String, AttentionPath, Int, Int, UnsafePointer<heed_kernel_table>)] = [
            ("materialized", .materialized, Attention.blockQ, Attention.tileK, CPUDispatch.kernels),
            ("materialized small blocks", .materialized, 3, 5, CPUDispatch.kernels),
            ("tiled small tiles", .tiled, 4, 7, CPUDispatch.kernels),
        ] + levels.map { ("tiled \($0.0)", .tiled, Attention.blockQ, Attention.tileK, $0.1) }
        for (name, path, bq, tk, kernels) in variants {
            let (ql, kl, vl) = (q.detach().requiringGrad(), k.detach().requiringGrad(), v.detach().requiringGrad())
            let out = attention(query: ql, key: kl, value: vl, mask: mask, isCausal: c.causal, scale: nil,
                                dropout: c.dropout, dropoutSeed: seed, path: path, keepWeights: false,
                                blockQ: bq, tileK: tk, kernels: kernels).output
            let label = "\(c.name) [\(name)]"
            XCTAssertFalse(out.scalars.contains { !$0.isFinite }, "\(label): non-finite output", file: file, line: line)
            assertClose(out, ref, rtol: 1e-4, atol: 1e-5, "\(label) output", file: file, line: line)
            (out * g).sum().backward()
            assertClose(ql.grad!, refGrad.dq, rtol: 1e-4, atol: 1e-5, "\(label) dq", file: file, line: line)
            assertClose(kl.grad!, refGrad.dk, rtol: 1e-4, atol: 1e-5, "\(label) dk", file: file, line: line)
            assertClose(vl.grad!, refGrad.dv, rtol: 1e-4, atol: 1e-5, "\(label) dv", file: file, line: line)
        }
    }

    func testSingleToken() { check(Case(name: "N = 1")) }
    func testOddSizesAndDifferentValueWidth() { check(Case(b: 2, h: 3, hkv: 3, nq: 5, nk: 7, d: 4, dv: 6, name: "odd")) }
    /// Head sizes the backward kernel takes (multiples of 16), blocks of 64 queries and tiles of
    /// 64 and 256 keys cut at odd places.
    func testKernelBlockAndTileEdges() {
        check(Case(b: 1, h: 2, hkv: 2, nq: 130, nk: 300, d: 16, dv: 32, name: "kernel edges"))
        check(Case(b: 1, h: 2, hkv: 1, nq: 300, nk: 130, d: 32, dv: 16, causal: true, name: "kernel edges, causal"))
        check(Case(b: 2, h: 2, hkv: 2, nq: 70, nk: 65, d: 64, dv: 48, mask: { seed in
            .additive(Tensor.randomNormal([2, 1, 70, 65], seed: UInt64(seed)))
        }, name: "kernel edges, additive mask"))
        check(Case(b: 2, h: 2, hkv: 2, nq: 70, nk: 80, d: 16, dv: 16, mask: { _ in
            .keyPadding(Tensor((0..<160).map { Float($0 % 80 < 45 + 30 * ($0 / 80) ? 1 : 0) }, shape: [2, 80]))
        }, name: "kernel edges, key padding"))
    }

    func testNqDiffersFromNk() { check(Case(b: 1, h: 2, hkv: 2, nq: 33, nk: 9, d: 8, dv: 8, name: "Nq > Nk")) }
    func testSequenceNotAMultipleOfTheTile() { check(Case(b: 1, h: 2, hkv: 2, nq: 300, nk: 300, d: 16, dv: 16, name: "N = 300")) }
    func testGroupedQueryAttention() { check(Case(b: 2, h: 4, hkv: 2, nq: 17, nk: 21, d: 8, dv: 8, name: "GQA 4/2")) }
    func testMultiQueryAttention() { check(Case(b: 1, h: 6, hkv: 1, nq: 9, nk: 9, d: 8, dv: 4, name: "MQA 6/1")) }
    func testCausal() { check(Case(b: 2, h: 2, hkv: 2, nq: 40, nk: 40, d: 8, dv: 8, causal: true, name: "causal")) }
    func testCausalRectangular() {
        check(Case(b: 1, h: 2, hkv: 1, nq: 12, nk: 30, d: 8, dv: 8, causal: true, name: "causal Nq < Nk"))
        check(Case(b: 1, h: 2, hkv: 2, nq: 30, nk: 12, d: 8, dv: 8, causal: true, name: "causal Nq > Nk"))
    }

    func testBooleanMaskBroadcastWithFullyMaskedRows() {
        let c = Case(b: 2, h: 2, hkv: 2, nq: 11, nk: 13, d: 8, dv: 8, mask: { seed in
            // [Nq, Nk] allowed-mask broadcast over batch and heads; rows 0 and 7 see nothing.
            let m = Tensor.randomBernoulli([11, 13], p: 0.6, seed: UInt64(seed))
            let blocked = Tensor.ones([11, 1]).maskedFill(Tensor([1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], shape: [11, 1]), 0)
            return .allowed(m * blocked)
        }, name: "boolean mask")
        check(c)
    }

    func testKeyPaddingWithAnEmptySequence() {
        check(Case(b: 3, h: 2, hkv: 2, nq: 6, nk: 9, d: 8, dv: 8, mask: { _ in
            // batch 0: 5 real tokens, batch 1: all 9, batch 2: none (every row fully masked)
            let valid = Tensor((0..<27).map { i in Float(i / 9 == 0 ? (i % 9 < 5 ? 1 : 0) : (i / 9 == 1 ? 1 : 0)) }, shape: [3, 9])
            return .keyPadding(valid)
        }, name: "key padding"))
    }

    func testAdditiveMaskPerHead() {
        check(Case(b: 1, h: 3, hkv: 3, nq: 8, nk: 10, d: 8, dv: 8, causal: true, mask: { seed in
            .additive(Tensor.randomNormal([1, 3, 8, 10], seed: UInt64(seed)))
        }, name: "additive + causal"))
    }

    func testDropoutMatchesNaiveWithTheSameSeed() {
        check(Case(b: 1, h: 2, hkv: 2, nq: 20, nk: 20, d: 8, dv: 8, causal: true, dropout: 0.3, name: "dropout"))
    }

    func testFullyMaskedRowsGiveZeroOutputAndZeroGradient() {
        let q = rand([1, 1, 3, 4], 1).requiringGrad(), k = rand([1, 1, 5, 4], 2).requiringGrad()
        let v = rand([1, 1, 5, 4], 3).requiringGrad()
        for path in [AttentionPath.materialized, .tiled] {
            q.zeroGrad(); k.zeroGrad(); v.zeroGrad()
            let none = Tensor.zeros([1, 5])
            let out = scaledDotProductAttention(query: q, key: k, value: v, mask: .keyPadding(none), path: path)
            XCTAssertEqual(out.scalars, [Float](repeating: 0, count: 12), "\(path)")
            out.sum().backward()
            for (name, t) in [("dq", q), ("dk", k), ("dv", v)] {
                XCTAssertEqual(t.grad!.scalars, [Float](repeating: 0, count: t.count), "\(path) \(name)")
            }
        }
    }

    func testHugeLogitsStayFinite() {
        // Scores of magnitude ~1e4: the max subtraction keeps exp in range on every path.
        let q = (rand([1, 2, 16, 8], 1) * 100).detach().requiringGrad()
        let k = (rand([1, 2, 16, 8], 2) * 100).detach().requiringGrad()
        let v = rand([1, 2, 16, 8], 3).requiringGrad()
        for path in [AttentionPath.materialized, .tiled] {
            q.zeroGrad(); k.zeroGrad(); v.zeroGrad()
            let out = scaledDotProductAttention(query: q, key: k, value: v, scale: 1, path: path)
            XCTAssertTrue(out.scalars.allSatisfy(\.isFinite), "\(path) output")
            out.sum().backward()
            for t in [q, k, v] { XCTAssertTrue(t.grad!.scalars.allSatisfy(\.isFinite), "\(path) gradient") }
            let ref = Reference.attention(query: q, key: k, value: v, scale: 1)
            assertClose(out, ref, rtol: 1e-4, atol: 1e-4, "\(path) vs naive at 1e4 logits")
        }
    }

    func testStridedInputsAreReadInPlace() {
        // [B, N, H, d] projections viewed as [B, H, N, d]: the layout MultiHeadAttention produces.
        let x = rand([2, 7, 3, 8], 1)
        let q = x.permuted([0, 2, 1, 3]), k = rand([2, 9, 3, 8], 2).permuted([0, 2, 1, 3])
        let v = rand([2, 9, 3, 8], 3).permuted([0, 2, 1, 3])
        let out = scaledDotProductAttention(query: q, key: k, value: v)
        assertClose(out, Reference.attention(query: q, key: k, value: v), rtol: 1e-4, atol: 1e-5, "permuted inputs")
    }

    func testWeightsAreTheSoftmaxOfTheScores() {
        let q = rand([1, 2, 4, 8], 1), k = rand([1, 2, 6, 8], 2), v = rand([1, 2, 6, 8], 3)
        let (out, w) = scaledDotProductAttentionWithWeights(query: q, key: k, value: v, isCausal: true)
        let scores = (q.matmul(k.transposed()) / Float(8).squareRoot())
        let causal = Tensor.arange(4).reshaped([4, 1]) .< Tensor.arange(6)
        assertClose(w, scores.maskedFill(causal, -.infinity).softmax(axis: -1), rtol: 1e-5, atol: 1e-6, "weights")
        assertClose(out, w.matmul(v), rtol: 1e-5, atol: 1e-6, "output = weights · V")
    }

    func testFiniteDifferences() {
        for path in [AttentionPath.materialized, .tiled] {
            gradCheck("sdpa \(path)", [rand([1, 2, 5, 4], 1), rand([1, 1, 6, 4], 2), rand([1, 1, 6, 3], 3)]) {
                scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], isCausal: true, path: path)
            }
        }
    }

    /// The tiled path's memory grows linearly in N, the materialised path's with N².
    /// Peak tensor bytes of a forward+backward, from the allocator's exact accounting.
    func testTiledMemoryGrowsLinearly() {
        func peak(_ n: Int, _ path: AttentionPath) -> Int {
            let q = rand([1, 1, n, 16], 1).requiringGrad(), k = rand([1, 1, n, 16], 2).requiringGrad()
            let v = rand([1, 1, n, 16], 3).requiringGrad()
            let base = MemoryStats.liveBytes
            MemoryStats.resetPeak()
            scaledDotProductAttention(query: q, key: k, value: v, path: path).sum().backward()
            return MemoryStats.peakBytes - base
        }
        let (t1, t2) = (peak(1024, .tiled), peak(2048, .tiled))
        let (m1, m2) = (peak(1024, .materialized), peak(2048, .materialized))
        XCTAssertLessThan(Double(t2) / Double(t1), 2.2, "tiled: \(t1) → \(t2) bytes when N doubles")
        XCTAssertGreaterThan(Double(m2) / Double(m1), 3.5, "materialised: \(m1) → \(m2) bytes when N doubles")
        XCTAssertLessThan(t2, 2048 * 2048 * 4, "tiled path must not hold an N×N matrix")
    }

    /// `.automatic` materialises the weights only for a backward that the tiled kernels do not
    /// run (here a head size of 8): a forward with no graph, or a backward the kernels take
    /// (head size 16), stays tiled, with the same values.
    func testAutomaticPathMaterialisesOnlyForABackwardTheKernelsDoNotRun() {
        let n = 1024, weightBytes = 2 * n * n * 4
        func peak(_ body: () -> Tensor) -> (bytes: Int, out: Tensor) {
            let base = MemoryStats.liveBytes
            MemoryStats.resetPeak()
            let out = body()
            return (MemoryStats.peakBytes - base, out)
        }
        for d in [16, 8] {
            let q = rand([1, 2, n, d], 1), k = rand([1, 2, n, d], 2), v = rand([1, 2, n, d], 3)
            let inference = peak { noGrad { scaledDotProductAttention(query: q, key: k, value: v) } }
            let constant = peak { scaledDotProductAttention(query: q, key: k, value: v) }
            let training = peak { scaledDotProductAttention(query: q.detach().requiringGrad(), key: k, value: v) }
            XCTAssertLessThan(inference.bytes, weightBytes / 4, "d = \(d), no graph: tiled")
            XCTAssertLessThan(constant.bytes, weightBytes / 4, "d = \(d), no input needs a gradient: tiled")
            if d == 16 {
                XCTAssertLessThan(training.bytes, weightBytes / 4, "d = 16, the kernels run the backward: tiled")
            } else {
                XCTAssertGreaterThanOrEqual(training.bytes, weightBytes, "d = 8, a BLAS backward will follow: materialised")
            }
            assertClose(inference.out, training.out.detach(), rtol: 1e-5, atol: 1e-6, "d = \(d), same values on both paths")
        }
    }
}

extension AttentionTests {
    /// The hashed dropout mask keeps each score with probability 1 − p, independently of
    /// position (5 standard errors: √(p(1−p)/n) ≈ 0.0015 at n = 10⁵).
    func testDropoutHashKeepsTheRightFraction() {
        for p: Float in [0.1, 0.5] {
            let n = 100_000
            let kept = (0..<n).reduce(0) { $0 + (dropoutKeep(42, $1, p) ? 1 : 0) }
            XCTAssertEqual(Double(kept) / Double(n), Double(1 - p), accuracy: 5 * (Double(p * (1 - p)) / Double(n)).squareRoot())
            // Neighbouring positions are not correlated: P(both kept) ≈ (1 − p)².
            let pairs = (0..<n).reduce(0) { $0 + (dropoutKeep(42, 2 * $1, p) && dropoutKeep(42, 2 * $1 + 1, p) ? 1 : 0) }
            XCTAssertEqual(Double(pairs) / Double(n), Double((1 - p) * (1 - p)), accuracy: 0.01)
        }
    }
}
