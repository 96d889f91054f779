import Foundation
import Spillway
import SpillwayTestSupport
import Synchronization

@testable import SpillwayRedis

struct ScriptedRedisFailure: Error {}

/// A Redis stand-in for failure-policy tests: counts calls, and either fails at once, hangs until cancelled, or
/// forwards to a real executor, as the test switches it.
final class ScriptedRedis: RedisCommandExecutor, Sendable {
    enum Behaviour: Sendable {
        case fail
        case hang
        case forward(any RedisCommandExecutor)
    }

    private let state: Mutex<(behaviour: Behaviour, calls: Int, cancelled: Int)>

    init(_ behaviour: Behaviour) {
        state = Mutex((behaviour, 0, 0))
    }

    var calls: Int { state.withLock { $0.calls } }
    /// Hanging calls that were cancelled.
    var cancelled: Int { state.withLock { $0.cancelled } }

    func set(_ behaviour: Behaviour) { state.withLock { $0.behaviour = behaviour } }

    func execute<Command: RedisCommand>(_ command: Command) async throws -> Command.Response {
        let behaviour = state.withLock { state -> Behaviour in
            state.calls += 1
            return state.behaviour
        }
        switch behaviour {
        case .fail:
            throw ScriptedRedisFailure()
        case .hang:
            // Cancelled by the store's watchdog; the hour is only an upper bound.
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                state.withLock { $0.cancelled += 1 }
                throw error
            }
            throw ScriptedRedisFailure()
        case .forward(let redis):
            return try await redis.execute(command)
        }
    }
}

/// The timeout of real-Redis calls in tests of logic, not of timing: long enough that no call times out when the
/// test runs beside every other suite on a loaded 2-core machine (calls there have taken over a second), where a
/// timeout would turn into a fallback decision the test did not expect. Tests of timeouts set their own.
let realRedisTestTimeout: Duration = .seconds(10)

/// A pooled client on `server`, shut down after `body`; commands and lease waits last up to
/// ``realRedisTestTimeout``.
func withRateLimitClient<T>(
    _ server: RedisServer,
    maximumConnections: Int = 2,
    _ body: (RedisClient) async throws -> T
) async throws -> T {
    var configuration = RedisClientConfiguration(connection: server.connectionConfiguration)
    configuration.maximumConnections = maximumConnections
    configuration.acquisitionTimeout = realRedisTestTimeout
    configuration.connection.commandTimeout = realRedisTestTimeout
    configuration.reconnectBackoff = RedisReconnectBackoff(
        initialDelay: .milliseconds(20),
        maximumDelay: .milliseconds(200)
    )
    let client = RedisClient(configuration: configuration)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// A key prefix no other test shares, so tests on one server cannot see each other's keys.
func uniqueRateLimitPrefix() -> String { "test:\(UUID().uuidString):" }
