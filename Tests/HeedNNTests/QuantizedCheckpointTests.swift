import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// `Module.saveQuantized` / `loadQuantized` (QuantizedCheckpoint.swift): int8 codes, bf16 bits
/// and their scales as safetensors, and the malformed scale tensors a loader must refuse.
final class QuantizedCheckpointTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// An MLP with an int8 (smoothed) hidden layer and a bf16 output layer.
    func quantizedModel() -> MLPClassifier {
        let model = MLPClassifier(inputCount: 40, hiddenCount: 24, classes: 5, seed: 1)
        model.hidden.observeInputs()
        _ = noGrad { model(rand([16, 40], 2)) }
        model.hidden.quantizeInt8()
        model.output.quantize(.bf16)
        return model
    }

    func testRoundTripRunsTheSameQuantizedModel() throws {
        let url = directory.appendingPathComponent("q.safetensors")
        let model = quantizedModel()
        try model.saveQuantized(to: url, metadata: ["step": "7"])
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.info("hidden.weight")?.dtype, .i8)
        XCTAssertEqual(file.info("hidden.weight_scale")?.shape, [24])
        XCTAssertEqual(file.info("hidden.input_scale")?.shape, [40])
        XCTAssertEqual(file.info("output.weight")?.dtype, .bf16)
        XCTAssertEqual(file.info("hidden.bias")?.dtype, .f32)
        XCTAssertEqual(file.metadata["heed.quantized.hidden"], "int8")
        XCTAssertEqual(file.metadata["heed.quantized.output"], "bf16")
        XCTAssertEqual(file.metadata["step"], "7")

        let loaded = MLPClassifier(inputCount: 40, hiddenCount: 24, classes: 5, seed: 9)
        try loaded.loadQuantized(from: url)
        let x = rand([8, 40], 3)
        XCTAssertEqual(noGrad { loaded(x) }.scalars, noGrad { model(x) }.scalars, "bit for bit")
        XCTAssertEqual(loaded.hidden.weight.scalars, model.hidden.quantizedWeight!.dequantized().scalars)

        // Bytes: the int8 layer's weight is a quarter of its Float32 size.
        let float = directory.appendingPathComponent("f.safetensors")
        try MLPClassifier(inputCount: 40, hiddenCount: 24, classes: 5, seed: 1).save(to: float)
        let size = { (u: URL) in try FileManager.default.attributesOfItem(atPath: u.path)[.size] as! Int }
        XCTAssertLessThan(try size(url), try size(float) * 6 / 10)
    }

    func testWholeModelQuantizationAndItsBytes() {
        let model = quantizedModel()
        // int8 hidden: 960 codes + 24 scales + 40 input scales; bf16 output: 120 × 2 bytes;
        // the two biases (24 + 5) stay Float32.
        XCTAssertEqual(model.computeWeightBytes, 960 + 4 * 24 + 4 * 40 + 2 * 120 + 4 * (24 + 5))
        let float = MLPClassifier(inputCount: 40, hiddenCount: 24, classes: 5, seed: 1)
        XCTAssertEqual(float.computeWeightBytes, 4 * float.parameterCount)
        let x = rand([32, 40], 4)
        let exact = noGrad { float(x) }.scalars
        float.quantizeLinearsInt8 { _ = float(rand([64, 40], 5)) }
        XCTAssertNotNil(float.hidden.quantizedWeight)
        XCTAssertNotNil(float.output.quantizedWeight)
        assertClose(noGrad { float(x) }.scalars, exact, rtol: 0, atol: 0.05)
        float.quantizeLinears(.float32)
        XCTAssertEqual(noGrad { float(x) }.scalars, exact)
    }

    func testMalformedScalesAreTypedErrorsNamingTheTensor() throws {
        let url = directory.appendingPathComponent("q.safetensors")
        try quantizedModel().saveQuantized(to: url)
        let good = try SafetensorsFile(contentsOf: url)
        // The file's tensors, with `name` replaced by `entry` (or dropped when nil).
        func rewrite(_ name: String, _ entry: SafetensorsFile.RawEntry?) throws -> URL {
            var entries: [SafetensorsFile.RawEntry] = []
            for info in good.names.compactMap(good.info) where info.name != name {
                let bytes = try rawBytes(good, info)
                entries.append(.init(name: info.name, dtype: info.dtype, shape: info.shape) { body in bytes.withUnsafeBytes { body($0) } })
            }
            if let entry { entries.append(entry) }
            let out = directory.appendingPathComponent("bad.safetensors")
            try SafetensorsFile.write(entries: entries, metadata: good.metadata, to: out)
            return out
        }
        let cases: [(String, SafetensorsFile.RawEntry?, String)] = [
            ("hidden.weight_scale", nil, "missing"),
            ("hidden.weight_scale", .init(name: "hidden.weight_scale", dtype: .f32, shape: [24], values: [Float](repeating: 0, count: 24)), "element 0 is 0.0"),
            ("hidden.weight_scale", .init(name: "hidden.weight_scale", dtype: .f32, shape: [24], values: [Float](repeating: .nan, count: 24)), "element 0 is nan"),
            ("hidden.weight_scale", .init(name: "hidden.weight_scale", dtype: .f32, shape: [23], values: [Float](repeating: 1, count: 23)), "shape [23], not [24]"),
            ("hidden.weight_scale", .init(name: "hidden.weight_scale", dtype: .i32, shape: [24], values: [Int32](repeating: 1, count: 24)), "dtype I32, not F32"),
            ("hidden.input_scale", .init(name: "hidden.input_scale", dtype: .f32, shape: [40], values: [Float](repeating: -1, count: 40)), "element 0 is -1.0"),
            ("hidden.weight", .init(name: "hidden.weight", dtype: .i8, shape: [24, 40], values: [Int8](repeating: -128, count: 960)), "outside the symmetric"),
            ("hidden.weight", .init(name: "hidden.weight", dtype: .f32, shape: [24, 40], values: [Float](repeating: 0, count: 960)), "not I8"),
        ]
        for (name, entry, reason) in cases {
            let bad = try rewrite(name, entry)
            let model = MLPClassifier(inputCount: 40, hiddenCount: 24, classes: 5, seed: 3)
            let before = model.hidden.weight.scalars
            XCTAssertThrowsError(try model.loadQuantized(from: bad), "\(name): \(reason)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("'\(name)'") && text.contains(reason) && text.contains("bad.safetensors"), text)
            }
            XCTAssertEqual(model.hidden.weight.scalars, before, "a failed load changes nothing")
            XCTAssertNil(model.hidden.quantizedWeight)
        }
    }

    private func rawBytes(_ file: SafetensorsFile, _ info: SafetensorsFile.TensorInfo) throws -> [UInt8] {
        switch info.dtype.byteSize {
        case 1: return try file.rawValues(info.name, as: UInt8.self)
        case 2: return try file.rawValues(info.name, as: UInt16.self).withUnsafeBytes { Array($0) }
        default: return try file.rawValues(info.name, as: UInt32.self).withUnsafeBytes { Array($0) }
        }
    }
}
