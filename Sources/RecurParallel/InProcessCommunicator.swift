// A world of N ranks inside one process, each rank a thread, for tests: the sums of
// SumAlgorithms, the buckets of GradientAllreduce and the start-up agreement run here exactly
// as under mpirun, in milliseconds and without a launcher. Messages are copied into per-pair
// mailboxes; sends never block. Engines run on it too (each owns its worker pool), so the step's
// promises are tested at 1–8 ranks in-process (RecurEngineTests/EngineStepTests).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The shared mailboxes of one in-process world.
public final class InProcessWorld: @unchecked Sendable {
    public let size: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let arrived = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Guarded by `mutex`: messages waiting for rank `to`, by sender, oldest first.
    private var mailboxes: [[[(tag: Int32, bytes: [UInt8])]]]

    public init(size: Int) {
        precondition(size >= 1, "a world has at least one rank")
        self.size = size
        mailboxes = Array(repeating: Array(repeating: [], count: size), count: size)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(arrived, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex); pthread_cond_destroy(arrived)
        mutex.deallocate(); arrived.deallocate()
    }

    /// Runs `body` once per rank, each on its own thread with that rank's communicator, and
    /// returns the results in rank order once every rank has finished.
    public static func run<T>(size: Int, _ body: @escaping (InProcessCommunicator) throws -> T) throws -> [T] {
        let world = InProcessWorld(size: size)
        let slots = (0..<size).map { _ in ResultSlot<T>() }
        var threads: [pthread_t] = []
        for r in 0..<size {
            let comm = InProcessCommunicator(world: world, rank: r)
            let job = Unmanaged.passRetained(Job { slots[r].result = Result { try body(comm) } }).toOpaque()
            #if canImport(Glibc)
            var thread = pthread_t()
            #else
            var thread: pthread_t? = nil
            #endif
            let rc = pthread_create(&thread, nil, { raw in
                #if canImport(Glibc)
                Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue().work()
                #else
                Unmanaged<Job>.fromOpaque(raw).takeRetainedValue().work()
                #endif
                return nil
            }, job)
            precondition(rc == 0, "InProcessWorld: cannot start a rank thread (pthread_create error \(rc))")
            #if canImport(Glibc)
            threads.append(thread)
            #else
            threads.append(thread!)
            #endif
        }
        for t in threads { pthread_join(t, nil) }
        return try slots.map { try $0.result!.get() }
    }

    func post(from: Int, to: Int, tag: Int32, _ buffer: UnsafeRawPointer, bytes: Int) {
        let copy = [UInt8](UnsafeRawBufferPointer(start: buffer, count: bytes))
        pthread_mutex_lock(mutex)
        mailboxes[to][from].append((tag, copy))
        pthread_cond_broadcast(arrived)
        pthread_mutex_unlock(mutex)
    }

    func take(from: Int, to: Int, tag: Int32, into buffer: UnsafeMutableRawPointer, bytes: Int) {
        pthread_mutex_lock(mutex)
        while true {
            if let i = mailboxes[to][from].firstIndex(where: { $0.tag == tag }) {
                let message = mailboxes[to][from].remove(at: i)
                pthread_mutex_unlock(mutex)
                precondition(message.bytes.count == bytes,
                             "rank \(to) expected \(bytes) bytes from rank \(from) (tag \(tag)), got \(message.bytes.count)")
                message.bytes.withUnsafeBytes { if bytes > 0 { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes) } }
                return
            }
            pthread_cond_wait(arrived, mutex)
        }
    }
}

private final class ResultSlot<T>: @unchecked Sendable { var result: Result<T, Error>? }

private final class Job {
    let work: () -> Void
    init(_ work: @escaping () -> Void) { self.work = work }
}

/// One rank of an InProcessWorld. Collectives other than the sums are plain linear exchanges.
public final class InProcessCommunicator: Communicator, TransportSums, @unchecked Sendable {
    public let rank: Int
    public var size: Int { world.size }
    public var localSize: Int { world.size }
    let world: InProcessWorld
    public private(set) lazy var sums = SumAlgorithms(self)
    private static let collectiveTag: Int32 = 7500

    init(world: InProcessWorld, rank: Int) {
        self.world = world
        self.rank = rank
    }

    public func send(_ buffer: UnsafeRawPointer, bytes: Int, to peer: Int, tag: Int32) {
        world.post(from: rank, to: peer, tag: tag, buffer, bytes: bytes)
    }

    public func receive(_ buffer: UnsafeMutableRawPointer, bytes: Int, from peer: Int, tag: Int32) {
        world.take(from: peer, to: rank, tag: tag, into: buffer, bytes: bytes)
    }

    public func sendReceive(_ sendBuffer: UnsafeRawPointer, sendBytes: Int, to destination: Int,
                            _ receiveBuffer: UnsafeMutableRawPointer, receiveBytes: Int, from source: Int, tag: Int32) {
        send(sendBuffer, bytes: sendBytes, to: destination, tag: tag)
        receive(receiveBuffer, bytes: receiveBytes, from: source, tag: tag)
    }


    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {
        broadcastBytes(UnsafeMutableRawPointer(buffer), bytes: count * MemoryLayout<Float>.stride, root: root)
    }

    public func broadcast(bytes: inout [UInt8], root: Int) {
        let n = bytes.count
        bytes.withUnsafeMutableBytes { broadcastBytes($0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, bytes: n, root: root) }
    }

    private func broadcastBytes(_ p: UnsafeMutableRawPointer, bytes: Int, root: Int) {
        if rank == root {
            for r in 0..<size where r != root { send(p, bytes: bytes, to: r, tag: Self.collectiveTag) }
        } else {
            receive(p, bytes: bytes, from: root, tag: Self.collectiveTag)
        }
    }

    public func allgather(_ words: [UInt64]) -> [[UInt64]] {
        let n = words.count * MemoryLayout<UInt64>.stride
        words.withUnsafeBytes { mine in
            for r in 0..<size where r != rank { send(mine.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, bytes: n, to: r, tag: Self.collectiveTag + 1) }
        }
        return (0..<size).map { r in
            if r == rank { return words }
            var theirs = [UInt64](repeating: 0, count: words.count)
            theirs.withUnsafeMutableBytes { receive($0.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, bytes: n, from: r, tag: Self.collectiveTag + 1) }
            return theirs
        }
    }

    public func barrier() { _ = allgather([]) }

    /// Ends the process: an in-process world is a test fixture, and an abort there is a failure.
    public func abort(code: Int32) -> Never {
        fatalError("InProcessCommunicator rank \(rank): abort(\(code))")
    }
}
