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

public final class MPICommunicator: Communicator, @unchecked Sendable {
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
        let peers = Set(Self.allreducePeers(rank: rank, size: size)).sorted()
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

    /// The ranks `rank` exchanges messages with in the sums (Note [Ring allreduce]): its ring
    /// neighbours, its recursive-doubling partners and its fold partner. The relation is symmetric.
    static func allreducePeers(rank: Int, size: Int) -> [Int] {
        guard size > 1 else { return [] }
        var peers = [(rank + 1) % size, (rank + size - 1) % size]
        var p2 = 1
        while p2 * 2 <= size { p2 *= 2 }
        if rank >= p2 { peers.append(rank - p2) } else {
            if rank + p2 < size { peers.append(rank + p2) }
            var mask = 1
            while mask < p2 { peers.append(rank ^ mask); mask <<= 1 }
        }
        return peers
    }

    private func check(_ rc: Int32, _ what: String) {
        if rc != recur_mpi_success() {
            Console.error("recur: rank \(rank): \(what) failed (MPI error \(rc)); ending the job\n")
            abort(code: 1)
        }
    }

    private static let chunk = 1 << 30

    // Note [Ring allreduce]
    // Sums go through MPI_Sendrecv calls into a scratch buffer kept across calls, not
    // MPI_Allreduce: Open MPI's allreduce algorithms allocate a temporary buffer on every call
    // (about 3 heap allocations per call measured at 2 ranks), and the training step is to
    // allocate nothing once warm. Two algorithms, as MPI libraries choose them:
    // - large buffers (gradient buckets): a ring, reduce-scatter then allgather, 2(P−1) messages
    //   moving 2(P−1)/P of the buffer per rank, the bandwidth optimum. Each slice is summed in
    //   one fixed order (from the rank after its owner, around the ring) and then copied to
    //   every rank;
    // - small buffers (up to `doublingLimit` elements: loss sums, small models): recursive
    //   doubling, log₂P whole-buffer exchanges, the latency optimum (the ring's 2(P−1) message
    //   latencies would dominate across nodes). Ranks past the largest power of two first fold
    //   their buffer into a partner and get the result back at the end. Partners add the same
    //   two values (a + b and b + a are the same float), so every rank holds the same bits.
    // Either way a run is reproducible and ranks never diverge.
    private var floatScratch = UnsafeMutablePointer<Float>.allocate(capacity: 0), floatScratchCount = 0
    private var doubleScratch = UnsafeMutablePointer<Double>.allocate(capacity: 0), doubleScratchCount = 0
    private static let sumTag: Int32 = 7301
    private static let warmTag: Int32 = 7400
    private static let doublingLimit = 4096

    /// Recursive-doubling allreduce of `count` elements in place (Note [Ring allreduce]);
    /// `scratch` holds at least `count` elements.
    private func doublingAllreduce<T: BinaryFloatingPoint>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                           scratch: UnsafeMutablePointer<T>, type: MPI_Datatype) {
        var p2 = 1
        while p2 * 2 <= size { p2 *= 2 }
        let n = Int32(count), tag = Self.sumTag
        if rank >= p2 {                 // folded: contribute, then receive the result
            let partner = Int32(rank - p2)
            check(MPI_Send(buffer, n, type, partner, tag, world), "MPI_Send")
            check(MPI_Recv(buffer, n, type, partner, tag, world, recur_mpi_status_ignore()), "MPI_Recv")
            return
        }
        let folded = rank + p2 < size
        if folded {
            check(MPI_Recv(scratch, n, type, Int32(rank + p2), tag, world, recur_mpi_status_ignore()), "MPI_Recv")
            for i in 0..<count { buffer[i] += scratch[i] }
        }
        var mask = 1
        while mask < p2 {
            let partner = Int32(rank ^ mask)
            check(MPI_Sendrecv(buffer, n, type, partner, tag, scratch, n, type, partner, tag, world,
                               recur_mpi_status_ignore()),
                  "MPI_Sendrecv")
            for i in 0..<count { buffer[i] += scratch[i] }
            mask <<= 1
        }
        if folded { check(MPI_Send(buffer, n, type, Int32(rank + p2), tag, world), "MPI_Send") }
    }

    /// Sums `count` elements across ranks in place with the algorithm its size calls for.
    private func sumAcrossRanks<T: BinaryFloatingPoint>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                        scratch: UnsafeMutablePointer<T>, type: MPI_Datatype) {
        if count <= Self.doublingLimit {
            doublingAllreduce(buffer, count: count, scratch: scratch, type: type)
        } else {
            ringAllreduce(buffer, count: count, scratch: scratch, type: type)
        }
    }

    /// Grows `scratch` to what `sumAcrossRanks` needs for `count` (first calls only: the
    /// bucket size is fixed, so a warm step allocates nothing).
    private func reserve<T>(_ scratch: inout UnsafeMutablePointer<T>, _ capacity: inout Int, for count: Int) {
        let need = count <= Self.doublingLimit ? count : (count + size - 1) / size
        if need > capacity {
            scratch.deallocate()
            scratch = .allocate(capacity: need)
            capacity = need
        }
    }

    /// Ring allreduce of `count` elements in place (Note [Ring allreduce]); `scratch` holds at
    /// least ⌈count / size⌉ elements.
    private func ringAllreduce<T: BinaryFloatingPoint>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                                       scratch: UnsafeMutablePointer<T>, type: MPI_Datatype) {
        let p = size
        let right = Int32((rank + 1) % p), left = Int32((rank + p - 1) % p)
        func slice(_ i: Int) -> (start: Int, count: Int) {
            let j = ((i % p) + p) % p, base = count / p, extra = count % p
            return (j * base + min(j, extra), base + (j < extra ? 1 : 0))
        }
        for s in 0..<(p - 1) {          // reduce-scatter: rank r ends owning slice r + 1
            let send = slice(rank - s), recv = slice(rank - s - 1)
            check(MPI_Sendrecv(buffer + send.start, Int32(send.count), type, right, Self.sumTag,
                               scratch, Int32(recv.count), type, left, Self.sumTag, world, recur_mpi_status_ignore()),
                  "MPI_Sendrecv")
            let dst = buffer + recv.start
            for i in 0..<recv.count { dst[i] += scratch[i] }
        }
        for s in 0..<(p - 1) {          // allgather of the finished slices
            let send = slice(rank + 1 - s), recv = slice(rank - s)
            check(MPI_Sendrecv(buffer + send.start, Int32(send.count), type, right, Self.sumTag,
                               buffer + recv.start, Int32(recv.count), type, left, Self.sumTag, world,
                               recur_mpi_status_ignore()),
                  "MPI_Sendrecv")
        }
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        guard size > 1 else { return }
        var start = 0
        while start < count {
            let n = min(Self.chunk, count - start)
            reserve(&floatScratch, &floatScratchCount, for: n)
            sumAcrossRanks(buffer + start, count: n, scratch: floatScratch, type: recur_mpi_float())
            start += n
        }
    }

    public func allreduceSum(_ values: inout [Double]) {
        guard size > 1 else { return }
        let n = values.count
        reserve(&doubleScratch, &doubleScratchCount, for: n)
        values.withUnsafeMutableBufferPointer { p in
            sumAcrossRanks(p.baseAddress!, count: n, scratch: doubleScratch, type: recur_mpi_double())
        }
    }

    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {
        var start = 0
        while start < count {
            let n = min(Self.chunk, count - start)
            check(MPI_Bcast(buffer + start, Int32(n), recur_mpi_float(), Int32(root), world), "MPI_Bcast")
            start += n
        }
    }

    public func broadcast(bytes: inout [UInt8], root: Int) {
        let n = bytes.count
        bytes.withUnsafeMutableBufferPointer { p in
            check(MPI_Bcast(p.baseAddress, Int32(n), recur_mpi_byte(), Int32(root), world), "MPI_Bcast")
        }
    }

    public func allgather(_ value: UInt64) -> [UInt64] {
        var mine = value
        var all = [UInt64](repeating: 0, count: size)
        all.withUnsafeMutableBufferPointer { p in
            check(MPI_Allgather(&mine, 1, recur_mpi_uint64(), p.baseAddress, 1, recur_mpi_uint64(), world),
                  "MPI_Allgather")
        }
        return all
    }

    public func barrier() { check(MPI_Barrier(world), "MPI_Barrier") }

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
