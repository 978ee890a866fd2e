// The sums across ranks without mpirun: N ranks on threads (InProcessCommunicator) run the same
// ring, recursive doubling and fold as MPICommunicator, so every algorithm, every world size
// from 1 to 8 (powers of two and folded ranks), uneven ring slices and several buckets are
// checked in milliseconds. The mpirun tests in RecurTrainTests cover the real transport.

import RecurKernels
import XCTest
@testable import RecurParallel

final class SumAlgorithmsTests: XCTestCase {
    /// Rank r's contribution at element i: small integers, so every order of summation gives
    /// the exact sum and the expected value is known.
    func contribution(_ rank: Int, _ i: Int) -> Float { Float((rank + 1) * 3 + i % 17 - 8) }

    func testSum_EveryWorldSize1To8_DoublingAndRing_UnevenSlices_ExactOnEveryRank() throws {
        // 1, 7 and 4096 go by recursive doubling; 4097 and 10007 round the ring, whose slices
        // are uneven (10007 = 8·1250 + 7).
        for size in 1...8 {
            for count in [1, 7, 4096, 4097, 10007] {
                XCTAssertEqual(SumAlgorithms.usesRing(count: count), count > 4096)
                let results = try InProcessWorld.run(size: size) { comm -> [Float] in
                    var x = (0..<count).map { self.contribution(comm.rank, $0) }
                    x.withUnsafeMutableBufferPointer { comm.allreduceSum($0.baseAddress!, count: count) }
                    return x
                }
                let expected = (0..<count).map { i in (0..<size).reduce(Float(0)) { $0 + contribution($1, i) } }
                for (r, got) in results.enumerated() {
                    XCTAssertEqual(got, expected, "size \(size), count \(count), rank \(r)")
                }
            }
        }
    }

    func testSum_InexactValues_EveryRankHoldsTheSameBits() throws {
        for size in [3, 5, 6, 8] {
            for count in [100, 9001] {
                let results = try InProcessWorld.run(size: size) { comm -> [UInt32] in
                    var rng = SeededRandom(seed: UInt64(comm.rank) + 1)
                    var x = (0..<count).map { _ in rng.uniform(-1, 1) }
                    x.withUnsafeMutableBufferPointer { comm.allreduceSum($0.baseAddress!, count: count) }
                    return x.map(\.bitPattern)
                }
                for r in 1..<size { XCTAssertEqual(results[r], results[0], "size \(size), count \(count): rank \(r) differs from rank 0") }
            }
        }
    }

    func testDoubles_SumAcrossRanks() throws {
        let results = try InProcessWorld.run(size: 5) { comm -> [Double] in
            var v = [Double(comm.rank), 1, 0.5]
            comm.allreduceSum(&v)
            return v
        }
        for v in results { XCTAssertEqual(v, [10, 5, 2.5]) }
    }

    /// Buckets of 5000 over 10007 floats: two ring buckets and a 7-element doubling bucket,
    /// summed in the same order on every rank.
    func testGradientAllreduce_SeveralBuckets_MixedAlgorithms_Exact() throws {
        let count = 10007
        for size in [2, 3, 4, 7] {
            let results = try InProcessWorld.run(size: size) { comm -> [Float] in
                let buffer = FloatBuffer((0..<count).map { self.contribution(comm.rank, $0) })
                GradientAllreduce(bucketSize: 5000, count: count).reduce(buffer, over: comm)
                return buffer.array
            }
            let expected = (0..<count).map { i in (0..<size).reduce(Float(0)) { $0 + contribution($1, i) } }
            for (r, got) in results.enumerated() { XCTAssertEqual(got, expected, "size \(size), rank \(r)") }
        }
        XCTAssertEqual(GradientAllreduce(bucketSize: 5000, count: count).bucketRanges, [0..<5000, 5000..<10000, 10000..<10007])
        // Groups in the order backward finishes them, each cut into buckets.
        XCTAssertEqual(GradientAllreduce(bucketSize: 5000, count: count, groups: [[9000..<10007], [0..<7000, 7000..<9000]]).bucketsByGroup,
                       [[9000..<10007], [0..<5000, 5000..<7000, 7000..<9000]])
    }

    func testBroadcastAndAllgather_InProcess() throws {
        let results = try InProcessWorld.run(size: 4) { comm -> ([Float], [[UInt64]], String) in
            var p = [Float](repeating: Float(comm.rank), count: 5)
            p.withUnsafeMutableBufferPointer { comm.broadcast($0.baseAddress!, count: 5, root: 2) }
            let all = comm.allgather([UInt64(comm.rank), 7])
            comm.barrier()
            let s = comm.broadcast(string: comm.rank == 0 ? "from rank 0" : "", root: 0)
            return (p, all, s)
        }
        for (p, all, s) in results {
            XCTAssertEqual(p, [Float](repeating: 2, count: 5))
            XCTAssertEqual(all, [[0, 7], [1, 7], [2, 7], [3, 7]])
            XCTAssertEqual(s, "from rank 0")
        }
    }

    func testPeers_AreSymmetric_AndCoverRingAndPartners() {
        for size in 1...9 {
            for r in 0..<size {
                let mine = SumAlgorithms.peers(rank: r, size: size)
                for q in mine where q != r {
                    XCTAssert(SumAlgorithms.peers(rank: q, size: size).contains(r), "size \(size): \(r)→\(q) not symmetric")
                }
                if size > 1 { XCTAssert(mine.contains((r + 1) % size) && mine.contains((r + size - 1) % size)) }
            }
        }
    }

    /// Int64 sums (Note [Layout-invariant steps]) are exact through the ring and the doubling
    /// alike, and the maximum reaches every rank.
    func testInt64SumsAndMaximum_EveryWorldSize() throws {
        for size in 1...8 {
            for count in [3, 5000] {
                let results = try InProcessWorld.run(size: size) { comm -> ([Int64], [Double]) in
                    let high = Int64(comm.rank + 1) << 40
                    var x: [Int64] = (0..<count).map { i -> Int64 in high + Int64(i) }
                    x.withUnsafeMutableBufferPointer { comm.allreduceSum($0.baseAddress!, count: count) }
                    var m = [Double(comm.rank) * 1.5, -Double(comm.rank)]
                    comm.allreduceMax(&m)
                    return (x, m)
                }
                let high: Int64 = (1...Int64(size)).reduce(0) { $0 + ($1 << 40) }
                let expected: [Int64] = (0..<count).map { i -> Int64 in high + Int64(size) * Int64(i) }
                for (r, got) in results.enumerated() {
                    XCTAssertEqual(got.0, expected, "size \(size), count \(count), rank \(r)")
                    XCTAssertEqual(got.1, [Double(size - 1) * 1.5, 0], "size \(size), rank \(r)")
                }
            }
        }
    }
}
