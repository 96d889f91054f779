import AsyncHTTPClient
import Hummingbird
import Spillway
import SpillwayHTTPClient
import Synchronization
import Testing

/// Three stacked layers of retries against a dependency that always fails: caller → service B → service A →
/// dependency, every hop a real HTTP call on loopback through a `ResilientHTTPClient` with 3 attempts.
///
/// Naive retries multiply: 3 × 3 × 3 = 27 attempts reach the dependency per logical request. With a 20 % retry
/// budget per client, each layer adds at most 20 % (plus its small floor), so the dependency sees at most
/// ≈ 1.2³ ≈ 1.73 attempts per request.
@Suite(.timeLimit(.minutes(3))) struct AmplificationTests {
    struct Figures: CustomStringConvertible {
        var requests: Int
        var dependencyAttempts: Int
        var perRequest: Double { Double(dependencyAttempts) / Double(requests) }
        var description: String {
            "\(dependencyAttempts) dependency attempts for \(requests) requests = \(perRequest) per request"
        }
    }

    /// Sends `requests` calls through three layers whose clients use `budget`, and counts what reaches the
    /// dependency.
    private func measure(requests: Int, budget: RetryBudget.Configuration?) async throws -> Figures {
        let dependencyHits = Mutex(0)
        let dependency = Router()
        dependency.get("work") { _, _ -> Response in
            dependencyHits.withLock { $0 += 1 }
            return Response(status: .serviceUnavailable)
        }
        let configuration = ResilientHTTPClient.Configuration(
            name: "layer",
            retry: RetryPolicy(
                maxAttempts: 3,
                backoff: Backoff(jitter: .full, base: .milliseconds(1), cap: .milliseconds(5))
            ),
            retryBudget: budget,
            circuitBreaker: nil
        )
        return try await withHTTPClient { http in
            /// A service that does its work by calling `downstream` and answers 503 when that fails.
            func layer(calling downstream: String) -> Router<BasicRequestContext> {
                let client = ResilientHTTPClient(httpClient: http, configuration: configuration)
                let router = Router()
                router.get("work") { _, _ -> Response in
                    let response = try? await client.execute(HTTPClientRequest(url: downstream))
                    return Response(status: response?.status == .ok ? .ok : .serviceUnavailable)
                }
                return router
            }
            return try await withLiveServer(dependency) { dependencyURL in
                try await withLiveServer(layer(calling: "\(dependencyURL)/work")) { serviceA in
                    try await withLiveServer(layer(calling: "\(serviceA)/work")) { serviceB in
                        let caller = ResilientHTTPClient(httpClient: http, configuration: configuration)
                        for _ in 0..<requests {
                            let response = try await caller.execute(HTTPClientRequest(url: "\(serviceB)/work"))
                            #expect(response.status == .serviceUnavailable)
                        }
                        return Figures(requests: requests, dependencyAttempts: dependencyHits.withLock { $0 })
                    }
                }
            }
        }
    }

    @Test func budgetedRetriesDoNotMultiplyAcrossLayers() async throws {
        let naive = try await measure(requests: 20, budget: nil)
        let budget = RetryBudget.Configuration.finagle(ttl: .seconds(10), minRetriesPerSecond: 1, percentCanRetry: 0.2)
        let budgeted = try await measure(requests: 200, budget: budget)
        let withoutFloor = try await measure(
            requests: 200,
            budget: .finagle(ttl: .seconds(10), minRetriesPerSecond: 0, percentCanRetry: 0.2)
        )
        print(
            "amplification, 3 layers × 3 attempts: naive \(naive); budgeted (20 %, floor 10/layer) \(budgeted); "
                + "budgeted (20 %, no floor) \(withoutFloor)"
        )
        #expect(naive.dependencyAttempts == 27 * naive.requests)
        // Each layer: attempts ≤ 1.2 × its requests + 10, so the dependency sees ≤ 1.728·N + 36.4.
        let bound = 1.728 * Double(budgeted.requests) + 36.4
        #expect(Double(budgeted.dependencyAttempts) <= bound)
        #expect(budgeted.perRequest < 2)
        #expect(withoutFloor.perRequest <= 1.728)
    }
}
