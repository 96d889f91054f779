extension ResiliencePipeline.Execution {
    private enum HedgeEvent: Sendable {
        case attempt(index: Int, result: Result<Output, any Error>)
        case timer(fired: Bool)
    }

    /// Runs `next`, starting a backup attempt whenever `policy.delay` passes without an answer (or at once when
    /// every running attempt has failed retryably), until one attempt succeeds or fails for good.
    func withHedging(
        _ policy: HedgingPolicy,
        next: @escaping @Sendable () async throws -> Output
    ) async throws -> Output {
        let clock = pipeline.clock
        let metrics = pipeline.metrics
        let budget = pipeline.budget
        let result = await withTaskGroup(of: HedgeEvent.self) { group -> Result<Output, any Error> in
            var launched = 0
            var running = 0
            func launch() {
                let index = launched
                launched += 1
                running += 1
                group.addTask { .attempt(index: index, result: await Self.capture(next)) }
            }
            func armTimer() {
                guard launched <= policy.maxHedgedAttempts else { return }
                group.addTask {
                    do {
                        try await clock.sleep(until: clock.now.advanced(by: policy.delay), tolerance: nil)
                        return .timer(fired: true)
                    } catch {
                        return .timer(fired: false)
                    }
                }
            }
            /// Sends one more attempt if the policy and the budget allow it.
            func hedge() -> Bool {
                guard launched <= policy.maxHedgedAttempts else { return false }
                guard budget?.tryWithdraw() ?? true else {
                    metrics.hedgesDenied.increment()
                    return false
                }
                metrics.hedgesSent.increment()
                launch()
                return true
            }

            launch()
            armTimer()
            var lastFailure: Result<Output, any Error> = .failure(CancellationError())
            while let event = await group.next() {
                switch event {
                case .timer(let fired):
                    if fired, !Task.isCancelled, hedge() { armTimer() }
                case .attempt(let index, let result):
                    running -= 1
                    if case .failure(let error) = result, Self.isCancellation(error) {
                        group.cancelAll()
                        return result
                    }
                    let final = result.error.map(Self.isFinal) ?? false
                    if !final {
                        switch classifier.classify(result) {
                        case .success:
                            if index > 0 { metrics.hedgesWon.increment() }
                            group.cancelAll()
                            return result
                        case .failure:
                            group.cancelAll()
                            return result
                        case .retryableFailure:
                            break
                        }
                    }
                    lastFailure = result
                    // Nothing is running any more: hedge at once rather than wait for the timer, unless this
                    // attempt was refused locally (another one would be refused too).
                    if running == 0, final || !hedge() {
                        group.cancelAll()
                        return result
                    }
                }
            }
            return lastFailure
        }
        return try result.get()
    }
}
