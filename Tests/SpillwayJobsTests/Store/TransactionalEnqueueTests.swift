import Foundation
import PostgresNIO
import Spillway
import SpillwayPostgresLab
import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayJobs

/// Enqueueing inside the caller's own PostgreSQL transaction: the job exists if and only if the transaction commits,
/// and the workers hear of it through `NOTIFY` at commit (no local wake-up, no polling on the manual clock).
@Suite(.timeLimit(.minutes(1)))
struct TransactionalEnqueueTests {
    struct Rollback: Error {}

    @Test func jobEnqueuedInACommittedTransactionExistsAndWakesTheWorkers() async throws {
        let server = try await LocalPostgres.shared()
        let clock = ManualClock()
        try await TestStores.withPostgresSchema(on: server) { client in
            let store = try await JobStore(postgres: client, clock: clock, logger: TestStores.logger)
            try await client.query("CREATE TABLE orders (id bigint PRIMARY KEY)", logger: TestStores.logger)
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Greeting.self) { _, _ in }
            try await PoolHarness.run(pool) { outcomes, _ in
                // A notification sent before the pool listens would only be found by the next poll, which this
                // manual clock never reaches: the test commits once the pool listens.
                #expect(await eventually { store.isListeningForWakeUps })
                let id = try await client.withTransaction(logger: TestStores.logger) { connection in
                    try await connection.query("INSERT INTO orders (id) VALUES (7)", logger: TestStores.logger)
                    let id = try await store.enqueue(Greeting(name: "order 7"), on: connection)
                    let outside = try await store.job(id)
                    #expect(outside == nil, "another connection must not see the job before the commit")
                    return id
                }
                let outcome = await outcomes.next()
                #expect(outcome?.id == id)
                #expect(outcome?.outcome == .completed)
            }
        }
    }

    @Test func jobEnqueuedInARolledBackTransactionDoesNotExist() async throws {
        let server = try await LocalPostgres.shared()
        try await TestStores.withPostgresSchema(on: server) { client in
            let store = try await JobStore(postgres: client, logger: TestStores.logger)
            try await client.query("CREATE TABLE orders (id bigint PRIMARY KEY)", logger: TestStores.logger)
            let enqueued = Mutex<JobID?>(nil)
            let failure = await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: TestStores.logger) { connection in
                    try await connection.query("INSERT INTO orders (id) VALUES (8)", logger: TestStores.logger)
                    let id = try await store.enqueue(Greeting(name: "order 8"), on: connection)
                    enqueued.withLock { $0 = id }
                    throw Rollback()
                }
            }
            #expect(failure?.closureError is Rollback)
            #expect(failure?.rollbackError == nil, "the transaction was rolled back")
            let id = try #require(enqueued.withLock { $0 }, "the enqueue ran inside the transaction")
            #expect(try await store.job(id) == nil)
            #expect(try await store.jobs().isEmpty)
            let orders = try await client.query("SELECT count(*) FROM orders", logger: TestStores.logger)
            for try await count in orders.decode(Int.self) { #expect(count == 0) }
        }
    }

    @Test func sqliteStoreRefusesAPostgreSQLConnection() async throws {
        let server = try await LocalPostgres.shared()
        try await TestStores.withPostgresSchema(on: server) { client in
            try await TestStores.withStore(.sqlite) { sqlite in
                let error = await #expect(throws: JobError.self) {
                    try await client.withConnection { connection in
                        try await sqlite.enqueue(Greeting(name: "nowhere"), on: connection)
                    }
                }
                #expect(error?.code == .unsupported)
            }
        }
    }
}
