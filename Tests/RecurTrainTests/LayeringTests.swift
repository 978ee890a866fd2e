// The module layering of docs/ARCHITECTURE.md ("Modules and what they may import"), held to
// every source file: the table there is read here, so the document and the rule are one.

import Foundation
import XCTest

final class LayeringTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// System modules any file may import.
    static let system: Set<String> = ["Foundation", "Glibc", "Darwin", "Musl", "Dispatch"]

    /// The table between `<!-- imports: module: allowed -->` and the end of its code block.
    func allowedImports() throws -> [String: Set<String>] {
        let text = try String(contentsOf: Self.root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        guard let marker = text.range(of: "<!-- imports: module: allowed -->") else {
            XCTFail("docs/ARCHITECTURE.md has no import table"); return [:]
        }
        var table: [String: Set<String>] = [:]
        var inBlock = false
        for line in text[marker.upperBound...].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { if inBlock { break }; inBlock = true; continue }
            guard inBlock, let colon = line.firstIndex(of: ":") else { continue }
            table[String(line[..<colon])] = Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return table
    }

    /// Swift sources by module (directory under Sources/).
    func sources() throws -> [(module: String, file: URL)] {
        let fm = FileManager.default
        let dir = Self.root.appendingPathComponent("Sources")
        var out: [(String, URL)] = []
        for module in try fm.contentsOfDirectory(atPath: dir.path).sorted() {
            guard let e = fm.enumerator(at: dir.appendingPathComponent(module), includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in e where url.pathExtension == "swift" { out.append((module, url)) }
        }
        return out
    }

    /// Lines without `//` comments.
    func code(_ url: URL) throws -> [Substring] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            line.range(of: "//").map { line[..<$0.lowerBound] } ?? line
        }
    }

    func testEveryImport_IsOneTheArchitectureAllows() throws {
        let table = try allowedImports()
        XCTAssertGreaterThan(table.count, 10, "the import table is missing or cut short")
        var seen = Set<String>()
        for (module, file) in try sources() {
            guard let allowed = table[module] else { XCTFail("\(module) is not in ARCHITECTURE.md's import table"); continue }
            seen.insert(module)
            for line in try code(file) {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), words.count > i + 1,
                      words[..<i].allSatisfy({ $0.hasPrefix("@") }) else { continue }
                let imported = String(words[i + 1])
                XCTAssert(Self.system.contains(imported) || allowed.contains(imported),
                          "\(file.lastPathComponent) (\(module)) imports \(imported), which ARCHITECTURE.md does not allow it")
            }
        }
        XCTAssert(seen.contains("recur") && seen.contains("RecurTrain"), "no sources found under \(Self.root.path)")
    }

    func testOnlyModelAndEngine_TouchAWorkspace_AndTheCommandLineBuildsNoEngine() throws {
        for (module, file) in try sources() {
            let text = try code(file).joined(separator: "\n")
            if !["RecurModel", "RecurEngine"].contains(module) {
                XCTAssertFalse(text.contains("NetworkWorkspace"), "\(module)/\(file.lastPathComponent) names NetworkWorkspace")
            }
            if module == "recur" {
                for name in ["Engine(", "MPICommunicator", "makeCommunicator", "Communicator"] {
                    XCTAssertFalse(text.contains(name), "recur/\(file.lastPathComponent) uses \(name): go through RecurTrain (Job, TrainingSession, TrainedModel)")
                }
            }
        }
    }

    func testNoModule_HoldsAQuarterOfTheSources() throws {
        var lines: [String: Int] = [:]
        for (module, file) in try sources() { lines[module, default: 0] += try code(file).count }
        let total = lines.values.reduce(0, +)
        for (module, n) in lines {
            XCTAssertLessThan(Double(n) / Double(total), 0.25, "\(module) holds \(n) of \(total) Swift lines")
        }
    }
}
