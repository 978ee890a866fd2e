// Checkpoint files: bitwise round trips, refusal of truncated and corrupted files and of a
// different model, atomic saves (a stray interrupted save never hides the previous checkpoint),
// pruning, and loading model.safetensors into tools/torch_model.py (skipped without PyTorch).

import Foundation
import XCTest
import RecurKernels
import RecurModel
import RecurOptim
@testable import RecurTrain
@testable import RecurExperiment
@testable import RecurInference
@testable import RecurReport
@testable import RecurStore

final class SafeTensorsTests: XCTestCase {

    // MARK: Fixtures

    static let lstmConfig = ModelConfig(cell: .lstm, hiddenSize: 4, layers: 2, input: .embedding,
                                        vocabularySize: 7, embeddingSize: 3, outputSize: 7)

    /// A model checkpoint whose parameters include values that only a bitwise copy preserves
    /// (finite ones: a checkpoint never holds NaN or infinity).
    func modelCheckpoint(_ config: ModelConfig = lstmConfig, seed: UInt64 = 1,
                         metadata: [String: String] = [:]) throws -> ModelCheckpoint {
        let network = try RecurrentNetwork(config)
        var rng = SeededRandom(seed: seed)
        var parameters = (0..<network.parameterCount).map { _ in rng.normal() }
        let specials: [Float] = [-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 Float(bitPattern: 0x0000_1234)] // a subnormal
        for (i, v) in specials.enumerated() where i < parameters.count { parameters[i] = v }
        return ModelCheckpoint(config: config, layout: network.layout, parameters: parameters, metadata: metadata)
    }

    func trainingState(parameterCount: Int) -> TrainingState {
        let optimizer = Optimizer(config: .adam(), parameterCount: parameterCount)
        var rng = SeededRandom(seed: 9)
        for (_, buffer) in optimizer.stateTensors {
            for i in 0..<buffer.count { buffer[i] = rng.normal() }
        }
        optimizer.stepCount = 17
        var state = TrainingState(
            tensors: ["hidden.l0.h": StoredTensor(shape: [2, 1, 4], values: (0..<8).map { Float($0) - 3.5 }),
                      "hidden.l0.c": StoredTensor(shape: [2, 1, 4], values: (0..<8).map { Float($0) * 0.25 })],
            counters: ["step": 120, "epoch": 3, "position": Int64.max, "negative": Int64.min],
            words: ["rng.data": SeededRandom(seed: 5).stateWords, "rng.dropout": [0, .max, 1, 1 << 63]],
            metadata: ["note": "quotes \" backslash \\ newline \n tab \t unicode ✓ control \u{01}"])
        state.capture(optimizer)
        return state
    }

    func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    func assertBitwiseEqual(_ a: ModelCheckpoint, _ b: ModelCheckpoint, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.config, b.config, file: file, line: line)
        XCTAssertEqual(a.layout, b.layout, file: file, line: line)
        XCTAssertEqual(a.metadata, b.metadata, file: file, line: line)
        XCTAssertEqual(bits(a.parameters), bits(b.parameters), file: file, line: line)
    }

    /// Expects `body` to throw a CheckpointError of `kind` whose message contains `fragments`.
    func assertRefused<T>(_ kind: CheckpointError.Kind?, _ fragments: [String] = [], file: StaticString = #filePath,
                          line: UInt = #line, _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected a CheckpointError\(kind.map { " (\($0))" } ?? ""), got a result", file: file, line: line)
        } catch let error as CheckpointError {
            if let kind { XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line) }
            for f in fragments { XCTAssertTrue(error.description.contains(f), "'\(f)' not in: \(error)", file: file, line: line) }
        } catch {
            XCTFail("expected a CheckpointError, got \(error)", file: file, line: line)
        }
    }

    /// A safetensors file from a literal header and data section (header padded to 8 bytes).
    func rawFile(header: String, data: [UInt8], headerLength: UInt64? = nil) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        return SafeTensor.littleEndianBytes([headerLength ?? UInt64(h.count)]) + h + data
    }

    // MARK: Round trips

    func testSafeTensorsFile_AllDTypes_RoundTripBitwise() throws {
        let file = SafeTensorsFile(tensors: [
            SafeTensor(name: "f32", shape: [2, 2], floats: [1, -0.0, .nan, .infinity]),
            SafeTensor(name: "f64", shape: [3], doubles: [.pi, -1e300, .leastNonzeroMagnitude]),
            SafeTensor(name: "i64", shape: [], int64s: [Int64.min]),
            SafeTensor(name: "u64", shape: [2], uint64s: [.max, 42]),
            SafeTensor(name: "i32", shape: [1, 3], int32s: [.min, 0, .max]),
            SafeTensor(name: "empty", shape: [0, 5], floats: []),
            SafeTensor(name: "u8", dtype: .U8, shape: [3], bytes: [1, 2, 3]),
        ], metadata: ["a": "{\"json\": [1, 2]}", "é": "ü\n"])
        let bytes = file.serialized()
        let headerLength = Int(bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        XCTAssertEqual(headerLength % 8, 0, "the header is padded to a multiple of 8")
        XCTAssertEqual(bytes.count, 8 + headerLength + 16 + 24 + 8 + 16 + 12 + 0 + 3)
        let back = try SafeTensorsFile.parse(bytes, path: "mem")
        XCTAssertEqual(back.tensors.map(\.name), file.tensors.map(\.name), "tensors come back in file order")
        XCTAssertEqual(back, file) // bytes compare, so NaN payloads and -0 are covered
        XCTAssertEqual(back["u64"]?.uint64s, [.max, 42])
        XCTAssertEqual(back["i32"]?.int32s, [.min, 0, .max])
        XCTAssertEqual(back["f64"]?.doubles?.map(\.bitPattern), [Double.pi, -1e300, .leastNonzeroMagnitude].map(\.bitPattern))
        XCTAssertNil(back["i64"]?.floats, "a typed accessor of the wrong dtype is nil")
    }

    func testCheckpoint_RoundTrip_IsBitwiseEqual() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try modelCheckpoint(metadata: ["vocabulary": "[\"a\",\"b\"]", "normalization": "{}"])
        let state = trainingState(parameterCount: model.layout.totalCount)
        let target = dir.appendingPathComponent("checkpoints").appendingPathComponent(Checkpoint.directoryName(step: 120))
        try Checkpoint(model: model, state: state).write(to: target)

        XCTAssertEqual(target.lastPathComponent, "step-000120")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path).sorted(),
                       ["model.safetensors", "training-state.safetensors"])
        let back = try Checkpoint.read(from: target, expecting: model.layout)
        assertBitwiseEqual(back.model, model)
        XCTAssertEqual(back.state.optimizer.mapValues(bits), state.optimizer.mapValues(bits))
        XCTAssertEqual(back.state, state)
        // The model file alone, and a directory given to ModelCheckpoint.read, give the same model.
        assertBitwiseEqual(try ModelCheckpoint.read(from: target), model)
        assertBitwiseEqual(try ModelCheckpoint.read(from: target.appendingPathComponent("model.safetensors")), model)
        XCTAssertEqual(try TrainingState.read(from: target), state)

        // The metadata a PyTorch user sees.
        let raw = try SafeTensorsFile.read(from: target.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(raw.metadata["format"], "recur-checkpoint")
        XCTAssertEqual(raw.metadata["format_version"], "1")
        XCTAssertEqual(try JSONDecoder().decode(ModelConfig.self, from: Data(raw.metadata["model_config"]!.utf8)), model.config)
        XCTAssertEqual(raw.tensors.map(\.name), model.layout.entries.map(\.name))
        XCTAssertEqual(raw.tensors.map(\.shape), model.layout.entries.map(\.shape))
        XCTAssertEqual(raw["rnn.weight_ih_l1"]?.shape, [16, 4])
    }

    func testTrainingState_RestoresOptimizerBitwise() throws {
        let state = trainingState(parameterCount: 10)
        let bytes = state.safeTensors.serialized()
        let back = try TrainingState(safeTensors: SafeTensorsFile.parse(bytes, path: "mem"), path: "mem")
        let optimizer = Optimizer(config: .adam(), parameterCount: 10)
        try back.restore(into: optimizer)
        XCTAssertEqual(optimizer.stepCount, 17)
        for (name, buffer) in optimizer.stateTensors {
            XCTAssertEqual(bits(buffer.array), bits(state.optimizer[name]!), name)
        }
        assertRefused(.differentModel, ["exp_avg"]) {
            try back.restore(into: Optimizer(config: .sgd(momentum: 0.9), parameterCount: 10))
        }
        assertRefused(.differentModel, ["10"]) { try back.restore(into: Optimizer(config: .adam(), parameterCount: 11)) }
    }

    /// An I64 vector is no Recur state; a file holding one still reads, without it.
    func testTrainingState_WithAnInt64Vector_ReadsTheRest() throws {
        let state = trainingState(parameterCount: 10)
        var file = state.safeTensors
        file.tensors.append(SafeTensor(name: "rank_positions", shape: [4], int64s: [0, 5, -1, 1 << 40]))
        let back = try TrainingState(safeTensors: SafeTensorsFile.parse(file.serialized(), path: "mem"), path: "mem")
        XCTAssertEqual(back, state)
    }

    // MARK: Refusal of damaged files

    func testTruncatedFile_EveryCut_IsRefused() throws {
        let model = try modelCheckpoint(ModelConfig(cell: .gru, hiddenSize: 2, input: .features, featureCount: 2, outputSize: 1))
        let modelBytes = model.safeTensors.serialized()
        let stateBytes = trainingState(parameterCount: model.layout.totalCount).safeTensors.serialized()
        for bytes in [modelBytes, stateBytes] {
            XCTAssertNoThrow(try SafeTensorsFile.parse(bytes, path: "whole"))
            for cut in 0..<bytes.count {
                do {
                    let half = try SafeTensorsFile.parse(Array(bytes[..<cut]), path: "cut")
                    XCTFail("a file cut at byte \(cut) of \(bytes.count) was accepted with \(half.tensors.count) tensors")
                } catch let error as CheckpointError {
                    XCTAssertTrue([.tooShort, .headerOutOfRange, .truncated].contains(error.kind), "cut \(cut): \(error)")
                }
            }
        }
        // Through the file API: the message names the file and says what to do.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        try Data(modelBytes[..<(modelBytes.count - 3)]).write(to: url)
        assertRefused(.truncated, [url.path, "cut short", "earlier checkpoint"]) { try ModelCheckpoint.read(from: url) }
        try Data(modelBytes[..<5]).write(to: url)
        assertRefused(.tooShort, [url.path, "5 bytes"]) { try ModelCheckpoint.read(from: url) }
    }

    func testCorruptedHeader_IsRefused() throws {
        let four = [UInt8](repeating: 0, count: 4)
        let ok = #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        XCTAssertNoThrow(try SafeTensorsFile.parse(rawFile(header: ok, data: four), path: "ok"))

        assertRefused(.headerOutOfRange, ["beyond the end"]) {
            try SafeTensorsFile.parse(rawFile(header: ok, data: four, headerLength: 4096), path: "f")
        }
        assertRefused(.headerOutOfRange, ["limit"]) {
            try SafeTensorsFile.parse(rawFile(header: ok, data: four, headerLength: .max), path: "f")
        }
        assertRefused(.badHeader, ["not valid JSON"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F32","shape":[1],"#, data: four), path: "f")
        }
        assertRefused(.badHeader, ["does not start"]) {
            try SafeTensorsFile.parse(rawFile(header: "garbage!", data: four), path: "f")
        }
        assertRefused(.badHeader, ["not a JSON object"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":[1,2]}"#, data: four), path: "f")
        }
        assertRefused(.badHeader, ["not a string"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"__metadata__":{"a":1}}"#, data: []), path: "f")
        }
        assertRefused(.badHeader, ["'x'", "shape"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four), path: "f")
        }
        assertRefused(.badHeader, ["'x'", "shape"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: four), path: "f")
        }
        assertRefused(.unknownDType, ["'x'", "no dtype"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"shape":[1],"data_offsets":[0,4]}}"#, data: four), path: "f")
        }
        assertRefused(.unknownDType, ["'F33'"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#, data: four), path: "f")
        }
        assertRefused(.badOffsets, ["data_offsets"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, data: four), path: "f")
        }
        assertRefused(.badOffsets, ["data_offsets"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F32","shape":[1]}}"#, data: four), path: "f")
        }
        let eight = [UInt8](repeating: 0, count: 8)
        assertRefused(.badOffsets, ["overlaps"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), path: "f")
        }
        assertRefused(.badOffsets, ["belong to no tensor"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight), path: "f")
        }
        assertRefused(.trailingBytes, ["4 bytes follow"]) {
            try SafeTensorsFile.parse(rawFile(header: ok, data: eight), path: "f")
        }
        assertRefused(.truncated, ["cut short"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: four), path: "f")
        }

        // Flipped bytes inside a real checkpoint's header.
        let bytes = try modelCheckpoint().safeTensors.serialized()
        var corrupt = bytes
        corrupt[8] = UInt8(ascii: "[")
        assertRefused(.badHeader) { try SafeTensorsFile.parse(corrupt, path: "f") }
        corrupt = bytes
        let headerLength = Int(bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let headerText = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        let quote = headerText.range(of: "\"dtype\":\"F32\"")!
        corrupt[8 + headerText.utf8.distance(from: headerText.startIndex, to: quote.lowerBound) + 2] = UInt8(ascii: "X")
        assertRefused(.unknownDType, ["no dtype"]) { try SafeTensorsFile.parse(corrupt, path: "f") }
    }

    func testWrongDTypeSize_IsRefused() throws {
        assertRefused(.sizeMismatch, ["'x'", "F64", "needs 32 bytes", "span 16"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"x":{"dtype":"F64","shape":[4],"data_offsets":[0,16]}}"#,
                                              data: [UInt8](repeating: 0, count: 16)), path: "f")
        }
        assertRefused(.sizeMismatch, ["'y'", "I32"]) {
            try SafeTensorsFile.parse(rawFile(header: #"{"y":{"dtype":"I32","shape":[3],"data_offsets":[0,16]}}"#,
                                              data: [UInt8](repeating: 0, count: 16)), path: "f")
        }
        // A well-formed file whose parameter tensor is not F32.
        var file = try modelCheckpoint().safeTensors
        let i = file.tensors.firstIndex { $0.name == "head.bias" }!
        let bias = file.tensors[i]
        file.tensors[i] = SafeTensor(name: bias.name, shape: bias.shape, int32s: [Int32](repeating: 1, count: bias.elementCount))
        assertRefused(.badContent, ["'head.bias'", "I32", "not F32"]) {
            try ModelCheckpoint(safeTensors: SafeTensorsFile.parse(file.serialized(), path: "f"), path: "f")
        }
    }

    func testForeignFile_IsRefused() throws {
        let plain = SafeTensorsFile(tensors: [SafeTensor(name: "w", shape: [1], floats: [1])]).serialized()
        assertRefused(.badContent, ["no 'format'"]) {
            try ModelCheckpoint(safeTensors: SafeTensorsFile.parse(plain, path: "f"), path: "f")
        }
        let state = TrainingState().safeTensors.serialized()
        assertRefused(.badContent, ["recur-training-state", "expected 'recur-checkpoint'"]) {
            try ModelCheckpoint(safeTensors: SafeTensorsFile.parse(state, path: "f"), path: "f")
        }
        var future = try modelCheckpoint().safeTensors
        future.metadata["format_version"] = "2"
        assertRefused(.badContent, ["format_version '2'"]) {
            try ModelCheckpoint(safeTensors: SafeTensorsFile.parse(future.serialized(), path: "f"), path: "f")
        }
    }

    func testCheckpointOfDifferentModel_IsRefused_NamingTheTensor() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let saved = try modelCheckpoint()
        try saved.write(to: dir.appendingPathComponent("model.safetensors"))
        let url = dir.appendingPathComponent("model.safetensors")

        var wider = Self.lstmConfig
        wider.hiddenSize = 8
        assertRefused(.differentModel, [url.path, "different model", "'rnn.weight_ih_l0'", "[16, 3]", "[32, 3]", "more differences"]) {
            try ModelCheckpoint.read(from: url, expecting: try RecurrentNetwork(wider).layout)
        }
        var deeper = Self.lstmConfig
        deeper.layers = 3
        assertRefused(.differentModel, ["lacks tensor 'rnn.weight_ih_l2'"]) {
            try ModelCheckpoint.read(from: url, expecting: try RecurrentNetwork(deeper).layout)
        }
        var oneHot = Self.lstmConfig
        oneHot.input = .oneHot
        assertRefused(.differentModel, ["'rnn.weight_ih_l0'", "[16, 7] in the model", "(and 1 more difference)"]) {
            try ModelCheckpoint.read(from: url, expecting: try RecurrentNetwork(oneHot).layout)
        }
        var shallow = Self.lstmConfig
        shallow.layers = 1
        assertRefused(.differentModel, ["has tensor 'rnn.weight_ih_l1'", "that the model does not"]) {
            try ModelCheckpoint.read(from: url, expecting: try RecurrentNetwork(shallow).layout)
        }
        XCTAssertNoThrow(try ModelCheckpoint.read(from: url, expecting: saved.layout))
    }

    func testCheckpointDirectoryLackingAFile_IsRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try modelCheckpoint()
        let step = dir.appendingPathComponent("step-000010")
        try Checkpoint(model: model, state: trainingState(parameterCount: model.layout.totalCount)).write(to: step)
        try FileManager.default.removeItem(at: step.appendingPathComponent("training-state.safetensors"))
        assertRefused(.missingFile, [step.path, "lacks training-state.safetensors"]) { try Checkpoint.read(from: step) }
        assertRefused(.missingFile, ["lacks training-state.safetensors"]) { try ModelCheckpoint.read(from: step) }
        XCTAssertEqual(try Checkpoint.list(in: dir), [], "an incomplete directory is not listed")
        assertRefused(.missingFile, ["not a checkpoint directory"]) { try Checkpoint.read(from: dir.appendingPathComponent("nope")) }
        assertRefused(.missingFile, ["no such file"]) { try ModelCheckpoint.read(from: dir.appendingPathComponent("nope.safetensors")) }
    }

    // MARK: Atomic saves

    func testInterruptedSave_PreviousCheckpointStillLoads() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try modelCheckpoint()
        let state = trainingState(parameterCount: model.layout.totalCount)
        let step100 = dir.appendingPathComponent("step-000100")
        try Checkpoint(model: model, state: state).write(to: step100)

        // A save of step 200 killed mid-way: its temporary directory holds half a model file and
        // no training state; and a crashed atomic file write left a partial temp file behind.
        let stray = dir.appendingPathComponent(".step-000200.tmp-999999")
        try FileManager.default.createDirectory(at: stray, withIntermediateDirectories: false)
        let newer = try modelCheckpoint(seed: 2).safeTensors.serialized()
        try Data(newer[..<(newer.count / 2)]).write(to: stray.appendingPathComponent("model.safetensors"))
        let partialTemp = step100.appendingPathComponent(".model.safetensors.tmp-999999-1")
        try Data(newer[..<100]).write(to: partialTemp)

        XCTAssertEqual(try Checkpoint.list(in: dir).map(\.lastPathComponent), ["step-000100"])
        let latest = try XCTUnwrap(try Checkpoint.latest(in: dir))
        let back = try Checkpoint.read(from: latest, expecting: model.layout)
        assertBitwiseEqual(back.model, model)
        XCTAssertEqual(back.state, state)

        // Replacing an existing checkpoint directory swaps it whole and leaves nothing behind.
        let replacement = try modelCheckpoint(seed: 3)
        try Checkpoint(model: replacement, state: TrainingState(counters: ["step": 100])).write(to: step100)
        assertBitwiseEqual(try ModelCheckpoint.read(from: step100), replacement)
        XCTAssertEqual(try TrainingState.read(from: step100).counters, ["step": 100])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       [".step-000200.tmp-999999", "step-000100"])
    }

    func testWriteAtomically_ReplacesWholeFile_AndLeavesNoTemporary() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let first = try modelCheckpoint(seed: 1)
        try first.write(to: url)
        // A temporary left by a write that died before its rename does not touch the target.
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent(".model.safetensors.tmp-999999-7"))
        assertBitwiseEqual(try ModelCheckpoint.read(from: url), first)

        let second = try modelCheckpoint(seed: 2)
        try second.write(to: url)
        assertBitwiseEqual(try ModelCheckpoint.read(from: url), second)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(),
                       [".model.safetensors.tmp-999999-7", "model.safetensors"])

        // An I/O failure is a FileError (exit 1: the run failed), not a CheckpointError (user input).
        XCTAssertThrowsError(try writeAtomically(Data([1]), to: dir.appendingPathComponent("no-such-dir/x"))) { error in
            guard let e = error as? FileError else { return XCTFail("expected a FileError, got \(error)") }
            XCTAssertTrue(e.description.contains("no-such-dir") && e.description.contains("No such file"), e.description)
            XCTAssertFalse(error is UserInputError)
        }
        XCTAssertNoThrow(try fsyncDirectory(dir))
    }

    // MARK: Pruning

    func testPrune_KeepsLastKAndBest() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try modelCheckpoint(ModelConfig(cell: .rnn, hiddenSize: 2, input: .features, featureCount: 1, outputSize: 1))
        for step in [10, 20, 30, 40, 50, 60] {
            try Checkpoint(model: model, state: TrainingState(counters: ["step": Int64(step)]))
                .write(to: dir.appendingPathComponent(Checkpoint.directoryName(step: step)))
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".step-000070.tmp-999999"),
                                                withIntermediateDirectories: false)
        try Data().write(to: dir.appendingPathComponent("notes.txt"))

        let removed = try pruneCheckpoints(in: dir, keepLast: 2, keep: "step-000020")
        XCTAssertEqual(removed, [".step-000070.tmp-999999", "step-000010", "step-000030", "step-000040"])
        XCTAssertEqual(try Checkpoint.list(in: dir).map(\.lastPathComponent), ["step-000020", "step-000050", "step-000060"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("notes.txt").path))

        // The best given as a path; it may also be among the last K.
        XCTAssertEqual(try pruneCheckpoints(in: dir, keepLast: 1, keep: dir.appendingPathComponent("step-000060").path),
                       ["step-000020", "step-000050"])
        XCTAssertEqual(try pruneCheckpoints(in: dir, keepLast: 0, keep: nil), ["step-000060"])
        XCTAssertEqual(try Checkpoint.list(in: dir), [])
    }

    func testDirectoryNames() {
        XCTAssertEqual(Checkpoint.directoryName(step: 120), "step-000120")
        XCTAssertEqual(Checkpoint.directoryName(step: 12_345_678), "step-12345678")
        XCTAssertEqual(Checkpoint.step(ofDirectoryName: "step-000120"), 120)
        XCTAssertNil(Checkpoint.step(ofDirectoryName: ".step-000120.tmp-5"))
        XCTAssertNil(Checkpoint.step(ofDirectoryName: "step-"))
        XCTAssertNil(Checkpoint.step(ofDirectoryName: "step-12a"))
    }

    // MARK: PyTorch

    /// An interpreter with torch and safetensors: $RECUR_TORCH_PYTHON, /opt/torchref/bin/python, python3.
    func torchPython() throws -> URL {
        let env = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let p = env["RECUR_TORCH_PYTHON"], !p.isEmpty { candidates.append(p) }
        candidates.append("/opt/torchref/bin/python")
        for dir in (env["PATH"] ?? "").split(separator: ":") { candidates.append("\(dir)/python3") }
        var tried: [String] = []
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            let (status, output) = try runPython(URL(fileURLWithPath: path), ["-c", "import torch, safetensors.torch"])
            if status == 0 { return URL(fileURLWithPath: path) }
            tried.append("\(path) (\(output.split(separator: "\n").last ?? "import failed"))")
        }
        throw XCTSkip("no Python with torch and safetensors: tried "
                      + (tried.isEmpty ? "none found" : tried.joined(separator: "; "))
                      + ". Set RECUR_TORCH_PYTHON to an interpreter that has both.")
    }

    func runPython(_ python: URL, _ arguments: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = python
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testTorchModel_LoadsModelSafetensors_WithSameNamesAndShapes() throws {
        let python = try torchPython()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools")
        let configs: [ModelConfig] = [
            Self.lstmConfig,
            ModelConfig(cell: .gru, hiddenSize: 5, layers: 2, dropout: 0.25, gruReset: .before, input: .oneHot,
                        vocabularySize: 6, outputSize: 6),
            ModelConfig(cell: .gru, hiddenSize: 3, gruReset: .after, input: .features, featureCount: 2,
                        outputSize: 4, head: .lastStep),
            ModelConfig(cell: .rnn, hiddenSize: 4, layers: 3, nonlinearity: .relu, input: .features, featureCount: 1,
                        outputSize: 1, forgetBias: true),
        ]
        var cases: [[String: Any]] = []
        for (i, config) in configs.enumerated() {
            let network = try RecurrentNetwork(config)
            // Parameters 0, 0.5, 1, … in layout order, so Python can check every value landed.
            let model = ModelCheckpoint(config: config, layout: network.layout,
                                        parameters: (0..<network.parameterCount).map { Float($0) * 0.5 },
                                        metadata: ["vocabulary": "[\"a\"]"])
            let step = dir.appendingPathComponent("m\(i)/step-000001")
            try Checkpoint(model: model, state: TrainingState()).write(to: step)
            cases.append(["path": step.appendingPathComponent("model.safetensors").path,
                          "names": network.layout.entries.map(\.name),
                          "shapes": network.layout.entries.map(\.shape)])
        }
        let casesURL = dir.appendingPathComponent("cases.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: casesURL)
        let script = """
        import json, sys, torch
        sys.path.insert(0, sys.argv[1])
        import torch_model
        from safetensors.torch import load_file
        for case in json.load(open(sys.argv[2])):
            m = torch_model.load(case["path"])
            sd = m.state_dict()
            assert list(sd.keys()) == case["names"], (list(sd.keys()), case["names"])
            assert [list(t.shape) for t in sd.values()] == case["shapes"], case["path"]
            assert list(load_file(case["path"]).keys()) == case["names"]
            flat = torch.cat([t.flatten() for t in sd.values()])
            assert torch.equal(flat, torch.arange(flat.numel(), dtype=torch.float32) * 0.5), case["path"]
            assert m.metadata["vocabulary"] == '["a"]'
            c = m.config
            x = (torch.randint(0, c["vocabularySize"], (3, 2)) if c["input"] != "features"
                 else torch.randn(3, 2, c["featureCount"]))
            out, _ = m(x)
            expect = [2, c["outputSize"]] if c["head"] == "last_step" else [3, 2, c["outputSize"]]
            assert list(out.shape) == expect, (list(out.shape), expect)
            print("ok", type(m.rnn).__name__, len(sd))
        from safetensors.torch import save_file
        save_file({"w": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4, "step": torch.tensor(7, dtype=torch.int64),
                   "d": torch.tensor([0.1], dtype=torch.float64), "i": torch.tensor([-2, 3], dtype=torch.int32)},
                  sys.argv[3], metadata={"from": "python"})
        """
        let pythonWritten = dir.appendingPathComponent("python.safetensors")
        let (status, output) = try runPython(python, ["-c", script, tools.path, casesURL.path, pythonWritten.path])
        XCTAssertEqual(status, 0, "python (\(python.path)) failed:\n\(output)")
        XCTAssertEqual(output.split(separator: "\n").filter { $0.hasPrefix("ok") }.count, configs.count, output)
        XCTAssertTrue(output.contains("ok ResetBeforeGRU"), output)

        // And the other way: a file the Python writer made reads here.
        let fromPython = try SafeTensorsFile.read(from: pythonWritten)
        XCTAssertEqual(fromPython.metadata, ["from": "python"])
        XCTAssertEqual(fromPython["w"]?.shape, [2, 3])
        XCTAssertEqual(fromPython["w"]?.floats, [0, 0.25, 0.5, 0.75, 1, 1.25])
        XCTAssertEqual(fromPython["step"]?.shape, [])
        XCTAssertEqual(fromPython["step"]?.int64s, [7])
        XCTAssertEqual(fromPython["d"]?.doubles, [0.1])
        XCTAssertEqual(fromPython["i"]?.int32s, [-2, 3])

        // The documented command-line use prints every tensor with its shape.
        let (cliStatus, cliOutput) = try runPython(python, [tools.appendingPathComponent("torch_model.py").path,
                                                            cases[0]["path"] as! String])
        XCTAssertEqual(cliStatus, 0, cliOutput)
        XCTAssertTrue(cliOutput.contains("rnn.weight_hh_l1\t[16, 4]"), cliOutput)
        XCTAssertTrue(cliOutput.contains("embedding.weight\t[7, 3]"), cliOutput)
    }

    /// tools/torch_model.py builds bidirectional models (nn.RNN/GRU/LSTM with bidirectional=True,
    /// its own reset-before GRU for both directions, a head on h_n[-2] ‖ h_n[-1]) that compute
    /// what Recur computes from the same checkpoint (Note [Bidirectional layers]), also on
    /// sequences of different lengths (Note [Variable-length sequences]).
    func testTorchModel_Bidirectional_ComputesRecursOutputs() throws {
        let python = try torchPython()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tools")
        var configs: [ModelConfig] = [
            ModelConfig(cell: .gru, hiddenSize: 5, layers: 2, gruReset: .before, input: .features, featureCount: 3,
                        outputSize: 4, head: .lastStep),
            ModelConfig(cell: .lstm, hiddenSize: 4, layers: 2, input: .embedding, vocabularySize: 6, embeddingSize: 3,
                        outputSize: 6),
            ModelConfig(cell: .rnn, hiddenSize: 3, input: .oneHot, vocabularySize: 5, outputSize: 2, head: .lastStep),
            ModelConfig(cell: .gru, hiddenSize: 4, layers: 2, input: .features, featureCount: 2, outputSize: 3),
        ]
        for i in configs.indices { configs[i].bidirectional = true }
        // The same models on sequences of 4 and 2 steps (forward(…, lengths=)), and a
        // unidirectional one, whose last-step head then reads h_n at each sequence's own end.
        var variable = configs
        variable.append(ModelConfig(cell: .lstm, hiddenSize: 4, layers: 2, input: .features, featureCount: 2, outputSize: 3, head: .lastStep))
        let T = 4, b = 2
        let lengths: [Int32] = [4, 2]
        var cases: [[String: Any]] = []
        for (i, (config, withLengths)) in (configs.map { ($0, false) } + variable.map { ($0, true) }).enumerated() {
            let network = try RecurrentNetwork(config)
            let parameters = (0..<network.parameterCount).map { Float(sin(Double($0) * 0.7)) * 0.6 }
            try Checkpoint(model: ModelCheckpoint(config: config, layout: network.layout, parameters: parameters, metadata: [:]),
                           state: TrainingState()).write(to: dir.appendingPathComponent("m\(i)/step-000001"))
            let tokens = (0..<(T * b)).map { Int32(($0 * 5 + 1) % max(config.vocabularySize, 1)) }
            let features = (0..<(T * b * config.featureCount)).map { Float(cos(Double($0))) }
            let ws = NetworkWorkspace(network: network, maxBatch: b, maxSteps: T)
            let tokenBuffer = Int32Buffer(tokens), featureBuffer = FloatBuffer(features.isEmpty ? [0] : features)
            let lengthBuffer = Int32Buffer(lengths)
            ws.forward(parameters: parameters, input: config.input == .features ? .features(featureBuffer.base) : .tokens(tokenBuffer.base),
                       batch: b, steps: T, lengths: withLengths ? UnsafePointer(lengthBuffer.base) : nil)
            var outputs = Array(UnsafeBufferPointer(start: ws.outputs.base, count: ws.outputRows * config.outputSize)).map(Double.init)
            if withLengths && config.head == .everyStep {
                // Padded rows: PyTorch's are the head of a zero output (pad_packed_sequence), Recur's not results; compare real rows.
                for r in 0..<(T * b) where r / b >= Int(lengths[r % b]) {
                    for o in 0..<config.outputSize { outputs[r * config.outputSize + o] = .nan }
                }
            }
            cases.append(["path": dir.appendingPathComponent("m\(i)/step-000001/model.safetensors").path,
                          "tokens": tokens.map(Int.init), "features": features.map(Double.init), "steps": T, "batch": b,
                          "lengths": withLengths ? lengths.map(Int.init) : NSNull(),
                          "outputs": outputs.map { $0.isNaN ? -1e30 : $0 }])
        }
        let casesURL = dir.appendingPathComponent("cases.json")
        try JSONSerialization.data(withJSONObject: cases).write(to: casesURL)
        let script = """
        import json, sys, torch
        sys.path.insert(0, sys.argv[1])
        import torch_model
        for case in json.load(open(sys.argv[2])):
            m = torch_model.load(case["path"]).eval()
            c, T, B = m.config, case["steps"], case["batch"]
            x = (torch.tensor(case["tokens"]).reshape(T, B) if c["input"] != "features"
                 else torch.tensor(case["features"], dtype=torch.float32).reshape(T, B, c["featureCount"]))
            with torch.no_grad():
                out, _ = m(x, lengths=case["lengths"])
            ours = torch.tensor(case["outputs"], dtype=torch.float32)
            real = ours > -1e29
            worst = (out.reshape(-1)[real] - ours[real]).abs().max().item()
            assert worst < 1e-5, (case["path"], worst)
            print("ok", type(m.rnn).__name__, m.bidirectional, case["lengths"] is not None, worst)
        """
        let (status, output) = try runPython(python, ["-c", script, tools.path, casesURL.path])
        XCTAssertEqual(status, 0, "python (\(python.path)) failed:\n\(output)")
        let ok = output.split(separator: "\n").filter { $0.hasPrefix("ok") }
        XCTAssertEqual(ok.count, configs.count + variable.count, output)
        XCTAssertEqual(ok.filter { $0.contains("True True") }.count, configs.count, "bidirectional with lengths: \(output)")
    }

    // MARK: Integrity (issue: a flipped bit or a NaN loaded silently)

    /// Every tensor carries a CRC-32C (Note [Tensor checksums]): one flipped bit in the data is
    /// refused naming the tensor.
    func testFlippedBitInTensorData_IsRefused_NamingTheTensor() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("model.safetensors")
        try modelCheckpoint().write(to: url)
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[bytes.count - 5] ^= 0x10                 // inside the last tensor (head.bias)
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try ModelCheckpoint.read(from: url)) { error in
            XCTAssert("\(error)".contains("tensor 'head.bias' does not match its checksum"), "\(error)")
            XCTAssert("\(error)".contains(url.path), "\(error)")
        }
    }

    /// A NaN or infinity in a checkpoint is refused naming the tensor and element, even when the
    /// file is otherwise consistent (its checksums rewritten to match).
    func testNonFiniteParameter_IsRefused_NamingTensorAndElement() throws {
        let dir = try temporaryDirectory()
        let url = dir.appendingPathComponent("model.safetensors")
        var checkpoint = try modelCheckpoint()
        let entry = try XCTUnwrap(checkpoint.layout["rnn.weight_hh_l1"])
        checkpoint.parameters[entry.offset + 3] = .nan
        try checkpoint.write(to: url)
        XCTAssertThrowsError(try ModelCheckpoint.read(from: url)) { error in
            XCTAssert("\(error)".contains("tensor 'rnn.weight_hh_l1' holds nan at element 3"), "\(error)")
        }
        let state = trainingState(parameterCount: checkpoint.parameters.count)
        var broken = state
        broken.tensors["hidden.l0.h"] = StoredTensor(shape: [2, 1, 4], values: [0, 0, .infinity, 0, 0, 0, 0, 0])
        let stateURL = dir.appendingPathComponent("training-state.safetensors")
        try broken.write(to: stateURL)
        XCTAssertThrowsError(try TrainingState.read(from: stateURL)) { error in
            XCTAssert("\(error)".contains("tensor 'hidden.l0.h' holds inf at element 2"), "\(error)")
        }
    }
}
