import Foundation
import Spillway
import SpillwayRedis

extension ProxyConfiguration {
    /// The formats a configuration file may be written in.
    public enum FileFormat: String, Sendable, Hashable {
        /// YAML 1.1 (`.yaml`, `.yml`).
        case yaml
        /// TOML 1.0 (`.toml`).
        case toml
    }

    /// Loads and validates the configuration file at `path`; its extension (`.yaml`, `.yml`, `.toml`) names the
    /// format.
    /// - Throws: ``ProxyConfigurationError`` naming the line, the key and what to write instead.
    public init(contentsOfFile path: String) throws(ProxyConfigurationError) {
        let name = (path as NSString).lastPathComponent
        guard let format = ConfigurationDocument.Format(path: path) else {
            throw ProxyConfigurationError(
                .unreadable,
                file: name,
                line: nil,
                key: nil,
                "the file name must end in .yaml, .yml or .toml, which names its format"
            )
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ProxyConfigurationError(
                .unreadable,
                file: path,
                line: nil,
                key: nil,
                "cannot read the file (\(error.localizedDescription))"
            )
        }
        try self.init(text: text, format: format == .yaml ? .yaml : .toml, fileName: name)
    }

    /// Parses and validates a configuration written in `format`; `fileName` prefixes error messages.
    /// - Throws: ``ProxyConfigurationError`` naming the line, the key and what to write instead.
    public init(text: String, format: FileFormat, fileName: String = "configuration") throws(ProxyConfigurationError) {
        let document = try ConfigurationDocument(
            text: text,
            format: format == .yaml ? .yaml : .toml,
            fileName: fileName
        )
        let root = try ConfigurationReader(document.root, path: "", file: fileName)
        self = try ConfigurationDecoder.decode(root)
    }
}

/// The schema: reads each section of a configuration file into ``ProxyConfiguration`` and checks every value.
enum ConfigurationDecoder {
    static func decode(_ root: ConfigurationReader) throws(ProxyConfigurationError) -> ProxyConfiguration {
        let defaults = ProxyConfiguration(clusters: [], routes: [])
        let listen = try address(root, "listen") ?? defaults.listen
        var admin = defaults.admin
        if let node = root.node("admin") {
            switch node.value {
            case .bool(false): admin = nil
            case .string(let text) where text == "off" || text == "none": admin = nil
            case .string(let text):
                do { admin = try ProxyConfiguration.Address(parsing: text) } catch {
                    throw root.error(.invalidValue, "admin", error.message)
                }
            default:
                throw root.error(.wrongType, "admin", "expected host:port or false, found \(node.value.typeName)")
            }
        }
        let threads = try root.integer("threads", in: 1...256)
        var resolver = ClientAddressResolver()
        if let ranges = try root.strings("trusted_proxies") {
            do {
                resolver.trustedProxies = try TrustedProxies(ranges)
            } catch {
                throw root.error(.invalidValue, "trusted_proxies", error.message)
            }
        }
        if let header = try root.string("forwarding_header") {
            switch header.lowercased() {
            case "x-forwarded-for": resolver.header = .xForwardedFor
            case "forwarded": resolver.header = .forwarded
            default:
                throw root.error(.invalidValue, "forwarding_header", "use x-forwarded-for or forwarded")
            }
        }
        let limits = try section(root.table("limits"), defaults: defaults.limits, readLimits)
        let timeouts = try section(root.table("timeouts"), defaults: defaults.timeouts, readTimeouts)
        let deadlines = try section(root.table("deadlines"), defaults: defaults.deadlines, readDeadlines)
        var redis: ProxyConfiguration.Redis? = nil
        if let table = try root.table("redis") {
            guard let address = try address(table, "address") else {
                throw table.error(.missingKey, "address", "required: where Redis listens, like 127.0.0.1:6379")
            }
            redis = ProxyConfiguration.Redis(address: address)
            if let timeout = try table.duration("timeout", minimum: .milliseconds(1)) { redis?.timeout = timeout }
            try table.finish()
        }
        let clusters = try self.clusters(root)
        let routes = try self.routes(root, clusters: clusters, redis: redis)
        try root.finish()
        return ProxyConfiguration(
            listen: listen,
            admin: admin,
            threads: threads,
            clientAddresses: resolver,
            limits: limits,
            timeouts: timeouts,
            deadlines: deadlines,
            redis: redis,
            clusters: clusters,
            routes: routes
        )
    }

    // MARK: Sections

    /// An optional section read onto `defaults`: absent, the defaults; present, `read` changes what the section
    /// sets, then a key it did not read is refused.
    private static func section<Section>(
        _ table: ConfigurationReader?,
        defaults: Section,
        _ read: (ConfigurationReader, inout Section) throws(ProxyConfigurationError) -> Void
    ) throws(ProxyConfigurationError) -> Section {
        guard let table else { return defaults }
        var section = defaults
        try read(table, &section)
        try table.finish()
        return section
    }

    private static func readLimits(
        _ table: ConfigurationReader,
        into limits: inout ProxyConfiguration.Limits
    ) throws(ProxyConfigurationError) {
        if let value = try size(table, "max_header_bytes", in: 1024...(1 << 20)) { limits.maxHeaderBytes = value }
        if let value = try table.integer("max_header_count", in: 1...10_000) { limits.maxHeaderCount = value }
        if let value = try size(table, "max_body_bytes", in: 0...(1 << 50)) { limits.maxBodyBytes = value }
    }

    private static func readTimeouts(
        _ table: ConfigurationReader,
        into timeouts: inout ProxyConfiguration.Timeouts
    ) throws(ProxyConfigurationError) {
        let least = Duration.milliseconds(1)
        if let value = try table.duration("client_header", minimum: least) { timeouts.clientHeader = value }
        if let value = try table.duration("client_body", minimum: least) { timeouts.clientBody = value }
        if let value = try table.duration("idle", minimum: least) { timeouts.idle = value }
        if let value = try table.duration("drain") { timeouts.drain = value }
    }

    private static func readDeadlines(
        _ table: ConfigurationReader,
        into deadlines: inout ProxyConfiguration.Deadlines
    ) throws(ProxyConfigurationError) {
        if let value = try table.duration("default", minimum: .milliseconds(1)) { deadlines.defaultBudget = value }
        if let value = try table.duration("maximum", minimum: .milliseconds(1)) { deadlines.maximum = value }
        if let value = try table.duration("minimum") { deadlines.minimum = value }
        if let value = try table.bool("grpc_timeout") { deadlines.readsGRPCTimeout = value }
        guard deadlines.minimum < deadlines.maximum else {
            throw table.error(.invalidValue, "minimum", "must be shorter than maximum (\(deadlines.maximum))")
        }
        if let budget = deadlines.defaultBudget, budget > deadlines.maximum {
            throw table.error(.invalidValue, "default", "is longer than maximum (\(deadlines.maximum))")
        }
    }

    private static func clusters(
        _ root: ConfigurationReader
    ) throws(ProxyConfigurationError)
        -> [ProxyConfiguration.Cluster]
    {
        guard let table = try root.table("clusters") else {
            throw root.error(.missingKey, "clusters", "required: at least one cluster of upstream instances")
        }
        var clusters: [ProxyConfiguration.Cluster] = []
        for name in table.keys {
            guard let reader = try table.table(name) else {
                throw table.error(.wrongType, name, "expected the cluster's settings (instances: [...])")
            }
            guard RateLimitPolicy.isValidName(name) else {
                throw table.error(.invalidValue, name, "cluster name \(RateLimitPolicy.nameRule)")
            }
            clusters.append(try cluster(reader, name: name))
        }
        guard !clusters.isEmpty else {
            throw root.error(.invalidValue, "clusters", "define at least one cluster")
        }
        try table.finish()
        return clusters
    }

    private static func cluster(
        _ table: ConfigurationReader,
        name: String
    ) throws(ProxyConfigurationError)
        -> ProxyConfiguration.Cluster
    {
        guard let instanceTexts = try table.strings("instances"), !instanceTexts.isEmpty else {
            throw table.error(.missingKey, "instances", "required: a list of host:port, like [127.0.0.1:8080]")
        }
        var instances: [ProxyConfiguration.Address] = []
        for text in instanceTexts {
            let address: ProxyConfiguration.Address
            do { address = try ProxyConfiguration.Address(parsing: text) } catch {
                throw table.error(.invalidValue, "instances", error.message)
            }
            guard address.port > 0 else { throw table.error(.invalidValue, "instances", "\"\(text)\" needs a port") }
            guard !instances.contains(address) else {
                throw table.error(.invalidValue, "instances", "\(address) is listed twice")
            }
            instances.append(address)
        }
        var cluster = ProxyConfiguration.Cluster(name: name, instances: instances)
        if let balancer: ProxyConfiguration.Cluster.Balancer = try table.choice("balancer", "a balancer") {
            cluster.balancer = balancer
        }
        if let mode: ProxyConfiguration.Cluster.AbandonedRequests = try table.choice(
            "abandoned_requests",
            "a way to treat abandoned requests"
        ) {
            cluster.abandonedRequests = mode
        }
        let least = Duration.milliseconds(1)
        if let value = try table.duration("connect_timeout", minimum: least) { cluster.connectTimeout = value }
        if let value = try table.duration("response_timeout", minimum: least) { cluster.responseTimeout = value }
        if let pool = try table.table("pool") {
            if let value = try pool.integer("max_idle_per_thread", in: 0...100_000) {
                cluster.pool.maxIdlePerThread = value
            }
            if let value = try pool.duration("idle_timeout", minimum: least) { cluster.pool.idleTimeout = value }
            try pool.finish()
        }
        if let retries = try table.table("retries") {
            if let value = try retries.integer("attempts", in: 1...10) { cluster.retries.attempts = value }
            if let value = try retries.number("budget_percent", in: 0...1000) {
                cluster.retries.budgetPercent = value / 100
            }
            if let value = try retries.integer("budget_min_per_second", in: 0...100_000) {
                cluster.retries.budgetMinimumPerSecond = value
            }
            if let value = try retries.duration("budget_window", minimum: .seconds(1)) {
                guard value <= .seconds(60) else {
                    throw retries.error(.invalidValue, "budget_window", "use 1s...60s (Finagle's bounds)")
                }
                cluster.retries.budgetWindow = value
            }
            try retries.finish()
        }
        if let node = table.node("outlier_detection") {
            if case .bool(false) = node.value {
                cluster.outlierDetection = nil
            } else {
                let outlier = try ConfigurationReader(node, path: table.path(of: "outlier_detection"), file: table.file)
                var detection = ProxyConfiguration.Cluster.OutlierDetection()
                if let value = try outlier.integer("consecutive_5xx", in: 1...10_000) {
                    detection.consecutive5xx = value
                }
                if let value = try outlier.integer("consecutive_gateway_failures", in: 1...10_000) {
                    detection.consecutiveGatewayFailures = value
                }
                if let value = try outlier.duration("base_ejection_time", minimum: least) {
                    detection.baseEjectionTime = value
                }
                if let value = try outlier.integer("max_ejected_percent", in: 0...100) {
                    detection.maxEjectedPercent = value
                }
                try outlier.finish()
                cluster.outlierDetection = detection
            }
        }
        if let check = try table.table("health_check") {
            let path = try check.requiredString("path", "the path to GET, like /health")
            guard path.hasPrefix("/"), !path.contains(where: { $0 == " " || $0.isNewline }) else {
                throw check.error(.invalidValue, "path", "must start with / and contain no spaces")
            }
            var health = ProxyConfiguration.Cluster.HealthCheck(path: path)
            if let value = try check.duration("interval", minimum: .milliseconds(10)) { health.interval = value }
            if let value = try check.duration("timeout", minimum: least) { health.timeout = value }
            if let value = try check.integer("unhealthy_threshold", in: 1...100) { health.unhealthyThreshold = value }
            if let value = try check.integer("healthy_threshold", in: 1...100) { health.healthyThreshold = value }
            try check.finish()
            cluster.healthCheck = health
        }
        try table.finish()
        return cluster
    }

    private static func routes(
        _ root: ConfigurationReader,
        clusters: [ProxyConfiguration.Cluster],
        redis: ProxyConfiguration.Redis?
    ) throws(ProxyConfigurationError) -> [ProxyConfiguration.Route] {
        guard let items = try root.list("routes"), !items.isEmpty else {
            throw root.error(.missingKey, "routes", "required: at least one route (name, path_prefix, cluster)")
        }
        var routes: [ProxyConfiguration.Route] = []
        var matches: [String: String] = [:]
        for item in items {
            let table = try ConfigurationReader(item.node, path: item.path, file: root.file)
            let route = try self.route(table, clusters: clusters, redis: redis)
            if routes.contains(where: { $0.name == route.name }) {
                throw table.error(
                    .invalidValue,
                    "name",
                    "another route is named \"\(route.name)\"; names must be unique"
                )
            }
            for host in route.hosts.isEmpty ? ["*"] : route.hosts {
                let match = "\(host) \(route.pathPrefix)"
                if let other = matches[match] {
                    throw table.error(
                        .invalidValue,
                        "path_prefix",
                        "route \"\(other)\" already serves host \(host) with prefix \(route.pathPrefix)"
                    )
                }
                matches[match] = route.name
            }
            routes.append(route)
        }
        return routes
    }

    private static func route(
        _ table: ConfigurationReader,
        clusters: [ProxyConfiguration.Cluster],
        redis: ProxyConfiguration.Redis?
    ) throws(ProxyConfigurationError) -> ProxyConfiguration.Route {
        let name = try table.requiredString("name", "the route's name, used in metrics")
        guard RateLimitPolicy.isValidName(name) else {
            throw table.error(.invalidValue, "name", "route name \(RateLimitPolicy.nameRule)")
        }
        let clusterName = try table.requiredString("cluster", "the cluster this route sends requests to")
        guard clusters.contains(where: { $0.name == clusterName }) else {
            throw table.error(
                .unknownReference,
                "cluster",
                "no cluster named \"\(clusterName)\"; the clusters are: \(clusters.map(\.name).joined(separator: ", "))"
            )
        }
        var route = ProxyConfiguration.Route(name: name, cluster: clusterName)
        for host in try table.strings("hosts") ?? [] {
            let lowered = host.lowercased()
            let body = lowered.hasPrefix("*.") ? String(lowered.dropFirst(2)) : lowered
            guard !body.isEmpty, !body.contains("*"), !body.contains("/"), !body.contains(" ") else {
                throw table.error(.invalidValue, "hosts", "\"\(host)\" is not a host name or *.domain")
            }
            route.hosts.append(lowered)
        }
        if let prefix = try table.string("path_prefix") {
            guard prefix.hasPrefix("/"), !prefix.contains(where: { $0 == " " || $0 == "?" || $0 == "#" }) else {
                throw table.error(.invalidValue, "path_prefix", "must start with / and hold no spaces, ? or #")
            }
            route.pathPrefix = PathPrefix.normalized(prefix)
        }
        if let node = table.node("admission") {
            if case .bool(false) = node.value {
                route.admission = nil
            } else {
                route.admission = try admission(
                    ConfigurationReader(node, path: table.path(of: "admission"), file: table.file)
                )
            }
        }
        if let rules = try table.table("priority") { route.priority = try priority(rules) }
        if let items = try table.list("rate_limits") {
            for item in items {
                let policy = try rateLimit(
                    ConfigurationReader(item.node, path: item.path, file: table.file),
                    redis: redis
                )
                if route.rateLimits.contains(where: { $0.name == policy.name }) {
                    throw ProxyConfigurationError(
                        .invalidValue,
                        file: table.file,
                        line: item.node.line,
                        key: "\(item.path).name",
                        "another policy of this route is named \"\(policy.name)\""
                    )
                }
                route.rateLimits.append(policy)
            }
        }
        if let value = try table.bool("rate_limit_headers") { route.rateLimitHeaders = value }
        try table.finish()
        return route
    }

    private static func admission(
        _ table: ConfigurationReader
    ) throws(ProxyConfigurationError)
        -> ProxyConfiguration.Route.Admission
    {
        var admission = ProxyConfiguration.Route.Admission()
        if let value = try table.integer("queue_length", in: 0...1_000_000) { admission.queue.maxLength = value }
        if let node = table.node("queue_timeout") {
            if case .string(let text) = node.value, text == "none" {
                admission.queue.timeout = nil
            } else {
                admission.queue.timeout = try table.duration("queue_timeout", minimum: .milliseconds(1))
            }
        }
        if let value = try table.bool("codel") {
            admission.queue.codel = value ? (admission.queue.codel ?? CoDelConfiguration()) : nil
        }
        if let value = try table.bool("adaptive_lifo") { admission.queue.adaptiveLIFO = value }
        if let value = try table.bool("reject_unmeetable_deadlines") { admission.rejectsUnmeetableDeadlines = value }
        try table.finish()
        return admission
    }

    private static func priority(
        _ table: ConfigurationReader
    ) throws(ProxyConfigurationError)
        -> ProxyConfiguration.Route.PriorityRules
    {
        var rules = ProxyConfiguration.Route.PriorityRules()
        if let value = try priorityValue(table, "default") { rules.defaultPriority = value }
        if let node = table.node("header") {
            switch node.value {
            case .bool(false): rules.header = nil
            case .string(let name) where HeaderName.isValid(name): rules.header = name.lowercased()
            default: throw table.error(.invalidValue, "header", "expected a header name or false")
            }
        }
        if let value = try priorityValue(table, "header_ceiling") { rules.headerCeiling = value }
        if let paths = try table.table("paths") {
            for prefix in paths.keys {
                guard prefix.hasPrefix("/") else {
                    throw paths.error(.invalidValue, prefix, "a path prefix must start with /")
                }
                guard let priority = try priorityValue(paths, prefix) else { continue }
                rules.paths.append(.init(prefix: PathPrefix.normalized(prefix), priority: priority))
            }
            try paths.finish()
        }
        if let items = try table.list("client_classes") {
            for item in items {
                let entry = try ConfigurationReader(item.node, path: item.path, file: table.file)
                let name = try entry.requiredString("name", "the class's name")
                guard let priority = try priorityValue(entry, "priority") else {
                    throw entry.error(.missingKey, "priority", "required: the class's priority")
                }
                var clientClass = ProxyConfiguration.Route.PriorityRules.ClientClass(name: name, priority: priority)
                if let ranges = try entry.strings("addresses") {
                    do { clientClass.addresses = try TrustedProxies(ranges) } catch {
                        throw entry.error(.invalidValue, "addresses", error.message)
                    }
                }
                if let header = try entry.string("header") {
                    guard HeaderName.isValid(header) else {
                        throw entry.error(.invalidValue, "header", "\"\(header)\" is not a header name")
                    }
                    clientClass.header = header.lowercased()
                    guard let values = try entry.strings("values"), !values.isEmpty else {
                        throw entry.error(.missingKey, "values", "required with header: the values that match")
                    }
                    clientClass.values = values.map { $0.lowercased() }
                }
                guard clientClass.addresses != nil || clientClass.header != nil else {
                    throw entry.error(.missingKey, "addresses", "a class needs addresses, a header and values, or both")
                }
                try entry.finish()
                rules.clientClasses.append(clientClass)
            }
        }
        try table.finish()
        return rules
    }

    private static func rateLimit(
        _ table: ConfigurationReader,
        redis: ProxyConfiguration.Redis?
    )
        throws(ProxyConfigurationError) -> ProxyConfiguration.Route.RateLimit
    {
        let name = try table.requiredString("name", "the policy's name, sent in the RateLimit header fields")
        guard RateLimitPolicy.isValidName(name) else {
            throw table.error(.invalidValue, "name", "policy name \(RateLimitPolicy.nameRule)")
        }
        let keyText = try table.requiredString("key", "client_address, global or header:NAME")
        let key: ProxyConfiguration.Route.RateLimit.Key
        switch keyText {
        case "client_address": key = .clientAddress
        case "global": key = .global
        case _ where keyText.hasPrefix("header:") && HeaderName.isValid(String(keyText.dropFirst(7))):
            key = .header(String(keyText.dropFirst(7)).lowercased())
        default:
            throw table.error(
                .invalidValue,
                "key",
                "\"\(keyText)\" is not a key; use client_address, global or header:NAME"
            )
        }
        let algorithm: ProxyConfiguration.Route.RateLimit.Algorithm =
            try table.choice("algorithm", "an algorithm") ?? .gcra
        guard let limit = try table.integer("limit", in: 1...1_000_000_000) else {
            throw table.error(.missingKey, "limit", "required: the requests allowed per period")
        }
        guard let period = try table.duration("period", minimum: .milliseconds(1)) else {
            throw table.error(.missingKey, "period", "required: the period of the limit, like 1s or 1m")
        }
        let burst = try table.integer("burst", in: 1...1_000_000_000)
        var store = ProxyConfiguration.Route.RateLimit.Store.local
        let storeText = try table.string("store") ?? "local"
        let failureText = try table.string("on_redis_failure")
        let share = try table.number("local_share", in: 0...1)
        switch storeText {
        case "local":
            if failureText != nil {
                throw table.error(.invalidValue, "on_redis_failure", "applies only to store: redis")
            }
        case "redis":
            guard redis != nil else {
                throw table.error(
                    .unknownReference,
                    "store",
                    "store: redis needs a top-level redis: { address: host:port }"
                )
            }
            let policy: RedisFailurePolicy
            switch failureText ?? "allow" {
            case "allow": policy = .failOpen
            case "deny": policy = .failClosed
            case "local":
                guard let share, share > 0 else {
                    throw table.error(
                        .missingKey,
                        "local_share",
                        "on_redis_failure: local needs local_share in (0, 1], this replica's share of the limit"
                    )
                }
                policy = .localFallback(share: share)
            default:
                throw table.error(.invalidValue, "on_redis_failure", "use allow, deny or local")
            }
            store = .redis(onFailure: policy)
        default:
            throw table.error(.invalidValue, "store", "\"\(storeText)\" is not a store; use local or redis")
        }
        let policy = ProxyConfiguration.Route.RateLimit(
            name: name,
            key: key,
            algorithm: algorithm,
            limit: limit,
            period: period,
            burst: burst,
            store: store
        )
        do {
            _ = try RateLimitPolicies.algorithm(for: policy)
        } catch {
            throw table.error(.invalidValue, "limit", error.message)
        }
        try table.finish()
        return policy
    }

    // MARK: Values

    private static func address(
        _ table: ConfigurationReader,
        _ key: String
    ) throws(ProxyConfigurationError)
        -> ProxyConfiguration.Address?
    {
        guard let text = try table.string(key) else { return nil }
        do { return try ProxyConfiguration.Address(parsing: text) } catch {
            throw table.error(.invalidValue, key, error.message)
        }
    }

    private static func priorityValue(
        _ table: ConfigurationReader,
        _ key: String
    ) throws(ProxyConfigurationError)
        -> Priority?
    {
        guard let text = try table.string(key) else { return nil }
        guard let priority = Priority(parsing: text) else {
            throw table.error(
                .invalidValue,
                key,
                "\"\(text)\" is not a priority; use critical_plus, critical, sheddable_plus or sheddable"
            )
        }
        return priority
    }

    /// A size: a whole number of bytes, or a number with `KiB`, `MiB`, `GiB` (or `KB`, `MB`, `GB`, powers of ten).
    private static func size(
        _ table: ConfigurationReader,
        _ key: String,
        in range: ClosedRange<Int>
    )
        throws(ProxyConfigurationError) -> Int?
    {
        guard let node = table.node(key) else { return nil }
        let value: Int
        switch node.value {
        case .integer(let integer): value = integer
        case .string(let text):
            let units: [(String, Int)] = [
                ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
                ("GB", 1_000_000_000), ("B", 1),
            ]
            let trimmed = text.trimmingBlanks
            guard let (suffix, scale) = units.first(where: { trimmed.hasSuffix($0.0) }),
                let number = Double(trimmed.dropLast(suffix.count).trimmingBlanks), number >= 0, number < 1e15
            else {
                throw table.error(.invalidValue, key, "\"\(text)\" is not a size; write bytes or 64KiB, 10MiB")
            }
            value = Int(number * Double(scale))
        default:
            throw table.error(.wrongType, key, "expected a size (bytes or 10MiB), found \(node.value.typeName)")
        }
        guard range.contains(value) else {
            throw table.error(
                .invalidValue,
                key,
                "\(value) bytes is out of range; use \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return value
    }
}
