import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import Logging
import Spillway
import SpillwayHTTPClient
import SpillwayHummingbird
import SpillwayLab

/// Service B of `spillway lab chain`: a thread-per-request server (every request holds one of
/// ``ChainSettings/workers`` workers while it runs, the rest wait for one in arrival order) with two routes:
///
/// - `GET /a` calls service A (`GET /db/write`, a transaction on a hot row) and answers with A's status;
/// - `GET /local` works ``ChainSettings/localWork`` without any dependency.
///
/// The workers are the resource both routes share: when calls to A stall, requests to `/a` hold them and `/local`
/// waits behind them. The `unprotected` arm calls A with AsyncHTTPClient's defaults (8 connections) and no
/// timeout. The `spillway` arm adds `addSpillway()` in front of both routes, and calls A through a
/// ``ResilientHTTPClient`` with its defaults (breaker per host, retry budget, the remaining deadline sent to A)
/// behind a bulkhead: at most ``ChainSettings/bulkhead`` requests call A at once, others are refused at once (`503`
/// with `Retry-After`), so the other workers stay with `/local`. The `spillway-per-route` arm is the same with one
/// default `SpillwayMiddleware` per route group (`/a`, `/local`) instead of `addSpillway()` for the whole router, so
/// that A's latency is learned only by the gate of the routes that depend on A.
final class ChainServiceB: Sendable {
    static let dependentPath = "/a"
    static let localPath = "/local"

    /// The loopback port it listens on.
    let port: Int
    private let server: LoopbackServer
    private let dependency: ChainDependency

    private init(server: LoopbackServer, dependency: ChainDependency) {
        self.port = server.port
        self.server = server
        self.dependency = dependency
    }

    /// Starts B on loopback `port` (`0`: a free one), calling A on `aPort`.
    static func start(
        arm: ChainArm,
        settings: ChainSettings,
        aPort: Int,
        port: Int
    ) async throws(LabError) -> ChainServiceB {
        var logger = Logger(label: "spillway.lab.chain.b")
        logger.logLevel = .critical
        let workers = ConcurrencyLimiter(
            configuration: .init(
                name: "chain-b-workers",
                algorithm: FixedLimit(settings.workers),
                queue: .init(maxLength: 1_000_000, timeout: nil, codel: nil),
                rejectsUnmeetableDeadlines: false
            )
        )
        let dependency = ChainDependency(arm: arm, settings: settings)
        let url = "http://127.0.0.1:\(aPort)\(DatabaseVictim.writePath)"
        let localWork = settings.localWork
        let router = Router()
        router.get("ping") { _, _ in Response(status: .ok) }
        if arm == .spillway { router.addSpillway() }
        let local = router.group(RouterPath(localPath))
        let dependent = router.group(RouterPath(dependentPath))
        if arm == .spillwayPerRoute {
            for (group, name) in [(local, "chain-b-local"), (dependent, "chain-b-a")] {
                var configuration = SpillwayConfiguration()
                configuration.limiter.name = name
                group.add(middleware: SpillwayMiddleware(configuration))
            }
        }
        local.get { _, _ -> Response in
            // A thread's work: the worker is held, not given back while waiting (no deadline: threads do not know it).
            try await workers.withPermit(deadline: nil) { try await Task.sleep(for: localWork) }
            return Response(status: .ok)
        }
        dependent.get { [logger] _, _ -> Response in
            let status = try await workers.withPermit(deadline: nil) {
                try await dependency.call(url, logger: logger)
            }
            return Response(status: status)
        }
        do {
            let server = try await LoopbackServer.start(router: router, port: port, name: "service B", logger: logger)
            return ChainServiceB(server: server, dependency: dependency)
        } catch {
            await dependency.shutdown()
            throw error
        }
    }

    /// Stops the server (gracefully: handlers finish; cancelled after two seconds otherwise), then the client.
    func stop() async {
        await server.stop()
        await dependency.shutdown()
    }
}

/// How B calls A in each arm.
enum ChainDependency: Sendable {
    /// AsyncHTTPClient with its default configuration (8 connections per host, requests beyond wait in its queue)
    /// and no timeout: B waits for A as long as A takes.
    case plain(HTTPClient)
    /// Spillway's client with its defaults behind a bulkhead of a fixed number of concurrent calls.
    case resilient(ResilientHTTPClient, bulkhead: ConcurrencyLimiter)

    init(arm: ChainArm, settings: ChainSettings) {
        switch arm {
        case .unprotected:
            self = .plain(HTTPClient(eventLoopGroupProvider: .singleton))
        case .spillway, .spillwayPerRoute:
            let bulkhead = ConcurrencyLimiter(
                configuration: .init(
                    name: "chain-b-to-a",
                    algorithm: FixedLimit(settings.bulkhead),
                    queue: .init(maxLength: 0)
                )
            )
            self = .resilient(ResilientHTTPClient(configuration: .init(name: "chain-b")), bulkhead: bulkhead)
        }
    }

    /// Calls A and returns the status B answers with: A's own, `502` when A could not be reached or answered
    /// nothing, `503` when B's circuit breaker is open, `504` when the caller's deadline passed. Throws the
    /// bulkhead's `AdmissionRejection` (`503` with `Retry-After`) when it is full.
    func call(_ url: String, logger: Logger) async throws -> HTTPResponse.Status {
        switch self {
        case .plain(let client):
            do {
                let response = try await client.execute(HTTPClientRequest(url: url), timeout: .hours(1), logger: logger)
                _ = try await response.body.collect(upTo: 1 << 20)
                return HTTPResponse.Status(code: Int(response.status.code))
            } catch {
                return .badGateway
            }
        case .resilient(let client, let bulkhead):
            let permit = try bulkhead.tryAcquire(deadline: nil)
            let status: HTTPResponse.Status
            do {
                let response = try await client.execute(HTTPClientRequest(url: url), logger: logger)
                status = HTTPResponse.Status(code: Int(response.status.code))
            } catch let error as ResilienceError where error.code == .circuitOpen || error.code == .throttled {
                status = .serviceUnavailable
            } catch let error as ResilienceError where error.code == .deadlineExceeded {
                status = .gatewayTimeout
            } catch {
                status = .badGateway
            }
            permit.release()
            return status
        }
    }

    func shutdown() async {
        switch self {
        case .plain(let client): try? await client.shutdown()
        case .resilient(let client, _): try? await client.shutdown()
        }
    }
}
