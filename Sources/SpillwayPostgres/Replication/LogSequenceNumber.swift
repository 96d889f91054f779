/// A position in PostgreSQL's write-ahead log (a `pg_lsn`), as `pg_current_wal_lsn()` and
/// `pg_last_wal_replay_lsn()` return it: two hexadecimal halves separated by a slash, `16/B374D848`.
///
/// Positions are ordered, so "has this replica replayed my last write?" is `replayed >= written`.
///
/// ```swift
/// let written = LogSequenceNumber("16/B374D848")!
/// let replayed = LogSequenceNumber("16/B374D000")!
/// replayed >= written  // false: the replica has not caught up yet
/// written.bytes(since: replayed)  // 2120
/// ```
public struct LogSequenceNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The position as one 64-bit byte offset into the log.
    public let value: UInt64

    /// The start of the log: every position is at or after it.
    public static let zero = LogSequenceNumber(value: 0)

    /// A position from its 64-bit byte offset.
    public init(value: UInt64) {
        self.value = value
    }

    /// Parses PostgreSQL's text form, `XXXXXXXX/XXXXXXXX` (each half one to eight hexadecimal digits).
    ///
    /// Returns `nil` for anything else, so a malformed value from a server is never read as position zero.
    public init?(_ text: some StringProtocol) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2,
            halves.allSatisfy({ (1...8).contains($0.count) && $0.allSatisfy(\.isHexDigit) }),
            let high = UInt64(halves[0], radix: 16),
            let low = UInt64(halves[1], radix: 16)
        else { return nil }
        self.value = high << 32 | low
    }

    /// PostgreSQL's text form, upper-case hexadecimal without leading zeros: `16/B374D848`.
    public var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/"
            + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    /// How many bytes of log lie between `earlier` and this position; zero when `earlier` is not earlier.
    public func bytes(since earlier: LogSequenceNumber) -> UInt64 {
        value >= earlier.value ? value - earlier.value : 0
    }

    /// Whether `lhs` is earlier in the log than `rhs`.
    public static func < (lhs: LogSequenceNumber, rhs: LogSequenceNumber) -> Bool {
        lhs.value < rhs.value
    }
}
