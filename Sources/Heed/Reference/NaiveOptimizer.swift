#if canImport(Glibc)
import Glibc
#endif

extension Reference {
    /// One Adam/AdamW step, one element at a time: the scalar reference the dispatched
    /// `OptimizerKernels.adamUpdate` matches bit for bit (same operations, same order, no FMA;
    /// √ and ÷ are correctly rounded at every width). The kernel runs with subnormals flushed
    /// to zero (FTZ and DAZ), so every input and every result here goes through `flush`.
    public static func adamUpdate(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float],
                                  _ k: OptimizerKernels.AdamCoefficients) {
        let a1 = 1 - k.beta1, b2 = k.beta2, a2 = 1 - k.beta2
        let f = flushSubnormal
        for j in p.indices {
            let pj = f(f(p[j]) * k.decay)
            var gj = f(g[j])
            if k.l2 != 0 { gj = f(gj + f(k.l2 * pj)) }
            let m0 = f(m[j])
            let mj = f(m0 + f(a1 * f(gj - m0)))
            let vj = f(f(b2 * f(v[j])) + f(f(a2 * gj) * gj))
            m[j] = mj
            v[j] = vj
            p[j] = f(pj - f(k.stepSize * f(mj / f(f(sqrtf(vj)) / k.bias2Sqrt + k.eps))))
        }
    }

    /// What x86's FTZ/DAZ (and AArch64's FZ) make of a value: a subnormal becomes a zero of the
    /// same sign. (Hardware flushes a result that is tiny before rounding; this flushes one
    /// that is subnormal after it. They differ only for results that round up to exactly
    /// ±FLT_MIN.)
    public static func flushSubnormal(_ x: Float) -> Float {
        x.isSubnormal ? (x.sign == .minus ? -0.0 : 0.0) : x
    }
}
