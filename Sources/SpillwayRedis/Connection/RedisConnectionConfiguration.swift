/// Credentials sent with `HELLO 3 AUTH` when a connection opens.
///
/// ```swift
/// let authentication = RedisAuthentication(password: "s3cret")   // user "default", as `requirepass` expects
/// ```
public struct RedisAuthentication: Sendable, Hashable {
    /// The ACL user; `"default"` is the user `requirepass` protects.
    public var username: String
    /// The password.
    public var password: String

    /// Credentials for `username` (default `"default"`).
    public init(username: String = "default", password: String) {
        self.username = username
        self.password = password
    }
}

/// Where a connection goes and how it behaves.
///
/// ```swift
/// var configuration = RedisConnectionConfiguration(host: "127.0.0.1", port: 6379)
/// configuration.authentication = RedisAuthentication(password: "s3cret")
/// configuration.database = 2
/// configuration.commandTimeout = .milliseconds(50)
/// ```
public struct RedisConnectionConfiguration: Sendable {
    /// The server's host name or address. Default `"127.0.0.1"`.
    public var host: String
    /// The server's TCP port. Default 6379.
    public var port: Int
    /// Credentials for `HELLO 3 AUTH`, or `nil` when the server needs none. Default `nil`.
    public var authentication: RedisAuthentication?
    /// The logical database selected with `SELECT` after the handshake. Default 0 (no `SELECT` sent).
    public var database: Int
    /// The name set with `HELLO … SETNAME`, shown by `CLIENT LIST`. Default `nil`.
    public var clientName: String?
    /// The longest a command waits for its reply; the task's `Deadline`, when earlier, wins. A command that times out
    /// fails alone with ``RedisClientError/Code-swift.struct/timeout``: the connection stays open, and the command's
    /// reply, when it comes, is discarded in its place, so the commands pipelined behind it still get theirs.
    /// Default 1 s (go-redis waits 3 s; Spillway guards latency, so a stuck Redis should cost less).
    public var commandTimeout: Duration
    /// The longest a connection waits for a byte while it owes replies to commands that timed out, or holds part of
    /// a reply; past it the connection is closed as stalled (its other commands fail with
    /// ``RedisClientError/Code-swift.struct/connectionClosed``), and a pooled client waits out its reconnect backoff
    /// before opening another, until a command succeeds again. Default 2 s: a Redis pausing for a fork or a slow
    /// disk recovers well within it, and a stalled one is left in time for its connection to be replaced.
    public var readTimeout: Duration
    /// The longest a TCP connect may take. Default 1 s (go-redis' `DialTimeout` is 5 s).
    public var connectTimeout: Duration
    /// The bounds that protect the decoder from hostile or broken replies.
    public var decoderLimits: RESPDecoderLimits

    /// A configuration with the defaults documented on each property.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        authentication: RedisAuthentication? = nil,
        database: Int = 0,
        clientName: String? = nil,
        commandTimeout: Duration = .seconds(1),
        readTimeout: Duration = .seconds(2),
        connectTimeout: Duration = .seconds(1),
        decoderLimits: RESPDecoderLimits = RESPDecoderLimits()
    ) {
        self.host = host
        self.port = port
        self.authentication = authentication
        self.database = database
        self.clientName = clientName
        self.commandTimeout = commandTimeout
        self.readTimeout = readTimeout
        self.connectTimeout = connectTimeout
        self.decoderLimits = decoderLimits
    }
}
