import Foundation
import Synchronization
import Tracing

/// What Spillway's untraced path adds to each decision: the active-tracer lookup every instrumented call site makes
/// while no tracer is bootstrapped (the negative path of `SpillwayTracing.tracer`, which is `package` and so
/// restated here: the active instrument compared with the two no-op types), beside `InstrumentationSystem.tracer`
/// (what a plain `is NoOpTracer` check would cost) and a `withSpan` on the no-op tracer (what unconditional spans
/// would cost). An uncontended `Mutex` increment runs in the same process as the unit, since on a shared machine
/// only ratios mean anything. Prints nanoseconds per call and the ratio to the mutex.
///
///   HummingbirdOverhead tracing-cost
func printTracingCost(iterations: Int = 2_000_000) {
    let clock = ContinuousClock()
    let counter = Mutex(0)
    var found = 0
    let mutex = clock.measure {
        for _ in 0..<iterations { counter.withLock { $0 &+= 1 } }
    }
    let gate = clock.measure {
        for _ in 0..<iterations {
            let instrument = InstrumentationSystem.instrument
            let type = ObjectIdentifier(Swift.type(of: instrument))
            if !(type == ObjectIdentifier(NoOpInstrument.self) || type == ObjectIdentifier(NoOpTracer.self)) {
                found &+= 1
            }
        }
    }
    let tracer = clock.measure {
        for _ in 0..<iterations where !(InstrumentationSystem.tracer is NoOpTracer) { found &+= 1 }
    }
    let noOpSpan = clock.measure {
        for _ in 0..<iterations { withSpan("spillway.attempt") { _ in found &+= 1 } }
    }
    func nanoseconds(_ duration: Duration) -> Double {
        (Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9)
            / Double(iterations)
    }
    func line(_ name: String, _ duration: Duration) -> String {
        String(
            format: "%@: %.1f ns/call (%.1f× a mutex increment)",
            name,
            nanoseconds(duration),
            nanoseconds(duration) / nanoseconds(mutex)
        )
    }
    print(line("mutex increment (unit)", mutex))
    print(line("Spillway's untraced check", gate))
    print(line("InstrumentationSystem.tracer is NoOpTracer", tracer))
    print(line("withSpan on the no-op tracer", noOpSpan))
    print("(\(found) traced; \(counter.withLock { $0 }) increments)")
}
