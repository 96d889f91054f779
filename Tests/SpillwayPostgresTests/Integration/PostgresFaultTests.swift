import Logging
import PostgresNIO
import Spillway
import SpillwayPostgresLab
import SpillwayTestSupport
import Testing

@testable import SpillwayPostgres

/// A server restarted or killed under load, on private servers so no other test sees it.
@Suite(.timeLimit(.minutes(3)))
struct PostgresFaultTests {
    /// One call of the background load.
    struct Call: Sendable {
        var start: ContinuousClock.Instant
        var end: ContinuousClock.Instant
        var deadline: Duration
        var error: (any Error)?
    }

    @Test("a restart fails in-flight statements fast, holds no caller past its deadline, and goodput returns")
    func restart() async throws {
        try await TestPostgres.withPrivateServers { server, _ in
            let client = ProtectedPostgresClient(
                TestPostgres.Server(port: server.port).configuration,
                configuration: .init(name: TestPostgres.uniqueName("restart"))
            )
            let clock = ContinuousClock()
            let calls = LockedValue<[Call]>([])
            let stopping = LockedValue<ContinuousClock.Instant?>(nil)
            let restarted = LockedValue<ContinuousClock.Instant?>(nil)
            let inFlight = LockedValue<Call?>(nil)
            // The client and the steady calls run in unstructured tasks, awaited with a bound: a call held past its
            // deadline must fail this test, not hang the test process.
            let running = Task { await client.run() }
            let issued = LockedValue(0)
            defer { running.cancel() }
            do {
                // Warm: the pool has connections before the fault.
                _ = try await client.query("SELECT 1", deadline: .after(.seconds(5)))
                try await withThrowingTaskGroup(of: Void.self) { load in
                    // A long statement in flight when the server stops.
                    load.addTask {
                        let start = clock.now
                        let result = await Result {
                            try await client.query("SELECT pg_sleep(20)", deadline: .after(.seconds(30)))
                        }
                        inFlight.withLock {
                            $0 = Call(start: start, end: clock.now, deadline: .seconds(30), error: result.failure)
                        }
                    }
                    // Steady short calls, each with a one-second deadline, until 7 s after the restart.
                    load.addTask {
                        while restarted.withLock({ $0.map { $0.advanced(by: .seconds(7)) < clock.now } }) != true {
                            issued.withLock { $0 += 1 }
                            Task {
                                let start = clock.now
                                let result = await Result {
                                    try await client.query("SELECT pg_sleep(0.02)", deadline: .after(.seconds(1)))
                                }
                                let call = Call(
                                    start: start,
                                    end: clock.now,
                                    deadline: .seconds(1),
                                    error: result.failure
                                )
                                calls.withLock { $0.append(call) }
                            }
                            try await Task.sleep(for: .milliseconds(25))
                        }
                        // Every call has a one-second deadline: all must have answered two seconds later.
                        let end = clock.now.advanced(by: .seconds(2))
                        while calls.withLock({ $0.count }) < issued.withLock({ $0 }) && clock.now < end {
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                    load.addTask {
                        try await Task.sleep(for: .seconds(1))
                        stopping.withLock { $0 = clock.now }
                        await server.stopServer()
                        try await Task.sleep(for: .seconds(1))
                        try await server.start()
                        restarted.withLock { $0 = clock.now }
                    }
                    try await load.waitForAll()
                }
            }
            running.cancel()
            let stopped = LockedValue(false)
            Task {
                await running.value
                stopped.withLock { $0 = true }
            }
            let shutdownBound = clock.now.advanced(by: .seconds(5))
            while !stopped.withLock({ $0 }) && clock.now < shutdownBound {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(stopped.withLock { $0 }, "the client's run() did not return within 5 s of its cancellation")
            let all = calls.withLock { $0 }
            let unanswered = issued.withLock { $0 } - all.count
            #expect(
                unanswered == 0,
                "\(unanswered) calls still unanswered 2 s past their deadline; client state: \(client.snapshot)"
            )
            let stop = try #require(stopping.withLock { $0 })
            let up = try #require(restarted.withLock { $0 })

            let long = try #require(inFlight.withLock { $0 })
            let lost = long.error as? ProtectedPostgresError
            #expect(
                lost?.code == .connectionLost,
                "the in-flight statement ended with \(String(describing: long.error))"
            )
            #expect(
                stop.duration(to: long.end) < .seconds(2),
                "it failed \(stop.duration(to: long.end)) after the stop"
            )

            let overdue = all.filter { $0.start.duration(to: $0.end) > $0.deadline + .milliseconds(500) }
            #expect(overdue.isEmpty, "\(overdue.count) calls outlived their deadline by more than 500 ms")

            let failedDuringOutage = all.filter { $0.error != nil && $0.start > stop && $0.start < up }
            #expect(!failedDuringOutage.isEmpty, "calls during the outage must fail (else the test saw no outage)")
            let firstSuccess = all.filter { $0.error == nil && $0.start > up }.map(\.end).min()
            let recovery = firstSuccess.map { up.duration(to: $0) }
            #expect(
                recovery.map { $0 < .seconds(5) } == true,
                "first success \(String(describing: recovery)) after restart"
            )
            let recovered = all.filter { $0.start > up.advanced(by: .seconds(5)) }
            let succeeded = recovered.filter { $0.error == nil }.count
            #expect(recovered.count > 10)
            #expect(Double(succeeded) >= Double(recovered.count) * 0.9, "\(succeeded) of \(recovered.count) succeeded")
            #expect(client.snapshot.connectErrors > 0, "the pool retried while the server was down")
        }
    }

    @Test("a killed replica's reads continue on the primary without an error")
    func replicaKilled() async throws {
        try await TestPostgres.withPrivateServers(replicas: 1) { primary, replicas in
            let replica = replicas[0]
            let name = TestPostgres.uniqueName("killed")
            let client = ReplicatedPostgresClient(
                primary: ProtectedPostgresClient(
                    TestPostgres.Server(port: primary.port).configuration,
                    configuration: .init(name: name + "_primary")
                ),
                replicas: [
                    ProtectedPostgresClient(
                        TestPostgres.Server(port: replica.port).configuration,
                        configuration: .init(name: name + "_replica")
                    )
                ],
                configuration: .init(name: name)
            )
            let clock = ContinuousClock()
            let routes = LockedValue<[(ContinuousClock.Instant, ReplicatedPostgresClient.ReadRoute)]>([])
            let failures = LockedValue<[any Error]>([])
            let killed = LockedValue<ContinuousClock.Instant?>(nil)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                #expect(await eventually { client.replicaStatuses[0].isAvailable })
                try await withThrowingTaskGroup(of: Void.self) { load in
                    load.addTask {
                        try await withThrowingDiscardingTaskGroup { reads in
                            let end = clock.now.advanced(by: .seconds(4))
                            while clock.now < end {
                                reads.addTask {
                                    do {
                                        let (_, route) = try await client.routedRead(deadline: .after(.seconds(2))) {
                                            try await $0.query("SELECT 1", logger: Logger(label: "test")).collect()
                                        }
                                        routes.withLock { $0.append((clock.now, route)) }
                                    } catch {
                                        failures.withLock { $0.append(error) }
                                    }
                                }
                                try await Task.sleep(for: .milliseconds(10))
                            }
                        }
                    }
                    load.addTask {
                        try await Task.sleep(for: .seconds(1))
                        killed.withLock { $0 = clock.now }
                        await replica.stopServer(immediately: true)
                    }
                    try await load.waitForAll()
                }
                #expect(!client.replicaStatuses[0].isAvailable)
            }
            let kill = try #require(killed.withLock { $0 })
            let all = routes.withLock { $0 }
            #expect(failures.withLock { $0 }.isEmpty, "reads failed: \(failures.withLock { $0 })")
            #expect(all.contains { $0.0 < kill && $0.1.isReplica }, "the replica served reads before it was killed")
            let afterwards = all.filter { $0.0 > kill.advanced(by: .seconds(1)) }
            #expect(!afterwards.isEmpty)
            #expect(afterwards.allSatisfy { !$0.1.isReplica }, "reads after the kill ran on the primary")
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }

    var failure: (any Error)? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
