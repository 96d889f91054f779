import Spillway
import Testing

@Suite struct BackoffTests {
    private let base = Duration.milliseconds(100)
    private let cap = Duration.seconds(1)

    @Test func noJitterDoublesUpToTheCap() {
        let backoff = Backoff(jitter: .none, base: base, cap: cap)
        let delays = (1...6).map { backoff.delay(forRetry: $0, previous: nil, using: .system) }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), cap, cap])
    }

    @Test func fullJitterIsUniformBelowTheExponential() {
        let backoff = Backoff(jitter: .full, base: base, cap: cap)
        #expect(backoff.delay(forRetry: 3, previous: nil, using: RandomSource { 0.5 }) == .milliseconds(200))
        #expect(backoff.delay(forRetry: 3, previous: nil, using: RandomSource { 0 }) == .zero)
        #expect(backoff.delay(forRetry: 10, previous: nil, using: RandomSource { 0.25 }) == .milliseconds(250))
    }

    @Test func equalJitterKeepsHalfTheExponential() {
        let backoff = Backoff(jitter: .equal, base: base, cap: cap)
        #expect(backoff.delay(forRetry: 2, previous: nil, using: RandomSource { 0 }) == .milliseconds(100))
        #expect(backoff.delay(forRetry: 2, previous: nil, using: RandomSource { 0.5 }) == .milliseconds(150))
        #expect(backoff.delay(forRetry: 9, previous: nil, using: RandomSource { 0.5 }) == .milliseconds(750))
    }

    @Test func decorrelatedJitterGrowsFromThePreviousDelay() {
        let backoff = Backoff(jitter: .decorrelated, base: base, cap: cap)
        // First retry: U(base, 3·base).
        #expect(backoff.delay(forRetry: 1, previous: nil, using: RandomSource { 0.5 }) == .milliseconds(200))
        // Later: U(base, 3·previous), capped.
        #expect(
            backoff.delay(forRetry: 2, previous: .milliseconds(200), using: RandomSource { 0.5 }) == .milliseconds(350)
        )
        #expect(backoff.delay(forRetry: 5, previous: .milliseconds(900), using: RandomSource { 0.9 }) == cap)
        // A previous delay below base (or nonsense) restarts from base.
        #expect(backoff.delay(forRetry: 2, previous: .zero, using: RandomSource { 0 }) == base)
    }

    @Test func everyJitterStaysWithinZeroAndTheCap() {
        let random = RandomSource.seeded(7)
        for jitter in [Backoff.Jitter.none, .full, .equal, .decorrelated] {
            let backoff = Backoff(jitter: jitter, base: .milliseconds(10), cap: .milliseconds(500))
            var previous: Duration?
            for retry in 1...200 {
                let delay = backoff.delay(forRetry: retry, previous: previous, using: random)
                #expect(delay >= .zero && delay <= .milliseconds(500), "\(jitter) retry \(retry): \(delay)")
                previous = delay
            }
        }
    }

    @Test func seededSourcesAreReproducible() {
        let backoff = Backoff(jitter: .full, base: base, cap: .seconds(30))
        func delays(_ random: RandomSource) -> [Duration] {
            (1...8).map { backoff.delay(forRetry: $0, previous: nil, using: random) }
        }
        #expect(delays(.seeded(42)) == delays(.seeded(42)))
        #expect(delays(.seeded(42)) != delays(.seeded(43)))
    }

    @Test func badParametersAreNormalisedNotTrapped() {
        let negative = Backoff(jitter: .none, base: .seconds(-1), cap: .seconds(-5))
        #expect(negative.base == .zero && negative.cap == .zero)
        #expect(negative.delay(forRetry: 3, previous: nil, using: .system) == .zero)

        let inverted = Backoff(jitter: .none, base: .seconds(2), cap: .seconds(1))
        #expect(inverted.cap == .seconds(2))

        let huge = Backoff(jitter: .none, base: .milliseconds(1), cap: .seconds(60))
        #expect(huge.delay(forRetry: .max, previous: nil, using: .system) == .seconds(60))
        #expect(huge.delay(forRetry: -3, previous: nil, using: .system) == .milliseconds(1))
    }
}
