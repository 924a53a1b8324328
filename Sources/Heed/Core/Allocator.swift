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

    /// Bytes held by the buffer cache for reuse (not live: no tensor uses them).
    public static var cachedBytes: Int { BufferCache.shared.withLock { $0.bytes } }

    /// Most bytes the buffer cache may hold; 0 turns caching off. The default is 1 GiB, or
    /// the environment's `HEED_CACHE_LIMIT_BYTES` when set (`0` for sanitizer runs: a cached
    /// buffer would hide a use after free from ASan).
    public static var cacheLimitBytes: Int {
        get { BufferCache.shared.withLock { $0.limit } }
        set { BufferCache.shared.withLock { $0.limit = newValue; $0.trim() } }
    }

    /// Returns every cached buffer to the system.
    public static func emptyCache() {
        BufferCache.shared.withLock { cache in
            let limit = cache.limit
            cache.limit = 0
            cache.trim()
            cache.limit = limit
        }
    }
}

/// Freed large buffers kept for reuse by the next allocation of exactly the same size.
///
/// Large blocks come from mmap, and a fresh mapping costs one page fault per 4 KiB on first
/// touch: a 32 MiB result buffer costs ~8,000 faults, measured at up to 1.8× the time of the
/// attention step that fills it (PERF-NOTES). Training and inference loops allocate the same
/// sizes every step, so exact-size reuse removes the faults. Small blocks are left to malloc,
/// which recycles them from its heap without faults.
struct BufferCache: ~Copyable {
    static let shared = Locked(BufferCache())
    static let minimumBytes = 1 << 16

    var free: [Int: [UnsafeMutableRawPointer]] = [:]
    var bytes = 0
    var limit = BufferCache.limitFromEnvironment()

    /// `HEED_CACHE_LIMIT_BYTES`, a non-negative decimal byte count, else 1 GiB. A value that is
    /// not one stops the process naming it: silently keeping the default would let a sanitizer
    /// run believe caching is off when it is not.
    static func limitFromEnvironment() -> Int {
        let name = "HEED_CACHE_LIMIT_BYTES"
        guard let raw = getenv(name) else { return 1 << 30 }
        let text = String(cString: raw)
        guard let value = Int(text), value >= 0 else {
            checkFailure("\(name)='\(text)' is not a byte count (a non-negative integer; 0 turns the buffer cache off)")
        }
        return value
    }

    mutating func take(_ size: Int) -> UnsafeMutableRawPointer? {
        guard size >= Self.minimumBytes, let p = free[size]?.popLast() else { return nil }
        bytes -= size
        return p
    }

    /// Keeps `p` if the cache has room, else frees it.
    mutating func give(_ p: UnsafeMutableRawPointer, _ size: Int) {
        guard size >= Self.minimumBytes, bytes + size <= limit else { Glibc.free(p); return }
        free[size, default: []].append(p)
        bytes += size
    }

    mutating func trim() {
        while bytes > limit, let size = free.keys.max(), let p = free[size]?.popLast() {
            Glibc.free(p)
            bytes -= size
            if free[size]?.isEmpty == true { free[size] = nil }
        }
    }
}

/// A reference-counted, 64-byte-aligned block of Float32, the storage that tensors view.
/// Many `Tensor`s (views) may share one storage; it is freed when the last one goes.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    /// Uninitialised storage of `count` floats. Callers write every element before reading.
    init(uninitializedCount count: Int) {
        check(count >= 0, "TensorStorage: negative size \(count)")
        self.count = count
        let size = max(count, 1) * MemoryLayout<Float>.stride
        var raw = BufferCache.shared.withLock { $0.take(size) }
        if raw == nil {
            // 64-byte alignment: one cache line, and whole AVX-512 vectors.
            let rc = posix_memalign(&raw, 64, size)
            check(rc == 0 && raw != nil, "TensorStorage: out of memory allocating \(count) floats")
        }
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
        let size = max(count, 1) * MemoryLayout<Float>.stride
        BufferCache.shared.withLock { $0.give(UnsafeMutableRawPointer(pointer), size) }
        MemoryStats.didFree(count * MemoryLayout<Float>.stride)
    }
}
