import Foundation
import SpillwayTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The launchers start real servers on loopback, answer on their port, are the process they claim to be, and leave
/// nothing behind.
@Suite(.timeLimit(.minutes(1))) struct ServerLauncherTests {
    @Test func redisServerAnswersWithItsOwnProcessIDAndIsGoneAfterStop() async throws {
        let server = try await RedisServer.start(password: "s3cret")
        let pid = try #require(server.process.processIdentifier)
        let folder = server.process.directory
        server.stop()
        #expect(kill(pid, 0) != 0, "redis-server must be gone after stop()")
        #expect(!FileManager.default.fileExists(atPath: folder.path))
    }

    @Test func aKilledRedisServerRestartsOnTheSamePort() async throws {
        try await withRedisServer { server in
            let port = server.port
            server.kill()
            #expect(server.process.processIdentifier == nil)
            try await server.start()
            #expect(server.port == port)
            #expect(server.process.processIdentifier != nil)
        }
    }

    @Test func nginxServesTheGivenLocations() async throws {
        try await withNginx(server: "location = /hello { return 200 'hello'; }") { nginx in
            #expect(await Loopback.httpGet(port: nginx.port, path: "/hello") == "hello")
            let pid = try #require(nginx.processIdentifier)
            #expect(await Loopback.httpGet(port: nginx.port, path: NginxServer.processIDPath) == "\(pid)")
        }
    }

    @Test func haproxyServesTheGivenFrontend() async throws {
        let frontend = "http-request return status 200 content-type text/plain string hello if { path /hello }"
        try await withHAProxy(frontend: frontend) { haproxy in
            #expect(await Loopback.httpGet(port: haproxy.port, path: "/hello") == "hello")
            let pid = try #require(haproxy.processIdentifier)
            #expect(await Loopback.httpGet(port: haproxy.port, path: HAProxyServer.processIDPath) == "\(pid)")
        }
    }

    /// Two launches handed the same port: the second server sees the first one's process id and reports it,
    /// instead of sharing (and later killing) a server that is not its own.
    @Test func aServerAnsweringWithAnotherProcessIDIsNotMistakenForOurs() async throws {
        try await withNginx(server: "") { first in
            var launch = NginxServer.launch(server: "")
            launch.arguments = { _, _ in ["-v"] }  // exits at once; the first nginx keeps answering on the port
            launch.processID = { _ in
                await Loopback.httpGet(port: first.port, path: NginxServer.processIDPath).flatMap { Int32($0) }
            }
            launch.startupAttempts = 100
            let error = await #expect(throws: ServerProcessError.self) { _ = try await ServerProcess.start(launch) }
            #expect(error?.code == .portTaken || error?.code == .didNotStart)
        }
    }

    @Test func aMissingBinaryNamesScriptsTest() async {
        let launch = ServerLaunch(
            name: "nothing",
            binary: "spillway-no-such-server",
            package: "spillway-no-such-package",
            arguments: { _, _ in [] },
            processID: { _ in nil }
        )
        let error = await #expect(throws: ServerProcessError.self) { _ = try await ServerProcess.start(launch) }
        #expect(error?.code == .missingBinary)
        #expect(error?.description.contains("scripts/test") == true)
        #expect(error?.description.contains("spillway-no-such-package") == true)
    }

    @Test func aServerThatExitsIsAClearErrorWithItsOutput() async {
        var launch = HAProxyServer.launch(frontend: "this-is-not-a-keyword")
        launch.startupAttempts = 100
        let error = await #expect(throws: ServerProcessError.self) { _ = try await ServerProcess.start(launch) }
        #expect(error?.code == .didNotStart)
        #expect(error?.description.contains("haproxy") == true)
    }
}
