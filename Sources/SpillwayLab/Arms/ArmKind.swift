/// The ways the lab protects (or does not protect) the victim in one arm of an experiment.
package enum ArmKind: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// No protection: every request waits for a slot as long as it takes.
    case unprotected
    /// Spillway's middleware with a fixed limit equal to the nominal slots and a FIFO queue with a timeout (no
    /// CoDel, no LIFO, no adaptive limit): what a tuned proxy does, told the capacity.
    case `static`
    /// Spillway's default protection, exactly what `router.addSpillway()` installs with no arguments (adaptive
    /// limit, FIFO queue with CoDel, deadline-aware admission that bounds a wait by the request's deadline rather
    /// than a fixed queue timeout), plus the priority header and the guard around
    /// the dependency that a user would add the same way — never told the capacity.
    case spillway
    /// HAProxy in front of the unprotected victim (`maxconn` + `timeout queue`).
    case haproxy
    /// nginx in front of the unprotected victim (upstream `max_conns` + `zone`, `limit_conn`).
    case nginx
    /// `spillway proxy` with its defaults, in its own process, in front of the unprotected victim.
    case proxy

    package var description: String { rawValue }

    /// The arm named `name`; throws naming every arm when there is none.
    package static func named(_ name: String) throws(LabError) -> ArmKind {
        guard let arm = ArmKind(rawValue: name) else {
            throw LabError(
                .invalidArgument,
                "unknown arm '\(name)': use \(allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return arm
    }

    /// Whether the arm needs an external binary.
    package var isPeer: Bool { self == .haproxy || self == .nginx || self == .proxy }

    /// Why the arm cannot run on this machine, or `nil` when it can.
    package var unavailableReason: String? {
        switch self {
        case .unprotected: return nil
        case .static, .spillway: return nil
        case .haproxy:
            return PeerProcess.locate("haproxy") == nil ? "haproxy is not installed (apt-get install haproxy)" : nil
        case .nginx:
            return PeerProcess.locate("nginx") == nil ? "nginx is not installed (apt-get install nginx-light)" : nil
        case .proxy:
            return SpillwayProxyPeer.binary() == nil ? SpillwayProxyPeer.unavailableReason : nil
        }
    }
}

/// Settings of the arms that are not part of a scenario.
package struct ArmOptions: Sendable, Hashable {
    /// The queue timeout of the `static` and `haproxy` arms (default 250 ms: half the default client deadline, so
    /// that a request served from the head of the queue still has time to finish).
    package var staticQueueTimeout: Duration
    /// Another limit algorithm for the `spillway` arm, labelled in every table (`spillway (vegas)`); `nil` (the
    /// default) runs the library's default, whatever `SpillwayConfiguration()` holds.
    package var algorithm: LabAlgorithm?

    /// Options with documented defaults.
    package init(staticQueueTimeout: Duration = .milliseconds(250), algorithm: LabAlgorithm? = nil) {
        self.staticQueueTimeout = staticQueueTimeout
        self.algorithm = algorithm
    }

    /// The name of `arm` in tables and reports: `spillway (vegas)` when the `spillway` arm runs another algorithm
    /// than the library's default.
    package func label(for arm: ArmKind) -> String {
        guard arm == .spillway, let algorithm else { return arm.rawValue }
        return "spillway (\(algorithm.rawValue))"
    }
}
