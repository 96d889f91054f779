import NIOCore

/// One decoded RESP3 value, as Redis sent it.
///
/// Every RESP3 type has a case. Bulk payloads stay `ByteBuffer`s (no copy, no UTF-8 assumption); line-based types
/// that the protocol defines as text are `String`s. Typed commands convert a `RESPValue` into their response type,
/// so most callers never see one; the raw escape hatch ``RedisRawCommand`` returns it as is.
///
/// ```swift
/// let reply = try await client.execute(RedisRawCommand("HGETALL", "user:1"))
/// if case .map(let entries) = reply.withoutAttributes {
///     for entry in entries { print(entry.key, entry.value) }
/// }
/// ```
public enum RESPValue: Sendable, Hashable {
    /// `+OK` — a short, binary-unsafe status string.
    case simpleString(String)
    /// `-ERR message` — an error reply (kind and message, as sent).
    case simpleError(String)
    /// `:42` — a signed 64-bit integer.
    case integer(Int64)
    /// `$5 hello` — a binary-safe string.
    case bulkString(ByteBuffer)
    /// `_` — the RESP3 null (RESP2's `$-1` and `*-1` decode to it too).
    case null
    /// `,3.14` — a double, including `inf`, `-inf` and `nan`.
    case double(Double)
    /// `#t` / `#f`.
    case boolean(Bool)
    /// `(3492890328409238509324850943850943825024385` — an integer of any size, kept as its decimal text.
    case bigNumber(String)
    /// `!21 SYNTAX invalid syntax` — a binary-safe error reply.
    case bulkError(ByteBuffer)
    /// `=15 txt:Some string` — a string with a three-letter format hint (`txt`, `mkd`).
    case verbatimString(format: String, text: ByteBuffer)
    /// `*2 …` — an ordered collection.
    case array([RESPValue])
    /// `%2 …` — key/value pairs in the order the server sent them (keys may repeat; RESP3 does not forbid it).
    case map([Entry])
    /// `~2 …` — an unordered collection (kept in wire order).
    case set([RESPValue])
    /// `|1 …` — out-of-band attributes that the server attached to the value that follows them.
    indirect case attributed(attributes: [Entry], value: RESPValue)
    /// `>3 …` — a push message (pub/sub, client-side caching invalidation); never the reply to a command.
    case push([RESPValue])

    /// One key/value pair of a ``RESPValue/map(_:)`` or of an attribute.
    public struct Entry: Sendable, Hashable {
        /// The key.
        public var key: RESPValue
        /// The value.
        public var value: RESPValue

        /// A key/value pair.
        public init(key: RESPValue, value: RESPValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value with any attributes the server attached removed (attributes are metadata, not the reply).
    public var withoutAttributes: RESPValue {
        var value = self
        while case .attributed(_, let inner) = value { value = inner }
        return value
    }

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)): return a == b
        case (.simpleError(let a), .simpleError(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulkString(let a), .bulkString(let b)): return a == b
        case (.null, .null): return true
        // Bitwise comparison so that a decoded `nan` equals the `nan` it was encoded from.
        case (.double(let a), .double(let b)): return a.bitPattern == b.bitPattern || a == b
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.bigNumber(let a), .bigNumber(let b)): return a == b
        case (.bulkError(let a), .bulkError(let b)): return a == b
        case (.verbatimString(let f1, let t1), .verbatimString(let f2, let t2)): return f1 == f2 && t1 == t2
        case (.array(let a), .array(let b)): return a == b
        case (.map(let a), .map(let b)): return a == b
        case (.set(let a), .set(let b)): return a == b
        case (.attributed(let a1, let v1), .attributed(let a2, let v2)): return a1 == a2 && v1 == v2
        case (.push(let a), .push(let b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .simpleString(let s): hasher.combine(0); hasher.combine(s)
        case .simpleError(let s): hasher.combine(1); hasher.combine(s)
        case .integer(let i): hasher.combine(2); hasher.combine(i)
        case .bulkString(let b): hasher.combine(3); hasher.combine(b)
        case .null: hasher.combine(4)
        case .double(let d): hasher.combine(5); hasher.combine(d.isNaN ? Double.nan.bitPattern : d == 0 ? 0 : d.bitPattern)
        case .boolean(let b): hasher.combine(6); hasher.combine(b)
        case .bigNumber(let s): hasher.combine(7); hasher.combine(s)
        case .bulkError(let b): hasher.combine(8); hasher.combine(b)
        case .verbatimString(let f, let t): hasher.combine(9); hasher.combine(f); hasher.combine(t)
        case .array(let a): hasher.combine(10); hasher.combine(a)
        case .map(let m): hasher.combine(11); hasher.combine(m)
        case .set(let s): hasher.combine(12); hasher.combine(s)
        case .attributed(let a, let v): hasher.combine(13); hasher.combine(a); hasher.combine(v)
        case .push(let p): hasher.combine(14); hasher.combine(p)
        }
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short, human-readable rendering for logs and test failures (bulk payloads shown as UTF-8 when they are).
    public var description: String {
        switch self {
        case .simpleString(let s): return "+\(s)"
        case .simpleError(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulkString(let b): return "$\(Self.render(b))"
        case .null: return "_"
        case .double(let d): return ",\(d)"
        case .boolean(let b): return b ? "#t" : "#f"
        case .bigNumber(let s): return "(\(s)"
        case .bulkError(let b): return "!\(Self.render(b))"
        case .verbatimString(let f, let t): return "=\(f):\(Self.render(t))"
        case .array(let a): return "[\(a.map(\.description).joined(separator: ", "))]"
        case .map(let m): return "{\(m.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        case .set(let s): return "~[\(s.map(\.description).joined(separator: ", "))]"
        case .attributed(let a, let v): return "|{\(a.map { "\($0.key): \($0.value)" }.joined(separator: ", "))} \(v)"
        case .push(let p): return ">[\(p.map(\.description).joined(separator: ", "))]"
        }
    }

    private static func render(_ buffer: ByteBuffer) -> String {
        let bytes = buffer.readableBytesView
        if bytes.count <= 64, let text = String(validating: bytes, as: UTF8.self) { return "\"\(text)\"" }
        return "<\(bytes.count) bytes>"
    }
}
