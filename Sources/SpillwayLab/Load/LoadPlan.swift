import Spillway

/// Everything the open-loop generator needs for one run: where to send, how many requests per second over time,
/// how arrivals are spread, and what traffic is mixed in.
///
/// ```swift
/// let plan = try LoadPlan(
///     target: try TargetAddress(parsing: "http://127.0.0.1:8080"),
///     profile: .constant(100, duration: .seconds(10)),
///     streams: [TrafficStream(name: "default", request: .init(path: "/work"), retry: .naive(maxRetries: 3, interval: .zero))]
/// )
/// ```
package struct LoadPlan: Sendable {
    /// Where requests go.
    package var target: TargetAddress
    /// The intended rate of new logical requests over time.
    package var profile: RateProfile
    /// How arrivals are spread around the intended rate (default Poisson).
    package var arrivals: ArrivalProcess
    /// The traffic mix; each stream sends its share of the profile's rate.
    package var streams: [TrafficStream]
    /// Seed of the arrival times and retry jitter (default 1): two runs with one seed send at the same instants.
    package var seed: UInt64
    /// Send the remaining per-attempt budget in `x-request-timeout-ms` so a protected server can refuse work it
    /// cannot finish in time (default `true`).
    package var sendsDeadlineHeader: Bool
    /// Open at most this many connections at once (default 8 192). An attempt that finds all of them busy waits for
    /// the first to come free, as in a client's connection pool, and times out at its deadline if none does; its
    /// latency counts from its intended instant. (Until round 13 such an attempt failed at once as a client error.)
    package var maxConnections: Int
    /// Connects in progress at once (default 64). An attempt that finds no idle connection while this many are
    /// being opened waits for the first connection to come free (a connect that completes, or an answer on a
    /// keep-alive connection), as in a client's connection pool; its latency still counts from its intended
    /// instant. Without the cap, a cold start at thousands of requests per second opened a connection per arrival
    /// faster than the server accepted them — 8 192 connections within the first second at 18 000 req/s — and the
    /// generator measured its own connection storm.
    package var maxPendingConnects: Int
    /// The generator's timer resolution (default 1 ms): it wakes at most once per quantum and sends everything
    /// that fell due since, as wrk2's millisecond timers do. Each arrival is then up to one quantum late, which the
    /// send lag and the latency (measured from the intended instant) both include. One wake-up per arrival cost a
    /// timer and a context switch on both sides per request. With the quantum and the connect cap the generator
    /// sustained 28 000–32 000 req/s against 16 000 (`scripts/bench-generator`, docs/benchmarks.md). `.zero` wakes
    /// at each arrival; at most ``sendQuantumRange``'s upper bound.
    package var sendQuantum: Duration
    /// Connections to an IPv4 loopback target (127.0.0.0/8) come from this many source addresses, 127.0.0.2
    /// onwards, in turn (default 16, at most 254; Linux only); 1 leaves the choice to the kernel (127.0.0.1). The
    /// generator stands for many clients: from one address, every connection shares one range of ephemeral ports,
    /// and in a meltdown — thousands of connections given up at their deadline, each holding its port half-closed
    /// until the server finishes the abandoned request — the kernel's search for a free port in `connect` took a
    /// quarter of the generator's thread (send-lag p99 77–86 ms at 400 req/s; 10–11 ms from 16 addresses).
    /// A server that keys anything by client address sees that many clients.
    package var sourceAddresses: Int
    /// The accepted values of ``sendQuantum``.
    package static let sendQuantumRange = Duration.zero...Duration.milliseconds(100)
    /// The accepted values of ``sourceAddresses`` (127.0.0.2 to 127.0.0.255).
    package static let sourceAddressRange = 1...254
    /// Send the lab's own headers (the absolute deadline an in-process victim uses to measure wasted work).
    var sendsLabHeaders: Bool = false

    /// A plan; throws when there are no streams, a share or a deadline is not positive, a stream's request cannot be
    /// sent as HTTP/1.1 (``EncodedRequest/problem(method:path:headers:)``), `maxConnections` or
    /// `maxPendingConnects` is below 1, `sendQuantum` is negative or above 100 ms, or `sourceAddresses` is not
    /// within 1...254.
    package init(
        target: TargetAddress,
        profile: RateProfile,
        arrivals: ArrivalProcess = .poisson,
        streams: [TrafficStream],
        seed: UInt64 = 1,
        sendsDeadlineHeader: Bool = true,
        maxConnections: Int = 8192,
        maxPendingConnects: Int = 64,
        sendQuantum: Duration = .milliseconds(1),
        sourceAddresses: Int = 16
    ) throws(LabError) {
        guard !streams.isEmpty else {
            throw LabError(.invalidArgument, "a load plan needs at least one traffic stream")
        }
        for stream in streams {
            guard stream.share.isFinite, stream.share > 0 else {
                throw LabError(.invalidArgument, "stream '\(stream.name)' needs a positive share, got \(stream.share)")
            }
            guard stream.deadline > .zero, stream.deadline <= .seconds(600) else {
                throw LabError(
                    .invalidArgument,
                    "stream '\(stream.name)' needs a deadline between 0 and 600 s, got \(stream.deadline)"
                )
            }
            let path = target.path(for: stream.request)
            let headers = stream.request.headers.map { (name: $0.name, value: $0.value) }
            if let problem = EncodedRequest.problem(method: stream.request.method, path: path, headers: headers) {
                throw LabError(.invalidArgument, "stream '\(stream.name)': \(problem)")
            }
        }
        guard maxConnections >= 1 else {
            throw LabError(.invalidArgument, "maxConnections must be at least 1, got \(maxConnections)")
        }
        self.target = target
        self.profile = profile
        self.arrivals = arrivals
        self.streams = streams
        self.seed = seed
        self.sendsDeadlineHeader = sendsDeadlineHeader
        guard maxPendingConnects >= 1 else {
            throw LabError(.invalidArgument, "maxPendingConnects must be at least 1, got \(maxPendingConnects)")
        }
        guard Self.sendQuantumRange.contains(sendQuantum) else {
            throw LabError(.invalidArgument, "sendQuantum must be between 0 and 100 ms, got \(sendQuantum)")
        }
        guard Self.sourceAddressRange.contains(sourceAddresses) else {
            throw LabError(.invalidArgument, "sourceAddresses must be between 1 and 254, got \(sourceAddresses)")
        }
        self.maxConnections = maxConnections
        self.sourceAddresses = sourceAddresses
        self.maxPendingConnects = maxPendingConnects
        self.sendQuantum = sendQuantum
    }
}

/// An `http://host:port` target. HTTPS is not supported: the generator speaks plain HTTP/1.1 so that what it
/// measures is the server, not a TLS stack.
package struct TargetAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or address to connect to.
    package var host: String
    /// The TCP port.
    package var port: Int
    /// The path prefix from the URL (prepended to each stream's path when the stream's path is `/`).
    package var path: String

    /// A target at `host:port`.
    package init(host: String, port: Int, path: String = "/") throws(LabError) {
        guard !host.isEmpty else { throw LabError(.invalidArgument, "the target needs a host") }
        guard (1...65535).contains(port) else { throw LabError(.invalidArgument, "port \(port) is not in 1…65535") }
        self.host = host
        self.port = port
        self.path = path.isEmpty ? "/" : path
    }

    /// Parses `http://host[:port][/path]`.
    package init(parsing url: String) throws(LabError) {
        guard url.lowercased().hasPrefix("http://") else {
            if url.lowercased().hasPrefix("https://") {
                throw LabError(.invalidArgument, "https targets are not supported; the generator speaks plain HTTP/1.1")
            }
            throw LabError(.invalidArgument, "the target must be an http:// URL, got '\(url)'")
        }
        let rest = url.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let path = rest[slash...].isEmpty ? "/" : String(rest[slash...])
        var host = String(authority)
        var port = 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw LabError(.invalidArgument, "unterminated IPv6 address in '\(url)'")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let parsed = Int(after.dropFirst()) else {
                    throw LabError(.invalidArgument, "bad port in '\(url)'")
                }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let parsed = Int(authority[authority.index(after: colon)...]) else {
                throw LabError(.invalidArgument, "bad port in '\(url)'")
            }
            port = parsed
        }
        try self.init(host: host, port: port, path: path)
    }

    /// The path `request` is sent to: the target's path when the request's is `/`, the request's otherwise.
    func path(for request: RequestTemplate) -> String {
        path != "/" && request.path == "/" ? path : request.path
    }

    /// The `Host` header value: an IPv6 address in brackets (RFC 9110 § 7.2), the port unless it is 80.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? name : "\(name):\(port)"
    }

    package var description: String { "http://\(hostHeader)\(path)" }
}
