/// The reply stream from Redis broke the RESP3 grammar or one of the ``RESPDecoderLimits``.
///
/// After this error the stream is out of sync, so the connection that saw it is closed; commands in flight on it
/// fail with ``RedisClientError/Code-swift.struct/protocolViolation``.
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
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case invalidTypeByte
            case missingCRLF
            case lineTooLong
            case invalidInteger
            case invalidLength
            case bulkTooLong
            case aggregateTooLarge
            case nestingTooDeep
            case invalidDouble
            case invalidBoolean
            case invalidNull
            case invalidBigNumber
            case invalidVerbatimString
            case streamedTypeUnsupported
            case replyTooLarge
        }

        fileprivate let base: Base

        /// A byte that starts no RESP3 type.
        public static let invalidTypeByte = Code(base: .invalidTypeByte)
        /// A line or a bulk payload was not terminated by `\r\n`.
        public static let missingCRLF = Code(base: .missingCRLF)
        /// A line (simple string, error, number) exceeded ``RESPDecoderLimits/maximumLineLength``.
        public static let lineTooLong = Code(base: .lineTooLong)
        /// An integer line was not a 64-bit decimal integer.
        public static let invalidInteger = Code(base: .invalidInteger)
        /// A length or element count was malformed or negative (other than the RESP2 null `-1`).
        public static let invalidLength = Code(base: .invalidLength)
        /// A bulk string, bulk error or verbatim string declared more than ``RESPDecoderLimits/maximumBulkLength``.
        public static let bulkTooLong = Code(base: .bulkTooLong)
        /// An aggregate declared more than ``RESPDecoderLimits/maximumAggregateCount`` elements.
        public static let aggregateTooLarge = Code(base: .aggregateTooLarge)
        /// Aggregates nested deeper than ``RESPDecoderLimits/maximumDepth``.
        public static let nestingTooDeep = Code(base: .nestingTooDeep)
        /// A double line was not a decimal number, `inf`, `-inf` or `nan`.
        public static let invalidDouble = Code(base: .invalidDouble)
        /// A boolean line was neither `t` nor `f`.
        public static let invalidBoolean = Code(base: .invalidBoolean)
        /// A null line had content.
        public static let invalidNull = Code(base: .invalidNull)
        /// A big number line was not a decimal integer.
        public static let invalidBigNumber = Code(base: .invalidBigNumber)
        /// A verbatim string lacked its `xxx:` format prefix.
        public static let invalidVerbatimString = Code(base: .invalidVerbatimString)
        /// A streamed string or aggregate (`$?`, `*?`): Redis never sends them and this client does not accept them.
        public static let streamedTypeUnsupported = Code(base: .streamedTypeUnsupported)
        /// One reply would exceed ``RESPDecoderLimits/maximumReplySize``.
        public static let replyTooLarge = Code(base: .replyTooLarge)

        public var description: String { "\(base)" }
    }

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
