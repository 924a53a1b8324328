import ArgumentParser
import Foundation
import Heed
import HeedNN

/// The hyper-parameters shared by `train` and `experiment`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Epochs to train.") var epochs = 10
    @Option(name: .customLong("batch-size"), help: "Examples per step.") var batchSize = 32
    @Option(help: "Learning rate (Adam; AdamW when --weight-decay > 0).") var lr: Float = 0.001
    @Option(name: .customLong("weight-decay"), help: "Decoupled weight decay (AdamW).") var weightDecay: Float = 0
    @Option(help: "Learning-rate schedule: constant, or cosine with linear warm-up.") var schedule: ScheduleKind = .constant
    @Option(help: "Warm-up steps of the cosine schedule.") var warmup = 0
    @Option(help: "Seed for initialisation, shuffling and dropout.") var seed: UInt64 = 0

    @Flag(name: .customLong("skip-nonfinite-batches"),
          help: "Skip the optimizer step of a batch whose loss or gradients are NaN or infinite (default: stop with an error naming the step).")
    var skipNonFiniteBatches = false

    enum ScheduleKind: String, ExpressibleByArgument { case constant, cosine }

    /// Bounds that keep every count below overflow (epochs × batches fits easily in Int).
    static let maxEpochs = 1_000_000, maxBatchSize = 1 << 16

    func validate() throws {
        try OptionCheck.inRange(epochs, 1...Self.maxEpochs, "--epochs")
        try OptionCheck.inRange(batchSize, 1...Self.maxBatchSize, "--batch-size")
        try OptionCheck.nonNegativeFinite(lr, "--lr")
        try OptionCheck.nonNegativeFinite(weightDecay, "--weight-decay")
        try OptionCheck.inRange(warmup, 0...Int(Int32.max), "--warmup")
        if warmup > 0 && schedule != .cosine {
            throw ValidationError("--warmup \(warmup) needs --schedule cosine (the constant schedule has no warm-up)")
        }
    }

    func makeTrainer(_ kind: ModelKind, train: Dataset, test: Dataset) throws -> Trainer {
        let model = kind.make(seed: seed)
        let params = model.namedParameters()
        let optimizer: any Optimizer = weightDecay > 0
            ? AdamW(params, learningRate: lr, weightDecay: weightDecay)
            : Adam(params, learningRate: lr)
        let totalSteps = epochs * ((train.count + batchSize - 1) / batchSize)
        // The one check that needs the data: the training set's size fixes the step count.
        guard warmup <= totalSteps else {
            throw ValidationError("--warmup \(warmup) is more than the \(totalSteps) steps of \(epochs) epochs of "
                                  + "\(train.count) examples at batch size \(batchSize)")
        }
        let schedule: ((Int) -> Float)? = schedule == .cosine
            ? { [lr, warmup] step in CosineWithWarmup(learningRate: lr, warmupSteps: warmup, totalSteps: totalSteps).lr(at: step) }
            : nil
        let trainer = Trainer(model: model, optimizer: optimizer, train: train, test: test,
                              batchSize: batchSize, seed: seed, schedule: schedule)
        trainer.nonFinitePolicy = skipNonFiniteBatches ? .skipBatch : .stop
        return trainer
    }
}

extension ModelKind: ExpressibleByArgument {}

/// `heed train --json` prints this once at the end.
struct TrainingSummary: Codable {
    var model: String
    var parameters: Int
    var flopsPerExample: Int
    var epochs: Int
    var batchSize: Int
    var seed: UInt64
    var threads: Int
    /// The last trained epoch's running accuracy; nil (absent from the JSON) when this run
    /// trained no epoch (resumed at or past `--epochs`).
    var trainAccuracy: Double?
    var testAccuracy: Double
    var testLoss: Double
    var secondsPerEpoch: Double
    var examplesPerSecond: Double
    var history: [EpochReport]

    enum CodingKeys: String, CodingKey {
        case model, parameters, epochs, seed, threads, history
        case flopsPerExample = "flops_per_example", batchSize = "batch_size"
        case trainAccuracy = "train_accuracy", testAccuracy = "test_accuracy", testLoss = "test_loss"
        case secondsPerEpoch = "seconds_per_epoch", examplesPerSecond = "examples_per_second"
    }
}

/// Trains `kind` for `options.epochs` epochs (or the epochs left after `resume`), printing a
/// progress bar and one line per epoch; returns the summary.
func runTraining(_ kind: ModelKind, _ options: TrainingOptions, train: Dataset, test: Dataset,
                 resume: String?, save: String?, log: String?, quiet: Bool = false) throws -> TrainingSummary {
    let trainer = try options.makeTrainer(kind, train: train, test: test)
    if let resume {
        let url = URL(fileURLWithPath: resume)
        // A checkpoint of another model would fail on its first parameter name; say why instead.
        if let saved = try SafetensorsFile(contentsOf: url).metadata["model"], saved != kind.rawValue {
            throw ValidationError("\(resume) holds a '\(saved)' model: resume it with --model \(saved)")
        }
        try trainer.resume(from: url)
        printError("resumed \(resume) after epoch \(trainer.epoch)")
    }
    // Appended to, as the help says: a resumed run continues the log of the run it resumes.
    let logHandle = try log.map { path -> FileHandle in
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: path) else { throw ValidationError("cannot write the log file \(path)") }
        try h.seekToEnd()
        return h
    }
    defer { try? logHandle?.close() }
    var history: [EpochReport] = []
    while trainer.epoch < options.epochs {
        let e = trainer.epoch + 1
        var bar = ProgressBar(label: "\(kind.rawValue) epoch \(e)/\(options.epochs)", total: trainer.batchesPerEpoch,
                              batchSize: options.batchSize)
        let (loss, acc, seconds) = try trainer.trainEpoch { b, n, l, a in bar.update(b, loss: l, accuracy: a) }
        bar.finish()
        if trainer.skippedBatches > 0 {
            printError("\(kind.rawValue): \(trainer.skippedBatches) batches with a non-finite loss or gradient skipped so far")
        }
        let (testLoss, testAcc) = trainer.evaluate(test)
        let report = EpochReport(epoch: e, trainLoss: loss, trainAccuracy: acc, testLoss: testLoss, testAccuracy: testAcc,
                                 seconds: seconds, examplesPerSecond: Double(train.count) / seconds,
                                 learningRate: Double(trainer.optimizer.learningRate))
        history.append(report)
        try logHandle?.write(contentsOf: Data((jsonLine(report) + "\n").utf8))
        if !quiet {
            printError(String(format: "%@ epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  %.2f s  %.0f ex/s",
                              kind.rawValue, e, options.epochs, loss, acc, testAcc, seconds, report.examplesPerSecond))
        }
        if let save { try trainer.save(to: URL(fileURLWithPath: save), modelName: kind.rawValue) }
    }
    // The last epoch's evaluation is the final one; evaluate only when no epoch ran.
    let (testLoss, testAcc) = history.last.map { ($0.testLoss, $0.testAccuracy) } ?? trainer.evaluate(test)
    let seconds = history.map(\.seconds).sorted()
    let median = seconds.isEmpty ? 0 : seconds[seconds.count / 2]
    return TrainingSummary(
        model: kind.rawValue, parameters: trainer.model.parameterCount, flopsPerExample: trainer.model.flopsPerExample,
        epochs: trainer.epoch, batchSize: options.batchSize, seed: options.seed, threads: Parallel.workerCount,
        trainAccuracy: history.last?.trainAccuracy, testAccuracy: testAcc, testLoss: testLoss,
        secondsPerEpoch: median, examplesPerSecond: median > 0 ? Double(train.count) / median : 0, history: history)
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a model on Fashion-MNIST.")

    @Option(help: "mlp, pooling or vit.") var model: ModelKind = .mlp
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var options: TrainingOptions
    @Option(help: "Save a checkpoint (model + optimizer) here after every epoch.") var save: String?
    @Option(help: "Resume from a checkpoint written by --save.") var resume: String?
    @Option(help: "Append one JSON line per epoch to this file.") var log: String?
    @Flag(help: "Print a JSON summary on standard output.") var json = false

    func validate() throws {
        if let save { try OptionCheck.writableFile(save, "--save") }
        if let resume { try OptionCheck.readableFile(resume, "--resume") }
        if let log { try OptionCheck.writableFile(log, "--log") }
    }

    func run() throws {
        let train = try dataOptions.load(.train), test = try dataOptions.load(.test)
        let summary = try runTraining(model, options, train: train, test: test, resume: resume, save: save, log: log)
        if json {
            print(try jsonLine(summary))
        } else {
            print(String(format: "%@: test accuracy %.4f, %.2f s/epoch (median), %.0f examples/s, %d parameters",
                         summary.model, summary.testAccuracy, summary.secondsPerEpoch, summary.examplesPerSecond, summary.parameters))
        }
    }
}
