import Spillway

/// How the rate of new requests changes over a run: a sequence of segments, each holding a rate constant or
/// moving it linearly from one value to another.
///
/// Profiles describe *intended* load. The generator turns them into arrival times with an ``ArrivalProcess``
/// (evenly spaced or Poisson), independent of how fast the target answers: that is what makes the load open-loop.
///
/// ```swift
/// // 35 req/s for 2 s, 350 req/s for 3 s, then 35 req/s again until 10 s.
/// let profile = try RateProfile.spike(base: 35, peak: 350, at: .seconds(2), length: .seconds(3), duration: .seconds(10))
/// let parsed = try RateProfile(parsing: "spike:10x@2s+3s", baseRate: 35, duration: .seconds(10))
/// ```
package struct RateProfile: Sendable, Hashable, CustomStringConvertible {
    /// A stretch of the profile whose rate moves linearly from ``startRate`` to ``endRate``.
    package struct Segment: Sendable, Hashable {
        /// How long the segment lasts.
        package var duration: Duration
        /// Requests per second at the start of the segment.
        package var startRate: Double
        /// Requests per second at the end of the segment.
        package var endRate: Double

        /// A segment holding `rate` requests per second.
        package init(duration: Duration, rate: Double) {
            self.init(duration: duration, from: rate, to: rate)
        }

        /// A segment whose rate moves linearly from `from` to `to` requests per second.
        package init(duration: Duration, from: Double, to: Double) {
            self.duration = duration
            self.startRate = from
            self.endRate = to
        }
    }

    /// The segments, in order.
    package let segments: [Segment]

    /// A profile made of `segments`; throws when there are none, or a duration is not positive, or a rate is
    /// negative or not finite.
    package init(segments: [Segment]) throws(LabError) {
        guard !segments.isEmpty else {
            throw LabError(.invalidArgument, "a rate profile needs at least one segment")
        }
        for segment in segments {
            guard segment.duration > .zero else {
                throw LabError(.invalidArgument, "every segment of a rate profile needs a positive duration")
            }
            for rate in [segment.startRate, segment.endRate] where !(rate.isFinite && rate >= 0) {
                throw LabError(.invalidArgument, "rates must be finite and not negative, got \(rate) req/s")
            }
        }
        self.segments = segments
    }

    /// `rate` requests per second for `duration`.
    package static func constant(_ rate: Double, duration: Duration) throws(LabError) -> RateProfile {
        try RateProfile(segments: [Segment(duration: duration, rate: rate)])
    }

    /// `from` requests per second until `at`, then `to` until `duration`.
    package static func step(from: Double, to: Double, at: Duration, duration: Duration) throws(LabError) -> RateProfile
    {
        guard at > .zero, at < duration else {
            throw LabError(.invalidArgument, "the step must happen inside the run (0 < \(at) < \(duration))")
        }
        return try RateProfile(segments: [
            Segment(duration: at, rate: from), Segment(duration: duration - at, rate: to),
        ])
    }

    /// `base` requests per second, `peak` from `at` for `length`, then `base` again until `duration`.
    package static func spike(
        base: Double,
        peak: Double,
        at: Duration,
        length: Duration,
        duration: Duration
    ) throws(LabError) -> RateProfile {
        guard at > .zero, length > .zero, at + length < duration else {
            throw LabError(
                .invalidArgument,
                "the spike must start and end inside the run (0 < \(at), \(at) + \(length) < \(duration))"
            )
        }
        return try RateProfile(segments: [
            Segment(duration: at, rate: base),
            Segment(duration: length, rate: peak),
            Segment(duration: duration - at - length, rate: base),
        ])
    }

    /// A rate moving linearly from `from` to `to` requests per second over `duration`.
    package static func ramp(from: Double, to: Double, duration: Duration) throws(LabError) -> RateProfile {
        try RateProfile(segments: [Segment(duration: duration, from: from, to: to)])
    }

    /// Parses the command-line form of a profile.
    ///
    /// - `constant`: `baseRate` for `duration`.
    /// - `step:RATE@T`: `baseRate` until `T`, then `RATE` (`step:200@5s`).
    /// - `spike:PEAK@T+L`: `PEAK` from `T` for `L`, `baseRate` otherwise; `PEAK` may be a factor (`spike:10x@2s+3s`).
    /// - `ramp:RATE`: from `baseRate` to `RATE` over `duration`.
    /// - `piecewise:D=R,D=R1-R2,…`: explicit segments (`piecewise:2s=35,3s=350,5s=35`); `duration` is ignored.
    package init(parsing text: String, baseRate: Double, duration: Duration) throws(LabError) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        let kind = parts.first?.lowercased() ?? ""
        let argument = parts.count > 1 ? parts[1] : ""
        func parseRate(_ text: some StringProtocol) throws(LabError) -> Double {
            let trimmed = text.trimmingCharacters(in: " ")
            if trimmed.hasSuffix("x"), let factor = Double(trimmed.dropLast()) { return baseRate * factor }
            guard let value = Double(trimmed) else {
                throw LabError(
                    .invalidArgument,
                    "'\(trimmed)' is not a rate (requests per second, or a factor like 10x)"
                )
            }
            return value
        }
        func parseDuration(_ text: some StringProtocol) throws(LabError) -> Duration {
            guard let value = Duration(parsing: text) else {
                throw LabError(.invalidArgument, "'\(text)' is not a duration (like 500ms, 2s, 1.5s)")
            }
            return value
        }
        switch kind {
        case "constant":
            self = try .constant(baseRate, duration: duration)
        case "step":
            let pieces = argument.split(separator: "@")
            guard pieces.count == 2 else {
                throw LabError(.invalidArgument, "a step profile reads step:RATE@TIME, like step:200@5s")
            }
            self = try .step(from: baseRate, to: parseRate(pieces[0]), at: parseDuration(pieces[1]), duration: duration)
        case "spike":
            let pieces = argument.split(separator: "@")
            let window = pieces.count == 2 ? pieces[1].split(separator: "+") : []
            guard pieces.count == 2, window.count == 2 else {
                throw LabError(.invalidArgument, "a spike profile reads spike:PEAK@START+LENGTH, like spike:10x@2s+3s")
            }
            self = try .spike(
                base: baseRate,
                peak: parseRate(pieces[0]),
                at: parseDuration(window[0]),
                length: parseDuration(window[1]),
                duration: duration
            )
        case "ramp":
            self = try .ramp(from: baseRate, to: parseRate(argument), duration: duration)
        case "piecewise":
            var segments: [Segment] = []
            for piece in argument.split(separator: ",") {
                let sides = piece.split(separator: "=")
                guard sides.count == 2 else {
                    throw LabError(
                        .invalidArgument,
                        "a piecewise segment reads DURATION=RATE or DURATION=FROM-TO, got '\(piece)'"
                    )
                }
                let rates = sides[1].split(separator: "-", omittingEmptySubsequences: false)
                guard rates.count == 1 || rates.count == 2 else {
                    throw LabError(
                        .invalidArgument,
                        "a piecewise segment reads DURATION=RATE or DURATION=FROM-TO, got '\(piece)'"
                    )
                }
                segments.append(
                    Segment(
                        duration: try parseDuration(sides[0]),
                        from: try parseRate(rates[0]),
                        to: try parseRate(rates[rates.count - 1])
                    )
                )
            }
            self = try RateProfile(segments: segments)
        default:
            throw LabError(
                .invalidArgument,
                "unknown profile '\(text)': use constant, step:RATE@T, spike:PEAK@T+L, ramp:RATE or piecewise:D=R,…"
            )
        }
    }

    /// The profile's total length.
    package var duration: Duration {
        segments.reduce(.zero) { $0 + $1.duration }
    }

    /// The intended rate, in requests per second, at `offset` from the start (zero after the end).
    package func rate(at offset: Duration) -> Double {
        var start = Duration.zero
        for segment in segments {
            let end = start + segment.duration
            if offset < end {
                let fraction = (offset - start).seconds / segment.duration.seconds
                return segment.startRate + (segment.endRate - segment.startRate) * max(0, fraction)
            }
            start = end
        }
        return 0
    }

    /// The same shape with every rate multiplied by `factor` (a share of the traffic).
    package func scaled(by factor: Double) -> RateProfile {
        let factor = factor.isFinite ? max(0, factor) : 0
        // Scaling keeps every invariant the initialiser checked, so this cannot throw.
        return RateProfile(
            unchecked: segments.map {
                Segment(duration: $0.duration, from: $0.startRate * factor, to: $0.endRate * factor)
            }
        )
    }

    /// The expected number of arrivals between the start and `offset`.
    package func expectedArrivals(until offset: Duration) -> Double {
        var total = 0.0
        var start = Duration.zero
        for segment in segments {
            let length = segment.duration.seconds
            let elapsed = min(length, max(0, (offset - start).seconds))
            total +=
                segment.startRate * elapsed + (segment.endRate - segment.startRate) * elapsed * elapsed / (2 * length)
            start += segment.duration
            if offset <= start { break }
        }
        return total
    }

    /// The offset, in seconds from the start, at which the expected number of arrivals reaches `target`; `nil`
    /// when the profile ends first. Inverting the cumulative intensity turns evenly spaced or unit-rate Poisson
    /// points into arrivals that follow the profile exactly (the time-rescaling theorem).
    func offset(whereExpectedArrivalsReach target: Double) -> Double? {
        var remaining = target
        var start = 0.0
        for segment in segments {
            let length = segment.duration.seconds
            let a = segment.startRate
            let b = segment.endRate
            let area = (a + b) / 2 * length
            if remaining <= area, area > 0 {
                // Solve a·t + (b − a)·t²/(2·length) = remaining for t in [0, length], in the form that stays
                // accurate when b ≈ a.
                let k = (b - a) / (2 * length)
                let root = (a * a + 4 * k * remaining).squareRoot()
                let denominator = a + root
                let t = denominator > 0 ? min(length, 2 * remaining / denominator) : length
                return start + t
            }
            remaining -= area
            start += length
        }
        return nil
    }

    package var description: String {
        segments.map { segment in
            let rates =
                segment.startRate == segment.endRate
                ? formatRate(segment.startRate) : "\(formatRate(segment.startRate))-\(formatRate(segment.endRate))"
            return "\(segment.duration.compactDescription)=\(rates)"
        }.joined(separator: ",")
    }

    private init(unchecked segments: [Segment]) {
        self.segments = segments
    }
}
