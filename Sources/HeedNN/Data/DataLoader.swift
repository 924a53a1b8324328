import Heed

/// Mini-batches of a `Dataset`, reshuffled every epoch:
///
///     let loader = DataLoader(train, batchSize: 32, seed: 42)
///     for epoch in 0..<10 {
///         for (x, y) in loader.epoch(epoch) { … }   // x [b, 28, 28], y [b]
///     }
///
/// Epoch k's order depends only on (seed, k), not on the epochs before it, so a run resumed at
/// epoch k sees the same batches as one that never stopped.
public struct DataLoader {
    public typealias Batch = (images: Tensor, labels: [Int])

    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    /// Drop the last batch when it is smaller than `batchSize`.
    public let dropLast: Bool

    public init(_ dataset: Dataset, batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0, dropLast: Bool = false) {
        check(batchSize > 0, "DataLoader: batch size \(batchSize) must be positive")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
    }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The example indices of epoch `k` in the order they are served (all of them, even those
    /// `dropLast` leaves out).
    public func order(epoch k: Int) -> [Int] {
        check(k >= 0, "DataLoader.order: negative epoch \(k)")
        guard shuffle else { return Array(0..<dataset.count) }
        // One generator per epoch, seeded from (seed, k): a base drawn from `seed`, plus k.
        // Xoshiro256's SplitMix64 seeding makes neighbouring seeds independent streams.
        var base = Xoshiro256(seed: seed)
        var rng = Xoshiro256(seed: base.next() &+ UInt64(k))
        return seededPermutation(dataset.count, using: &rng)
    }

    public func epoch(_ k: Int) -> Epoch { Epoch(loader: self, order: order(epoch: k)) }

    /// One pass over the data; each batch is a fresh tensor, so it may be kept.
    public struct Epoch: Sequence, IteratorProtocol {
        let loader: DataLoader
        let order: [Int]
        var position = 0

        public var count: Int { loader.batchCount }
        public var underestimatedCount: Int { loader.batchCount - position / loader.batchSize }

        public mutating func next() -> Batch? {
            let end = Swift.min(position + loader.batchSize, order.count)
            guard position < end, !(loader.dropLast && end - position < loader.batchSize) else { return nil }
            let indices = Array(order[position..<end])
            position = end
            let labels = loader.dataset.labels
            return (gatherRows(loader.dataset.images, indices), indices.map { labels[$0] })
        }
    }
}
