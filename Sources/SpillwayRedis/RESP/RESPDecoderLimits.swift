/// Bounds that keep a hostile or broken server from making the decoder allocate without bound or nest without bound.
///
/// The decoder never allocates from a *declared* length: a bulk string is only buffered as its bytes arrive and an
/// aggregate reserves at most ``initialReservation`` slots before its elements arrive. The limits below cap what
/// real bytes may describe — each string, each aggregate, and one whole reply (``maximumReplySize``); a violation
/// fails with a ``RESPParsingError`` and the connection is closed.
///
/// ```swift
/// var limits = RESPDecoderLimits()
/// limits.maximumBulkLength = 16 << 20   // 16 MiB values are plenty for a cache
/// let configuration = RedisConnectionConfiguration(decoderLimits: limits)
/// ```
public struct RESPDecoderLimits: Sendable, Hashable {
    /// The largest bulk string, bulk error or verbatim string accepted, in bytes.
    /// Default 512 MiB, Redis' own `proto-max-bulk-len`; ``maximumReplySize`` bounds it too.
    public var maximumBulkLength: Int
    /// The most elements one array, set or push may declare (for maps and attributes: the most pairs).
    /// Default 16 Mi (16 777 216).
    public var maximumAggregateCount: Int
    /// The deepest nesting of aggregates (an attribute counts as a level). Default 64; Redis' own replies nest at most
    /// a handful of levels, and Lua scripts cannot return deeper than Redis' conversion depth limit.
    public var maximumDepth: Int
    /// The longest line of a simple string, simple error, number, double, boolean or length header, in bytes,
    /// without its `\r\n`. Default 64 KiB, Redis' own `proto-inline-max-size`.
    public var maximumLineLength: Int
    /// The most one reply (or push) may take while it is received and decoded: its bytes as they arrive plus, for
    /// each value in it, the size of a decoded `RESPValue` (40 bytes on 64-bit platforms), so that a reply of
    /// millions of tiny values is bounded as well as one of a few large strings. A string whose declared length
    /// would cross it is refused at its header, before its bytes are buffered. Default 64 MiB: far above what the
    /// rate-limit scripts and cache entries send, far below what would hurt a server.
    public var maximumReplySize: Int

    /// How many element slots an aggregate reserves before its elements arrive; beyond it storage grows with the
    /// elements actually received.
    static let initialReservation = 16

    /// Limits with the defaults documented on each property.
    public init(
        maximumBulkLength: Int = 512 * 1024 * 1024,
        maximumAggregateCount: Int = 16 * 1024 * 1024,
        maximumDepth: Int = 64,
        maximumLineLength: Int = 64 * 1024,
        maximumReplySize: Int = 64 * 1024 * 1024
    ) {
        self.maximumBulkLength = max(0, maximumBulkLength)
        self.maximumAggregateCount = max(0, maximumAggregateCount)
        self.maximumDepth = max(1, maximumDepth)
        self.maximumLineLength = max(1, maximumLineLength)
        self.maximumReplySize = max(0, maximumReplySize)
    }
}
