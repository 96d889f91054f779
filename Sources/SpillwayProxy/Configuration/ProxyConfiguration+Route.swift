import Spillway
import SpillwayRedis

extension ProxyConfiguration {
    /// Which requests go to which cluster, and the protection in front of it: rate limits, then adaptive admission
    /// with a priority queue.
    ///
    /// A request matches a route when its `Host` (port ignored, case-insensitive) is one of ``hosts`` — an exact name,
    /// or `*.example.com` for any subdomain; an empty list matches every host — and its path starts with
    /// ``pathPrefix`` at a segment boundary (`/api` matches `/api` and `/api/x`, not `/apix`). Among the matching
    /// routes, an exact host beats a wildcard, which beats no host, and then the longest prefix wins.
    ///
    /// ```swift
    /// var route = ProxyConfiguration.Route(name: "api", pathPrefix: "/api", cluster: "app")
    /// route.priority.paths = [.init(prefix: "/api/reports", priority: .sheddable)]
    /// ```
    public struct Route: Sendable, Hashable {
        /// The route's name: the `route` and `limiter` dimension of metrics (1-64 characters from `A-Z a-z 0-9 - _ .`).
        public var name: String
        /// Host names this route serves; empty serves every host.
        public var hosts: [String]
        /// The path prefix. Default `/`.
        public var pathPrefix: String
        /// The cluster requests go to.
        public var cluster: String
        /// Adaptive admission; `nil` forwards without a limit.
        public var admission: Admission?
        /// How a request's priority is chosen.
        public var priority: PriorityRules
        /// Rate-limit policies, checked in order before admission.
        public var rateLimits: [RateLimit]
        /// Add `RateLimit-Policy` and `RateLimit` to allowed responses too (429s always carry them). Default `true`.
        public var rateLimitHeaders: Bool

        /// A route; every parameter not given has the default documented on its property.
        public init(
            name: String,
            hosts: [String] = [],
            pathPrefix: String = "/",
            cluster: String,
            admission: Admission? = Admission(),
            priority: PriorityRules = PriorityRules(),
            rateLimits: [RateLimit] = [],
            rateLimitHeaders: Bool = true
        ) {
            self.name = name
            self.hosts = hosts
            self.pathPrefix = pathPrefix
            self.cluster = cluster
            self.admission = admission
            self.priority = priority
            self.rateLimits = rateLimits
            self.rateLimitHeaders = rateLimitHeaders
        }

        /// Adaptive admission: the library's default limit algorithm (``ConcurrencyLimiter/Configuration``) learns
        /// how many requests the cluster serves at once; the rest wait in a short priority queue (CoDel; adaptive
        /// LIFO on request) or are refused at once with `503` and `Retry-After`, or `504` when their deadline cannot
        /// be met.
        public struct Admission: Sendable, Hashable {
            /// The wait queue. Default: the library's (128 waiters, 1 s, CoDel 5 ms / 100 ms, FIFO: adaptive LIFO
            /// off).
            public var queue: ConcurrencyLimiter.QueueConfiguration
            /// Refuse at once a request whose deadline the expected wait would miss. Default `true`.
            public var rejectsUnmeetableDeadlines: Bool

            /// Admission with the library's defaults.
            public init(
                queue: ConcurrencyLimiter.QueueConfiguration = ConcurrencyLimiter.Configuration().queue,
                rejectsUnmeetableDeadlines: Bool = ConcurrencyLimiter.Configuration().rejectsUnmeetableDeadlines
            ) {
                self.queue = queue
                self.rejectsUnmeetableDeadlines = rejectsUnmeetableDeadlines
            }
        }

        /// How a request's ``Priority`` is chosen, first rule that applies:
        /// 1. the longest matching entry of ``paths`` (the operator decides, whatever the client sends);
        /// 2. the first matching entry of ``clientClasses`` (by client address, or a header value such as a plan);
        /// 3. the ``header`` (default `x-request-priority`), capped at ``headerCeiling`` so that a client cannot
        ///    promote itself above normal traffic;
        /// 4. ``defaultPriority``.
        public struct PriorityRules: Sendable, Hashable {
            /// The priority when no rule applies. Default ``Priority/critical``.
            public var defaultPriority: Priority
            /// The request header carrying a priority (`critical_plus`, `critical`, `sheddable_plus`, `sheddable`
            /// or `3`…`0`); `nil` ignores headers. Default `x-request-priority`.
            public var header: String?
            /// The highest priority a header may claim. Default ``Priority/critical``.
            public var headerCeiling: Priority
            /// Priorities by path prefix.
            public var paths: [PathRule]
            /// Priorities by client class.
            public var clientClasses: [ClientClass]

            /// Rules; every parameter has the default documented on its property.
            public init(
                defaultPriority: Priority = .critical,
                header: String? = "x-request-priority",
                headerCeiling: Priority = .critical,
                paths: [PathRule] = [],
                clientClasses: [ClientClass] = []
            ) {
                self.defaultPriority = defaultPriority
                self.header = header
                self.headerCeiling = headerCeiling
                self.paths = paths
                self.clientClasses = clientClasses
            }

            /// A path prefix and its priority.
            public struct PathRule: Sendable, Hashable {
                /// Matched at a segment boundary, like a route's prefix.
                public var prefix: String
                /// The priority of matching requests.
                public var priority: Priority

                /// A rule.
                public init(prefix: String, priority: Priority) {
                    self.prefix = prefix
                    self.priority = priority
                }
            }

            /// A class of clients: by address (after trusted proxies) and/or a header value; all given conditions
            /// must hold.
            public struct ClientClass: Sendable, Hashable {
                /// The class's name, for logs and errors.
                public var name: String
                /// Client addresses or CIDR ranges; `nil` matches any address.
                public var addresses: TrustedProxies?
                /// A header and the values that match (compared case-insensitively); `nil` matches any request.
                public var header: String?
                /// The values of ``header`` that match.
                public var values: [String]
                /// The priority of the class's requests.
                public var priority: Priority

                /// A client class.
                public init(
                    name: String,
                    addresses: TrustedProxies? = nil,
                    header: String? = nil,
                    values: [String] = [],
                    priority: Priority
                ) {
                    self.name = name
                    self.addresses = addresses
                    self.header = header
                    self.values = values
                    self.priority = priority
                }
            }
        }

        /// One rate-limit policy (a ``RateLimitPolicy`` of the core): whom to count, how much, and where.
        public struct RateLimit: Sendable, Hashable {
            /// Whom a policy counts.
            public enum Key: Sendable, Hashable {
                /// The client address, resolved through the trusted proxies (IPv6 by /64).
                case clientAddress
                /// One counter for every request of the route.
                case global
                /// The value of a header (such as an API key); requests without it are counted by client address.
                case header(String)
            }

            /// The algorithm (the core's ``GCRA``, ``TokenBucket`` or ``SlidingWindow``).
            public enum Algorithm: String, Sendable, Hashable, CaseIterable {
                /// ``limit`` per ``period``, spaced evenly, with bursts of ``burst``.
                case gcra
                /// A bucket of ``burst`` (default ``limit``) tokens refilled at ``limit`` per ``period``.
                case tokenBucket = "token_bucket"
                /// At most ``limit`` in any ``period`` (sliding window, weighted).
                case slidingWindow = "sliding_window"
            }

            /// Where the policy's counters live.
            public enum Store: Sendable, Hashable {
                /// In this process (each proxy replica counts alone).
                case local
                /// In the configuration's Redis, shared by every replica; `onFailure` decides while Redis cannot
                /// answer.
                case redis(onFailure: RedisFailurePolicy)
            }

            /// The policy's name, in the `RateLimit` header fields and metrics.
            public var name: String
            /// Whom it counts.
            public var key: Key
            /// How it counts.
            public var algorithm: Algorithm
            /// Requests allowed per ``period``.
            public var limit: Int
            /// The period of ``limit``.
            public var period: Duration
            /// The burst (GCRA) or bucket size (token bucket); `nil` uses ``limit``.
            public var burst: Int?
            /// Where the counters live. Default ``Store/local``.
            public var store: Store

            /// A policy.
            public init(
                name: String,
                key: Key,
                algorithm: Algorithm = .gcra,
                limit: Int,
                period: Duration,
                burst: Int? = nil,
                store: Store = .local
            ) {
                self.name = name
                self.key = key
                self.algorithm = algorithm
                self.limit = limit
                self.period = period
                self.burst = burst
                self.store = store
            }
        }
    }
}
