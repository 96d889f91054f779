import NIOCore
import NIOHTTP1
import Spillway

/// One request through the proxy, from its head to the end of its response: deadline, rate limits, admission,
/// instance choice, upstream attempts (and retries), streaming both ways, and the bookkeeping when it ends.
///
/// Everything runs on the client connection's event loop; the upstream connection lives on the same loop. A
/// rate-limit decision (a Redis store may be asked) runs in a task; a queued admission waits on the limiter's
/// callback. Both results hop back to the loop. An exchange the client abandoned cancels its wait and ignores late
/// results (a permit that still arrives is released with its handover).
final class Exchange: UpstreamResponseReceiver {
    private enum Phase {
        /// Waiting for a rate-limit decision or an admission permit.
        case admitting
        /// Waiting for an upstream connection.
        case connecting
        /// The request head is upstream; body streaming; no response yet.
        case awaitingResponse
        /// The upstream's response is being forwarded.
        case responding
        /// A failed attempt's response is read to its end before a retry.
        case discarding
        /// The response is complete (or the exchange was abandoned).
        case finished
    }

    /// Held strongly: each use of an `unowned` reference costs an atomic check-and-retain and a release (about 1 % of
    /// the proxy's CPU, some 30 uses a request). The cycle it makes with the connection's `exchange` ends when the
    /// exchange finishes (``ProxyConnectionHandler/exchangeFinished(_:)``) or the connection closes (its teardown
    /// abandons and drops the exchange), and a callback still holding a finished exchange keeps only the closed
    /// connection's object alive until it runs.
    private let connection: ProxyConnectionHandler
    private let eventLoop: any EventLoop
    /// The proxy's clock, kept here: read several times a request, through `connection` it cost an unowned retain
    /// and two hops each time.
    private let clock: any SpillwayClock
    let runtime: ProxyRuntime
    let route: RouteRuntime
    let head: ClientRequestHead
    let accepted: RequestValidation.Accepted
    private let startNanoseconds: Int64
    private var deadline: Deadline?
    private var priority: Priority = .critical
    private var phase = Phase.admitting
    @exclusivity(unchecked) private var permit: AdmissionPermit?
    /// When the permit was granted (the limiter measures the round trip from here).
    private var permitStart: Int64?
    private var waitTask: Task<Void, Never>?
    /// The admission wait in the limiter's queue, while the exchange may still be in it.
    private var queuedAdmission: QueuedAdmission?
    private var rateLimitFields: [(name: String, value: String)] = []
    /// The exchange's spans, while a tracer is active.
    private var trace: ExchangeTrace?

    private var upstream: UpstreamConnection?
    /// The cluster's pool on this loop, looked up by the first attempt (a dictionary lookup) and kept for the rest.
    private var pool: UpstreamConnectionPool?
    private var instance: UpstreamInstance?
    private var previousInstance: UpstreamInstance?
    private var attempts = 0
    private var attemptStart: Int64 = 0
    private var upstreamKeepAlive = true
    private var responseStatus = 0
    /// Whether the response timeout was set by the request's deadline (not the cluster's response timeout).
    private var responseTimeoutIsDeadline = false
    /// The last body bytes either way (for the stall and client-body timeouts). Set when the request body's timer
    /// starts, not here: most requests have no body, and a clock read a request is not free.
    private var lastProgress = NIODeadline.uptimeNanoseconds(0)
    private var continueSent = false

    @exclusivity(unchecked) private(set) var requestEnded = false
    private var requestEndSent = false
    private var bodyBytes = 0

    init(
        connection: ProxyConnectionHandler,
        eventLoop: any EventLoop,
        runtime: ProxyRuntime,
        route: RouteRuntime,
        head: ClientRequestHead,
        accepted: RequestValidation.Accepted,
        startNanoseconds: Int64
    ) {
        self.connection = connection
        self.eventLoop = eventLoop
        self.clock = connection.core.clock
        self.runtime = runtime
        self.route = route
        self.head = head
        self.accepted = accepted
        self.startNanoseconds = startNanoseconds
    }

    private var cluster: UpstreamCluster { route.cluster }
    private var now: Int64 { clock.nanosecondsSinceOrigin }

    /// Whether body parts can be handed over now (upstream attached, or the response already finished and the rest
    /// of the body is being skipped).
    var acceptsRequestBody: Bool {
        switch phase {
        case .awaitingResponse, .responding: upstream != nil || requestEndSent
        case .finished: true
        default: false
        }
    }

    var upstreamIsWritable: Bool {
        switch phase {
        case .awaitingResponse, .responding: upstream?.isWritable ?? true
        case .admitting, .connecting, .discarding: true
        case .finished: true
        }
    }

    var hasStartedResponse: Bool { phase == .responding || (phase == .finished) }

    // MARK: Start

    func start() {
        if let tracer = connection.core.tracer {
            trace = ExchangeTrace(tracer: tracer, head: head, path: String(accepted.path), route: route.name)
        }
        let configuration = runtime.configuration
        guard let budget = requestBudget(configuration.deadlines) else {
            startBody()
            return
        }
        if budget < configuration.deadlines.minimum {
            finishLocally(.deadlineSpent, permitOutcome: .ignored)
            return
        }
        deadline = Deadline.after(min(budget, configuration.deadlines.maximum), clock: clock)
        startBody()
    }

    private func startBody() {
        let resolver = runtime.configuration.clientAddresses
        let peer = connection.peer
        // Made only when a priority rule or a rate limit asks for it (a closure here would be allocated always, and
        // a copy of the head made here retained each of its fields).
        func rateRequest() -> RateLimitRequest {
            let head = head
            return RateLimitRequest(peerAddress: peer) { name in head.values(named: name) }
        }
        priority = route.priority(path: accepted.path, head: head) {
            resolver.clientAddress(of: rateRequest())
        }
        if accepted.framing != .none {
            lastProgress = .now()
            startBodyTimer()
        }
        if let rateLimiter = route.rateLimiter {
            waitAsync(rateLimiter: rateLimiter, request: rateRequest())
        } else {
            admit()
        }
    }

    /// The budget the client asked for, or the configured default.
    private func requestBudget(_ deadlines: ProxyConfiguration.Deadlines) -> Duration? {
        var budget: Duration? = nil
        if let value = head.facts.timeout {
            budget = TimeoutHeader.parseMilliseconds(value)
        }
        if deadlines.readsGRPCTimeout, let value = head.facts.grpcTimeout,
            let parsed = TimeoutHeader.parseGRPCTimeout(value)
        {
            budget = budget.map { min($0, parsed) } ?? parsed
        }
        return budget ?? deadlines.defaultBudget
    }

    // MARK: Admission

    private func admit() {
        // The client may have gone while a rate-limit decision was awaited.
        guard phase == .admitting else { return }
        guard let limiter = route.limiter else {
            connect()
            return
        }
        let arrival = trace == nil ? nil : limiter.snapshot
        hold(limiter.acquireIfFree(priority: priority, deadline: deadline))
        if permit != nil {
            trace?.admitted(priority: priority, queueWait: nil, arrival: arrival)
            connect()
            return
        }
        waitInQueue(limiter)
    }

    /// Queues for a permit without a task: the decision comes back to the loop by one `execute`. A task cost a hop
    /// to the cooperative pool and one back: the queued path cost 6–16 µs of CPU a request more than forwarding
    /// alone under `scripts/bench-proxy`, 0–5 µs now (docs/benchmarks.md, "Queued admission without a task").
    private func waitInQueue(_ limiter: ConcurrencyLimiter) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        queuedAdmission = limiter.acquire(priority: priority, deadline: deadline) { decision in
            bound.eventLoop.execute {
                let exchange = bound.value
                exchange.queuedAdmission = nil
                exchange.decided(decision)
            }
        }
    }

    /// Goes on with an admission decision that came from the limiter's queue.
    private func decided(_ decision: Result<PermitHandover, AdmissionRejection>) {
        switch decision {
        case .success(let handover):
            // An exchange that ended meanwhile does not take the permit: the handover releases it.
            guard phase == .admitting else { return }
            trace?.admitted(priority: priority, queueWait: handover.queueDelay, arrival: nil)
            hold(handover.take())
            connect()
        case .failure(let rejection):
            trace?.rejected(rejection)
            finishLocally(.overloaded(rejection), permitOutcome: .ignored)
        }
    }

    /// Runs the rate-limit check in a task (a Redis store's answer is awaited), then goes on to admission on the
    /// loop.
    private func waitAsync(rateLimiter: RateLimiter, request: RateLimitRequest) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let includeFields = route.configuration.rateLimitHeaders
        waitTask = Task {
            var fields: [(name: String, value: String)] = []
            do {
                let result = try await rateLimiter.check(request)
                guard result.isAllowed else {
                    let response = LocalResponse.rateLimited(result)
                    bound.eventLoop.execute {
                        bound.value.trace?.rateLimited()
                        bound.value.finishLocally(response, permitOutcome: .ignored)
                    }
                    return
                }
                if includeFields { fields = result.headerFields() }
            } catch {
                // A failing store must not take the service down: the request goes on (Redis stores have their own
                // fail-open / fail-closed policy; this is a bug-level failure).
                fields = []
            }
            let allowedFields = fields
            bound.eventLoop.execute {
                let exchange = bound.value
                exchange.waitTask = nil
                exchange.rateLimitFields = allowedFields
                exchange.admit()
            }
        }
    }

    // MARK: Upstream attempts

    private func connect() {
        guard phase == .admitting || phase == .discarding || phase == .connecting else { return }
        waitTask = nil
        let started = now  // one clock read for the checks and the attempt's start
        if let deadline, deadline.hasPassed(atNanoseconds: started) {
            finishLocally(.deadlineExpired(reason: "deadline_before_upstream"), permitOutcome: .dropped)
            return
        }
        guard let pool = pool ?? cluster.pool(for: eventLoop) else {
            finishLocally(.upstreamFailure(reason: "no_pool_for_loop"), permitOutcome: .ignored)
            return
        }
        self.pool = pool
        if attempts == 0 { cluster.retryBudget.recordRequest() }
        let instance = cluster.pick(excluding: previousInstance, pool: pool, now: started)
        self.instance = instance
        instance.inflight.wrappingAdd(1, ordering: .relaxed)
        attempts += 1
        attemptStart = started
        trace?.attemptStarted(to: instance.address, method: head.method)
        phase = .connecting
        switch pool.lease(instance) {
        case .ready(let connection):
            attach(connection)
        case .opening(let future):
            future.assumeIsolated().whenComplete { [self] result in
                guard phase == .connecting, self.instance === instance else {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let channel):
                    do {
                        attach(try pool.adopt(channel, instance: instance))
                    } catch {
                        channel.close(promise: nil)
                        connectFailed()
                    }
                case .failure:
                    connectFailed()
                }
            }
        }
    }

    private func connectFailed() {
        cluster.metrics.record(.connectFailed)
        endAttempt(.gatewayFailure)
        // Nothing reached the upstream: any request may be retried.
        if retryAllowed(didWork: false) {
            retry()
        } else {
            finishLocally(.upstreamFailure(reason: "connect_failed"), permitOutcome: .dropped)
        }
    }

    private func attach(_ upstream: UpstreamConnection) {
        self.upstream = upstream
        upstream.attach(self)
        upstream.handler.flushBatch = connection.flushBatch
        upstreamKeepAlive = true
        phase = .awaitingResponse
        let remaining = deadline.map { Duration.nanoseconds($0.remaining(atNanoseconds: now)) }
        var injected: HTTPHeaders? = nil
        if let trace {
            var fields = HTTPHeaders()
            trace.inject(into: &fields)
            injected = fields
        }
        var bytes = upstream.headBuffer(capacity: 512)
        HeaderRewriting.writeUpstreamHead(
            head,
            target: accepted.target,
            forwarding: .init(
                peer: connection.peer,
                peerIsTrusted: connection.peerIsTrusted(under: runtime),
                host: accepted.host,
                framing: accepted.framing,
                remainingBudget: remaining,
                forwardedElement: connection.forwardedElement(host: accepted.host)
            ),
            extraFields: injected,
            into: &bytes
        )
        upstream.writeHead(bytes, method: head.method, chunked: accepted.framing == .chunked)
        if accepted.expectsContinue && !continueSent && !requestEnded {
            continueSent = true
            connection.write(.head(HTTPResponseHead(version: head.version, status: .continue)))
            connection.flush()
        }
        if accepted.framing == .none {
            // No body: the request ends with its head (an `.end` from the decoder follows and is skipped).
            upstream.writeEnd()
            requestEndSent = true
        }
        startResponseTimer()
        connection.drainInbound()
        upstream.flush()
    }

    func flushUpstream() {
        upstream?.flush()
    }

    // MARK: Request body

    func requestBodyReceived(_ buffer: ByteBuffer) {
        bodyBytes += buffer.readableBytes
        lastProgress = .now()
        guard phase == .awaitingResponse || phase == .responding, let upstream else { return }
        if bodyBytes > runtime.configuration.limits.maxBodyBytes {
            // Only a chunked body gets here (a declared length was checked at the head).
            if phase == .awaitingResponse {
                cluster.metrics.record(.abandoned)
                dropUpstream(observation: .neutral)
                finishLocally(
                    LocalResponse(
                        status: .payloadTooLarge,
                        error: "bad_request",
                        reason: "body_too_large",
                        outcome: .rejected
                    ),
                    permitOutcome: .ignored
                )
            } else {
                abort(outcome: .aborted, permitOutcome: .ignored)
            }
            return
        }
        upstream.writeBody(buffer)
    }

    func requestEndReceived() {
        requestEnded = true
        connection.disarm(.body, for: self)
        if phase == .finished {
            return
        }
        guard let upstream, !requestEndSent else { return }
        upstream.writeEnd()
        requestEndSent = true
        upstream.flush()
    }

    // MARK: Upstream response

    func upstreamReceived(_ part: UpstreamResponsePart) {
        switch part {
        case .head(let response):
            guard phase == .awaitingResponse else { return }
            connection.disarm(.response, for: self)
            responseStatus = Int(response.status.code)
            trace?.answered(status: responseStatus)
            upstreamKeepAlive = response.isKeepAlive
            let status = responseStatus
            let observation: OutlierDetector.Observation = status >= 500 ? .serverError(status: status) : .success
            cluster.outliers.record(observation, instance: instance!, cluster: cluster.instances, now: now)
            cluster.metrics.record(.answered)
            if (502...504).contains(status) && retryAllowed(didWork: true) {
                phase = .discarding
                return
            }
            phase = .responding
            if !requestEnded && accepted.framing != .none {
                // The upstream answers before the body was sent: the rest of it will not be read.
                connection.closeAfterResponse = true
            }
            connection.writeForwardedHead(response, version: head.version, extraFields: rateLimitFields)
        case .body(let buffer):
            guard phase == .responding else { return }
            lastProgress = .now()
            connection.write(.body(.byteBuffer(buffer)))
            if !connection.isWritable { upstream?.pauseReads() }
        case .end(let trailers):
            switch phase {
            case .responding:
                finishForwarded(trailers: trailers)
            case .discarding:
                releaseUpstream()
                endAttempt(.neutral)
                retry()
            default:
                break
            }
        }
    }

    func upstreamReadComplete() {
        guard phase == .responding else { return }
        connection.flush()
        if !connection.isArmed(.stall, for: self) { startStallTimer() }
    }

    func upstreamClosed(error: (any Error)?) {
        let reused = (upstream?.exchangesServed ?? 0) > 0
        upstream = nil
        switch phase {
        case .awaitingResponse:
            connection.disarm(.response, for: self)
            cluster.metrics.record(.reset)
            // A reused keep-alive connection that closes before answering most likely raced the upstream's own
            // idle close: the request was not processed, and it says nothing about the instance's health.
            let stale = reused && accepted.framing == .none
            endAttempt(stale ? .neutral : .gatewayFailure)
            if retryAllowed(didWork: !stale) {
                retry()
            } else {
                finishLocally(.upstreamFailure(reason: "upstream_reset"), permitOutcome: .dropped)
            }
        case .discarding:
            endAttempt(.neutral)
            retry()
        case .responding:
            cluster.metrics.record(.reset)
            endAttempt(.gatewayFailure)
            abort(outcome: .aborted, permitOutcome: .dropped)
        case .admitting, .connecting, .finished:
            break
        }
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if isWritable { connection.updateReads() }
    }

    func clientBecameWritable() {
        upstream?.resumeReads()
    }

    // MARK: Retries

    /// Whether another attempt may be made: attempts and deadline left, the retry budget allows it, and the request
    /// is safe to send again (`didWork` false: nothing reached the upstream; true: the upstream saw the request, so
    /// only an idempotent request without a body may be re-sent).
    private func retryAllowed(didWork: Bool) -> Bool {
        guard attempts < cluster.configuration.retries.attempts else { return false }
        if didWork {
            guard accepted.framing == .none, Self.isIdempotent(head.method) else { return false }
        } else if requestEndSent && accepted.framing != .none {
            return false
        }
        if let deadline, deadline.hasPassed(atNanoseconds: now) { return false }
        guard cluster.retryBudget.tryWithdraw() else { return false }
        cluster.metrics.retries.increment()
        return true
    }

    private func retry() {
        // `endAttempt` left the failed instance in `previousInstance`, which the next pick avoids.
        phase = .connecting
        connect()
    }

    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: true
        default: false
        }
    }

    // MARK: Endings

    private func finishForwarded(trailers: HTTPHeaders?) {
        let finished = now  // one clock read for the latency, the deadline, the round trip and the metrics
        let latency = finished - attemptStart
        instance?.recordLatency(nanoseconds: latency)
        releaseUpstream()
        endAttempt(.neutral)
        let lateOrDropped: Bool = deadline.map { $0.hasPassed(atNanoseconds: finished) } ?? false
        let outcome: PermitOutcome
        switch responseStatus {
        case 100..<400: outcome = lateOrDropped ? .dropped : .success
        case 502, 503, 504: outcome = .dropped
        default: outcome = .ignored
        }
        if !requestEnded { connection.closeAfterResponse = true }
        if outcome == .success, !roundTripMeasuresTheBackend(at: finished) {
            permit.take()?.releaseUnmeasured()
        } else {
            releasePermit(outcome)
        }
        phase = .finished
        record(status: responseStatus, outcome: .forwarded, withinDeadline: !lateOrDropped, at: finished)
        finishTrace(status: responseStatus, outcome: .forwarded)
        connection.writeEnd(trailers)
        connection.exchangeFinished(self)
    }

    /// Answers with a response of the proxy's own (nothing of an upstream response has been written).
    private func finishLocally(_ response: LocalResponse, permitOutcome: PermitOutcome) {
        guard phase != .finished, phase != .responding else { return }
        if upstream != nil { dropUpstream(observation: .neutral) }
        if instance != nil { endAttempt(.neutral) }
        waitTask?.cancel()
        waitTask = nil
        queuedAdmission?.cancel()
        queuedAdmission = nil
        releasePermit(permitOutcome)
        phase = .finished
        var response = response
        if !rateLimitFields.isEmpty && response.status != .tooManyRequests {
            response.headers.append(contentsOf: rateLimitFields)
        }
        record(status: Int(response.status.code), outcome: response.outcome, withinDeadline: true)
        finishTrace(status: Int(response.status.code), outcome: response.outcome)
        let closing = connection.closeAfterResponse || (!requestEnded && accepted.framing != .none)
        connection.writeLocal(response, version: head.version, closing: closing)
        connection.exchangeFinished(self)
    }

    /// The exchange cannot finish its response (the upstream broke mid-body): close the client connection.
    private func abort(outcome: ProxyOutcome, permitOutcome: PermitOutcome) {
        guard phase != .finished else { return }
        if upstream != nil { dropUpstream(observation: .neutral) }
        if instance != nil { endAttempt(.neutral) }
        releasePermit(permitOutcome)
        phase = .finished
        record(status: responseStatus == 0 ? 502 : responseStatus, outcome: outcome, withinDeadline: false)
        finishTrace(status: responseStatus == 0 ? 502 : responseStatus, outcome: outcome)
        connection.close()
    }

    /// The client went away (or the connection is being torn down): stop everything, quietly.
    func abandon() {
        guard phase != .finished else { return }
        waitTask?.cancel()
        waitTask = nil
        queuedAdmission?.cancel()
        queuedAdmission = nil
        if upstream != nil {
            cluster.metrics.record(.abandoned)
            if !handOverAbandonedAttempt(answeredOutcome: .ignored) { dropUpstream(observation: .neutral) }
        }
        if instance != nil { endAttempt(.neutral) }
        releasePermit(.ignored)
        phase = .finished
        record(status: 499, outcome: .aborted, withinDeadline: false)
        finishTrace(status: 499, outcome: .aborted)
    }

    private func hold(_ granted: consuming AdmissionPermit?) {
        guard let granted else { return }
        permitStart = granted.startNanoseconds
        permit = .some(granted)
    }

    /// Whether a forwarded success reaches the limit as a latency sample; not when its round trip was mostly the
    /// proxy's own event-loop wait (see ``UpstreamLatencyFilter``).
    private func roundTripMeasuresTheBackend(at time: Int64) -> Bool {
        guard let permitStart else { return true }
        return route.latencyFilter.measures(
            roundTripNanoseconds: time - permitStart,
            loopLagNanoseconds: connection.loopLagNanoseconds
        )
    }

    private func releasePermit(_ outcome: PermitOutcome) {
        if let taken = permit.take() { taken.release(outcome) }
    }

    /// Ends the current attempt's accounting on its instance exactly once.
    private func endAttempt(_ observation: OutlierDetector.Observation) {
        guard let instance else { return }
        self.instance = nil
        trace?.endAttempt(failure: observation == .gatewayFailure ? "gateway_failure" : nil)
        instance.inflight.wrappingSubtract(1, ordering: .relaxed)
        if observation != .neutral {
            cluster.outliers.record(observation, instance: instance, cluster: cluster.instances, now: now)
        }
        previousInstance = instance
    }

    /// Returns the upstream connection to its pool when it can serve another request, else closes it.
    private func releaseUpstream() {
        guard let upstream else { return }
        self.upstream = nil
        if upstreamKeepAlive && requestEndSent, let pool {
            pool.release(upstream)
        } else {
            upstream.close()
        }
    }

    /// Hands the attempt in progress to an ``AbandonedAttempt`` — its upstream connection, its instance's in-flight
    /// count and the permit — when the cluster holds abandoned requests and the instance has the whole request and
    /// has not started answering; returns whether it did. A request whose body was still arriving is not held: the
    /// instance is waiting for the rest, which will not come.
    private func handOverAbandonedAttempt(answeredOutcome: PermitOutcome) -> Bool {
        guard cluster.configuration.abandonedRequests == .hold, phase == .awaitingResponse, requestEndSent,
            let upstream, let instance
        else { return false }
        self.upstream = nil
        self.instance = nil
        previousInstance = instance
        trace?.endAttempt(failure: nil)
        let elapsed = now - attemptStart
        _ = AbandonedAttempt(
            upstream: upstream,
            permit: permit.take(),
            answeredOutcome: answeredOutcome,
            instance: instance,
            pool: pool,
            metrics: cluster.metrics,
            timeLeft: .nanoseconds(cluster.configuration.responseTimeout.nanoseconds - elapsed),
            eventLoop: eventLoop
        )
        return true
    }

    /// Closes the upstream connection mid-exchange (its state is unknown).
    private func dropUpstream(observation: OutlierDetector.Observation) {
        guard let upstream else { return }
        self.upstream = nil
        upstream.close()
        if let instance, observation != .neutral {
            cluster.outliers.record(observation, instance: instance, cluster: cluster.instances, now: now)
        }
    }

    /// Ends the exchange's spans (once).
    private func finishTrace(status: Int, outcome: ProxyOutcome) {
        trace?.finished(status: status, outcome: outcome.rawValue)
        trace = nil
    }

    private func record(status: Int, outcome: ProxyOutcome, withinDeadline: Bool, at time: Int64? = nil) {
        route.metrics.record(
            status: status,
            outcome: outcome,
            nanoseconds: (time ?? now) - startNanoseconds,
            withinDeadline: withinDeadline
        )
    }

    // MARK: Timers

    /// A timeout of this exchange passed (on the connection's ``ConnectionTimer``). The connection disarms the
    /// exchange's timeouts when the exchange ends (finished, abandoned or closed), so none fires for it afterwards.
    func timerExpired(_ slot: ConnectionTimer.Slot) {
        switch slot {
        case .response: responseTimedOut(byDeadline: responseTimeoutIsDeadline)
        case .stall: stallTimerExpired()
        case .body: bodyTimerExpired()
        case .idle, .header: break
        }
    }

    /// Until the response head: the cluster's response timeout or the deadline, whichever comes first.
    private func startResponseTimer() {
        var wait = cluster.configuration.responseTimeout.nanoseconds
        responseTimeoutIsDeadline = false
        if let deadline {
            let left = deadline.remaining(atNanoseconds: now)
            if left <= wait {
                wait = left
                responseTimeoutIsDeadline = true
            }
        }
        connection.arm(.response, at: .now() + .nanoseconds(wait), for: self)
    }

    private func responseTimedOut(byDeadline: Bool) {
        guard phase == .awaitingResponse else { return }
        if byDeadline {
            // The caller's own deadline: it says nothing about the instance (a tiny budget must not eject it).
            cluster.metrics.record(.abandoned)
            if !handOverAbandonedAttempt(answeredOutcome: .dropped) {
                dropUpstream(observation: .neutral)
                endAttempt(.neutral)
            }
            finishLocally(.deadlineExpired(reason: "deadline_exceeded_upstream"), permitOutcome: .dropped)
        } else {
            cluster.metrics.record(.timeout)
            dropUpstream(observation: .neutral)
            endAttempt(.gatewayFailure)
            finishLocally(
                LocalResponse(
                    status: .gatewayTimeout,
                    error: "gateway_timeout",
                    reason: "upstream_timeout",
                    outcome: .upstreamTimeout
                ),
                permitOutcome: .dropped
            )
        }
    }

    /// While a response streams: no bytes either way for the idle timeout ends the exchange.
    private func startStallTimer() {
        connection.arm(.stall, at: .now() + .nanoseconds(runtime.configuration.timeouts.idle.nanoseconds), for: self)
    }

    private func stallTimerExpired() {
        guard phase == .responding else { return }
        let idle = TimeAmount.nanoseconds(runtime.configuration.timeouts.idle.nanoseconds)
        if NIODeadline.now() - lastProgress >= idle {
            abort(outcome: .aborted, permitOutcome: .ignored)
        } else {
            startStallTimer()
        }
    }

    /// While a request body arrives: a gap longer than the client body timeout ends the exchange (408 when no
    /// response has started). Time spent not reading (backpressure) does not count.
    private func startBodyTimer() {
        connection.arm(
            .body,
            at: .now() + .nanoseconds(runtime.configuration.timeouts.clientBody.nanoseconds),
            for: self
        )
    }

    private func bodyTimerExpired() {
        guard !requestEnded, phase != .finished else { return }
        let timeout = TimeAmount.nanoseconds(runtime.configuration.timeouts.clientBody.nanoseconds)
        let waitingOnUs = !acceptsRequestBody || !upstreamIsWritable
        if waitingOnUs || NIODeadline.now() - lastProgress < timeout {
            startBodyTimer()
            return
        }
        if phase == .responding {
            abort(outcome: .rejected, permitOutcome: .ignored)
        } else {
            cluster.metrics.record(.abandoned)
            dropUpstream(observation: .neutral)
            finishLocally(
                LocalResponse(
                    status: .requestTimeout,
                    error: "bad_request",
                    reason: "body_timeout",
                    outcome: .rejected
                ),
                permitOutcome: .ignored
            )
        }
    }
}

extension LocalResponse {
    static func deadlineExpired(reason: String) -> LocalResponse {
        LocalResponse(status: .gatewayTimeout, error: "deadline_exceeded", reason: reason, outcome: .deadlineExceeded)
    }

    static func upstreamFailure(reason: String) -> LocalResponse {
        // Retry-After: the balancer will have moved on (or the instance come back) by then.
        LocalResponse(
            status: .badGateway,
            error: "bad_gateway",
            reason: reason,
            retryAfter: .seconds(1),
            outcome: .upstreamFailed
        )
    }
}
