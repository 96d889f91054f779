import PostgresNIO
import Spillway
import Tracing

/// Where a traced call's span is, and what the server is, for the attributes of ``ProtectedPostgresClient``'s spans.
struct PostgresSpanTarget: Sendable {
    var host: String?
    var port: Int?
    var database: String?

    init(_ postgres: PostgresClient.Configuration) {
        host = postgres.host ?? postgres.unixSocketPath
        port = postgres.port
        database = postgres.database
    }

    /// Starts the client span of one call: named after the statement's first keyword (`SELECT`) for
    /// `query(_:)`, `postgresql` for `withConnection` and `withTransaction` (the statements are the caller's), with
    /// the database semantic-convention attributes. Neither the query text nor its parameters are recorded.
    func startSpan(_ tracer: any Tracer, operation: String?) -> any Span {
        let span = tracer.startSpan(operation ?? "postgresql", ofKind: .client)
        span.attributes[DatabaseSpanAttributeNames.systemName] = "postgresql"
        if let operation { span.attributes[DatabaseSpanAttributeNames.operationName] = operation }
        if let host { span.attributes[DatabaseSpanAttributeNames.serverAddress] = host }
        if let port { span.attributes[DatabaseSpanAttributeNames.serverPort] = port }
        if let database { span.attributes[DatabaseSpanAttributeNames.namespace] = database }
        return span
    }

    /// Records how a call failed: the SQLSTATE as `db.response.status_code` and `error.type` for an error the
    /// server reported, the refusal reason or the client's error code otherwise.
    static func note(_ error: any Error, on span: any Span) {
        if let state = CallOutcome.sqlState(of: error) {
            span.attributes[DatabaseSpanAttributeNames.responseStatusCode] = state
            span.attributes[SpanAttributeNames.errorType] = state
        } else if let rejection = error as? AdmissionRejection {
            span.attributes[SpanAttributeNames.errorType] = rejection.reason.label
        } else if let error = error as? ProtectedPostgresError {
            span.attributes[SpanAttributeNames.errorType] = error.code.label
        } else {
            span.attributes[SpanAttributeNames.errorType] = String(reflecting: type(of: error))
        }
        span.setStatus(SpanStatus(code: .error))
    }

    /// The operation name of a statement: its first keyword as written (`SELECT`, `with`), if it starts with one.
    static func operationName(of sql: String) -> String? {
        let keyword = sql.drop { $0.isWhitespace }.prefix { $0.isLetter }
        return keyword.isEmpty ? nil : String(keyword)
    }
}
