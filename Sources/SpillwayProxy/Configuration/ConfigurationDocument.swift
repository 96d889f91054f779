import TOMLKit
import Yams

/// A configuration file parsed into a format-neutral tree whose every value remembers its line, so that an error
/// names the line and the key a user must change.
///
/// YAML comes from Yams (libyaml marks every node). TOMLKit (toml++) reports lines only for syntax errors, so the
/// lines of TOML keys come from ``TOMLLineIndex``, a scan of the text for table headers and `key =` lines.
struct ConfigurationDocument: Sendable {
    /// One value of the tree.
    indirect enum Value: Sendable {
        case table([(key: String, value: Node)])
        case array([Node])
        case string(String)
        case integer(Int)
        case double(Double)
        case bool(Bool)
        case null

        /// The type named in error messages.
        var typeName: String {
            switch self {
            case .table: "a table"
            case .array: "a list"
            case .string: "a string"
            case .integer: "an integer"
            case .double: "a number"
            case .bool: "a boolean"
            case .null: "nothing (null)"
            }
        }
    }

    /// A value and the line it starts on (1-based; `nil` when the parser could not tell).
    struct Node: Sendable {
        var value: Value
        var line: Int?
    }

    /// The file's format, chosen from its extension.
    enum Format: String, Sendable {
        case yaml
        case toml

        /// The format of `path`: `.toml` is TOML, `.yaml` and `.yml` are YAML; `nil` for anything else.
        init?(path: String) {
            let lowered = path.lowercased()
            if lowered.hasSuffix(".toml") {
                self = .toml
            } else if lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml") {
                self = .yaml
            } else {
                return nil
            }
        }
    }

    /// The document's root table.
    var root: Node
    /// The file name used in error messages.
    var fileName: String

    /// Parses `text` as `format`.
    /// - Throws: ``ProxyConfigurationError`` (`syntax`) with the parser's line and problem.
    init(text: String, format: Format, fileName: String) throws(ProxyConfigurationError) {
        self.fileName = fileName
        switch format {
        case .yaml: self.root = try Self.parseYAML(text, fileName: fileName)
        case .toml: self.root = try Self.parseTOML(text, fileName: fileName)
        }
        guard case .table = root.value else {
            throw ProxyConfigurationError(
                .syntax,
                file: fileName,
                line: root.line,
                key: nil,
                "the file must be a table of settings (listen, routes, clusters, ...), not \(root.value.typeName)"
            )
        }
    }

    // MARK: YAML

    private static func parseYAML(_ text: String, fileName: String) throws(ProxyConfigurationError) -> Node {
        let composed: Yams.Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw yamlError(error, text: text, fileName: fileName)
        } catch {
            throw ProxyConfigurationError(.syntax, file: fileName, line: nil, key: nil, "\(error)")
        }
        guard let composed else { return Node(value: .table([]), line: 1) }
        return try convert(composed, fileName: fileName, path: "")
    }

    private static func yamlError(_ error: YamlError, text: String, fileName: String) -> ProxyConfigurationError {
        switch error {
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams refuses the mapping before any node exists, and marks the first occurrence of the first key.
            let key = duplicates.first ?? ""
            return ProxyConfigurationError(
                .duplicateKey,
                file: fileName,
                line: context.mark.line,
                key: blockKeyPath(of: key, atLine: context.mark.line, in: text),
                "this key appears twice in the same table (first on this line); keep one"
            )
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) " } ?? ""
            return ProxyConfigurationError(
                .syntax,
                file: fileName,
                line: mark.line,
                key: nil,
                "YAML: \(detail)\(problem)"
            )
        case .reader(let problem, _, _, _):
            return ProxyConfigurationError(.syntax, file: fileName, line: nil, key: nil, "YAML: \(problem)")
        default:
            return ProxyConfigurationError(.syntax, file: fileName, line: nil, key: nil, "YAML: \(error)")
        }
    }

    /// The dotted path of `key` written on `line` of a block-style YAML text (`clusters.app`), from the less
    /// indented `name:` lines above it; just `key` when a list item or a flow collection is on the way, whose
    /// position the text alone does not give.
    static func blockKeyPath(of key: String, atLine line: Int, in text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return key }
        func indentation(_ line: Substring) -> Int { line.prefix { $0 == " " }.count }
        var path = [key]
        var indent = indentation(lines[line - 1])
        var index = line - 2
        while index >= 0, indent > 0 {
            let candidate = lines[index]
            index -= 1
            let trimmed = candidate.drop { $0 == " " }
            if trimmed.isEmpty || trimmed.hasPrefix("#") || indentation(candidate) >= indent { continue }
            guard !trimmed.hasPrefix("-"), let colon = trimmed.firstIndex(of: ":") else { return key }
            let rest = trimmed[trimmed.index(after: colon)...].drop { $0 == " " }
            guard rest.isEmpty || rest.hasPrefix("#") else { return key }
            path.insert(String(trimmed[..<colon]), at: 0)
            indent = indentation(candidate)
        }
        return path.joined(separator: ".")
    }

    private static func convert(
        _ node: Yams.Node,
        fileName: String,
        path: String
    ) throws(ProxyConfigurationError)
        -> Node
    {
        let line = node.mark?.line
        switch node {
        case .mapping(let mapping):
            var pairs: [(key: String, value: Node)] = []
            for (keyNode, valueNode) in mapping {
                guard case .scalar(let scalar) = keyNode else {
                    throw ProxyConfigurationError(
                        .syntax,
                        file: fileName,
                        line: keyNode.mark?.line,
                        key: path.isEmpty ? nil : path,
                        "keys must be plain words, not lists or tables"
                    )
                }
                let key = scalar.string
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                pairs.append((key, try convert(valueNode, fileName: fileName, path: keyPath)))
            }
            return Node(value: .table(pairs), line: line)
        case .sequence(let sequence):
            var items: [Node] = []
            for (index, item) in sequence.enumerated() {
                items.append(try convert(item, fileName: fileName, path: "\(path)[\(index)]"))
            }
            return Node(value: .array(items), line: line)
        case .scalar(let scalar):
            // Quoted scalars are strings whatever they look like; plain ones are typed by YAML's core schema.
            if scalar.style == .singleQuoted || scalar.style == .doubleQuoted || scalar.style == .literal
                || scalar.style == .folded
            {
                return Node(value: .string(scalar.string), line: line)
            }
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return Node(value: .null, line: line)
            case Tag.Name.bool.rawValue:
                return Node(value: node.bool.map(Value.bool) ?? .string(scalar.string), line: line)
            case Tag.Name.int.rawValue:
                return Node(value: node.int.map(Value.integer) ?? .string(scalar.string), line: line)
            case Tag.Name.float.rawValue:
                return Node(value: node.float.map(Value.double) ?? .string(scalar.string), line: line)
            default: return Node(value: .string(scalar.string), line: line)
            }
        case .alias:
            throw ProxyConfigurationError(
                .syntax,
                file: fileName,
                line: line,
                key: path.isEmpty ? nil : path,
                "YAML aliases (*name) are not supported; write the value out"
            )
        }
    }

    // MARK: TOML

    private static func parseTOML(_ text: String, fileName: String) throws(ProxyConfigurationError) -> Node {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ProxyConfigurationError(
                .syntax,
                file: fileName,
                line: error.source.begin.line,
                key: nil,
                "TOML: \(error.description)"
            )
        } catch {
            throw ProxyConfigurationError(.syntax, file: fileName, line: nil, key: nil, "TOML: \(error)")
        }
        let index = TOMLLineIndex(text: text)
        return convert(table, path: "", index: index, line: 1)
    }

    private static func convert(
        _ value: any TOMLValueConvertible,
        path: String,
        index: TOMLLineIndex,
        line: Int?
    )
        -> Node
    {
        switch value.type {
        case .table:
            guard let table = value.table else { return Node(value: .null, line: line) }
            var pairs: [(key: String, value: Node)] = []
            for key in index.orderedKeys(table.keys, under: path) {
                guard let child = table[key] else { continue }
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                pairs.append((key, convert(child, path: childPath, index: index, line: index.line(of: childPath))))
            }
            return Node(value: .table(pairs), line: index.line(of: path) ?? line)
        case .array:
            guard let array = value.array else { return Node(value: .null, line: line) }
            var items: [Node] = []
            for position in 0..<array.count {
                let childPath = "\(path)[\(position)]"
                let item = array[position]
                items.append(convert(item, path: childPath, index: index, line: index.line(of: childPath) ?? line))
            }
            return Node(value: .array(items), line: line)
        case .string: return Node(value: value.string.map(Value.string) ?? .null, line: line)
        case .int: return Node(value: value.int.map(Value.integer) ?? .null, line: line)
        case .double: return Node(value: value.double.map(Value.double) ?? .null, line: line)
        case .bool: return Node(value: value.bool.map(Value.bool) ?? .null, line: line)
        default: return Node(value: .string(value.debugDescription), line: line)
        }
    }
}
