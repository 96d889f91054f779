import Logging
import ServiceLifecycle
import UnixSignals

/// How a Spillway service shuts down: which signals start it, how long it keeps serving after turning not-ready,
/// and the most time the whole drain may take before in-flight work is cancelled.
///
/// ```swift
/// let readiness = Readiness()
/// let group = ServiceGroup.draining(
///     [app],
///     readiness: readiness,
///     configuration: DrainConfiguration(readinessDelay: .seconds(5), maximumDrainTime: .seconds(25)),
///     logger: logger
/// )
/// try await group.run()
/// ```
public struct DrainConfiguration: Sendable {
    /// Signals that start the graceful shutdown. Default SIGTERM and SIGINT.
    public var signals: [UnixSignal]
    /// How long to keep accepting and serving after readiness turns `503`, so that load balancers stop routing
    /// first. Default zero; behind Kubernetes or a load balancer use a few seconds (their probe period).
    public var readinessDelay: Duration
    /// The most time the whole graceful shutdown may take (readiness delay included); after it, remaining
    /// requests are cancelled and their connections closed. Default 25 s, below Kubernetes' 30 s termination grace
    /// period.
    public var maximumDrainTime: Duration
    /// How long cancellation may take after ``maximumDrainTime`` before swift-service-lifecycle gives up on the
    /// process with a fatal error. Default 5 s.
    public var maximumCancellationTime: Duration

    /// A configuration; every parameter has the default documented on its property.
    public init(
        signals: [UnixSignal] = [.sigterm, .sigint],
        readinessDelay: Duration = .zero,
        maximumDrainTime: Duration = .seconds(25),
        maximumCancellationTime: Duration = .seconds(5)
    ) {
        self.signals = signals
        self.readinessDelay = readinessDelay
        self.maximumDrainTime = maximumDrainTime
        self.maximumCancellationTime = maximumCancellationTime
    }
}

extension ServiceGroup {
    /// A service group that runs `services` and drains them gracefully: on a signal from
    /// `configuration.signals` (or `triggerGracefulShutdown()`), readiness turns not-ready first, then the services
    /// stop in reverse order (see ``DrainService``), all within ``DrainConfiguration/maximumDrainTime``.
    ///
    /// Put the application that serves traffic last in `services`, and anything that must outlive it (a metrics
    /// application on its own port, database clients) before it.
    public static func draining(
        _ services: [any Service],
        readiness: Readiness,
        configuration: DrainConfiguration = DrainConfiguration(),
        logger: Logger
    ) -> ServiceGroup {
        let drain = DrainService(readiness: readiness, readinessDelay: configuration.readinessDelay)
        var groupConfiguration = ServiceGroupConfiguration(
            services: (services + [drain]).map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: configuration.signals,
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = configuration.maximumDrainTime
        groupConfiguration.maximumCancellationDuration = configuration.maximumCancellationTime
        return ServiceGroup(configuration: groupConfiguration)
    }
}
