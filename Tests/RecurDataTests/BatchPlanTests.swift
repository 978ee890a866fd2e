// The batch plan: seeded order per (seed, epoch), step counts from the plan alone, partial last
// batches dropped or kept with true global counts, and sharding over P ranks × K threads —
// shards disjoint, contiguous, balanced, and together exactly the global batch.

import XCTest
import RecurKernels
@testable import RecurData
import RecurPlan

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

    // MARK: Variable lengths (Note [Work-balanced parts])

    /// Padded rows of a part: windows × its longest window.
    func work(_ list: WindowList, _ lengths: [Int32]) -> Int {
        list.count * Int(list.map { lengths[$0] }.max() ?? 0)
    }

    /// The least largest cost over every cut of `lengths` into at most `parts` contiguous parts
    /// of at most `BatchPlan.maxPartSize` windows (dynamic programming, the reference for the
    /// plan's bisection).
    func optimum(_ lengths: [Int], parts: Int) -> Int {
        let n = lengths.count, most = BatchPlan.maxPartSize(batch: n, parts: parts)
        func cost(_ i: Int, _ j: Int) -> Int { j - i > most ? Int.max : (j - i) * lengths[i..<j].max()! }
        var best = [[Int]](repeating: [Int](repeating: Int.max, count: n + 1), count: parts + 1)
        best[0][0] = 0
        for q in 1...parts {
            best[q][0] = 0
            for j in 1...n {
                for i in 0..<j where best[q - 1][i] != Int.max { best[q][j] = min(best[q][j], max(best[q - 1][i], cost(i, j))) }
            }
        }
        return best[parts][n]
    }

    func testPlan_VariableLengths_BatchesLongestFirst_PartsBalancedByWork() throws {
        var rng = SeededRandom(seed: 4)
        // Mostly short windows and a few long ones: a split by count leaves one replica most of the work.
        let lengths: [Int32] = (0..<61).map { _ in rng.below(5) == 0 ? Int32(40 + rng.below(60)) : Int32(1 + rng.below(10)) }
        let plan = try BatchPlan(windowCount: 61, batchSize: 16, targetsPerWindow: 1, shuffle: true, seed: 7, dropLast: false,
                                 lengths: lengths, sortsByLength: true)
        let order = plan.order(epoch: 1)
        var seen: [Int] = []
        var balancedWorst = 0, countWorst = 0
        for step in 0..<plan.stepsPerEpoch {
            let global = Array(order.windows(step: step))
            let l = global.map { lengths[$0] }
            XCTAssertEqual(l, l.sorted(by: >), "step \(step): longest first")
            seen += global
            for (p, k) in [(1, 2), (2, 1), (2, 2), (3, 2), (1, 5)] {
                var union: [Int] = [], costs: [Int] = []
                for r in 0..<p {
                    for t in 0..<k {
                        let shard = Shard(rank: r, rankCount: p, thread: t, threadCount: k)
                        let own = order.windows(step: step, shard: shard)
                        XCTAssertLessThanOrEqual(own.count, plan.maxShardSize(shard))
                        union += own
                        costs.append(work(own, lengths))
                        // The same part whoever asks: rank-major replica index into P·K parts.
                        XCTAssertEqual(Array(own), Array(order.windows(step: step, within: order.part(step: step, parts: p * k, index: shard.replica))))
                    }
                }
                XCTAssertEqual(union, global, "P \(p) K \(k) step \(step): parts are the batch, in order")
                // No part costs more than the even share plus one window's padding, and never more
                // than the split by count.
                let byCount = (0..<(p * k)).map { i in
                    work(order.windows(step: step, within: Shard.balanced(global.count, parts: p * k, index: i)), lengths)
                }
                let total = l.reduce(0) { $0 + Int($1) }
                XCTAssertLessThanOrEqual(costs.max()!, byCount.max()!, "P \(p) K \(k) step \(step)")
                XCTAssertEqual(costs.max()!, optimum(l.map { Int($0) }, parts: p * k), "P \(p) K \(k) step \(step): the least largest part")
                XCTAssertGreaterThanOrEqual(costs.max()! * p * k, total)
                if p * k == 4 { balancedWorst += costs.max()!; countWorst += byCount.max()! }
            }
        }
        XCTAssertEqual(Set(seen).count, 61)
        XCTAssertLessThan(Double(balancedWorst), 0.8 * Double(countWorst), "balancing by work beats balancing by count here")
        // Evaluation keeps stored order (predictions come out in file order); parts still by work.
        let eval = try BatchPlan(windowCount: 61, batchSize: 16, targetsPerWindow: 1, shuffle: false, seed: 0, dropLast: false,
                                 lengths: lengths)
        XCTAssertEqual(Array(eval.order(epoch: 0).windows(step: 1)), Array(16..<32))
        XCTAssertFalse(eval.sortsByLength)
        // Same lengths, seed and epoch: the same batches (every rank derives them alike).
        let again = try BatchPlan(windowCount: 61, batchSize: 16, targetsPerWindow: 1, shuffle: true, seed: 7, dropLast: false,
                                  lengths: lengths, sortsByLength: true)
        XCTAssertEqual(Array(again.order(epoch: 1).windows(step: 2)), Array(order.windows(step: 2)))
    }
}
