import Spillway
import Testing

@testable import SpillwayLab

@Suite struct ParsingTests {
    @Test func parsesRetryBehaviours() throws {
        #expect(try RetryBehaviour(parsing: "none") == .none)
        #expect(try RetryBehaviour(parsing: "naive") == .naive(maxRetries: 3, interval: .zero))
        #expect(try RetryBehaviour(parsing: "naive:2") == .naive(maxRetries: 2, interval: .zero))
        #expect(try RetryBehaviour(parsing: "naive:5@100ms") == .naive(maxRetries: 5, interval: .milliseconds(100)))
        #expect(RetryBehaviour.naive(maxRetries: 3, interval: .zero).maxAttempts == 4)
        #expect(try RetryBehaviour(parsing: "spillway") == .spillway(SpillwayRetryPolicy()))
        #expect(try RetryBehaviour(parsing: "spillway:1").maxAttempts == 2)
        for bad in ["always", "naive:-1", "naive:11", "naive:2@soon", "spillway:x"] {
            #expect(throws: LabError.self) { try RetryBehaviour(parsing: bad) }
        }
    }

    @Test func parsesTargets() throws {
        let plain = try TargetAddress(parsing: "http://127.0.0.1:8080/work?x=1")
        #expect(plain.host == "127.0.0.1")
        #expect(plain.port == 8080)
        #expect(plain.path == "/work?x=1")
        let defaultPort = try TargetAddress(parsing: "http://localhost")
        #expect(defaultPort.port == 80)
        #expect(defaultPort.path == "/")
        #expect(defaultPort.hostHeader == "localhost")
        let ipv6 = try TargetAddress(parsing: "http://[::1]:9000/a")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 9000)
        // Regression (issue 11, defect 13): the brackets belong in `Host` and in the URL, or the port reads as
        // part of the address.
        #expect(ipv6.hostHeader == "[::1]:9000")
        #expect(ipv6.description == "http://[::1]:9000/a")
        #expect(try TargetAddress(parsing: "http://[fe80::1]/").hostHeader == "[fe80::1]")
        #expect(try TargetAddress(host: "::1", port: 8080).hostHeader == "[::1]:8080")
        for bad in ["https://example.com", "ftp://x", "http://host:notaport/", "http://:80", "http://host:70000"] {
            #expect(throws: LabError.self) { try TargetAddress(parsing: bad) }
        }
    }

    @Test func loadPlansRejectBadStreams() throws {
        let target = try TargetAddress(host: "127.0.0.1", port: 80)
        let profile = try RateProfile.constant(1, duration: .seconds(1))
        #expect(throws: LabError.self) { try LoadPlan(target: target, profile: profile, streams: []) }
        #expect(throws: LabError.self) {
            try LoadPlan(
                target: target,
                profile: profile,
                streams: [TrafficStream(name: "x", share: 0, request: .init())]
            )
        }
        #expect(throws: LabError.self) {
            try LoadPlan(
                target: target,
                profile: profile,
                streams: [TrafficStream(name: "x", request: .init(), deadline: .zero)]
            )
        }
    }
}
