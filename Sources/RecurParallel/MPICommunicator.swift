// Open MPI behind the Communicator protocol: MPI_Init_thread(FUNNELED) once per process,
// errors returned (not fatal inside the library) and turned into an abort of the whole job,
// so a failing rank never leaves its peers waiting. Large buffers go in chunks of at most
// 2^30 elements because MPI counts are 32-bit.

import CMPI
import RecurKernels

/// Whether this process was started by Open MPI's launcher (mpirun / srun with PMIx).
public func launchedUnderMPI() -> Bool {
    let env = ProcessInfoLite.environment
    return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
}

/// The communicator for this process: MPI when started under mpirun, a world of one otherwise.
public func makeCommunicator() -> Communicator {
    launchedUnderMPI() ? MPICommunicator.shared : SingleProcessCommunicator()
}

public final class MPICommunicator: Communicator, TransportSums, @unchecked Sendable {
    /// One per process: MPI may be initialised only once.
    public static let shared = MPICommunicator()

    public let rank: Int
    public let size: Int
    public let localSize: Int
    private let world: MPI_Comm

    private init() {
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, recur_mpi_thread_funneled(), &provided)
        world = recur_mpi_comm_world()
        MPI_Comm_set_errhandler(world, recur_mpi_errors_return())
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(world, &r)
        MPI_Comm_size(world, &s)
        rank = Int(r); size = Int(s)
        if let local = ProcessInfoLite.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) {
            localSize = local
        } else {
            var node: MPI_Comm? = nil
            MPI_Comm_split_type(world, recur_mpi_comm_type_shared(), r, recur_mpi_info_null(), &node)
            var ls: Int32 = 1
            if let node { MPI_Comm_size(node, &ls); var n: MPI_Comm? = node; MPI_Comm_free(&n) }
            localSize = Int(ls)
        }
        if provided < recur_mpi_thread_funneled() {
            Console.error("recur: rank \(rank): MPI does not provide MPI_THREAD_FUNNELED\n")
            abort(code: 1)
        }
        warmUnexpectedMessageBuffers()
    }

    // Note [Unexpected messages]
    // Open MPI (pml ob1) copies an eager message that arrives before its receive is posted
    // into a buffer from a size-class allocator, which calls malloc the first time a class is
    // used and keeps freed buffers for reuse. Whether a step first meets an early message in
    // its first or its hundredth allreduce is a race between ranks, so a warm step would
    // allocate once at a random time (seen over TCP). Every class the allreduces can need is
    // warmed here, once: each rank sends two messages of every power-of-two size up to 64 KiB
    // (the TCP transport's eager limit; a larger message goes by rendezvous, whose payload is
    // never buffered) to each peer that receives from it, and each receiver probes for both
    // before receiving either, so both are certainly unexpected and held at once.
    private func warmUnexpectedMessageBuffers() {
        guard size > 1 else { return }
        let peers = SumAlgorithms.peers(rank: rank, size: size)
        let sizes = (6...16).map { 1 << $0 }                  // 64 B … 64 KiB
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: sizes.last!, alignment: 64)
        defer { bytes.deallocate() }
        bytes.initializeMemory(as: UInt8.self, repeating: 0, count: sizes.last!)
        var requests = [MPI_Request?](repeating: nil, count: peers.count * sizes.count * 2)
        var r = 0
        for peer in peers {
            for (i, n) in sizes.enumerated() {
                for copy in 0..<2 {
                    check(MPI_Isend(bytes, Int32(n), recur_mpi_byte(), Int32(peer), Self.warmTag + Int32(2 * i + copy),
                                    world, &requests[r]), "MPI_Isend")
                    r += 1
                }
            }
        }
        let sink = UnsafeMutableRawPointer.allocate(byteCount: sizes.last!, alignment: 64)
        defer { sink.deallocate() }
        for peer in peers {
            for i in sizes.indices {
                for copy in 0..<2 {
                    check(MPI_Probe(Int32(peer), Self.warmTag + Int32(2 * i + copy), world, recur_mpi_status_ignore()), "MPI_Probe")
                }
                for copy in 0..<2 {
                    check(MPI_Recv(sink, Int32(sizes[i]), recur_mpi_byte(), Int32(peer), Self.warmTag + Int32(2 * i + copy),
                                   world, recur_mpi_status_ignore()), "MPI_Recv")
                }
            }
        }
        requests.withUnsafeMutableBufferPointer { p in
            check(MPI_Waitall(Int32(p.count), p.baseAddress, recur_mpi_statuses_ignore()), "MPI_Waitall")
        }
    }

    private func check(_ rc: Int32, _ what: String) {
        if rc != recur_mpi_success() {
            Console.error("recur: rank \(rank): \(what) failed (MPI error \(rc)); ending the job\n")
            abort(code: 1)
        }
    }

    /// Elements per MPI_Bcast call (MPI counts are 32-bit).
    private static let chunk = 1 << 30
    public private(set) lazy var sums = SumAlgorithms(self)
    private static let warmTag: Int32 = 7400
    /// The longest sleep between progress tests while waiting politely (ns).
    static let longestNap = 100_000


    // MARK: Transport

    /// Whether blocking calls wait by sleeping between tests (Note [Overlapped exchange]).
    private var sleepsWhileWaiting = false

    public func waitBySleeping(_ on: Bool) { sleepsWhileWaiting = on }
    public var exchangesWhileComputing: Bool { true }

    public func send(_ buffer: UnsafeRawPointer, bytes: Int, to peer: Int, tag: Int32) {
        if sleepsWhileWaiting {
            var request: MPI_Request? = nil
            check(MPI_Isend(buffer, Int32(bytes), recur_mpi_byte(), Int32(peer), tag, world, &request), "MPI_Isend")
            waitPolitely(&request, on: peer)
            return
        }
        let rc = ExchangeDeadline.waiting(on: peer) { MPI_Send(buffer, Int32(bytes), recur_mpi_byte(), Int32(peer), tag, world) }
        check(rc, "MPI_Send")
    }

    public func receive(_ buffer: UnsafeMutableRawPointer, bytes: Int, from peer: Int, tag: Int32) {
        if sleepsWhileWaiting {
            var request: MPI_Request? = nil
            check(MPI_Irecv(buffer, Int32(bytes), recur_mpi_byte(), Int32(peer), tag, world, &request), "MPI_Irecv")
            waitPolitely(&request, on: peer)
            return
        }
        let rc = ExchangeDeadline.waiting(on: peer) {
            MPI_Recv(buffer, Int32(bytes), recur_mpi_byte(), Int32(peer), tag, world, recur_mpi_status_ignore())
        }
        check(rc, "MPI_Recv")
    }

    public func sendReceive(_ sendBuffer: UnsafeRawPointer, sendBytes: Int, to destination: Int,
                            _ receiveBuffer: UnsafeMutableRawPointer, receiveBytes: Int, from source: Int, tag: Int32) {
        if sleepsWhileWaiting {
            var receiving: MPI_Request? = nil, sending: MPI_Request? = nil
            check(MPI_Irecv(receiveBuffer, Int32(receiveBytes), recur_mpi_byte(), Int32(source), tag, world, &receiving), "MPI_Irecv")
            check(MPI_Isend(sendBuffer, Int32(sendBytes), recur_mpi_byte(), Int32(destination), tag, world, &sending), "MPI_Isend")
            ExchangeDeadline.waiting(on: source) { complete(&receiving, &sending, both: true) }
            return
        }
        let rc = ExchangeDeadline.waiting(on: source) {
            MPI_Sendrecv(sendBuffer, Int32(sendBytes), recur_mpi_byte(), Int32(destination), tag,
                         receiveBuffer, Int32(receiveBytes), recur_mpi_byte(), Int32(source), tag, world,
                         recur_mpi_status_ignore())
        }
        check(rc, "MPI_Sendrecv")
    }

    /// Completes one nonblocking request as `complete` does, under the exchange deadline.
    private func waitPolitely(_ request: inout MPI_Request?, on peer: Int) {
        var none: MPI_Request? = nil
        ExchangeDeadline.waiting(on: peer) { complete(&request, &none, both: false) }
    }

    /// Tests `first` (and `second`) until complete: 20 tests in a row, then sleeping between
    /// tests from 10 µs doubling to `longestNap`. MPI progresses the transfer inside each test,
    /// and the core stays with the replicas computing meanwhile (a blocking call would poll it
    /// at full speed).
    private func complete(_ first: inout MPI_Request?, _ second: inout MPI_Request?, both: Bool) {
        var a: Int32 = 0, b: Int32 = both ? 0 : 1
        var tests = 0, nap = 10_000
        while true {
            if a == 0 { check(MPI_Test(&first, &a, recur_mpi_status_ignore()), "MPI_Test") }
            if b == 0 { check(MPI_Test(&second, &b, recur_mpi_status_ignore()), "MPI_Test") }
            if a != 0 && b != 0 { return }
            tests += 1
            if tests > 20 {
                var pause = timespec(tv_sec: 0, tv_nsec: nap)
                nanosleep(&pause, nil)
                nap = min(2 * nap, Self.longestNap)
            }
        }
    }

    // MARK: Other collectives

    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {
        var start = 0
        while start < count {
            let n = min(Self.chunk, count - start)
            check(ExchangeDeadline.waiting(on: root) { MPI_Bcast(buffer + start, Int32(n), recur_mpi_float(), Int32(root), world) },
                  "MPI_Bcast")
            start += n
        }
    }

    public func broadcast(bytes: inout [UInt8], root: Int) {
        let n = bytes.count
        bytes.withUnsafeMutableBufferPointer { p in
            check(ExchangeDeadline.waiting(on: root) { MPI_Bcast(p.baseAddress, Int32(n), recur_mpi_byte(), Int32(root), world) },
                  "MPI_Bcast")
        }
    }

    public func allgather(_ words: [UInt64]) -> [[UInt64]] {
        let n = words.count
        var all = [UInt64](repeating: 0, count: n * size)
        words.withUnsafeBufferPointer { mine in
            all.withUnsafeMutableBufferPointer { p in
                check(ExchangeDeadline.waiting(on: nil) {
                    MPI_Allgather(mine.baseAddress, Int32(n), recur_mpi_uint64(), p.baseAddress, Int32(n), recur_mpi_uint64(), world)
                }, "MPI_Allgather")
            }
        }
        return (0..<size).map { Array(all[($0 * n)..<(($0 + 1) * n)]) }
    }

    public func barrier() { check(ExchangeDeadline.waiting(on: nil) { MPI_Barrier(world) }, "MPI_Barrier") }

    public func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    /// Finalises MPI at the normal end of a run.
    public func finalize() {
        var done: Int32 = 0
        MPI_Finalized(&done)
        if done == 0 { MPI_Finalize() }
    }
}

/// Environment access without Foundation (keeps this module light).
enum ProcessInfoLite {
    static var environment: [String: String] {
        var result: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { result[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return result
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
