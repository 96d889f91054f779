/// Redis answered a command with an error reply (`-ERR …`, `-WRONGTYPE …`, `!…`).
///
/// The ``code`` is the reply's first word (Redis' error prefix); the connection stays usable.
///
/// ```swift
/// do {
///     _ = try await client.execute(EVALSHA(sha1: sha, keys: [], arguments: []))
/// } catch let error as RedisServerError where error.code == .noScript {
///     // load the script and retry
/// }
/// ```
public struct RedisServerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The error prefix Redis sent: the first word of the reply, upper case by convention.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The prefix as sent, e.g. `"WRONGTYPE"`.
        public let rawValue: String

        /// A code from its prefix.
        public init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        /// `ERR`: the generic error.
        public static let generic = Code("ERR")
        /// `NOSCRIPT`: `EVALSHA` of a script the server does not have cached.
        public static let noScript = Code("NOSCRIPT")
        /// `WRONGTYPE`: an operation against a key holding the wrong kind of value.
        public static let wrongType = Code("WRONGTYPE")
        /// `NOAUTH`: authentication required.
        public static let noAuth = Code("NOAUTH")
        /// `WRONGPASS`: invalid username-password pair.
        public static let wrongPassword = Code("WRONGPASS")
        /// `BUSY`: a script or function is running too long.
        public static let busy = Code("BUSY")
        /// `LOADING`: the server is loading its dataset.
        public static let loading = Code("LOADING")
        /// `NOPROTO`: the server does not speak the requested protocol version (RESP3 needs Redis 6 or later).
        public static let noProtocol = Code("NOPROTO")

        public var description: String { rawValue }
    }

    /// The error prefix.
    public let code: Code
    /// The whole error text as Redis sent it, prefix included.
    public let message: String

    /// An error from the text of an error reply.
    public init(message: String) {
        self.message = message
        let prefix = message.prefix { $0 != " " }
        self.code = Code(prefix.isEmpty ? "ERR" : String(prefix))
    }

    public var description: String { "Redis replied with an error: \(message)" }
}
