import Tracing

/// The spans of a job's life (issue 17, "jobs: enqueue → claim → attempts → DLQ, linked"), when a tracer is
/// active; nothing at all otherwise.
///
/// - `spillway.jobs.enqueue` (producer): a child of the caller's span. Its W3C `traceparent` is stored in the job's
///   row, so the trace survives the queue, a restart and another process.
/// - `spillway.jobs.attempt` (consumer): one per attempt, in a trace of its own, with a link to the enqueue span
///   (as OpenTelemetry's messaging conventions link a consumer to its producer); the handler runs inside it, so its
///   own spans are children of the attempt. Its `spillway.jobs.outcome` says how the attempt ended; the move to
///   the dead-letter queue is its event `spillway.jobs.dead_lettered`.
enum JobTracing {
    static let enqueueSpan = "spillway.jobs.enqueue"
    static let attemptSpan = "spillway.jobs.attempt"
    static let deadLetteredEvent = "spillway.jobs.dead_lettered"

    static let queue = "spillway.jobs.queue"
    static let kind = "spillway.jobs.kind"
    static let id = "spillway.jobs.id"
    static let duplicate = "spillway.jobs.duplicate"
    static let attemptNumber = "spillway.jobs.attempt"
    static let maxAttempts = "spillway.jobs.max_attempts"
    static let outcome = "spillway.jobs.outcome"
    static let error = "spillway.jobs.error"

    /// The span of the attempt the current task runs, while a tracer is active (the pool records the outcome and
    /// the dead-letter event on it).
    @TaskLocal static var attempt: (any Span)?

    /// The `traceparent` `tracer` writes for `context`, or `nil` when it writes none.
    static func traceparent(of context: ServiceContext, tracer: any Tracer) -> String? {
        var carrier: [String: String] = [:]
        tracer.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"]
    }

    /// The context `tracer` reads from a stored `traceparent`, or `nil` when it reads none from it.
    static func context(fromTraceparent traceparent: String, tracer: any Tracer) -> ServiceContext? {
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": traceparent], into: &context, using: DictionaryExtractor())
        // What the tracer read is opaque to us: it read a span context when it can write one back.
        return self.traceparent(of: context, tracer: tracer) == nil ? nil : context
    }

    private struct DictionaryInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            carrier[key] = value
        }
    }

    private struct DictionaryExtractor: Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? {
            carrier[key]
        }
    }
}
