// Point-to-point messages between ranks: the one thing the sums of Note [Ring allreduce] need
// from MPI. MPICommunicator and InProcessCommunicator provide it; SumAlgorithms runs over it,
// so the ring, recursive doubling and the fold are the same code under mpirun and in tests
// with N ranks on threads. Blocking calls, one thread per rank (MPI_THREAD_FUNNELED).

/// Blocking point-to-point byte messages. Messages from one sender with one tag arrive in
/// the order they were sent (MPI's non-overtaking rule).
public protocol Transport: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Sends `bytes` bytes to `peer`; returns once the buffer may be reused.
    func send(_ buffer: UnsafeRawPointer, bytes: Int, to peer: Int, tag: Int32)
    /// Receives exactly `bytes` bytes from `peer` into `buffer`.
    func receive(_ buffer: UnsafeMutableRawPointer, bytes: Int, from peer: Int, tag: Int32)
    /// Sends to `destination` and receives from `source` at once (no deadlock when every rank
    /// of a ring calls it together).
    func sendReceive(_ sendBuffer: UnsafeRawPointer, sendBytes: Int, to destination: Int,
                     _ receiveBuffer: UnsafeMutableRawPointer, receiveBytes: Int, from source: Int, tag: Int32)
}

/// A communicator whose sums are SumAlgorithms over its own transport (MPI, in-process).
public protocol TransportSums: Communicator, Transport {
    var sums: SumAlgorithms { get }
}

extension TransportSums {
    public func allreduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) { sums.sum(buffer, count: count) }

    public func allreduceSum(_ values: inout [Double]) {
        let n = values.count
        values.withUnsafeMutableBufferPointer { sums.sum($0.baseAddress!, count: n) }
    }

    public func allreduceSum(_ buffer: UnsafeMutablePointer<Int64>, count: Int) { sums.sum(buffer, count: count) }

    public func allreduceMax(_ values: inout [Double]) {
        let n = values.count
        values.withUnsafeMutableBufferPointer { sums.max($0.baseAddress!, count: n) }
    }
}
