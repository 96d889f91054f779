/// Reads one table of a ``ConfigurationDocument`` with the types the schema expects, turning every mistake into a
/// ``ProxyConfigurationError`` that names the file, line and full key path.
///
/// Every key the schema asks for is remembered, present or not; ``finish()`` then reports any other key in the
/// table as unknown, suggesting the asked-for key it most resembles (`path_prefx` → `path_prefix`).
final class ConfigurationReader {
    let file: String
    /// The table's own path (`routes[0]`), empty for the root.
    let path: String
    /// The table's line.
    let line: Int?
    private let entries: [(key: String, value: ConfigurationDocument.Node)]
    private var asked: [String] = []

    init(_ node: ConfigurationDocument.Node, path: String, file: String) throws(ProxyConfigurationError) {
        guard case .table(let entries) = node.value else {
            throw ProxyConfigurationError(
                .wrongType,
                file: file,
                line: node.line,
                key: path.isEmpty ? nil : path,
                "expected a table of settings, found \(node.value.typeName)"
            )
        }
        self.file = file
        self.path = path
        self.line = node.line
        self.entries = entries
    }

    /// The full path of `key` in this table.
    func path(of key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// An error about `key` (at its line when present, else the table's).
    func error(_ code: ProxyConfigurationError.Code, _ key: String?, _ message: String) -> ProxyConfigurationError {
        let node = key.flatMap { key in entries.first(where: { $0.key == key })?.value }
        return ProxyConfigurationError(
            code,
            file: file,
            line: node?.line ?? line,
            key: key.map(path(of:)) ?? (path.isEmpty ? nil : path),
            message
        )
    }

    /// The raw node of `key`, recording that the schema knows the key. YAML's `null` counts as absent.
    func node(_ key: String) -> ConfigurationDocument.Node? {
        asked.append(key)
        guard let node = entries.first(where: { $0.key == key })?.value else { return nil }
        if case .null = node.value { return nil }
        return node
    }

    /// The keys present in the table, in file order.
    var keys: [String] { entries.map(\.key) }

    func string(_ key: String) throws(ProxyConfigurationError) -> String? {
        guard let node = node(key) else { return nil }
        switch node.value {
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .double(let value): return String(value)
        default: throw error(.wrongType, key, "expected a string, found \(node.value.typeName)")
        }
    }

    /// The value of `key` as one of `Choice`'s cases, named by their raw values; anything else is refused naming
    /// `what` it should be and every case (`"random" is not a balancer; use least_inflight or ewma`).
    func choice<Choice: RawRepresentable & CaseIterable>(
        _ key: String,
        _ what: String
    ) throws(ProxyConfigurationError) -> Choice? where Choice.RawValue == String {
        guard let text = try string(key) else { return nil }
        guard let value = Choice(rawValue: text) else {
            let names = Choice.allCases.map(\.rawValue)
            let listed = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names[0]
            throw error(.invalidValue, key, "\"\(text)\" is not \(what); use \(listed)")
        }
        return value
    }

    func requiredString(_ key: String, _ explanation: String) throws(ProxyConfigurationError) -> String {
        guard let value = try string(key) else { throw error(.missingKey, key, "required: \(explanation)") }
        return value
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(ProxyConfigurationError) -> Int? {
        guard let node = node(key) else { return nil }
        let value: Int
        switch node.value {
        case .integer(let integer): value = integer
        case .double(let double) where double == double.rounded() && abs(double) < 1e15: value = Int(double)
        default: throw error(.wrongType, key, "expected a whole number, found \(node.value.typeName)")
        }
        guard range.contains(value) else {
            throw error(.invalidValue, key, "\(value) is out of range; use \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(ProxyConfigurationError) -> Double? {
        guard let node = node(key) else { return nil }
        let value: Double
        switch node.value {
        case .integer(let integer): value = Double(integer)
        case .double(let double): value = double
        default: throw error(.wrongType, key, "expected a number, found \(node.value.typeName)")
        }
        guard value.isFinite, range.contains(value) else {
            throw error(.invalidValue, key, "\(value) is out of range; use \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func bool(_ key: String) throws(ProxyConfigurationError) -> Bool? {
        guard let node = node(key) else { return nil }
        guard case .bool(let value) = node.value else {
            throw error(.wrongType, key, "expected true or false, found \(node.value.typeName)")
        }
        return value
    }

    /// A duration written with a unit: `250ms`, `1.5s`, `2m`, `1h`, `500us`.
    func duration(_ key: String, minimum: Duration = .zero) throws(ProxyConfigurationError) -> Duration? {
        guard let node = node(key) else { return nil }
        let text: String
        switch node.value {
        case .string(let value): text = value
        case .integer(let value):
            throw error(.invalidValue, key, "\(value) has no unit; write \(value)s or \(value)ms")
        case .double(let value):
            throw error(.invalidValue, key, "\(value) has no unit; write \(value)s")
        default: throw error(.wrongType, key, "expected a duration such as 250ms or 2s, found \(node.value.typeName)")
        }
        guard let duration = ConfigurationDuration.parse(text) else {
            throw error(.invalidValue, key, "\"\(text)\" is not a duration; write a number and a unit: 250ms, 2s, 1m")
        }
        guard duration >= minimum else {
            throw error(.invalidValue, key, "\(text) is too short; the least allowed is \(minimum)")
        }
        return duration
    }

    /// A table under `key`.
    func table(_ key: String) throws(ProxyConfigurationError) -> ConfigurationReader? {
        guard let node = node(key) else { return nil }
        return try ConfigurationReader(node, path: path(of: key), file: file)
    }

    /// The items of a list under `key`, each with its path (`routes[2]`).
    func list(_ key: String) throws(ProxyConfigurationError) -> [(path: String, node: ConfigurationDocument.Node)]? {
        guard let node = node(key) else { return nil }
        guard case .array(let items) = node.value else {
            throw error(.wrongType, key, "expected a list, found \(node.value.typeName)")
        }
        return items.enumerated().map { ("\(path(of: key))[\($0.offset)]", $0.element) }
    }

    /// A list of strings; a single string counts as a list of one.
    func strings(_ key: String) throws(ProxyConfigurationError) -> [String]? {
        guard let node = node(key) else { return nil }
        switch node.value {
        case .string(let value): return [value]
        case .array(let items):
            var values: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let value) = item.value else {
                    throw ProxyConfigurationError(
                        .wrongType,
                        file: file,
                        line: item.line ?? node.line,
                        key: "\(path(of: key))[\(index)]",
                        "expected a string, found \(item.value.typeName)"
                    )
                }
                values.append(value)
            }
            return values
        default: throw error(.wrongType, key, "expected a list of strings, found \(node.value.typeName)")
        }
    }

    /// Reports the first key that the schema did not ask for.
    func finish() throws(ProxyConfigurationError) {
        let known = Set(asked)
        for (key, _) in entries where !known.contains(key) {
            let expected = asked.sorted()
            var message = "unknown key"
            if let suggestion = Self.nearest(to: key, in: expected) {
                message += "; did you mean \(suggestion)?"
            }
            let keys = expected.uniqued().joined(separator: ", ")
            message += message.hasSuffix("?") ? " Known keys here: \(keys)" : "; known keys here: \(keys)"
            throw error(.unknownKey, key, message)
        }
    }

    /// The candidate within an edit distance of 2 (or that `key` is a case or separator variant of).
    static func nearest(to key: String, in candidates: [String]) -> String? {
        let normalized = key.lowercased().replacing("-", with: "_")
        if let exact = candidates.first(where: { $0 == normalized }) { return exact }
        var best: (String, Int)? = nil
        for candidate in candidates {
            let distance = editDistance(Array(normalized.utf8), Array(candidate.utf8))
            if distance <= 2, best.map({ distance < $0.1 }) ?? true { best = (candidate, distance) }
        }
        return best?.0
    }

    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

/// Durations in configuration files: a number and a unit (`us`, `ms`, `s`, `m`, `h`).
enum ConfigurationDuration {
    static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingBlanks
        for (suffix, nanoseconds) in [("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9)]
        where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            // "1ms" also ends in "s": a number part that does not parse is tried with the next unit.
            guard let value = Double(number), value.isFinite, value >= 0, value * nanoseconds < 9.2e18 else {
                continue
            }
            return .nanoseconds(Int64((value * nanoseconds).rounded()))
        }
        return nil
    }

    /// `250ms`, `2s`, `1.5s`, `2m`: the shortest form ``parse(_:)`` reads back.
    static func format(_ duration: Duration) -> String {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        if nanoseconds % 60_000_000_000 == 0 && nanoseconds > 0 { return "\(nanoseconds / 60_000_000_000)m" }
        if nanoseconds % 1_000_000_000 == 0 { return "\(nanoseconds / 1_000_000_000)s" }
        if nanoseconds % 1_000_000 == 0 { return "\(nanoseconds / 1_000_000)ms" }
        return "\(nanoseconds / 1000)us"
    }
}
