import Foundation
import Spillway

/// How arrivals are spread in time around the intended rate of a ``RateProfile``.
package enum ArrivalProcess: String, Sendable, Hashable, CaseIterable {
    /// Evenly spaced: exactly `rate` arrivals per second, no bursts.
    case constant
    /// Poisson: independent arrivals with exponential gaps, the way many independent users arrive; produces the
    /// momentary bursts that a zero-queue limit refuses even below capacity.
    case poisson
}

/// One scheduled logical request: when it is intended to be sent, and which traffic stream it belongs to.
struct Arrival: Sendable, Hashable {
    /// Nanoseconds from the run's start.
    var offset: Int64
    /// Index of the stream in the plan.
    var stream: Int
}

enum ArrivalSchedule {
    /// Every arrival of every stream, in time order. Each stream gets its own random sequence derived from `seed`,
    /// so adding a stream does not move the others' arrivals.
    static func make(
        profile: RateProfile,
        process: ArrivalProcess,
        shares: [Double],
        seed: UInt64
    ) -> [Arrival] {
        var all: [Arrival] = []
        for (index, share) in shares.enumerated() where share > 0 {
            var random = RandomSource.seeded(seed, stream: index)
            let scaled = profile.scaled(by: share)
            all.append(
                contentsOf: offsets(profile: scaled, process: process, random: &random).map {
                    Arrival(offset: $0, stream: index)
                }
            )
        }
        all.sort { $0.offset < $1.offset || ($0.offset == $1.offset && $0.stream < $1.stream) }
        return all
    }

    /// Arrival offsets in nanoseconds: the points where the profile's cumulative expected count crosses the
    /// points of a unit-rate process (evenly spaced for `.constant`, exponential gaps for `.poisson`).
    static func offsets(profile: RateProfile, process: ArrivalProcess, random: inout RandomSource) -> [Int64] {
        var offsets: [Int64] = []
        offsets.reserveCapacity(Int(profile.expectedArrivals(until: profile.duration) * 1.1) + 16)
        // Evenly spaced arrivals start half a gap in, so that a constant rate r gives r arrivals in every second.
        var level = process == .constant ? 0.5 : -log(random.nextOpenUnit())
        while let seconds = profile.offset(whereExpectedArrivalsReach: level) {
            offsets.append(Int64((seconds * 1e9).rounded()))
            level += process == .constant ? 1 : -log(random.nextOpenUnit())
        }
        return offsets
    }
}
