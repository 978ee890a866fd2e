// The resolved experiment as YAML with the file's snake_case keys (for `recur config show`
// and the run directory): encoded through JSON's key strategy, then re-emitted as YAML.

import Foundation
import Yams

extension ExperimentConfig {
    public func yaml() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let json = try JSONSerialization.jsonObject(with: try encoder.encode(self))
        return try Yams.dump(object: json, sortKeys: false)
    }
}
