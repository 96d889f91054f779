import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle
import Spillway
import Synchronization
import Tracing

/// Runs the jobs of one queue: claims them under a lease, renews the lease while the handler runs, records the
/// outcome under the claim's fencing token, retries with backoff, snoozes when a dependency refuses, dead-letters
/// after the last attempt, rescues expired leases and prunes old completed jobs.
///
/// How many jobs run at once is decided by a Spillway ``Spillway/ConcurrencyLimiter`` (the library's default
/// adaptive algorithm unless you pass your own): every job holds a permit, its run time is the latency sample, and
/// timeouts and dependency refusals count as drops, so concurrency follows what the downstream can take.
///
/// The pool is a ServiceLifecycle `Service`. On graceful shutdown (SIGTERM in a `ServiceGroup`) it stops
/// claiming, gives back the jobs it claimed but had not started, lets running handlers finish for
/// ``Configuration/gracePeriod``, then cancels the rest and gives their jobs back, uncharged. A job is never
/// lost: one whose worker dies without giving it back runs again when its lease expires.
///
/// ```swift
/// let workers = JobWorkerPool(store: store, configuration: .init(queue: "emails"))
/// workers.register(SendEmail.self) { email, context in
///     try await mailer.send(to: email.to, template: email.template)
/// }
/// let services = ServiceGroup(services: [workers], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await services.run()
/// ```
public final class JobWorkerPool: Service, Sendable, CustomStringConvertible {
    typealias Handler = @Sendable (JobClaim, JobContext) async throws -> Void

    /// The configuration the pool was created with.
    public let configuration: Configuration
    /// The store the pool works on.
    public let store: JobStore
    /// The limiter deciding how many jobs run at once.
    public let limiter: ConcurrencyLimiter
    let clock: any SpillwayClock
    let logger: Logger
    let metrics: JobMetrics
    let registry = JobRegistry()
    private let timeouts = JobTimeouts()
    private let jobTasks = JobTasks()
    private let handlers = Mutex<[String: Handler]>([:])
    private let signal: WakeSignal
    /// Batches completions; `nil` when the completion batch size is 1.
    private let completions: CompletionBatcher?
    private let draining = OneShot<Void>()
    private let started = Mutex(false)
    private let observers = Mutex<[@Sendable (JobID, JobMetrics.Outcome) -> Void]>([])
    /// Handlers that ended since the last claim (``claimBatch()`` sizes claims with it).
    private let endedSinceClaim = Atomic<Int>(0)

    /// Creates a pool; register handlers before running it.
    ///
    /// - Parameters:
    ///   - store: Where the jobs are.
    ///   - configuration: Queue, leases, timeouts, retries and maintenance.
    ///   - limiter: How many jobs may run at once; by default a limiter named `jobs_QUEUE` with the library's
    ///     default adaptive algorithm and no wait queue (the pool only takes free permits).
    ///   - clock: Drives heartbeats, polling, timeouts and maintenance; tests pass a `ManualClock`.
    ///   - logger: Where the pool logs.
    public init(
        store: JobStore,
        configuration: Configuration = Configuration(),
        limiter: ConcurrencyLimiter? = nil,
        clock: any SpillwayClock = ContinuousClock(),
        logger: Logger = Logger(label: "spillway.jobs")
    ) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.limiter =
            limiter
            ?? ConcurrencyLimiter(
                configuration: ConcurrencyLimiter.Configuration(
                    name: "jobs_\(configuration.queue)",
                    queue: .init(maxLength: 0, timeout: nil, codel: nil, adaptiveLIFO: false),
                    metricsFactory: store.metricsFactory
                ),
                clock: clock
            )
        self.metrics = JobMetrics(queue: configuration.queue, factory: store.metricsFactory)
        self.signal = store.wakeSignal(for: configuration.queue)
        let completionBatchSize = configuration.completionBatchSize ?? store.backend.defaultCompletionBatchSize
        self.completions =
            completionBatchSize > 1
            ? CompletionBatcher(maximumBatch: completionBatchSize, maximumWriters: store.backend.concurrentWrites) {
                try await store.complete($0)
            }
            : nil
    }

    /// Registers the handler of `P.kind`; a later registration of the same kind replaces it.
    ///
    /// The handler's payload is decoded from the stored JSON; a payload that does not decode sends the job to the
    /// dead-letter queue at once. Throw ``JobSnooze`` to run later uncharged, ``JobPermanentFailure`` to
    /// dead-letter the job, anything else to fail the attempt.
    public func register<P: JobPayload>(
        _ type: P.Type,
        _ handler: @escaping @Sendable (P, JobContext) async throws -> Void
    ) {
        handlers.withLock { handlers in
            handlers[P.kind] = { claim, context in
                let payload = try JobPayloadCoding.decode(P.self, from: claim.payload, id: claim.id)
                try await handler(payload, context)
            }
        }
    }

    /// The pool and its queue, for logs and errors.
    public var description: String { "JobWorkerPool(\(configuration.queue))" }

    /// Calls `observer` after each attempt's outcome is recorded (benchmarks and tests wait on it).
    package func observeOutcomes(_ observer: @escaping @Sendable (JobID, JobMetrics.Outcome) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    private func settled(_ id: JobID, _ outcome: JobMetrics.Outcome) {
        metrics.processed(outcome)
        JobTracing.attempt?.attributes[JobTracing.outcome] = outcome.rawValue
        for observer in observers.withLock({ $0 }) { observer(id, outcome) }
    }

    /// Works until graceful shutdown (then drains) or cancellation (then gives running jobs back at once).
    ///
    /// - Throws: `JobError.Code.invalidArgument` for an invalid configuration, `JobError.Code.invalidState`
    ///   when the pool is already running.
    public func run() async throws {
        try configuration.validate()
        guard
            started.withLock({ started in
                defer { started = true }; return !started
            })
        else {
            throw JobError(.invalidState, "\(description) is already running; create one pool per run")
        }
        logger.info(
            "job workers started",
            metadata: ["queue": "\(configuration.queue)", "worker": "\(configuration.workerID)"]
        )
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { background in
                background.addTask { await self.renewLeases() }
                background.addTask { await self.poll() }
                if self.configuration.jobTimeout != nil {
                    background.addTask { await self.timeouts.run(registry: self.registry, clock: self.clock) }
                }
                background.addTask { await self.maintain() }
                background.addTask { await self.store.listenForWakeUps(logger: self.logger) }
                background.addTask { await self.enforceGracePeriod() }
                await withTaskCancellationHandler {
                    await self.dispatch()
                    // A job started after the cancellation handler ran is stopped here.
                    if Task.isCancelled { self.registry.stopRunning(.draining) }
                    await self.releaseBuffered()
                    await self.jobTasks.waitUntilIdle()
                } onCancel: {
                    self.registry.stopRunning(.draining)
                }
                background.cancelAll()
            }
        } onGracefulShutdown: {
            self.beginDraining()
        }
        logger.info("job workers stopped", metadata: ["queue": "\(configuration.queue)"])
    }

    private func beginDraining() {
        draining.fire(())
        signal.signal()
    }

    package var isDraining: Bool { draining.value != nil }

    // MARK: Claiming

    /// Takes a permit, then a job (from the last claim's batch, or a new claim sized to the permits free), and
    /// starts it; waits for a wake-up or the poll interval when there is no permit or no job.
    private func dispatch() async {
        while !isDraining && !Task.isCancelled {
            let generation = signal.generation
            let permit: AdmissionPermit
            do {
                permit = try limiter.tryAcquire(priority: .critical, deadline: nil)
            } catch {
                await signal.wait(since: generation)
                continue
            }
            var (next, lost) = registry.startNext()
            if next == nil {
                do {
                    try await claimBatch()
                    (next, lost) = registry.startNext()
                } catch {
                    logger.warning(
                        "could not claim jobs; trying again after the poll interval",
                        metadata: ["queue": "\(configuration.queue)", "error": "\(error)"]
                    )
                }
            }
            for _ in 0..<lost { metrics.processed(.leaseLost) }
            guard let control = next else {
                permit.release(.ignored)
                await signal.wait(since: generation)
                continue
            }
            let box = PermitBox(permit)
            control.attach(jobTasks.start { await self.execute(control, permit: box) })
        }
    }

    /// Wakes the dispatcher every poll interval, so that jobs nobody signalled (enqueued by another process without
    /// a notification, or whose run-at time came) are claimed within one interval.
    private func poll() async {
        while !Task.isCancelled {
            do {
                try await clock.sleep(for: configuration.pollInterval)
            } catch {
                return
            }
            signal.signal()
        }
    }

    /// Claims the free permits' worth of jobs (plus one, for the permit the dispatcher holds) and as many as the
    /// pool's handlers ended since the previous claim, up to ``Configuration/claimBatchSize``.
    ///
    /// The second term keeps a pool of fast jobs fed: the adaptive limit follows the jobs running at once, which for
    /// jobs of a millisecond is a handful, so claims sized to the free permits alone took a few jobs per round trip
    /// and the claims, not the handlers, bounded the pool (docs/benchmarks.md, round 10). The jobs taken beyond the
    /// free permits wait for the permits that jobs ending at that rate give back; for slow jobs few end between two
    /// claims, so a claim still takes about what the pool can start.
    private func claimBatch() async throws {
        let snapshot = limiter.snapshot
        let room = max(0, snapshot.limit - snapshot.inflight) + 1
        let ended = endedSinceClaim.exchange(0, ordering: .relaxed)
        let claims = try await store.claim(
            queue: configuration.queue,
            limit: min(configuration.claimBatchSize, room + ended),
            worker: configuration.workerID,
            lease: configuration.lease
        )
        guard !claims.isEmpty else { return }
        metrics.attempts.increment(by: Int64(claims.count))
        let leaseDeadline = clock.nanosecondsSinceOrigin &+ configuration.lease.nanoseconds
        registry.buffer(claims.map { JobControl(claim: $0, leaseDeadline: leaseDeadline) })
    }

    private func releaseBuffered() async {
        let buffered = registry.takeBuffered().filter { $0.stopReason == nil }
        guard !buffered.isEmpty else { return }
        do {
            let released = try await store.release(buffered.map(\.reference))
            for _ in 0..<released { metrics.processed(.released) }
        } catch {
            logger.warning(
                "could not give back claimed jobs while draining; they run again when their leases expire",
                metadata: ["queue": "\(configuration.queue)", "jobs": "\(buffered.count)", "error": "\(error)"]
            )
        }
    }

    // MARK: Running one job

    private enum HandlerOutcome: Sendable {
        case returned
        case threw(any Error)
        case stopped(JobStopReason)
    }

    private func execute(_ control: JobControl, permit: PermitBox) async {
        guard let tracer = SpillwayTracing.tracer else { return await attempt(control, permit: permit) }
        let claim = control.claim
        let span = tracer.startSpan(JobTracing.attemptSpan, context: .topLevel, ofKind: .consumer)
        defer { span.end() }
        if let traceparent = claim.traceparent,
            let enqueue = JobTracing.context(fromTraceparent: traceparent, tracer: tracer)
        {
            span.addLink(SpanLink(context: enqueue, attributes: [:]))
        }
        span.attributes[JobTracing.queue] = claim.queue
        span.attributes[JobTracing.kind] = claim.kind
        span.attributes[JobTracing.id] = claim.id.rawValue
        span.attributes[JobTracing.attemptNumber] = claim.attempt
        span.attributes[JobTracing.maxAttempts] = claim.maxAttempts
        await ServiceContext.withValue(span.context) {
            await JobTracing.$attempt.withValue(span) { await attempt(control, permit: permit) }
        }
    }

    /// Runs one attempt of a claimed job in the job's own task (``JobTasks``: a stop request cancels that task while
    /// the handler runs) and records its outcome.
    private func attempt(_ control: JobControl, permit: PermitBox) async {
        let claim = control.claim
        let startInstant = clock.now
        let start = SpillwayTime.nanoseconds(of: startInstant)
        let deadline = configuration.jobTimeout.map {
            timeouts.started(control, deadline: startInstant.advanced(by: $0))
            return Deadline(nanosecondsSinceOrigin: start.addingReportingOverflow($0.nanoseconds).partialValue)
        }
        let context = JobContext(control: control, store: store, deadline: deadline)
        var outcome: HandlerOutcome
        if let handler = handlers.withLock({ $0[claim.kind] }) {
            do {
                try await Deadline.$current.withValue(context.deadline) { try await handler(claim, context) }
                outcome = .returned
            } catch {
                outcome = .threw(error)
            }
        } else {
            outcome = .threw(
                JobError(
                    .unknownKind,
                    "no handler for job kind \(claim.kind) in \(description); register it with "
                        + "register(_:_:) (jobs of unknown kinds are retried, in case another version handles them)"
                )
            )
        }
        if let reason = control.endHandler() { outcome = .stopped(reason) }
        metrics.duration.recordNanoseconds(clock.nanosecondsSinceOrigin &- start)
        if case .threw(let error) = outcome { JobTracing.attempt?.recordError(error) }
        let decision: JobRetryPolicy.Decision? =
            if case .threw(let error) = outcome {
                configuration.retry.decision(for: error, attempt: claim.attempt)
            } else {
                nil
            }
        // The permit goes back as the handler ends, before the outcome is recorded: the limiter bounds the handlers
        // running at once and learns from their run time; the store's write is the queue's own work. Held until
        // the write, a fast pool's permits waited for completion batches, and the limit followed the batches
        // (docs/benchmarks.md, round 10). The lease stays held (and renewed) until the outcome is recorded.
        // Counted before the permit goes back, so the claim that permit allows sees it.
        endedSinceClaim.add(1, ordering: .relaxed)
        permit.release(permitOutcome(control, outcome: outcome, decision: decision))
        signal.signal()
        await settle(control, outcome: outcome, decision: decision)
        registry.finish(claim.id)
    }

    /// What the limiter learns from an attempt: a success, a drop (the job timed out, or a dependency refused and
    /// the job is snoozed), or nothing (a failure of the job itself, a lost lease, a drain).
    private func permitOutcome(
        _ control: JobControl,
        outcome: HandlerOutcome,
        decision: JobRetryPolicy.Decision?
    ) -> PermitOutcome {
        if control.completedByHandler { return .success }
        if case .returned = outcome { return .success }
        if control.stopReason == .leaseLost || control.stopReason == .draining { return .ignored }
        switch outcome {
        case .stopped(.timedOut):
            return .dropped
        case .threw:
            if case .snooze = decision { return .dropped }
            return .ignored
        case .returned, .stopped(.leaseLost), .stopped(.draining):
            return .ignored
        }
    }

    /// Records the outcome under the claim's fencing token (`decision`: the retry policy's, when the handler threw).
    private func settle(
        _ control: JobControl,
        outcome: HandlerOutcome,
        decision: JobRetryPolicy.Decision?
    ) async {
        if control.completedByHandler {
            settled(control.claim.id, .completed)
            return
        }
        if case .returned = outcome {
            do {
                if let completions {
                    try await completions.complete(control.reference)
                } else {
                    try await store.complete(control.reference)
                }
                settled(control.claim.id, .completed)
            } catch {
                record(error, for: control, doing: "record the completion")
            }
            return
        }
        if control.stopReason == .leaseLost {
            settled(control.claim.id, .leaseLost)
            return
        }
        if control.stopReason == .draining {
            await give(back: control)
            return
        }
        switch outcome {
        case .returned, .stopped(.leaseLost), .stopped(.draining):
            // Handled above.
            return
        case .stopped(.timedOut):
            let timeout = configuration.jobTimeout ?? .zero
            await fail(control, error: "timed out: the handler ran longer than the job timeout of \(timeout)")
        case .threw(let error):
            switch decision ?? configuration.retry.decision(for: error, attempt: control.claim.attempt) {
            case .snooze(let delay, let reason):
                do {
                    try await store.snooze(control.reference, delay: delay)
                    settled(control.claim.id, .snoozed)
                    logger.debug(
                        "job snoozed",
                        metadata: ["job": "\(control.claim.id)", "delay": "\(delay)", "reason": "\(reason)"]
                    )
                } catch {
                    record(error, for: control, doing: "snooze")
                }
            case .retry(let delay):
                await fail(control, error: JobAttempt.describe(error), retryDelay: delay)
            case .deadLetter:
                await fail(control, error: JobAttempt.describe(error), permanent: true)
            }
        }
    }

    private func fail(
        _ control: JobControl,
        error: String,
        retryDelay: Duration? = nil,
        permanent: Bool = false
    ) async {
        let delay = retryDelay ?? configuration.retry.retryDelay(afterAttempt: control.claim.attempt)
        do {
            let outcome = try await store.fail(control.reference, error: error, retryDelay: delay, permanent: permanent)
            settled(control.claim.id, .failed)
            switch outcome {
            case .retrying:
                metrics.retries.increment()
            case .deadLettered:
                metrics.deadLettered.increment()
                JobTracing.attempt?.addEvent(
                    SpanEvent(
                        name: JobTracing.deadLetteredEvent,
                        attributes: [
                            JobTracing.error: .string(error),
                            JobTracing.attemptNumber: .int64(Int64(control.claim.attempt)),
                        ]
                    )
                )
                logger.warning(
                    "job moved to the dead-letter queue",
                    metadata: [
                        "job": "\(control.claim.id)", "kind": "\(control.claim.kind)",
                        "attempt": "\(control.claim.attempt)", "error": "\(error)",
                    ]
                )
            }
        } catch {
            JobTracing.attempt?.recordError(error)
            record(error, for: control, doing: "record a failure")
        }
    }

    private func give(back control: JobControl) async {
        do {
            if try await store.release([control.reference]) > 0 {
                settled(control.claim.id, .released)
            } else {
                settled(control.claim.id, .leaseLost)
            }
        } catch {
            record(error, for: control, doing: "give back")
        }
    }

    /// A fenced write that failed: lost leases are expected (someone else owns the job); anything else leaves the
    /// job to its lease, after which it runs again.
    private func record(_ error: any Error, for control: JobControl, doing action: String) {
        if let error = error as? JobError, error.code == .leaseLost {
            settled(control.claim.id, .leaseLost)
            return
        }
        logger.warning(
            "could not \(action) job \(control.claim.id); it runs again when its lease expires",
            metadata: ["queue": "\(configuration.queue)", "error": "\(error)"]
        )
    }

    // MARK: Leases, drain and maintenance

    /// Renews every held lease each heartbeat; stops handlers whose job is no longer held, or whose lease has
    /// passed while the database could not be reached.
    private func renewLeases() async {
        while !Task.isCancelled {
            do {
                try await clock.sleep(for: configuration.heartbeatInterval)
            } catch {
                return
            }
            let controls = registry.all().filter { $0.stopReason == nil }
            guard !controls.isEmpty else { continue }
            let renewedUntil = clock.nanosecondsSinceOrigin &+ configuration.lease.nanoseconds
            do {
                let held = try await store.renew(controls.map(\.reference), lease: configuration.lease)
                for control in controls {
                    if held.contains(control.claim.id) {
                        control.renewed(until: renewedUntil)
                    } else {
                        control.requestStop(.leaseLost)
                    }
                }
            } catch {
                let now = clock.nanosecondsSinceOrigin
                let expired = controls.filter { $0.leaseDeadline <= now }
                for control in expired { control.requestStop(.leaseLost) }
                logger.warning(
                    "could not renew job leases",
                    metadata: ["queue": "\(configuration.queue)", "expired": "\(expired.count)", "error": "\(error)"]
                )
            }
        }
    }

    /// After graceful shutdown begins, waits the grace period, then stops the handlers still running.
    private func enforceGracePeriod() async {
        guard await draining.wait() != nil else { return }
        do {
            try await clock.sleep(for: configuration.gracePeriod)
        } catch {
            return
        }
        if registry.runningCount > 0 {
            logger.warning(
                "grace period over: cancelling running jobs and giving them back",
                metadata: ["queue": "\(configuration.queue)", "jobs": "\(registry.runningCount)"]
            )
        }
        registry.stopRunning(.draining)
    }

    /// Rescues expired leases, prunes completed jobs and refreshes the depth gauges, each on its own interval.
    private func maintain() async {
        var nextRescue = clock.now
        var nextPrune = clock.now
        var nextStats = clock.now
        while !Task.isCancelled {
            let now = clock.now
            if now >= nextRescue {
                nextRescue = now.advanced(by: configuration.rescueInterval)
                await rescue()
            }
            if now >= nextPrune {
                nextPrune = now.advanced(by: configuration.pruneInterval)
                await prune()
            }
            if now >= nextStats {
                nextStats = now.advanced(by: configuration.statsInterval)
                await refreshStats()
            }
            do {
                try await clock.sleep(until: min(nextRescue, nextPrune, nextStats), tolerance: nil)
            } catch {
                return
            }
        }
    }

    private func rescue() async {
        do {
            let rescued = try await store.rescueExpired(queue: configuration.queue)
            guard rescued.total > 0 else { return }
            metrics.leaseExpiries.increment(by: Int64(rescued.total))
            metrics.deadLettered.increment(by: Int64(rescued.deadLettered))
            logger.warning(
                "rescued jobs whose worker stopped renewing their lease",
                metadata: [
                    "queue": "\(configuration.queue)", "retried": "\(rescued.retried)",
                    "dead_lettered": "\(rescued.deadLettered)",
                ]
            )
            if rescued.retried > 0 { signal.signal() }
        } catch {
            logger.warning("could not rescue expired leases", metadata: ["error": "\(error)"])
        }
    }

    private func prune() async {
        do {
            let pruned = try await store.prune(
                retention: configuration.completedRetention,
                limit: configuration.pruneBatchSize
            )
            if pruned > 0 { logger.debug("pruned completed jobs", metadata: ["jobs": "\(pruned)"]) }
        } catch {
            logger.warning("could not prune completed jobs", metadata: ["error": "\(error)"])
        }
    }

    private func refreshStats() async {
        do {
            metrics.record(try await store.stats())
        } catch {
            logger.warning("could not read queue statistics", metadata: ["error": "\(error)"])
        }
    }
}
