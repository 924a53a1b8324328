import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Counts every byte of tensor storage Heed allocates: live bytes now, and the peak since the
/// last `resetPeak()`. Thread-safe (atomics), so kernels running on both cores may allocate.
///
/// The benchmark reads the peak per case; tests use the live count to prove that a
/// forward/backward pass leaks nothing once its results are dropped.
public enum MemoryStats {
    private static let live = Atomic<Int>(0)
    private static let peak = Atomic<Int>(0)
    private static let allocations = Atomic<Int>(0)

    /// Bytes of tensor storage alive right now.
    public static var liveBytes: Int { live.load(ordering: .relaxed) }
    /// The most bytes alive at once since the process started or `resetPeak()` was last called.
    public static var peakBytes: Int { peak.load(ordering: .relaxed) }
    /// How many storage buffers have been allocated in total (never decreases).
    public static var allocationCount: Int { allocations.load(ordering: .relaxed) }

    /// Starts a new peak window at the current live count.
    public static func resetPeak() { peak.store(live.load(ordering: .relaxed), ordering: .relaxed) }

    static func didAllocate(_ bytes: Int) {
        allocations.add(1, ordering: .relaxed)
        let now = live.add(bytes, ordering: .relaxed).newValue
        var seen = peak.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = peak.compareExchange(
                expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    static func didFree(_ bytes: Int) { live.subtract(bytes, ordering: .relaxed) }
}

/// A reference-counted, 64-byte-aligned block of Float32, the storage that tensors view.
/// Many `Tensor`s (views) may share one storage; it is freed when the last one goes.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Uninitialised storage of `count` floats. Callers write every element before reading.
    init(uninitializedCount count: Int) {
        precondition(count >= 0, "TensorStorage: negative size \(count)")
        self.count = count
        var raw: UnsafeMutableRawPointer? = nil
        // 64-byte alignment: one cache line, and whole AVX-512 vectors.
        let rc = posix_memalign(&raw, 64, max(count, 1) * MemoryLayout<Float>.stride)
        precondition(rc == 0 && raw != nil, "TensorStorage: out of memory allocating \(count) floats")
        pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 1))
        MemoryStats.didAllocate(count * MemoryLayout<Float>.stride)
    }

    convenience init(repeating value: Float, count: Int) {
        self.init(uninitializedCount: count)
        if value == 0 {
            memset(pointer, 0, count * MemoryLayout<Float>.stride)
        } else {
            pointer.initialize(repeating: value, count: count)
        }
    }

    deinit {
        free(pointer)
        MemoryStats.didFree(count * MemoryLayout<Float>.stride)
    }
}
