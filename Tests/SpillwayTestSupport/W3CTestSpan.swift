import InMemoryTracing
import Tracing

/// A span of ``W3CTestTracer``: an `InMemorySpan` when its trace is sampled; otherwise a non-recording span, as a
/// sampler that drops the trace returns (swift-otel's does), which only carries its context (trace, span and parent
/// IDs, and the sampling decision its children follow) and counts the attribute writes made into it.
public struct W3CTestSpan: Tracing.Span {
    private enum Body: Sendable {
        case recorded(InMemorySpan)
        case unsampled(ServiceContext, W3CTestTracer.Ledger)
    }

    private let body: Body

    init(recorded span: InMemorySpan) {
        body = .recorded(span)
    }

    init(unsampled context: ServiceContext, ledger: W3CTestTracer.Ledger) {
        body = .unsampled(context, ledger)
    }

    public var context: ServiceContext {
        switch body {
        case .recorded(let span): span.context
        case .unsampled(let context, _): context
        }
    }

    /// The span's trace ID (32 hex digits).
    public var traceID: String { context.inMemorySpanContext?.traceID ?? "" }
    /// The span's ID (16 hex digits).
    public var spanID: String { context.inMemorySpanContext?.spanID ?? "" }
    /// The parent span's ID, `nil` for a root span.
    public var parentSpanID: String? { context.inMemorySpanContext?.parentSpanID }

    public var isRecording: Bool {
        switch body {
        case .recorded(let span): span.isRecording
        case .unsampled: false
        }
    }

    public var operationName: String {
        get {
            switch body {
            case .recorded(let span): span.operationName
            case .unsampled: ""
            }
        }
        nonmutating set {
            if case .recorded(let span) = body { span.operationName = newValue }
        }
    }

    public var attributes: SpanAttributes {
        get {
            switch body {
            case .recorded(let span): span.attributes
            case .unsampled: [:]
            }
        }
        nonmutating set {
            switch body {
            case .recorded(let span): span.attributes = newValue
            case .unsampled(_, let ledger): ledger.wroteAttributesOfUnsampledSpan()
            }
        }
    }

    public func setStatus(_ status: SpanStatus) {
        if case .recorded(let span) = body { span.setStatus(status) }
    }

    public func addEvent(_ event: SpanEvent) {
        if case .recorded(let span) = body { span.addEvent(event) }
    }

    public func recordError<Instant: TracerInstant>(
        _ error: any Error,
        attributes: SpanAttributes,
        at instant: @autoclosure () -> Instant
    ) {
        if case .recorded(let span) = body { span.recordError(error, attributes: attributes, at: instant()) }
    }

    public func addLink(_ link: SpanLink) {
        if case .recorded(let span) = body { span.addLink(link) }
    }

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        switch body {
        case .recorded(let span): span.end(at: instant())
        case .unsampled(_, let ledger): ledger.endedUnsampledSpan()
        }
    }
}
