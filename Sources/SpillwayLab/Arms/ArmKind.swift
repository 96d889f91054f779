/// The ways the lab protects (or does not protect) the victim in one arm of an experiment.
public enum ArmKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// No protection: every request waits for a slot as long as it takes.
    case unprotected
    /// Spillway's middleware with a fixed limit equal to the nominal slots and a FIFO queue with a timeout (no
    /// CoDel, no LIFO, no adaptive limit): what a tuned proxy does, told the capacity.
    case `static`
    /// Spillway's default protection: adaptive limit, CoDel/adaptive-LIFO queue, deadline-aware admission and
    /// priorities (and a circuit breaker and bulkhead around the dependency) — never told the capacity.
    case spillway
    /// HAProxy in front of the unprotected victim (`maxconn` + `timeout queue`).
    case haproxy
    /// nginx in front of the unprotected victim (upstream `max_conns` + `zone`, `limit_conn`).
    case nginx

    public var description: String { rawValue }

    /// Whether the arm needs an external binary.
    public var isPeer: Bool { self == .haproxy || self == .nginx }

    /// Why the arm cannot run on this machine, or `nil` when it can.
    public var unavailableReason: String? {
        switch self {
        case .unprotected: return nil
        case .static, .spillway: return ProtectedArms.unavailableReason
        case .haproxy:
            return PeerProcess.locate("haproxy") == nil ? "haproxy is not installed (apt-get install haproxy)" : nil
        case .nginx:
            return PeerProcess.locate("nginx") == nil ? "nginx is not installed (apt-get install nginx-light)" : nil
        }
    }
}

/// Settings of the arms that are not part of a scenario.
public struct ArmOptions: Sendable, Hashable {
    /// The queue timeout of the `static` and `haproxy` arms (default 250 ms: half the default client deadline, so
    /// that a request served from the head of the queue still has time to finish).
    public var staticQueueTimeout: Duration

    /// Options with documented defaults.
    public init(staticQueueTimeout: Duration = .milliseconds(250)) {
        self.staticQueueTimeout = staticQueueTimeout
    }
}
