/// A `redis-server` started by a test on a free loopback port, with persistence off, and stopped after.
///
/// ```swift
/// try await withRedisServer { server in
///     let connection = try await RedisConnection.connect(configuration: .init(port: server.port))
/// }
/// ```
package final class RedisServer: Sendable {
    /// The process.
    package let process: ServerProcess
    /// The `requirepass` password, if any.
    package let password: String?

    /// The loopback port.
    package var port: Int { process.port }

    private init(process: ServerProcess, password: String?) {
        self.process = process
        self.password = password
    }

    /// Starts a server; `password` turns on `requirepass`.
    package static func start(password: String? = nil) async throws -> RedisServer {
        RedisServer(process: try await ServerProcess.start(launch(password: password)), password: password)
    }

    /// Restarts the server on the same port after ``kill()``.
    package func start() async throws { try await process.start() }

    /// Kills the server at once, as a crash would (persistence is off, so its data is gone).
    package func kill() { process.kill() }

    /// Kills the server and removes its folder.
    package func stop() { process.stop() }

    static func launch(password: String?) -> ServerLaunch {
        ServerLaunch(
            name: "redis-server",
            binary: "redis-server",
            package: "redis-server",
            arguments: { port, directory in
                var arguments = [
                    "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                    directory, "--daemonize", "no", "--logfile", "",
                ]
                if let password { arguments += ["--requirepass", password] }
                return arguments
            },
            processID: { port in await processID(port: port, password: password) }
        )
    }

    /// The `process_id` in the `INFO server` reply of the server on `port`.
    private static func processID(port: Int, password: String?) async -> Int32? {
        var request: [UInt8] = []
        if let password { request += command(["AUTH", password]) }
        request += command(["INFO", "server"])
        guard let reply = await Loopback.exchange(port: port, request: request, isComplete: hasBulkString) else {
            return nil
        }
        let text = String(decoding: reply, as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("process_id:") {
            return Int32(line.dropFirst("process_id:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    private static func command(_ words: [String]) -> [UInt8] {
        var bytes = Array("*\(words.count)\r\n".utf8)
        for word in words { bytes += Array("$\(word.utf8.count)\r\n\(word)\r\n".utf8) }
        return bytes
    }

    /// Whether `reply` ends with a whole RESP bulk string (`$N\r\n` and N bytes), or an error reply.
    private static func hasBulkString(_ reply: [UInt8]) -> Bool {
        guard let dollar = reply.firstIndex(of: UInt8(ascii: "$")) else {
            return reply.last == UInt8(ascii: "\n") && reply.contains(UInt8(ascii: "-"))
        }
        guard let lineEnd = reply[dollar...].firstIndex(of: UInt8(ascii: "\n")),
            let length = Int(String(decoding: reply[(dollar + 1)..<(lineEnd - 1)], as: UTF8.self))
        else { return false }
        return reply.count >= lineEnd + 1 + length + 2
    }
}

/// Runs `body` with a fresh redis-server, stopping it afterwards whatever happens.
package func withRedisServer<T>(password: String? = nil, _ body: (RedisServer) async throws -> T) async throws -> T {
    let server = try await RedisServer.start(password: password)
    defer { server.stop() }
    return try await body(server)
}
