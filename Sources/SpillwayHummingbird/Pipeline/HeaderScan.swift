import HTTPTypes

/// The values of the header fields Spillway's steps read (the two timeout headers and the priority header), found in
/// one pass over the request's fields: `HTTPFields` looks a name up by scanning every field and comparing strings, so
/// three lookups were three scans. Here a field's name is compared only when its length matches one of the names.
/// A name that occurs more than once reads as its values joined with `", "`, as `HTTPFields` does.
struct HeaderScan {
    /// The canonical (lower-case) names to look for, `nil` for a step that is off; a class, so that each request
    /// borrows it with one retain instead of copying three strings.
    final class Names: Sendable {
        let timeout: String?
        let grpcTimeout: String?
        let priority: String?
        // The names' UTF-8 lengths, -1 for none.
        private let timeoutLength: Int
        private let grpcTimeoutLength: Int
        private let priorityLength: Int

        init(timeout: HTTPField.Name?, grpcTimeout: HTTPField.Name?, priority: HTTPField.Name?) {
            self.timeout = timeout?.canonicalName
            self.grpcTimeout = grpcTimeout?.canonicalName
            self.priority = priority?.canonicalName
            self.timeoutLength = self.timeout?.utf8.count ?? -1
            self.grpcTimeoutLength = self.grpcTimeout?.utf8.count ?? -1
            self.priorityLength = self.priority?.utf8.count ?? -1
        }

        /// Whether a name of `length` UTF-8 bytes could be one of the names.
        func mayMatch(length: Int) -> Bool {
            length == timeoutLength || length == grpcTimeoutLength || length == priorityLength
        }

        var isEmpty: Bool { timeout == nil && grpcTimeout == nil && priority == nil }
    }

    var timeout: String?
    var grpcTimeout: String?
    var priority: String?

    init(_ fields: HTTPFields, _ names: Names) {
        guard !names.isEmpty else { return }
        for field in fields {
            let name = field.name.canonicalName
            guard names.mayMatch(length: name.utf8.count) else { continue }
            if name == names.timeout {
                Self.add(field.value, to: &timeout)
            } else if name == names.grpcTimeout {
                Self.add(field.value, to: &grpcTimeout)
            } else if name == names.priority {
                Self.add(field.value, to: &priority)
            }
        }
    }

    private static func add(_ value: String, to slot: inout String?) {
        if let existing = slot {
            slot = existing + ", " + value
        } else {
            slot = value
        }
    }
}
