// The resolved experiment written back from the schema (ExperimentSchema): every key that
// applies to this experiment, with its value or default, absent optional keys as null, in
// schema order — for `recur config show` and the run directory's config.yaml. The output reads
// back with ExperimentConfig.load to the same value. docs/config.md is generated here too.

import Foundation
import Yams

extension ExperimentConfig {
    /// The experiment as YAML that `ExperimentConfig.parse` reads back to an equal value.
    public func yaml() throws -> String {
        try Yams.serialize(node: fileNode())
    }

    func fileNode() -> Node {
        /// An ordered tree of mappings built from dotted paths.
        final class Tree {
            var keys: [String] = []
            var children: [String: Tree] = [:]
            var leaves: [String: Node] = [:]
            func insert(_ path: ArraySlice<Substring>, _ value: Node) {
                let k = String(path.first!)
                if path.count == 1 {
                    if leaves[k] == nil && children[k] == nil { keys.append(k) }
                    leaves[k] = value
                } else {
                    if children[k] == nil { children[k] = Tree(); if leaves[k] == nil { keys.append(k) } }
                    children[k]!.insert(path.dropFirst(), value)
                }
            }
            var node: Node { Node(keys.map { (Node($0), children[$0]?.node ?? leaves[$0]!) }) }
        }
        let root = Tree(), context = SchemaContext(self)
        for e in ExperimentSchema.entries where e.applies.test(context) {
            root.insert(e.path.split(separator: ".")[...], e.node(self) ?? Node("null", Tag(.null)))
        }
        return root.node
    }
}

extension ExperimentConfig {
    /// docs/config.md as the schema declares it.
    public static var schemaMarkdown: String { ExperimentSchema.markdown() }
    /// Every key path and section the schema declares.
    public static var schemaPaths: Set<String> { ExperimentSchema.knownPaths }
}

extension ExperimentSchema {
    /// docs/config.md, generated from the declarations (`recur config docs`; a test keeps the
    /// committed file equal to this).
    static func markdown() -> String {
        var out = """
        # Experiment files

        An experiment is one YAML file with the sections below. Every key is optional unless marked
        **required**; `recur config show FILE` prints every key that applies to the experiment with its
        value or default (null for an optional key left out). Reading is strict: an unknown key (with a
        did-you-mean), a key that does not apply to this experiment (`vocabulary.lowercase` on `chars`
        data, `beta1` under `optimizer.kind: sgd`), a wrong type or a value out of range stops with
        `file:line: key.path: what is wrong` and exit status 2 before anything is written. Any key can
        be overridden from the command line with `--set key.path=value` (repeatable); the value is read
        as YAML, so it is typed exactly like the file (`--set model.layers=2`, `--set data.columns=[a,b]`).

        This file is generated from `Sources/RecurExperiment/ExperimentSchema.swift` by
        `recur config docs > docs/config.md`; a test fails when the two differ.

        """
        for section in sections {
            out += "\n## \(section)\n\n| key | type | default | applies to | meaning |\n| --- | --- | --- | --- | --- |\n"
            for e in entries where e.path.hasPrefix(section + ".") {
                let key = String(e.path.dropFirst(section.count + 1))
                out += "| `\(key)` | \(e.typeText) | \(e.defaultText) | \(e.applies.text ?? "all") | \(e.doc) |\n"
            }
        }
        return out
    }
}
