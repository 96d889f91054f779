import Testing

@testable import SpillwayPostgres

@Suite("Read routing")
struct ReplicaRouterTests {
    private let second: Int64 = 1_000_000_000

    private func lsn(_ value: UInt64) -> LogSequenceNumber { LogSequenceNumber(value: value) }

    /// A router with one replica probed at `replayed` while the primary was at `primary`.
    private func router(primary: UInt64, replayed: UInt64, maximumLag: Duration = .seconds(1)) -> ReplicaRouter {
        var router = ReplicaRouter(replicas: 1, maximumLag: maximumLag)
        router.primaryProbed(lsn(primary), atNanoseconds: 10 * second)
        router.replicaProbed(0, replayed: lsn(replayed), atNanoseconds: 10 * second)
        return router
    }

    @Test("without replicas, or before the first probe, every read goes to the primary")
    func noReplica() {
        var none = ReplicaRouter(replicas: 0, maximumLag: .seconds(1))
        #expect(none.choose(lastWrite: nil) == .primary(.primaryNoReplica))
        var unprobed = ReplicaRouter(replicas: 1, maximumLag: .seconds(1))
        #expect(unprobed.choose(lastWrite: nil) == .primary(.primaryReplicaUnavailable))
    }

    @Test("a session that wrote nothing reads on a replica within the lag bound")
    func freshSession() {
        var router = router(primary: 100, replayed: 100)
        #expect(router.choose(lastWrite: nil) == .replica(index: 0, check: false))
    }

    @Test("a session reads on the replica once it replayed the session's last write, not before")
    func readYourWrites() {
        var router = router(primary: 200, replayed: 150)
        #expect(router.choose(lastWrite: lsn(150)) == .replica(index: 0, check: false))
        #expect(router.choose(lastWrite: lsn(120)) == .replica(index: 0, check: false))
        // Not known to have replayed 151 yet: the replica is asked first.
        #expect(router.choose(lastWrite: lsn(151)) == .replica(index: 0, check: true))
        router.replicaReplayed(0, lsn(160))
        #expect(router.choose(lastWrite: lsn(151)) == .replica(index: 0, check: false))
        // A position seen later but lower never moves the replica back.
        router.replicaReplayed(0, lsn(140))
        #expect(router.statuses[0].replayed == lsn(160))
    }

    @Test("past the lag bound every read goes to the primary, with or without a write")
    func lagBound() {
        var router = ReplicaRouter(replicas: 1, maximumLag: .milliseconds(500))
        router.primaryProbed(lsn(100), atNanoseconds: 10 * second)
        router.primaryProbed(lsn(200), atNanoseconds: 11 * second)
        // Replayed 150: it holds what the primary had at 10 s, and misses writes since; lag 2 s at 12 s.
        router.replicaProbed(0, replayed: lsn(150), atNanoseconds: 12 * second)
        #expect(router.statuses[0].lag == .seconds(2))
        #expect(router.statuses[0].bytesBehind == 50)
        #expect(router.choose(lastWrite: nil) == .primary(.primaryReplicaLagging))
        #expect(router.choose(lastWrite: lsn(10)) == .primary(.primaryReplicaLagging))
        // Caught up: lag zero, reads return to the replica.
        router.replicaProbed(0, replayed: lsn(200), atNanoseconds: 13 * second)
        #expect(router.statuses[0].lag == .zero)
        #expect(router.choose(lastWrite: nil) == .replica(index: 0, check: false))
    }

    @Test("a failed replica serves no reads until a probe succeeds again")
    func failedReplica() {
        var router = router(primary: 100, replayed: 100)
        router.replicaFailed(0, problem: "connection refused")
        #expect(!router.statuses[0].isAvailable)
        #expect(router.statuses[0].problem == "connection refused")
        #expect(router.choose(lastWrite: nil) == .primary(.primaryReplicaUnavailable))
        router.replicaProbed(0, replayed: lsn(100), atNanoseconds: 11 * second)
        #expect(router.choose(lastWrite: nil) == .replica(index: 0, check: false))
    }

    @Test("reads alternate between replicas that qualify, and skip those that do not")
    func roundRobin() {
        var router = ReplicaRouter(replicas: 3, maximumLag: .seconds(1))
        router.primaryProbed(lsn(100), atNanoseconds: 10 * second)
        for index in 0..<3 { router.replicaProbed(index, replayed: lsn(100), atNanoseconds: 10 * second) }
        router.replicaFailed(1, problem: "gone")
        var seen: [Int: Int] = [:]
        for _ in 0..<10 {
            guard case .replica(let index, _) = router.choose(lastWrite: nil) else {
                Issue.record("expected a replica")
                return
            }
            seen[index, default: 0] += 1
        }
        #expect(seen[1] == nil)
        #expect(seen[0] == 5 && seen[2] == 5)
    }
}

@Suite("Primary position history")
struct PrimaryPositionHistoryTests {
    private let second: Int64 = 1_000_000_000

    @Test("lag is the age of the newest sample the replica has fully replayed")
    func lag() {
        var history = PrimaryPositionHistory()
        #expect(history.lag(ofReplayed: .zero, atNanoseconds: 0) == nil)
        history.record(LogSequenceNumber(value: 100), atNanoseconds: 1 * second)
        history.record(LogSequenceNumber(value: 100), atNanoseconds: 2 * second)
        history.record(LogSequenceNumber(value: 300), atNanoseconds: 3 * second)
        #expect(history.lag(ofReplayed: LogSequenceNumber(value: 300), atNanoseconds: 4 * second) == .zero)
        #expect(history.lag(ofReplayed: LogSequenceNumber(value: 200), atNanoseconds: 4 * second) == .seconds(2))
        // Behind the oldest sample: at least as old as it.
        #expect(history.lag(ofReplayed: LogSequenceNumber(value: 50), atNanoseconds: 4 * second) == .seconds(3))
        #expect(history.bytesBehind(replayed: LogSequenceNumber(value: 200)) == 100)
    }

    @Test("an idle primary shows no lag however long ago its last write was")
    func idlePrimary() {
        var history = PrimaryPositionHistory()
        history.record(LogSequenceNumber(value: 500), atNanoseconds: 0)
        history.record(LogSequenceNumber(value: 500), atNanoseconds: 60 * second)
        #expect(history.lag(ofReplayed: LogSequenceNumber(value: 500), atNanoseconds: 61 * second) == .zero)
    }

    @Test("a primary whose position goes back is a new server: its history starts afresh, and it stays bounded")
    func resetAndBound() {
        var history = PrimaryPositionHistory(capacity: 3)
        history.record(LogSequenceNumber(value: 900), atNanoseconds: 0)
        history.record(LogSequenceNumber(value: 10), atNanoseconds: 1 * second)
        #expect(history.latest == LogSequenceNumber(value: 10))
        #expect(history.lag(ofReplayed: LogSequenceNumber(value: 5), atNanoseconds: 2 * second) == .seconds(1))
        for index in 0..<10 {
            history.record(LogSequenceNumber(value: UInt64(20 + index)), atNanoseconds: Int64(index) * second)
        }
        // Only the last three samples remain: replaying 26 is behind the oldest kept (27 at 7 s).
        #expect(history.lag(ofReplayed: LogSequenceNumber(value: 26), atNanoseconds: 10 * second) == .seconds(3))
    }
}

@Suite("Read-your-writes session")
struct ReadYourWritesSessionTests {
    @Test("a session keeps its newest write, whatever the order writes are recorded in")
    func monotonic() {
        var session = ReadYourWritesSession()
        #expect(session.lastWrite == nil)
        session.recordWrite(at: LogSequenceNumber(value: 20))
        session.recordWrite(at: LogSequenceNumber(value: 10))
        #expect(session.lastWrite == LogSequenceNumber(value: 20))
        session.recordWrite(at: LogSequenceNumber(value: 30))
        #expect(session.lastWrite == LogSequenceNumber(value: 30))
        #expect(ReadYourWritesSession(lastWrite: LogSequenceNumber("0/1E")) == session)
    }
}
