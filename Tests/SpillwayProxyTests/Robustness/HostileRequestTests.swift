import SpillwayTestSupport
import Testing

@testable import SpillwayProxy

/// Malformed and hostile requests against a live proxy, each with the status it must get. None may reach the
/// upstream, crash the proxy or leave a connection behind; after each, the proxy still serves a normal request.
@Suite("Hostile requests get the expected status", .timeLimit(.minutes(1)))
struct HostileRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var request: String
        /// The expected status; `nil` when the proxy must close the connection without answering.
        var status: Int?
        var testDescription: String { name }
    }

    static let big = String(repeating: "a", count: 40 * 1024)

    static let cases: [Case] = [
        Case(
            name: "Content-Length with Transfer-Encoding (CL.TE smuggling)",
            request:
                "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
            status: 400
        ),
        Case(
            name: "Transfer-Encoding with Content-Length (TE.CL smuggling)",
            request:
                "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
            status: 400
        ),
        Case(
            name: "duplicate Content-Length",
            request: "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc",
            status: 400
        ),
        Case(
            name: "duplicate equal Content-Length",
            request: "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            status: 400
        ),
        Case(
            name: "Content-Length list",
            request: "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
            status: 400
        ),
        Case(
            name: "obfuscated Transfer-Encoding",
            request: "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
            status: 501
        ),
        Case(
            name: "Transfer-Encoding not ending in chunked",
            request: "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
            status: 400
        ),
        Case(
            name: "obsolete line folding",
            request: "GET /ok HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
            status: 400
        ),
        Case(
            name: "space before the colon",
            request: "GET /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
            status: 400
        ),
        Case(
            name: "NUL in a header value",
            request: "GET /ok HTTP/1.1\r\nHost: a\r\nX-Nul: a\u{0}b\r\n\r\n",
            status: 400
        ),
        Case(name: "header too large", request: "GET /ok HTTP/1.1\r\nHost: a\r\nX-Big: \(big)\r\n\r\n", status: 431),
        Case(
            name: "too many header fields",
            request: "GET /ok HTTP/1.1\r\nHost: a\r\n" + (0..<150).map { "X-H\($0): v\r\n" }.joined() + "\r\n",
            status: 431
        ),
        Case(
            name: "declared body too large",
            request: "POST /ok HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n",
            status: 413
        ),
        Case(
            name: "chunked body too large",
            request:
                "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n\(String(repeating: "b", count: 2048))\r\n0\r\n\r\n",
            status: 413
        ),
        Case(
            name: "invalid chunk size",
            request: "POST /ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            status: 400
        ),
        Case(name: "missing Host", request: "GET /ok HTTP/1.1\r\n\r\n", status: 400),
        Case(name: "two Host fields", request: "GET /ok HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400),
        Case(name: "dot segments", request: "GET /ok/../admin HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(name: "encoded dot segments", request: "GET /%2e%2e/admin HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(
            name: "CONNECT",
            request: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            status: 405
        ),
        Case(name: "HTTP/2 request line", request: "GET /ok HTTP/2.0\r\nHost: a\r\n\r\n", status: 505),
        Case(
            name: "garbage",
            request: "\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}\r\n\r\n",
            status: 400
        ),
        Case(name: "relative target", request: "GET ok HTTP/1.1\r\nHost: a\r\n\r\n", status: 400),
        Case(
            name: "unknown expectation",
            request: "GET /ok HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n",
            status: 417
        ),
    ]

    static let configuration: @Sendable ([Int]) -> String = { ports in
        ProxyFixture.yaml(
            instances: ["127.0.0.1:\(ports[0])"],
            top: "limits: {max_header_bytes: 16KiB, max_header_count: 100, max_body_bytes: 1KiB}"
        )
    }

    @Test(arguments: cases)
    func hostileRequest(_ hostile: Case) async throws {
        let fixture = try await ProxyFixture.start(Self.configuration)
        defer { Task { await fixture.stop() } }
        let response = try await RawClient.send([hostile.request], port: fixture.port)
        if let status = hostile.status {
            #expect(response.statuses == [status], "\(response.text.prefix(200))")
            if status == 413, hostile.name.hasPrefix("chunked") {
                // A chunked body is forwarded until it crosses the limit.
                #expect(fixture.backend.requests <= 1)
            } else {
                #expect(fixture.backend.requests == 0)
            }
        } else {
            #expect(response.statuses.isEmpty)
        }
        #expect(response.closedByServer)
        #expect(!response.text.contains("smuggled"))
        #expect(try await get("/ok", port: fixture.port).status == 200)
    }

    @Test func slowlorisHeadGets408() async throws {
        let fixture = try await ProxyFixture.start { ports in
            ProxyFixture.yaml(instances: ["127.0.0.1:\(ports[0])"], top: "timeouts: {client_header: 300ms}")
        }
        defer { Task { await fixture.stop() } }
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await RawClient.send(
            ["GET /ok HTTP/1.1\r\n", "Host: a\r\n", "X-Slow: 1\r\n", "X-Slow: 2\r\n", "X-Slow: 3\r\n"],
            port: fixture.port,
            pause: .milliseconds(150)
        )
        #expect(response.status == 408)
        #expect(response.closedByServer)
        // The 300 ms applied, not the default 10 s, which cannot answer before 10 s. The bound leaves room for the
        // parallel phase of scripts/test, where this answer once took 4.8 s (a bound of 3 s failed) and, with a
        // release build running beside it, 8.8 s (a bound of 8 s failed).
        #expect(fixture.proxy.core.runtime.configuration.timeouts.clientHeader == .milliseconds(300))
        #expect(clock.now - start < .milliseconds(9_800))
        #expect(fixture.backend.requests == 0)
    }

    /// A keep-alive client may send its next request before the previous response arrives (the proxy reads ahead
    /// while a response is pending): a next head started then and never finished still gets the header timeout,
    /// not the much longer idle timeout.
    @Test func aNextHeadStartedWhileAResponseIsPendingStillHasTheHeaderTimeout() async throws {
        let fixture = try await ProxyFixture.start { ports in
            ProxyFixture.yaml(
                instances: ["127.0.0.1:\(ports[0])"],
                top: "timeouts: {idle: 30s, client_header: 300ms}"
            )
        }
        defer { Task { await fixture.stop() } }
        // The first request waits 1 s upstream; 200 ms in, the next head starts and stalls.
        let response = try await RawClient.send(
            ["GET /slow/1000 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /ok HTTP/1.1\r\nHo"],
            port: fixture.port,
            pause: .milliseconds(200),
            wait: .seconds(10)
        )
        #expect(response.closedByServer, "closed by the header timeout, not left to the 30 s idle timeout")
    }

    /// The same, with the stalled head in the same packet as the request before it: a read's first bytes are not
    /// the only start of a request, so the connection handler also starts the header timeout when a read leaves a
    /// request unfinished (before the proxy parsed HTTP itself, such a head had only the idle timeout).
    @Test func aNextHeadStartedInThePreviousRequestsReadStillHasTheHeaderTimeout() async throws {
        let fixture = try await ProxyFixture.start { ports in
            ProxyFixture.yaml(
                instances: ["127.0.0.1:\(ports[0])"],
                top: "timeouts: {idle: 30s, client_header: 300ms}"
            )
        }
        defer { Task { await fixture.stop() } }
        let clock = ContinuousClock()
        let start = clock.now
        let response = try await RawClient.send(
            ["GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHo"],
            port: fixture.port,
            wait: .seconds(20)
        )
        // The first answered, the second timed out after 300 ms (408), as a slow head alone would be.
        #expect(response.statuses == [200, 408])
        #expect(response.closedByServer, "closed by the header timeout, not left to the 30 s idle timeout")
        #expect(clock.now - start < .seconds(15))
    }

    @Test func idleKeepAliveConnectionIsClosed() async throws {
        let fixture = try await ProxyFixture.start { ports in
            ProxyFixture.yaml(instances: ["127.0.0.1:\(ports[0])"], top: "timeouts: {idle: 5s, client_header: 100ms}")
        }
        defer { Task { await fixture.stop() } }
        // One complete request, then silence: closed after the idle timeout, not the (shorter) header timeout. (The
        // idle timeout also runs from the accept to the first byte: with 1 s, the parallel phase of scripts/test once
        // got no answer at all — the request was sent after the proxy had closed; with 3 s it did again once here,
        // with a CPU hog beside that phase. 5 s leaves a busy machine room.)
        let response = try await RawClient.send(
            ["GET /ok HTTP/1.1\r\nHost: a\r\n\r\n"],
            port: fixture.port,
            wait: .seconds(15)
        )
        #expect(response.statuses == [200])
        #expect(response.closedByServer)
    }

    /// An upstream that stops sending mid-body: after the idle timeout with no progress the client connection is
    /// closed (the status is already out), long before the upstream gives up itself.
    @Test func aResponseStalledMidBodyIsCutAfterTheIdleTimeout() async throws {
        let fixture = try await ProxyFixture.start { ports in
            ProxyFixture.yaml(instances: ["127.0.0.1:\(ports[0])"], top: "timeouts: {idle: 5s}")
        }
        defer { Task { await fixture.stop() } }
        let clock = ContinuousClock()
        let start = clock.now
        // 5 s, not less: the idle timeout also runs from the accept to the request's first byte, and with 400 ms the
        // parallel phase of scripts/test (CI, 2026-12-05) once closed the connection before the request arrived
        // (closed by the server, no status, no bytes); with 3 s it did once more here, with a release build running
        // beside that phase.
        let response = try await RawClient.send(
            ["GET /stall/20000 HTTP/1.1\r\nHost: a\r\n\r\n"],
            port: fixture.port,
            wait: .seconds(18)
        )
        #expect(response.status == 200)
        #expect(response.text.hasSuffix("0123456789"), "the 10 bytes sent, then nothing: \(response.text)")
        #expect(response.closedByServer)
        // 5 s of silence, not the upstream's 20 s (the bound leaves room for a loaded machine).
        #expect(clock.now - start < .seconds(15))
        let cluster = try #require(fixture.proxy.core.runtime.clusters["app"])
        await eventually { cluster.instances[0].inflight.load(ordering: .relaxed) == 0 }
        #expect(try await get("/ok", port: fixture.port).status == 200)
    }

    @Test func slowBodyGets408() async throws {
        let fixture = try await ProxyFixture.start { ports in
            ProxyFixture.yaml(instances: ["127.0.0.1:\(ports[0])"], top: "timeouts: {client_body: 300ms}")
        }
        defer { Task { await fixture.stop() } }
        let response = try await RawClient.send(
            ["POST /slow/2000 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n", "0123456789"],
            port: fixture.port,
            pause: .milliseconds(50)
        )
        #expect(response.status == 408)
        #expect(response.body.contains("body_timeout"))
        #expect(response.closedByServer)
    }

    @Test func abruptClientClosesLeaveNothingBehind() async throws {
        let fixture = try await ProxyFixture.start { ProxyFixture.yaml(instances: ["127.0.0.1:\($0[0])"]) }
        defer { Task { await fixture.stop() } }
        for index in 0..<20 {
            let request =
                index % 2 == 0
                ? "GET /slow/200 HTTP/1.1\r\nHost: a\r\n\r\n"
                : "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nabc"
            try await RawClient.sendAndAbort(request, port: fixture.port, after: .milliseconds(20))
        }
        await eventually { fixture.proxy.openConnections == 0 }
        let cluster = try #require(fixture.proxy.core.runtime.clusters["app"])
        await eventually { cluster.instances[0].inflight.load(ordering: .relaxed) == 0 }
        #expect(try await get("/ok", port: fixture.port).status == 200)
    }
}
