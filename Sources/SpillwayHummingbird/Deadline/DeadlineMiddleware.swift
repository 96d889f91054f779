import HTTPTypes
import Hummingbird
import Spillway

/// Gives every request the caller's deadline: parses the inbound timeout header, refuses requests whose budget is
/// already spent, and runs the rest of the chain inside ``Deadline/withDeadline(_:isolation:operation:)``.
///
/// Handlers, ``AdmissionMiddleware`` and outbound calls (`SpillwayHTTPClient` sends the remaining budget downstream)
/// all see ``Deadline/current``. A budget that is already spent (`x-request-timeout-ms: 0`, or under
/// ``DeadlineConfiguration/minimumTimeout``) is refused before any work with `504 Gateway Timeout`
/// (``SpillwayHTTPError/Code/deadlineExceeded``, reason `expired_on_arrival`, no `Retry-After`): the caller has
/// given up, and a `503` would invite a retry that cannot succeed either. A deadline already in force (an outer
/// middleware or test) combines with the header's: the earliest wins.
///
/// Put it before ``AdmissionMiddleware`` so admission is deadline-aware (``SpillwayMiddleware`` runs the same step
/// first):
///
/// ```swift
/// router.add(middleware: DeadlineMiddleware())
/// router.add(middleware: AdmissionMiddleware(limiter: limiter))
/// router.get("/search") { _, _ in
///     let left = Deadline.current?.remaining(now: .now)   // nil when the caller sent no budget
///     ...
/// }
/// ```
public struct DeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Header names, default, maximum and minimum budget.
    public let configuration: DeadlineConfiguration
    private let pipeline: RequestPipeline

    /// A deadline middleware reading budgets as `configuration` says, measuring them on `clock`.
    public init(
        configuration: DeadlineConfiguration = DeadlineConfiguration(),
        clock: any SpillwayClock = ContinuousClock()
    ) {
        self.configuration = configuration
        self.pipeline = RequestPipeline(deadlines: configuration, clock: clock)
    }

    /// Sets ``Deadline/current`` for the rest of the chain, or throws ``SpillwayHTTPError`` when it already passed.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await pipeline.handle(request, context: context, next: next)
    }
}
