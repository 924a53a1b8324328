import Foundation
import XCTest
import Heed
import HeedNN
import HeedTestSupport

/// The training loop on real Fashion-MNIST images (a small subset, so the debug build stays
/// fast): it learns, it is deterministic, and resuming from a checkpoint is exact.
final class TrainerTests: XCTestCase {
    /// The first 2,000 training and 500 test images, read once for the whole class.
    nonisolated(unsafe) private static var cached: (train: Dataset, test: Dataset)?

    static func data() throws -> (train: Dataset, test: Dataset) {
        if let cached { return cached }
        do {
            let train = try Dataset.fashionMNIST(split: .train).subset(Array(0..<2000))
            let test = try Dataset.fashionMNIST(split: .test).subset(Array(0..<500))
            cached = (train, test)
            return (train, test)
        } catch {
            guard case .fileNotFound = error else { throw error }
            throw XCTSkip("Fashion-MNIST is not installed (Debian: apt-get install dataset-fashion-mnist; "
                          + "`make deps` does it): \(error)")
        }
    }

    /// The first `n` training images: enough to check bit-exactness, which does not need a model
    /// that learns much.
    static func smallTrain(_ n: Int = 320) throws -> Dataset { try data().train.subset(Array(0..<n)) }
    static func smallTest() throws -> Dataset { try data().test.subset(Array(0..<100)) }

    static func trainer(_ model: any ImageClassifier, _ train: Dataset, _ test: Dataset, seed: UInt64 = 7,
                        batchSize: Int = 32) -> Trainer {
        Trainer(model: model, optimizer: Adam(model.namedParameters(), learningRate: 1e-3), train: train, test: test,
                batchSize: batchSize, seed: seed)
    }

    /// The tiny ViT of the resume test: dropout 0.1 on attention weights and residual branches,
    /// so per-epoch reseeding of the global generator matters.
    static func tinyViT(seed: UInt64) -> VisionTransformer {
        VisionTransformer(patchSize: 7, dim: 16, layers: 1, heads: 2, feedForwardDim: 32, dropout: 0.1, seed: seed)
    }

    var directory: URL!
    override func setUpWithError() throws { directory = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func assertSameBits(_ a: [(name: String, tensor: Tensor)], _ b: [(name: String, tensor: Tensor)], _ label: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.name), b.map(\.name), label, file: file, line: line)
        for ((name, x), (_, y)) in zip(a, b) where bits(x) != bits(y) {
            let worst = zip(x.scalars, y.scalars).enumerated().max { abs($0.1.0 - $0.1.1) < abs($1.1.0 - $1.1.1) }!
            XCTFail("\(label): \(name) differs; worst at [\(worst.offset)]: \(worst.element.0) vs \(worst.element.1)",
                    file: file, line: line)
        }
    }

    func optimizerState(_ t: Trainer) -> [(name: String, tensor: Tensor)] {
        t.optimizer.stateTensors().map { (name: $0.0, tensor: $0.1) }
    }

    // MARK: (a) It learns

    /// Two epochs of the MLP on 2,000 images (126 Adam steps). Measured here: training loss
    /// 2.54 before, 1.11 and 0.66 as the epochs' means, test accuracy 0.80 on 500 test images
    /// (the full 60,000 give 0.85 after one epoch). The bound 0.6: chance, and always answering
    /// one class, score 0.1 (the classes are balanced); 0.6 leaves room for other seeds, thread
    /// counts and BLAS builds (and for 500 images' ±0.02 sampling error), yet fails for
    /// anything that does not really learn — a wrong gradient, a shuffle that separates images
    /// from labels, an optimizer that does not step.
    func testShortRunLowersLossAndLearns() throws {
        let (train, test) = try Self.data()
        let t = Self.trainer(MLPClassifier(seed: 1), train, test)
        let initial = t.evaluate(train)
        XCTAssertEqual(initial.loss, log(10), accuracy: 0.5, "an untrained 10-way classifier is near ln 10")

        var calls: [(Int, Int)] = []
        var last = (loss: 0.0, accuracy: 0.0)
        let e1 = try t.trainEpoch { b, n, l, a in calls.append((b, n)); last = (l, a) }
        XCTAssertEqual(calls.map(\.0), Array(1...63), "one progress call per batch: 2,000 / 32 → 63")
        XCTAssertTrue(calls.allSatisfy { $0.1 == 63 })
        XCTAssertEqual(last.loss, e1.loss, "the last running loss is the epoch's")
        XCTAssertEqual(last.accuracy, e1.accuracy)
        let e2 = try t.trainEpoch()
        XCTAssertEqual(t.epoch, 2)

        XCTAssertLessThan(e1.loss, initial.loss)
        XCTAssertLessThan(e2.loss, e1.loss, "the second epoch's mean training loss is lower")
        XCTAssertGreaterThan(e2.accuracy, e1.accuracy)
        let final = t.evaluate(train)
        XCTAssertLessThan(final.loss, 0.5 * initial.loss)
        let (testLoss, testAccuracy) = t.evaluate(test)
        XCTAssertGreaterThan(testAccuracy, 0.6, "test loss \(testLoss)")
    }

    // MARK: (b) Determinism

    func testSameSeedGivesBitIdenticalRuns() throws {
        let (train, test) = (try Self.smallTrain(), try Self.smallTest())
        func run() throws -> (Trainer, Double) {
            let t = Self.trainer(MLPClassifier(seed: 3), train, test)
            _ = try t.trainEpoch()
            _ = try t.trainEpoch()
            return (t, t.evaluate(test).accuracy)
        }
        let (a, accuracyA) = try run()
        let (b, accuracyB) = try run()
        assertSameBits(a.model.namedParameters(), b.model.namedParameters(), "parameters")
        assertSameBits(optimizerState(a), optimizerState(b), "optimizer state")
        XCTAssertEqual(accuracyA, accuracyB)
        // Not vacuous: the runs moved the parameters away from the (shared) initialisation.
        XCTAssertNotEqual(bits(a.model.parameters[0]), bits(MLPClassifier(seed: 3).parameters[0]))
    }

    // MARK: (c) Exact resume

    /// Trains two epochs, saving after the first; a fresh trainer over a differently initialised
    /// model resumes from that checkpoint and trains the second epoch. Its parameters and
    /// optimizer state must equal the uninterrupted run's bit for bit.
    func assertExactResume(_ name: String, _ make: (UInt64) -> any ImageClassifier, train: Dataset, test: Dataset,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let url = directory.appendingPathComponent("\(name).safetensors")
        let a = Self.trainer(make(1), train, test)
        _ = try a.trainEpoch()
        _ = a.evaluate(test)  // as `heed train` does between epochs: must not disturb the run
        try a.save(to: url, modelName: name)
        _ = try a.trainEpoch()

        let b = Self.trainer(make(2), train, test)
        try b.resume(from: url)
        XCTAssertEqual(b.epoch, 1, file: file, line: line)
        // Whatever state the global generator is in, the epoch reseeds it.
        HeedRandom.manualSeed(12345)
        _ = try b.trainEpoch()
        XCTAssertEqual(b.epoch, 2, file: file, line: line)
        assertSameBits(a.model.namedParameters(), b.model.namedParameters(), "\(name): parameters", file: file, line: line)
        assertSameBits(optimizerState(a), optimizerState(b), "\(name): optimizer state", file: file, line: line)
        XCTAssertEqual(a.evaluate(test).loss, b.evaluate(test).loss, file: file, line: line)
    }

    func testResumeIsExactForMLP() throws {
        try assertExactResume("mlp", { MLPClassifier(seed: $0) }, train: try Self.smallTrain(), test: try Self.smallTest())
    }

    func testResumeIsExactForViTWithDropout() throws {
        let vit = Self.tinyViT(seed: 0)
        let x = try Self.smallTest().images.slice(axis: 0, 0..<4)
        XCTAssertNotEqual(bits(noGrad { vit(x) }), bits(noGrad { vit(x) }), "dropout is active in training mode")
        try assertExactResume("vit", { Self.tinyViT(seed: $0) }, train: try Self.smallTrain(), test: try Self.smallTest())
    }

    // MARK: (d) Checkpoints that are not what they claim

    /// Copies of the trainer's parameters and state, to compare after a failed resume.
    func snapshot(_ t: Trainer) -> (parameters: [(name: String, tensor: Tensor)], state: [(name: String, tensor: Tensor)]) {
        let copy = { (list: [(name: String, tensor: Tensor)]) in list.map { (name: $0.name, tensor: Tensor($0.tensor.scalars, shape: $0.tensor.shape)) } }
        return (copy(t.model.namedParameters()), copy(optimizerState(t)))
    }

    func assertUnchanged(_ t: Trainer, _ before: (parameters: [(name: String, tensor: Tensor)], state: [(name: String, tensor: Tensor)]),
                         epoch: Int, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(t.epoch, epoch, "\(label): epoch", file: file, line: line)
        assertSameBits(t.model.namedParameters(), before.parameters, "\(label): parameters", file: file, line: line)
        assertSameBits(optimizerState(t), before.state, "\(label): optimizer state", file: file, line: line)
    }

    /// One file holds model and optimizer: what `save` writes is a single safetensors file with
    /// the state under `optimizer/`, and a bare model loads from it too.
    func testCheckpointIsOneFileThatAModelLoads() throws {
        let (train, test) = (try Self.smallTrain(64), try Self.smallTest())
        let url = directory.appendingPathComponent("ck.safetensors")
        let a = Self.trainer(MLPClassifier(seed: 1), train, test)
        _ = try a.trainEpoch()
        try a.save(to: url, modelName: "mlp")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["ck.safetensors"])
        let file = try SafetensorsFile(contentsOf: url)
        XCTAssertEqual(file.metadata["format"], TrainingCheckpoint.format)
        XCTAssertEqual(file.metadata["epoch"], "1")
        XCTAssertEqual(Set(file.names.filter { $0.hasPrefix("optimizer/") }),
                       Set(a.optimizer.stateTensors().map { "optimizer/" + $0.0 }))
        let bare = MLPClassifier(seed: 9)
        try bare.load(from: url)  // strict, yet the optimizer's tensors are not "unexpected"
        assertSameBits(bare.namedParameters(), a.model.namedParameters(), "model loaded from a training checkpoint")
        // A model-only file has nothing to resume from.
        let modelOnly = directory.appendingPathComponent("model.safetensors")
        try bare.save(to: modelOnly)
        let b = Self.trainer(MLPClassifier(seed: 2), train, test)
        XCTAssertThrowsError(try b.resume(from: modelOnly)) { error in
            XCTAssertEqual(error as? CheckpointError, .notATrainingCheckpoint(file: modelOnly.path, format: nil))
        }
    }

    /// Every way a checkpoint can lie is refused with an error naming the file, and leaves the
    /// trainer as it was: bad epochs, more steps than the epochs hold, non-finite or negative
    /// optimizer buffers, a parameter step beyond the optimizer's, a non-finite weight, a
    /// missing weight (the optimizer's state, loaded first, goes back).
    func testResumeRefusesInconsistentCheckpoints() throws {
        let (train, test) = (try Self.smallTrain(64), try Self.smallTest())
        let good = directory.appendingPathComponent("good.safetensors")
        let a = Self.trainer(MLPClassifier(seed: 1), train, test)
        _ = try a.trainEpoch()
        try a.save(to: good, modelName: "mlp")
        let original = try SafetensorsFile(contentsOf: good)
        var tensors = [String: Tensor]()
        for name in original.names { tensors[name] = try original.tensor(name) }

        /// `good` with some tensors replaced (nil: removed) and some metadata changed.
        func variant(_ name: String, tensors changes: [String: Tensor?] = [:], metadata: [String: String?] = [:]) throws -> URL {
            var t = tensors
            for (k, v) in changes { t[k] = v }
            var m = original.metadata
            for (k, v) in metadata { m[k] = v }
            let url = directory.appendingPathComponent(name)
            try SafetensorsFile.write(t.map { ($0.key, $0.value) }, metadata: m, to: url)
            return url
        }
        func poisoned(_ key: String, at index: Int, _ value: Float) -> Tensor {
            var v = tensors[key]!.scalars
            v[index] = value
            return Tensor(v, shape: tensors[key]!.shape)
        }
        let w = "output.weight"
        let cases: [(URL, (String) -> CheckpointError)] = [
            (try variant("minus5.safetensors", metadata: ["epoch": "-5"]),
             { .invalidMetadata(file: $0, key: "epoch", value: "-5", reason: "not a count of completed epochs (0 … 2147483647)") }),
            (try variant("noepoch.safetensors", metadata: ["epoch": String?.none]),
             { .invalidMetadata(file: $0, key: "epoch", value: nil, reason: "not a count of completed epochs (0 … 2147483647)") }),
            (try variant("steps.safetensors", metadata: ["epoch": "0"]),
             { .invalidMetadata(file: $0, key: "epoch", value: "0", reason: "0 epochs of 2 batches cannot hold the optimizer's 2 steps") }),
            (try variant("inf-m.safetensors", tensors: ["optimizer/\(w).exp_avg": poisoned("optimizer/\(w).exp_avg", at: 3, -.infinity)]),
             { .optimizerState(file: $0, .nonFinite(key: "\(w).exp_avg", index: 3, value: -.infinity)) }),
            (try variant("neg-v.safetensors", tensors: ["optimizer/\(w).exp_avg_sq": poisoned("optimizer/\(w).exp_avg_sq", at: 5, -1)]),
             { .optimizerState(file: $0, .negative(key: "\(w).exp_avg_sq", index: 5, value: -1)) }),
            (try variant("step.safetensors", tensors: ["optimizer/\(w).step": Tensor([0, 3], shape: [2])]),
             { .optimizerState(file: $0, .stepBeyondCount(key: "\(w).step", step: 3, stepCount: 2)) }),
            (try variant("inf-w.safetensors", tensors: [w: poisoned(w, at: 7, .infinity)]),
             { .nonFinite(name: w, index: 7, value: .infinity, file: $0) }),
            (try variant("missing.safetensors", tensors: ["output.bias": Tensor?.none]),
             { .missingParameter(name: "output.bias", file: $0) }),
        ]
        // NaN is not equal to itself, so its case is checked by the message.
        let nan = try variant("nan-m.safetensors", tensors: ["optimizer/\(w).exp_avg": poisoned("optimizer/\(w).exp_avg", at: 3, .nan)])
        let b = Self.trainer(MLPClassifier(seed: 2), train, test)
        let before = snapshot(b)
        XCTAssertThrowsError(try b.resume(from: nan)) { error in
            XCTAssertEqual("\(error)", "\(nan.path): optimizer state: '\(w).exp_avg' holds nan at element 3")
        }
        assertUnchanged(b, before, epoch: 0, "nan-m")
        for (url, expected) in cases {
            XCTAssertThrowsError(try b.resume(from: url), url.lastPathComponent) { error in
                XCTAssertEqual(error as? CheckpointError, expected(url.path), url.lastPathComponent)
                XCTAssertTrue("\(error)".hasPrefix(url.path + ": "), "\(error)")
            }
            assertUnchanged(b, before, epoch: 0, url.lastPathComponent)
        }
        try b.resume(from: good)
        XCTAssertEqual(b.epoch, 1)
    }

    /// The learning rate of a diverging run: the loss overflows within a few steps. Training
    /// stops there, naming the step; a parameter gone non-finite is named by the next step and
    /// never saved (the previous checkpoint stays as it was).
    func testTrainingStopsAtTheFirstNonFiniteLossAndSavesNothingNonFinite() throws {
        let (train, test) = (try Self.smallTrain(320), try Self.smallTest())
        let url = directory.appendingPathComponent("ck.safetensors")
        let model = MLPClassifier(seed: 1)
        let t = Trainer(model: model, optimizer: SGD(model.namedParameters(), learningRate: 1e30), train: train,
                        test: test, batchSize: 32, seed: 7)
        try t.save(to: url, modelName: "mlp")
        let saved = try Data(contentsOf: url)
        XCTAssertThrowsError(try t.trainEpoch()) { error in
            guard case let TrainerError.nonFinite(step, epoch, batch, culprit)? = error as? TrainerError else {
                return XCTFail("expected TrainerError.nonFinite, got \(error)")
            }
            XCTAssertEqual(epoch, 1)
            XCTAssertEqual(step, batch, "one step per batch in the first epoch")
            XCTAssertEqual(step, t.optimizer.stepCount + 1, "the step that was not taken")
            XCTAssertGreaterThan(step, 1, "the first step's loss is finite")
            XCTAssertTrue("\(error)".contains("training stopped at step \(step) (epoch 1, batch \(batch)): the loss is"), "\(error)")
            guard case .loss = culprit else { return XCTFail("\(culprit)") }
        }
        noGrad { model.output.bias!.assign(Tensor([1, 2, .infinity, 4, 5, 6, 7, 8, 9, 10], shape: [10])) }
        XCTAssertThrowsError(try t.save(to: url, modelName: "mlp")) { error in
            XCTAssertEqual(error as? TrainerError, .nonFiniteState(file: url.path, name: "output.bias", index: 2, value: .infinity))
        }
        XCTAssertEqual(try Data(contentsOf: url), saved, "the previous checkpoint is untouched")
        XCTAssertThrowsError(try t.trainEpoch()) { error in
            guard case let TrainerError.nonFinite(_, _, _, .loss(_, parameter))? = error as? TrainerError else { return XCTFail("\(error)") }
            XCTAssertNotNil(parameter, "the loss is not finite and a parameter already is not: it is named")
        }
    }

    /// A finite loss whose gradient is NaN: √w at w = 0 has an infinite derivative (times 0).
    final class SqrtProbe: Module, ImageClassifier {
        let inner = MLPClassifier(seed: 4)
        let w = Tensor.zeros([1]).requiringGrad()
        override var ownParameters: [(name: String, tensor: Tensor)] { [("w", w)] }
        override var children: [(name: String, module: Module)] { [("inner", inner)] }
        func callAsFunction(_ images: Tensor) -> Tensor { inner(images) + w.sqrt() * 0 }
        var flopsPerExample: Int { inner.flopsPerExample }
    }

    func testNonFiniteGradientStopsOrIsSkipped() throws {
        let (train, test) = (try Self.smallTrain(64), try Self.smallTest())
        let stop = Self.trainer(SqrtProbe(), train, test)
        XCTAssertThrowsError(try stop.trainEpoch()) { error in
            guard case let TrainerError.nonFinite(1, 1, 1, .gradient(parameter, index, value))? = error as? TrainerError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(parameter, "w")
            XCTAssertEqual(index, 0)
            XCTAssertTrue(value.isNaN)
        }
        XCTAssertEqual(stop.optimizer.stepCount, 0)
        let skip = Self.trainer(SqrtProbe(), train, test)
        skip.nonFinitePolicy = .skipBatch
        let before = snapshot(skip)
        _ = try skip.trainEpoch()
        XCTAssertEqual(skip.skippedBatches, 2)
        XCTAssertEqual(skip.epoch, 1)
        assertSameBits(skip.model.namedParameters(), before.parameters, "no step was taken")
    }

    /// A checkpoint resumed by a trainer with another seed or batch size would continue on a
    /// different data order and dropout: not the run that was saved, so it is refused.
    func testResumeRefusesOtherSeedOrBatchSize() throws {
        let (train, test) = (try Self.smallTrain(64), try Self.smallTest())
        let url = directory.appendingPathComponent("ck.safetensors")
        let a = Self.trainer(MLPClassifier(seed: 1), train, test, seed: 7, batchSize: 32)
        _ = try a.trainEpoch()
        try a.save(to: url, modelName: "mlp")
        for (seed, batchSize, setting) in [(8 as UInt64, 32, "seed"), (7, 16, "batch_size")] {
            let b = Self.trainer(MLPClassifier(seed: 1), train, test, seed: seed, batchSize: batchSize)
            XCTAssertThrowsError(try b.resume(from: url)) { error in
                guard case TrainerError.settingMismatch(let file, let name, _, _)? = error as? TrainerError else {
                    return XCTFail("expected TrainerError.settingMismatch, got \(error)")
                }
                XCTAssertEqual(file, url.path)
                XCTAssertEqual(name, setting)
            }
            XCTAssertEqual(b.epoch, 0)
        }
    }

    // MARK: (e) Evaluation

    /// Wraps a model and records, at each forward pass, the mode and whether a graph is built.
    final class Probe: Module, ImageClassifier {
        let inner: MLPClassifier
        var calls: [(training: Bool, gradEnabled: Bool, recorded: Bool)] = []
        init(_ inner: MLPClassifier) { self.inner = inner }
        override var children: [(name: String, module: Module)] { [("inner", inner)] }
        func callAsFunction(_ images: Tensor) -> Tensor {
            let y = inner(images)
            calls.append((isTraining, GradMode.isEnabled, !y.isLeaf || y.requiresGrad))
            return y
        }
        var flopsPerExample: Int { inner.flopsPerExample }
    }

    func testEvaluateRunsInEvalModeWithoutAGraphAndRestoresTheMode() throws {
        let test = try Self.data().test
        let probe = Probe(MLPClassifier(seed: 5))
        let t = Self.trainer(probe, try Self.smallTrain(64), test)
        XCTAssertTrue(probe.isTraining)
        let (loss, accuracy) = t.evaluate(test, batchSize: 128)   // 500 = 3·128 + 116
        XCTAssertEqual(probe.calls.count, 4)
        for c in probe.calls {
            XCTAssertFalse(c.training, "evaluation runs in eval mode")
            XCTAssertFalse(c.gradEnabled, "evaluation runs under noGrad")
            XCTAssertFalse(c.recorded, "evaluation records no graph")
        }
        XCTAssertTrue(probe.isTraining && probe.inner.hidden.isTraining, "back in training mode")
        XCTAssertTrue(probe.parameters.allSatisfy { $0.grad == nil })

        // The batch means are weighted by batch size: the same as one pass over all 500.
        let logits = noGrad { probe.inner(test.images) }
        XCTAssertEqual(loss, Double(crossEntropy(logits: logits, targets: test.labels).item), accuracy: 1e-5)
        XCTAssertEqual(accuracy, Double(HeedNN.accuracy(logits: logits, targets: test.labels)), accuracy: 1e-6)

        // A model in eval mode stays there.
        probe.eval()
        _ = Trainer.evaluate(probe, test)
        XCTAssertFalse(probe.isTraining)
    }
}
