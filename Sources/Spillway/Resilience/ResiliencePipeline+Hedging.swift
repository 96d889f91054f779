import Synchronization

extension ResiliencePipeline.Execution {
    private enum HedgeEvent: Sendable {
        case attempt(index: Int, result: Result<Output, any Error>)
        case timer(fired: Bool)
        case cancelled
    }

    /// Runs `next`, starting a backup attempt whenever `policy.delay` passes without an answer (or at once when
    /// every running attempt has failed retryably), until one attempt succeeds or fails for good.
    ///
    /// Attempts and timers run as tasks of their own, not as children of this call: the winner's answer is returned
    /// as soon as it arrives, and the losers are cancelled and left to finish on their own. A loser that ignores
    /// cancellation therefore costs the dependency its work but never delays the caller.
    func withHedging(
        _ policy: HedgingPolicy,
        next: @escaping @Sendable () async throws -> Output
    ) async throws -> Output {
        let clock = pipeline.clock
        let metrics = pipeline.metrics
        let budget = pipeline.budget
        let trace = self.trace
        trace?.markHedged()
        let (events, continuation) = AsyncStream.makeStream(of: HedgeEvent.self)
        let tasks = HedgeTasks()
        defer {
            continuation.finish()
            tasks.cancelAll()
        }
        var launched = 0
        var running = 0
        func launch() {
            let index = launched
            launched += 1
            running += 1
            tasks.add(Task { continuation.yield(.attempt(index: index, result: await Self.capture(next))) })
        }
        func armTimer() {
            guard launched <= policy.maxHedgedAttempts else { return }
            tasks.add(
                Task {
                    do {
                        try await clock.sleep(until: clock.now.advanced(by: policy.delay), tolerance: nil)
                        continuation.yield(.timer(fired: true))
                    } catch {
                        continuation.yield(.timer(fired: false))
                    }
                }
            )
        }
        /// Sends one more attempt if the policy and the budget allow it.
        func hedge() -> Bool {
            guard launched <= policy.maxHedgedAttempts else { return false }
            guard budget?.tryWithdraw() ?? true else {
                metrics.hedgesDenied.increment()
                trace?.event(SpanEventNames.hedgeDenied)
                return false
            }
            metrics.hedgesSent.increment()
            trace?.event(SpanEventNames.hedgeSent) { $0[SpanAttributeNames.attemptNumber] = launched + 1 }
            launch()
            return true
        }

        let result = await withTaskCancellationHandler { () async -> Result<Output, any Error> in
            launch()
            armTimer()
            var lastFailure: Result<Output, any Error> = .failure(CancellationError())
            for await event in events {
                switch event {
                case .cancelled:
                    return .failure(CancellationError())
                case .timer(let fired):
                    if fired, !Task.isCancelled, hedge() { armTimer() }
                case .attempt(let index, let result):
                    running -= 1
                    if case .failure(let error) = result, Self.isCancellation(error) { return result }
                    let final = result.error.map(Self.isFinal) ?? false
                    if !final {
                        switch classifier.classify(result) {
                        case .success:
                            if index > 0 {
                                metrics.hedgesWon.increment()
                                trace?.event(SpanEventNames.hedgeWon) {
                                    $0[SpanAttributeNames.attemptNumber] = index + 1
                                }
                            }
                            return result
                        case .failure:
                            return result
                        case .retryableFailure:
                            break
                        }
                    }
                    lastFailure = result
                    // Nothing is running any more: hedge at once rather than wait for the timer, unless this
                    // attempt was refused locally (another one would be refused too).
                    if running == 0, final || !hedge() { return result }
                }
            }
            return lastFailure
        } onCancel: {
            continuation.yield(.cancelled)
            tasks.cancelAll()
        }
        return try result.get()
    }
}

/// The attempts and timers of one hedged call, cancelled together when it ends or its caller is cancelled.
private final class HedgeTasks: Sendable {
    private let state = Mutex((tasks: [Task<Void, Never>](), cancelled: false))

    func add(_ task: Task<Void, Never>) {
        let cancelled = state.withLock { state -> Bool in
            if !state.cancelled { state.tasks.append(task) }
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancelAll() {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.cancelled = true
            defer { state.tasks.removeAll() }
            return state.tasks
        }
        for task in tasks { task.cancel() }
    }
}
