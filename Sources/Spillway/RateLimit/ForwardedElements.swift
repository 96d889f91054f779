/// A tolerant reader of RFC 7239 `Forwarded` field values, extracting the `for` parameter of each element.
enum ForwardedElements {
    /// Calls `body` once per non-empty forwarded-element of `line`, in order, with its `for` value (unquoted), or
    /// `nil` when the element has no `for`, has it twice, or is malformed. Commas and semicolons inside quoted
    /// strings do not split.
    static func forEachFor(in line: String, _ body: (Substring?) -> Void) {
        let (elements, unterminated) = split(line[...], on: ",")
        for element in elements.dropLast() { emit(element, body) }
        if unterminated {
            // An unterminated quoted string: the last element is malformed.
            body(nil)
        } else if let last = elements.last {
            emit(last, body)
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
        for pair in split(element, on: ";").parts {
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

    /// Splits `text` on `separator` outside quoted strings (where `\\` escapes the next character); `unterminated`
    /// when the last part opens a quoted string that never closes.
    private static func split(_ text: Substring, on separator: Character) -> (parts: [Substring], unterminated: Bool) {
        var parts: [Substring] = []
        var start = text.startIndex
        var inQuotes = false
        var escaped = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
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
            } else if character == separator {
                parts.append(text[start..<index])
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        parts.append(text[start..<text.endIndex])
        return (parts, inQuotes)
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
