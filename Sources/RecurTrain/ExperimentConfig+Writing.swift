// The resolved experiment as YAML with the file's snake_case keys (for `recur config show`
// and the run directory): encoded through JSON's key strategy (JSON is YAML), then re-emitted
// in block style. Keys are sorted so the text (and the start-up hash over it) is the same in
// every process.

import Foundation
import Yams

extension ExperimentConfig {
    public func yaml() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(self), as: UTF8.self)
        guard let node = try Yams.compose(yaml: json) else { return "" }
        return try Yams.serialize(node: Self.blockStyle(node))
    }

    private static func blockStyle(_ node: Node) -> Node {
        switch node {
        case .mapping(let m):
            return Node(m.map { (blockStyle($0.key), blockStyle($0.value)) })
        case .sequence(let s):
            // Short lists of scalars read best inline, like the files in configs/.
            return Node(s.map(blockStyle), .implicit, .flow)
        case .scalar(let s):
            return Node(s.string, s.tag, s.string.isEmpty ? .doubleQuoted : .plain)
        }
    }
}
