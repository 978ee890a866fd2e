// Thread replicas inside one process: runs one task per replica on a small pool of long-lived
// workers, and sums the replicas' flat gradient buffers into the first one in a fixed order
// (replica 0, 1, 2 … for every element), the sum itself spread over threads by contiguous
// chunks. The step's form (a C function and a context pointer) allocates nothing. It knows
// nothing of models or data; Replica owns those.

import Dispatch
import RecurKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension WorkerPool {
    /// Runs `body(k)` for every replica k in 0..<count, concurrently when count > 1: k = 0 on
    /// the calling thread, k ≥ 1 on worker k of the process's shared pool. Returns when all
    /// are done. Not reentrant: call it from one thread, never from inside `body`. (Outside the
    /// step: the closure's context is boxed once per call. Each Engine has a pool of its own.)
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count == 1 { body(0); return }
        withoutActuallyEscaping(body) { escapable in
            var closure = escapable
            withUnsafeMutablePointer(to: &closure) { pointer in
                shared.run(count, context: UnsafeMutableRawPointer(pointer), callClosure)
            }
        }
    }

    private static let callClosure: ReplicaTask = { context, k in
        context.assumingMemoryBound(to: ((Int) -> Void).self).pointee(k)
    }

    /// `task(context, k)` for k in 0..<count on the process's shared pool (the allocation-free
    /// form of `run(_:_:)`).
    public static func run(_ count: Int, context: UnsafeMutableRawPointer, _ task: ReplicaTask) {
        shared.run(count, context: context, task)
    }
}

/// A replica's share of a parallel region: called as task(context, replica).
public typealias ReplicaTask = @convention(c) (UnsafeMutableRawPointer, Int) -> Void

/// `buffers[0] += buffers[1…]` as a reusable job for the step: set up once, then `run()` sums
/// in the fixed replica order, chunks spread over threads, without allocating.
public final class GradientThreadSum {
    private let bases: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
    private let buffers: [FloatBuffer]      // keeps the storage alive
    private let count: Int, chunks: Int, per: Int
    /// The workers that run the chunks (the engine's own).
    private let pool: WorkerPool

    static let floatsPerChunk = 1 << 16

    public convenience init(_ buffers: [FloatBuffer], threads: Int) {
        self.init(buffers, threads: threads, pool: .shared)
    }

    init(_ buffers: [FloatBuffer], threads: Int, pool: WorkerPool) {
        self.pool = pool
        precondition(!buffers.isEmpty && buffers.allSatisfy { $0.count == buffers[0].count },
                     "replica gradient buffers differ in size")
        self.buffers = buffers
        count = buffers[0].count
        // A chunk per 64k floats at most: waking a worker costs about as much as summing 64k
        // floats on this thread (small models' sums run inline: 7.6% of a ts-lstm step at 2
        // threads was the hand-off). Chunks change no bits: each element is summed in replica order.
        chunks = max(1, min(threads, count / Self.floatsPerChunk + 1))
        per = (count + chunks - 1) / chunks
        bases = .allocate(capacity: buffers.count)
        for (i, b) in buffers.enumerated() { bases[i] = b.base }
    }

    deinit { bases.deallocate() }

    /// The same sum over `range` only, on the calling thread (a gradient group of an
    /// overlapped step, Note [Overlapped exchange]).
    public func run(_ range: Range<Int>) {
        let dst = bases[0] + range.lowerBound
        for k in 1..<max(buffers.count, 1) { Vec.add(bases[k] + range.lowerBound, into: dst, count: range.count) }
    }

    public func run() {
        guard buffers.count > 1 else { return }
        pool.run(chunks, context: Unmanaged.passUnretained(self).toOpaque(), Self.task)
    }

    private static let task: ReplicaTask = { context, c in
        let s = Unmanaged<GradientThreadSum>.fromOpaque(context).takeUnretainedValue()
        let start = c * s.per, n = min(s.per, s.count - start)
        guard n > 0 else { return }
        let dst = s.bases[0] + start
        for k in 1..<s.buffers.count { Vec.add(s.bases[k] + start, into: dst, count: n) }
    }
}

/// Worker threads that sleep on a condition variable between jobs. One job at a time: the
/// caller publishes it under the mutex with a new generation number, runs task 0 itself, and
/// waits until every worker with a task has reported back.
///
/// A pool serves one calling thread at a time (it is not reentrant). Each Engine owns one, so
/// that engines on different threads (the ranks of an InProcessWorld) never share workers;
/// `shared` serves the static `run` for code outside an engine. Workers are started on first
/// need and kept; `shutdown()` ends them (Engine's deinit calls it).
public final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    // Guarded by `mutex`.
    private var generation: UInt64 = 0
    /// The job: a C function and its context, stored as they are (a stored closure would box
    /// its context on every job).
    private var task: ReplicaTask?
    private var taskContext: UnsafeMutableRawPointer?
    private var taskCount = 0
    /// Worker w runs task w − workerOffset (1 when the caller runs no task).
    private var workerOffset = 0
    private var pending = 0
    private var workers = 0
    /// Set by `shutdown()`: every worker returns from its loop (and releases the pool).
    private var stopping = false
    /// One serial queue per worker (Note [Workers from Dispatch]).
    private var queues: [DispatchQueue] = []

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    deinit {
        pthread_cond_destroy(done); pthread_cond_destroy(wake); pthread_mutex_destroy(mutex)
        done.deallocate(); wake.deallocate(); mutex.deallocate()
    }

    /// Runs `task(context, k)` for every k in 0..<count, k = 0 on the calling thread and k ≥ 1
    /// on worker k; returns when all are done. Allocates nothing once the workers exist.
    func run(_ count: Int, context: UnsafeMutableRawPointer, _ task: ReplicaTask) {
        if count == 1 { task(context, 0); return }
        publish(count, context: context, task, callerRuns: true)
        task(context, 0)
        waitForJob()
    }

    /// Starts `task(context, k)` for k in 0..<count, every one on a worker (k on worker k + 1),
    /// and returns at once, leaving the calling thread free (to exchange gradients while the
    /// replicas compute: Note [Overlapped exchange]). `finish()` waits for them.
    func start(_ count: Int, context: UnsafeMutableRawPointer, _ task: ReplicaTask) {
        publish(count, context: context, task, callerRuns: false)
    }

    /// Waits until every task of the job `start` began has returned.
    func finish() { waitForJob() }

    /// Ends the workers once they are idle (no job may be in flight). The pool is freed when
    /// the last worker has returned.
    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        generation &+= 1
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Publishes a job: tasks 1..<count on workers 1…, task 0 left to the caller; or, without
    /// `callerRuns`, task k on worker k + 1 for every k.
    private func publish(_ count: Int, context: UnsafeMutableRawPointer, _ task: ReplicaTask, callerRuns: Bool) {
        pthread_mutex_lock(mutex)
        precondition(!stopping, "WorkerPool: a job after shutdown")
        let needed = callerRuns ? count - 1 : count
        while workers < needed { startWorker(index: workers + 1); workers += 1 }
        self.task = task
        taskContext = context
        taskCount = count
        workerOffset = callerRuns ? 0 : 1
        pending = needed
        generation &+= 1
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    private func waitForJob() {
        pthread_mutex_lock(mutex)
        while pending > 0 { pthread_cond_wait(done, mutex) }
        self.task = nil
        taskContext = nil
        pthread_mutex_unlock(mutex)
    }

    // Note [Workers from Dispatch]
    // Each worker is one work item on its own serial Dispatch queue, started once and never
    // returning: it sleeps on the pool's condition variable between jobs. So the replicas'
    // threads come from Dispatch as ARCHITECTURE.md §5 says, while a step creates no work item
    // (DispatchQueue.concurrentPerform would, and a closure context with it, every step) and
    // allocates nothing. A serial queue of its own per worker keeps a blocked worker from
    // holding a thread that the global queues' other work needs.
    private func startWorker(index: Int) {
        // The worker starts from the generation before the job being published, so it takes that job.
        let seen = generation
        queues.append(DispatchQueue(label: "recur.replica-\(index)"))
        queues[queues.count - 1].async { [self] in self.workerLoop(index: index, seen: seen) }   // holds the pool until it returns
    }

    private func workerLoop(index: Int, seen initial: UInt64) {
        pthread_mutex_lock(mutex)
        var seen = initial
        while true {
            while generation == seen { pthread_cond_wait(wake, mutex) }
            seen = generation
            if stopping { pthread_mutex_unlock(mutex); return }
            let k = index - workerOffset
            guard k >= 0, k < taskCount else { continue }
            guard let task, let context = taskContext else { continue }
            pthread_mutex_unlock(mutex)
            task(context, k)
            pthread_mutex_lock(mutex)
            pending -= 1
            if pending == 0 { pthread_cond_signal(done) }
        }
    }
}
