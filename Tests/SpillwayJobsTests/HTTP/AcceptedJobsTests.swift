import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Spillway
import Testing

@testable import SpillwayJobs
@testable import SpillwayJobsHummingbird

/// The 202 pattern: accept, locate, poll, and refuse with 503 when the backlog cannot start work in time.
@Suite(.timeLimit(.minutes(1)))
struct AcceptedJobsTests {
    private static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    private static func router(_ accepted: AcceptedJobs) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/greetings/:name") { request, context in
            let name = context.parameters.get("name") ?? ""
            let key = request.headers[.init("idempotency-key")!]
            return try await accepted.accept(Greeting(name: name), options: .init(idempotencyKey: key))
        }
        router.addJobStatusRoute(store: accepted.store)
        return router
    }

    @Test(arguments: Backend.allCases)
    func acceptedJobAnswers202WithItsLocationAndItsStatusCanBePolled(_ backend: Backend) async throws {
        try await TestStores.withStore(backend, clock: ContinuousClock()) { store in
            let accepted = AcceptedJobs(store: store)
            try await Application(router: Self.router(accepted)).test(.router) { client in
                let location = try await client.execute(uri: "/greetings/ada", method: .post) { response in
                    #expect(response.status == .accepted)
                    let body = try Self.json(response.body)
                    #expect(body["status"] as? String == response.headers[.location])
                    return try #require(response.headers[.location])
                }
                #expect(location.hasPrefix("/jobs/"))
                try await client.execute(uri: location, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.retryAfter] == "1", "a polling hint while the job is unfinished")
                    let body = try Self.json(response.body)
                    #expect(body["state"] as? String == "ready")
                    #expect(body["kind"] as? String == "greeting")
                    #expect(body["max_attempts"] as? Int == JobOptions.defaultMaxAttempts)
                }
                try await client.execute(uri: "/jobs/999999", method: .get) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/jobs/abc", method: .get) { #expect($0.status == .badRequest) }
            }
        }
    }

    @Test func repeatedRequestWithTheSameIdempotencyKeyLocatesTheSameJob() async throws {
        try await TestStores.withStore(.sqlite, clock: ContinuousClock()) { store in
            let accepted = AcceptedJobs(store: store)
            try await Application(router: Self.router(accepted)).test(.router) { client in
                var locations: [String] = []
                for _ in 0..<2 {
                    try await client.execute(
                        uri: "/greetings/ada",
                        method: .post,
                        headers: [.init("idempotency-key")!: "greet-ada"]
                    ) { response in
                        #expect(response.status == .accepted)
                        locations.append(response.headers[.location] ?? "")
                    }
                }
                #expect(locations[0] == locations[1])
            }
            #expect(try await store.jobs().count == 1)
        }
    }

    @Test func oldBacklogIsRefusedWith503AndRetryAfter() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let accepted = AcceptedJobs(
                store: store,
                admission: .init(maximumWait: .seconds(30), refreshInterval: .milliseconds(100)),
                clock: clock
            )
            for index in 0..<3 { try await store.enqueue(Greeting(name: "old \(index)")) }
            clock.advance(by: .seconds(45))
            try await Application(router: Self.router(accepted)).test(.router) { client in
                try await client.execute(uri: "/greetings/late", method: .post) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.headers[.retryAfter] == "15", "the oldest job is 15 s past the bound")
                    let body = try Self.json(response.body)
                    #expect(body["error"] as? String == "backlog")
                    #expect(body["reason"] as? String == "age")
                    #expect(body["ready"] as? Int == 3)
                }
            }
            #expect(try await store.jobs().count == 3, "the refused request enqueued nothing")
        }
    }

    @Test func admissionDecidesOnDepthExpectedWaitAndAge() throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let admission = BacklogAdmission(
            store: try JobStore(sqlitePath: path),
            configuration: .init(maximumWait: .seconds(60), maximumDepth: 1000)
        )
        typealias Reading = BacklogAdmission.Reading
        #expect(admission.decide(Reading(ready: 0, oldestAge: nil, completionsPerSecond: 0)) == nil)
        #expect(admission.decide(Reading(ready: 10, oldestAge: .seconds(5), completionsPerSecond: 0)) == nil)
        let wait = admission.decide(Reading(ready: 900, oldestAge: .seconds(5), completionsPerSecond: 10))
        #expect(wait?.reason == .expectedWait, "900 jobs at 10/s wait 90 s")
        #expect(wait?.retryAfter == .seconds(30))
        let depth = admission.decide(Reading(ready: 1500, oldestAge: .seconds(1), completionsPerSecond: 100))
        #expect(depth?.reason == .depth)
        #expect(depth?.retryAfter == .seconds(5), "500 excess jobs at 100/s")
        let age = admission.decide(Reading(ready: 2, oldestAge: .seconds(200), completionsPerSecond: 1))
        #expect(age?.reason == .age)
        #expect(age?.retryAfter == .seconds(60), "capped at the range's upper bound")
    }

    @Test func unreadableStoreFailsOpen() async throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let store = try JobStore(sqlitePath: path)
        let admission = BacklogAdmission(store: store)
        try await store.close()
        #expect(await admission.reading() == nil)
        try await admission.check()
    }
}
