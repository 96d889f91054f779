import Logging
import MetricsTestKit
import PostgresNIO
import SpillwayPostgresLab
import Testing

@testable import SpillwayPostgres

@Suite("Pool events", .timeLimit(.minutes(1)))
struct PoolEventObserverTests {
    /// A handler that keeps what it is given.
    final class Capture: LogHandler, @unchecked Sendable {
        // Sendable by confinement: `Logger` calls its handler synchronously on the logging thread, and only the
        // test's own task logs through it and reads `lines`, one statement after another.
        var lines: [String] = []
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.append(event.message.description)
        }
    }

    @Test("the pool's log lines become events, and reach the user's handler only at its level")
    func eventsAndForwarding() {
        let capture = Capture()
        let events = LockedValue<[PoolEventObserver.Event]>([])
        let logger = Logger(label: "test") { _ in
            PoolEventObserver(forwardingTo: capture) { event in events.withLock { $0.append(event) } }
        }
        #expect(logger.logLevel == .debug, "debug lines must reach the observer")
        logger.debug("Creating new connection", metadata: ["psql_connection_id": "7"])
        logger.info("Connection creation failed", metadata: ["psql_connection_id": "7", "psql_error": "refused"])
        logger.debug("Connection closed", metadata: ["psql_connection_id": "8"])
        logger.debug("run ping pong", metadata: ["psql_connection_id": "8"])
        let seen = events.withLock { $0 }
        #expect(seen.count == 3)
        if case .connecting(let id) = seen[0] { #expect(id == 7) } else { Issue.record("expected connecting") }
        if case .connectFailed(let id, let error) = seen[1] {
            #expect(id == 7)
            #expect(error == "refused")
        } else {
            Issue.record("expected a failed connection attempt")
        }
        if case .closed(let id) = seen[2] { #expect(id == 8) } else { Issue.record("expected closed") }
        #expect(capture.lines == ["Connection creation failed"], "debug lines stay below the user's info level")
    }

    @Test("without a user logger nothing is forwarded and events still arrive")
    func noForwarding() {
        let count = LockedValue(0)
        let logger = Logger(label: "test") { _ in
            PoolEventObserver(forwardingTo: nil) { _ in count.withLock { $0 += 1 } }
        }
        logger.debug("Creating new connection")
        logger.error("something else entirely")
        #expect(count.withLock { $0 } == 1)
    }

    @Test("the accounting follows the events: open, idle, in use, and connect errors fail the pool's waiters")
    func accounting() async throws {
        let metrics = TestMetrics()
        let accounting = PoolAccounting(metrics: ProtectedPostgresMetrics(name: "db", factory: metrics))
        accounting.observe(.connecting(id: 1))
        accounting.observe(.connecting(id: 2))
        accounting.leased()
        #expect(accounting.counts.open == 2)
        #expect(accounting.counts.inUse == 1)
        #expect(try metrics.expectGauge("spillway_postgres_connections_idle", [("client", "db")]).lastValue == 1)
        let handoff = ConnectionHandoff<PostgresConnection>()
        let ticket = accounting.startedWaiting(handoff)
        #expect(try metrics.expectGauge("spillway_postgres_pool_waiters", [("client", "db")]).lastValue == 1)
        accounting.observe(.connectFailed(id: 2, error: "connection refused"))
        guard case .failure(.connectFailed(let reason)) = await handoff.take() else {
            Issue.record("a waiter must be failed by a failed connection attempt")
            return
        }
        #expect(reason == "connection refused")
        accounting.stoppedWaiting(ticket)
        #expect(accounting.counts.connectErrors == 1)
        #expect(try metrics.expectCounter("spillway_postgres_connect_errors_total", [("client", "db")]).totalValue == 1)
        accounting.observe(.closed(id: 1))
        #expect(accounting.counts.open == 1, "the connection in use stays counted as open")
        accounting.released()
        #expect(try metrics.expectGauge("spillway_postgres_connections_in_use", [("client", "db")]).lastValue == 0)
        #expect(try metrics.expectGauge("spillway_postgres_connections_idle", [("client", "db")]).lastValue == 1)
    }
}

@Suite("Call outcomes")
struct CallOutcomeTests {
    @Test("a caller's expired wait is its own deadline, never the database's failure")
    func callersDeadline() throws {
        let outcome = CallOutcome.classify(
            LeaseFailure.expired,
            deadlineIsCallers: true,
            waited: .milliseconds(3),
            timeout: .seconds(10)
        )
        #expect((outcome.error as? ProtectedPostgresError)?.code == .deadlineExceeded)
        #expect(outcome.outcome == .deadlineExceeded)
        #expect(outcome.permit == .ignored)
    }

    @Test("the client's own timeout is the database being slow: the gate backs off")
    func ownTimeout() {
        let outcome = CallOutcome.classify(
            LeaseFailure.expired,
            deadlineIsCallers: false,
            waited: .seconds(10),
            timeout: .seconds(10)
        )
        #expect((outcome.error as? ProtectedPostgresError)?.code == .timeout)
        #expect(outcome.permit == .dropped)
    }

    @Test("an unreachable server is reported as unavailable, with the pool's error, and gives the gate no sample")
    func unreachable() {
        let outcome = CallOutcome.classify(
            LeaseFailure.connectFailed("connection refused"),
            deadlineIsCallers: true,
            waited: .zero,
            timeout: .seconds(10)
        )
        let error = outcome.error as? ProtectedPostgresError
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("connection refused") == true)
        #expect(outcome.permit == .ignored)
    }

    @Test("a cancelled caller gets CancellationError; a pool that gave up connecting means unavailable")
    func cancelledAndShutdown() {
        let cancelled = CallOutcome.classify(
            LeaseFailure.cancelled,
            deadlineIsCallers: true,
            waited: .zero,
            timeout: .seconds(1)
        )
        #expect(cancelled.error is CancellationError)
        #expect(cancelled.outcome == .cancelled)
        struct PoolGaveUp: Error {}
        let tripped = CallOutcome.classify(
            LeaseFailure.poolError(PoolGaveUp()),
            deadlineIsCallers: true,
            waited: .zero,
            timeout: .seconds(1)
        )
        #expect((tripped.error as? ProtectedPostgresError)?.code == .unavailable)
    }

    @Test("errors of the caller's own code pass through untouched and give no sample")
    func passThrough() {
        struct Mine: Error {}
        let outcome = CallOutcome.classify(Mine(), interruption: .none, deadlineIsCallers: true, timeout: .seconds(1))
        #expect(outcome.error is Mine)
        #expect(outcome.permit == .ignored)
    }

    @Test("SQLSTATEs of contention make the gate back off; others do not")
    func overloadStates() {
        for state in ["40001", "40P01", "55P03", "53300", "53200"] { #expect(CallOutcome.isOverload(sqlState: state)) }
        for state in ["23505", "42601", "57014", "08006"] { #expect(!CallOutcome.isOverload(sqlState: state)) }
    }
}
