import CHeedKernels

/// Dense layers on int8 and bf16 weights: x [..., in] · Wᵀ + b → [..., out] as `linear(weight:bias:)`
/// does for a Float32 W, on the dispatched products of Sources/CHeedKernels/quant_gemm.inc.
///
/// The int8 layer quantizes x per row on every call (u8 with a zero point, onnxruntime's dynamic
/// quantization) and sums in int32; the bf16 layer rounds x to bf16 and sums in Float32. A
/// gradient reaches x (through the dequantized weight, as for a frozen layer); the weight and
/// bias are constants of the graph.
extension Tensor {
    public func linear(weight: Int8Weight, bias: Tensor? = nil) -> Tensor {
        let (m, k, n, x) = quantizedLinearOperands("linear(int8)", weight.outFeatures, weight.inFeatures, bias)
        let out = Tensor(uninitializedShape: [m, n])
        let groups = (k + 3) / 4, ldq = groups * 4
        var xq = [UInt8](repeating: 0, count: m * ldq)
        var xscale = [Float](repeating: 0, count: m), xzero = [Int32](repeating: 0, count: m)
        let paddedBias = bias.map { paddedToPanels($0, n) }
        let kernels = CPUDispatch.kernels.pointee
        let (quantize, product) = (kernels.quantize_rows_u8!, kernels.gemm_u8s8!)
        xq.withUnsafeMutableBufferPointer { q in
            xscale.withUnsafeMutableBufferPointer { s in
                xzero.withUnsafeMutableBufferPointer { z in
                    let (qp, sp, zp) = (UncheckedSendable(q.baseAddress!), UncheckedSendable(s.baseAddress!),
                                        UncheckedSendable(z.baseAddress!))
                    let src = UncheckedSendable(UnsafePointer(x.base))
                    optionalPointer(weight.inputReciprocals) { r in
                        let mult = UncheckedSendable(r)
                        Parallel.forRanges(m, grain: Swift.max(1, elementwiseGrain / Swift.max(k, 1))) { rows in
                            quantize(src.value + rows.lowerBound * k, k, rows.count, k, mult.value, qp.value + rows.lowerBound * ldq,
                                     ldq, sp.value + rows.lowerBound, zp.value + rows.lowerBound)
                        }
                    }
                }
            }
        }
        withExtendedLifetime(x) {}
        xq.withUnsafeBufferPointer { q in xscale.withUnsafeBufferPointer { s in xzero.withUnsafeBufferPointer { z in
            weight.packed.withUnsafeBufferPointer { w in weight.paddedSums.withUnsafeBufferPointer { ws in
                weight.paddedScales.withUnsafeBufferPointer { wt in optionalPointer(paddedBias) { b in
                    let g = heed_int8_gemm(xq: q.baseAddress, ldq: ldq, xscale: s.baseAddress, xzero: z.baseAddress,
                                           m: m, groups: groups, w: w.baseAddress, wsum: ws.baseAddress,
                                           wscale: wt.baseAddress, bias: b, n: n, y: out.base, ldy: n)
                    runQuantizedProduct(g, m: m, n: n, k: k) { g, r0, r1, p0, p1 in
                        var t = g
                        t.xq += r0 * ldq; t.xscale += r0; t.xzero += r0; t.m = r1 - r0
                        t.w += p0 * groups * 64; t.wsum += p0 * 16; t.wscale += p0 * 16
                        if t.bias != nil { t.bias! += p0 * 16 }
                        t.n = Swift.min(n, p1 * 16) - p0 * 16; t.y += r0 * n + p0 * 16
                        withUnsafePointer(to: t) { product($0) }
                    }
                } }
            } }
        } } }
        return quantizedLinearResult(out, x, weight.dequantized, "linear(int8)")
    }

    public func linear(weight: BF16Weight, bias: Tensor? = nil) -> Tensor {
        let (m, k, n, x) = quantizedLinearOperands("linear(bf16)", weight.outFeatures, weight.inFeatures, bias)
        let out = Tensor(uninitializedShape: [m, n])
        let groups = (k + 1) / 2, ldb = groups * 2
        var xb = [UInt16](repeating: 0, count: m * ldb)
        let paddedBias = bias.map { paddedToPanels($0, n) }
        let kernels = CPUDispatch.kernels.pointee
        let (convert, product) = (kernels.convert_rows_bf16!, kernels.gemm_bf16!)
        xb.withUnsafeMutableBufferPointer { b in
            let (bp, src) = (UncheckedSendable(b.baseAddress!), UncheckedSendable(UnsafePointer(x.base)))
            Parallel.forRanges(m, grain: Swift.max(1, elementwiseGrain / Swift.max(k, 1))) { rows in
                convert(src.value + rows.lowerBound * k, k, rows.count, k, bp.value + rows.lowerBound * ldb, ldb)
            }
        }
        withExtendedLifetime(x) {}
        xb.withUnsafeBufferPointer { xp in weight.packed.withUnsafeBufferPointer { w in optionalPointer(paddedBias) { b in
            let g = heed_bf16_gemm(xb: xp.baseAddress, ldb: ldb, m: m, groups: groups, w: w.baseAddress,
                                   bias: b, n: n, y: out.base, ldy: n)
            runQuantizedProduct(g, m: m, n: n, k: k) { g, r0, r1, p0, p1 in
                var t = g
                t.xb += r0 * ldb; t.m = r1 - r0
                t.w += p0 * groups * 32
                if t.bias != nil { t.bias! += p0 * 16 }
                t.n = Swift.min(n, p1 * 16) - p0 * 16; t.y += r0 * n + p0 * 16
                withUnsafePointer(to: t) { product($0) }
            }
        } } }
        return quantizedLinearResult(out, x, weight.dequantized, "linear(bf16)")
    }

    public func linear(weight: QuantizedWeight, bias: Tensor? = nil) -> Tensor {
        switch weight {
        case .int8(let w): linear(weight: w, bias: bias)
        case .bf16(let w): linear(weight: w, bias: bias)
        }
    }

    /// Checks the shapes and returns m, k, n and x as contiguous [m, k].
    private func quantizedLinearOperands(_ op: String, _ n: Int, _ k: Int, _ bias: Tensor?) -> (Int, Int, Int, Tensor) {
        check(rank >= 1 && shape[rank - 1] == k && (bias == nil || bias!.shape == [n]),
              "\(op): input \(shape), weight [\(n), \(k)] and bias \(bias?.shape ?? []) are not [..., in], [out, in] and [out]")
        let x = (rank == 2 ? self : reshaped([-1, k])).contiguous()
        return (x.shape[0], k, n, x)
    }

    private func quantizedLinearResult(_ out: Tensor, _ x: Tensor, _ weight: () -> Tensor, _ op: String) -> Tensor {
        let w = x.requiresGrad ? weight() : nil
        let y = out.recorded(op, [x]) { g in [g.matmul(w!)] }
        return rank == 2 ? y : y.reshaped(Array(shape.dropLast()) + [out.shape[1]])
    }
}

/// The bias copied into a buffer of whole 16-column panels (the kernels load it 16 at a time).
private func paddedToPanels(_ bias: Tensor, _ n: Int) -> [Float] {
    var b = bias.scalars
    b.append(contentsOf: repeatElement(0, count: (n + 15) / 16 * 16 - n))
    return b
}

private func optionalPointer<R>(_ a: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let a else { return body(nil) }
    return a.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// Splits a quantized product over the cores: output panels in groups of four (the widest
/// register tile), and row blocks when there are more rows than a tile's worth per core.
/// `part(g, r0, r1, p0, p1)` runs rows r0..<r1 of panels p0..<p1.
private func runQuantizedProduct<G>(_ g: G, m: Int, n: Int, k: Int,
                                    _ part: (G, Int, Int, Int, Int) -> Void) {
    guard m > 0 && n > 0 else { return }
    let panels = (n + 15) / 16, quads = (panels + 3) / 4
    let workers = 2 * m * n * k < gemmParallelFlops ? 1 : Parallel.workerCount
    let colParts = Swift.min(quads, workers)
    let rowParts = Swift.max(1, Swift.min((m + 47) / 48, 4 * workers / colParts))
    let shared = UncheckedSendable(g)
    Parallel.forRanges(colParts * rowParts, grain: 1) { tasks in
        for task in tasks {
            let (c, r) = (task % colParts, task / colParts)
            let (q0, q1) = (c * quads / colParts, (c + 1) * quads / colParts)
            let (p0, p1) = (q0 * 4, Swift.min(panels, q1 * 4))
            let (r0, r1) = (r * m / rowParts, (r + 1) * m / rowParts)
            if r1 > r0 && p1 > p0 { part(shared.value, r0, r1, p0, p1) }
        }
    }
}
