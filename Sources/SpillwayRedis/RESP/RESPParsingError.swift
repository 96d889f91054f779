import Spillway

/// The reply stream from Redis broke the RESP3 grammar or one of the ``RESPDecoderLimits``.
///
/// After this error the stream is out of sync, so the connection that saw it is closed; commands in flight on it
/// fail with `RedisClientError.Code.protocolViolation`.
///
/// ```swift
/// var decoder = RESPDecoder()
/// var bytes = ByteBuffer(string: "?oops\r\n")
/// do { _ = try decoder.decode(buffer: &bytes) } catch let error as RESPParsingError {
///     print(error.code)   // invalidTypeByte
/// }
/// ```
public struct RESPParsingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, without the details.
    public typealias Code = ErrorCode<RESPParsingError>

    /// What went wrong.
    public let code: Code
    /// Details for a human: the offending bytes or the limit that was exceeded.
    public let detail: String

    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String {
        "RESP protocol violation (\(code)): \(detail); the connection is closed because the reply stream is out of sync"
    }
}

extension ErrorCode<RESPParsingError> {
    /// A byte that starts no RESP3 type.
    public static var invalidTypeByte: Self { Self("invalidTypeByte") }
    /// A line or a bulk payload was not terminated by `\r\n`.
    public static var missingCRLF: Self { Self("missingCRLF") }
    /// A line (simple string, error, number) exceeded ``RESPDecoderLimits/maximumLineLength``.
    public static var lineTooLong: Self { Self("lineTooLong") }
    /// An integer line was not a 64-bit decimal integer.
    public static var invalidInteger: Self { Self("invalidInteger") }
    /// A length or element count was malformed or negative (other than the RESP2 null `-1`).
    public static var invalidLength: Self { Self("invalidLength") }
    /// A bulk string, bulk error or verbatim string declared more than ``RESPDecoderLimits/maximumBulkLength``.
    public static var bulkTooLong: Self { Self("bulkTooLong") }
    /// An aggregate declared more than ``RESPDecoderLimits/maximumAggregateCount`` elements.
    public static var aggregateTooLarge: Self { Self("aggregateTooLarge") }
    /// Aggregates nested deeper than ``RESPDecoderLimits/maximumDepth``.
    public static var nestingTooDeep: Self { Self("nestingTooDeep") }
    /// A double line was not a decimal number, `inf`, `-inf` or `nan`.
    public static var invalidDouble: Self { Self("invalidDouble") }
    /// A boolean line was neither `t` nor `f`.
    public static var invalidBoolean: Self { Self("invalidBoolean") }
    /// A null line had content.
    public static var invalidNull: Self { Self("invalidNull") }
    /// A big number line was not a decimal integer.
    public static var invalidBigNumber: Self { Self("invalidBigNumber") }
    /// A verbatim string lacked its `xxx:` format prefix.
    public static var invalidVerbatimString: Self { Self("invalidVerbatimString") }
    /// A streamed string or aggregate (`$?`, `*?`): Redis never sends them and this client does not accept them.
    public static var streamedTypeUnsupported: Self { Self("streamedTypeUnsupported") }
    /// One reply would exceed ``RESPDecoderLimits/maximumReplySize``.
    public static var replyTooLarge: Self { Self("replyTooLarge") }
}
