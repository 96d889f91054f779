import GRDB
import InMemoryTracing
import Spillway
import SpillwayTestSupport
import Testing
import Tracing

@testable import SpillwayJobs

/// A job's trace (issue 17): the enqueue is a span under the caller's, its `traceparent` travels in the job's row,
/// each attempt is a span of its own linked to the enqueue, the handler's spans are the attempt's children, and the
/// move to the dead-letter queue is an event of the last attempt.
@Suite(.timeLimit(.minutes(1)))
struct JobTracingTests {
    struct Poison: Error {}

    @Test(arguments: Backend.allCases)
    func attemptsLinkToTheEnqueueAndTheDeadLetterIsAnEvent(_ backend: Backend) async throws {
        let tracer = W3CTestTracer()
        let clock = ManualClock()
        try await withTracer(tracer) {
            try await TestStores.withStore(backend, clock: clock) { store in
                let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
                pool.register(Greeting.self) { _, _ in
                    withSpan("handler work") { _ in }
                }
                pool.register(Flaky.self) { _, _ in
                    throw Poison()
                }
                let request = tracer.startSpan("request", context: .topLevel)
                let (greeting, poison) = try await PoolHarness.run(pool) { outcomes, _ in
                    let ids = try await ServiceContext.withValue(request.context) {
                        (
                            try await store.enqueue(Greeting(name: "traced")),
                            try await store.enqueue(Flaky(number: 1), options: JobOptions(maxAttempts: 1))
                        )
                    }
                    let settled = await outcomes.next(2).map(\.outcome)
                    #expect(Set(settled) == [.completed, .failed])
                    #expect(
                        await eventually { tracer.spans(named: JobTracing.attemptSpan).count == 2 },
                        "each attempt's span ends after its outcome is recorded"
                    )
                    return ids
                }
                request.end()
                #expect(try await store.job(poison)?.state == .dead)

                let enqueues = tracer.spans(named: JobTracing.enqueueSpan)
                #expect(enqueues.count == 2)
                for enqueue in enqueues {
                    #expect(enqueue.kind == .producer)
                    #expect(enqueue.traceID == request.traceID, "the enqueue is in the caller's trace")
                    #expect(enqueue.parentSpanID == request.spanID)
                }
                let attempts = tracer.spans(named: JobTracing.attemptSpan)
                for (id, outcome) in [(greeting, "completed"), (poison, "failed")] {
                    let enqueue = try #require(enqueues.first { $0.int(JobTracing.id) == id.rawValue })
                    let attempt = try #require(attempts.first { $0.int(JobTracing.id) == id.rawValue })
                    #expect(attempt.kind == .consumer)
                    #expect(attempt.traceID != request.traceID, "an attempt starts its own trace")
                    #expect(attempt.string(JobTracing.outcome) == outcome)
                    #expect(attempt.int(JobTracing.attemptNumber) == 1)
                    let linked = try #require(attempt.links.first?.context.inMemorySpanContext)
                    #expect(linked.traceID == enqueue.traceID)
                    #expect(linked.spanID == enqueue.spanID, "the attempt links to its job's enqueue span")
                }
                let poisonAttempt = try #require(attempts.first { $0.int(JobTracing.id) == poison.rawValue })
                #expect(poisonAttempt.events.map(\.name) == [JobTracing.deadLetteredEvent])
                #expect(poisonAttempt.errors.count == 1, "the handler's error is recorded on its attempt")
                let greetingAttempt = try #require(attempts.first { $0.int(JobTracing.id) == greeting.rawValue })
                #expect(greetingAttempt.events.isEmpty)
                let work = try #require(tracer.spans(named: "handler work").first)
                #expect(work.traceID == greetingAttempt.traceID)
                #expect(work.parentSpanID == greetingAttempt.spanID, "the handler runs inside its attempt's span")
            }
        }
    }

    /// A job enqueued without a tracer has no `traceparent`: its attempts trace without a link, and nothing fails.
    @Test func jobsEnqueuedUntracedRunTracedWithoutALink() async throws {
        let clock = ManualClock()
        try await TestStores.withStore(.sqlite, clock: clock) { store in
            let id = try await store.enqueue(Greeting(name: "untraced"))
            let tracer = W3CTestTracer()
            let pool = JobWorkerPool(store: store, configuration: PoolHarness.configuration(), clock: clock)
            pool.register(Greeting.self) { _, _ in }
            try await withTracer(tracer) {
                try await PoolHarness.run(pool) { outcomes, _ in
                    #expect(await outcomes.next()?.outcome == .completed)
                    #expect(await eventually { tracer.spans(named: JobTracing.attemptSpan).count == 1 })
                }
            }
            let attempt = try #require(tracer.spans(named: JobTracing.attemptSpan).first)
            #expect(attempt.int(JobTracing.id) == id.rawValue)
            #expect(attempt.links.isEmpty)
            #expect(tracer.spans(named: JobTracing.enqueueSpan).isEmpty)
        }
    }

    /// An SQLite file created before the `traceparent` column gains it when opened, and its jobs still run.
    @Test func anOlderSQLiteFileGainsTheTraceparentColumn() async throws {
        let (path, cleanUp) = try TestStores.sqlitePath()
        defer { cleanUp() }
        let old = try SQLiteJobBackend(path: path, options: .init())
        try await old.pool.write { db in
            try db.execute(sql: "ALTER TABLE spillway_jobs DROP COLUMN traceparent")
        }
        try await old.close()
        let reopened = try SQLiteJobBackend(path: path, options: .init())
        let columns = try await reopened.pool.read { db in
            try Row.fetchAll(db, sql: "PRAGMA table_info(spillway_jobs)").map { $0["name"] as String }
        }
        #expect(columns.contains("traceparent"))
        try await reopened.close()
    }
}
