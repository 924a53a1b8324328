import CHeedKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The threads behind `Parallel.forRanges`: `workerCount − 1` workers that stay awake (polling,
/// with a pause) for a short while after each job, then sleep on a condition variable.
///
/// Why not `DispatchQueue.concurrentPerform`: it wakes a sleeping worker through a futex for
/// every call, and a training step of a small model makes a dozen such calls. On this 2-core VM
/// the wake-ups (`try_to_wake_up`, `finish_task_switch`) were a fifth of the seed MLP's step.
/// PyTorch's OpenMP and onnxruntime's intra-op pool spin the same way between ops.
///
/// A job is `shares` calls of one body, claimed one share at a time through `ticket`, so the
/// caller runs any share no worker has claimed yet: a worker that is asleep or descheduled
/// delays nothing it has not started.
final class WorkerPool: @unchecked Sendable {
    /// How long an idle worker polls before it sleeps. Longer than the gaps between the ops of a
    /// training step or an embedding call (tens of µs), short enough that another process on
    /// the machine — a peer in the benchmark — gets the core back at once.
    static let spinNanoseconds = 100_000

    static let shared: WorkerPool? = Parallel.workerCount > 1 ? WorkerPool(threads: Parallel.workerCount - 1) : nil

    /// generation (32 bits) · shares (16) · next unclaimed share (16). A claim is a CAS, so a
    /// worker still looking at the last job can never take a share of the next.
    private let ticket = Atomic<UInt64>(0)
    private let finished = Atomic<Int>(0)
    /// One caller at a time; another caller (another thread, or a share calling back into
    /// `forRanges`) falls back to Dispatch.
    private let busy = Atomic<Bool>(false)
    private let sleepers = Atomic<Int>(0)
    // Written by the caller before it publishes a ticket, read by a worker only after it won a
    // claim on that ticket (the CAS acquires what the publishing store released).
    private var body: ((Int) -> Void)?
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    private init(threads: Int) {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for _ in 0..<threads {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let rc = pthread_create(&thread, nil, { context in
                Unmanaged<WorkerPool>.fromOpaque(context!).takeRetainedValue().work()
                return nil
            }, context)
            check(rc == 0, "Parallel: pthread_create failed (\(rc))")
            pthread_detach(thread)
        }
        // A forked child has none of the workers, and a worker may have held the mutex at the
        // fork: the child starts with a fresh mutex and no sleepers, and runs every share itself.
        pthread_atfork(nil, nil) { WorkerPool.shared?.afterForkInChild() }
    }

    private func afterForkInChild() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        sleepers.store(0, ordering: .relaxed)
    }

    private static func generation(_ t: UInt64) -> UInt64 { t >> 32 }
    private static func shares(_ t: UInt64) -> Int { Int((t >> 16) & 0xFFFF) }
    private static func next(_ t: UInt64) -> Int { Int(t & 0xFFFF) }

    /// Runs `body(0..<shares)` across the pool and this thread; false (nothing run) when the
    /// pool is already running a job.
    func run(shares: Int, _ body: (Int) -> Void) -> Bool {
        guard shares <= 0xFFFF, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            self.body = body
            finished.store(0, ordering: .relaxed)
            let g = (Self.generation(ticket.load(ordering: .relaxed)) &+ 1) & 0xFFFF_FFFF
            ticket.store(g << 32 | UInt64(shares) << 16, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(wake)
                pthread_mutex_unlock(mutex)
            }
            while let share = claim(generation: g) {
                body(share)
                finished.add(1, ordering: .relaxed)
            }
            // Only shares a worker has started remain; wait for them.
            var polls = 0
            while finished.load(ordering: .acquiring) < shares {
                polls += 1
                if polls < 1 << 14 { heed_cpu_relax() } else { sched_yield() }
            }
            self.body = nil
        }
        return true
    }

    /// Takes the next share of job `generation`, or nil when it has none left.
    private func claim(generation g: UInt64) -> Int? {
        var t = ticket.load(ordering: .acquiring)
        while Self.generation(t) == g && Self.next(t) < Self.shares(t) {
            let (won, now) = ticket.compareExchange(expected: t, desired: t + 1, ordering: .acquiringAndReleasing)
            if won { return Self.next(t) }
            t = now
        }
        return nil
    }

    private func work() {
        var seen = Self.generation(ticket.load(ordering: .acquiring))
        while true {
            let g = waitForJob(after: seen)
            seen = g
            while let share = claim(generation: g) {
                do {   // the copy of the body is released before the caller may return
                    let run = body.unsafelyUnwrapped
                    run(share)
                }
                finished.add(1, ordering: .releasing)
            }
        }
    }

    /// Polls for a ticket newer than `seen` for `spinNanoseconds`, then sleeps until one comes.
    private func waitForJob(after seen: UInt64) -> UInt64 {
        let start = Self.nanoseconds()
        var polls = 0
        while true {
            let g = Self.generation(ticket.load(ordering: .acquiring))
            if g != seen { return g }
            polls += 1
            if polls & 63 == 0 && Self.nanoseconds() - start > Self.spinNanoseconds { break }
            heed_cpu_relax()
        }
        pthread_mutex_lock(mutex)
        sleepers.add(1, ordering: .sequentiallyConsistent)
        var g = Self.generation(ticket.load(ordering: .sequentiallyConsistent))
        while g == seen {
            pthread_cond_wait(wake, mutex)
            g = Self.generation(ticket.load(ordering: .sequentiallyConsistent))
        }
        sleepers.subtract(1, ordering: .sequentiallyConsistent)
        pthread_mutex_unlock(mutex)
        return g
    }

    private static func nanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }
}
