/// A command could not be completed by the client: no connection, a timeout, a broken reply stream, or a reply
/// of the wrong shape. Errors that Redis itself replied with are ``RedisServerError``s instead.
///
/// ```swift
/// do {
///     _ = try await client.get("k")
/// } catch let error as RedisClientError where error.code == .unavailable {
///     // Redis is down and the client is backing off: fall back without waiting.
/// }
/// ```
public struct RedisClientError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case connectionFailed, unavailable, connectionClosed, timeout, protocolViolation, unexpectedResponse
            case tooManyWaiters, acquisitionTimeout, shutdown
        }

        fileprivate let base: Base

        /// Connecting, or the `HELLO 3` / `AUTH` / `SELECT` handshake, failed.
        public static let connectionFailed = Code(base: .connectionFailed)
        /// The last connection attempt failed and the client is waiting (backing off) before the next one; commands
        /// fail at once instead of waiting for Redis to come back.
        public static let unavailable = Code(base: .unavailable)
        /// The connection closed before the reply arrived; the command may or may not have run.
        public static let connectionClosed = Code(base: .connectionClosed)
        /// No reply within the command timeout (or the task's `Deadline`). The command may still run; the
        /// connection stays open and discards its reply when it comes.
        public static let timeout = Code(base: .timeout)
        /// Redis sent bytes that are not valid RESP3 or exceeded the decoder limits.
        public static let protocolViolation = Code(base: .protocolViolation)
        /// The reply's type does not fit the command's response type.
        public static let unexpectedResponse = Code(base: .unexpectedResponse)
        /// Every connection was busy and the bounded wait queue was full.
        public static let tooManyWaiters = Code(base: .tooManyWaiters)
        /// No connection became available within the acquisition timeout.
        public static let acquisitionTimeout = Code(base: .acquisitionTimeout)
        /// The client or connection was shut down.
        public static let shutdown = Code(base: .shutdown)

        public var description: String { "\(base)" }
    }

    /// The kind of failure.
    public let code: Code
    /// What happened and what to do about it.
    public let message: String
    /// The error that caused this one (a socket error, a ``RESPParsingError``, a ``RedisServerError``), if any.
    public let underlying: (any Error)?

    /// The command never reached the socket (its connection had already closed), so retrying it is safe.
    let notSent: Bool

    init(_ code: Code, _ message: String, underlying: (any Error)? = nil, notSent: Bool = false) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.notSent = notSent
    }

    public var description: String {
        if let underlying { return "RedisClientError.\(code): \(message) (\(underlying))" }
        return "RedisClientError.\(code): \(message)"
    }
}
