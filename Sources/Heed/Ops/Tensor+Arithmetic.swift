/// Binary arithmetic with NumPy broadcasting, and the operators. Each op's backward sits beside
/// its forward; `reduceGradient` sums broadcast gradients back to each operand's shape.

struct AddF: BinaryFunction { @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a + b } }
struct SubF: BinaryFunction { @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a - b } }
struct MulF: BinaryFunction { @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a * b } }
struct DivF: BinaryFunction { @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a / b } }
/// maximum/minimum propagate a NaN from either side, as torch.maximum and Heed's max/min
/// reductions do (`b .> a` alone returned a NaN in `a` but dropped one in `b`).
struct MaxF: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: (b .> a) .| (b .!= b))   // not pointwiseMax: that is scalar at baseline
    }
}
struct MinF: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: (b .< a) .| (b .!= b))
    }
}
struct PowF: BinaryFunction {
    @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        var r = SIMD16<Float>()
        for i in 0..<16 { r[i] = powf(a[i], b[i]) }
        return r
    }
}

extension Tensor {
    public func adding(_ other: Tensor) -> Tensor {
        let (a, b) = (self, other)
        return mapBinary(a, b, AddF(), op: "add").recorded("add", [a, b]) { g in
            [reduceGradient(g, to: a.shape), reduceGradient(g, to: b.shape)]
        }
    }

    public func subtracting(_ other: Tensor) -> Tensor {
        let (a, b) = (self, other)
        return mapBinary(a, b, SubF(), op: "sub").recorded("sub", [a, b]) { g in
            [reduceGradient(g, to: a.shape), b.requiresGrad ? reduceGradient(-g, to: b.shape) : nil]
        }
    }

    public func multiplying(_ other: Tensor) -> Tensor {
        let (a, b) = (self, other)
        return mapBinary(a, b, MulF(), op: "mul").recorded("mul", [a, b]) { g in
            [a.requiresGrad ? reduceGradient(g * b, to: a.shape) : nil,
             b.requiresGrad ? reduceGradient(g * a, to: b.shape) : nil]
        }
    }

    public func dividing(by other: Tensor) -> Tensor {
        let (a, b) = (self, other)
        let out = mapBinary(a, b, DivF(), op: "div")
        return out.recorded("div", [a, b]) { g in
            let ga = g / b
            return [a.requiresGrad ? reduceGradient(ga, to: a.shape) : nil,
                    b.requiresGrad ? reduceGradient(-ga * out, to: b.shape) : nil]
        }
    }

    /// Element-wise `self ** exponent` (broadcast). d/da = b·a^(b−1), d/db = a^b·ln a.
    /// At a zero base these give NaN (0·inf) or −inf (1·ln 0); as in PyTorch, d/da is 0 where
    /// b = 0 and d/db is 0 where a = 0 and b ≥ 0, so a zero base does not poison a step with NaN.
    public func pow(_ exponent: Tensor) -> Tensor {
        let (a, b) = (self, exponent)
        let out = mapBinary(a, b, PowF(), op: "pow")
        return out.recorded("pow", [a, b]) { g in
            let zero = Tensor.scalar(0)
            return [a.requiresGrad ? reduceGradient(Tensor.where(b .== 0, zero, g * b * a.pow(b - 1)), to: a.shape) : nil,
                    b.requiresGrad ? reduceGradient(Tensor.where((a .== 0) * (b .>= 0), zero, g * out * a.log()), to: b.shape) : nil]
        }
    }

    /// Element-wise maximum; the gradient goes to `self` where it is ≥ the other (ties to self).
    public func maximum(_ other: Tensor) -> Tensor {
        let (a, b) = (self, other)
        return mapBinary(a, b, MaxF(), op: "maximum").recorded("maximum", [a, b]) { g in
            let pick = a .>= b
            return [a.requiresGrad ? reduceGradient(g * pick, to: a.shape) : nil,
                    b.requiresGrad ? reduceGradient(g * (1 - pick), to: b.shape) : nil]
        }
    }

    /// Element-wise minimum; the gradient goes to `self` where it is ≤ the other.
    public func minimum(_ other: Tensor) -> Tensor {
        let (a, b) = (self, other)
        return mapBinary(a, b, MinF(), op: "minimum").recorded("minimum", [a, b]) { g in
            let pick = a .<= b
            return [a.requiresGrad ? reduceGradient(g * pick, to: a.shape) : nil,
                    b.requiresGrad ? reduceGradient(g * (1 - pick), to: b.shape) : nil]
        }
    }

    public func pow(_ exponent: Float) -> Tensor {
        let a = self
        let out = mapUnary(a, PowScalarF(p: exponent))
        // d/dx x⁰ = 0 everywhere; the general rule would give 0·0⁻¹ = NaN at x = 0 (PyTorch: 0).
        return out.recorded("pow", [a]) { g in
            [exponent == 0 ? Tensor.zeros(like: g) : g * exponent * a.pow(exponent - 1)]
        }
    }

    public func maximum(_ value: Float) -> Tensor { maximum(.scalar(value)) }
    public func minimum(_ value: Float) -> Tensor { minimum(.scalar(value)) }
    /// Clamps into [low, high].
    public func clamped(min low: Float, max high: Float) -> Tensor { maximum(low).minimum(high) }
}

struct PowScalarF: UnaryFunction {
    let p: Float
    @inline(__always) func callAsFunction(_ x: SIMD16<Float>) -> SIMD16<Float> {
        if p == 2 { return x * x }
        if p == 1 { return x }
        if p == 0.5 { return vsqrt(x) }
        var r = SIMD16<Float>()
        for i in 0..<16 { r[i] = powf(x[i], p) }
        return r
    }
}

public func + (a: Tensor, b: Tensor) -> Tensor { a.adding(b) }
public func - (a: Tensor, b: Tensor) -> Tensor { a.subtracting(b) }
public func * (a: Tensor, b: Tensor) -> Tensor { a.multiplying(b) }
public func / (a: Tensor, b: Tensor) -> Tensor { a.dividing(by: b) }
public func + (a: Tensor, b: Float) -> Tensor { a.adding(.scalar(b)) }
public func - (a: Tensor, b: Float) -> Tensor { a.subtracting(.scalar(b)) }
public func * (a: Tensor, b: Float) -> Tensor { a.multiplying(.scalar(b)) }
public func / (a: Tensor, b: Float) -> Tensor { a.dividing(by: .scalar(b)) }
public func + (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a).adding(b) }
public func - (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a).subtracting(b) }
public func * (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a).multiplying(b) }
public func / (a: Float, b: Tensor) -> Tensor { Tensor.scalar(a).dividing(by: b) }
public prefix func - (a: Tensor) -> Tensor { a.negated() }

#if canImport(Glibc)
import Glibc
#endif
