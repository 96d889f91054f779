import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing

/// Stopping the servers logs an error per open connection; nothing a test needs to see.
let quietLogger: Logger = {
    var logger = Logger(label: "spillway-otel-test")
    logger.logLevel = .critical
    return logger
}()

/// Runs an ``OTLPReceiver`` on a loopback port (Hummingbird, port chosen by the kernel) for the duration of `body`,
/// then records an issue for every export request it could not decode.
func withCollector(_ body: @Sendable (_ receiver: OTLPReceiver, _ port: Int) async throws -> Void) async throws {
    let receiver = OTLPReceiver()
    let router = Router()
    receiver.addRoutes(to: router)
    try await Application(router: router, logger: quietLogger).test(.live) { collector in
        try await body(receiver, try #require(collector.port))
    }
    #expect(receiver.failures.isEmpty)
}

/// Runs `service` (an export's background work) in a `ServiceGroup` while `body` runs, then shuts it down gracefully
/// (which sends what is still batched) and waits for it to return.
func whileRunning<T: Sendable>(_ service: any Service, _ body: () async throws -> T) async throws -> T {
    let group = ServiceGroup(services: [service], logger: quietLogger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let value: T
        do {
            value = try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return value
    }
}
