import NIOCore
import Spillway
import Synchronization

/// One upstream server and what the balancer and the outlier detector know about it.
///
/// Every field is an atomic: read on every request by the balancer from any event loop, written by whichever loop
/// finishes a request. Counters that two loops update at once may lose an update; the balancer and the detector
/// only need them approximately right, and no lock is taken on the request path.
final class UpstreamInstance: Sendable {
    /// Its position in the cluster.
    let index: Int
    /// The configured address (for logs, metrics and the admin page).
    let address: ProxyConfiguration.Address
    /// The address connections go to (resolved when the configuration was loaded).
    let socketAddress: SocketAddress
    /// `host:port`, the `instance` dimension of metrics.
    let label: String

    /// Requests in flight to this instance (held abandoned ones included).
    let inflight = Atomic<Int>(0)
    /// Of those, requests whose caller is gone, held until the instance answers (``AbandonedAttempt``).
    let heldAbandoned = Atomic<Int>(0)
    /// Consecutive `5xx` answers.
    let consecutive5xx = Atomic<Int>(0)
    /// Consecutive gateway failures (connection failures, resets, the cluster's timeout, 502-504).
    let consecutiveGatewayFailures = Atomic<Int>(0)
    /// When the current ejection ends (nanoseconds since the Spillway origin); 0 when not ejected.
    let ejectedUntil = Atomic<Int64>(0)
    /// The active health check's verdict (`true` when checks are off).
    let healthy = Atomic<Bool>(true)
    /// Smoothed latency in nanoseconds (a `Double`'s bit pattern; 0 before the first sample).
    private let latencyBits = Atomic<UInt64>(0)

    init(index: Int, address: ProxyConfiguration.Address, socketAddress: SocketAddress) {
        self.index = index
        self.address = address
        self.socketAddress = socketAddress
        self.label = address.description
    }

    /// Whether the balancer may send requests here at `now`.
    func isAvailable(atNanoseconds now: Int64) -> Bool {
        healthy.load(ordering: .relaxed) && ejectedUntil.load(ordering: .relaxed) <= now
    }

    /// Whether the instance is ejected at `now`.
    func isEjected(atNanoseconds now: Int64) -> Bool {
        ejectedUntil.load(ordering: .relaxed) > now
    }

    /// The smoothed latency in nanoseconds (0 before any sample).
    var smoothedLatency: Double { Double(bitPattern: latencyBits.load(ordering: .relaxed)) }

    /// Feeds one latency sample: "peak EWMA" (Finagle) — a sample above the average replaces it at once, so a slowing
    /// instance is avoided immediately; lower samples pull it down by a tenth.
    func recordLatency(nanoseconds: Int64) {
        let sample = Double(max(0, nanoseconds))
        let current = smoothedLatency
        let next = current == 0 || sample > current ? sample : current + 0.1 * (sample - current)
        latencyBits.store(next.bitPattern, ordering: .relaxed)
    }

    /// The balancer's cost: lower is better.
    func cost(_ balancer: ProxyConfiguration.Cluster.Balancer) -> Double {
        let inflight = Double(self.inflight.load(ordering: .relaxed))
        switch balancer {
        case .leastInflight: return inflight
        case .ewmaLatency:
            // An instance with no sample yet costs the least, so it gets traffic and a sample.
            return smoothedLatency * (inflight + 1)
        }
    }
}
