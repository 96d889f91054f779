import PostgresNIO
import Spillway
import SpillwayTestSupport
import Testing
import Tracing

@testable import SpillwayPostgres

/// The client spans of calls through `ProtectedPostgresClient`: one per call, under the caller's span, the gate's
/// `spillway.admission` span inside it, with the OpenTelemetry database attributes and never the query text.
extension ProtectedPostgresClientTests {
    @Test("a query is a client span with the gate inside it and no query text")
    func tracedQuery() async throws {
        let cluster = try await TestPostgres.cluster()
        let tracer = W3CTestTracer()
        try await withClient(cluster.primary, name: TestPostgres.uniqueName("traced")) { client async throws in
            try await withTracer(tracer) {
                try await withSpan("caller") { _ in
                    let rows = try await client.query("SELECT 40 + 2")
                    #expect(try rows.first?.decode(Int.self) == 42)
                }
            }
        }
        let caller = try #require(tracer.spans(named: "caller").first)
        let query = try #require(tracer.spans(named: "SELECT").first)
        #expect(query.kind == .client)
        #expect(query.parentSpanID == caller.spanID && query.traceID == caller.traceID)
        #expect(query.string("db.system.name") == "postgresql")
        #expect(query.string("db.operation.name") == "SELECT")
        #expect(query.string("db.namespace") == cluster.primary.configuration.database)
        #expect(query.int("server.port") == Int64(cluster.primary.port))
        guard case .double(let gateWait)? = query.attributes.get("spillway.gate.wait_ms"),
            case .double(let acquireWait)? = query.attributes.get("spillway.acquire_wait_ms")
        else {
            Issue.record("the span has no gate and acquire waits: \(query.attributes)")
            return
        }
        #expect(gateWait >= 0 && acquireWait >= gateWait)
        var values: [String] = []
        query.attributes.forEach { name, value in values.append("\(name)=\(value)") }
        #expect(!values.contains { $0.contains("40 + 2") }, "no query text: \(values)")
        #expect(query.status == nil)

        let admission = try #require(tracer.spans(named: "spillway.admission").first)
        #expect(admission.parentSpanID == query.spanID)
        #expect(admission.string("spillway.admission.outcome") == "admitted")
    }

    @Test("a failed statement marks its span with the SQLSTATE; a transaction's span has no operation")
    func tracedFailures() async throws {
        let cluster = try await TestPostgres.cluster()
        let tracer = W3CTestTracer()
        try await withClient(cluster.primary, name: TestPostgres.uniqueName("traced-error")) { client async throws in
            try await withTracer(tracer) {
                await #expect(throws: (any Error).self) { try await client.query("SELECT 1 / 0") }
                try await client.withTransaction { connection in
                    _ = try await connection.guardedQuery("SELECT 1", logger: logger)
                }
            }
        }
        let failed = try #require(tracer.spans(named: "SELECT").first)
        #expect(failed.string("db.response.status_code") == "22012")
        #expect(failed.string("error.type") == "22012")
        #expect(failed.status?.code == .error)
        let transaction = try #require(tracer.spans(named: "postgresql").first)
        #expect(transaction.string("db.system.name") == "postgresql")
        #expect(transaction.string("db.operation.name") == nil)
        #expect(transaction.status == nil)
    }

    @Test("the operation name is the statement's first keyword as written")
    func operationNames() {
        #expect(PostgresSpanTarget.operationName(of: "  SELECT 1") == "SELECT")
        #expect(PostgresSpanTarget.operationName(of: "with x as (select 1) select * from x") == "with")
        #expect(PostgresSpanTarget.operationName(of: "(SELECT 1)") == nil)
        #expect(PostgresSpanTarget.operationName(of: "") == nil)
    }
}
