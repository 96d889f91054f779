import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Spillway
import Synchronization

/// Runs a Hummingbird 2 application on a real loopback port (127.0.0.1, port chosen by the kernel) for the
/// duration of `body`, then stops it.
func withLiveServer<T: Sendable>(
    _ router: Router<BasicRequestContext>,
    _ body: (_ baseURL: String) async throws -> T
) async throws -> T {
    let port = PortPromise()
    var logger = Logger(label: "spillway-test-server")
    // Stopping the server by cancellation logs an error per open connection; nothing a test needs to see.
    logger.logLevel = .critical
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in port.fulfil(channel.localAddress?.port ?? 0) },
        logger: logger
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            do {
                try await app.run()
            } catch {
                port.fulfil(0)
                throw error
            }
        }
        let bound = await port.value
        defer { group.cancelAll() }
        guard bound != 0 else { throw LiveServerError() }
        return try await body("http://127.0.0.1:\(bound)")
    }
}

/// The test server did not start.
struct LiveServerError: Error, CustomStringConvertible {
    var description: String { "the Hummingbird test server could not bind a loopback port" }
}

/// An AsyncHTTPClient that reports connection failures at once (Spillway decides about retrying them), closed
/// when `body` ends; `configure` changes its configuration further.
func withHTTPClient<T: Sendable>(
    configure: (inout HTTPClient.Configuration) -> Void = { _ in },
    _ body: (HTTPClient) async throws -> T
) async throws -> T {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.timeout.connect = .seconds(2)
    configure(&configuration)
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
        let value = try await body(client)
        try await client.shutdown()
        return value
    } catch {
        try await client.shutdown()
        throw error
    }
}

/// The port a server bound to, delivered once it runs.
final class PortPromise: Sendable {
    private let state = Mutex<(port: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func fulfil(_ port: Int) {
        let waiters = state.withLock { state in
            state.port = port
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    var value: Int {
        get async {
            await withCheckedContinuation { continuation in
                let port = state.withLock { state -> Int? in
                    if let port = state.port { return port }
                    state.waiters.append(continuation)
                    return nil
                }
                if let port { continuation.resume(returning: port) }
            }
        }
    }
}

/// What the test server saw: hits per route, their arrival times, and the deadline header they carried.
final class ServerLog: Sendable {
    struct Hit: Sendable {
        var route: String
        var at: ContinuousClock.Instant
        var timeoutHeader: String?
    }

    private let hits = Mutex<[Hit]>([])

    /// Records a hit and returns how many hits `route` has had, this one included.
    @discardableResult
    func record(_ route: String, _ request: Request) -> Int {
        let header = request.headers[.init(TimeoutHeader.defaultName)!]
        return hits.withLock { hits in
            hits.append(Hit(route: route, at: .now, timeoutHeader: header))
            return hits.count { $0.route == route }
        }
    }

    func count(_ route: String) -> Int {
        hits.withLock { $0.count { $0.route == route } }
    }

    func hits(_ route: String) -> [Hit] {
        hits.withLock { $0.filter { $0.route == route } }
    }
}

/// A switch that tests flip while a server reads it.
final class Flag: Sendable {
    private let value: Mutex<Bool>

    init(_ value: Bool) { self.value = Mutex(value) }

    var isOn: Bool {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
