import Foundation
import NIOCore
import NIOPosix
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayProxy

let proxyLoadTestsEnabled = ProcessInfo.processInfo.environment["SPILLWAY_LOAD_TESTS"] == "1"

/// 10⁵ bad requests through a live proxy: connections, file descriptors and memory must be as flat at the end as
/// after the warm-up. Real sockets, real time: gated by `SPILLWAY_LOAD_TESTS=1` (set by `scripts/test`), and run in
/// the release build.
@Suite(.enabled(if: proxyLoadTestsEnabled, "set SPILLWAY_LOAD_TESTS=1 (scripts/test does)"), .serialized)
struct ProxyRobustnessLoadTests {
    /// The bad requests, in rotation. Each is answered (and its connection closed) by the proxy, or abandoned by
    /// the client midway.
    static let requests: [(bytes: String, abort: Bool)] = [
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", false),
        ("GET /../etc HTTP/1.1\r\nHost: a\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Big: \(String(repeating: "x", count: 20_000))\r\n\r\n", false),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999\r\n\r\n", false),
        ("\u{16}\u{03}\u{01}garbage\r\n\r\n", false),
        ("GET /slow/5 HTTP/1.1\r\nHost: a\r\n\r\n", true),
        ("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nhalf", true),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-Partial", true),
    ]

    @Test(.timeLimit(.minutes(10)))
    func hundredThousandBadRequestsLeakNothing() async throws {
        let fixture = try await ProxyFixture.start { ports in
            // Idle upstream connections closed after 2 s: the pool keeps as many as the load used at once (up to
            // 1 024 a thread), which is not a leak; with the default 30 s, pooled connections opened after the
            // warm-up read 12 → 18 sockets at the end of a full run. Swept, only a leak stays.
            ProxyFixture.yaml(
                instances: ["127.0.0.1:\(ports[0])"],
                cluster: "    pool: {idle_timeout: 2s}",
                top: "limits: {max_header_bytes: 16KiB, max_body_bytes: 1MiB}"
            )
        }
        let total = 100_000
        let warmUp = 10_000
        let workers = 8
        let progress = Progress()

        func run(until target: Int) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<workers {
                    group.addTask {
                        while true {
                            let index = progress.sent.wrappingAdd(1, ordering: .relaxed).oldValue
                            guard index < target else { return }
                            let request = Self.requests[index % Self.requests.count]
                            if try await Self.exchange(request.bytes, abort: request.abort, port: fixture.port) {
                                progress.answered.wrappingAdd(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            progress.sent.store(target, ordering: .relaxed)
        }

        // Descriptors of this test's sockets only (those on the proxy's or the backend's port): the load suites
        // before it run in the same process, and their clients (a PostgreSQL pool reconnecting to a killed replica,
        // say) open descriptors of their own meanwhile. Counting every descriptor, the full load phase read 57 → 63
        // once (2026-12-05), where neither those nor the pool's idle connections could be told from a leak.
        let ports: Set<Int> = [fixture.port, fixture.backend.port]
        try await run(until: warmUp)
        try await settle(fixture)
        let baseline = Usage.now(ports: ports)
        // At least the two listening sockets: the count sees this test's sockets.
        #expect(baseline.fileDescriptors >= 2, "\(baseline.fileDescriptors) sockets on ports \(ports)")
        try await run(until: total)
        try await settle(fixture)
        // Sockets closed by this test finish closing on their own time: a leaked descriptor never comes back, a
        // closing one does.
        await eventually("descriptors back within 4 of the \(baseline.fileDescriptors) after warm-up") {
            Usage.now(ports: ports).fileDescriptors <= baseline.fileDescriptors + 4
        }
        let end = Usage.now(ports: ports)

        // Every non-aborted request got its answer.
        let expectedAnswers = (0..<total).filter { !Self.requests[$0 % Self.requests.count].abort }.count
        #expect(progress.answered.load(ordering: .relaxed) == expectedAnswers)
        #expect(fixture.proxy.openConnections == 0)
        #expect(
            end.residentBytes <= baseline.residentBytes + 24 << 20,
            "resident memory \(baseline.residentBytes >> 20) MiB → \(end.residentBytes >> 20) MiB"
        )
        #expect(try await get("/ok", port: fixture.port).status == 200)
        print(
            "proxy robustness: \(total) bad requests; descriptors \(baseline.fileDescriptors) → \(end.fileDescriptors); "
                + "resident \(baseline.residentBytes >> 20) → \(end.residentBytes >> 20) MiB"
        )
        await fixture.stop()
    }

    /// Waits for the proxy's connections and the upstream attempts to wind down.
    private func settle(_ fixture: ProxyFixture) async throws {
        let cluster = try #require(fixture.proxy.core.runtime.clusters["app"])
        await eventually(timeout: .seconds(20)) {
            fixture.proxy.openConnections == 0 && cluster.instances[0].inflight.load(ordering: .relaxed) == 0
        }
        // Upstream connections closed by aborted exchanges finish closing on the backend side.
        try await Task.sleep(for: .milliseconds(200))
    }

    /// One connection: sends `bytes`, then either waits for the proxy to answer and close (returns whether a status
    /// line came back) or closes at once.
    private static func exchange(_ bytes: String, abort: Bool, port: Int) async throws -> Bool {
        let received = ReceivedFlag()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StatusLineHandler(flag: received))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
        try? await channel.writeAndFlush(ByteBuffer(string: bytes))
        if abort {
            try? await channel.close()
            return false
        }
        let timeout = channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        timeout.cancel()
        return received.value
    }
}

private final class Progress: Sendable {
    let sent = Atomic<Int>(0)
    let answered = Atomic<Int>(0)
}

private final class ReceivedFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var value: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

private final class StatusLineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let flag: ReceivedFlag

    init(flag: ReceivedFlag) {
        self.flag = flag
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if buffer.readableBytesView.starts(with: "HTTP/1.1 ".utf8) { flag.set() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// This process's open file descriptors and resident memory.
struct Usage {
    /// The process's descriptors that are sockets with a local or peer port in the ports asked for.
    var fileDescriptors: Int
    var residentBytes: Int

    static func now(ports: Set<Int>) -> Usage {
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let pages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return Usage(
            fileDescriptors: socketDescriptors(ports: ports),
            residentBytes: pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        )
    }

    /// Counts the process's open descriptors (`/proc/self/fd`) that are TCP sockets whose own or peer port is in
    /// `ports`, asking each socket itself (`getsockname`, `getpeername`).
    private static func socketDescriptors(ports: Set<Int>) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap { Int32($0) }.filter { descriptor in
            port(of: descriptor, peer: false).map(ports.contains) == true
                || port(of: descriptor, peer: true).map(ports.contains) == true
        }.count
    }

    /// The IPv4 or IPv6 port of a socket's own address (or its peer's), `nil` for anything else.
    private static func port(of descriptor: Int32, peer: Bool) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                peer ? getpeername(descriptor, address, &length) : getsockname(descriptor, address, &length)
            }
        }
        guard status == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
        default:
            return nil
        }
    }
}
