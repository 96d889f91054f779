import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A Hummingbird router served on 127.0.0.1 for the lab's in-process services (the victim, the `database`
/// scenario's service): started on a free port (or a given one), stopped gracefully.
///
/// ```swift
/// let server = try await LoopbackServer.start(router: router, name: "the victim", logger: logger)
/// print(server.port)
/// await server.stop()
/// ```
package final class LoopbackServer: Sendable {
    /// The loopback port it listens on.
    package let port: Int
    private let running: Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.running = Mutex((group, task))
    }

    /// Serves `router` on `127.0.0.1:port` (`0`: a free port) and returns once it listens; `name` says what failed
    /// to listen in the error.
    package static func start(
        router: Router<BasicRequestContext>,
        port requestedPort: Int = 0,
        name: String,
        logger: Logger
    ) async throws(LabError) -> LoopbackServer {
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: requestedPort), serverName: nil, backlog: 4096),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [], logger: logger)
        )
        let task = Task {
            defer { portContinuation.finish() }
            try await group.run()
        }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            let reason: String
            switch await task.result {
            case .failure(let error): reason = "\(error)"
            case .success: reason = "it stopped before listening"
            }
            throw LabError(.serverFailed, "\(name) could not listen on 127.0.0.1: \(reason)")
        }
        return LoopbackServer(port: port, group: group, task: task)
    }

    /// Stops the server (once; later calls return at once).
    ///
    /// The shutdown is graceful (stop accepting, let handlers return): cancelling Hummingbird's server while accepted
    /// connections are still buffered drops them unfinished, which NIO treats as a programming error and traps.
    /// Should a handler not return, the server is cancelled after two seconds.
    package func stop() async {
        let server = running.withLock { running -> (group: ServiceGroup, task: Task<Void, any Error>)? in
            defer { running = nil }
            return running
        }
        guard let server else { return }
        await server.group.triggerGracefulShutdown()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(2))
            server.task.cancel()
        }
        _ = await server.task.result
        watchdog.cancel()
    }
}
