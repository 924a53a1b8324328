import CBLAS
import CHeedKernels

/// Attention backward (FlashAttention-2's algorithm): on the dispatched C kernel when
/// `backwardOnKernel` and the weights are not kept (`attentionBackwardTiles`), else on
/// single-threaded `cblas_sgemm` calls (`attentionBackwardBLAS`).
///
/// With D_i = Σ_x dO[i,x]·O[i,x] and the saved log-sum-exp, per (query block, key tile):
///   P  = e^(S − lse)            recomputed from S = scale·Q Kᵀ (tiled), or read (materialised)
///   dV += P̃ᵀ·dO                 P̃ = P with the dropout mask applied
///   dP = dO·Vᵀ (then masked by dropout like P)
///   dS = P ⊙ (dP − D)
///   dK += scale·dSᵀ·Q,   dQ += scale·dS·K
///
/// Tasks own (batch, key/value head, key tiles), looping over every query head of the group
/// and every query block, so dK and dV are written by one task only. When there are fewer
/// batch·kv-heads than cores, the key tiles of each head are dealt round-robin to `chunks`
/// tasks (round-robin balances causal work, which shrinks with the key index); their dQ
/// contributions then go to one buffer per chunk, summed at the end — O(N·d) extra.
/// Query blocks entirely above the causal diagonal of a key tile are skipped.
func attentionBackward(_ p: AttentionProblem, out: HeadMatrix, dOut: HeadMatrix,
                       lse: UnsafePointer<Float>, probs: UnsafePointer<Float>?,
                       dq: Tensor, dk: HeadMatrix, dv: HeadMatrix, blockQ: Int, tileK: Int,
                       kernels: UnsafePointer<heed_kernel_table> = CPUDispatch.kernels) {
    // D = rowsum(dO ⊙ O), [B, H, Nq].
    let dBuffer = Tensor(uninitializedShape: [p.batch * p.heads * p.nq])
    let dRows = dBuffer.base
    Parallel.forRanges(p.batch * p.heads, grain: Swift.max(1, elementwiseGrain / Swift.max(1, p.nq * p.dv))) { range in
        for bh in range {
            let b = bh / p.heads, h = bh % p.heads
            for i in 0..<p.nq { dRows[bh * p.nq + i] = dot(dOut.at(b, h, row: i), out.at(b, h, row: i), p.dv) }
        }
    }
    let kernelPath = probs == nil && p.backwardOnKernel
    let tile = kernelPath ? Int(HEED_ATTN_BWD_TK) : Swift.max(1, Swift.min(tileK, p.nk))
    let kTiles = (p.nk + tile - 1) / tile
    let units = p.batch * p.kvHeads
    let chunks = units >= Parallel.workerCount ? 1 : Swift.min(kTiles, (Parallel.workerCount + units - 1) / units)
    // dQ accumulates: chunk 0 into dq itself, other chunks into their own buffers.
    let extra = (1..<Swift.max(chunks, 1)).map { _ in
        let e = Tensor(uninitializedLike: dq)
        e.base.update(repeating: 0, count: e.count)
        return e
    }
    dq.base.update(repeating: 0, count: dq.count)
    let dqTargets = [dq.headMatrix] + extra.map(\.headMatrix)
    if kernelPath {
        attentionBackwardTiles(p, dOut: dOut, lse: lse, dRows: dRows, dq: dqTargets, dk: dk, dv: dv,
                               chunks: chunks, kernels: kernels)
    } else {
        attentionBackwardBLAS(p, dOut: dOut, lse: lse, dRows: dRows, probs: probs, dq: dqTargets, dk: dk, dv: dv,
                              chunks: chunks, blockQ: blockQ, tile: tile)
    }
    // Sum the other chunks' dQ into dq (same dense layout, so element-wise over storage).
    for e in extra { addInto(dq.base, e.base, dq.count) }
    withExtendedLifetime(dBuffer) {}
}

/// The backward on the dispatched C kernel (CHeedKernels' attention_backward.inc): one call
/// per (query head, query block) of a task, over the task's key tiles, so the block's Qᵀ and
/// dOᵀ are packed once; the task split is attentionBackward's.
private func attentionBackwardTiles(_ p: AttentionProblem, dOut: HeadMatrix, lse: UnsafePointer<Float>,
                                    dRows: UnsafePointer<Float>, dq: [HeadMatrix], dk: HeadMatrix, dv: HeadMatrix,
                                    chunks: Int, kernels: UnsafePointer<heed_kernel_table>) {
    let blockQ = Int(HEED_ATTN_QB)
    let run = kernels.pointee.attention_backward_block!
    Parallel.forRanges(p.batch * p.kvHeads * chunks, grain: 1) { range in
        let workspace = Tensor(uninitializedShape: [heed_attention_backward_workspace_floats(p.d, p.dv)])
        for task in range {
            let unit = task / chunks, chunk = task % chunks
            let b = unit / p.kvHeads, kvh = unit % p.kvHeads
            let dqTarget = dq[chunk]
            for h in (kvh * p.group)..<((kvh + 1) * p.group) {
                let bh = b * p.heads + h
                for i0 in stride(from: 0, to: p.nq, by: blockQ) {
                    let rows = Swift.min(blockQ, p.nq - i0)
                    var call = heed_attention_backward_block(
                        q: p.q.at(b, h, row: i0), ldq: p.q.sn, dout: dOut.at(b, h, row: i0), lddo: dOut.sn,
                        lse: lse + bh * p.nq + i0, drow: dRows + bh * p.nq + i0,
                        k: p.k.at(b, kvh), ldk: p.k.sn, v: p.v.at(b, kvh), ldv: p.v.sn,
                        dq: dqTarget.at(b, h, row: i0), lddq: dqTarget.sn,
                        dk: dk.at(b, kvh), lddk: dk.sn, dvv: dv.at(b, kvh), lddv: dv.sn,
                        rows: rows, keys: p.nk, d: p.d, dv: p.dv, first_tile: chunk, tile_step: chunks,
                        scale: p.scale, causal: p.causal ? 1 : 0, first_row: i0,
                        bias: p.bias.map { $0.row(b, h, i0) }, bias_sq: p.bias?.sq ?? 0, bias_sk: p.bias?.sk ?? 0,
                        workspace: workspace.base)
                    run(&call)
                }
            }
        }
        withExtendedLifetime(workspace) {}
    }
}

/// The backward on single-threaded `cblas_sgemm` calls: the materialised path (P read from the
/// saved weights), dropout, and head sizes the kernel does not take.
private func attentionBackwardBLAS(_ p: AttentionProblem, dOut: HeadMatrix, lse: UnsafePointer<Float>,
                                   dRows: UnsafePointer<Float>, probs: UnsafePointer<Float>?,
                                   dq: [HeadMatrix], dk: HeadMatrix, dv: HeadMatrix,
                                   chunks: Int, blockQ: Int, tile: Int) {
    BLASSetup.prepare()
    let kTiles = (p.nk + tile - 1) / tile
    let units = p.batch * p.kvHeads
    Parallel.forRanges(units * chunks, grain: 1) { range in
        let sBuf = Tensor(uninitializedShape: [blockQ, tile])   // S, then P
        let dpBuf = Tensor(uninitializedShape: [blockQ, tile])  // dP, then dS
        let dropBuf = p.dropout > 0 ? Tensor(uninitializedShape: [blockQ, tile]) : nil
        for task in range {
            let unit = task / chunks, chunk = task % chunks
            let b = unit / p.kvHeads, kvh = unit % p.kvHeads
            let dqTarget = dq[chunk]
            var t = chunk
            while t < kTiles {
                let j0 = t * tile, bc = Swift.min(tile, p.nk - j0)
                t += chunks
                let kTile = p.k.at(b, kvh, row: j0), vTile = p.v.at(b, kvh, row: j0)
                let dkTile = dk.at(b, kvh, row: j0), dvTile = dv.at(b, kvh, row: j0)
                for h in (kvh * p.group)..<((kvh + 1) * p.group) {
                    let bh = b * p.heads + h
                    // Causal: rows i < j0 see none of these keys.
                    var i0 = p.causal ? (j0 / blockQ) * blockQ : 0
                    while i0 < p.nq {
                        let rows = Swift.min(blockQ, p.nq - i0)
                        defer { i0 += rows }
                        let lseRow = lse + bh * p.nq + i0, dRow = dRows + bh * p.nq + i0
                        let qBlk = p.q.at(b, h, row: i0), doBlk = dOut.at(b, h, row: i0)
                        // P for this (query block, key tile).
                        let (pt, ldp): (UnsafeMutablePointer<Float>, Int)
                        if let probs {
                            pt = UnsafeMutablePointer(mutating: probs) + (bh * p.nq + i0) * p.nk + j0
                            ldp = p.nk
                        } else {
                            pt = sBuf.base; ldp = bc
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(bc), Int32(p.d),
                                        p.scale, qBlk, Int32(p.q.sn), kTile, Int32(p.k.sn), 0, pt, Int32(ldp))
                            for r in 0..<rows {
                                let row = pt + r * ldp
                                p.maskRow(row, bc, b: b, h: h, i: i0 + r, j0: j0)
                                if lseRow[r] == -.infinity { row.update(repeating: 0, count: bc) }
                                else { _ = expShiftedInPlace(row, bc, lseRow[r]) }
                            }
                        }
                        // dP = dO·Vᵀ
                        let dpt = dpBuf.base
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(bc), Int32(p.dv),
                                    1, doBlk, Int32(dOut.sn), vTile, Int32(p.v.sn), 0, dpt, Int32(bc))
                        var pd = pt, ldpd = ldp
                        if let dropBuf {
                            pd = dropBuf.base; ldpd = bc
                            for r in 0..<rows {
                                p.applyDropout(pt + r * ldp, pd + r * bc, bc, b: b, h: h, i: i0 + r, j0: j0)
                                p.applyDropout(dpt + r * bc, dpt + r * bc, bc, b: b, h: h, i: i0 + r, j0: j0)
                            }
                        }
                        // dV += P̃ᵀ·dO
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(bc), Int32(p.dv), Int32(rows),
                                    1, pd, Int32(ldpd), doBlk, Int32(dOut.sn), 1, dvTile, Int32(dv.sn))
                        // dS = P ⊙ (dP − D), in the dP buffer.
                        for r in 0..<rows { softmaxGradRow(pt + r * ldp, dpt + r * bc, bc, dRow[r]) }
                        // dK += scale·dSᵀ·Q ; dQ += scale·dS·K
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(bc), Int32(p.d), Int32(rows),
                                    p.scale, dpt, Int32(bc), qBlk, Int32(p.q.sn), 1, dkTile, Int32(dk.sn))
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(p.d), Int32(bc),
                                    p.scale, dpt, Int32(bc), kTile, Int32(p.k.sn), 1,
                                    dqTarget.at(b, h, row: i0), Int32(dqTarget.sn))
                    }
                }
            }
        }
        withExtendedLifetime((sBuf, dpBuf, dropBuf)) {}
    }
}

/// dst += src over n contiguous floats, on every core.
func addInto(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
    Parallel.forVectorRanges(n) { r in
        var i = r.lowerBound
        let end = r.upperBound
        while i + 16 <= end { store16(load16(dst + i) + load16(src + i), dst + i); i += 16 }
        while i < end { dst[i] += src[i]; i += 1 }
    }
}
