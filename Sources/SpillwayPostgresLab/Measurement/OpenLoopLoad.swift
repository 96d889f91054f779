import Foundation
import Spillway

/// Arrivals on a schedule, not at the server's pace: Poisson arrivals at `rate` per second for `duration`, each
/// started as its own task whatever the earlier ones are doing, and timed from its intended start (so a slow server
/// cannot hide its queue by slowing the generator down, as wrk2 does).
package struct OpenLoopLoad: Sendable {
    /// Arrivals per second.
    package var rate: Double
    /// How long arrivals continue.
    package var duration: Duration
    /// The seed of the arrival times.
    package var seed: UInt64

    package init(rate: Double, duration: Duration, seed: UInt64 = 1) {
        self.rate = rate
        self.duration = duration
        self.seed = seed
    }

    /// Runs the load: `operation` receives each arrival's intended start (nanoseconds since
    /// ``Spillway/SpillwayTime/origin``). Returns once every operation finished, with the largest delay between an
    /// arrival's intended start and its launch (how far the generator fell behind).
    @discardableResult
    package func run(_ operation: @escaping @Sendable (_ intendedStart: Int64) async -> Void) async -> Duration {
        let clock = ContinuousClock()
        var random = RandomSource.seeded(seed)
        let start = clock.nanosecondsSinceOrigin
        let end = start + duration.nanoseconds
        var next = start
        var worstLag: Int64 = 0
        await withDiscardingTaskGroup { group in
            while next < end {
                let now = clock.nanosecondsSinceOrigin
                while next <= now && next < end {
                    let intended = next
                    worstLag = max(worstLag, now - intended)
                    group.addTask { await operation(intended) }
                    let gap = -log(1 - Double.random(in: 0..<1, using: &random)) / rate
                    next += Int64(gap * 1e9)
                }
                guard next < end else { break }
                try? await clock.sleep(until: SpillwayTime.instant(atNanoseconds: next), tolerance: .microseconds(200))
            }
        }
        return .nanoseconds(worstLag)
    }
}
