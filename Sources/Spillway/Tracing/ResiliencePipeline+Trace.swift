import Synchronization
import Tracing

extension ResiliencePipeline.Execution {
    /// The span of one traced execution (`spillway.pipeline`): where its attempts are numbered and where retries,
    /// hedges and refusals are noted as events. Only built when a tracer is active.
    final class Trace: Sendable {
        let tracer: any Tracer
        let span: any Span
        private let attempts = Atomic<Int>(0)
        private let hedged = Atomic<Bool>(false)

        init(tracer: any Tracer, span: any Span) {
            self.tracer = tracer
            self.span = span
        }

        /// The 1-based number of the attempt starting now, in the order attempts start (hedges included).
        func nextAttempt() -> Int {
            let number = attempts.wrappingAdd(1, ordering: .relaxed).newValue
            span.attributes[SpanAttributeNames.attempts] = number
            return number
        }

        /// Whether a hedging stage runs in this execution (its attempts carry `spillway.attempt.hedge`).
        var isHedged: Bool { hedged.load(ordering: .relaxed) }

        func markHedged() { hedged.store(true, ordering: .relaxed) }

        /// Adds the event `name` to the execution's span, with the attributes `fill` sets.
        func event(_ name: String, _ fill: (inout SpanAttributes) -> Void = { _ in }) {
            var attributes = SpanAttributes()
            fill(&attributes)
            span.addEvent(SpanEvent(name: name, attributes: attributes))
        }
    }
}

extension Duration {
    /// The duration in milliseconds, as span attributes carry it.
    package var spanMilliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1_000 + Double(attoseconds) / 1e15
    }
}
