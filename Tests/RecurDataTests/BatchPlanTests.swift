// The batch plan: seeded order per (seed, epoch), step counts from the plan alone, partial last
// batches dropped or kept with true global counts, and sharding over P ranks × K threads —
// shards disjoint, contiguous, balanced, and together exactly the global batch.

import XCTest
import RecurKernels
@testable import RecurData

final class BatchPlanTests: XCTestCase {

    func testShard_BalancedRule_HandExample() {
        // 10 windows over 3 ranks: 4, 3, 3; rank 0's 4 over 2 threads: 2, 2; rank 1's 3: 2, 1.
        XCTAssertEqual(Shard(rank: 0, rankCount: 3).rankRange(in: 10), 0..<4)
        XCTAssertEqual(Shard(rank: 1, rankCount: 3).rankRange(in: 10), 4..<7)
        XCTAssertEqual(Shard(rank: 2, rankCount: 3).rankRange(in: 10), 7..<10)
        XCTAssertEqual(Shard(rank: 1, rankCount: 3, thread: 0, threadCount: 2).range(in: 10), 4..<6)
        XCTAssertEqual(Shard(rank: 1, rankCount: 3, thread: 1, threadCount: 2).range(in: 10), 6..<7)
        // Fewer windows than replicas: later replicas get empty shards.
        XCTAssertEqual(Shard(rank: 2, rankCount: 3, thread: 1, threadCount: 4).range(in: 2), 2..<2)
        XCTAssertEqual(Shard(rank: 1, rankCount: 3, thread: 0, threadCount: 4).range(in: 2), 1..<2)
    }

    func testPlan_ShardsPartitionEveryGlobalBatch_ForAllRanksAndThreads() throws {
        for dropLast in [false, true] {
            let plan = try BatchPlan(windowCount: 23, batchSize: 8, targetsPerWindow: 5, shuffle: true, seed: 42, dropLast: dropLast)
            XCTAssertEqual(plan.stepsPerEpoch, dropLast ? 2 : 3)
            if !dropLast {
                XCTAssertEqual(plan.windowCount(step: 2), 7)
                XCTAssertEqual(plan.targetCount(step: 2), 35)
            }
            XCTAssertEqual(plan.targetCount(step: 0), 40)
            for epoch in 0..<2 {
                let order = plan.order(epoch: epoch)
                var seen: [Int] = []
                for step in 0..<plan.stepsPerEpoch {
                    let global = Array(order.windows(step: step))
                    XCTAssertEqual(global.count, plan.windowCount(step: step))
                    for p in [1, 2, 3] {
                        for k in [1, 2, 4] {
                            var union: [Int] = []
                            var sizes: [Int] = []
                            for r in 0..<p {
                                for t in 0..<k {
                                    let shard = Shard(rank: r, rankCount: p, thread: t, threadCount: k)
                                    let own = order.windows(step: step, shard: shard)
                                    XCTAssertLessThanOrEqual(own.count, plan.maxShardSize(shard))
                                    sizes.append(own.count)
                                    union += own
                                }
                            }
                            // Concatenated in replica order, the shards are the global batch itself:
                            // disjoint, contiguous, complete.
                            XCTAssertEqual(union, global, "P \(p) K \(k) step \(step)")
                            XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "P \(p) K \(k) sizes \(sizes)")
                            // Every rank derives the same step count from the plan alone.
                            XCTAssertEqual(plan.stepsPerEpoch, dropLast ? 23 / 8 : (23 + 7) / 8)
                        }
                    }
                    seen += global
                }
                XCTAssertEqual(Set(seen).count, seen.count, "no window twice in an epoch")
                XCTAssertEqual(seen.count, dropLast ? 16 : 23)
                XCTAssertTrue(seen.allSatisfy { (0..<23).contains($0) })
            }
        }
    }

    func testPlan_OrderDependsOnSeedAndEpochOnly() throws {
        let a = try BatchPlan(windowCount: 50, batchSize: 10, targetsPerWindow: 1, shuffle: true, seed: 9, dropLast: false)
        let b = try BatchPlan(windowCount: 50, batchSize: 10, targetsPerWindow: 1, shuffle: true, seed: 9, dropLast: false)
        let epoch3 = Array(a.order(epoch: 3).windows(step: 0))
        XCTAssertEqual(epoch3, Array(b.order(epoch: 3).windows(step: 0)))
        XCTAssertNotEqual(epoch3, Array(a.order(epoch: 4).windows(step: 0)))
        let other = try BatchPlan(windowCount: 50, batchSize: 10, targetsPerWindow: 1, shuffle: true, seed: 10, dropLast: false)
        XCTAssertNotEqual(epoch3, Array(other.order(epoch: 3).windows(step: 0)))
        // The order is SeededRandom's shuffle of 0..<W with stream (seed, epoch).
        var expected = Array(0..<50)
        var rng = SeededRandom.stream(seed: 9, 3)
        rng.shuffle(&expected)
        XCTAssertEqual(epoch3, Array(expected[0..<10]))
        let stored = try BatchPlan(windowCount: 50, batchSize: 10, targetsPerWindow: 1, shuffle: false, seed: 9, dropLast: false)
        XCTAssertEqual(Array(stored.order(epoch: 5).windows(step: 2)), Array(20..<30))
    }

    func testPlan_Evaluation_CoversEveryWindowExactlyOnce() throws {
        let dir = TempDir()
        let data = try SeriesDataset(series: countingSeries(dir, 40), windowing: Windowing(seqLen: 3, stride: 1))
        let plan = try BatchPlan.evaluation(data, split: .train, batchSize: 7)
        XCTAssertEqual(data.windowCount(.train), 37)
        XCTAssertEqual(plan.stepsPerEpoch, 6)
        XCTAssertEqual(plan.windowCount(step: 5), 2)
        XCTAssertEqual(plan.targetCount(step: 5), 2 * 3)
        for (p, k) in [(1, 1), (2, 2), (3, 4)] {
            var all: [Int] = []
            let order = plan.order(epoch: 0)
            for step in 0..<plan.stepsPerEpoch {
                for r in 0..<p { for t in 0..<k { all += order.windows(step: step, shard: Shard(rank: r, rankCount: p, thread: t, threadCount: k)) } }
            }
            XCTAssertEqual(all, Array(0..<37), "P \(p) K \(k)")
        }
    }

    func testPlan_TrainingFillsEveryReplicaFromItsShard() throws {
        let dir = TempDir()
        let data = try SeriesDataset(series: countingSeries(dir, 30), windowing: Windowing(seqLen: 2, stride: 2, target: .last))
        let plan = try BatchPlan.training(data, batchSize: 5, seed: 1)
        let order = plan.order(epoch: 0)
        let shard = Shard(rank: 1, rankCount: 2, thread: 1, threadCount: 2)
        let batch = BatchBuffers(for: data, capacity: plan.maxShardSize(shard))
        let own = order.windows(step: 0, shard: shard)
        XCTAssertEqual(own.count, 1)
        data.fill(.train, windows: own, into: batch)
        XCTAssertEqual(batch.targetValues![0], Float(own.first! * 2 + 2))
    }

    func testPlan_DropLastWithFewerWindowsThanBatch_Throws() {
        expectDataError(.tooShort, ["batch_size 8 is larger than the 5 windows", "drop_last"]) {
            _ = try BatchPlan(windowCount: 5, batchSize: 8, targetsPerWindow: 1, shuffle: true, seed: 0, dropLast: true)
        }
        expectDataError(.invalidSetting, ["batch_size is 0"]) {
            _ = try BatchPlan(windowCount: 5, batchSize: 0, targetsPerWindow: 1, shuffle: true, seed: 0, dropLast: false)
        }
        // Kept, it is one partial step of 5.
        let kept = try? BatchPlan(windowCount: 5, batchSize: 8, targetsPerWindow: 1, shuffle: true, seed: 0, dropLast: false)
        XCTAssertEqual(kept?.stepsPerEpoch, 1)
        XCTAssertEqual(kept?.windowCount(step: 0), 5)
    }
}
