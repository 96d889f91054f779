import CoreMetrics
import Logging
import NIOCore
import Spillway
import SpillwayRedis

/// One configuration in force: the route table and every object behind it. Immutable; a reload builds a new one
/// and swaps it in, while requests already under way finish on the one they started with.
///
/// Building from a previous runtime keeps what the change did not touch, so that a reload loses no learned state:
/// a cluster whose settings are unchanged keeps its pools, ejections and retry budget; a route whose admission
/// settings are unchanged keeps its limiter (and the limit it learned); unchanged rate-limit policies keep their
/// counters.
final class ProxyRuntime: Sendable {
    let configuration: ProxyConfiguration
    let routes: RouteTable
    let routeList: [RouteRuntime]
    let clusters: [String: UpstreamCluster]
    let redis: RedisClient?
    /// Metrics of requests refused before a route was found.
    let unmatched: RouteMetrics
    let generation: Int

    private init(
        configuration: ProxyConfiguration,
        routeList: [RouteRuntime],
        clusters: [String: UpstreamCluster],
        redis: RedisClient?,
        unmatched: RouteMetrics,
        generation: Int
    ) {
        self.configuration = configuration
        self.routeList = routeList
        self.routes = RouteTable(routes: routeList)
        self.clusters = clusters
        self.redis = redis
        self.unmatched = unmatched
        self.generation = generation
    }

    /// Builds the runtime of `configuration`, reusing what `previous` has for unchanged parts. Resolves instance
    /// host names (blocking: call it off the event loops).
    /// - Throws: ``ProxyConfigurationError`` when a host name does not resolve or a policy cannot be built.
    static func build(
        _ configuration: ProxyConfiguration,
        previous: ProxyRuntime?,
        eventLoops: [any EventLoop],
        eventLoopGroup: any EventLoopGroup,
        metricsFactory: any MetricsFactory,
        logger: Logger
    ) throws(ProxyConfigurationError) -> ProxyRuntime {
        var clusters: [String: UpstreamCluster] = [:]
        for cluster in configuration.clusters {
            if let old = previous?.clusters[cluster.name], old.configuration == cluster {
                clusters[cluster.name] = old
                continue
            }
            var addresses: [SocketAddress] = []
            for instance in cluster.instances {
                do {
                    addresses.append(try SocketAddress.makeAddressResolvingHost(instance.host, port: instance.port))
                } catch {
                    throw ProxyConfigurationError(
                        .invalidValue,
                        key: "clusters.\(cluster.name).instances",
                        "cannot resolve \(instance): \(error)"
                    )
                }
            }
            clusters[cluster.name] = UpstreamCluster(
                configuration: cluster,
                socketAddresses: addresses,
                eventLoops: eventLoops,
                metricsFactory: metricsFactory
            )
        }

        let redis: RedisClient?
        if let settings = configuration.redis {
            if let old = previous?.redis, previous?.configuration.redis?.address == settings.address {
                redis = old
            } else {
                redis = RedisClient(
                    configuration: RedisClientConfiguration(
                        connection: RedisConnectionConfiguration(
                            host: settings.address.host,
                            port: settings.address.port
                        )
                    ),
                    eventLoopGroup: eventLoopGroup,
                    logger: logger
                )
            }
        } else {
            redis = nil
        }

        var routes: [RouteRuntime] = []
        for route in configuration.routes {
            let old = previous?.routeList.first { $0.name == route.name }
            let cluster = clusters[route.cluster]!
            var limiter: ConcurrencyLimiter? = nil
            if let admission = route.admission {
                if let old, old.configuration.admission == admission, let oldLimiter = old.limiter {
                    limiter = oldLimiter
                } else {
                    var limiterConfiguration = ConcurrencyLimiter.Configuration(name: route.name)
                    limiterConfiguration.queue = admission.queue
                    limiterConfiguration.rejectsUnmeetableDeadlines = admission.rejectsUnmeetableDeadlines
                    limiterConfiguration.metricsFactory = metricsFactory
                    limiter = ConcurrencyLimiter(configuration: limiterConfiguration)
                }
            }
            var rateLimiter: RateLimiter? = nil
            if let old, old.configuration.rateLimits == route.rateLimits,
                previous?.configuration.clientAddresses == configuration.clientAddresses,
                previous?.configuration.redis == configuration.redis
            {
                rateLimiter = old.rateLimiter
            } else {
                do {
                    rateLimiter = try RateLimitPolicies.limiter(
                        route: route.name,
                        policies: route.rateLimits,
                        resolver: configuration.clientAddresses,
                        redis: redis,
                        redisTimeout: configuration.redis?.timeout ?? .milliseconds(50),
                        metricsFactory: metricsFactory
                    )
                } catch {
                    throw ProxyConfigurationError(.invalidValue, key: "routes.\(route.name).rate_limits", error.message)
                }
            }
            routes.append(
                RouteRuntime(
                    configuration: route,
                    cluster: cluster,
                    limiter: limiter,
                    rateLimiter: rateLimiter,
                    metrics: old?.metrics ?? RouteMetrics(route: route.name, factory: metricsFactory)
                )
            )
        }
        return ProxyRuntime(
            configuration: configuration,
            routeList: routes,
            clusters: clusters,
            redis: redis,
            unmatched: previous?.unmatched ?? RouteMetrics(route: "none", factory: metricsFactory),
            generation: (previous?.generation ?? 0) + 1
        )
    }

    /// Starts what is new in this runtime compared with `previous` (pools' sweeps, health checks).
    func start(comparedWith previous: ProxyRuntime?) {
        for cluster in clusters.values where previous?.clusters[cluster.configuration.name] !== cluster {
            cluster.start()
        }
    }

    /// Retires what `next` no longer uses (clusters, a Redis client); everything when `next` is `nil`.
    func retire(replacedBy next: ProxyRuntime?) async {
        for cluster in clusters.values where next?.clusters[cluster.configuration.name] !== cluster {
            cluster.retire()
        }
        if let redis, next?.redis !== redis {
            await redis.shutdown()
        }
    }
}
