/// A Lua script run by its SHA1 (`EVALSHA`), sent in full (`EVAL`) only when the server does not have it cached.
///
/// The SHA1 is computed locally, so the first run already tries `EVALSHA`. On `NOSCRIPT` (a fresh or restarted
/// server, or after `SCRIPT FLUSH`) the script runs with `EVAL`, which also caches it on the server, so later runs
/// are `EVALSHA` again. Scripts must be deterministic in what they write and touch only the keys they are given,
/// as Redis requires.
///
/// ```swift
/// let increment = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
/// let total = try await increment.run(on: client, keys: ["hits"], arguments: [5], as: Int64.self)
/// ```
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lower-case hex SHA1 of the source, as `SCRIPT LOAD` returns it.
    public let sha1: String

    /// A script from its Lua source.
    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(Array(source.utf8))
    }

    /// Runs the script and returns its raw reply.
    ///
    /// - Throws: ``RedisServerError`` when the script fails (e.g. `ERR … user_script:1: …`), and the client errors
    ///   of `redis.execute`.
    public func run(
        on redis: some RedisCommandExecutor,
        keys: [String] = [],
        arguments: [RedisArgument] = []
    ) async throws -> RESPValue {
        do {
            return try await redis.execute(evalSHA(keys: keys, arguments: arguments))
        } catch let error as RedisServerError where error.code == .noScript {
            return try await redis.execute(eval(keys: keys, arguments: arguments))
        }
    }

    /// Runs the script and converts its reply to `type`.
    public func run<Response: RESPValueDecodable>(
        on redis: some RedisCommandExecutor,
        keys: [String] = [],
        arguments: [RedisArgument] = [],
        as type: Response.Type
    ) async throws -> Response {
        try Response(fromRESP: try await run(on: redis, keys: keys, arguments: arguments))
    }

    /// Caches the script on the server (`SCRIPT LOAD`), e.g. before pipelining many ``evalSHA(keys:arguments:)``.
    ///
    /// - Throws: `RedisClientError.Code.unexpectedResponse` if the server names it with a different
    ///   SHA1.
    public func load(on redis: some RedisCommandExecutor) async throws {
        let sha = try await redis.execute(SCRIPT.LOAD(script: source))
        guard sha == sha1 else {
            throw RedisClientError(.unexpectedResponse, "SCRIPT LOAD returned \(sha), expected \(sha1)")
        }
    }

    /// The `EVALSHA` command for this script, to pipeline.
    public func evalSHA(keys: [String] = [], arguments: [RedisArgument] = []) -> EVALSHA {
        EVALSHA(sha1: sha1, keys: keys, arguments: arguments)
    }

    /// The `EVAL` command for this script, to pipeline.
    public func eval(keys: [String] = [], arguments: [RedisArgument] = []) -> EVAL {
        EVAL(script: source, keys: keys, arguments: arguments)
    }
}
