/// Unary math. Forward kernels are SIMD (VectorMath.swift); each backward is beside its forward
/// and reuses the saved output where that is cheaper than recomputing (exp, tanh, sigmoid, sqrt).
#if canImport(Glibc)
import Glibc
#endif

/// Negation and |x| flip / clear the sign bit. Not `-x` and `x < 0 ? -x : x`: the standard
/// library's SIMD prefix minus is `0 - x`, which maps +0 to +0 (IEEE negation gives −0), and
/// −0 < 0 is false, which left abs(−0) = −0. Integer bit operations vectorise at baseline.
struct NegF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) ^ 0x8000_0000, to: SIMD16<Float>.self)
    }
}
struct ExpF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { vexp(x) }
    var kernel: UnaryKernel? { CPUDispatch.kernels.pointee.exp }
}
struct TanhF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { vtanh(x) }
    var kernel: UnaryKernel? { CPUDispatch.kernels.pointee.tanh }
}
struct SigmoidF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { vsigmoid(x) }
    var kernel: UnaryKernel? { CPUDispatch.kernels.pointee.sigmoid }
}
struct SqrtF: UnaryFunction { @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { vsqrt(x) } }
struct RsqrtF: UnaryFunction { @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { 1 / vsqrt(x) } }
struct AbsF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
    }
}
struct SignF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16<Float>().replacing(with: 1, where: x .> 0).replacing(with: -1, where: x .< 0)
    }
}
struct ReluF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { x.replacing(with: 0, where: x .< 0) }
}
struct StepF: UnaryFunction {   // 1 where x > 0: relu's derivative
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> { SIMD16<Float>().replacing(with: 1, where: x .> 0) }
}
/// Logs have no vector polynomial here yet: glibc per lane (≈3 ns/element, correctly rounded).
struct LogF: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        var r = SIMD16<Float>(); for i in 0..<16 { r[i] = logf(x[i]) }; return r
    }
}
/// GELU, exact form: x·Φ(x) = x/2·erfc(−x/√2).
/// Not x/2·(1 + erf(x/√2)): for x < −3 erf is ≈ −1 and the sum cancels (x = −5 kept one
/// significant digit, x < −5.5 gave 0), while erfc of a positive argument keeps full precision.
struct GeluErfF: UnaryFunction {
    var kernel: UnaryKernel? { CPUDispatch.kernels.pointee.gelu_erf }
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        0.5 * x * verfc(x * -0.70710678118654752)
    }
}
/// d/dx GELU(x) = Φ(x) + x·φ(x), with Φ(x) = erfc(−x/√2)/2 for the same reason as the forward:
/// 1 + erf(x/√2) would cancel in the left tail, where both terms are tiny.
struct GeluErfGradF: UnaryFunction {
    var kernel: UnaryKernel? { CPUDispatch.kernels.pointee.gelu_erf_grad }
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let pdf = vexp(-0.5 * x * x) * 0.3989422804014327
        return 0.5 * verfc(x * -0.70710678118654752) + x * pdf
    }
}
/// GELU, tanh form (GPT-2, BERT-original): x/2·(1 + tanh(√(2/π)(x + 0.044715x³))),
/// evaluated as x·σ(2u) (the same function: (1 + tanh u)/2 = σ(2u)) because 1 + tanh(u)
/// cancels for u ≪ 0 (x = −5 kept no correct digit, x < −5.3 gave 0); σ(2u) = 1/(1 + e^{−2u})
/// has no subtraction.
struct GeluTanhF: UnaryFunction {
    var kernel: UnaryKernel? { CPUDispatch.kernels.pointee.gelu_tanh }
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        return x * vsigmoid(u + u)
    }
}
struct GeluTanhGradF: UnaryFunction {
    var kernel: UnaryKernel? { CPUDispatch.kernels.pointee.gelu_tanh_grad }
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        let t = vtanh(u)
        let du = 0.7978845608028654 * (1 + 3 * 0.044715 * x * x)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    }
}

/// Which formula `gelu` uses, as in PyTorch's `approximate=` argument.
public enum GeluApproximation: Sendable { case none, tanh }

extension Tensor {
    public func negated() -> Tensor {
        mapUnary(self, NegF()).recorded("neg", [self]) { g in [-g] }
    }

    public func exp() -> Tensor {
        let out = mapUnary(self, ExpF())
        return out.recorded("exp", [self]) { g in [g * out] }
    }

    public func log() -> Tensor {
        let x = self
        return mapUnary(x, LogF()).recorded("log", [x]) { g in [g / x] }
    }

    public func sqrt() -> Tensor {
        let out = mapUnary(self, SqrtF())
        return out.recorded("sqrt", [self]) { g in [g / (2 * out)] }
    }

    /// 1/√x. d/dx = −½·x^(−3/2) = −½·out³.
    public func rsqrt() -> Tensor {
        let out = mapUnary(self, RsqrtF())
        return out.recorded("rsqrt", [self]) { g in [g * -0.5 * out * out * out] }
    }

    public func tanh() -> Tensor {
        let out = mapUnary(self, TanhF())
        return out.recorded("tanh", [self]) { g in [g * (1 - out * out)] }
    }

    public func sigmoid() -> Tensor {
        let out = mapUnary(self, SigmoidF())
        return out.recorded("sigmoid", [self]) { g in [g * out * (1 - out)] }
    }

    /// max(x, 0); the gradient at exactly 0 is 0, as in PyTorch.
    public func relu() -> Tensor {
        let x = self
        return mapUnary(x, ReluF()).recorded("relu", [x]) { g in [g * mapUnary(x, StepF())] }
    }

    public func gelu(approximate: GeluApproximation = .none) -> Tensor {
        let x = self
        switch approximate {
        case .none:
            return mapUnary(x, GeluErfF()).recorded("gelu", [x]) { g in [g * mapUnary(x, GeluErfGradF())] }
        case .tanh:
            return mapUnary(x, GeluTanhF()).recorded("gelu_tanh", [x]) { g in [g * mapUnary(x, GeluTanhGradF())] }
        }
    }

    /// |x|; the gradient at 0 is 0 (sign(0) = 0), as in PyTorch.
    public func abs() -> Tensor {
        let x = self
        return mapUnary(x, AbsF()).recorded("abs", [x]) { g in [g * mapUnary(x, SignF())] }
    }

    public func square() -> Tensor { pow(2) }
}
