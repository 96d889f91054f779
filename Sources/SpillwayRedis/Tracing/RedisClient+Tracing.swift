import NIOCore
import Spillway
import Tracing

extension RedisCommand {
    /// The command's name, as `encode(into:)` writes it (`GET`, `EVALSHA`, `SCRIPT`), for `db.operation.name`;
    /// found without encoding the arguments.
    var operationName: String {
        var encoder = RESPCommandEncoder()
        encoder.namesOnly = true
        encode(into: &encoder)
        switch encoder.firstName?.storage {
        case .string(let name): return name
        case .bytes(let bytes): return String(buffer: bytes)
        case .integer(let integer): return String(integer)
        case nil: return "UNKNOWN"
        }
    }
}

extension RedisClient {
    /// The `db.operation.name` of a pipeline (OpenTelemetry's batch rule): `BATCH NAME` when every command has the
    /// same name, `BATCH` otherwise; the command's own name for a pipeline of one.
    static func operationName(ofPipeline names: [String]) -> String {
        guard names.count != 1 else { return names[0] }
        guard let first = names.first, names.allSatisfy({ $0 == first }) else { return "BATCH" }
        return "BATCH \(first)"
    }

    /// Runs `body` inside a client span for one command or pipeline when a tracer is active (untraced otherwise),
    /// with the database semantic-convention attributes: `db.system.name` `redis`, `db.operation.name`, the
    /// server, the database index as `db.namespace` and, for a pipeline, `db.operation.batch.size`. Keys, values and
    /// arguments are never recorded. A span never changes the command's timeouts.
    ///
    /// The span fails with the error `body` throws, or with the one `failureIn` finds in its value (a pipeline
    /// returns each command's outcome instead of throwing).
    func traced<Value, Failure: Error>(
        operation: @autoclosure () -> String,
        batchSize: Int? = nil,
        failureIn: (Value) -> (any Error)? = { _ in nil },
        _ body: () async throws(Failure) -> Value
    ) async throws(Failure) -> Value {
        guard let tracer = SpillwayTracing.tracer else { return try await body() }
        let name = operation()
        let span = tracer.startSpan(name, ofKind: .client)
        defer { span.end() }
        let connection = configuration.connection
        span.attributes[DatabaseSpanAttributeNames.systemName] = "redis"
        span.attributes[DatabaseSpanAttributeNames.operationName] = name
        span.attributes[DatabaseSpanAttributeNames.serverAddress] = connection.host
        span.attributes[DatabaseSpanAttributeNames.serverPort] = connection.port
        span.attributes[DatabaseSpanAttributeNames.namespace] = String(connection.database)
        if let batchSize { span.attributes[DatabaseSpanAttributeNames.batchSize] = batchSize }
        let result = await ServiceContext.$current.withValue(span.context) { () async -> Result<Value, Failure> in
            do throws(Failure) {
                return .success(try await body())
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value):
            if let failure = failureIn(value) { Self.note(failure, on: span) }
            return value
        case .failure(let error):
            Self.note(error, on: span)
            throw error
        }
    }

    /// The first failure among a pipeline's outcomes.
    static func firstFailure<each Response>(_ results: repeat Result<each Response, any Error>) -> (any Error)? {
        var first: (any Error)?
        func check<R>(_ result: Result<R, any Error>) {
            if first == nil, case .failure(let error) = result { first = error }
        }
        repeat check(each results)
        return first
    }

    /// Records a failed command: the Redis error prefix (`ERR`, `NOSCRIPT`) as `db.response.status_code` and
    /// `error.type`, or the client error's code.
    static func note(_ error: any Error, on span: any Span) {
        switch error {
        case let error as RedisServerError:
            span.attributes[DatabaseSpanAttributeNames.responseStatusCode] = error.code.rawValue
            span.attributes[SpanAttributeNames.errorType] = error.code.rawValue
        case let error as RedisClientError:
            span.attributes[SpanAttributeNames.errorType] = error.code.label
        default:
            span.attributes[SpanAttributeNames.errorType] = String(reflecting: type(of: error))
        }
        span.setStatus(SpanStatus(code: .error))
    }
}
