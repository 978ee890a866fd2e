// Stateful streams for truncated BPTT: B contiguous streams, successive steps continue each
// stream window by window, and each replica owns the same streams for the whole run.

import XCTest
@testable import RecurData
import RecurPlan

final class StatefulStreamTests: XCTestCase {

    func testStreams_ContiguousAndContinuing_HandExample() throws {
        // 26 tokens a…z, B = 3 streams of ⌊26/3⌋ = 8 (the last 2 unused), L = 3, next:
        // W = (8 − 1) / 3 = 2 windows per stream at offsets 0, 3 | 8, 11 | 16, 19.
        let dir = TempDir()
        let corpus = try TextCorpus.load(path: dir.write("a.txt", "abcdefghijklmnopqrstuvwxyz"),
                                         options: TextOptions(splits: SplitFractions(train: 1, validation: 0)))
        let data = try TokenDataset(corpus: corpus, windowing: Windowing(seqLen: 3, streams: 3))
        XCTAssertEqual(data.streamCount, 3)
        XCTAssertEqual(data.windowCount(.train), 6)
        let plan = try BatchPlan.training(data, batchSize: 3, seed: 5)
        XCTAssertTrue(plan.isStateful)
        XCTAssertEqual(plan.stepsPerEpoch, 2)
        let order = plan.order(epoch: 0)
        let batch = BatchBuffers(for: data, capacity: 3)
        data.fill(.train, windows: order.windows(step: 0), into: batch)
        XCTAssertEqual(batch.inputTokens!.array, [0, 8, 16,   1, 9, 17,   2, 10, 18])
        XCTAssertEqual(batch.targetTokens!.array, [1, 9, 17,   2, 10, 18,   3, 11, 19])
        data.fill(.train, windows: order.windows(step: 1), into: batch)
        // Each stream continues where its previous window ended.
        XCTAssertEqual(batch.inputTokens!.array, [3, 11, 19,   4, 12, 20,   5, 13, 21])
        XCTAssertEqual(batch.targetTokens!.array[6..<9], [6, 14, 22])
        // Stateful order does not depend on the seed or epoch.
        XCTAssertEqual(Array(plan.order(epoch: 7).windows(step: 1)), Array(order.windows(step: 1)))
    }

    func testStreams_EachReplicaOwnsTheSameStreamsEveryStep() throws {
        let dir = TempDir()
        let data = try SeriesDataset(series: countingSeries(dir, 200),
                                     windowing: Windowing(seqLen: 4, target: .next, horizon: 2, streams: 7))
        let plan = try BatchPlan.training(data, batchSize: 7, seed: 0)
        // Streams of 28 rows: W = (28 − 4 − 2) / 4 + 1 = 6.
        XCTAssertEqual(plan.stepsPerEpoch, 6)
        let order = plan.order(epoch: 1)
        for (p, k) in [(1, 1), (2, 2), (3, 2), (2, 4)] {
            for r in 0..<p {
                for t in 0..<k {
                    let shard = Shard(rank: r, rankCount: p, thread: t, threadCount: k)
                    let streams = order.windows(step: 0, shard: shard).streams
                    XCTAssertEqual(streams, shard.range(in: 7))
                    var previous: [Int]? = nil
                    for step in 0..<plan.stepsPerEpoch {
                        let own = order.windows(step: step, shard: shard)
                        XCTAssertEqual(own.streams, streams, "a replica keeps its streams")
                        let offsets = own.map { data.windowing.offset(of: $0, length: 200) }
                        XCTAssertEqual(offsets, streams!.map { $0 * 28 + step * 4 })
                        if let previous { XCTAssertEqual(offsets, previous.map { $0 + 4 }) }
                        previous = offsets
                    }
                }
            }
        }
    }

    func testStreams_BadSettings_Throw() throws {
        let dir = TempDir()
        let series = try countingSeries(dir, 50)
        expectDataError(.invalidSetting, ["stride 2 and seq_len 4", "stride equal to seq_len"]) {
            _ = try SeriesDataset(series: series, windowing: Windowing(seqLen: 4, stride: 2, streams: 2))
        }
        expectDataError(.tooShort, ["50 rows", "in each of 10 streams", "at least 60", "batch size"]) {
            _ = try SeriesDataset(series: series, windowing: Windowing(seqLen: 5, streams: 10))
        }
        let data = try SeriesDataset(series: series, windowing: Windowing(seqLen: 4, streams: 2))
        expectDataError(.invalidSetting, ["2 streams but batch_size is 4"]) {
            _ = try BatchPlan.training(data, batchSize: 4, seed: 0)
        }
    }
}
