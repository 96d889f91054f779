import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MetricsTestKit
import NIOCore
import Spillway
import SpillwayHummingbird
import SpillwayTestSupport
import Synchronization
import Testing

/// An outbound channel handler, added to every connection of a live server, that counts flushes and, while
/// closed, holds every write and flush, as a socket whose peer has not read yet would: what it holds has been handed
/// to the channel but not written.
final class WriteValve: Sendable {
    private struct State {
        var isOpen: Bool
        var flushes = 0
        var whenOpen: [@Sendable () -> Void] = []
    }

    private let state: Mutex<State>

    init(isOpen: Bool) {
        state = Mutex(State(isOpen: isOpen))
    }

    /// Flushes seen so far, on every connection.
    var flushes: Int { state.withLock { $0.flushes } }

    /// Lets every held write through, and every later one.
    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.whenOpen = [] }
            return state.whenOpen
        }
        for release in waiting { release() }
    }

    /// The channel handler to add to every connection (`HTTP1Channel.Configuration.additionalChannelHandlers`).
    func handler() -> any RemovableChannelHandler {
        Handler(valve: self)
    }

    /// Counts a flush; runs `release` now if the valve is open, else when it opens. Returns whether it was open.
    fileprivate func flush(release: @escaping @Sendable () -> Void) -> Bool {
        state.withLock { state in
            state.flushes += 1
            if !state.isOpen { state.whenOpen.append(release) }
            return state.isOpen
        }
    }

    fileprivate var isOpen: Bool { state.withLock { $0.isOpen } }

    private final class Handler: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = NIOAny
        typealias OutboundOut = NIOAny

        let valve: WriteValve
        private var held: [(NIOAny, EventLoopPromise<Void>?)] = []

        init(valve: WriteValve) {
            self.valve = valve
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if held.isEmpty, valve.isOpen {
                context.write(data, promise: promise)
            } else {
                held.append((data, promise))
            }
        }

        func flush(context: ChannelHandlerContext) {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            let isOpen = valve.flush {
                eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.forward(context)
                }
            }
            if isOpen { forward(context) }
        }

        private func forward(_ context: ChannelHandlerContext) {
            let writes = held
            held = []
            for (data, promise) in writes { context.write(data, promise: promise) }
            context.flush()
        }
    }
}

/// The last value of Spillway's in-flight gauge, or -1 before it was first set.
func inflight(_ metrics: TestMetrics) -> Double {
    (try? metrics.expectMeter("spillway_http_inflight_requests").lastValue) ?? -1
}

@Suite(.serialized, .timeLimit(.minutes(1))) struct ResponseWriteTests {
    /// Spillway's cost on a trivial route was mostly Hummingbird writing a closure body in three flushes instead of
    /// one: a body that holds the permit must keep the single batched write.
    @Test func aSingleBufferBodyIsStillOneBatchedWrite() async throws {
        let valve = WriteValve(isOpen: true)
        let router = Router()
        router.get("/bare") { _, _ in "hello" }
        router.get("/bare-empty") { _, _ in Response(status: .noContent) }
        router.addSpillway(SpillwayConfiguration(metrics: .init(factory: TestMetrics())))
        router.get("/hello") { _, _ in "hello" }
        router.get("/empty") { _, _ in Response(status: .noContent) }
        router.get("/large") { _, _ in String(repeating: "x", count: 100_000) }
        try await Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [valve.handler()]))
        ).test(.live) { client in
            func flushes(_ uri: String) async throws -> Int {
                let before = valve.flushes
                try await client.execute(uri: uri, method: .get) { #expect($0.status.code < 300) }
                return valve.flushes - before
            }
            _ = try await flushes("/bare")  // the connection's first request
            let bare = try await flushes("/bare")
            let hello = try await flushes("/hello")
            let bareEmpty = try await flushes("/bare-empty")
            let empty = try await flushes("/empty")
            let large = try await flushes("/large")
            #expect(bare == 1)
            #expect(hello == bare)
            #expect(bareEmpty == bare)
            #expect(empty == bare)
            // Above 64 KiB the body is not copied: it is written through a closure, in several writes.
            #expect(large > bare)
        }
    }

    /// "Released after the body is written" means after the channel wrote it, not when the handler returned or the
    /// response was queued: while the connection holds the bytes, the permit and the in-flight gauge stay taken.
    @Test func thePermitIsHeldUntilTheChannelHasWrittenTheBody() async throws {
        let valve = WriteValve(isOpen: false)
        let metrics = TestMetrics()
        let router = Router()
        let spillway = router.addSpillway(
            SpillwayConfiguration(limiter: .init(name: "t", algorithm: FixedLimit(4)), metrics: .init(factory: metrics))
        )
        router.get("/hello") { _, _ in "hello" }
        let limiter = try #require(spillway.limiter)
        try await Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [valve.handler()]))
        ).test(.live) { client in
            async let response = client.execute(uri: "/hello", method: .get) { String(buffer: $0.body) }
            let reachedTheChannel = await eventually { valve.flushes >= 1 }
            #expect(reachedTheChannel)
            #expect(limiter.snapshot.inflight == 1, "held while the channel holds the body")
            #expect(inflight(metrics) == 1)
            valve.open()
            let text = try await response
            #expect(text == "hello")
            let released = await eventually { limiter.snapshot.inflight == 0 && inflight(metrics) == 0 }
            #expect(released)
        }
        #expect(GoodputMetricsTests.requests(metrics, route: "/hello", status: 200, outcome: "success") == 1)
    }

    /// Stacked single-purpose middlewares each attach a completion to the same body; every one of them finishes
    /// only after the write, the innermost last.
    @Test func stackedMiddlewaresAllFinishAfterTheWrite() async throws {
        let valve = WriteValve(isOpen: false)
        let metrics = TestMetrics()
        let limiter = ConcurrencyLimiter(configuration: .init(name: "t", algorithm: FixedLimit(4)))
        let router = Router()
        router.add(middleware: GoodputMetricsMiddleware(configuration: .init(factory: metrics)))
        router.add(middleware: DeadlineMiddleware())
        router.add(middleware: AdmissionMiddleware(limiter: limiter))
        router.get("/hello") { _, _ in "hello" }
        try await Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [valve.handler()]))
        ).test(.live) { client in
            async let response = client.execute(uri: "/hello", method: .get) { String(buffer: $0.body) }
            let reachedTheChannel = await eventually { valve.flushes >= 1 }
            #expect(reachedTheChannel)
            #expect(limiter.snapshot.inflight == 1)
            #expect(inflight(metrics) == 1)
            valve.open()
            let text = try await response
            #expect(text == "hello")
            let released = await eventually { limiter.snapshot.inflight == 0 && inflight(metrics) == 0 }
            #expect(released)
        }
    }

    /// Bodies of every size and kind arrive intact, and the permit comes back after each.
    @Test func everyBodyKindArrivesIntactAndReleases() async throws {
        let limiter = ConcurrencyLimiter(configuration: .init(name: "t", algorithm: FixedLimit(4)))
        let router = Router()
        router.addSpillway(SpillwayConfiguration(metrics: nil), limiter: limiter)
        let sizes = [0, 1, 13, 4096, 65_536, 65_537, 300_000]
        let pattern = (0..<sizes.max()!).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        router.get("/bytes/:count") { _, context -> Response in
            let count = try context.parameters.require("count", as: Int.self)
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: pattern[..<count])))
        }
        router.get("/sliced") { _, _ -> Response in
            // A buffer whose readable bytes start after discarded ones.
            var buffer = ByteBuffer(string: "discarded|kept")
            buffer.moveReaderIndex(forwardBy: 10)
            return Response(status: .ok, body: ResponseBody(byteBuffer: buffer))
        }
        try await Application(router: router).test(.live) { client in
            for count in sizes {
                let body = try await client.execute(uri: "/bytes/\(count)", method: .get) { $0.body }
                #expect(body.readableBytesView.elementsEqual(pattern[..<count]), "\(count) bytes")
                let released = await eventually { limiter.snapshot.inflight == 0 }
                #expect(released, "\(count) bytes")
            }
            let sliced = try await client.execute(uri: "/sliced", method: .get) { String(buffer: $0.body) }
            #expect(sliced == "kept")
            let released = await eventually { limiter.snapshot.inflight == 0 }
            #expect(released)
        }
    }
}
