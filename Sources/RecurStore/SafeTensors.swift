// The safetensors file format (huggingface/safetensors): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}} padded
// with spaces to a multiple of 8, then the raw little-endian tensor bytes. The reader checks every
// byte before it returns anything; it knows nothing of models or checkpoints (Checkpoint.swift).

import RecurKernels
import Foundation

// MARK: - Errors

/// A checkpoint or safetensors file that cannot be read or written, with the file, what is
/// wrong and what to do about it.
public struct CheckpointError: UserInputError, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong, for callers and tests that branch on it.
    public enum Kind: String, Sendable, Equatable {
        /// A checkpoint directory lacks one of its files, or a path does not exist.
        case missingFile
        /// Fewer than the 8 bytes of the header length.
        case tooShort
        /// The header length points beyond the end of the file, or is absurdly large.
        case headerOutOfRange
        /// The header is not a JSON object of the safetensors shape.
        case badHeader
        /// A tensor's dtype is missing or not a safetensors dtype.
        case unknownDType
        /// A tensor's shape × dtype size differs from its data_offsets span.
        case sizeMismatch
        /// data_offsets overlap, leave a gap, or point outside the data.
        case badOffsets
        /// Bytes follow the last tensor.
        case trailingBytes
        /// The data ends before the last tensor does.
        case truncated
        /// The file is well formed but not what Recur wrote (format, version, missing metadata,
        /// a tensor of the wrong dtype).
        case badContent
        /// The checkpoint holds a different model than the one expected.
        case differentModel
        /// The checkpoint belongs to another run than the directory it was found in
        /// (Note [Run identity]).
        case otherRun
    }

    public let kind: Kind
    /// The file or directory concerned.
    public let path: String
    /// What is wrong, in a sentence fragment ("the header length 4096 points beyond …").
    public let problem: String
    /// What the user can do about it.
    public let remedy: String

    public init(_ kind: Kind, path: String, _ problem: String, remedy: String? = nil) {
        self.kind = kind
        self.path = path
        self.problem = problem
        self.remedy = remedy ?? CheckpointError.defaultRemedy(kind)
    }

    public var description: String { "\(path): \(problem). \(remedy)" }

    static func defaultRemedy(_ kind: Kind) -> String {
        switch kind {
        case .missingFile:
            return "Point at a complete checkpoint directory (it holds model.safetensors and "
                + "training-state.safetensors) or at a model.safetensors file."
        case .differentModel:
            return "Use a checkpoint saved by a run with the same model settings, or change the "
                + "model section of the experiment to match the checkpoint."
        case .badContent:
            return "The file was not written by this version of Recur; use a checkpoint Recur wrote."
        case .otherRun:
            return "Use the run directory the checkpoint belongs to."
        default:
            return "The file is truncated or corrupted (an interrupted copy?); use an earlier checkpoint "
                + "or copy the file again."
        }
    }
}

// MARK: - Tensors

/// The element types of the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable, Equatable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64: 8
        case .F32, .I32, .U32: 4
        case .F16, .BF16, .I16, .U16: 2
        case .I8, .U8, .BOOL: 1
        }
    }
}

/// One named tensor: dtype, shape and its raw little-endian bytes.
///
/// Build one from typed values (`init(name:shape:floats:)` and friends); read typed values back
/// with `floats`, `int64s` …, which are nil when the dtype differs.
public struct SafeTensor: Equatable, Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    /// Dimensions; `[]` is a scalar (one element).
    public let shape: [Int]
    /// `elementCount × dtype.size` little-endian bytes.
    public let bytes: [UInt8]

    /// Elements in `shape` (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// A tensor from raw little-endian bytes.
    /// - Precondition: `bytes.count == shape product × dtype.size` and no dimension is negative.
    public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "SafeTensor \(name): negative dimension in \(shape)")
        precondition(bytes.count == shape.reduce(1, *) * dtype.size,
                     "SafeTensor \(name): \(bytes.count) bytes for shape \(shape) of \(dtype)")
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(name: String, shape: [Int], floats: [Float]) {
        self.init(name: name, dtype: .F32, shape: shape, bytes: SafeTensor.littleEndianBytes(floats.map(\.bitPattern)))
    }

    public init(name: String, shape: [Int], doubles: [Double]) {
        self.init(name: name, dtype: .F64, shape: shape, bytes: SafeTensor.littleEndianBytes(doubles.map(\.bitPattern)))
    }

    public init(name: String, shape: [Int], int64s: [Int64]) {
        self.init(name: name, dtype: .I64, shape: shape, bytes: SafeTensor.littleEndianBytes(int64s))
    }

    public init(name: String, shape: [Int], uint64s: [UInt64]) {
        self.init(name: name, dtype: .U64, shape: shape, bytes: SafeTensor.littleEndianBytes(uint64s))
    }

    public init(name: String, shape: [Int], int32s: [Int32]) {
        self.init(name: name, dtype: .I32, shape: shape, bytes: SafeTensor.littleEndianBytes(int32s))
    }

    /// The values of an F32 tensor, else nil.
    public var floats: [Float]? { dtype == .F32 ? decode(UInt32.self).map(Float.init(bitPattern:)) : nil }
    /// The values of an F64 tensor, else nil.
    public var doubles: [Double]? { dtype == .F64 ? decode(UInt64.self).map(Double.init(bitPattern:)) : nil }
    /// The values of an I64 tensor, else nil.
    public var int64s: [Int64]? { dtype == .I64 ? decode(Int64.self) : nil }
    /// The values of a U64 tensor, else nil.
    public var uint64s: [UInt64]? { dtype == .U64 ? decode(UInt64.self) : nil }
    /// The values of an I32 tensor, else nil.
    public var int32s: [Int32]? { dtype == .I32 ? decode(Int32.self) : nil }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        #if _endian(little)
        return values.withUnsafeBytes { Array($0) }
        #else
        var out = [UInt8](repeating: 0, count: values.count * MemoryLayout<T>.size)
        out.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.littleEndian, toByteOffset: i * MemoryLayout<T>.size, as: T.self)
            }
        }
        return out
        #endif
    }

    private func decode<T: FixedWidthInteger>(_: T.Type) -> [T] {
        let n = bytes.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: n) { out, initialized in
            bytes.withUnsafeBytes { raw in
                #if _endian(little)
                if n > 0 { UnsafeMutableRawPointer(out.baseAddress!).copyMemory(from: raw.baseAddress!, byteCount: n * MemoryLayout<T>.size) }
                #else
                for i in 0..<n { out[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
                #endif
            }
            initialized = n
        }
    }
}

// MARK: - File

/// The contents of one safetensors file: tensors in file order and a string metadata map.
///
/// ```
/// var file = SafeTensorsFile(metadata: ["format": "recur-checkpoint"])
/// file.tensors.append(SafeTensor(name: "head.bias", shape: [3], floats: [0, 1, 2]))
/// try file.write(to: url)                        // atomically
/// let back = try SafeTensorsFile.read(from: url) // == file
/// ```
public struct SafeTensorsFile: Equatable, Sendable {
    /// Tensors in the order their bytes appear in the file; names are unique.
    public var tensors: [SafeTensor]
    /// The `__metadata__` map.
    public var metadata: [String: String]

    /// Metadata key prefix of a tensor's CRC-32C (Note [Tensor checksums]).
    static let checksumPrefix = "crc32c."

    /// Headers larger than this are refused (the reference implementation's limit).
    public static let maximumHeaderLength = 100_000_000

    public init(tensors: [SafeTensor] = [], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> SafeTensor? { tensors.first { $0.name == name } }

    /// The file's bytes: header length, space-padded JSON header, then each tensor's bytes in order.
    /// - Precondition: tensor names are unique and none is `__metadata__`.
    public func serialized() -> [UInt8] {
        var seen = Set<String>()
        for t in tensors {
            precondition(t.name != "__metadata__", "SafeTensorsFile: a tensor cannot be called __metadata__")
            precondition(seen.insert(t.name).inserted, "SafeTensorsFile: duplicate tensor name \(t.name)")
        }
        var header = "{"
        var offset = 0
        var fields: [String] = []
        // Note [Tensor checksums]: every tensor's CRC-32C goes into the metadata under
        // "crc32c.<name>"; `parse` checks and removes them, so a flipped bit anywhere in the data
        // is refused naming the tensor. Files without them (PyTorch's own) are read unchecked.
        var metadata = self.metadata
        for t in tensors { metadata[Self.checksumPrefix + t.name] = String(format: "%08x", CRC32C.checksum(t.bytes)) }
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonQuoted($0)):\(jsonQuoted(metadata[$0]!))" }
            fields.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        for t in tensors {
            let end = offset + t.bytes.count
            let shape = t.shape.map(String.init).joined(separator: ",")
            fields.append("\(jsonQuoted(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],"
                          + "\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += fields.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        out += SafeTensor.littleEndianBytes([UInt64(headerBytes.count)])
        out += headerBytes
        for t in tensors { out += t.bytes }
        return out
    }

    /// Writes the file atomically (temporary file, fsync, rename, fsync of the directory).
    /// - Throws: `FileError` when the file cannot be written.
    public func write(to url: URL) throws {
        try writeAtomically(serialized(), to: url)
    }

    /// Reads and validates a whole file.
    /// - Throws: `CheckpointError` naming the file when it is missing, unreadable or malformed.
    public static func read(from url: URL) throws -> SafeTensorsFile {
        if let what = FileKind.irregular(url.path), what != "a directory" {
            throw CheckpointError(.missingFile, path: url.path, "this is \(what), not a checkpoint file",
                                  remedy: "Point at a checkpoint directory or a model.safetensors file.")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw CheckpointError(.missingFile, path: url.path, "no such file", remedy: "Check the path.")
            }
            throw FileError.foundation("cannot be read", path: url.path, error)
        }
        return try parse([UInt8](data), path: url.path)
    }

    /// Parses and validates the bytes of a safetensors file; nothing is returned unless every
    /// check passes.
    /// - Parameters:
    ///   - bytes: the whole file.
    ///   - path: the file's name, for error messages.
    /// - Throws: `CheckpointError` for the first problem found: too short, header length out of
    ///   range, header not JSON of the right shape, unknown dtype, a size that does not match its
    ///   offsets, overlapping or gapped offsets, a truncated data section or trailing bytes.
    public static func parse(_ bytes: [UInt8], path: String) throws -> SafeTensorsFile {
        func fail(_ kind: CheckpointError.Kind, _ problem: String) -> CheckpointError {
            CheckpointError(kind, path: path, problem)
        }
        guard bytes.count >= 8 else {
            throw fail(.tooShort, "the file has \(bytes.count) bytes, fewer than the 8 of a safetensors header length")
        }
        let headerLength = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderLength) else {
            throw fail(.headerOutOfRange, "the header length \(headerLength) is larger than the \(maximumHeaderLength)-byte limit; this is not a safetensors file")
        }
        guard Int(headerLength) <= bytes.count - 8 else {
            throw fail(.headerOutOfRange, "the header length \(headerLength) points beyond the end of the \(bytes.count)-byte file")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = bytes[8..<headerEnd]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail(.badHeader, "the header does not start with '{'; this is not a safetensors file")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes))
        } catch {
            throw fail(.badHeader, "the \(headerLength)-byte header is not valid JSON")
        }
        guard let header = json as? [String: Any] else {
            throw fail(.badHeader, "the header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: Any] else {
                throw fail(.badHeader, "__metadata__ is not a JSON object")
            }
            for (key, value) in map {
                guard let s = value as? String else {
                    throw fail(.badHeader, "__metadata__ entry '\(key)' is not a string")
                }
                metadata[key] = s
            }
        }

        struct Entry { let name: String; let dtype: SafeTensorsDType; let shape: [Int]; let begin: Int; let end: Int }
        var entries: [Entry] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else {
                throw fail(.badHeader, "the header entry for tensor '\(name)' is not a JSON object")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw fail(.unknownDType, "tensor '\(name)' has no dtype")
            }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw fail(.unknownDType, "tensor '\(name)' has the unknown dtype '\(dtypeName)' (known: "
                           + SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ") + ")")
            }
            guard let shapeValues = info["shape"] as? [Any], let shape = naturalNumbers(shapeValues) else {
                throw fail(.badHeader, "tensor '\(name)' has no shape, or a shape that is not a list of non-negative integers")
            }
            guard let offsetValues = info["data_offsets"] as? [Any], let offsets = naturalNumbers(offsetValues),
                  offsets.count == 2 else {
                throw fail(.badOffsets, "tensor '\(name)' has no data_offsets, or they are not two non-negative integers")
            }
            guard offsets[0] <= offsets[1] else {
                throw fail(.badOffsets, "tensor '\(name)' has data_offsets [\(offsets[0]), \(offsets[1])] that end before they begin")
            }
            var size = dtype.size
            for d in shape {
                let (product, overflow) = size.multipliedReportingOverflow(by: d)
                guard !overflow else { throw fail(.sizeMismatch, "tensor '\(name)' has the impossibly large shape \(shape)") }
                size = product
            }
            guard size == offsets[1] - offsets[0] else {
                throw fail(.sizeMismatch, "tensor '\(name)' of dtype \(dtype.rawValue) and shape \(shape) needs \(size) bytes "
                           + "but its data_offsets [\(offsets[0]), \(offsets[1])] span \(offsets[1] - offsets[0])")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }

        // Tensors must tile the data section exactly: sorted by begin, each starts where the last ended.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        let dataLength = bytes.count - headerEnd
        var expectedBegin = 0
        for (i, e) in entries.enumerated() {
            if e.begin < expectedBegin {
                throw fail(.badOffsets, "tensor '\(e.name)' (data_offsets [\(e.begin), \(e.end)]) overlaps tensor '\(entries[i - 1].name)'")
            }
            if e.begin > expectedBegin {
                throw fail(.badOffsets, "there are \(e.begin - expectedBegin) bytes before tensor '\(e.name)' that belong to no tensor")
            }
            expectedBegin = e.end
        }
        if expectedBegin > dataLength {
            throw fail(.truncated, "the tensors need \(expectedBegin) bytes of data but the file holds only \(dataLength) after the header (the file is cut short)")
        }
        if expectedBegin < dataLength {
            throw fail(.trailingBytes, "\(dataLength - expectedBegin) bytes follow the last tensor")
        }

        let tensors = entries.map { e in
            SafeTensor(name: e.name, dtype: e.dtype, shape: e.shape,
                       bytes: Array(bytes[(headerEnd + e.begin)..<(headerEnd + e.end)]))
        }
        // Note [Tensor checksums]
        for t in tensors {
            guard let stored = metadata.removeValue(forKey: checksumPrefix + t.name) else { continue }
            let computed = String(format: "%08x", CRC32C.checksum(t.bytes))
            guard stored == computed else {
                throw CheckpointError(.badContent, path: path,
                                      "tensor '\(t.name)' does not match its checksum (stored \(stored), computed \(computed)): the file was damaged after it was written",
                                      remedy: "Resume from an earlier checkpoint (delete this one), or restore the file from a backup.")
            }
        }
        if let orphan = metadata.keys.first(where: { $0.hasPrefix(checksumPrefix) }) {
            throw CheckpointError(.badContent, path: path, "the checksum '\(orphan)' names no tensor in the file")
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }
}

// MARK: - JSON helpers

/// Non-negative integers from JSON numbers, or nil if any value is not one (booleans included).
private func naturalNumbers(_ values: [Any]) -> [Int]? {
    var out: [Int] = []
    out.reserveCapacity(values.count)
    for v in values {
        guard let n = v as? NSNumber else { return nil }
        // Foundation decodes `true` as an NSNumber of objCType "c"; JSON integers are never that.
        let type = String(cString: n.objCType)
        guard type != "c", type != "B", let i = v as? Int, i >= 0 else { return nil }
        out.append(i)
    }
    return out
}

