import Synchronization
import Tracing

/// The tracer of the tracing modes: samples one trace in `every` at its root (children follow their root's choice,
/// as a parent-based sampler does), records sampled spans — attributes, events, status, timestamps — in a span
/// object, and on `end` hands them to a bounded buffer, as an exporter's batch processor would before serialising.
/// Unsampled spans record nothing. What it does not do (serialise and send) is the exporter's cost, not Spillway's.
final class SamplingTracer: Tracer, Sendable {
    typealias Span = SampledSpan

    private let every: UInt64
    private let roots = Atomic<UInt64>(0)
    private let nextID = Atomic<UInt64>(0)
    private let buffer = Mutex<[SampledSpan.Finished]>([])
    private let bufferLimit = 4_096
    private let exported = Atomic<Int>(0)

    init(every: UInt64) {
        self.every = every
    }

    func startSpan<Instant: TracerInstant>(
        _ operationName: String,
        context: @autoclosure () -> ServiceContext,
        ofKind kind: SpanKind,
        at instant: @autoclosure () -> Instant,
        function: String,
        file fileID: String,
        line: UInt
    ) -> SampledSpan {
        var context = context()
        let parent = context[SampledSpan.Key.self]
        let sampled = parent?.sampled ?? (roots.wrappingAdd(1, ordering: .relaxed).oldValue % every == 0)
        let identity = SampledSpan.Identity(
            spanID: nextID.wrappingAdd(1, ordering: .relaxed).newValue,
            parentID: parent?.spanID,
            sampled: sampled
        )
        context[SampledSpan.Key.self] = identity
        return SampledSpan(
            name: operationName,
            kind: kind,
            context: context,
            start: instant().nanosecondsSinceEpoch,
            recorder: sampled ? self : nil
        )
    }

    func record(_ span: SampledSpan.Finished) {
        let flushed = buffer.withLock { buffer -> Int in
            buffer.append(span)
            guard buffer.count >= bufferLimit else { return 0 }
            defer { buffer.removeAll(keepingCapacity: true) }
            return buffer.count
        }
        if flushed > 0 { exported.add(flushed, ordering: .relaxed) }
    }

    func forceFlush() {}

    func inject<Carrier, Inject: Injector>(_: ServiceContext, into _: inout Carrier, using _: Inject)
    where Inject.Carrier == Carrier {}

    func extract<Carrier, Extract: Extractor>(_: Carrier, into _: inout ServiceContext, using _: Extract)
    where Extract.Carrier == Carrier {}
}

/// A span of ``SamplingTracer``: a lock-protected record when sampled, inert otherwise.
struct SampledSpan: Tracing.Span {
    struct Identity: Sendable {
        var spanID: UInt64
        var parentID: UInt64?
        var sampled: Bool
    }

    enum Key: ServiceContextKey {
        typealias Value = Identity
    }

    struct Finished: Sendable {
        var name: String
        var kind: SpanKind
        var attributes: SpanAttributes
        var events: [SpanEvent]
        var status: SpanStatus?
        var start: UInt64
        var end: UInt64
    }

    private final class Storage: Sendable {
        let state: Mutex<Finished>
        let recorder: SamplingTracer

        init(_ finished: Finished, recorder: SamplingTracer) {
            state = Mutex(finished)
            self.recorder = recorder
        }
    }

    let context: ServiceContext
    private let storage: Storage?

    init(name: String, kind: SpanKind, context: ServiceContext, start: UInt64, recorder: SamplingTracer?) {
        self.context = context
        self.storage = recorder.map {
            Storage(
                Finished(name: name, kind: kind, attributes: [:], events: [], status: nil, start: start, end: 0),
                recorder: $0
            )
        }
    }

    var isRecording: Bool { storage != nil }

    var operationName: String {
        get { storage?.state.withLock { $0.name } ?? "" }
        nonmutating set { storage?.state.withLock { $0.name = newValue } }
    }

    var attributes: SpanAttributes {
        get { storage?.state.withLock { $0.attributes } ?? [:] }
        nonmutating set { storage?.state.withLock { $0.attributes = newValue } }
    }

    func setStatus(_ status: SpanStatus) { storage?.state.withLock { $0.status = status } }

    func addEvent(_ event: SpanEvent) { storage?.state.withLock { $0.events.append(event) } }

    func recordError<Instant: TracerInstant>(
        _ error: any Error,
        attributes: SpanAttributes,
        at instant: @autoclosure () -> Instant
    ) {
        guard let storage else { return }
        var attributes = attributes
        attributes["exception.type"] = String(describing: type(of: error))
        let event = SpanEvent(name: "exception", at: instant(), attributes: attributes)
        storage.state.withLock { $0.events.append(event) }
    }

    func addLink(_ link: SpanLink) {}

    func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard let storage else { return }
        let end = instant().nanosecondsSinceEpoch
        let finished = storage.state.withLock { state in
            state.end = end
            return state
        }
        storage.recorder.record(finished)
    }
}
