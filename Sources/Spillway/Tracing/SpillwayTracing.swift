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
    /// lookup, several times the cost; `Benchmarks/Benchmarks/Hummingbird/TracingCost.swift` measures both).
    @inlinable
    package static var tracer: (any Tracer)? {
        let instrument = InstrumentationSystem.instrument
        if instrument is NoOpInstrument || instrument is NoOpTracer { return nil }
        let tracer = InstrumentationSystem.tracer
        return tracer is NoOpTracer ? nil : tracer
    }
}
