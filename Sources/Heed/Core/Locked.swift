#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex: `withLock` gives one thread at a time `inout` access.
///
/// Not the standard library's `Synchronization.Mutex`: on Linux its lock is a futex driven
/// from the uninstrumented runtime, so ThreadSanitizer sees none of its ordering and reports
/// every `withLock` on two threads as a Swift access race (tools/sanitize.sh). TSan intercepts
/// `pthread_mutex_lock`/`unlock`, so with this lock a report is a real race. Uncontended, a
/// lock and unlock cost about as much as the futex's.
final class Locked<Value: ~Copyable>: @unchecked Sendable {
    // Heap-allocated: a pthread_mutex_t must not move, and Swift may move stored properties.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: consuming Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        let rc = pthread_mutex_init(mutex, nil)
        check(rc == 0, "Locked: pthread_mutex_init failed (\(rc))")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
