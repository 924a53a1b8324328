import CHeedKernels

/// Optimizer updates on the dispatched kernels (Sources/CHeedKernels): HeedNN's optimizers
/// call these on their parameters' storage.
public enum OptimizerKernels {
    /// One Adam/AdamW step's constants (see `adamUpdate`).
    public struct AdamCoefficients: Sendable {
        public var beta1, beta2, eps: Float
        /// lr / (1 − β1ᵗ)
        public var stepSize: Float
        /// √(1 − β2ᵗ)
        public var bias2Sqrt: Float
        /// Coupled (L2) weight decay, 0 for AdamW.
        public var l2: Float
        /// 1 − lr·λ for AdamW's decoupled decay, exactly 1 otherwise.
        public var decay: Float

        public init(beta1: Float, beta2: Float, eps: Float, stepSize: Float, bias2Sqrt: Float, l2: Float, decay: Float) {
            (self.beta1, self.beta2, self.eps, self.stepSize, self.bias2Sqrt, self.l2, self.decay)
                = (beta1, beta2, eps, stepSize, bias2Sqrt, l2, decay)
        }

        var c: heed_adam_coefficients {
            heed_adam_coefficients(beta1: beta1, beta2: beta2, eps: eps, step_size: stepSize, bias2_sqrt: bias2Sqrt,
                                   l2: l2, decay: decay)
        }
    }

    /// p, g, m, v: [n]. m ← β1·m + (1−β1)·g', v ← β2·v + (1−β2)·g'², p ← p·decay −
    /// stepSize·m/(√v/bias2Sqrt + eps), with g' = g + l2·p·decay — `Reference.adamUpdate` bit for
    /// bit at every CPU level, subnormals flushed to zero (see the kernel). Split over the cores
    /// once a parameter is large: a √ and two ÷ per element make it ~0.7 ns/element on one
    /// AVX-512 core, whether the 28 bytes it moves per element come from L2 or DRAM.
    public static func adamUpdate(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                                  _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                                  count n: Int, _ k: AdamCoefficients) {
        adamUpdate(p, g, m, v, count: n, k, kernels: CPUDispatch.kernels)
    }

    static func adamUpdate(_ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                           _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                           count n: Int, _ k: AdamCoefficients, kernels: UnsafePointer<heed_kernel_table>) {
        var c = k.c
        let run = kernels.pointee.adam_update!
        withUnsafePointer(to: &c) { cp in
            Parallel.forVectorRanges(n) { r in
                let lo = r.lowerBound
                run(p + lo, g + lo, m + lo, v + lo, r.count, cp)
            }
        }
    }
}
