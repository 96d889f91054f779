import AsyncHTTPClient
import Hummingbird
import NIOCore
import Spillway
import SpillwayHTTPClient
import SpillwayTestSupport
import Synchronization
import Testing

/// What a client gets with no configuration: every attempt is bounded in time, and a request body is sent again
/// only when it can be replayed.
@Suite(.timeLimit(.minutes(2))) struct RequestSafetyTests {
    private func router(_ log: ServerLog, hang: Gate, bodies: BodyLog) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("hang") { request, _ -> Response in
            log.record("hang", request)
            await hang.wait()
            return Response(status: .ok)
        }
        router.put("flaky") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            bodies.append(body.readableBytes)
            return log.record("flaky", request) == 1 ? Response(status: .serviceUnavailable) : Response(status: .ok)
        }
        return router
    }

    @Test func byDefaultAnAttemptThatNeverAnswersIsBounded() async throws {
        let defaults = ResilientHTTPClient.Configuration()
        #expect(defaults.attemptTimeout == .seconds(10))
        #expect(defaults.timeout == .seconds(30))
        let log = ServerLog()
        let hang = Gate()
        let clock = ManualClock()
        try await withLiveServer(router(log, hang: hang, bodies: BodyLog())) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, clock: clock)
                let call = Task { try await client.execute(HTTPClientRequest(url: "\(url)/hang")) }
                // The total timeout and the attempt timeout wait on the clock; without defaults nothing would.
                let bounded = await eventually("timeouts armed", timeout: .seconds(5)) { clock.sleeperCount >= 2 }
                if bounded {
                    // Three attempts of 10 s each (the third cut short by the total of 30 s), 1 s of backoff between.
                    for attempt in 1...3 {
                        await eventually("attempt \(attempt) reached the server") { log.count("hang") == attempt }
                        clock.advance(by: .seconds(10))
                        guard attempt < 3 else { break }
                        await eventually("the backoff before attempt \(attempt + 1)") { clock.sleeperCount >= 2 }
                        clock.advance(by: .seconds(1))
                    }
                } else {
                    call.cancel()
                }
                await #expect { try await call.value } throws: { ($0 as? ResilienceError)?.code == .timedOut }
                // The server's handlers are still waiting: let them finish, so that the server can stop.
                hang.open()
            }
        }
    }

    @Test func aStreamedBodyIsSentOnceAndNeverRetried() async throws {
        let log = ServerLog()
        let bodies = BodyLog()
        try await withLiveServer(router(log, hang: Gate(), bodies: bodies)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: .init(name: "stream"))
                var request = HTTPClientRequest(url: "\(url)/flaky")
                request.method = .PUT
                let chunks = [ByteBuffer(string: "hello, "), ByteBuffer(string: "world")]
                request.body = .stream(chunks.async, length: .known(Int64(12)))
                let response = try await client.execute(request)
                #expect(response.status == .serviceUnavailable)
            }
        }
        #expect(log.count("flaky") == 1)
        #expect(bodies.sizes == [12])
    }

    @Test func aBodyInMemoryIsRetriedWhole() async throws {
        let log = ServerLog()
        let bodies = BodyLog()
        try await withLiveServer(router(log, hang: Gate(), bodies: bodies)) { url in
            try await withHTTPClient { http in
                let client = ResilientHTTPClient(httpClient: http, configuration: .init(name: "bytes"))
                let bodies: [HTTPClientRequest.Body] = [
                    .bytes(ByteBuffer(string: "hello, world")), .bytes(Array("hello, world".utf8)),
                ]
                for body in bodies {
                    var request = HTTPClientRequest(url: "\(url)/flaky")
                    request.method = .PUT
                    request.body = body
                    let response = try await client.execute(request)
                    #expect(response.status == .ok)
                }
            }
        }
        #expect(log.count("flaky") == 3)
        #expect(bodies.sizes == [12, 12, 12])
    }
}

/// The body sizes a server received, in order.
final class BodyLog: Sendable {
    private let storage = Mutex<[Int]>([])
    func append(_ size: Int) { storage.withLock { $0.append(size) } }
    var sizes: [Int] { storage.withLock { $0 } }
}

extension Array where Element: Sendable {
    /// The elements as an async sequence that can be iterated only once, like a stream read from a socket.
    var async: AsyncStream<Element> {
        let (stream, continuation) = AsyncStream.makeStream(of: Element.self)
        for element in self { continuation.yield(element) }
        continuation.finish()
        return stream
    }
}
