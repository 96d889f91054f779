/// A tolerant reader of RFC 7239 `Forwarded` field values, extracting the `for` parameter of each element.
enum ForwardedElements {
    /// Calls `body` once per non-empty forwarded-element of `line`, in order, with its `for` value (unquoted), or
    /// `nil` when the element has no `for`, has it twice, or is malformed. Commas and semicolons inside quoted
    /// strings do not split.
    static func forEachFor(in line: String, _ body: (Substring?) -> Void) {
        var elementStart = line.startIndex
        var inQuotes = false
        var escaped = false
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if inQuotes {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inQuotes = false
                }
            } else if character == "\"" {
                inQuotes = true
            } else if character == "," {
                emit(line[elementStart..<index], body)
                elementStart = line.index(after: index)
            }
            index = line.index(after: index)
        }
        if inQuotes {
            // An unterminated quoted string: the last element is malformed.
            body(nil)
        } else {
            emit(line[elementStart..<line.endIndex], body)
        }
    }

    private static func emit(_ element: Substring, _ body: (Substring?) -> Void) {
        let trimmed = element.rateLimitTrimmed()
        guard !trimmed.isEmpty else { return }
        body(forValue(of: Substring(trimmed)))
    }

    /// The unquoted value of the single `for` pair of `element`, or `nil`.
    private static func forValue(of element: Substring) -> Substring? {
        var found: Substring?
        var count = 0
        for pair in splitPairs(element) {
            guard let equals = pair.firstIndex(of: "=") else {
                if pair.rateLimitTrimmed().isEmpty { continue }
                return nil
            }
            let name = pair[..<equals].rateLimitTrimmed()
            guard name.lowercased() == "for" else { continue }
            count += 1
            guard let value = unquote(pair[pair.index(after: equals)...].rateLimitTrimmed()) else { return nil }
            found = value
        }
        return count == 1 ? found : nil
    }

    /// Splits on `;` outside quoted strings.
    private static func splitPairs(_ element: Substring) -> [Substring] {
        var pairs: [Substring] = []
        var start = element.startIndex
        var inQuotes = false
        var escaped = false
        var index = element.startIndex
        while index < element.endIndex {
            let character = element[index]
            if inQuotes {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inQuotes = false
                }
            } else if character == "\"" {
                inQuotes = true
            } else if character == ";" {
                pairs.append(element[start..<index])
                start = element.index(after: index)
            }
            index = element.index(after: index)
        }
        pairs.append(element[start..<element.endIndex])
        return pairs
    }

    /// A token as is, or a quoted-string without its quotes and escapes; `nil` when malformed.
    private static func unquote(_ value: Substring) -> Substring? {
        guard value.first == "\"" else {
            return value.isEmpty || value.contains("\"") ? nil : value
        }
        guard value.count >= 2, value.last == "\"" else { return nil }
        let inner = value.dropFirst().dropLast()
        guard inner.contains("\\") else { return inner }
        var result = ""
        var escaped = false
        for character in inner {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return escaped ? nil : Substring(result)
    }
}
