import Foundation
import Heed

/// Checkpoints of models whose Linear layers run on int8 or bf16 weights (`Linear.quantize`),
/// as safetensors that Python's `safetensors` opens:
///
///     NAME.weight        I8 [out, in]   int8 codes        (BF16 [out, in] for a bf16 layer)
///     NAME.weight_scale  F32 [out]      per output channel: W ≈ codes · weight_scale[:, None]
///     NAME.input_scale   F32 [in]       SmoothQuant's c when the layer has one: W ≈ codes ·
///                                       weight_scale[:, None] / input_scale[None, :], and the
///                                       layer divides its inputs by c before quantizing them
///
/// Every other parameter is F32 under its usual name. The metadata says which layers are which
/// (`heed.quantized.NAME` = `int8` or `bf16`) and how to read them (`heed.quantization`).
/// An int8 file is about a quarter of the Float32 one.
extension Module {
    static let quantizationNote = "int8 layers: weight is I8 codes, W = weight * weight_scale[:, None] (/ input_scale[None, :] when present; inputs are divided by input_scale before the per-row u8 activation quantization); bf16 layers: weight is BF16"

    /// Saves the model as it computes: quantized Linears in their format, the rest as F32.
    public func saveQuantized(to url: URL, metadata: [String: String] = [:]) throws {
        var entries: [SafetensorsFile.RawEntry] = []
        var meta = metadata
        meta["heed.quantization"] = Self.quantizationNote
        var quantizedNames = Set<String>()
        for (name, module) in namedModules() {
            guard let linear = module as? Linear, let q = linear.quantizedWeight else { continue }
            let prefix = name.isEmpty ? "" : name + "."
            quantizedNames.insert(prefix + "weight")
            meta["heed.quantized.\(name)"] = q.format.rawValue
            switch q {
            case .int8(let w):
                entries.append(.init(name: prefix + "weight", dtype: .i8, shape: [w.outFeatures, w.inFeatures], values: w.codes))
                entries.append(.init(name: prefix + "weight_scale", dtype: .f32, shape: [w.outFeatures], values: w.scales))
                if let c = w.inputScales {
                    entries.append(.init(name: prefix + "input_scale", dtype: .f32, shape: [w.inFeatures], values: c))
                }
            case .bf16(let w):
                entries.append(.init(name: prefix + "weight", dtype: .bf16, shape: [w.outFeatures, w.inFeatures], values: w.bits))
            }
        }
        for (name, tensor) in namedParameters() where !quantizedNames.contains(name) {
            entries.append(.init(name: name, dtype: .f32, shape: tensor.shape) { body in
                tensor.withUnsafeBufferPointer { body(UnsafeRawBufferPointer($0)) }
            })
        }
        try SafetensorsFile.write(entries: entries, metadata: meta, to: url)
    }

    /// Loads a `saveQuantized` file into a model of the same architecture: the layers it marks
    /// quantized get their int8/bf16 weights (and `weight` their dequantized values), the rest
    /// load as `load(from:)` loads them. Every tensor is read and checked before anything
    /// changes; a scale that is missing, not F32, of the wrong shape, not finite or not positive
    /// is a `CheckpointError.invalidQuantization` naming the tensor and the file.
    public func loadQuantized(from url: URL, allowNonFinite: Bool = false) throws {
        let file = try SafetensorsFile(contentsOf: url)
        let path = file.file
        func fail(_ name: String, _ reason: String) -> CheckpointError {
            .invalidQuantization(name: name, file: path, reason: reason)
        }
        func scales(_ name: String, _ count: Int, required: Bool) throws -> [Float]? {
            guard let info = file.info(name) else {
                if required { throw fail(name, "missing") }
                return nil
            }
            guard info.dtype == .f32 else { throw fail(name, "dtype \(info.dtype.rawValue), not F32") }
            guard info.shape == [count] else { throw fail(name, "shape \(info.shape), not [\(count)]") }
            let v = try file.rawValues(name, as: Float.self)
            if let bad = v.firstIndex(where: { !($0.isNormal && $0 > 0) }) {
                throw fail(name, "element \(bad) is \(v[bad]), not a finite positive (normal) number")
            }
            return v
        }
        var quantized: [(Linear, QuantizedWeight)] = []
        var quantizedNames = Set<String>(), consumed = Set<String>()
        for (name, module) in namedModules() {
            guard let linear = module as? Linear else { continue }
            let key = "heed.quantized.\(name)", prefix = name.isEmpty ? "" : name + "."
            guard let format = file.metadata[key] else { continue }
            let weightName = prefix + "weight", (n, k) = (linear.outputCount, linear.inputCount)
            guard let info = file.info(weightName) else { throw CheckpointError.missingParameter(name: weightName, file: path) }
            guard info.shape == [n, k] else {
                throw CheckpointError.shapeMismatch(name: weightName, expected: [n, k], found: info.shape, file: path)
            }
            switch format {
            case "int8":
                guard info.dtype == .i8 else { throw fail(weightName, "dtype \(info.dtype.rawValue) for an int8 layer, not I8") }
                let codes = try file.rawValues(weightName, as: Int8.self)
                if let bad = codes.firstIndex(of: -128) { throw fail(weightName, "code \(bad) is −128, outside the symmetric −127…127") }
                guard k <= Int8Weight.maxInFeatures else { throw fail(weightName, "\(k) inputs exceed \(Int8Weight.maxInFeatures)") }
                let s = try scales(prefix + "weight_scale", n, required: true)!
                let c = try scales(prefix + "input_scale", k, required: false)
                quantized.append((linear, .int8(Int8Weight(codes: codes, scales: s, inputScales: c, outFeatures: n, inFeatures: k))))
                consumed.formUnion([prefix + "weight_scale", prefix + "input_scale"])
            case "bf16":
                guard info.dtype == .bf16 else { throw fail(weightName, "dtype \(info.dtype.rawValue) for a bf16 layer, not BF16") }
                quantized.append((linear, .bf16(BF16Weight(bits: try file.rawValues(weightName, as: UInt16.self), outFeatures: n, inFeatures: k))))
            default:
                throw CheckpointError.invalidMetadata(file: path, key: key, value: format, reason: "not int8 or bf16")
            }
            quantizedNames.insert(weightName)
        }
        let parameters = namedParameters().filter { !quantizedNames.contains($0.name) }
        for (name, tensor) in parameters {
            guard let info = file.info(name) else { throw CheckpointError.missingParameter(name: name, file: path) }
            guard info.shape == tensor.shape else {
                throw CheckpointError.shapeMismatch(name: name, expected: tensor.shape, found: info.shape, file: path)
            }
        }
        let known = quantizedNames.union(parameters.map(\.name)).union(consumed)
        if let extra = file.names.first(where: { !known.contains($0) }) {
            throw CheckpointError.unexpectedParameter(name: extra, file: path)
        }
        let values = try parameters.map { try file.tensor($0.name, allowNonFinite: allowNonFinite) }
        let dequantized = quantized.map { $0.1.dequantized() }
        noGrad {
            for ((_, parameter), value) in zip(parameters, values) where parameter.count > 0 { parameter.assign(value) }
            for ((linear, q), w) in zip(quantized, dequantized) {
                if linear.weight.count > 0 { linear.weight.assign(w) }
                linear.setQuantizedWeight(q)
            }
        }
        for (_, module) in namedModules().reversed() { module.quantizedWeightsChanged() }
    }
}
