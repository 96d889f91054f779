import ArgumentParser
import Dispatch
import Foundation
import SpillwayProxy

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run Spillway's reverse proxy in front of any HTTP/1.1 service.",
        discussion: """
            Routes requests to upstream clusters with adaptive admission, priority queueing, rate limits and \
            deadlines on every route (the configuration's schema is in the SpillwayProxy DocC article, and \
            Examples/proxy/victim.yaml protects the lab's victim). SIGHUP reloads the file without dropping a \
            connection (a file with a mistake keeps the running configuration and says why); SIGTERM or Ctrl-C \
            drains: in-flight requests finish, then the proxy exits.
            """
    )

    @Option(help: "The configuration file: .yaml, .yml or .toml.")
    var config: String

    @Flag(help: "Check the configuration file and exit.")
    var check = false

    func run() async throws {
        let configuration: ProxyConfiguration
        do {
            configuration = try ProxyConfiguration(contentsOfFile: config)
        } catch {
            printError("spillway proxy: \(error)")
            throw ExitCode(2)
        }
        if check {
            printLine(
                "\(config): OK — \(configuration.routes.count) route(s), \(configuration.clusters.count) cluster(s), "
                    + "listening on \(configuration.listen)"
            )
            return
        }
        let signals = SignalStream([SIGHUP, SIGTERM, SIGINT])
        let server = try await ProxyServer.start(configuration: configuration)
        let admin = server.adminPort.map { "; admin on http://\(configuration.admin!.host):\($0)" } ?? ""
        printLine(
            "spillway proxy on http://\(configuration.listen.host):\(server.port)\(admin) — "
                + "SIGHUP reloads \(config), SIGTERM or Ctrl-C drains"
        )
        for await signalNumber in signals.stream {
            if signalNumber == SIGHUP {
                do {
                    try await server.reload(contentsOfFile: config)
                    printLine("spillway proxy: reloaded \(config)")
                } catch {
                    printError("spillway proxy: kept the running configuration; \(error)")
                }
            } else {
                printLine("spillway proxy: draining (up to \(configuration.timeouts.drain))")
                await server.drain()
                break
            }
        }
        signals.cancel()
    }
}

/// Delivers the given signals, in order, as an async stream.
private final class SignalStream {
    let stream: AsyncStream<Int32>
    private let sources: [any DispatchSourceSignal]

    init(_ numbers: [Int32]) {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        self.stream = stream
        var sources: [any DispatchSourceSignal] = []
        for number in numbers {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// Writes a line to standard output at once, unbuffered even into a file or a pipe: an operator reading the log sees
/// each reload when it happens.
private func printLine(_ message: String) {
    FileHandle.standardOutput.write(Data((message + "\n").utf8))
}

private func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
