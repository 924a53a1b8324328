import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// `Module.save` / `Module.load` (Checkpoint.swift). Named so that `--filter SafetensorsTests`
/// runs it with the format tests.
final class CheckpointSafetensorsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func assertSameParameters(_ a: Module, _ b: Module, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.namedParameters().map(\.name), b.namedParameters().map(\.name), file: file, line: line)
        for ((name, x), (_, y)) in zip(a.namedParameters(), b.namedParameters()) {
            XCTAssertEqual(bits(x), bits(y), name, file: file, line: line)
        }
    }

    func testLinearRoundTripCopiesIntoTheSameTensors() throws {
        let url = directory.appendingPathComponent("linear.safetensors")
        let saved = Linear(3, 2, seed: 1)
        try saved.save(to: url, metadata: ["step": "100"])
        XCTAssertEqual(try SafetensorsFile(contentsOf: url).metadata, ["step": "100"])

        let loaded = Linear(3, 2, seed: 2)
        let weight = loaded.weight
        try loaded.load(from: url)
        assertSameParameters(loaded, saved)
        XCTAssertTrue(loaded.weight === weight, "loaded in place: optimizers keep their references")
        XCTAssertTrue(loaded.weight.requiresGrad)
        let x = rand([4, 3], 5)
        assertClose(loaded(x), saved(x), rtol: 0, atol: 0, "forward after load")
        loaded(x).sum().backward()  // still a trainable leaf
        XCTAssertEqual(loaded.weight.grad?.shape, [2, 3])
    }

    func testMultiHeadAttentionRoundTrip() throws {
        let url = directory.appendingPathComponent("mha.safetensors")
        let saved = MultiHeadAttention(modelDim: 8, heads: 4, keyValueHeads: 2, seed: 3)
        try saved.save(to: url)
        XCTAssertEqual(try SafetensorsFile(contentsOf: url).names,
                       saved.namedParameters().map(\.name).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        XCTAssertTrue(try SafetensorsFile(contentsOf: url).names.contains("key.weight"))

        let loaded = MultiHeadAttention(modelDim: 8, heads: 4, keyValueHeads: 2, seed: 4)
        try loaded.load(from: url)
        assertSameParameters(loaded, saved)
        let x = rand([2, 5, 8], 6)
        assertClose(loaded(x, isCausal: true).output, saved(x, isCausal: true).output, rtol: 0, atol: 0, "attention output")
    }

    func testLoadErrorsNameTheParameterAndFile() throws {
        let withBias = directory.appendingPathComponent("bias.safetensors")
        let withoutBias = directory.appendingPathComponent("nobias.safetensors")
        let wider = directory.appendingPathComponent("wider.safetensors")
        try Linear(3, 2, seed: 1).save(to: withBias)
        try Linear(3, 2, bias: false, seed: 1).save(to: withoutBias)
        try Linear(4, 2, seed: 1).save(to: wider)

        XCTAssertThrowsError(try Linear(3, 2).load(from: withoutBias)) {
            XCTAssertEqual($0 as? CheckpointError, .missingParameter(name: "bias", file: withoutBias.path))
        }
        XCTAssertThrowsError(try Linear(3, 2, bias: false).load(from: withBias)) {
            XCTAssertEqual($0 as? CheckpointError, .unexpectedParameter(name: "bias", file: withBias.path))
        }
        let lenient = Linear(3, 2, bias: false, seed: 9)
        try lenient.load(from: withBias, strict: false)
        XCTAssertEqual(bits(lenient.weight), bits(Linear(3, 2, seed: 1).weight))

        XCTAssertThrowsError(try Linear(3, 2).load(from: wider)) {
            XCTAssertEqual($0 as? CheckpointError, .shapeMismatch(name: "weight", expected: [2, 3], found: [2, 4], file: wider.path))
            XCTAssertTrue("\($0)".contains(wider.path))
        }
        XCTAssertThrowsError(try Linear(3, 2).load(from: directory.appendingPathComponent("absent"))) {
            XCTAssertTrue($0 is SafetensorsError)
        }
    }

    /// A tensor that fails to convert is found before any parameter changes.
    func testFailedLoadLeavesTheModuleUnchanged() throws {
        let url = directory.appendingPathComponent("bad-bias.safetensors")
        try Data(makeSafetensors([
            ("weight", "F32", [2, 3], leBytes((0..<6).map { Float($0).bitPattern })),
            ("bias", "I64", [2], leBytes([Int64(1), (1 << 24) + 1])),
        ])).write(to: url)
        let layer = Linear(3, 2, seed: 7)
        let before = layer.namedParameters().map { bits($0.tensor) }
        XCTAssertThrowsError(try layer.load(from: url)) {
            guard case .elementNotConvertible(_, "bias", "I64", 1, _)? = $0 as? SafetensorsError else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(layer.namedParameters().map { bits($0.tensor) }, before)
    }

    func testLoadWidensHalfPrecisionCheckpoints() throws {
        let url = directory.appendingPathComponent("half.safetensors")
        try Data(makeSafetensors([
            ("bias", "BF16", [2], leBytes([UInt16(0x3F80), 0xC000])),                        // 1, -2
            ("weight", "F16", [2, 3], leBytes([UInt16(0x3C00), 0x3800, 0, 0xBC00, 0x4000, 0x3400])),  // 1, .5, 0, -1, 2, .25
        ])).write(to: url)
        let layer = Linear(3, 2)
        try layer.load(from: url)
        XCTAssertEqual(layer.weight.scalars, [1, 0.5, 0, -1, 2, 0.25])
        XCTAssertEqual(layer.bias?.scalars, [1, -2])
    }

    /// NaN and infinities in a weight file: refused with the tensor and element named, the
    /// module untouched; loaded as they are when asked to.
    func testNonFiniteWeightsAreRefusedUnlessAllowed() throws {
        let url = directory.appendingPathComponent("inf.safetensors")
        try SafetensorsFile.write([("weight", Tensor([1, 2, 3, 4, -.infinity, 6], shape: [2, 3])), ("bias", Tensor.zeros([2]))], to: url)
        let layer = Linear(3, 2, seed: 7)
        let before = layer.namedParameters().map { bits($0.tensor) }
        XCTAssertThrowsError(try layer.load(from: url)) {
            XCTAssertEqual($0 as? CheckpointError, .nonFinite(name: "weight", index: 4, value: -.infinity, file: url.path))
        }
        XCTAssertEqual(layer.namedParameters().map { bits($0.tensor) }, before)
        try layer.load(from: url, allowNonFinite: true)
        XCTAssertEqual(layer.weight.scalars[4], -.infinity)
    }

    /// A save killed before its rename leaves `.NAME.tmp-PID-…`; the next save to NAME removes
    /// those of processes that are gone, and leaves a live process's (this one's) alone.
    func testNextSaveRemovesTemporariesOfKilledSaves() throws {
        let url = directory.appendingPathComponent("m.safetensors")
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = ".m.safetensors.tmp-\(gone.processIdentifier)-abc"
        let live = ".m.safetensors.tmp-\(getpid())-def"
        let other = ".n.safetensors.tmp-\(gone.processIdentifier)-ghi"  // another file's: not this save's business
        for name in [stale, live, other] { try Data([1, 2, 3]).write(to: directory.appendingPathComponent(name)) }
        try Linear(3, 2, seed: 1).save(to: url)
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertEqual(left, [live, other, "m.safetensors"].sorted())
    }
}
