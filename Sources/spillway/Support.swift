import ArgumentParser
import Dispatch
import SpillwayLab

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Suspends until SIGINT or SIGTERM arrives.
func waitForInterrupt() async throws {
    let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
    var sources: [any DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler { continuation.yield(signalNumber) }
        source.resume()
        sources.append(source)
    }
    var iterator = stream.makeAsyncIterator()
    _ = await iterator.next()
    for source in sources { source.cancel() }
}

/// Stops the lab's peers (HAProxy, nginx) and exits when the user interrupts a run: they are child processes and
/// would otherwise outlive it. Keep the returned sources alive for as long as the run lasts.
func stopPeersOnInterrupt() -> [any DispatchSourceSignal] {
    var sources: [any DispatchSourceSignal] = []
    for signalNumber in [SIGINT, SIGTERM] {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        source.setEventHandler {
            RunningPeers.shared.terminateAll()
            exit(128 + signalNumber)
        }
        source.resume()
        sources.append(source)
    }
    return sources
}

/// `text` as a positive duration (`500ms`, `10s`), or a usage error naming `option`.
func positiveDuration(_ text: String, _ option: String) throws -> Duration {
    guard let value = Duration(parsing: text), value > .zero else {
        throw ValidationError("\(option): '\(text)' is not a duration like 500ms or 10s")
    }
    return value
}
