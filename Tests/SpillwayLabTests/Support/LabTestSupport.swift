import Foundation
import Hummingbird
import HummingbirdTesting
import Spillway
import SpillwayTestSupport
import Testing

@testable import SpillwayLab

/// A plan against `127.0.0.1:port` with one stream.
func plan(
    port: Int,
    path: String,
    rate: Double,
    duration: Duration,
    arrivals: ArrivalProcess = .constant,
    deadline: Duration = .seconds(2),
    retry: RetryBehaviour = .none
) throws -> LoadPlan {
    try LoadPlan(
        target: try TargetAddress(host: "127.0.0.1", port: port),
        profile: .constant(rate, duration: duration),
        arrivals: arrivals,
        streams: [TrafficStream(name: "test", request: RequestTemplate(path: path), deadline: deadline, retry: retry)]
    )
}

/// Runs `body` with a live Hummingbird server whose `/status/{code}` route answers with that status (and with
/// `Retry-After` when the query has `retry-after=SECONDS`).
func withStatusServer(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    let router = Router()
    router.get("status/:code") { request, context -> Response in
        let code = context.parameters.get("code", as: Int.self) ?? 500
        if let after = request.uri.queryParameters.get("retry-after") {
            return Response(status: .init(code: code), headers: [.retryAfter: after])
        }
        return Response(status: .init(code: code))
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await app.test(.live) { client in
        let port = try #require(client.port)
        try await body(port)
    }
}

/// Fails with a message naming `scripts/test` when `binary` is not installed.
func requireBinary(_ binary: String) throws {
    guard PeerProcess.locate(binary) != nil else {
        Issue.record("\(binary) is not installed; run scripts/test (it installs haproxy, nginx-light and wrk)")
        throw LabError(.peerUnavailable, "\(binary) missing")
    }
}

/// An in-process victim of `slots` slots × `serviceTime`, started on a free loopback port. Stop it when done
/// (`defer { Task { await victim.stop() } }`).
func startVictim(slots: Int = 20, serviceTime: Duration = .milliseconds(20)) async throws -> Victim {
    try await Victim.start(configuration: try VictimConfiguration(slots: slots, serviceTime: serviceTime))
}
