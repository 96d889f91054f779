import NIOHTTP1
import Spillway

/// A configured route at run time: its cluster, its core ``ConcurrencyLimiter`` and ``RateLimiter``, how it
/// classifies priority, and its metrics.
final class RouteRuntime: Sendable {
    let configuration: ProxyConfiguration.Route
    let cluster: UpstreamCluster
    let limiter: ConcurrencyLimiter?
    let rateLimiter: RateLimiter?
    let metrics: RouteMetrics
    /// Which round trips reach the limiter (see ``UpstreamLatencyFilter``).
    let latencyFilter: UpstreamLatencyFilter
    private let paths: [ProxyConfiguration.Route.PriorityRules.PathRule]
    /// The priority header's name in lower case, as the head's lookup wants it (lowered once, not per request).
    private let priorityHeader: String?

    var name: String { configuration.name }

    init(
        configuration: ProxyConfiguration.Route,
        cluster: UpstreamCluster,
        limiter: ConcurrencyLimiter?,
        rateLimiter: RateLimiter?,
        metrics: RouteMetrics
    ) {
        self.configuration = configuration
        self.cluster = cluster
        self.limiter = limiter
        self.rateLimiter = rateLimiter
        self.metrics = metrics
        self.latencyFilter = UpstreamLatencyFilter(discardedCounter: metrics.discardedSamples)
        self.paths = configuration.priority.paths.sorted { $0.prefix.utf8.count > $1.prefix.utf8.count }
        self.priorityHeader = configuration.priority.header.map(ClientRequestHead.lowercased)
    }

    /// Whether classifying a request needs the client's address.
    var classifiesByAddress: Bool {
        configuration.priority.clientClasses.contains { $0.addresses != nil }
    }

    /// The request's priority (see ``ProxyConfiguration/Route/PriorityRules`` for the order of the rules).
    func priority(path: Substring, head: ClientRequestHead, clientAddress: () -> String?) -> Priority {
        for rule in paths where PathPrefix.matches(rule.prefix, path: path) { return rule.priority }
        if !configuration.priority.clientClasses.isEmpty {
            let address = classifiesByAddress ? clientAddress() : nil
            for clientClass in configuration.priority.clientClasses {
                if let addresses = clientClass.addresses {
                    guard let address, addresses.contains(address) else { continue }
                }
                if let header = clientClass.header {
                    guard
                        head.values(named: header).contains(where: {
                            clientClass.values.contains($0.trimmingBlanks.lowercased())
                        })
                    else { continue }
                }
                return clientClass.priority
            }
        }
        if let header = priorityHeader, let value = head.first(lowercasedName: header),
            let priority = Priority(parsing: value)
        {
            return min(priority, configuration.priority.headerCeiling)
        }
        return configuration.priority.defaultPriority
    }
}

/// Finds the route of a request: an exact host beats a wildcard (`*.example.com`, longest suffix first), which beats
/// routes without hosts; among those, the longest path prefix wins.
struct RouteTable: Sendable {
    private var exact: [String: [RouteRuntime]] = [:]
    private var wildcards: [(suffix: String, routes: [RouteRuntime])] = []
    private var anyHost: [RouteRuntime] = []

    init(routes: [RouteRuntime]) {
        var wildcardMap: [String: [RouteRuntime]] = [:]
        for route in routes {
            if route.configuration.hosts.isEmpty { anyHost.append(route) }
            for host in route.configuration.hosts {
                if host.hasPrefix("*.") {
                    wildcardMap[String(host.dropFirst(1)), default: []].append(route)
                } else {
                    exact[host, default: []].append(route)
                }
            }
        }
        func longestFirst(_ routes: [RouteRuntime]) -> [RouteRuntime] {
            routes.sorted { $0.configuration.pathPrefix.utf8.count > $1.configuration.pathPrefix.utf8.count }
        }
        exact = exact.mapValues(longestFirst)
        wildcards = wildcardMap.map { ($0.key, longestFirst($0.value)) }.sorted { $0.suffix.count > $1.suffix.count }
        anyHost = longestFirst(anyHost)
    }

    /// The route for a request to `host` (normalized, port removed) and `path` (without query).
    func route(host: String?, path: Substring) -> RouteRuntime? {
        if let host {
            if let routes = exact[host], let route = Self.first(routes, path) { return route }
            for (suffix, routes) in wildcards where host.hasSuffix(suffix) && host.utf8.count > suffix.utf8.count {
                if let route = Self.first(routes, path) { return route }
            }
        }
        return Self.first(anyHost, path)
    }

    private static func first(_ routes: [RouteRuntime], _ path: Substring) -> RouteRuntime? {
        for route in routes where PathPrefix.matches(route.configuration.pathPrefix, path: path) { return route }
        return nil
    }
}
