import Logging
import ServiceLifecycle
import Spillway

/// The first service to stop on SIGTERM: marks ``Readiness`` as draining, keeps serving for
/// ``DrainConfiguration/readinessDelay`` so load balancers notice, then lets the `ServiceGroup` stop the server.
///
/// A `ServiceGroup` shuts its services down **in reverse order**, each after the one behind it has returned, so this
/// service goes *last* in the list: `[metricsApplication, application, DrainService]` stops as
/// 1. `DrainService`: readiness turns `503`; the server still accepts and serves during the readiness delay;
/// 2. the application: Hummingbird closes its listening socket (no new connections), closes idle keep-alive
///    connections, lets in-flight requests finish and closes their connections after the response;
/// 3. the metrics application (if any), so scrapes work throughout the drain.
///
/// `ServiceGroup.draining(_:readiness:configuration:logger:)` builds that group.
public struct DrainService: Service, CustomStringConvertible {
    /// The readiness this service flips.
    public let readiness: Readiness
    /// How long to keep serving after reporting not-ready.
    public let readinessDelay: Duration
    private let clock: any SpillwayClock

    /// A drain service flipping `readiness`, then waiting `readinessDelay` on `clock`.
    public init(readiness: Readiness, readinessDelay: Duration = .zero, clock: any SpillwayClock = ContinuousClock()) {
        self.readiness = readiness
        self.readinessDelay = readinessDelay
        self.clock = clock
    }

    /// Waits for the graceful shutdown, reports draining, waits the readiness delay, and returns.
    public func run() async throws {
        try await gracefulShutdown()
        readiness.markDraining()
        if readinessDelay > .zero {
            try await clock.sleep(for: readinessDelay)
        }
    }

    /// `DrainService`.
    public var description: String { "DrainService" }
}
