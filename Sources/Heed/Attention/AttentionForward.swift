import CBLAS
import CHeedKernels

/// Attention forward, FlashAttention-style. Without kept weights or dropout it runs on the
/// dispatched C kernel (`attentionForwardBlocks`); the rest of this function, the materialised
/// path and dropout, runs on single-threaded `cblas_sgemm` calls.
///
/// Work is split over (batch·head, block of `blockQ` query rows) tasks on every core. A task
/// walks the visible keys in tiles of `tileK`: S = scale·Q_blk·K_tileᵀ (GEMM), bias and causal
/// mask, then the online softmax — running row max m and row sum l; when the max grows the
/// partial output is rescaled by e^(m_old − m_new) — and O_blk += P·V_tile (GEMM). The output
/// is divided by l at the end and the row log-sum-exp m + ln l is saved for the backward.
///
/// With `probs` (the materialised path) the whole visible key range is one tile, so the
/// normalised weights are final and are kept in `probs` ([B, H, Nq, Nk]) for the backward and
/// for callers that want the weights; without it (the tiled path) only a blockQ×tileK score
/// tile per worker exists and memory stays O(N·d).
///
/// Blocks whose keys are all masked by causality are never computed (the loop stops at
/// `keyEnd`). A row with no visible key gets O = 0 and lse = −∞.
func attentionForward(_ p: AttentionProblem, out: HeadMatrix, lse: UnsafeMutablePointer<Float>,
                      probs: UnsafeMutablePointer<Float>?, blockQ: Int, tileK: Int,
                      kernels: UnsafePointer<heed_kernel_table> = CPUDispatch.kernels) {
    if probs == nil && p.dropout == 0 {
        return attentionForwardBlocks(p, out: out, lse: lse, kernels: kernels)
    }
    BLASSetup.prepare()
    let qBlocks = (p.nq + blockQ - 1) / blockQ
    let tasks = p.batch * p.heads * qBlocks
    let tile = probs == nil ? Swift.max(1, Swift.min(tileK, p.nk)) : Swift.max(1, p.nk)
    let needScratch = probs == nil || p.dropout > 0
    Parallel.forRanges(tasks, grain: 1) { range in
        // Per-worker workspace, recycled through the buffer cache between calls.
        let scratch = needScratch ? Tensor(uninitializedShape: [blockQ, tile]) : nil
        let stats = Tensor(uninitializedShape: [3, blockQ])
        let m = stats.base, l = stats.base + blockQ, corr = stats.base + 2 * blockQ
        for t in range {
            let task = pairedTask(t, of: tasks)
            let bh = task / qBlocks, i0 = (task % qBlocks) * blockQ
            let b = bh / p.heads, h = bh % p.heads, kvh = h / p.group
            let rows = Swift.min(blockQ, p.nq - i0)
            let kEnd = p.keyEnd(i0, rows)
            let o = out.at(b, h, row: i0)
            m.update(repeating: -.infinity, count: rows)
            l.update(repeating: 0, count: rows)
            var j0 = 0
            while j0 < kEnd {
                let bc = Swift.min(tile, kEnd - j0)
                let first = j0 == 0
                // S: the scores, in the saved weights (materialised) or the worker's tile.
                let (s, lds) = probs.map { ($0 + (bh * p.nq + i0) * p.nk + j0, p.nk) } ?? (scratch!.base, bc)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(bc), Int32(p.d),
                            p.scale, p.q.at(b, h, row: i0), Int32(p.q.sn), p.k.at(b, kvh, row: j0), Int32(p.k.sn),
                            0, s, Int32(lds))
                for r in 0..<rows {
                    let row = s + r * lds
                    p.maskRow(row, bc, b: b, h: h, i: i0 + r, j0: j0)
                    let mNew = Swift.max(m[r], reduceRow(row, bc, MaxReducer.self))
                    if mNew == -.infinity {           // nothing visible yet in this row
                        row.update(repeating: 0, count: bc)
                        corr[r] = 1
                        continue
                    }
                    let sum = expShiftedInPlace(row, bc, mNew)
                    corr[r] = m[r] == -.infinity ? 0 : fastExp(m[r] - mNew)
                    l[r] = l[r] * corr[r] + sum
                    m[r] = mNew
                }
                if !first {
                    for r in 0..<rows where corr[r] != 1 { scaleRow(o + r * out.sn, p.dv, corr[r]) }
                }
                // P·V, with dropout applied to a copy when the undropped weights must be kept.
                var pv = s, ldp = lds
                if p.dropout > 0 {
                    pv = scratch!.base; ldp = bc
                    for r in 0..<rows { p.applyDropout(s + r * lds, pv + r * ldp, bc, b: b, h: h, i: i0 + r, j0: j0) }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(p.dv), Int32(bc),
                            1, pv, Int32(ldp), p.v.at(b, kvh, row: j0), Int32(p.v.sn),
                            first ? 0 : 1, o, Int32(out.sn))
                j0 += bc
            }
            let lseRow = lse + bh * p.nq + i0
            for r in 0..<rows {
                if l[r] == 0 {
                    (o + r * out.sn).update(repeating: 0, count: p.dv)
                    lseRow[r] = -.infinity
                } else {
                    scaleRow(o + r * out.sn, p.dv, 1 / l[r])
                    lseRow[r] = m[r] + logf(l[r])
                }
            }
            if let probs {
                // One tile covered every visible key: normalise the kept weights, zero the rest.
                for r in 0..<rows {
                    let row = probs + (bh * p.nq + i0 + r) * p.nk
                    if l[r] == 0 { row.update(repeating: 0, count: kEnd) } else { scaleRow(row, kEnd, 1 / l[r]) }
                    if kEnd < p.nk { (row + kEnd).update(repeating: 0, count: p.nk - kEnd) }
                }
            }
        }
        withExtendedLifetime((scratch, stats)) {}
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The tiled forward without dropout: the dispatched C kernel (CHeedKernels'
/// attention_forward.inc) over blocks of `HEED_ATTN_QB` query rows, split over every core with
/// the same causal pairing as above. No BLAS: Q·Kᵀ and P·V run in the kernel's own registers.
func attentionForwardBlocks(_ p: AttentionProblem, out: HeadMatrix, lse: UnsafeMutablePointer<Float>,
                            kernels: UnsafePointer<heed_kernel_table>) {
    let blockQ = Int(HEED_ATTN_QB)
    let qBlocks = (p.nq + blockQ - 1) / blockQ
    let tasks = p.batch * p.heads * qBlocks
    let run = kernels.pointee.attention_forward_block!
    Parallel.forRanges(tasks, grain: 1) { range in
        let workspace = Tensor(uninitializedShape: [heed_attention_workspace_floats(p.d, p.dv)])
        for t in range {
            let task = pairedTask(t, of: tasks)
            let bh = task / qBlocks, i0 = (task % qBlocks) * blockQ
            let b = bh / p.heads, h = bh % p.heads, kvh = h / p.group
            let rows = Swift.min(blockQ, p.nq - i0)
            var block = heed_attention_block(
                q: p.q.at(b, h, row: i0), ldq: p.q.sn, k: p.k.at(b, kvh), ldk: p.k.sn,
                v: p.v.at(b, kvh), ldv: p.v.sn, o: out.at(b, h, row: i0), ldo: out.sn,
                lse: lse + bh * p.nq + i0, rows: rows, keys: p.keyEnd(i0, rows), d: p.d, dv: p.dv,
                scale: p.scale, causal: p.causal ? 1 : 0, first_row: i0,
                bias: p.bias.map { $0.row(b, h, i0) }, bias_sq: p.bias?.sq ?? 0, bias_sk: p.bias?.sk ?? 0,
                workspace: workspace.base)
            run(&block)
        }
        withExtendedLifetime(workspace) {}
    }
}

/// The query-block task to run at position `t` of `tasks`. Workers get contiguous ranges of
/// positions, and causal blocks grow with their index: interleaving block k with block n−1−k
/// gives each range the same work (with one head and a causal mask, plain halves kept only 1.3
/// of 2 cores busy).
@inline(__always) func pairedTask(_ t: Int, of tasks: Int) -> Int {
    t.isMultiple(of: 2) ? t / 2 : tasks - 1 - t / 2
}
