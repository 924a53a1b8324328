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

/// e^(hi + lo) for hi ∈ [ln FLT_MIN, −0.5] given exactly and |lo| ≲ 0.4: `lo` joins the reduced
/// argument after the exact Cody–Waite step, so it is never rounded against the large `hi`
/// (that rounding alone would cost |hi|·2⁻²⁴ relative, 45 ulp at hi = −90). No clamps: the
/// caller keeps hi in range. n ∈ [−127, −1] here, so 2ⁿ is one normal scale factor.
@inlinable @inline(__always)
func vexpSplit(_ hi: SIMD16<Float>, _ lo: SIMD16<Float>) -> SIMD16<Float> {
    let magic: Float = 12_582_912
    let t = (hi + lo) * 1.4426950408889634 + magic
    let n = t - magic
    var r = hi - n * 0.693359375   // exact: n·C1 has ≤ 16 bits and r is small
    r = r - n * (-2.12194440e-4)
    r = r + lo
    // vexp's Cephes polynomial, in Estrin's scheme (see verfc for why).
    let z = r * r
    let p01 = r * 1.6666665459e-1 + 5.0000001201e-1, p23 = r * 8.3334519073e-3 + 4.1665795894e-2
    let p45 = r * 1.9875691500e-4 + 1.3981999507e-3
    let p = (p45 * z + p23) * z + p01
    let e = p * z + r + 1
    let ni = unsafeBitCast(t, to: SIMD16<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
    return e * unsafeBitCast((ni &+ 127) &<< 23, to: SIMD16<Float>.self)
}

/// erfc(x) = 1 − erf(x), with relative accuracy in the right tail (≤ 3 ulp wherever the result
/// is a normal float, see VectorMathTests); 2 for x ≤ −4, +0 for x ≥ 9.3 (the true value is
/// subnormal from 9.19 on and is flushed, as vexp flushes), NaN for NaN.
///
/// The split and the exact exponent follow fdlibm / glibc s_erff.c; the polynomials are our own
/// fits (tools/fit-erfc.py, which prints them and emulates this function in float32):
/// - |x| < 0.84375: erf(x) = x + x·P(x²), P of degree 5. erfc(x) is then 1 − (x + xP) for
///   x < 0.25 (also every negative x: 1 + |erf|, no cancellation), 0.5 − ((x − 0.5) + xP) on
///   [0.25, 0.5) and (1 − x) − xP on [0.5, 0.84375): x − 0.5 and 1 − x are exact (Sterbenz), so
///   only the small xP term and one final subtraction are rounded.
/// - |x| ≥ 0.84375: erfc(x) = exp(−x² − 0.5625 + R(t))/x, t = 1/(1 + x), R of degree 9 in
///   t − 0.3164 (|error| < 2⁻²⁷ on [0.84375, 10.06]). −x² is split as −s² + (s − x)(s + x) with
///   s = x cut to 11 significant bits, so s² and −s² − 0.5625 are exact and the only rounded
///   part of the exponent is the small remainder (vexpSplit). Negative x: 2 − erfc(|x|).
///
/// Every lane runs both branches and selects (no per-lane branching). The polynomials use
/// Estrin's scheme, not Horner's: a Horner chain of literal coefficients after `1/(1+x) − T0` made
/// LLVM scalarise and re-pair lanes (shuffles, `mulss`), 3.8 vs 0.77 ns/element for the degree-9
/// polynomial alone at baseline; Estrin's independent pairs stay whole vectors (and add ILP).
@inlinable @inline(__always)
public func verfc(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let ax = unsafeBitCast(unsafeBitCast(x, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)

    // |x| < 0.84375: erf(x) = x + x·P(x²).
    let z = x * x, z2 = z * z
    let y01 = z * -0.37612593 + 0.12837917, y23 = z * -0.026810925 + 0.11282937
    let y45 = z * -0.00063905254 + 0.005064447
    let y = (y45 * z2 + y23) * z2 + y01
    let xy = x * y
    let h = SIMD16<Float>(repeating: 1).replacing(with: 0.5, where: x .>= 0.25)
    var small = h - ((x - (1 - h)) + xy)             // h = 1: 1 − erf; h = ½: ½ − ((x − ½) + xy)
    small = small.replacing(with: (1 - x) - xy, where: x .>= 0.5)

    // |x| ≥ 0.84375: exp(−s² − 0.5625 + (s − x)(s + x) + R(t)) / x.
    let s = unsafeBitCast(unsafeBitCast(ax, to: SIMD16<UInt32>.self) & 0xFFFF_E000, to: SIMD16<Float>.self)
    let v = 1 / (1 + ax) - 0.3163944, v2 = v * v, v4 = v2 * v2
    let q01 = v * -0.67875123 - 0.09731035, q23 = v * -1.2815772 - 1.6734093
    let q45 = v * -1.7544835 - 0.31151122, q67 = v * 0.2469243 - 2.6998441, q89 = v * -8.80033 - 3.133959
    let q = (q89 * v4 + (q67 * v2 + q45)) * v4 + (q23 * v2 + q01)
    let e = vexpSplit(-s * s - 0.5625, (s - ax) * (s + ax) + q) / ax
    // Beyond 9.3 the exponent would leave vexpSplit's range; the result is subnormal there.
    let tail = e.replacing(with: 0, where: ax .> 9.3)
    let big = tail.replacing(with: 2 - tail, where: x .< 0)
    return small.replacing(with: big, where: ax .>= 0.84375)
}

/// Scalar convenience over the vector code (bit-identical to a lane of `verfc`).
@inlinable
public func fastErfc(_ x: Float) -> Float { verfc(SIMD16<Float>(repeating: x))[0] }

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
