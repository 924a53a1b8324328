import Dispatch

/// Work splitting over the machine's cores. Big element-wise ops and reductions go through
/// here; BLAS calls manage their own threads.
public enum Parallel {
    /// Worker count for Heed's own loops (the number of active cores).
    public static let workerCount = max(1, System.activeProcessorCount)

    /// Calls `body` on disjoint sub-ranges of `0..<count` that cover it, on up to `workerCount`
    /// threads; a single call on the current thread when `count < 2 * grain`.
    /// `grain` is the least work per thread worth a thread hop (1–2 µs to a polling worker).
    @inline(__always)
    public static func forRanges(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let workers = min(workerCount, count / max(grain, 1))
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let share = { (w: Int) in body((w * count / workers)..<((w + 1) * count / workers)) }
        if let pool = WorkerPool.shared, pool.run(shares: workers, share) { return }
        // The pool is busy: another thread's job, or a share of one calling back in.
        withoutActuallyEscaping(share) { share in
            // Workers touch disjoint ranges; the closure only lives for this call.
            let shared = UncheckedSendable(share)
            DispatchQueue.concurrentPerform(iterations: workers) { w in shared.value(w) }
        }
    }
}

extension Parallel {
    /// `forRanges` over the elements `0..<count` of a vector loop: every range but the last
    /// starts and ends on a multiple of 16 (one `SIMD16` step), so only the last one has a tail.
    /// `grain` is in elements.
    @inline(__always)
    public static func forVectorRanges(_ count: Int, grain: Int = elementwiseGrain, _ body: (Range<Int>) -> Void) {
        forRanges((count + 15) / 16, grain: grain / 16) { blocks in
            body((blocks.lowerBound * 16)..<Swift.min(blocks.upperBound * 16, count))
        }
    }
}

/// Lets a value cross into `concurrentPerform`'s `@Sendable` closure. Only for closures and
/// pointers whose workers write disjoint memory and that do not outlive the call.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

enum System {
    static var activeProcessorCount: Int {
        #if canImport(Glibc)
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
        return 1
        #endif
    }
}

#if canImport(Glibc)
import Glibc
#endif
