import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Testing

@Suite struct AdmissionMiddlewareTests {
    /// A limiter of `limit` permits with no queue, so the first request over the limit is refused at once.
    static func limiter(
        _ limit: Int = 1,
        samples: RecordingLimit.Samples = .init(),
        clock: any SpillwayClock = ContinuousClock()
    ) -> ConcurrencyLimiter {
        ConcurrencyLimiter(
            configuration: .init(
                name: "test",
                algorithm: RecordingLimit(limit, samples: samples),
                queue: .init(maxLength: 0)
            ),
            clock: clock
        )
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any])
    }

    @Test func admitsAndReleasesAfterTheBodyIsWritten() async throws {
        let limiter = Self.limiter()
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter))
        router.get("/hello") { _, _ in "hello" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/hello", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "hello")
            }
        }
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func rejectionCarriesReasonPriorityAndRoundedRetryAfter() async throws {
        let clock = ManualClock()
        let limiter = Self.limiter(clock: clock)
        let gate = Gate()
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter, clock: clock))
        router.get("/slow") { _, _ in
            await gate.wait()
            return "done"
        }
        try await Application(router: router).test(.router) { client in
            async let first = client.execute(uri: "/slow", method: .get) { $0.status }
            await gate.waitForArrivals(1)
            clock.advance(by: .milliseconds(2500))
            gate.open()
            let status = try await first
            #expect(status == .ok)
        }
        // The gate is open now; hold the only permit from outside to force a refusal.
        let permit = try limiter.tryAcquire()
        try await Application(router: router).test(.router) { client in
            try await client.execute(
                uri: "/slow",
                method: .get,
                headers: [PriorityPolicy.defaultHeaderName: "sheddable"]
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "3")
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let body = try Self.json(response.body)
                #expect(body["error"] as? String == "overloaded")
                #expect(body["reason"] as? String == "queue_full")
                #expect(body["priority"] as? String == "sheddable")
                #expect(body["retry_after_s"] as? Int == 3)
            }
        }
        permit.release()
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func priorityComesFromRouteThenCappedHeaderThenDefault() async throws {
        let limiter = Self.limiter()
        let held = try limiter.tryAcquire()
        var policy = PriorityPolicy(defaultPriority: .sheddablePlus)
        policy.routes = ["reports/:id": .sheddable, "/checkout": .criticalPlus]
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter, priority: policy))
        router.get("/reports/:id") { _, _ in "report" }
        router.get("/checkout") { _, _ in "checkout" }
        router.get("/other") { _, _ in "other" }
        let cases: [(String, String?, String)] = [
            ("/reports/7", "critical", "sheddable"),
            ("/checkout", "sheddable", "critical_plus"),
            ("/other", "CRITICAL-PLUS", "critical"),
            ("/other", "sheddable", "sheddable"),
            ("/other", "nonsense", "sheddable_plus"),
            ("/other", nil, "sheddable_plus"),
        ]
        try await Application(router: router).test(.router) { client in
            for (uri, header, expected) in cases {
                var headers = HTTPFields()
                if let header { headers[PriorityPolicy.defaultHeaderName] = header }
                try await client.execute(uri: uri, method: .get, headers: headers) { response in
                    #expect(response.status == .serviceUnavailable)
                    let body = try Self.json(response.body)
                    #expect(body["priority"] as? String == expected, "\(uri) \(header ?? "-")")
                }
            }
        }
        held.release()
    }

    @Test func expiredDeadlineIsRefusedWith504AndNoRetryAfter() async throws {
        let clock = ManualClock()
        let limiter = Self.limiter(clock: clock)
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter, clock: clock))
        router.get("/work") { _, _ in "work" }
        try await Deadline.withDeadline(Deadline(clock.now)) {
            try await Application(router: router).test(.router) { client in
                try await client.execute(uri: "/work", method: .get) { response in
                    #expect(response.status == .gatewayTimeout)
                    #expect(response.headers[.retryAfter] == nil)
                    let body = try Self.json(response.body)
                    #expect(body["error"] as? String == "deadline_exceeded")
                    #expect(body["reason"] as? String == "deadline")
                }
            }
        }
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func streamedBodyHoldsThePermitUntilTheLastByte() async throws {
        let limiter = Self.limiter(4)
        let gate = Gate()
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter))
        router.get("/stream") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "a"))
                    await gate.wait()
                    try await writer.write(ByteBuffer(string: "b"))
                    try await writer.finish(nil)
                }
            )
        }
        try await Application(router: router).test(.router) { client in
            async let response = client.execute(uri: "/stream", method: .get) { String(buffer: $0.body) }
            await gate.waitForArrivals(1)
            #expect(limiter.snapshot.inflight == 1)
            gate.open()
            let text = try await response
            #expect(text == "ab")
        }
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func releasesWhenTheBodyWriteFails() async throws {
        struct WriteFailed: Error {}
        let samples = RecordingLimit.Samples()
        let limiter = Self.limiter(4, samples: samples)
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter))
        router.get("/broken") { _, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: "partial"))
                    throw WriteFailed()
                }
            )
        }
        try await Application(router: router).test(.router) { client in
            await #expect(throws: (any Error).self) {
                try await client.execute(uri: "/broken", method: .get) { _ in }
            }
        }
        #expect(limiter.snapshot.inflight == 0)
        #expect(samples.all.isEmpty, "a failed write is ignored, not a latency sample")
    }

    @Test func releasesWhenAnOuterMiddlewareDropsTheResponse() async throws {
        struct Replace<Context: RequestContext>: RouterMiddleware {
            func handle(
                _ request: Request,
                context: Context,
                next: (Request, Context) async throws -> Response
            ) async throws -> Response {
                _ = try await next(request, context)
                return Response(status: .accepted)
            }
        }
        let samples = RecordingLimit.Samples()
        let limiter = Self.limiter(4, samples: samples)
        let router = Router()
        router.add(middleware: Replace())
        router.add(middleware: AdmissionMiddleware(limiter: limiter))
        router.get("/dropped") { _, _ in "never written" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/dropped", method: .get) { #expect($0.status == .accepted) }
        }
        #expect(limiter.snapshot.inflight == 0)
        #expect(samples.all.map(\.didDrop) == [false], "the handler's success still counts once")
    }

    @Test func releasesWhenTheHandlerThrowsOrIsCancelled() async throws {
        struct Boom: Error {}
        let limiter = Self.limiter(4)
        let gate = Gate()
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter))
        router.get("/throws") { _, _ -> String in throw Boom() }
        router.get("/cancelled") { _, _ -> String in
            await gate.wait()
            try Task.checkCancellation()
            return "not cancelled"
        }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/throws", method: .get) { #expect($0.status == .internalServerError) }
            let task = Task { try await client.execute(uri: "/cancelled", method: .get) { $0.status } }
            await gate.waitForArrivals(1)
            #expect(limiter.snapshot.inflight == 1)
            task.cancel()
            gate.open()
            _ = try? await task.value
        }
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func outcomesFeedTheAlgorithm() async throws {
        let samples = RecordingLimit.Samples()
        let clock = ManualClock()
        let limiter = Self.limiter(4, samples: samples, clock: clock)
        let router = Router()
        router.add(middleware: AdmissionMiddleware(limiter: limiter, clock: clock))
        router.get("/ok") { _, _ in "ok" }
        router.get("/unavailable") { _, _ -> Response in Response(status: .serviceUnavailable) }
        router.get("/bad") { _, _ -> String in throw HTTPError(.badRequest) }
        router.get("/bug") { _, _ -> Response in Response(status: .internalServerError) }
        router.get("/late") { _, _ -> String in
            clock.advance(by: .seconds(2))
            return "late"
        }
        try await Application(router: router).test(.router) { client in
            for uri in ["/ok", "/unavailable", "/bad", "/bug"] {
                try await client.execute(uri: uri, method: .get) { _ in }
            }
            try await Deadline.withDeadline(Deadline(clock.now.advanced(by: .seconds(1)))) {
                try await client.execute(uri: "/late", method: .get) { #expect($0.status == .ok) }
            }
        }
        // ok → success, 503 → dropped, 400 and 500 → ignored, success past its deadline → dropped.
        #expect(samples.all.map(\.didDrop) == [false, true, true])
        #expect(limiter.snapshot.inflight == 0)
    }

    @Test func retryAfterIsWholeSecondsRoundedUpAtLeastOne() {
        #expect(SpillwayHTTPError.retryAfterSeconds(.zero) == 1)
        #expect(SpillwayHTTPError.retryAfterSeconds(.milliseconds(200)) == 1)
        #expect(SpillwayHTTPError.retryAfterSeconds(.seconds(1)) == 1)
        #expect(SpillwayHTTPError.retryAfterSeconds(.milliseconds(1001)) == 2)
        #expect(SpillwayHTTPError.retryAfterSeconds(.milliseconds(2500)) == 3)
        #expect(SpillwayHTTPError.retryAfterSeconds(.seconds(1_000_000)) == 86_400)
    }
}
