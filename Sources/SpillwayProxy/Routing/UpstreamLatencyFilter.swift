import CoreMetrics
import Spillway
import Synchronization

/// Keeps the proxy's own waiting out of a route's admission limit: a round trip is a latency sample only when the
/// event loop that measured it was not saturated.
///
/// The limit algorithm reads a rising round trip as a backend that queues. Measured in a proxy, a round trip also
/// holds the time the upstream's answer waited for the proxy's event loop; when the proxy itself is short of CPU that
/// wait dominates, grows with the number of clients, and does not shrink when the limit does — the limit then falls
/// to its floor and the proxy refuses requests that a healthy backend would have served (measured: limit 2 and
/// 40–70 % of requests refused under `scripts/bench-proxy`, against a backend answering in 0.1 ms). A round trip
/// waits for the loop several times (a queued grant's hop back to the loop, the response's read, each of them the
/// rest of the current iteration and a place in the next), about four times the loop's probe lateness
/// (``EventLoopLag``; under `scripts/bench-proxy`, 8.7 ms round trips against a 0.1 ms backend with the probe 1–3 ms
/// late); a sample counts while that is at most a quarter of the route's smoothed round trip, the latency tolerance
/// of the default algorithm. Otherwise the permit is released unmeasured (`AdmissionPermit.releaseUnmeasured()`):
/// the algorithm learns the concurrency the request ran at, not its round trip
/// (``LimitAlgorithm/update(withUnmeasured:)``). The decision compares the loop with the route's smoothed round trip,
/// never with the sample's own, so that it does not keep only the slowest samples.
///
/// Against a backend slower than the proxy's own wait (the lab's victim answers in 50 ms: samples count while the
/// loop is less than 3 ms late) every sample counts. Drops (deadlines, 502–504) always count: they are the backend's
/// refusals, not latency. While the proxy is saturated the default algorithm judges its windows as if at the
/// baseline: the limit rises while demand presses on it and follows demand otherwise. (When unmeasured requests were
/// simply ignored, a limit cut at the start of a load, before the loop's lateness showed, stayed there as long as the
/// proxy was saturated: at 256 connections, up to 97 % of the requests were refused with 503.) The proxy's own
/// overload is the operator's to see, in `spillway_proxy_latency_samples_discarded_total` and the proxy's CPU.
///
/// ```swift
/// let filter = UpstreamLatencyFilter(discardedCounter: Counter(label: "discarded"))
/// let measured = filter.measures(roundTripNanoseconds: 1_500_000, loopLagNanoseconds: 600_000)   // false
/// ```
final class UpstreamLatencyFilter: Sendable {
    /// A sample counts while `loop lag × divisor ≤ smoothed round trip` (4 × lag within 25 % of the round trip).
    static let divisor: Int64 = 16
    /// The weight of a new round trip in the smoothed one (about the last 16 requests).
    static let weight: Int64 = 16

    private let smoothed = Atomic<Int64>(0)
    private let discardedCount = Atomic<Int>(0)
    private let discardedCounter: Counter

    init(discardedCounter: Counter) {
        self.discardedCounter = discardedCounter
    }

    /// The route's smoothed round trip, in nanoseconds (0 before the first).
    var smoothedNanoseconds: Int64 { smoothed.load(ordering: .relaxed) }

    /// Round trips kept from the limit's latency because the proxy's own wait dominated them.
    var discarded: Int { discardedCount.load(ordering: .relaxed) }

    /// Records a successful round trip and returns whether it measures the backend: `true` when the loop's lateness
    /// is small beside the route's round trip, `false` when it is not.
    func measures(roundTripNanoseconds roundTrip: Int64, loopLagNanoseconds lag: Int64) -> Bool {
        let previous = smoothed.load(ordering: .relaxed)
        let reference = previous == 0 ? roundTrip : previous + (roundTrip - previous) / Self.weight
        // Relaxed read-modify-write across loops: a lost update only delays the average by one request.
        smoothed.store(max(1, reference), ordering: .relaxed)
        guard lag > 0, lag * Self.divisor > reference else { return true }
        discardedCount.wrappingAdd(1, ordering: .relaxed)
        discardedCounter.increment()
        return false
    }
}
