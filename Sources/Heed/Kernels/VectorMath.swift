import CBLAS

/// Vectorised transcendental functions on `SIMD16<Float>`.
///
/// Written only with operations that lower to vector instructions on baseline x86-64 (see
/// PERF-NOTES.md): arithmetic, comparisons + `replacing`, bit casts and integer `&+ &- &<< &>>`.
/// No `pointwiseMax`, `.rounded`, float→int conversion or horizontal `.max()` — each of those is
/// a scalar loop in disguise (30–100× slower). Polynomials are Cephes' single-precision ones.

public typealias Float16x = SIMD16<Float>

/// Clamp bounds. Above ln(FLT_MAX) ≈ 88.72 the scaling below overflows to +inf by itself, so
/// the upper clamp only has to keep n small enough for the exponent bits (n ≤ 129).
@usableFromInline let expUpper: Float = 89
/// ln(FLT_MIN): below it (subnormal results, and −∞) we flush to 0.
@usableFromInline let expLower: Float = -87.33654022216797

/// e^x, within 2 ulp of the correctly rounded result on [-87.3, 88.7]; +inf above, 0 below,
/// NaN for NaN (it flows through the arithmetic).
@inlinable @inline(__always)
public func vexp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var xc = x.replacing(with: expUpper, where: x .> expUpper)
    xc = xc.replacing(with: expLower, where: xc .< expLower)
    // n = round(x / ln 2): adding 1.5·2²³ rounds to nearest and leaves n in the low mantissa bits.
    let magic: Float = 12_582_912
    let t = xc * 1.4426950408889634 + magic
    let n = t - magic
    // r = x − n·ln2 in two parts (Cody–Waite) so the reduction is exact to float precision.
    var r = xc - n * 0.693359375
    r = r - n * (-2.12194440e-4)
    let z = r * r
    var p = SIMD16<Float>(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * z + r + 1
    // 2ⁿ built from the exponent bits, split in two factors so n = 128 and n = −126 both fit.
    let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
    let n1 = ni &>> 1
    let n2 = ni &- n1
    let s1 = unsafeBitCast((n1 &+ 127) &<< 23, to: SIMD16<Float>.self)
    let s2 = unsafeBitCast((n2 &+ 127) &<< 23, to: SIMD16<Float>.self)
    // Only the flush needs a select: each `replacing` costs ~0.05 ns/element at baseline.
    return (p * s1 * s2).replacing(with: 0, where: x .< expLower)
}

/// tanh(x): Cephes' odd polynomial for |x| < 0.625 (no cancellation near 0), else 1 − 2/(e^{2|x|}+1).
@inlinable @inline(__always)
public func vtanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let negative = x .< 0
    let ax = x.replacing(with: -x, where: negative)
    let z = x * x
    var p = SIMD16<Float>(repeating: -5.70498872745e-3)
    p = p * z + 2.06390887954e-2
    p = p * z - 5.37397155531e-2
    p = p * z + 1.33314422036e-1
    p = p * z - 3.33332819422e-1
    let small = p * z * x + x
    let e = vexp(ax + ax)
    var big = 1 - 2 / (e + 1)
    big = big.replacing(with: -big, where: negative)
    return small.replacing(with: big, where: ax .>= 0.625)
}

/// √x, correctly rounded, as one `sqrtps` per 4 lanes (`x.squareRoot()` is a scalar call per
/// lane on Linux at baseline: C's errno semantics).
@inlinable @inline(__always)
public func vsqrt(_ x: SIMD16<Float>) -> SIMD16<Float> { heed_sqrt16(x) }

/// 1 / (1 + e^{−x}); exact limits 0 and 1 far out, no overflow.
@inlinable @inline(__always)
public func vsigmoid(_ x: SIMD16<Float>) -> SIMD16<Float> {
    1 / (1 + vexp(-x))
}

/// Scalar conveniences that run the vector code, so every path gives bit-identical results.
@inlinable
public func fastExp(_ x: Float) -> Float { vexp(SIMD16<Float>(repeating: x))[0] }
@inlinable
public func fastTanh(_ x: Float) -> Float { vtanh(SIMD16<Float>(repeating: x))[0] }

/// Unaligned SIMD loads/stores of 16 floats, and a partial load/store for row tails.
@inlinable @inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inlinable @inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

@inlinable @inline(__always)
func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, fill: Float = 0) -> SIMD16<Float> {
    var v = SIMD16<Float>(repeating: fill)
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inlinable @inline(__always)
func storePartial(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}
