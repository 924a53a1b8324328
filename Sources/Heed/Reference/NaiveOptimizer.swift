#if canImport(Glibc)
import Glibc
#endif

extension Reference {
    /// One Adam/AdamW step, one element at a time: the scalar reference the dispatched
    /// `OptimizerKernels.adamUpdate` matches bit for bit (same operations, same order, no FMA;
    /// √ and ÷ are correctly rounded at every width).
    public static func adamUpdate(_ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float],
                                  _ k: OptimizerKernels.AdamCoefficients) {
        let a1 = 1 - k.beta1, b2 = k.beta2, a2 = 1 - k.beta2
        for j in p.indices {
            let pj = p[j] * k.decay
            var gj = g[j]
            if k.l2 != 0 { gj += k.l2 * pj }
            let mj = m[j] + a1 * (gj - m[j])
            let vj = b2 * v[j] + a2 * gj * gj
            m[j] = mj
            v[j] = vj
            p[j] = pj - k.stepSize * (mj / (sqrtf(vj) / k.bias2Sqrt + k.eps))
        }
    }
}
