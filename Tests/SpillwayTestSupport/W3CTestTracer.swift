import InMemoryTracing
import Synchronization
import Tracing

/// An in-memory tracer that propagates W3C trace context (`traceparent`, `tracestate`), for tests of span
/// parentage across HTTP hops. Spans are recorded by swift-distributed-tracing's `InMemoryTracer`, with W3C-shaped
/// identifiers (32 and 16 lower-case hex digits).
///
/// Bind it per test with `withTracer(_:_:)` (task-local, so parallel tests do not share spans); never bootstrap it.
///
/// ```swift
/// let tracer = W3CTestTracer()
/// try await withTracer(tracer) { try await client.execute(request) }
/// #expect(tracer.finishedSpans.count == 3)
/// ```
public struct W3CTestTracer: Tracer {
    public typealias Span = InMemorySpan

    private let recorder: InMemoryTracer

    public init() {
        let counter = Atomic<UInt64>(0)
        @Sendable func next() -> UInt64 { counter.wrappingAdd(1, ordering: .relaxed).newValue }
        recorder = InMemoryTracer(
            idGenerator: .init(
                nextTraceID: { Self.hex(next(), width: 32) },
                nextSpanID: { Self.hex(next(), width: 16) }
            )
        )
    }

    /// The spans ended so far, in the order they ended.
    public var finishedSpans: [FinishedInMemorySpan] { recorder.finishedSpans }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> InMemorySpan {
        recorder.startSpan(
            operationName,
            context: context(),
            ofKind: kind,
            at: instant(),
            function: function,
            file: fileID,
            line: line
        )
    }

    public func activeSpan(identifiedBy context: ServiceContext) -> InMemorySpan? {
        recorder.activeSpan(identifiedBy: context)
    }

    public func forceFlush() {}

    public func inject<Carrier, Inject: Injector>(
        _ context: ServiceContext,
        into carrier: inout Carrier,
        using injector: Inject
    ) where Inject.Carrier == Carrier {
        guard let span = context.inMemorySpanContext else { return }
        injector.inject("00-\(span.traceID)-\(span.spanID)-01", forKey: "traceparent", into: &carrier)
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
        context[TraceStateKey.self] = extractor.extract(key: "tracestate", from: carrier)
    }

    private static func hex(_ value: UInt64, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private enum TraceStateKey: ServiceContextKey {
        typealias Value = String
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
