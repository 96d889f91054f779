import Spillway
import SpillwayRedis

/// Everything `spillway proxy` does, as one value: where it listens, the routes, the upstream clusters they lead
/// to, and the protection on each route.
///
/// Load one from a YAML or TOML file (the schema is in the DocC article <doc:ProtectingAnyHTTPService>), or build
/// one in code. Every setting not written has the documented default: the defaults are the product.
///
/// ```swift
/// var configuration = ProxyConfiguration(
///     listen: try .init(parsing: "127.0.0.1:8000"),
///     clusters: [.init(name: "app", instances: [try .init(parsing: "127.0.0.1:8080")])],
///     routes: [.init(name: "all", cluster: "app")]
/// )
/// configuration.routes[0].rateLimits = [
///     .init(name: "per-client", key: .clientAddress, algorithm: .gcra, limit: 100, period: .seconds(1)),
/// ]
/// let proxy = try await ProxyServer.start(configuration: configuration)
/// ```
public struct ProxyConfiguration: Sendable, Hashable {
    /// Where clients connect. Default `127.0.0.1:8000`.
    public var listen: Address
    /// The admin listener (`/metrics`, `/ready`, `/live`, `/routes`); `nil` disables it. Default `127.0.0.1:9901`.
    public var admin: Address?
    /// Event-loop threads; `nil` uses one per core.
    public var threads: Int?
    /// How the client's address is found behind trusted proxies (for rate-limit keys, client classes and
    /// `X-Forwarded-For`). Default: no proxy is trusted, the client is the TCP peer.
    public var clientAddresses: ClientAddressResolver
    /// Request size limits.
    public var limits: Limits
    /// Client-side timeouts (slow clients, idle connections, drain).
    public var timeouts: Timeouts
    /// How request deadlines are read and bounded.
    public var deadlines: Deadlines
    /// The Redis server for rate-limit policies with `store: redis`.
    public var redis: Redis?
    /// The upstream clusters.
    public var clusters: [Cluster]
    /// The routes: a request goes to the route with the most specific host, then the longest path prefix.
    public var routes: [Route]

    /// A configuration; every parameter not given has its documented default.
    public init(
        listen: Address = Address(host: "127.0.0.1", port: 8000),
        admin: Address? = Address(host: "127.0.0.1", port: 9901),
        threads: Int? = nil,
        clientAddresses: ClientAddressResolver = ClientAddressResolver(),
        limits: Limits = Limits(),
        timeouts: Timeouts = Timeouts(),
        deadlines: Deadlines = Deadlines(),
        redis: Redis? = nil,
        clusters: [Cluster],
        routes: [Route]
    ) {
        self.listen = listen
        self.admin = admin
        self.threads = threads
        self.clientAddresses = clientAddresses
        self.limits = limits
        self.timeouts = timeouts
        self.deadlines = deadlines
        self.redis = redis
        self.clusters = clusters
        self.routes = routes
    }

    /// A host and a port.
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        /// A host name or an IP address (IPv6 without brackets).
        public var host: String
        /// The TCP port; `0` lets a listener pick a free port.
        public var port: Int

        /// An address.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// Parses `host:port` (`127.0.0.1:8080`, `[::1]:8080`, `backend.internal:80`).
        /// - Throws: ``ProxyConfigurationError`` (`invalid_value`) naming what is wrong.
        public init(parsing text: String) throws(ProxyConfigurationError) {
            let trimmed = text.trimmingBlanks
            func invalid(_ why: String) -> ProxyConfigurationError {
                ProxyConfigurationError(.invalidValue, key: nil, "\"\(text)\" \(why)")
            }
            let hostPart: Substring
            let portPart: Substring
            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]"), trimmed[trimmed.index(after: close)...].hasPrefix(":")
                else { throw invalid("is not [IPv6]:port") }
                hostPart = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
                portPart = trimmed[trimmed.index(close, offsetBy: 2)...]
            } else {
                guard let colon = trimmed.lastIndex(of: ":") else { throw invalid("has no port; write host:port") }
                hostPart = trimmed[..<colon]
                portPart = trimmed[trimmed.index(after: colon)...]
                if hostPart.contains(":") { throw invalid("looks like IPv6; write it in brackets: [::1]:8080") }
            }
            guard !hostPart.isEmpty else { throw invalid("has no host; write 0.0.0.0:PORT to listen everywhere") }
            guard let port = Int(portPart), (0...65535).contains(port) else {
                throw invalid("has no valid port (0-65535)")
            }
            self.init(host: String(hostPart), port: port)
        }

        /// `host:port`, IPv6 in brackets.
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// Request size limits: larger requests are refused before any upstream sees them.
    public struct Limits: Sendable, Hashable {
        /// The most bytes of header names and values a request may send (431 beyond). Default 32 KiB.
        public var maxHeaderBytes: Int
        /// The most header fields a request may send (431 beyond). Default 100.
        public var maxHeaderCount: Int
        /// The largest request body (413 beyond: at once for a `Content-Length`, when the limit is crossed for a
        /// chunked body). Default 10 MiB.
        public var maxBodyBytes: Int

        /// Limits; every parameter has the default documented on its property.
        public init(maxHeaderBytes: Int = 32 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 10 * 1024 * 1024) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// Client-side timeouts.
    public struct Timeouts: Sendable, Hashable {
        /// The longest a request head may take to arrive once its first byte has (slowloris; 408). Default 10 s.
        public var clientHeader: Duration
        /// The longest gap between two reads of a request body (408, or a close once the response started).
        /// Default 10 s.
        public var clientBody: Duration
        /// How long a keep-alive connection may sit with no request, and an exchange with no bytes moving either
        /// way, before it is closed. Default 60 s.
        public var idle: Duration
        /// On `SIGTERM`, how long in-flight requests may take to finish before their connections are closed.
        /// Default 30 s.
        public var drain: Duration

        /// Timeouts; every parameter has the default documented on its property.
        public init(
            clientHeader: Duration = .seconds(10),
            clientBody: Duration = .seconds(10),
            idle: Duration = .seconds(60),
            drain: Duration = .seconds(30)
        ) {
            self.clientHeader = clientHeader
            self.clientBody = clientBody
            self.idle = idle
            self.drain = drain
        }
    }

    /// How a request's deadline is read from its headers and bounded.
    ///
    /// The budget comes from `x-request-timeout-ms` (whole milliseconds) and, with ``readsGRPCTimeout``,
    /// `grpc-timeout` (`250m`, `2S`); the shorter wins, and malformed values are ignored. It is capped at
    /// ``maximum``; a budget below ``minimum`` counts as already spent (504 before any work). The upstream receives
    /// what is left of it in `x-request-timeout-ms` (and `grpc-timeout`, when the client sent one).
    public struct Deadlines: Sendable, Hashable {
        /// The budget of a request without a usable header; `nil` (the default) leaves it without a deadline, bound
        /// only by the cluster's response timeout.
        public var defaultBudget: Duration?
        /// The largest budget accepted from a client. Default 60 s.
        public var maximum: Duration
        /// Budgets below this are spent on arrival. Default 1 ms.
        public var minimum: Duration
        /// Also read `grpc-timeout`. Default `true`.
        public var readsGRPCTimeout: Bool

        /// Deadline settings; every parameter has the default documented on its property.
        public init(
            defaultBudget: Duration? = nil,
            maximum: Duration = .seconds(60),
            minimum: Duration = .milliseconds(1),
            readsGRPCTimeout: Bool = true
        ) {
            self.defaultBudget = defaultBudget
            self.maximum = maximum
            self.minimum = minimum
            self.readsGRPCTimeout = readsGRPCTimeout
        }
    }

    /// The Redis server shared by rate-limit policies with ``Route/RateLimit/Store/redis(onFailure:)``.
    public struct Redis: Sendable, Hashable {
        /// Where Redis listens.
        public var address: Address
        /// The longest one decision waits for Redis before the policy's failure rule applies. Default 50 ms
        /// (``RedisRateLimitStore/Configuration/timeout``).
        public var timeout: Duration

        /// Redis settings.
        public init(address: Address, timeout: Duration = .milliseconds(50)) {
            self.address = address
            self.timeout = timeout
        }
    }
}
