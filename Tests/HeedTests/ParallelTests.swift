import Dispatch
import Synchronization
import XCTest
@testable import Heed
import HeedTestSupport

/// `Parallel.forRanges` on its worker pool: every index exactly once, whatever the pool is doing.
final class ParallelTests: XCTestCase {
    /// Runs forRanges over 0..<count and returns how often each index was visited.
    private static func visits(_ count: Int, grain: Int) -> [Int] {
        let hits = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
        defer { hits.deallocate() }
        hits.initialize(repeating: 0)
        let base = UncheckedSendable(hits.baseAddress!)
        Parallel.forRanges(count, grain: grain) { r in
            for i in r { base.value[i] += 1 }
        }
        return Array(hits.prefix(count))
    }

    func testEveryIndexOnceForManyJobsInARow() {
        // Back to back, so the workers are still polling: the path a training step takes.
        for job in 0..<20_000 {
            let count = job % 97 * 3
            let v = Self.visits(count, grain: 1)
            if v != [Int](repeating: 1, count: count) { return XCTFail("job \(job), count \(count): \(v)") }
        }
    }

    func testAJobAfterTheWorkersFellAsleep() {
        for _ in 0..<5 {
            usleep(UInt32(WorkerPool.spinNanoseconds / 1000 * 3))   // past the spin: workers sleep
            XCTAssertEqual(Self.visits(1000, grain: 1), [Int](repeating: 1, count: 1000))
        }
    }

    func testNestedCallsFromInsideAShare() {
        let total = Atomic<Int>(0)
        Parallel.forRanges(64, grain: 1) { outer in
            for _ in outer {
                Parallel.forRanges(100, grain: 1) { inner in total.add(inner.count, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(total.load(ordering: .relaxed), 64 * 100)
    }

    /// A forked child has no workers: it runs every share itself, whether the parent's workers
    /// were polling (a job just ran) or asleep at the fork.
    func testAForkedChildRunsJobsAlone() {
        for asleep in [false, true] {
            _ = Self.visits(1000, grain: 1)
            if asleep { usleep(UInt32(WorkerPool.spinNanoseconds / 1000 * 3)) }
            assertStops(containing: "child visited 1000 of 1000 once", timeout: 10) {
                let v = Self.visits(1000, grain: 1)
                fatalError("child visited \(v.filter { $0 == 1 }.count) of 1000 once")
            }
        }
    }

    func testCallersOnSeveralThreadsAtOnce() {
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for job in 0..<2_000 {
                let count = (job * 7 + t) % 200
                if Self.visits(count, grain: 1) != [Int](repeating: 1, count: count) { failures.add(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
    }
}
