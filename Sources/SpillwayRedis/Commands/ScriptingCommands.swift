/// `EVAL script numkeys key … arg …`: runs a Lua script sent in full. Prefer ``RedisScript``, which sends only
/// the script's SHA1 once the server has it.
///
/// ```swift
/// let reply = try await client.execute(EVAL(script: "return redis.call('INCR', KEYS[1])", keys: ["n"]))
/// ```
public struct EVAL: RedisCommand {
    public typealias Response = RESPValue
    /// The Lua source.
    public var script: String
    /// The keys the script touches (`KEYS[1]`, …).
    public var keys: [String]
    /// The other arguments (`ARGV[1]`, …).
    public var arguments: [RedisArgument]

    /// Runs `script`.
    public init(script: String, keys: [String] = [], arguments: [RedisArgument] = []) {
        self.script = script
        self.keys = keys
        self.arguments = arguments
    }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(["EVAL", RedisArgument(script), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments)
    }
}

/// `EVALSHA sha1 numkeys key … arg …`: runs a cached Lua script; fails with ``RedisServerError/Code-swift.struct/noScript``
/// when the server does not have it (after a restart or `SCRIPT FLUSH`). ``RedisScript`` handles that case.
///
/// ```swift
/// let reply = try await client.execute(EVALSHA(sha1: sha, keys: ["n"]))
/// ```
public struct EVALSHA: RedisCommand {
    public typealias Response = RESPValue
    /// The script's SHA1, in lower-case hex.
    public var sha1: String
    /// The keys the script touches (`KEYS[1]`, …).
    public var keys: [String]
    /// The other arguments (`ARGV[1]`, …).
    public var arguments: [RedisArgument]

    /// Runs the script whose SHA1 is `sha1`.
    public init(sha1: String, keys: [String] = [], arguments: [RedisArgument] = []) {
        self.sha1 = sha1
        self.keys = keys
        self.arguments = arguments
    }

    public func encode(into encoder: inout RESPCommandEncoder) {
        encoder.encode(["EVALSHA", RedisArgument(sha1), RedisArgument(keys.count)] + keys.map { RedisArgument($0) } + arguments)
    }
}

/// The `SCRIPT` subcommands.
public enum SCRIPT {
    /// `SCRIPT LOAD script`: caches a script and returns its SHA1.
    ///
    /// ```swift
    /// let sha = try await client.execute(SCRIPT.LOAD(script: "return 1"))
    /// ```
    public struct LOAD: RedisCommand {
        public typealias Response = String
        /// The Lua source.
        public var script: String

        /// Caches `script`.
        public init(script: String) { self.script = script }

        public func encode(into encoder: inout RESPCommandEncoder) {
            encoder.encode("SCRIPT", "LOAD", RedisArgument(script))
        }
    }

    /// `SCRIPT FLUSH`: empties the server's script cache (every later `EVALSHA` fails with `NOSCRIPT`).
    ///
    /// ```swift
    /// _ = try await client.execute(SCRIPT.FLUSH())
    /// ```
    public struct FLUSH: RedisCommand {
        public typealias Response = String

        /// Empties the script cache.
        public init() {}

        public func encode(into encoder: inout RESPCommandEncoder) {
            encoder.encode("SCRIPT", "FLUSH")
        }
    }
}
