import Spillway

/// The modelled service the lab overloads: `slots` units of a bottleneck resource (think database connections),
/// each busy for ``serviceTime`` per request, and a downstream dependency for the `/dependent` route.
///
/// Capacity is `slots / serviceTime` requests per second. Service times are slept, not computed, and at least
/// 20 ms, so capacity is a property of the model and not CPU noise on a shared machine.
///
/// ```swift
/// let configuration = VictimConfiguration(slots: 2, serviceTime: .milliseconds(40))
/// configuration.capacity   // 50 requests per second
/// ```
package struct VictimConfiguration: Sendable, Hashable {
    /// Concurrent units of the bottleneck resource (default 2).
    package var slots: Int
    /// How long one request holds a slot (default 40 ms).
    package var serviceTime: Duration
    /// How long the healthy dependency takes to answer `/dependent` calls, while the slot stays held (default 10 ms).
    package var dependencyLatency: Duration

    /// A configuration; throws when `slots` is below 1 or `serviceTime` is below 20 ms.
    package init(
        slots: Int = 2,
        serviceTime: Duration = .milliseconds(40),
        dependencyLatency: Duration = .milliseconds(10)
    ) throws(LabError) {
        guard slots >= 1, slots <= 10_000 else {
            throw LabError(.invalidArgument, "the victim needs between 1 and 10000 slots, got \(slots)")
        }
        guard serviceTime >= .milliseconds(20), serviceTime <= .seconds(10) else {
            throw LabError(
                .invalidArgument,
                "the service time must be between 20 ms and 10 s (below 20 ms capacity becomes CPU noise), got \(serviceTime)"
            )
        }
        guard dependencyLatency >= .zero, dependencyLatency <= .seconds(10) else {
            throw LabError(
                .invalidArgument,
                "the dependency latency must be between 0 and 10 s, got \(dependencyLatency)"
            )
        }
        self.slots = slots
        self.serviceTime = serviceTime
        self.dependencyLatency = dependencyLatency
    }

    /// Requests per second the victim completes when every slot is busy: `slots / serviceTime`.
    package var capacity: Double { Double(slots) / serviceTime.seconds }
}
