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

    /// Defect: `grpc-timeout` skipped the maximum `x-request-timeout-ms` enforces, and no maximum applied by default.
    @Test func everyBudgetIsCappedAtTheMaximumByDefault() async throws {
        let clock = ManualClock()
        let app = Self.app(clock: clock)
        let grpc = HTTPField.Name("grpc-timeout")!
        #expect(DeadlineConfiguration().maximumTimeout == .seconds(60))
        #expect(try await Self.budget(app, [grpc: "100000S"]) == "60000")
        #expect(try await Self.budget(app, [grpc: "5H"]) == "60000")
        #expect(try await Self.budget(app, [DeadlineConfiguration.defaultHeader: "900000"]) == "60000")
        // Beyond what either parser accepts (about 11.6 days) a value is malformed, in both headers alike.
        #expect(try await Self.budget(app, [grpc: "99999999H"]) == "none")
        #expect(try await Self.budget(app, [DeadlineConfiguration.defaultHeader: "9999999999"]) == "none")
        let uncapped = Self.app(.init(maximumTimeout: nil), clock: clock)
        #expect(try await Self.budget(uncapped, [grpc: "99999999H"]) == "none")
        #expect(try await Self.budget(uncapped, [grpc: "200H"]) == "720000000")
    }

    /// Defect: a budget of a nanosecond was admitted and ran, though no work can finish in it.
    @Test func budgetsUnderTheMinimumAreRefusedAsExpired() async throws {
        let clock = ManualClock()
        let grpc = HTTPField.Name("grpc-timeout")!
        let cases: [(HTTPField.Name, String, HTTPResponse.Status)] = [
            (grpc, "1n", .gatewayTimeout),
            (grpc, "999u", .gatewayTimeout),
            (grpc, "999999n", .gatewayTimeout),
            (grpc, "1m", .ok),
            (DeadlineConfiguration.defaultHeader, "0", .gatewayTimeout),
            (DeadlineConfiguration.defaultHeader, "1", .ok),
        ]
        for (name, value, expected) in cases {
            try await Self.app(clock: clock).test(.router) { client in
                try await client.execute(uri: "/budget", method: .get, headers: [name: value]) { response in
                    #expect(response.status == expected, "\(name): \(value)")
                }
            }
        }
        let strict = Self.app(.init(minimumTimeout: .milliseconds(50)), clock: clock)
        try await strict.test(.router) { client in
            try await client.execute(uri: "/budget", method: .get, headers: [grpc: "49m"]) {
                #expect($0.status == .gatewayTimeout)
            }
            try await client.execute(uri: "/budget", method: .get, headers: [grpc: "50m"]) {
                #expect(String(buffer: $0.body) == "50")
            }
        }
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
