// What ranks say to each other: in-place sums of the flat gradient buffer, broadcasts of
// parameters and small values, agreement checks, and the abort that ends a whole job.
// Implementations: SingleProcessCommunicator (no MPI at all), MPICommunicator, and
// InProcessCommunicator (N ranks on threads, for tests of everything above the transport).
// Only the main thread calls a communicator (MPI_THREAD_FUNNELED, ARCHITECTURE.md §5).

/// Collective operations over all ranks of a job. Every rank must make the same calls in the same order.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Ranks on this node (for the default thread count).
    var localSize: Int { get }
    /// Sums `count` floats across ranks, in place, on every rank.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int)
    /// Sums doubles (loss sums, counts) across ranks, in place.
    func allreduceSum(_ values: inout [Double])
    /// Sums 64-bit integers across ranks, in place: exact, so the same bits in any order.
    func allreduceSum(_ buffer: UnsafeMutablePointer<Int64>, count: Int)
    /// The element-wise maximum of a few doubles across ranks, in place.
    func allreduceMax(_ values: inout [Double])
    /// Copies `root`'s floats to every rank.
    func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int)
    /// Copies `root`'s bytes to every rank (sizes must already agree).
    func broadcast(bytes: inout [UInt8], root: Int)
    /// Every rank's words, in rank order; every rank passes the same number of words.
    func allgather(_ words: [UInt64]) -> [[UInt64]]
    func barrier()
    /// Ends the whole job with `code` after printing nothing more; never returns.
    func abort(code: Int32) -> Never
    /// While on, waits inside exchanges sleep between progress tests instead of polling at full
    /// speed, leaving the cores to replicas computing meanwhile (Note [Overlapped exchange]).
    func waitBySleeping(_ on: Bool)
    /// Whether its exchanges may run while this process's replicas compute on the worker pool
    /// (one rank per process: ranks on threads share the pool).
    var exchangesWhileComputing: Bool { get }
    /// Ends this process's part in the job at the normal end of a run (MPI_Finalize; nothing for
    /// communicators without a launcher).
    func finalize()
}

extension Communicator {
    public func waitBySleeping(_ on: Bool) {}
    public func finalize() {}
    public var exchangesWhileComputing: Bool { false }
}

extension Communicator {
    /// Every rank's value, in rank order.
    public func allgather(_ value: UInt64) -> [UInt64] { allgather([value]).map { $0[0] } }

    /// Broadcasts a string from `root` (length first, then bytes).
    public func broadcast(string: String, root: Int) -> String {
        var bytes = Array(string.utf8)
        var length = [Double(bytes.count)]
        if rank != root { length = [0] }
        allreduceSum(&length)   // only root contributes
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        broadcast(bytes: &bytes, root: root)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A world of one process: every collective is the identity. No MPI library call is made.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) {}
    public func allreduceSum(_ values: inout [Double]) {}
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) {}
    public func allreduceMax(_ values: inout [Double]) {}
    public func broadcast(_ buffer: UnsafeMutablePointer<Float>, count: Int, root: Int) {}
    public func broadcast(bytes: inout [UInt8], root: Int) {}
    public func allgather(_ words: [UInt64]) -> [[UInt64]] { [words] }
    public func barrier() {}
    public func abort(code: Int32) -> Never { exit(code) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
