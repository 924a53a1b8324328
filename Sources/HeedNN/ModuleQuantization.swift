import Heed

/// Post-training quantization of a whole model: every `Linear` in it (`namedModules()`).
extension Module {
    /// Every Linear layer on `format`'s product (`Linear.quantize`); `.float32` goes back.
    public func quantizeLinears(_ format: WeightFormat) {
        for case let linear as Linear in namedModules().map(\.module) { linear.quantize(format) }
        for (_, module) in namedModules().reversed() { module.quantizedWeightsChanged() }
    }

    /// Every Linear layer on int8 with SmoothQuant input smoothing (`Linear.quantizeInt8`),
    /// calibrated on what `calibrate` runs through the model (a few batches of training data).
    public func quantizeLinearsInt8(smoothing alpha: Float = 0.5, calibrate: () -> Void) {
        let linears = namedModules().compactMap { $0.module as? Linear }
        for l in linears { l.quantize(.float32); l.observeInputs() }
        noGrad { calibrate() }
        for l in linears { l.quantizeInt8(smoothing: alpha) }
        for (_, module) in namedModules().reversed() { module.quantizedWeightsChanged() }
    }

    /// Bytes of the parameters as the model computes with them: a quantized Linear's codes
    /// (or bf16 values) and scales, 4 bytes per element for everything else.
    public var computeWeightBytes: Int {
        var quantized = Set<ObjectIdentifier>(), bytes = 0
        for case let linear as Linear in namedModules().map(\.module) {
            guard let q = linear.quantizedWeight else { continue }
            quantized.insert(ObjectIdentifier(linear.weight))
            switch q {
            case .int8(let w): bytes += w.codes.count + 4 * w.scales.count + 4 * (w.inputScales?.count ?? 0)
            case .bf16(let w): bytes += 2 * w.bits.count
            }
        }
        for p in parameters where !quantized.contains(ObjectIdentifier(p)) { bytes += 4 * p.count }
        return bytes
    }
}
