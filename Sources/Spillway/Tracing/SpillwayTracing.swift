import Tracing

/// Where Spillway's spans go: the tracer of swift-distributed-tracing's `InstrumentationSystem` (the one bound by
/// `withTracer(_:_:)` for the current task, else the bootstrapped one), or none.
///
/// Every instrumented call site asks ``tracer`` once and, when it is `nil` (no tracer bootstrapped: the default),
/// runs its untraced path: no span, no attribute and no task-local binding is built, so an application that does
/// not trace pays one lookup per decision. The span names and attributes are listed in the Tracing article.
@usableFromInline
package enum SpillwayTracing {
    /// The active tracer, or `nil` when it is the no-op one.
    ///
    /// The common answer, `nil` with nothing bootstrapped, is found by comparing the active instrument's type with
    /// the two no-op types, without `InstrumentationSystem.tracer`'s cast to `any Tracer` (a protocol-conformance
    /// lookup, several times the cost; `Benchmarks/Benchmarks/Hummingbird/TracingCost.swift` measures both). Both
    /// are structs, so the type is compared for identity: a metadata pointer comparison where `is` runs the
    /// runtime's dynamic cast (about 200 instructions a check, two checks per Hummingbird request).
    ///
    /// With a tracer active, the instrument is cast to `any Tracer` once: `InstrumentationSystem.tracer` reads the
    /// instrument again and makes three casts (`is any Tracer`, `as? MultiplexInstrument`, `as? any Tracer`), and
    /// each cast is a conformance lookup of about a thousand instructions (`scripts/callgrind-hummingbird`,
    /// `spillway-sampled`). Only a `MultiplexInstrument`, which is not itself a tracer, is left to
    /// `InstrumentationSystem.tracer` to search.
    @inlinable
    package static var tracer: (any Tracer)? {
        let instrument = InstrumentationSystem.instrument
        let type = ObjectIdentifier(Swift.type(of: instrument))
        if type == ObjectIdentifier(NoOpInstrument.self) || type == ObjectIdentifier(NoOpTracer.self) { return nil }
        if let tracer = instrument as? any Tracer { return tracer }
        let tracer = InstrumentationSystem.tracer
        return ObjectIdentifier(Swift.type(of: tracer)) == ObjectIdentifier(NoOpTracer.self) ? nil : tracer
    }
}
