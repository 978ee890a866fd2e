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
