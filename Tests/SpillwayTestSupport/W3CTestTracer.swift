import InMemoryTracing
import Synchronization
import Tracing

/// An in-memory tracer that propagates W3C trace context (`traceparent`, `tracestate`), for tests of span
/// parentage across HTTP hops. Sampled spans are recorded by swift-distributed-tracing's `InMemoryTracer`, with
/// W3C-shaped identifiers (32 and 16 lower-case hex digits).
///
/// Sampling is parent-based, as swift-otel's default sampler: a span follows its parent's decision (a remote
/// parent's is the `traceparent` flag), and a root span follows `sampling`. With ``Sampling/never`` every span is
/// non-recording but carries a context its children inherit, and the tracer counts what callers write into such
/// spans, which a caller that checks `isRecording` never does.
///
/// Bind it per test with `withTracer(_:_:)` (task-local, so parallel tests do not share spans); never bootstrap it.
///
/// ```swift
/// let tracer = W3CTestTracer()
/// try await withTracer(tracer) { try await client.execute(request) }
/// #expect(tracer.finishedSpans.count == 3)
/// ```
public struct W3CTestTracer: Tracer {
    public typealias Span = W3CTestSpan

    /// Whether a root span's trace is recorded.
    public enum Sampling: Sendable {
        /// Every trace (the default).
        case always
        /// No trace: every span is non-recording.
        case never
    }

    /// A span as it started, sampled or not.
    public struct StartedSpan: Sendable, Hashable {
        public var name: String
        public var traceID: String
        public var spanID: String
        public var parentSpanID: String?
        public var sampled: Bool
    }

    /// Identifiers, the spans started and the unsampled spans' counts; shared by the tracer's copies and its spans.
    final class Ledger: Sendable {
        private struct Counts {
            var started: [StartedSpan] = []
            var unsampledAttributeWrites = 0
            var unsampledEnds = 0
        }

        private let counter = Atomic<UInt64>(0)
        private let counts = Mutex(Counts())

        func nextID(width: Int) -> String {
            let digits = String(counter.wrappingAdd(1, ordering: .relaxed).newValue, radix: 16)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }

        func started(_ span: StartedSpan) { counts.withLock { $0.started.append(span) } }
        func wroteAttributesOfUnsampledSpan() { counts.withLock { $0.unsampledAttributeWrites += 1 } }
        func endedUnsampledSpan() { counts.withLock { $0.unsampledEnds += 1 } }

        var startedSpans: [StartedSpan] { counts.withLock { $0.started } }
        var unsampledAttributeWrites: Int { counts.withLock { $0.unsampledAttributeWrites } }
        var unsampledEnds: Int { counts.withLock { $0.unsampledEnds } }
    }

    private let recorder: InMemoryTracer
    private let ledger = Ledger()
    private let sampling: Sampling

    /// A tracer whose root spans are sampled according to `sampling`.
    public init(sampling: Sampling = .always) {
        self.sampling = sampling
        let ledger = self.ledger
        recorder = InMemoryTracer(
            idGenerator: .init(
                nextTraceID: { ledger.nextID(width: 32) },
                nextSpanID: { ledger.nextID(width: 16) }
            )
        )
    }

    /// The sampled spans ended so far, in the order they ended.
    public var finishedSpans: [FinishedInMemorySpan] { recorder.finishedSpans }

    /// Every span started so far, sampled or not, in the order they started.
    public var startedSpans: [StartedSpan] { ledger.startedSpans }

    /// How many times a caller wrote attributes into a non-recording span.
    public var unsampledAttributeWrites: Int { ledger.unsampledAttributeWrites }

    /// How many non-recording spans were ended.
    public var unsampledEnds: Int { ledger.unsampledEnds }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> W3CTestSpan {
        var context = context()
        let parent = context.inMemorySpanContext
        let sampled = parent == nil ? sampling == .always : context[SampledKey.self] ?? true
        let span: W3CTestSpan
        if sampled {
            span = W3CTestSpan(
                recorded: recorder.startSpan(
                    operationName,
                    context: context,
                    ofKind: kind,
                    at: instant(),
                    function: function,
                    file: fileID,
                    line: line
                )
            )
        } else {
            context.inMemorySpanContext = InMemorySpanContext(
                traceID: parent?.traceID ?? ledger.nextID(width: 32),
                spanID: ledger.nextID(width: 16),
                parentSpanID: parent?.spanID
            )
            context[SampledKey.self] = false
            span = W3CTestSpan(unsampled: context, ledger: ledger)
        }
        ledger.started(
            StartedSpan(
                name: operationName,
                traceID: span.traceID,
                spanID: span.spanID,
                parentSpanID: span.parentSpanID,
                sampled: sampled
            )
        )
        return span
    }

    public func activeSpan(identifiedBy context: ServiceContext) -> W3CTestSpan? {
        recorder.activeSpan(identifiedBy: context).map(W3CTestSpan.init(recorded:))
    }

    public func forceFlush() {}

    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext,
        into carrier: inout Carrier,
        using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let span = context.inMemorySpanContext else { return }
        let flags = context[SampledKey.self] ?? true ? "01" : "00"
        injector.inject("00-\(span.traceID)-\(span.spanID)-\(flags)", forKey: "traceparent", into: &carrier)
        if let state = context[TraceStateKey.self] { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }

    public func extract<Carrier, Extract: Extractor>(
        _ carrier: Carrier,
        into context: inout ServiceContext,
        using extractor: Extract
    ) where Extract.Carrier == Carrier {
        guard let parent = extractor.extract(key: "traceparent", from: carrier) else { return }
        let fields = parent.split(separator: "-")
        guard fields.count == 4, fields[1].count == 32, fields[2].count == 16 else { return }
        context.inMemorySpanContext = InMemorySpanContext(
            traceID: String(fields[1]),
            spanID: String(fields[2]),
            parentSpanID: nil
        )
        context[SampledKey.self] = fields[3] != "00"
        context[TraceStateKey.self] = extractor.extract(key: "tracestate", from: carrier)
    }

    private enum TraceStateKey: ServiceContextKey {
        typealias Value = String
    }

    /// The sampling decision of the span (or remote parent) in the context; absent means sampled.
    private enum SampledKey: ServiceContextKey {
        typealias Value = Bool
    }
}

extension W3CTestTracer {
    /// The finished spans named `name`, in the order they ended.
    public func spans(named name: String) -> [FinishedInMemorySpan] {
        finishedSpans.filter { $0.operationName == name }
    }
}

extension FinishedInMemorySpan {
    /// The integer attribute `name`, if the span has one.
    public func int(_ name: String) -> Int64? {
        if case .int64(let value) = attributes.get(name) { return value }
        return nil
    }

    /// The string attribute `name`, if the span has one.
    public func string(_ name: String) -> String? {
        if case .string(let value) = attributes.get(name) { return value }
        return nil
    }
}
