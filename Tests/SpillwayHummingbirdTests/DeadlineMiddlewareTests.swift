import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Testing

@Suite struct DeadlineMiddlewareTests {
    /// A router whose `/budget` route answers with the remaining budget in milliseconds (`none` without a deadline).
    static func app(
        _ configuration: DeadlineConfiguration = .init(),
        clock: ManualClock,
        called: Gate? = nil
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: DeadlineMiddleware(configuration: configuration, clock: clock))
        router.get("/budget") { _, _ -> String in
            guard let deadline = Deadline.current else { return "none" }
            return String(deadline.remaining(now: clock.now).nanoseconds / 1_000_000)
        }
        return Application(router: router)
    }

    static func budget(_ app: some ApplicationProtocol, _ headers: HTTPFields) async throws -> String {
        try await app.test(.router) { client in
            try await client.execute(uri: "/budget", method: .get, headers: headers) { response in
                #expect(response.status == .ok)
                return String(buffer: response.body)
            }
        }
    }

    @Test func readsMillisecondsAndGRPCTimeoutShorterWins() async throws {
        let clock = ManualClock()
        let app = Self.app(clock: clock)
        #expect(try await Self.budget(app, [DeadlineConfiguration.defaultHeader: "250"]) == "250")
        #expect(try await Self.budget(app, [HTTPField.Name("grpc-timeout")!: "2S"]) == "2000")
        #expect(
            try await Self.budget(
                app,
                [DeadlineConfiguration.defaultHeader: "900", HTTPField.Name("grpc-timeout")!: "300m"]
            ) == "300"
        )
        #expect(try await Self.budget(app, [:]) == "none")
    }

    @Test func malformedValuesAreIgnoredNeverA500() async throws {
        let clock = ManualClock()
        let app = Self.app(clock: clock)
        for value in ["abc", "-5", "1.5", "", "99999999999999"] {
            #expect(try await Self.budget(app, [DeadlineConfiguration.defaultHeader: value]) == "none", "\(value)")
        }
        #expect(try await Self.budget(app, [HTTPField.Name("grpc-timeout")!: "10X"]) == "none")
        // A malformed header does not hide a valid one.
        #expect(
            try await Self.budget(
                app,
                [DeadlineConfiguration.defaultHeader: "soon", HTTPField.Name("grpc-timeout")!: "40m"]
            ) == "40"
        )
    }

    @Test func defaultAndMaximumAndCustomHeader() async throws {
        let clock = ManualClock()
        let header = HTTPField.Name("x-budget")!
        let app = Self.app(
            .init(header: header, readsGRPCTimeout: false, defaultTimeout: .seconds(5), maximumTimeout: .seconds(10)),
            clock: clock
        )
        #expect(try await Self.budget(app, [:]) == "5000")
        #expect(try await Self.budget(app, [header: "700"]) == "700")
        #expect(try await Self.budget(app, [header: "60000"]) == "10000")
        #expect(try await Self.budget(app, [DeadlineConfiguration.defaultHeader: "700"]) == "5000")
        #expect(try await Self.budget(app, [HTTPField.Name("grpc-timeout")!: "1m"]) == "5000")
    }

    @Test func earlierOuterDeadlineWins() async throws {
        let clock = ManualClock()
        let app = Self.app(clock: clock)
        let text = try await Deadline.withDeadline(Deadline(clock.now.advanced(by: .milliseconds(100)))) {
            try await Self.budget(app, [DeadlineConfiguration.defaultHeader: "800"])
        }
        #expect(text == "100")
    }

    @Test func expiredBudgetIsRefusedWith504BeforeAnyWork() async throws {
        let clock = ManualClock()
        let calls = RecordingLimit.Samples()
        let limiter = ConcurrencyLimiter(
            configuration: .init(algorithm: RecordingLimit(4, samples: calls)),
            clock: clock
        )
        let router = Router()
        router.add(middleware: DeadlineMiddleware(clock: clock))
        router.add(middleware: AdmissionMiddleware(limiter: limiter, clock: clock))
        router.get("/work") { _, _ -> String in
            Issue.record("the handler must not run")
            return "ran"
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(
                uri: "/work",
                method: .get,
                headers: [DeadlineConfiguration.defaultHeader: "0"]
            ) { response in
                #expect(response.status == .gatewayTimeout)
                #expect(response.headers[.retryAfter] == nil)
                let body = try #require(
                    JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                )
                #expect(body["error"] as? String == "deadline_exceeded")
                #expect(body["reason"] as? String == "expired_on_arrival")
            }
        }
        #expect(calls.all.isEmpty)
        #expect(limiter.snapshot.inflight == 0)
    }
}
