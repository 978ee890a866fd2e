// Helpers for RecurData tests: a temporary directory that holds small generated files and is
// removed afterwards, and a snapshot of its contents to prove that readers write nothing.
// Tests never read /work/shared; every file they need is written here.

import Foundation
import XCTest
@testable import RecurData

final class TempDir {
    let path: String

    init() {
        let base = NSTemporaryDirectory() + "recurdata-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` inside the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        write(name, bytes: Array(text.utf8))
    }

    @discardableResult
    func write(_ name: String, bytes: [UInt8]) -> String {
        let file = path + "/" + name
        let dir = (file as NSString).deletingLastPathComponent
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return file
    }

    /// Every file and directory below the root, with sizes (what "nothing written" compares).
    func snapshot() -> [String] {
        let items = FileManager.default.subpaths(atPath: path) ?? []
        return items.sorted().map { item in
            let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + item)
            return "\(item):\((attributes?[.size] as? Int) ?? -1)"
        }
    }
}

extension XCTestCase {
    /// Runs `body`, expects a `DataError` of `kind`, checks that its description contains every
    /// string of `fragments`, and that `dir` is unchanged (nothing written).
    @discardableResult
    func expectDataError(_ kind: DataError.Kind, _ fragments: [String], in dir: TempDir? = nil,
                         file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> Void) -> DataError? {
        let before = dir?.snapshot()
        do {
            try body()
            XCTFail("expected DataError.\(kind), got success", file: file, line: line)
            return nil
        } catch let error as DataError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            for f in fragments {
                XCTAssertTrue(error.description.contains(f), "message lacks \"\(f)\": \(error)", file: file, line: line)
            }
            XCTAssertTrue(error.description.contains("Fix: "), "message lacks a fix: \(error)", file: file, line: line)
            if let dir { XCTAssertEqual(dir.snapshot(), before, "the reader wrote files", file: file, line: line) }
            return error
        } catch {
            XCTFail("expected DataError, got \(error)", file: file, line: line)
            return nil
        }
    }
}

/// A one-column CSV `x` holding `values`.
func seriesCSV(_ values: [Double], name: String = "x") -> String {
    "\(name)\n" + values.map { v in v == v.rounded() ? String(Int(v)) : String(v) }.joined(separator: "\n") + "\n"
}

/// Loads a one-column series 0, 1, …, n−1 without normalisation, all in training.
func countingSeries(_ dir: TempDir, _ n: Int, splits: SplitFractions = SplitFractions(train: 1, validation: 0)) throws -> TimeSeries {
    let path = dir.write("count\(n).csv", seriesCSV((0..<n).map(Double.init)))
    return try TimeSeries.load(path: path, options: SeriesOptions(normalization: .none, splits: splits))
}

/// The path of `name` in the committed fixtures (Tests/RecurDataTests/Fixtures, written by
/// Tests/Reference/make_array_fixtures.py).
func fixture(_ name: String) -> String {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name).path
}

/// Hand-built NumPy files for the malformed and unusual cases numpy itself does not write.
enum NPY {
    /// A `.npy` image: magic, version, header length, the header dict padded with spaces to a
    /// multiple of 64 bytes and ended by a newline (as np.save pads it), then `data`.
    static func file(descr: String, shape: [Int], data: [UInt8], fortran: Bool = false,
                     version: (UInt8, UInt8) = (1, 0), header: String? = nil) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = header ?? "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        let lengthBytes = version.0 == 1 ? 2 : 4
        while (8 + lengthBytes + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version.0, version.1]
        let n = dict.utf8.count
        for k in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: n >> (8 * k))) }
        return out + Array(dict.utf8) + data
    }

    /// Little-endian float64 bytes.
    static func f8(_ values: [Double]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }

    /// Little-endian int64 bytes.
    static func i8(_ values: [Int64]) -> [UInt8] { values.flatMap { le(UInt64(bitPattern: $0)) } }

    /// The `n` little-endian bytes of `v`.
    static func le<T: FixedWidthInteger>(_ v: T, _ n: Int = MemoryLayout<T>.size) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    /// A zip archive of stored (method 0) members, as np.savez writes one (without its zip64
    /// local extras). `method` is written into every header; `badCRC` damages every CRC;
    /// `zip64` writes 0xFFFFFFFF sizes into the central directory.
    static func zip(_ members: [(name: String, data: [UInt8])], method: UInt16 = 0, badCRC: Bool = false, zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        for (name, data) in members {
            let offset = out.count
            let crc = crc32(data) ^ (badCRC ? 1 : 0)
            let nameBytes = Array(name.utf8)
            out += le(UInt32(0x0403_4B50)) + le(UInt16(20)) + le(UInt16(0)) + le(method) + le(UInt32(0))
            out += le(crc) + le(UInt32(data.count)) + le(UInt32(data.count)) + le(UInt16(nameBytes.count)) + le(UInt16(0))
            out += nameBytes + data
            let size = zip64 ? UInt32.max : UInt32(data.count)
            central += le(UInt32(0x0201_4B50)) + le(UInt16(20)) + le(UInt16(20)) + le(UInt16(0)) + le(method) + le(UInt32(0))
            central += le(crc) + le(size) + le(size) + le(UInt16(nameBytes.count)) + le(UInt16(0)) + le(UInt16(0))
            central += le(UInt16(0)) + le(UInt16(0)) + le(UInt32(0)) + le(UInt32(offset)) + nameBytes
        }
        let cdOffset = out.count
        out += central
        out += le(UInt32(0x0605_4B50)) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(members.count)) + le(UInt16(members.count))
        out += le(UInt32(central.count)) + le(UInt32(cdOffset)) + le(UInt16(0))
        return out
    }

    /// CRC-32 (the zip polynomial), bit by bit.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }
}
