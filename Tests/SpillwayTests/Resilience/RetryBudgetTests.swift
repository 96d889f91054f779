import MetricsTestKit
import Spillway
import Testing

@Suite struct RetryBudgetTests {
    @Test func finagleReserveAllowsMinRetriesPerSecondTimesTTL() {
        let clock = ManualClock()
        let budget = RetryBudget(
            configuration: .finagle(ttl: .seconds(10), minRetriesPerSecond: 2, percentCanRetry: 0.2),
            clock: clock
        )
        #expect(budget.available == 20)
        for _ in 0..<20 { #expect(budget.tryWithdraw()) }
        #expect(!budget.tryWithdraw())
        #expect(budget.available == 0)
    }

    @Test func finagleDepositsBuyOneRetryPerFiveRequestsAtTwentyPercent() {
        let clock = ManualClock()
        let budget = RetryBudget(
            configuration: .finagle(ttl: .seconds(10), minRetriesPerSecond: 0, percentCanRetry: 0.2),
            clock: clock
        )
        #expect(!budget.tryWithdraw())
        for _ in 0..<4 { budget.recordRequest() }
        #expect(!budget.tryWithdraw())
        budget.recordRequest()
        #expect(budget.tryWithdraw())
        #expect(!budget.tryWithdraw())

        for _ in 0..<100 { budget.recordRequest() }
        var granted = 0
        while budget.tryWithdraw() { granted += 1 }
        #expect(granted == 20)
    }

    @Test func finagleDepositsAndWithdrawalsExpireAfterTTL() {
        let clock = ManualClock()
        let budget = RetryBudget(
            configuration: .finagle(ttl: .seconds(10), minRetriesPerSecond: 1, percentCanRetry: 0.5),
            clock: clock
        )
        // Reserve: 10 retries. Spend it.
        for _ in 0..<10 { #expect(budget.tryWithdraw()) }
        #expect(!budget.tryWithdraw())
        // Withdrawals older than the ttl stop counting, so the reserve is back.
        clock.advance(by: .seconds(11))
        #expect(budget.available == 10)

        for _ in 0..<10 { budget.recordRequest() }
        #expect(budget.available == 15)
        clock.advance(by: .seconds(11))
        #expect(budget.available == 10)
    }

    @Test func zeroPercentLeavesOnlyTheReserve() {
        let budget = RetryBudget(
            configuration: .finagle(minRetriesPerSecond: 1, percentCanRetry: 0),
            clock: ManualClock()
        )
        for _ in 0..<1000 { budget.recordRequest() }
        var granted = 0
        while budget.tryWithdraw() { granted += 1 }
        #expect(granted == 10)
    }

    @Test func badFinagleParametersAreClamped() {
        let clock = ManualClock()
        let budget = RetryBudget(
            configuration: .finagle(ttl: .seconds(3600), minRetriesPerSecond: -5, percentCanRetry: .nan),
            clock: clock
        )
        for _ in 0..<100 { budget.recordRequest() }
        #expect(!budget.tryWithdraw())
        // ttl is clamped to 60 s: a withdrawal-free budget with reserve 1/s refills after 60 s, not an hour.
        let reserve = RetryBudget(
            configuration: .finagle(ttl: .seconds(3600), minRetriesPerSecond: 1, percentCanRetry: 0.1),
            clock: clock
        )
        #expect(reserve.available == 60)
    }

    @Test func tokenBucketAllowsRetriesWhileMoreThanHalfTheTokensRemain() {
        let budget = RetryBudget(configuration: .tokenBucket(maxTokens: 10, tokenRatio: 0.1), clock: ManualClock())
        #expect(budget.tryWithdraw())
        // Withdrawals cost nothing in A6; failures do.
        #expect(budget.tryWithdraw())
        for _ in 0..<4 { budget.record(.retryable) }
        #expect(budget.tryWithdraw())  // 6 tokens > 5
        budget.record(.retryable)
        #expect(!budget.tryWithdraw())  // 5 tokens, not more than half
        budget.record(.failure)  // non-retryable failures do not count
        #expect(!budget.tryWithdraw())
        for _ in 0..<10 { budget.record(.success) }  // +1 token
        #expect(budget.tryWithdraw())
        for _ in 0..<1000 { budget.record(.success) }
        #expect(budget.available == 1)
    }

    @Test func exhaustionIsCounted() throws {
        let metrics = TestMetrics()
        let budget = RetryBudget(
            configuration: .finagle(minRetriesPerSecond: 0, percentCanRetry: 0.5, name: "db"),
            clock: ManualClock(),
            metricsFactory: metrics
        )
        budget.recordRequest()
        budget.recordRequest()
        #expect(budget.tryWithdraw())
        #expect(!budget.tryWithdraw())
        #expect(!budget.tryWithdraw())
        #expect(try metrics.expectCounter("spillway_retry_budget_exhausted_total", [("budget", "db")]).totalValue == 2)
        #expect(
            try metrics.expectCounter("spillway_retry_budget_withdrawals_total", [("budget", "db")]).totalValue == 1
        )
    }
}
