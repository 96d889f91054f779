import CoreMetrics
import Spillway
import Synchronization

/// The outbound-pool instruments of one ``ResilientHTTPClient``, one set per `host` label value.
///
/// Every instrument carries `client` (the configuration's name) and `host` (`host:port`). The first
/// ``ResilientHTTPClient/Configuration/maxMetricsHosts`` hosts the client calls get their own `host` value; calls to
/// any further host are counted under `host="other"`, so a client that follows URLs from its callers cannot grow
/// the series without bound:
/// - `spillway_http_client_requests_in_flight` gauge: exchanges sent to AsyncHTTPClient and not finished;
/// - `spillway_http_client_pool_waiters` gauge: those of them waiting for a connection (see
///   ``HostConnectionQueue``);
/// - `spillway_http_client_pool_wait_seconds` timer: each exchange's wait for a connection (0 when one was free).
///
/// And per client, `spillway_http_client_connections_per_host_limit` gauge: the limit the client runs with.
final class HostPoolMetrics: Sendable {
    /// The label value of the hosts beyond ``maxHosts``.
    static let otherHost = "other"

    /// The instruments of one `host` label value, with the totals its gauges show (summed over the hosts that
    /// share the value).
    final class Instruments: Sendable {
        private let counts = Mutex<(inFlight: Int, waiters: Int)>((0, 0))
        private let inFlightGauge: Gauge
        private let waitersGauge: Gauge
        private let wait: CoreMetrics.Timer

        fileprivate init(client: String, host: String, factory: any MetricsFactory) {
            let dimensions = [("client", client), ("host", host)]
            inFlightGauge = Gauge(
                label: "spillway_http_client_requests_in_flight",
                dimensions: dimensions,
                factory: factory
            )
            waitersGauge = Gauge(label: "spillway_http_client_pool_waiters", dimensions: dimensions, factory: factory)
            wait = .seconds("spillway_http_client_pool_wait_seconds", dimensions: dimensions, factory: factory)
            inFlightGauge.record(0)
            waitersGauge.record(0)
        }

        /// Adds the deltas to the totals and records them; under the lock, so that the gauges never go back to an
        /// older total.
        func change(inFlight: Int, waiters: Int) {
            counts.withLock { counts in
                counts.inFlight += inFlight
                counts.waiters += waiters
                inFlightGauge.record(counts.inFlight)
                waitersGauge.record(counts.waiters)
            }
        }

        func recordWait(nanoseconds: Int64) {
            wait.recordNanoseconds(nanoseconds)
        }
    }

    let client: String
    let maxHosts: Int
    private let factory: any MetricsFactory
    private let byHost = Mutex<[String: Instruments]>([:])

    init(client: String, maxHosts: Int, connectionLimit: Int, factory: any MetricsFactory) {
        self.client = client
        self.maxHosts = max(0, maxHosts)
        self.factory = factory
        Gauge(
            label: "spillway_http_client_connections_per_host_limit",
            dimensions: [("client", client)],
            factory: factory
        ).record(connectionLimit)
    }

    /// The instruments of `host` (`host:port`): its own while fewer than ``maxHosts`` hosts have one, else
    /// `other`'s. A host keeps the value it got first.
    func instruments(forHost host: String) -> Instruments {
        byHost.withLock { byHost in
            if let existing = byHost[host] { return existing }
            let named = byHost.count { $0.key != Self.otherHost }
            let label = named < maxHosts && host != Self.otherHost ? host : Self.otherHost
            if let shared = byHost[label] {
                return shared
            }
            let made = Instruments(client: client, host: label, factory: factory)
            byHost[label] = made
            return made
        }
    }
}
