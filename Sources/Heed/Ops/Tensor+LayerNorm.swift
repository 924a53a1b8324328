import CHeedKernels

/// Layer normalisation over the last axis, fused forward and backward (llm.c's
/// `layernorm_forward` / `layernorm_backward`).
///
///     μ = mean(x)   σ² = mean((x − μ)²)   rstd = 1/√(σ² + ε)
///     x̂ = (x − μ)·rstd   y = x̂·w + b
///
/// Hand-written because composing it (mean, subtract, variance, add, rsqrt, multiply, multiply,
/// add) costs about a dozen passes and reductions, keeps their temporaries alive for the
/// backward, and roughly doubles that again backward. Here the forward reads each row three times
/// while it sits in L1 and saves only the per-row mean and rstd; the backward recomputes x̂ from
/// them. Measured on [544, 64] (release, 2 cores): forward 26 µs fused vs 62 µs composed,
/// forward + backward 65 µs vs 183 µs.
extension Tensor {
    /// Normalises each row along the last axis; `weight` and `bias` ([C], optional) scale and
    /// shift the result. The variance is the population one (divide by C), as in PyTorch.
    /// Differentiable in the input, the weight and the bias.
    public func layerNorm(weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        check(rank >= 1 && shape[rank - 1] > 0,
              "layerNorm: input of shape \(shape) has no last axis to normalise")
        let c = shape[rank - 1], rows = count / c
        check(weight == nil || weight!.shape == [c],
              "layerNorm: weight of shape \(weight!.shape) for input \(shape) (expected [\(c)])")
        check(bias == nil || bias!.shape == [c],
              "layerNorm: bias of shape \(bias!.shape) for input \(shape) (expected [\(c)])")
        check(eps >= 0, "layerNorm: eps \(eps) is negative")
        let x = self
        let inp = x.detach().contiguous()                      // (R, C)
        let w = weight.map { $0.detach().contiguous() }        // (C)
        let b = bias.map { $0.detach().contiguous() }          // (C)
        let out = Tensor(uninitializedShape: shape)            // (R, C)
        let mean = Tensor(uninitializedShape: [rows])          // (R)
        let rstd = Tensor(uninitializedShape: [rows])          // (R)
        layerNormForward(out.base, mean.base, rstd.base, inp.base, w?.base, b?.base, rows: rows, c: c, eps: eps)
        withExtendedLifetime((w, b)) {}

        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return out.recorded("layerNorm", inputs) { g in
            let dout = g.contiguous()                                                  // (R, C)
            let dinp = x.requiresGrad ? Tensor(uninitializedShape: x.shape) : nil      // (R, C)
            let dweight = weight?.requiresGrad == true ? Tensor.zeros([c]) : nil       // (C)
            let dbias = bias?.requiresGrad == true ? Tensor.zeros([c]) : nil           // (C)
            let wb = w ?? Tensor.ones([c])                                             // (C)
            layerNormBackward(dinp?.base, dweight?.base, dbias?.base, dout.base, inp.base, wb.base,
                              mean.base, rstd.base, rows: rows, c: c)
            withExtendedLifetime((dout, inp, wb, mean, rstd)) {}
            var grads: [Tensor?] = [dinp]
            if weight != nil { grads.append(dweight) }
            if bias != nil { grads.append(dbias) }
            return grads
        }
    }
}

/// Rows per task: a few thousand elements, so that short rows (C = 64) still make tasks worth a
/// thread hop while both cores get work from a few hundred rows on.
private func layerNormGrain(_ c: Int) -> Int { Swift.max(1, elementwiseGrain / 8 / c) }

/// Σ of the 16 lanes by halving (16 → 8 → 4 lanes in vector adds, then 4 scalars). Not `.sum()`,
/// slow at the baseline (PERF-NOTES), nor a 16-step scalar loop: with rows of 64 that serial
/// chain of shuffles and adds, twice per row, was measured at 60 % of the forward's time.
@inline(__always)
private func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let v8 = v.lowHalf + v.highHalf
    let v4 = v8.lowHalf + v8.highHalf
    return (v4[0] + v4[1]) + (v4[2] + v4[3])
}

/// out = (inp − mean)·rstd·weight + bias per row; saves mean and rstd for the backward.
/// weight nil = ones, bias nil = zeros. On the dispatched kernel (layer_norm.inc), the twin of
/// `layerNormForwardRows`.
func layerNormForward(_ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                      _ rstd: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                      _ weight: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>?,
                      rows: Int, c: Int, eps: Float, kernels: UnsafePointer<heed_kernel_table> = CPUDispatch.kernels) {
    let run = kernels.pointee.layer_norm_forward!
    Parallel.forRanges(rows, grain: layerNormGrain(c)) { range in
        let r0 = range.lowerBound
        run(out + r0 * c, mean + r0, rstd + r0, inp + r0 * c, weight, bias, range.count, c, eps)
    }
}

/// `layerNormForward` of the rows `range` in Swift: the C kernel's twin, which the tests hold
/// it to bit for bit. Two-pass variance: Σ(x − μ)² instead of Σx² − Cμ², which would cancel
/// catastrophically for rows with a large common offset.
func layerNormForwardRows(_ range: Range<Int>, _ out: UnsafeMutablePointer<Float>, _ mean: UnsafeMutablePointer<Float>,
                          _ rstd: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                          _ weight: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>?, c: Int, eps: Float) {
    let invC = 1 / Float(c)
    for r in range {
        let x = inp + r * c, o = out + r * c
        // mean, summed relative to x[0]: a common offset (all x ≈ 1000) would otherwise
        // cost the sum its low bits, and the mean every digit below the sum's ulp/C.
        let x0 = x[0], v0 = SIMD16<Float>(repeating: x0)
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= c { acc += load16(x + i) - v0; i += 16 }
        var s = horizontalSum(acc)
        while i < c { s += x[i] - x0; i += 1 }
        let m = x0 + s * invC
        // variance
        let vm = SIMD16<Float>(repeating: m)
        acc = SIMD16<Float>()
        i = 0
        while i + 16 <= c { let d = load16(x + i) - vm; acc += d * d; i += 16 }
        var v = horizontalSum(acc)
        while i < c { let d = x[i] - m; v += d * d; i += 1 }
        let rs = 1 / (v * invC + eps).squareRoot()
        mean[r] = m
        rstd[r] = rs
        // normalise, scale, shift
        let vrs = SIMD16<Float>(repeating: rs)
        i = 0
        switch (weight, bias) {
        case let (w?, b?):
            while i + 16 <= c { store16((load16(x + i) - vm) * vrs * load16(w + i) + load16(b + i), o + i); i += 16 }
            while i < c { o[i] = (x[i] - m) * rs * w[i] + b[i]; i += 1 }
        case let (w?, nil):
            while i + 16 <= c { store16((load16(x + i) - vm) * vrs * load16(w + i), o + i); i += 16 }
            while i < c { o[i] = (x[i] - m) * rs * w[i]; i += 1 }
        case let (nil, b?):
            while i + 16 <= c { store16((load16(x + i) - vm) * vrs + load16(b + i), o + i); i += 16 }
            while i < c { o[i] = (x[i] - m) * rs + b[i]; i += 1 }
        case (nil, nil):
            while i + 16 <= c { store16((load16(x + i) - vm) * vrs, o + i); i += 16 }
            while i < c { o[i] = (x[i] - m) * rs; i += 1 }
        }
    }
}

/// The layer-norm backward, per row (x̂ recomputed from the saved mean and rstd, dx̂ = dout·w):
///
///     dinp = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))     dweight = Σ_rows dout·x̂     dbias = Σ_rows dout
///
/// Any of dinp, dweight, dbias may be nil (not needed); `weight` is ones when the layer has none. Rows are split into at most one chunk
/// per core; each chunk sums dweight and dbias into its own buffer, and the buffers are added
/// in chunk order afterwards, so the result does not depend on thread timing. dweight and
/// dbias must arrive zeroed.
func layerNormBackward(_ dinp: UnsafeMutablePointer<Float>?, _ dweight: UnsafeMutablePointer<Float>?,
                       _ dbias: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>,
                       _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                       _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, rows: Int, c: Int,
                       kernels: UnsafePointer<heed_kernel_table> = CPUDispatch.kernels) {
    let chunks = Swift.max(1, Swift.min(Parallel.workerCount, rows / layerNormGrain(c)))
    let needParams = dweight != nil || dbias != nil
    // (chunks, 2, C): per-chunk dweight and dbias partial sums; chunk 0 writes straight to the outputs.
    let partials = chunks > 1 && needParams ? UnsafeMutablePointer<Float>.allocate(capacity: (chunks - 1) * 2 * c) : nil
    partials?.initialize(repeating: 0, count: (chunks - 1) * 2 * c)
    defer { partials?.deallocate() }
    let run = kernels.pointee.layer_norm_backward!
    Parallel.forRanges(chunks, grain: 1) { chunkRange in
        for chunk in chunkRange {
            let dw = chunk == 0 ? dweight : dweight.map { _ in partials! + (chunk - 1) * 2 * c }
            let db = chunk == 0 ? dbias : dbias.map { _ in partials! + (chunk - 1) * 2 * c + c }
            let r0 = chunk * rows / chunks, r1 = (chunk + 1) * rows / chunks
            run(dinp.map { $0 + r0 * c }, dw, db, dout + r0 * c, inp + r0 * c, weight, mean + r0, rstd + r0, r1 - r0, c)
        }
    }
    if let partials {
        for chunk in 1..<chunks {
            let p = partials + (chunk - 1) * 2 * c
            if let dweight { for i in 0..<c { dweight[i] += p[i] } }
            if let dbias { for i in 0..<c { dbias[i] += p[c + i] } }
        }
    }
}

/// `layerNormBackward` of the rows `range` in Swift, accumulating into dweight and dbias: the C
/// kernel's twin.
func layerNormBackwardRows(_ range: Range<Int>, _ dinp: UnsafeMutablePointer<Float>?, _ dw: UnsafeMutablePointer<Float>?,
                           _ db: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>,
                           _ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                           _ mean: UnsafePointer<Float>, _ rstd: UnsafePointer<Float>, c: Int) {
    let invC = 1 / Float(c)
    for r in range {
        let x = inp + r * c, g = dout + r * c
        let m = mean[r], rs = rstd[r]
        let vm = SIMD16<Float>(repeating: m), vrs = SIMD16<Float>(repeating: rs)
        // mean(dx̂) and mean(dx̂·x̂)
        var accA = SIMD16<Float>(), accB = SIMD16<Float>()
        var i = 0
        while i + 16 <= c {
            let xhat = (load16(x + i) - vm) * vrs
            let dxhat = load16(g + i) * load16(weight + i)
            accA += dxhat
            accB += dxhat * xhat
            i += 16
        }
        var sumA = horizontalSum(accA), sumB = horizontalSum(accB)
        while i < c {
            let xhat = (x[i] - m) * rs
            let dxhat = g[i] * weight[i]
            sumA += dxhat
            sumB += dxhat * xhat
            i += 1
        }
        let meanA = SIMD16<Float>(repeating: sumA * invC), meanB = SIMD16<Float>(repeating: sumB * invC)
        if let d = dinp.map({ $0 + r * c }) {
            i = 0
            while i + 16 <= c {
                let xhat = (load16(x + i) - vm) * vrs
                let dxhat = load16(g + i) * load16(weight + i)
                store16((dxhat - meanA - xhat * meanB) * vrs, d + i)
                i += 16
            }
            while i < c {
                let xhat = (x[i] - m) * rs
                let dxhat = g[i] * weight[i]
                d[i] = (dxhat - meanA[0] - xhat * meanB[0]) * rs
                i += 1
            }
        }
        if let dw {
            i = 0
            while i + 16 <= c { store16(load16(dw + i) + load16(g + i) * (load16(x + i) - vm) * vrs, dw + i); i += 16 }
            while i < c { dw[i] += g[i] * (x[i] - m) * rs; i += 1 }
        }
        if let db {
            i = 0
            while i + 16 <= c { store16(load16(db + i) + load16(g + i), db + i); i += 16 }
            while i < c { db[i] += g[i]; i += 1 }
        }
    }
}
