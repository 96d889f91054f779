import NIOCore
import Spillway

/// An upstream attempt whose caller is gone — its deadline passed, or its client closed the connection — while the
/// instance still works on the request: it keeps the upstream connection, the route's admission permit and the
/// instance's in-flight count until the instance has answered in full, its response read and thrown away, or until
/// the cluster's response timeout from the attempt's start. Then the connection goes back to its pool (or is closed)
/// and the permit is released: as a drop when the deadline had passed or the response timeout did, else as saying
/// nothing (a client that left early is not the instance's doing).
///
/// Most services keep working on a request after its client leaves (Hummingbird, Vapor, Puma, most thread-per-request
/// servers: nothing tells the handler); closing the connection at the deadline and letting the next request in at
/// once put more requests in the instance than the limit allows, and through an outage of a dependency the instance
/// piled up the abandoned ones and worked them off after it, while new requests waited behind them (see
/// ``ProxyConfiguration/Cluster/AbandonedRequests``). Held, what the limit counts is what the instance holds.
///
/// Lives on the connection's event loop; its pool, the upstream handler (its receiver) and the timeout task hold it.
final class AbandonedAttempt: UpstreamResponseReceiver {
    @exclusivity(unchecked) private var permit: AdmissionPermit?
    private var upstream: UpstreamConnection?
    private let instance: UpstreamInstance
    private let pool: UpstreamConnectionPool?
    private let metrics: UpstreamMetrics
    private var keepAlive = true
    private var finished = false
    /// How the permit is released when the instance answers.
    private let answeredOutcome: PermitOutcome
    private var discardedBytes = 0
    private var timeout: Scheduled<Void>?

    /// The most response body bytes read and thrown away; a longer answer closes the connection instead.
    static let maximumDiscardedBytes = 256 * 1024

    /// Takes over `upstream`, `permit` and one in-flight count of `instance` until the instance answers (then the
    /// permit is released with `answeredOutcome`), or for `timeLeft` at most (then as a drop).
    init(
        upstream: UpstreamConnection,
        permit: consuming AdmissionPermit?,
        answeredOutcome: PermitOutcome,
        instance: UpstreamInstance,
        pool: UpstreamConnectionPool?,
        metrics: UpstreamMetrics,
        timeLeft: TimeAmount,
        eventLoop: any EventLoop
    ) {
        self.upstream = upstream
        self.permit = permit
        self.instance = instance
        self.pool = pool
        self.answeredOutcome = answeredOutcome
        self.metrics = metrics
        instance.heldAbandoned.wrappingAdd(1, ordering: .relaxed)
        metrics.heldAbandoned(1)
        upstream.attach(self)
        upstream.resumeReads()
        guard timeLeft > .zero, pool?.hold(self) ?? false else {
            finish(closing: true, outcome: .dropped)
            return
        }
        timeout = eventLoop.assumeIsolated().scheduleTask(in: timeLeft) { [self] in
            timeout = nil
            finish(closing: true, outcome: .dropped)
        }
    }

    /// Ends the hold now: the connection closes and the permit is released as a drop (the pool is retired).
    func end() {
        finish(closing: true, outcome: .dropped)
    }

    func upstreamReceived(_ part: UpstreamResponsePart) {
        switch part {
        case .head(let response):
            keepAlive = response.isKeepAlive
        case .body(let buffer):
            discardedBytes += buffer.readableBytes
            if discardedBytes > Self.maximumDiscardedBytes { finish(closing: true, outcome: answeredOutcome) }
        case .end:
            finish(closing: !keepAlive, outcome: answeredOutcome)
        }
    }

    func upstreamReadComplete() {}

    func upstreamClosed(error: (any Error)?) {
        upstream = nil
        finish(closing: true, outcome: .dropped)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {}

    /// Gives the connection back (or closes it), then the instance's count and the permit; once.
    private func finish(closing: Bool, outcome: PermitOutcome) {
        guard !finished else { return }
        finished = true
        timeout?.cancel()
        timeout = nil
        if let upstream {
            self.upstream = nil
            if !closing, let pool {
                pool.release(upstream)
            } else {
                upstream.close()
            }
        }
        pool?.forget(self)
        instance.heldAbandoned.wrappingSubtract(1, ordering: .relaxed)
        metrics.heldAbandoned(-1)
        instance.inflight.wrappingSubtract(1, ordering: .relaxed)
        permit.take()?.release(outcome)
    }
}
