/// The line of every key of a TOML document, found by scanning its text: TOMLKit parses values but keeps no
/// positions, and an error that says only "routes[1].cluster" leaves a user searching.
///
/// Table headers (`[clusters.api]`), arrays of tables (`[[routes]]`, counted, so the second one is `routes[1]`) and
/// `key = value` lines (dotted and quoted keys included) are recorded under their full path. Keys inside inline
/// tables and the elements of arrays have no line of their own: ``line(of:)`` answers with the line of the nearest
/// enclosing key. Multi-line strings and arrays are skipped as values.
struct TOMLLineIndex: Sendable {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var table: [String] = []
        var arrayCounts: [String: Int] = [:]
        var skipping: Skip? = nil
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = offset + 1
            if let current = skipping {
                skipping = current.advance(over: rawLine)
                continue
            }
            let line = rawLine.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.first == "#" { continue }
            if line.hasPrefix("[[") {
                guard let close = line.range(of: "]]") else { continue }
                let raw = Self.keyPath(line[line.index(line.startIndex, offsetBy: 2)..<close.lowerBound])
                guard let last = raw.last else { continue }
                // The enclosing arrays resolve to their latest element; the array being appended to does not.
                let resolved = Self.resolve(Array(raw.dropLast()), arrayCounts: arrayCounts) + [last]
                let joined = resolved.joined(separator: ".")
                let index = arrayCounts[joined, default: 0]
                arrayCounts[joined] = index + 1
                table = resolved
                table[table.count - 1] += "[\(index)]"
                record(table.joined(separator: "."), number)
                if lines[joined] == nil { record(joined, number) }
                continue
            }
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else { continue }
                table = Self.resolve(
                    Self.keyPath(line[line.index(after: line.startIndex)..<close]),
                    arrayCounts: arrayCounts
                )
                record(table.joined(separator: "."), number)
                continue
            }
            guard let equals = Self.assignment(in: line) else { continue }
            let key = Self.keyPath(line[..<equals])
            guard !key.isEmpty else { continue }
            let path = (table + key).joined(separator: ".")
            record(path, number)
            skipping = Skip.after(value: line[line.index(after: equals)...])
        }
    }

    /// The line of `path` (`routes[1].cluster`), or of its nearest enclosing key that has one.
    func line(of path: String) -> Int? {
        var current = Substring(path)
        while !current.isEmpty {
            if let line = lines[String(current)] { return line }
            if current.last == "]", let open = current.lastIndex(of: "[") {
                current = current[..<open]
            } else if let dot = current.lastIndex(of: ".") {
                current = current[..<dot]
            } else {
                return nil
            }
        }
        return nil
    }

    /// `keys` (of the table at `path`) in the order they appear in the file; keys without a line last.
    func orderedKeys(_ keys: [String], under path: String) -> [String] {
        func line(_ key: String) -> Int { lines[path.isEmpty ? key : "\(path).\(key)"] ?? Int.max }
        return keys.sorted { first, second in
            let (a, b) = (line(first), line(second))
            return a == b ? first < second : a < b
        }
    }

    private mutating func record(_ path: String, _ line: Int) {
        if lines[path] == nil { lines[path] = line }
    }

    /// Replaces every prefix that names an array of tables with its latest element: inside `[[routes]]` number 2,
    /// `[routes.priority]` is `routes[1].priority`.
    private static func resolve(_ path: [String], arrayCounts: [String: Int]) -> [String] {
        var resolved: [String] = []
        for component in path {
            resolved.append(component)
            let joined = resolved.joined(separator: ".")
            if let count = arrayCounts[joined], count > 0 {
                resolved[resolved.count - 1] += "[\(count - 1)]"
            }
        }
        return resolved
    }

    /// Splits a dotted key (`a."b.c".d`) into its parts, unquoting quoted parts.
    private static func keyPath(_ text: Substring) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character? = nil
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "." {
                parts.append(current.trimmingBlanks)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current.trimmingBlanks)
        return parts.filter { !$0.isEmpty }
    }

    /// The position of the `=` of a `key = value` line (outside quoted keys).
    private static func assignment(in line: Substring) -> Substring.Index? {
        var quote: Character? = nil
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "=" {
                return index
            }
            index = line.index(after: index)
        }
        return nil
    }

    /// What to skip after a value that continues on the following lines.
    private enum Skip {
        case multiLineString(delimiter: Substring)
        case brackets(depth: Int)

        /// The skip needed after `value` (the text after `=`), or `nil` when the value ends on its line.
        static func after(value: Substring) -> Skip? {
            let trimmed = value.drop(while: { $0 == " " || $0 == "\t" })
            for delimiter in ["\"\"\"", "'''"] where trimmed.hasPrefix(delimiter) {
                let rest = trimmed.dropFirst(3)
                return rest.contains(delimiter) ? nil : .multiLineString(delimiter: Substring(delimiter))
            }
            let depth = bracketDepth(trimmed)
            return depth > 0 ? .brackets(depth: depth) : nil
        }

        func advance(over line: Substring) -> Skip? {
            switch self {
            case .multiLineString(let delimiter):
                return line.contains(delimiter) ? nil : self
            case .brackets(let depth):
                let next = depth + Self.bracketDepth(line)
                return next > 0 ? .brackets(depth: next) : nil
            }
        }

        /// Opening minus closing brackets and braces outside strings and comments.
        static func bracketDepth(_ text: Substring) -> Int {
            var depth = 0
            var quote: Character? = nil
            for character in text {
                if let open = quote {
                    if character == open { quote = nil }
                    continue
                }
                switch character {
                case "\"", "'": quote = character
                case "#": return depth
                case "[", "{": depth += 1
                case "]", "}": depth -= 1
                default: break
                }
            }
            return depth
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingBlanks: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice.removeLast() }
        return String(slice)
    }
}
