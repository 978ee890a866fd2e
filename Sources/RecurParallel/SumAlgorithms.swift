// In-place sums across ranks over any Transport: a ring for large buffers, recursive doubling
// with a fold for small ones (Note [Ring allreduce]), into a scratch buffer kept across calls
// so that a warm step allocates nothing. It knows nothing of gradients or buckets;
// GradientAllreduce cuts the flat buffer into buckets and calls this once per bucket.

// Note [Ring allreduce]
// Sums go through point-to-point messages into a scratch buffer kept across calls, not
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

/// The sums of Note [Ring allreduce] over one transport, with their kept scratch buffer.
public final class SumAlgorithms {
    /// Buffers of at most this many elements go by recursive doubling, larger ones round the ring.
    public static let doublingLimit = 4096
    /// Elements per message chunk: a chunk's byte count must fit MPI's 32-bit counts.
    public static let chunk = 1 << 27
    static let tag: Int32 = 7301

    private unowned let transport: Transport
    private var scratch = UnsafeMutableRawPointer.allocate(byteCount: 0, alignment: 64)
    private var scratchBytes = 0

    public init(_ transport: Transport) { self.transport = transport }
    deinit { scratch.deallocate() }

    /// Sums `count` elements across all ranks, in place; every rank calls it with the same count.
    /// Floats and doubles round in the order of Note [Ring allreduce]; Int64 sums are exact, so
    /// any order gives the same bits (Note [Layout-invariant steps]).
    public func sum<T: AdditiveArithmetic>(_ buffer: UnsafeMutablePointer<T>, count: Int) {
        guard transport.size > 1 else { return }
        var start = 0
        while start < count {
            let n = min(Self.chunk, count - start)
            let s = reserve(T.self, for: n)
            if n <= Self.doublingLimit { doubling(buffer + start, count: n, scratch: s, combine: +) } else { ring(buffer + start, count: n, scratch: s) }
            start += n
        }
    }

    /// The element-wise maximum across ranks, in place (small buffers: recursive doubling).
    public func max(_ buffer: UnsafeMutablePointer<Double>, count: Int) {
        guard transport.size > 1 else { return }
        precondition(count <= Self.doublingLimit, "SumAlgorithms.max is for small buffers")
        doubling(buffer, count: count, scratch: reserve(Double.self, for: count), combine: { Swift.max($0, $1) })
    }

    /// The algorithm `sum` takes for `count` elements (tests).
    public static func usesRing(count: Int) -> Bool { count > doublingLimit }

    /// Scratch for `count` elements: grows on first calls only (bucket sizes are fixed, so a
    /// warm step allocates nothing).
    private func reserve<T>(_: T.Type, for count: Int) -> UnsafeMutablePointer<T> {
        let p = transport.size
        let need = (count <= Self.doublingLimit ? count : (count + p - 1) / p) * MemoryLayout<T>.stride
        if need > scratchBytes {
            scratch.deallocate()
            scratch = .allocate(byteCount: need, alignment: 64)
            scratchBytes = need
        }
        return scratch.bindMemory(to: T.self, capacity: need / MemoryLayout<T>.stride)
    }

    /// Recursive doubling with a fold for ranks past the largest power of two.
    private func doubling<T>(_ buffer: UnsafeMutablePointer<T>, count: Int, scratch: UnsafeMutablePointer<T>,
                             combine: (T, T) -> T) {
        let rank = transport.rank, size = transport.size, bytes = count * MemoryLayout<T>.stride
        var p2 = 1
        while p2 * 2 <= size { p2 *= 2 }
        if rank >= p2 {                 // folded: contribute, then receive the result
            transport.send(buffer, bytes: bytes, to: rank - p2, tag: Self.tag)
            transport.receive(buffer, bytes: bytes, from: rank - p2, tag: Self.tag)
            return
        }
        let folded = rank + p2 < size
        if folded {
            transport.receive(scratch, bytes: bytes, from: rank + p2, tag: Self.tag)
            for i in 0..<count { buffer[i] = combine(buffer[i], scratch[i]) }
        }
        var mask = 1
        while mask < p2 {
            let partner = rank ^ mask
            transport.sendReceive(buffer, sendBytes: bytes, to: partner, scratch, receiveBytes: bytes, from: partner, tag: Self.tag)
            for i in 0..<count { buffer[i] = combine(buffer[i], scratch[i]) }
            mask <<= 1
        }
        if folded { transport.send(buffer, bytes: bytes, to: rank + p2, tag: Self.tag) }
    }

    /// Ring allreduce: reduce-scatter, then allgather of the finished slices.
    private func ring<T: AdditiveArithmetic>(_ buffer: UnsafeMutablePointer<T>, count: Int,
                                              scratch: UnsafeMutablePointer<T>) {
        let rank = transport.rank, p = transport.size, stride = MemoryLayout<T>.stride
        let right = (rank + 1) % p, left = (rank + p - 1) % p
        func slice(_ i: Int) -> (start: Int, count: Int) {
            let j = ((i % p) + p) % p, base = count / p, extra = count % p
            return (j * base + min(j, extra), base + (j < extra ? 1 : 0))
        }
        for s in 0..<(p - 1) {          // reduce-scatter: rank r ends owning slice r + 1
            let send = slice(rank - s), recv = slice(rank - s - 1)
            transport.sendReceive(buffer + send.start, sendBytes: send.count * stride, to: right,
                                  scratch, receiveBytes: recv.count * stride, from: left, tag: Self.tag)
            let dst = buffer + recv.start
            for i in 0..<recv.count { dst[i] += scratch[i] }
        }
        for s in 0..<(p - 1) {          // allgather of the finished slices
            let send = slice(rank + 1 - s), recv = slice(rank - s)
            transport.sendReceive(buffer + send.start, sendBytes: send.count * stride, to: right,
                                  buffer + recv.start, receiveBytes: recv.count * stride, from: left, tag: Self.tag)
        }
    }

    /// The ranks `rank` exchanges messages with in these sums: its ring neighbours, its
    /// recursive-doubling partners and its fold partner. The relation is symmetric.
    public static func peers(rank: Int, size: Int) -> [Int] {
        guard size > 1 else { return [] }
        var peers = [(rank + 1) % size, (rank + size - 1) % size]
        var p2 = 1
        while p2 * 2 <= size { p2 *= 2 }
        if rank >= p2 { peers.append(rank - p2) } else {
            if rank + p2 < size { peers.append(rank + p2) }
            var mask = 1
            while mask < p2 { peers.append(rank ^ mask); mask <<= 1 }
        }
        return Array(Set(peers)).sorted()
    }
}
