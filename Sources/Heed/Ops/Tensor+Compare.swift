/// Comparisons (results are 0/1 masks: Heed has one dtype, Float32), `where` and `maskedFill`.

struct CmpF: BinaryFunction {
    enum Kind { case eq, ne, lt, le, gt, ge }
    let kind: Kind
    @inline(__always) func callAsFunction(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        let m: SIMDMask<SIMD16<Int32>>
        switch kind {
        case .eq: m = a .== b
        case .ne: m = a .!= b
        case .lt: m = a .< b
        case .le: m = a .<= b
        case .gt: m = a .> b
        case .ge: m = a .>= b
        }
        return SIMD16<Float>().replacing(with: 1, where: m)
    }
}

struct WhereF: TernaryFunction {
    @inline(__always) func callAsFunction(_ c: SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        b.replacing(with: a, where: c .!= 0)
    }
}

extension Tensor {
    func compare(_ other: Tensor, _ kind: CmpF.Kind, _ op: String) -> Tensor {
        mapBinary(self, other, CmpF(kind: kind), op: op)   // masks carry no gradient
    }

    public static func .== (a: Tensor, b: Tensor) -> Tensor { a.compare(b, .eq, "eq") }
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { a.compare(b, .ne, "ne") }
    public static func .< (a: Tensor, b: Tensor) -> Tensor { a.compare(b, .lt, "lt") }
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { a.compare(b, .le, "le") }
    public static func .> (a: Tensor, b: Tensor) -> Tensor { a.compare(b, .gt, "gt") }
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { a.compare(b, .ge, "ge") }
    public static func .== (a: Tensor, b: Float) -> Tensor { a.compare(.scalar(b), .eq, "eq") }
    public static func .!= (a: Tensor, b: Float) -> Tensor { a.compare(.scalar(b), .ne, "ne") }
    public static func .< (a: Tensor, b: Float) -> Tensor { a.compare(.scalar(b), .lt, "lt") }
    public static func .<= (a: Tensor, b: Float) -> Tensor { a.compare(.scalar(b), .le, "le") }
    public static func .> (a: Tensor, b: Float) -> Tensor { a.compare(.scalar(b), .gt, "gt") }
    public static func .>= (a: Tensor, b: Float) -> Tensor { a.compare(.scalar(b), .ge, "ge") }

    /// `a` where `condition` is nonzero, else `b`; all three broadcast together.
    /// The gradient flows to whichever side was chosen.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let out = mapTernary(condition, a, b, WhereF(), op: "where")
        return out.recorded("where", [a, b]) { g in
            let zero = Tensor.scalar(0)
            return [a.requiresGrad ? reduceGradient(mapTernary(condition, g, zero, WhereF(), op: "where"), to: a.shape) : nil,
                    b.requiresGrad ? reduceGradient(mapTernary(condition, zero, g, WhereF(), op: "where"), to: b.shape) : nil]
        }
    }

    /// `value` where `mask` is nonzero, `self` elsewhere (`mask` broadcasts to `self`).
    public func maskedFill(_ mask: Tensor, _ value: Float) -> Tensor {
        let shape = broadcastShapes(shape, mask.shape, op: "maskedFill")
        check(shape == self.shape, "maskedFill: mask of shape \(mask.shape) does not broadcast to \(self.shape)")
        return Tensor.where(mask, .scalar(value), self)
    }
}
