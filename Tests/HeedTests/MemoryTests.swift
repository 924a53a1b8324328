import XCTest
@testable import Heed
import HeedTestSupport

/// The allocator's accounting is exact and deterministic, so memory is tested, not timed.
final class MemoryTests: XCTestCase {
    func testAllocationAndFreeAreCounted() {
        let before = MemoryStats.liveBytes
        do {
            let t = Tensor.zeros([1000, 10])
            XCTAssertEqual(MemoryStats.liveBytes - before, 40_000)
            let view = t.transposed().slice(axis: 0, 2..<5).expanded([4, 3, 1000])
            XCTAssertTrue(view.storage === t.storage)
            XCTAssertEqual(MemoryStats.liveBytes - before, 40_000, "views allocate nothing")
            let copy = t.transposed().reshaped([100, 100])   // not expressible as a view: one copy
            XCTAssertFalse(copy.storage === t.storage)
            XCTAssertEqual(MemoryStats.liveBytes - before, 80_000, "a forced copy allocates one buffer")
        }
        XCTAssertEqual(MemoryStats.liveBytes, before)
    }

    func testPeakTracksTheHighWaterMarkAndResets() {
        MemoryStats.resetPeak()
        let base = MemoryStats.liveBytes
        XCTAssertEqual(MemoryStats.peakBytes, base)
        do {
            let a = Tensor.zeros([1 << 18])          // 1 MiB
            _ = Tensor.zeros([1 << 18])             // freed at once
            withExtendedLifetime(a) {}
        }
        XCTAssertGreaterThanOrEqual(MemoryStats.peakBytes - base, 2 << 20)
        XCTAssertEqual(MemoryStats.liveBytes, base)
        MemoryStats.resetPeak()
        XCTAssertEqual(MemoryStats.peakBytes, base)
    }

    /// After a forward/backward pass and dropping everything, live bytes return exactly to the
    /// starting point: no leaked storage, and no reference cycle between tensors and graph nodes.
    func testForwardBackwardLeaksNothing() {
        let before = MemoryStats.liveBytes
        do {
            let w1 = Tensor.randomNormal([16, 32], seed: 1).requiringGrad()
            let w2 = Tensor.randomNormal([32, 4], seed: 2).requiringGrad()
            let x = Tensor.randomNormal([8, 16], seed: 3)
            for _ in 0..<3 {
                let h = x.matmul(w1).tanh().gelu()
                let logits = h.matmul(w2).softmax(axis: -1).log()
                let loss = (logits * logits).mean() + h.max(axis: 1).sum() + h.variance(axes: [0]).sum()
                loss.backward()
            }
            XCTAssertNotNil(w1.grad)
            XCTAssertGreaterThan(MemoryStats.liveBytes, before)
        }
        XCTAssertEqual(MemoryStats.liveBytes, before, "storage leaked by a forward/backward pass")
    }

    func testRetainedGraphIsFreedWhenDropped() {
        let before = MemoryStats.liveBytes
        do {
            let x = Tensor.randomNormal([64, 64], seed: 4).requiringGrad()
            let y = x.exp().matmul(x).sigmoid().sum()
            y.backward(retainGraph: true)   // graph kept alive by y
        }
        XCTAssertEqual(MemoryStats.liveBytes, before, "a retained graph must die with its output")
    }

    /// Large freed buffers are reused for the next allocation of the same size (no fresh
    /// mmap, no page faults), and cached bytes are not counted as live.
    func testLargeBuffersAreReusedAndNotCountedLive() {
        withBufferCacheLimit(1 << 30) {
            MemoryStats.emptyCache()
            let before = MemoryStats.liveBytes
            var first: UnsafeMutablePointer<Float>? = nil
            do { first = Tensor.zeros([1 << 20]).storage.pointer }
            XCTAssertEqual(MemoryStats.liveBytes, before)
            XCTAssertEqual(MemoryStats.cachedBytes, 4 << 20)
            let again = Tensor.ones([1 << 20])
            XCTAssertEqual(again.storage.pointer, first, "same-size allocation reuses the cached buffer")
            XCTAssertEqual(again.sum().item, Float(1 << 20), "reused buffer is initialised")
            XCTAssertEqual(MemoryStats.cachedBytes, 0)
            MemoryStats.cacheLimitBytes = 0
            do { _ = Tensor.zeros([1 << 20]) }
            XCTAssertEqual(MemoryStats.cachedBytes, 0, "limit 0 turns caching off")
        }
    }

    /// HEED_CACHE_LIMIT_BYTES sets the cache's starting limit; a value that is no byte count
    /// stops the process naming the variable rather than being ignored.
    func testCacheLimitComesFromTheEnvironment() {
        restoringEnvironment("HEED_CACHE_LIMIT_BYTES") {
            unsetenv("HEED_CACHE_LIMIT_BYTES")
            XCTAssertEqual(BufferCache.limitFromEnvironment(), 1 << 30)
            setenv("HEED_CACHE_LIMIT_BYTES", "0", 1)
            XCTAssertEqual(BufferCache.limitFromEnvironment(), 0)
            setenv("HEED_CACHE_LIMIT_BYTES", "65536", 1)
            XCTAssertEqual(BufferCache.limitFromEnvironment(), 65536)
            for bad in ["-1", "1GB", ""] {
                setenv("HEED_CACHE_LIMIT_BYTES", bad, 1)
                assertStops(containing: "HEED_CACHE_LIMIT_BYTES='\(bad)' is not a byte count") {
                    _ = BufferCache.limitFromEnvironment()
                }
            }
        }
    }
}
