// What the engine needs to know, and nothing more: the model, the global batch, the optimizer,
// clipping and the layout of replicas. The experiment file, data paths, logging and checkpoint
// cadence are the training session's business (RecurTrain builds this from an experiment).

import RecurModel
import RecurOptim

/// The narrow configuration of one Engine.
public struct EngineConfig: Sendable, Equatable {
    /// The model's shape (sizes from the data already filled in).
    public var model: ModelConfig
    /// Windows per synchronized step, across all replicas of all ranks.
    public var batchSize: Int
    public var optimizer: OptimizerConfig
    /// Clip the global gradient norm to this (nil or ≤ 0: off).
    public var clipNorm: Double?
    /// Clip every gradient element to ±this (nil: off).
    public var clipValue: Double?
    /// Replicas (threads) in this process.
    public var threads: Int
    /// Floats per allreduce bucket.
    public var bucketSize: Int
    /// Seeds the initial parameters and, with the update number, the dropout masks.
    public var seed: UInt64
    /// Layout-invariant steps over this many fixed micro-shards of every batch, or nil for the
    /// faster steps whose rounding depends on the layout (Note [Layout-invariant steps]).
    public var microShards: Int?
    /// Exchange each group of gradients while backward computes the rest (Note [Overlapped
    /// exchange]); off, every exchange waits for the whole backward. Same bits either way.
    public var overlap = true

    public init(model: ModelConfig, batchSize: Int, optimizer: OptimizerConfig, clipNorm: Double? = nil,
                clipValue: Double? = nil, threads: Int, bucketSize: Int, seed: UInt64, microShards: Int? = nil) {
        self.model = model; self.batchSize = batchSize; self.optimizer = optimizer
        self.clipNorm = clipNorm; self.clipValue = clipValue; self.threads = threads
        self.bucketSize = bucketSize; self.seed = seed; self.microShards = microShards
    }
}
