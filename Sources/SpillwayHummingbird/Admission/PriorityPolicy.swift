import HTTPTypes
import Hummingbird
import Spillway

/// How the admission middleware picks a request's ``Priority``: per route first, then a request header, then a
/// default.
///
/// 1. If the matched route (Hummingbird's endpoint path, such as `/reports/{id}`) has an entry in ``routes``, that
///    priority applies: the server decides, whatever the client sends.
/// 2. Otherwise, if ``header`` is set and the request carries a value that ``Priority/init(parsing:)`` accepts, that
///    priority applies, capped at ``headerCeiling`` so that a client cannot promote itself above normal traffic.
/// 3. Otherwise ``defaultPriority``.
///
/// ```swift
/// var policy = PriorityPolicy()
/// policy.routes = ["/checkout": .criticalPlus, "/reports/{id}": .sheddable]
/// let admission = AdmissionMiddleware<BasicRequestContext>(limiter: limiter, priority: policy)
/// ```
///
/// A route group can also get its own middleware instance (sharing the limiter) with another ``defaultPriority``.
public struct PriorityPolicy: Sendable {
    /// The priority of a request that neither a route entry nor the header classifies. Default ``Priority/critical``.
    public var defaultPriority: Priority
    /// The request header that carries a priority; `nil` ignores headers. Default ``defaultHeaderName``.
    public var header: HTTPField.Name?
    /// The highest priority a header may claim; higher values are lowered to it. Default ``Priority/critical``, so
    /// ``Priority/criticalPlus`` comes only from route configuration.
    public var headerCeiling: Priority
    /// Priorities by route, keyed by the path the route was registered with (`/reports/{id}` or `reports/:id`;
    /// keys are normalised like Hummingbird's `RouterPath`).
    public var routes: [String: Priority] {
        get { normalizedRoutes }
        set { normalizedRoutes = Self.normalize(newValue) }
    }

    private var normalizedRoutes: [String: Priority]

    /// The header read by default: `x-request-priority`.
    public static let defaultHeaderName = HTTPField.Name("x-request-priority")!

    /// A policy; every parameter has the default documented on its property.
    public init(
        defaultPriority: Priority = .critical,
        header: HTTPField.Name? = PriorityPolicy.defaultHeaderName,
        headerCeiling: Priority = .critical,
        routes: [String: Priority] = [:]
    ) {
        self.defaultPriority = defaultPriority
        self.header = header
        self.headerCeiling = headerCeiling
        self.normalizedRoutes = Self.normalize(routes)
    }

    /// A policy that gives every request `priority` and ignores headers: for a route group's own middleware.
    public static func fixed(_ priority: Priority) -> PriorityPolicy {
        PriorityPolicy(defaultPriority: priority, header: nil)
    }

    /// The priority of `request`, matched to the route `endpointPath` (`context.endpointPath`).
    public func priority(for request: Request, endpointPath: @autoclosure () -> String?) -> Priority {
        priority(headerValue: header.flatMap { request.headers[$0] }, endpointPath: endpointPath())
    }

    /// The priority of a request whose ``header`` has `headerValue`, matched to the route `endpointPath`.
    func priority(headerValue: String?, endpointPath: @autoclosure () -> String?) -> Priority {
        if !normalizedRoutes.isEmpty, let path = endpointPath(), let priority = normalizedRoutes[path] {
            return priority
        }
        if let headerValue, let priority = Priority(parsing: headerValue) {
            return min(priority, headerCeiling)
        }
        return defaultPriority
    }

    private static func normalize(_ routes: [String: Priority]) -> [String: Priority] {
        var result: [String: Priority] = [:]
        for (path, priority) in routes {
            result[RouterPath(path).description] = priority
        }
        return result
    }
}
