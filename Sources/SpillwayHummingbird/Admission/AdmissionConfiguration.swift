import HTTPTypes
import Hummingbird
import Spillway

/// How ``AdmissionMiddleware`` classifies requests (``PriorityPolicy``) and how it reports each finished request to
/// the limit algorithm.
///
/// Every admitted request's permit is released with a ``PermitOutcome`` derived from the response status:
///
/// | status | outcome | why |
/// |---|---|---|
/// | 1xx, 2xx, 3xx | ``PermitOutcome/success`` | a valid latency sample |
/// | 502, 503, 504 | ``PermitOutcome/dropped`` | a dependency refused or timed out: the algorithm may back off |
/// | other 4xx and 5xx | ``PermitOutcome/ignored`` | client errors and bugs say nothing about load |
///
/// A `500` is *ignored*, not dropped, on purpose: a bug that fails fast on one route must not shrink the limit and
/// shed healthy routes. A thrown error counts as its `HTTPResponseError` status (`500` otherwise); cancellation and a
/// failed body write (the client went away) are ignored. With ``dropsLateResponses``, a success that finishes after
/// the request's deadline (``Deadline/current``) is reported as dropped: the caller had given up, so the work was a
/// timeout as far as the algorithm is concerned. What a drop does is the algorithm's: ``AIMDLimit`` always backs
/// off; the default ``InflightGradientLimit`` only when the same window's on-time requests are slower than its
/// baseline too (a handler's own fast `503` for a dead dependency says nothing about this server's load).
///
/// ```swift
/// var configuration = AdmissionConfiguration()
/// configuration.priority.routes = ["/reports/{id}": .sheddable]
/// configuration.classify = { status in status == .tooManyRequests ? .dropped : AdmissionConfiguration.defaultClassification(status) }
/// ```
public struct AdmissionConfiguration: Sendable {
    /// How a request's priority is chosen. Default: `x-request-priority` header capped at `critical`, else
    /// `critical`.
    public var priority: PriorityPolicy
    /// Maps a response status to the outcome reported to the limit algorithm. Default ``defaultClassification(_:)``.
    public var classify: @Sendable (HTTPResponse.Status) -> PermitOutcome
    /// Report a success that completes after the request's deadline as ``PermitOutcome/dropped``. Default `true`.
    public var dropsLateResponses: Bool

    /// A configuration; every parameter has the default documented on its property.
    public init(
        priority: PriorityPolicy = PriorityPolicy(),
        classify: @escaping @Sendable (HTTPResponse.Status) -> PermitOutcome = AdmissionConfiguration
            .defaultClassification,
        dropsLateResponses: Bool = true
    ) {
        self.priority = priority
        self.classify = classify
        self.dropsLateResponses = dropsLateResponses
    }

    /// The default status classification (see the table above).
    @Sendable
    public static func defaultClassification(_ status: HTTPResponse.Status) -> PermitOutcome {
        switch status.code {
        case 100..<400: .success
        case 502, 503, 504: .dropped
        default: .ignored
        }
    }

    /// The outcome of a handler that threw `error`.
    func outcome(for error: any Error) -> PermitOutcome {
        if let error = error as? any HTTPResponseError {
            return classify(error.status)
        }
        if error is CancellationError || Task.isCancelled {
            return .ignored
        }
        return classify(.internalServerError)
    }
}
