import Heed
import HeedNN
import XCTest

/// Batching, per-epoch shuffling and validation splits, on datasets whose example i is filled
/// with the value i (so every batch row says which example it came from) and labelled i % 10.
final class DataLoaderTests: XCTestCase {
    func numbered(_ n: Int, exampleShape: [Int] = [2, 3]) -> Dataset {
        let size = exampleShape.reduce(1, *)
        let values = (0..<n).flatMap { Array(repeating: Float($0), count: size) }
        return Dataset(images: Tensor(values, shape: [n] + exampleShape), labels: (0..<n).map { $0 % 10 },
                       classNames: (0..<10).map { "class \($0)" })
    }

    /// The example indices of each batch, read back from the rows; checks rows and labels agree.
    func served(_ epoch: DataLoader.Epoch, file: StaticString = #filePath, line: UInt = #line) -> [[Int]] {
        epoch.map { batch in
            let size = batch.images.count / max(batch.images.shape[0], 1)
            let values = batch.images.scalars
            let ids = (0..<batch.images.shape[0]).map { Int(values[$0 * size]) }
            for (r, id) in ids.enumerated() {
                XCTAssertEqual(Array(values[(r * size)..<((r + 1) * size)]), Array(repeating: Float(id), count: size),
                               "row \(r) is not one example", file: file, line: line)
            }
            XCTAssertEqual(batch.labels, ids.map { $0 % 10 }, "labels do not follow the rows", file: file, line: line)
            return ids
        }
    }

    func testEveryIndexExactlyOncePerEpochWithPartialLastBatch() {
        let loader = DataLoader(numbered(103), batchSize: 10, seed: 7)
        XCTAssertEqual(loader.batchCount, 11)
        for k in 0..<3 {
            let batches = served(loader.epoch(k))
            XCTAssertEqual(batches.map(\.count), Array(repeating: 10, count: 10) + [3])
            XCTAssertEqual(batches.flatMap { $0 }.sorted(), Array(0..<103), "epoch \(k)")
        }
        let first = loader.epoch(0).first { _ in true }!
        XCTAssertEqual(first.images.shape, [10, 2, 3])
    }

    func testDropLast() {
        let loader = DataLoader(numbered(103), batchSize: 10, seed: 7, dropLast: true)
        XCTAssertEqual(loader.batchCount, 10)
        let batches = served(loader.epoch(2))
        XCTAssertEqual(batches.map(\.count), Array(repeating: 10, count: 10))
        let ids = batches.flatMap { $0 }
        XCTAssertEqual(Set(ids).count, 100)
        XCTAssertEqual(ids, Array(loader.order(epoch: 2).prefix(100)))
    }

    func testWithoutShuffleTheOrderIsTheDatasetsOrder() {
        let loader = DataLoader(numbered(23), batchSize: 10, shuffle: false)
        XCTAssertEqual(served(loader.epoch(5)), [Array(0..<10), Array(10..<20), [20, 21, 22]])
    }

    func testSameSeedAndEpochGiveTheSameOrderAndResumingReproducesIt() {
        let a = DataLoader(numbered(50), batchSize: 8, seed: 42)
        for k in 0..<3 { _ = served(a.epoch(k)) }  // epochs already run must not matter
        let resumed = DataLoader(numbered(50), batchSize: 8, seed: 42)
        XCTAssertEqual(served(a.epoch(3)), served(resumed.epoch(3)))
        XCTAssertEqual(a.order(epoch: 3), resumed.order(epoch: 3))
    }

    func testDifferentEpochsAndSeedsDiffer() {
        let a = DataLoader(numbered(50), batchSize: 8, seed: 42)
        let orders = (0..<5).map { a.order(epoch: $0) }
        XCTAssertEqual(Set(orders).count, 5)
        XCTAssertNotEqual(a.order(epoch: 0), DataLoader(numbered(50), batchSize: 8, seed: 43).order(epoch: 0))
        XCTAssertNotEqual(a.order(epoch: 0), Array(0..<50))
    }

    func testSmallAndEmptyDatasets() {
        XCTAssertEqual(served(DataLoader(numbered(5), batchSize: 8, shuffle: false).epoch(0)), [Array(0..<5)])
        XCTAssertEqual(served(DataLoader(numbered(5), batchSize: 8, dropLast: true).epoch(0)), [])
        XCTAssertEqual(served(DataLoader(numbered(0), batchSize: 8).epoch(0)), [])
    }

    /// Fisher–Yates with unbiased bounded draws: the 6 orders of 3 items are equally likely.
    /// 6,000 epochs, 1,000 expected each; ±150 is beyond 5 standard deviations (√(6000·⅙·⅚) ≈ 29).
    func testShuffleIsUniformOverPermutations() {
        let loader = DataLoader(numbered(3), batchSize: 3, seed: 1)
        var counts: [[Int]: Int] = [:]
        for k in 0..<6000 { counts[loader.order(epoch: k), default: 0] += 1 }
        XCTAssertEqual(counts.count, 6)
        for (order, c) in counts { XCTAssertEqual(Double(c), 1000, accuracy: 150, "\(order)") }
    }

    func testValidationSplit() {
        let data = numbered(103)
        let (train, validation) = data.validationSplit(fraction: 0.2, seed: 3)
        XCTAssertEqual(validation.count, 21)  // round(0.2 · 103)
        XCTAssertEqual(train.count, 82)
        let v = ids(validation), t = ids(train)
        XCTAssertEqual((v + t).sorted(), Array(0..<103))
        XCTAssertEqual(v, v.sorted(), "each part keeps the original order")
        XCTAssertEqual(validation.labels, v.map { $0 % 10 })
        XCTAssertEqual(train.images.shape, [82, 2, 3])
        XCTAssertEqual(ids(data.validationSplit(fraction: 0.2, seed: 3).validation), v)
        XCTAssertNotEqual(ids(data.validationSplit(fraction: 0.2, seed: 4).validation), v)
        XCTAssertEqual(data.validationSplit(fraction: 0, seed: 3).validation.count, 0)
        XCTAssertEqual(data.validationSplit(fraction: 1, seed: 3).train.count, 0)
    }

    func ids(_ d: Dataset) -> [Int] {
        let s = d.images.scalars
        return (0..<d.count).map { Int(s[$0 * 6]) }
    }

    /// One epoch of Fashion-MNIST's size in batches of 32 (1,875 batches). The bound is loose
    /// (a debug build, other jobs on the machine); it catches per-element tensor ops, which cost
    /// seconds. A release build takes milliseconds: see the commit message.
    func testAnEpochOfSixtyThousandImagesIsFast() {
        let images = Tensor.zeros([60000, 28, 28])
        let data = Dataset(images: images, labels: Array(repeating: 0, count: 60000), classNames: ["x"])
        let loader = DataLoader(data, batchSize: 32, seed: 0)
        let clock = ContinuousClock()
        var rows = 0
        let elapsed = clock.measure {
            for batch in loader.epoch(0) { rows += batch.images.shape[0] }
        }
        XCTAssertEqual(rows, 60000)
        XCTAssertLessThan(elapsed, .seconds(2))
    }
}
