// TensorBoard event files of scalar summaries: TFRecord framing with masked CRC32C, and the
// handful of protobuf fields an Event needs, encoded by hand. Images, histograms and a general
// protobuf encoder are deliberately absent; scalars are what `tensorboard --logdir runs` plots.

import Foundation
import RecurStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes scalar summaries to `events.out.tfevents.<unix-seconds>.<hostname>` in a directory.
///
/// Each event is one write(2), so a killed run leaves a file that readers accept up to its
/// last complete event. Not thread-safe: rank 0's training loop is its only writer.
public final class TensorBoardWriter {
    /// The event file being written.
    public let path: String
    private var fd: Int32

    /// Creates the directory when needed and starts an event file with the version event.
    /// - Parameters:
    ///   - directory: The run directory (or a subdirectory of it) that TensorBoard will scan.
    ///   - wallTime: The file's creation time; it names the file and stamps the first event.
    ///   - hostname: The host suffix of the file name; the machine's name by default.
    /// - Throws: `FileError` when the directory or file cannot be created or written.
    public init(directory: String, wallTime: Date = Date(), hostname: String? = nil) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError.foundation("cannot create the TensorBoard directory", path: directory, error)
        }
        let host = (hostname ?? TensorBoardWriter.machineName()).map { $0 == "/" ? "_" : $0 }
        let seconds = Int(wallTime.timeIntervalSince1970)
        path = (directory as NSString).appendingPathComponent("events.out.tfevents.\(seconds).\(String(host))")
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw FileError.system("cannot open the event file", path: path)
        }
        try writeRecord(EventProto.fileVersion(wallTime: wallTime.timeIntervalSince1970))
    }

    deinit { close() }

    /// Appends one scalar point under `tag` (e.g. "train/loss").
    ///
    /// The value is stored as a 32-bit float, as TensorBoard's `simple_value` is.
    /// - Throws: `FileError` when the write fails.
    public func add(tag: String, value: Double, step: Int, wallTime: Date = Date()) throws {
        try writeRecord(EventProto.scalar(tag: tag, value: Float(value), step: Int64(step),
                                          wallTime: wallTime.timeIntervalSince1970))
    }

    /// Marks a restart at `step`: after resuming from a checkpoint of step k, `step` is k + 1.
    ///
    /// TensorBoard then discards the points it read earlier with a step at or after `step`, so
    /// the curves show the resumed run and not the lost tail of the killed one.
    /// - Throws: `FileError` when the write fails.
    public func markRestart(atStep step: Int, wallTime: Date = Date()) throws {
        try writeRecord(EventProto.sessionStart(step: Int64(step), wallTime: wallTime.timeIntervalSince1970))
    }

    /// Closes the file; later writes throw.
    public func close() {
        if fd >= 0 { _ = closeDescriptor(fd); fd = -1 }
    }

    private func writeRecord(_ payload: [UInt8]) throws {
        guard fd >= 0 else { throw FileError(path: path, "write after close", remedy: "This is a bug in Recur; please report it.") }
        try writeAll(fd, TFRecord.frame(payload), path: path)
    }

    private static func machineName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(cString: buffer)
        return name.isEmpty ? "localhost" : name
    }
}

@inline(__always) private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }

// MARK: - TFRecord framing

/// TFRecord framing: `uint64 length`, `masked crc32c(length)`, `data`, `masked crc32c(data)`,
/// all little-endian.
enum TFRecord {
    /// One framed record.
    static func frame(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 16)
        let length = littleEndianBytes(UInt64(payload.count))
        out += length
        out += littleEndianBytes(CRC32C.masked(CRC32C.checksum(length)))
        out += payload
        out += littleEndianBytes(CRC32C.masked(CRC32C.checksum(payload)))
        return out
    }

    /// What is wrong with a framed file.
    struct Failure: Error, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "byte \(offset): \(message)" }
    }

    /// Splits framed bytes into payloads, checking both CRCs of every record.
    ///
    /// A record cut short at the end (a killed writer) ends the list without an error.
    /// - Throws: `Failure` when a CRC does not match.
    static func payloads(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i + 12 <= bytes.count {
            let lengthBytes = Array(bytes[i..<(i + 8)])
            let length = Int(readLittleEndian(lengthBytes, as: UInt64.self))
            let lengthCRC = readLittleEndian(Array(bytes[(i + 8)..<(i + 12)]), as: UInt32.self)
            guard lengthCRC == CRC32C.masked(CRC32C.checksum(lengthBytes)) else {
                throw Failure(offset: i + 8, message: "length CRC mismatch")
            }
            guard i + 12 + length + 4 <= bytes.count else { break }
            let payload = Array(bytes[(i + 12)..<(i + 12 + length)])
            let dataCRC = readLittleEndian(Array(bytes[(i + 12 + length)..<(i + 16 + length)]), as: UInt32.self)
            guard dataCRC == CRC32C.masked(CRC32C.checksum(payload)) else {
                throw Failure(offset: i + 12 + length, message: "data CRC mismatch")
            }
            out.append(payload)
            i += 16 + length
        }
        return out
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }

    private static func readLittleEndian<T: FixedWidthInteger>(_ b: [UInt8], as: T.Type) -> T {
        var v: T = 0
        for (k, byte) in b.enumerated() { v |= T(byte) << (8 * k) }
        return v
    }
}

// MARK: - Event protobuf

/// The few fields of tensorflow.Event this writer emits, encoded by hand:
/// Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5;
///         SessionLog session_log = 7 }
/// Summary { repeated Value value = 1 }   Value { string tag = 1; float simple_value = 2 }
/// SessionLog { SessionStatus status = 1 }   (START = 1)
enum EventProto {
    static func fileVersion(wallTime: Double) -> [UInt8] {
        var e: [UInt8] = []
        putDouble(&e, field: 1, wallTime)
        putVarint(&e, field: 2, 0)
        putBytes(&e, field: 3, Array("brain.Event:2".utf8))
        return e
    }

    static func scalar(tag: String, value: Float, step: Int64, wallTime: Double) -> [UInt8] {
        var v: [UInt8] = []
        putBytes(&v, field: 1, Array(tag.utf8))
        putKey(&v, field: 2, wireType: 5)
        v += withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
        var summary: [UInt8] = []
        putBytes(&summary, field: 1, v)
        var e: [UInt8] = []
        putDouble(&e, field: 1, wallTime)
        putVarint(&e, field: 2, UInt64(bitPattern: step))
        putBytes(&e, field: 5, summary)
        return e
    }

    static func sessionStart(step: Int64, wallTime: Double) -> [UInt8] {
        var log: [UInt8] = []
        putVarint(&log, field: 1, 1)
        var e: [UInt8] = []
        putDouble(&e, field: 1, wallTime)
        putVarint(&e, field: 2, UInt64(bitPattern: step))
        putBytes(&e, field: 7, log)
        return e
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value
        var out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }

    private static func putKey(_ out: inout [UInt8], field: Int, wireType: Int) {
        out += varint(UInt64(field << 3 | wireType))
    }

    private static func putVarint(_ out: inout [UInt8], field: Int, _ v: UInt64) {
        putKey(&out, field: field, wireType: 0)
        out += varint(v)
    }

    private static func putDouble(_ out: inout [UInt8], field: Int, _ d: Double) {
        putKey(&out, field: field, wireType: 1)
        out += withUnsafeBytes(of: d.bitPattern.littleEndian) { Array($0) }
    }

    private static func putBytes(_ out: inout [UInt8], field: Int, _ bytes: [UInt8]) {
        putKey(&out, field: field, wireType: 2)
        out += varint(UInt64(bytes.count))
        out += bytes
    }
}
