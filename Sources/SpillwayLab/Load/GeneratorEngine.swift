import DequeModule
import HeapModule
import NIOCore
import NIOPosix
import Spillway

/// Something to do at a fixed offset of a run (a scenario turning a knob on the victim).
struct TimelineEvent: Sendable {
    var offset: Duration
    var action: @Sendable () -> Void
}

/// The open-loop generator's machinery: one event loop owns the schedule, every connection and every timer, so
/// that sending on time never waits for a lock or a task hop.
///
/// Each logical request starts at its intended instant whatever the target is doing; latency is measured from that
/// instant (and from a retry's due instant), so a stalled server shows up in every request that should have been
/// sent during the stall — no coordinated omission. How late the loop actually got to each arrival is the send lag.
///
/// Time-driven work (arrivals, attempt deadlines, delayed retries, the scenario's events, the per-tick sampling) is
/// kept in the engine's own queues and served by one re-armed wake-up. NIO cancels a scheduled task by a linear
/// search of its timer heap, so one NIO timer per attempt, cancelled when the answer comes, turns into quadratic
/// work exactly when a spike fills the heap — the generator would then lag behind its own schedule.
///
/// `@unchecked Sendable`: every mutable property is read and written only on `loop`, the single thread of a
/// one-thread event loop group that also owns every channel the engine opens. Code elsewhere reaches the engine
/// only through `loop.execute`/`scheduleTask`, and the channel handlers it installs run on that same loop.
final class GeneratorEngine: @unchecked Sendable {
    /// Loop-confined like the engine (see there): created, read and changed only on `loop`.
    final class Connection: @unchecked Sendable {
        var channel: (any Channel)?
        var attempt: Attempt?
        var closed = false
        /// The request in flight is a `HEAD`: its response has no body.
        var bodyless = false
    }

    /// Loop-confined like the engine (see there): created, read and changed only on `loop`.
    final class Attempt: @unchecked Sendable {
        let logical: Int
        let stream: Int
        let index: Int
        /// When the attempt was due (nanoseconds from the epoch): latency is measured from here.
        let due: Int64
        let deadline: Int64
        var connection: Connection?
        var finished = false

        init(logical: Int, stream: Int, index: Int, due: Int64, deadline: Int64) {
            self.logical = logical
            self.stream = stream
            self.index = index
            self.due = due
            self.deadline = deadline
        }
    }

    enum Outcome {
        case status(Int, retryAfter: Duration?)
        case timeout
        case connectionFailed
    }

    let loop: any EventLoop
    let plan: LoadPlan
    let timeline: RunTimeline
    let clock = ContinuousClock()
    private let arrivals: [Arrival]
    private let endNanoseconds: Int64
    private let quantum: Int64
    private let address: SocketAddress
    private let requests: [EncodedRequest]
    private let probe: (@Sendable () -> Int?)?
    private let progress: (@Sendable (ProgressLine) -> Void)?
    private let victimCompleted: (@Sendable (Int) -> Int?)?

    private struct Due<Payload>: Comparable {
        var at: Int64
        var sequence: Int
        var payload: Payload

        static func < (lhs: Due, rhs: Due) -> Bool {
            (lhs.at, lhs.sequence) < (rhs.at, rhs.sequence)
        }

        static func == (lhs: Due, rhs: Due) -> Bool {
            lhs.at == rhs.at && lhs.sequence == rhs.sequence
        }
    }

    private struct Retry {
        var logical: Int
        var index: Int
        var deadline: Int64?
    }

    /// The shared state of a stream whose clients retry the Spillway way: one budget for all its requests.
    private struct CarefulClient {
        var policy: SpillwayRetryPolicy
        var budget: RetryBudget
        var random: RandomSource
    }

    /// One bootstrap per source address (one when the kernel picks the address); used in turn.
    private var bootstraps: [ClientBootstrap] = []
    private var nextBootstrap = 0
    private let careful: [CarefulClient?]
    private var recorder: RunRecorder
    private var nextArrival = 0
    private var nextTick = 1
    private var events: [TimelineEvent] = []
    private var nextEvent = 0
    private var deadlines = Heap<Due<Attempt>>()
    private var retries = Heap<Due<Retry>>()
    private var sequence = 0
    /// The instant of the wake-up currently armed on the loop, if any.
    private var armedAt: Int64?
    /// Whether `wake()` is running: it arms the next wake-up itself once it is done, so work it starts (arrivals,
    /// retries and their deadlines) must not arm one each. Otherwise every attempt left a wake-up at its deadline in
    /// NIO's timer heap — thousands at a few thousand requests per second — and each connect's timeout,
    /// cancelled by a linear search of that heap, grew with it.
    private var waking = false
    private var idle: [Connection] = []
    /// Connects in progress (at most `plan.maxPendingConnects`).
    private var connecting = 0
    /// Attempts waiting for a connection while `plan.maxPendingConnects` connects are in progress, oldest first.
    /// One that reaches its deadline while waiting times out (and is skipped here).
    private var waiting = Deque<Attempt>()
    private var open: [ObjectIdentifier: Connection] = [:]
    /// Connections closed at a deadline and not yet replaced: the next connections opened are their reconnects.
    private var unreplaced = 0
    private var stopped = false
    private let finished: EventLoopPromise<RunRecorder>

    init(
        loop: any EventLoop,
        plan: LoadPlan,
        address: SocketAddress,
        timeline: RunTimeline,
        probe: (@Sendable () -> Int?)?,
        victimCompleted: (@Sendable (Int) -> Int?)?,
        progress: (@Sendable (ProgressLine) -> Void)?
    ) {
        self.loop = loop
        self.plan = plan
        self.address = address
        self.timeline = timeline
        self.probe = probe
        self.victimCompleted = victimCompleted
        self.progress = progress
        self.endNanoseconds = plan.profile.duration.nanoseconds
        self.quantum = max(0, plan.sendQuantum.nanoseconds)
        self.arrivals = ArrivalSchedule.make(
            profile: plan.profile,
            process: plan.arrivals,
            shares: plan.streams.map(\.share),
            seed: plan.seed
        )
        let tickCount = Int((endNanoseconds + RunTimeline.tick - 1) / RunTimeline.tick)
        self.recorder = RunRecorder(tickCount: tickCount, streamNames: plan.streams.map(\.name))
        self.recorder.logical.reserveCapacity(arrivals.count)
        var perAttempt: [String] = []
        if plan.sendsDeadlineHeader { perAttempt.append(TimeoutHeader.defaultName) }
        if plan.sendsLabHeaders { perAttempt.append(LabHeaders.deadline) }
        self.requests = plan.streams.map { stream in
            var headers: [(name: String, value: String)] = [
                ("Host", plan.target.hostHeader), ("User-Agent", "spillway-lab"),
            ]
            headers += stream.request.headers.map { ($0.name, $0.value) }
            if let priority = stream.priority { headers.append((LabHeaders.priority, priority.label)) }
            return EncodedRequest(
                method: stream.request.method,
                path: plan.target.path(for: stream.request),
                headers: headers,
                body: stream.request.body,
                perAttempt: perAttempt
            )
        }
        self.careful = plan.streams.enumerated().map { index, stream in
            guard case .spillway(let policy) = stream.retry else { return nil }
            return CarefulClient(
                policy: policy,
                budget: RetryBudget(
                    configuration: .finagle(
                        minRetriesPerSecond: policy.budgetMinimumPerSecond,
                        percentCanRetry: policy.budgetPercent,
                        name: "lab-\(stream.name)"
                    )
                ),
                random: .seeded(plan.seed &+ UInt64(index))
            )
        }
        self.finished = loop.makePromise(of: RunRecorder.self)
    }

    /// Starts the run on the loop; the future completes with the measurements once the profile has ended and
    /// every connection is closed.
    func start(events: [TimelineEvent]) -> EventLoopFuture<RunRecorder> {
        loop.execute {
            ThreadPriority.favourCurrentThread()
            self.events = events.sorted { $0.offset < $1.offset }
            self.wake()
        }
        return finished.futureResult
    }

    private var now: Int64 { timeline.nanoseconds(at: clock.now) }

    // MARK: Schedule

    /// Does everything that is due, then arms the next wake-up.
    private func wake() {
        guard !stopped else { return }
        waking = true
        defer { waking = false }
        var current = now
        while nextTick <= recorder.tickCount, Int64(nextTick) * RunTimeline.tick <= current {
            endOfTick(nextTick - 1)
            nextTick += 1
        }
        while nextEvent < events.count, events[nextEvent].offset.nanoseconds <= current {
            events[nextEvent].action()
            nextEvent += 1
        }
        // Deadlines, retries and arrivals in the order they fell due, so that a burst of timeouts does not push
        // back an arrival that was due before them.
        while true {
            let arrivalAt = nextArrival < arrivals.count ? arrivals[nextArrival].offset : Int64.max
            let deadlineAt = deadlines.min?.at ?? .max
            let retryAt = retries.min?.at ?? .max
            let first = min(arrivalAt, deadlineAt, retryAt)
            guard first <= current else { break }
            if first == arrivalAt {
                let arrival = arrivals[nextArrival]
                nextArrival += 1
                recorder.recordLag(nanoseconds: current - arrival.offset, at: arrival.offset)
                let id = recorder.logical.count
                recorder.logical.append(LogicalRecord(offset: arrival.offset, stream: arrival.stream))
                recorder.count(arrival.stream, at: arrival.offset) { $0.offered += 1 }
                careful[arrival.stream]?.budget.recordRequest()
                startAttempt(logical: id, index: 0, due: arrival.offset, deadline: nil)
            } else if first == deadlineAt {
                let attempt = deadlines.removeMin().payload
                if !attempt.finished { timedOut(attempt) }
            } else {
                let retry = retries.removeMin()
                startAttempt(
                    logical: retry.payload.logical,
                    index: retry.payload.index,
                    due: retry.at,
                    deadline: retry.payload.deadline
                )
            }
            current = now
        }
        if current >= endNanoseconds {
            stop()
            return
        }
        var next = endNanoseconds
        if nextArrival < arrivals.count { next = min(next, arrivals[nextArrival].offset) }
        if nextTick <= recorder.tickCount { next = min(next, Int64(nextTick) * RunTimeline.tick) }
        if nextEvent < events.count { next = min(next, events[nextEvent].offset.nanoseconds) }
        if let first = deadlines.min { next = min(next, first.at) }
        if let first = retries.min { next = min(next, first.at) }
        if quantum > 1 { next = min(endNanoseconds, (next + quantum - 1) / quantum * quantum) }
        arm(at: next)
    }

    /// Makes sure a wake-up happens at `instant`. A wake-up armed for later stays armed and fires harmlessly:
    /// cancelling it would cost a linear search of NIO's timer heap.
    private func arm(at instant: Int64) {
        if let armedAt, armedAt <= instant { return }
        armedAt = instant
        loop.scheduleTask(in: .nanoseconds(max(0, instant - now))) {
            if self.armedAt == instant { self.armedAt = nil }
            self.wake()
        }
    }

    private func endOfTick(_ tick: Int) {
        if let probe, tick < recorder.limitPerTick.count { recorder.limitPerTick[tick] = probe() }
        if tick % 10 == 9 { reportSecond(tick / 10) }
    }

    private func reportSecond(_ second: Int) {
        guard let progress else { return }
        var total = StreamTick()
        for stream in recorder.ticks.indices {
            for tick in (second * 10)..<min(second * 10 + 10, recorder.tickCount) {
                total.add(recorder.ticks[stream][tick])
            }
        }
        let histogram = recorder.secondLatency[second]
        progress(
            ProgressLine(
                second: second + 1,
                offered: total.offered,
                attempts: total.attempts,
                goodput: total.endToEndSuccesses,
                shed: total.shed503 + total.shed429 + total.shed502 + total.shed504,
                timeouts: total.timeouts,
                failures: total.failures,
                p99Milliseconds: histogram.totalCount > 0 ? Double(histogram.valueAtPercentile(99)) / 1000 : nil,
                completedWork: victimCompleted?(second),
                limit: probe?(),
                maxSendLagMilliseconds: Double(recorder.maxLagPerSecond[second]) / 1000,
                openConnections: open.count
            )
        )
    }

    // MARK: Attempts

    /// Sends attempt `index` of a logical request, due at `due`; its deadline is `deadline`, or one stream
    /// deadline after `due` when `nil`.
    private func startAttempt(logical: Int, index: Int, due: Int64, deadline: Int64?) {
        let stream = recorder.logical[logical].stream
        let deadline = deadline ?? due + plan.streams[stream].deadline.nanoseconds
        let attempt = Attempt(logical: logical, stream: stream, index: index, due: due, deadline: deadline)
        recorder.logical[logical].attempts += 1
        let sentAt = now
        recorder.count(stream, at: sentAt) {
            $0.attempts += 1
            if index > 0 { $0.retries += 1 }
        }
        sequence += 1
        deadlines.insert(Due(at: deadline, sequence: sequence, payload: attempt))
        if !waking, deadline < (armedAt ?? .max) { arm(at: deadline) }
        while let connection = idle.popLast() {
            guard !connection.closed, let channel = connection.channel, channel.isActive else { continue }
            send(attempt, on: connection, channel: channel)
            return
        }
        guard open.count < plan.maxConnections, connecting < plan.maxPendingConnects else {
            recorder.attemptsWaitedForConnection += 1
            waiting.append(attempt)
            return
        }
        connect(for: attempt)
    }

    /// Gives a free connection to the oldest attempt still waiting for one, or keeps it idle.
    private func release(_ connection: Connection, channel: any Channel) {
        while let attempt = waiting.popFirst() {
            guard !attempt.finished else { continue }
            send(attempt, on: connection, channel: channel)
            return
        }
        idle.append(connection)
    }

    /// Opens connections for waiting attempts while fewer than `plan.maxPendingConnects` are being opened.
    private func connectForWaiting() {
        while !stopped, connecting < plan.maxPendingConnects, open.count < plan.maxConnections,
            let attempt = waiting.popFirst()
        {
            guard !attempt.finished else { continue }
            connect(for: attempt)
        }
    }

    private func connect(for attempt: Attempt) {
        let connection = Connection()
        open[ObjectIdentifier(connection)] = connection
        connecting += 1
        recorder.peakPendingConnects = max(recorder.peakPendingConnects, connecting)
        recorder.connectionsOpened += 1
        if unreplaced > 0 {
            unreplaced -= 1
            recorder.reconnects += 1
        }
        recorder.peakConnections = max(recorder.peakConnections, open.count)
        makeBootstrap()
            .connect(to: address)
            .whenComplete { result in
                self.connecting -= 1
                defer { self.connectForWaiting() }
                switch result {
                case .success(let channel):
                    connection.channel = channel
                    let handler = ResponseHandler(engine: self, connection: connection)
                    guard (try? channel.pipeline.syncOperations.addHandler(handler)) != nil, channel.isActive else {
                        // Closed before the handler could see it: it will never report the close itself.
                        channel.close(promise: nil)
                        self.closed(connection)
                        if !attempt.finished { self.finish(attempt, .connectionFailed) }
                        return
                    }
                    if self.stopped {
                        channel.close(promise: nil)
                    } else if attempt.finished {
                        self.release(connection, channel: channel)
                    } else {
                        self.send(attempt, on: connection, channel: channel)
                    }
                case .failure:
                    connection.closed = true
                    self.open.removeValue(forKey: ObjectIdentifier(connection))
                    if !attempt.finished { self.finish(attempt, .connectionFailed) }
                }
            }
    }

    /// The next bootstrap in turn: one per source address (see `LoadPlan.sourceAddresses`), made once. The
    /// handler that knows which connection a channel is joins the pipeline when the connect succeeds, before any
    /// request is written.
    private func makeBootstrap() -> ClientBootstrap {
        if bootstraps.isEmpty {
            let sources = Self.sourceAddresses(count: plan.sourceAddresses, target: address)
            if sources.isEmpty {
                bootstraps = [baseBootstrap()]
            } else {
                // IP_BIND_ADDRESS_NO_PORT: bind only the address; the port is chosen at connect, for the whole
                // 4-tuple, instead of a port unique to the address at bind.
                let bindAddressOnly = ChannelOptions.Types.SocketOption(
                    level: SocketOptionLevel(IPPROTO_IP),
                    name: SocketOptionName(24)
                )
                bootstraps = sources.map { baseBootstrap().channelOption(bindAddressOnly, value: 1).bind(to: $0) }
            }
        }
        nextBootstrap = (nextBootstrap + 1) % bootstraps.count
        return bootstraps[nextBootstrap]
    }

    /// The source addresses for connections to `target`: 127.0.0.2 onwards for an IPv4 loopback target on Linux,
    /// none (the kernel's choice) otherwise or when `count` is 1.
    static func sourceAddresses(count: Int, target: SocketAddress) -> [SocketAddress] {
        #if os(Linux)
        guard count > 1, target.protocol == .inet, target.ipAddress?.hasPrefix("127.") == true else { return [] }
        return (0..<count).compactMap { try? SocketAddress(ipAddress: "127.0.0.\(2 + $0)", port: 0) }
        #else
        return []
        #endif
    }

    /// Requests are written as bytes (``EncodedRequest``) and responses framed by ``ResponseFramer`` in the one
    /// handler added at connect: no HTTP codec in the pipeline.
    private func baseBootstrap() -> ClientBootstrap {
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
    }

    private func send(_ attempt: Attempt, on connection: Connection, channel: any Channel) {
        attempt.connection = connection
        connection.attempt = attempt
        let request = requests[attempt.stream]
        connection.bodyless = request.bodyless
        var buffer = channel.allocator.buffer(capacity: request.size + 96)
        request.write(
            into: &buffer,
            plan.sendsDeadlineHeader
                ? (TimeoutHeader.defaultName, TimeoutHeader.format(.nanoseconds(max(0, attempt.deadline - now))))
                : nil,
            plan.sendsLabHeaders ? (LabHeaders.deadline, String(attempt.deadline)) : nil
        )
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: Outcomes

    /// A complete response arrived on `connection`.
    func responded(on connection: Connection, status: Int, keepAlive: Bool, retryAfter: Duration?) {
        guard let attempt = connection.attempt else { return }
        connection.attempt = nil
        attempt.connection = nil
        if keepAlive && !stopped && !connection.closed, let channel = connection.channel {
            release(connection, channel: channel)
        } else {
            connection.channel?.close(promise: nil)
        }
        guard !attempt.finished else { return }
        finish(attempt, .status(status, retryAfter: retryAfter))
    }

    /// The connection closed (by either side).
    func closed(_ connection: Connection) {
        connection.closed = true
        open.removeValue(forKey: ObjectIdentifier(connection))
        if let attempt = connection.attempt {
            connection.attempt = nil
            attempt.connection = nil
            if !attempt.finished { finish(attempt, .connectionFailed) }
        }
        if stopped && open.isEmpty { complete() }
        connectForWaiting()
    }

    private func timedOut(_ attempt: Attempt) {
        guard !attempt.finished, !stopped else { return }
        if let connection = attempt.connection {
            // HTTP/1.1 cannot cancel one request: the only way to give up is to close its connection.
            connection.attempt = nil
            attempt.connection = nil
            connection.channel?.close(promise: nil)
            recorder.connectionsClosedAtDeadline += 1
            unreplaced += 1
        }
        finish(attempt, .timeout)
    }

    private func finish(_ attempt: Attempt, _ outcome: Outcome) {
        attempt.finished = true
        guard !stopped else { return }
        let at = now
        let stream = attempt.stream
        var retryable = false
        switch outcome {
        case .status(let status, _):
            switch status {
            case 200..<300:
                recorder.recordSuccess(
                    of: attempt.logical,
                    attemptDue: attempt.due,
                    at: at,
                    callerDeadline: plan.streams[stream].deadline.nanoseconds
                )
            case 503:
                recorder.count(stream, at: at) { $0.shed503 += 1 }
                retryable = true
            case 429:
                recorder.count(stream, at: at) { $0.shed429 += 1 }
                retryable = true
            case 502:
                recorder.count(stream, at: at) { $0.shed502 += 1 }
                retryable = true
            case 504:
                recorder.count(stream, at: at) { $0.shed504 += 1 }
                retryable = true
            case 500..<600:
                recorder.count(stream, at: at) { $0.failures += 1 }
                retryable = true
            default:
                recorder.count(stream, at: at) { $0.failures += 1 }
            }
        case .timeout:
            recorder.count(stream, at: at) { $0.timeouts += 1 }
            retryable = true
        case .connectionFailed:
            recorder.count(stream, at: at) { $0.failures += 1 }
            retryable = true
        }
        let behaviour = plan.streams[stream].retry
        if case .spillway = behaviour {
            retryCarefully(attempt, outcome, at: at)
            return
        }
        guard retryable, attempt.index + 1 < behaviour.maxAttempts else {
            recorder.logical[attempt.logical].finished = true
            return
        }
        switch behaviour {
        case .none, .spillway:
            recorder.logical[attempt.logical].finished = true
        case .naive(_, let interval):
            if interval == .zero {
                startAttempt(logical: attempt.logical, index: attempt.index + 1, due: at, deadline: nil)
            } else {
                scheduleRetry(of: attempt, at: at + interval.nanoseconds, deadline: nil)
            }
        }
    }

    /// Spillway's client: the stream's deadline covers all attempts; only overload refusals and connection
    /// failures are retried, after a jittered backoff (at least the server's `Retry-After`), while the shared
    /// budget allows and the deadline leaves room.
    private func retryCarefully(_ attempt: Attempt, _ outcome: Outcome, at: Int64) {
        guard let client = careful[attempt.stream] else { return }
        var retryAfter: Duration?
        var retryable = false
        switch outcome {
        case .status(let status, let after):
            switch status {
            case 200..<300:
                client.budget.record(.success)
            case 429, 502, 503, 504:
                retryable = true
                retryAfter = after
                client.budget.record(.retryableFailure(retryAfter: after))
            default:
                client.budget.record(.failure)
            }
        case .connectionFailed:
            retryable = true
            client.budget.record(.retryable)
        case .timeout:
            client.budget.record(.failure)
        }
        guard retryable, attempt.index + 1 < client.policy.maxRetries + 1, client.budget.tryWithdraw() else {
            recorder.logical[attempt.logical].finished = true
            return
        }
        let backoff = client.policy.backoff.delay(forRetry: attempt.index + 1, previous: nil, using: client.random)
        let due = at + max(backoff, retryAfter ?? .zero).nanoseconds
        // Never retry past the caller's deadline; a retry needs at least a millisecond to be worth sending.
        guard due + 1_000_000 < attempt.deadline else {
            recorder.logical[attempt.logical].finished = true
            return
        }
        scheduleRetry(of: attempt, at: due, deadline: attempt.deadline)
    }

    private func scheduleRetry(of attempt: Attempt, at due: Int64, deadline: Int64?) {
        sequence += 1
        let retry = Retry(logical: attempt.logical, index: attempt.index + 1, deadline: deadline)
        retries.insert(Due(at: due, sequence: sequence, payload: retry))
        if !waking { arm(at: due) }
    }

    // MARK: Stopping

    private func stop() {
        guard !stopped else { return }
        stopped = true
        idle.removeAll()
        waiting.removeAll()
        if open.isEmpty {
            complete()
            return
        }
        for connection in open.values { connection.channel?.close(promise: nil) }
        // Connections still connecting close when their connect completes; do not wait for slow ones.
        loop.scheduleTask(in: .milliseconds(500)) { self.complete() }
    }

    private var completed = false

    private func complete() {
        guard !completed else { return }
        completed = true
        finished.succeed(recorder)
    }
}

/// Reads responses off one connection (framed by ``ResponseFramer``) and reports them to the engine.
private final class ResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let engine: GeneratorEngine
    private let connection: GeneratorEngine.Connection
    private var framer = ResponseFramer()
    /// Bytes of a response not framed yet; `nil` between responses, so that the common case — a whole response in
    /// one read — copies nothing.
    private var pending: ByteBuffer?

    init(engine: GeneratorEngine, connection: GeneratorEngine.Connection) {
        self.engine = engine
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if pending == nil {
            pending = incoming
        } else {
            pending!.writeBuffer(&incoming)
        }
        do {
            while let response = try framer.next(&pending!, bodyless: connection.bodyless) {
                engine.responded(
                    on: connection,
                    status: response.status,
                    keepAlive: response.keepAlive,
                    retryAfter: response.retryAfter
                )
            }
        } catch {
            pending = nil
            context.close(promise: nil)
            return
        }
        if pending!.readableBytes == 0 {
            pending = nil
        } else if pending!.readerIndex > 4096 {
            pending!.discardReadBytes()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let response = framer.closed() {
            engine.responded(on: connection, status: response.status, keepAlive: false, retryAfter: response.retryAfter)
        }
        engine.closed(connection)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
