import Spillway
import Testing

/// A faithful copy of Netflix concurrency-limits' `Gradient2Limit._update` with its defaults (initial 20, min 20,
/// max 200, smoothing 0.2, long window 600 with a 10-sample warm-up, tolerance 1.5, queue size 4), kept here only
/// to show the upward creep that ``Gradient2Limit`` fixes (Netflix/concurrency-limits PR #134).
struct NetflixGradient2Reference: LimitAlgorithm {
    private var estimatedLimit = 20.0
    let minLimit = 20
    let maxLimit = 200
    private let smoothing = 0.2
    private let tolerance = 1.5
    private let queueSize = 4.0
    // ExpAvgMeasurement(600, 10)
    private var longValue = 0.0
    private var longSum = 0.0
    private var longCount = 0

    var limit: Int { Int(estimatedLimit) }

    mutating func update(with sample: LimitSample) -> Int {
        // Netflix takes nanoseconds and has no notion of a drop in this algorithm.
        let rtt = Double(sample.rtt.nanoseconds)
        let longRtt = addToLongRtt(rtt)
        if longRtt / rtt > 2 {
            longValue *= 0.95
        }
        if Double(sample.inflight) < estimatedLimit / 2 {
            return Int(estimatedLimit)
        }
        let gradient = max(0.5, min(1.0, tolerance * longRtt / rtt))
        var newLimit = estimatedLimit * gradient + queueSize
        newLimit = estimatedLimit * (1 - smoothing) + newLimit * smoothing
        newLimit = max(Double(minLimit), min(Double(maxLimit), newLimit))
        estimatedLimit = newLimit
        return Int(estimatedLimit)
    }

    private mutating func addToLongRtt(_ sample: Double) -> Double {
        if longCount < 10 {
            longCount += 1
            longSum += sample
            longValue = longSum / Double(longCount)
        } else {
            let factor = 2.0 / Double(600 + 1)
            longValue = longValue * (1 - factor) + sample * factor
        }
        return longValue
    }
}

@Suite struct Gradient2CreepTests {
    typealias F = AlgorithmFixtures

    static let slots = 50
    static let serviceTime = 0.020

    @Test func referenceAddsHeadroomEvenWhenTheGradientSaysShrink() {
        var reference = NetflixGradient2Reference()
        // Ten 10 ms samples: gradient 1, each adds 4·0.2 = 0.8.
        for _ in 0..<10 {
            _ = reference.update(with: F.sample(rttMs: 10, inflight: 40))
        }
        #expect(reference.limit == 28)
        // Netflix's long RTT absorbs the 20 ms sample too: 10 + 10·2/601 = 10.033; gradient 0.7525; target
        // 28·0.7525 + 4 = 25.07 — the headroom is added although the gradient says shrink; L = 27.41.
        #expect(reference.update(with: F.sample(rttMs: 20, inflight: 40)) == 27)
    }

    /// Every sample is taken at saturation (offered load always exceeds the limit) from a server with 50 slots
    /// and 20 ms service time whose queue makes the RTT grow in proportion to the excess concurrency:
    /// `rtt = S · max(1, L/N) · (1 ± 5 %)`. The backend's no-load RTT never changes.
    static func saturatedRun(_ algorithm: inout some LimitAlgorithm, samples: Int) -> (last: Int, peakLate: Int) {
        var random = RandomSource.seeded(7)
        var peakLate = 0
        var start = 0.0
        for index in 0..<samples {
            let limit = algorithm.limit
            let inflation = max(1, Double(limit) / Double(slots))
            let noise = 1 + (Double.random(in: 0..<1, using: &random) - 0.5) * 0.1
            let rtt = serviceTime * inflation * noise
            start += serviceTime / Double(slots)
            _ = algorithm.update(with: F.sample(rttMs: rtt * 1000, inflight: limit, startMs: start * 1000))
            if index >= samples / 2 { peakLate = max(peakLate, algorithm.limit) }
        }
        return (algorithm.limit, peakLate)
    }

    @Test func saturatedReferenceCreepsToTheMaximumAndOursStaysNearToleranceTimesCapacity() {
        var reference = NetflixGradient2Reference()
        let referenceRun = Self.saturatedRun(&reference, samples: 200_000)
        // Netflix: the long RTT follows the inflated RTT, the gradient returns to 1, the limit climbs to its max
        // while the RTT grows to 4× the no-load RTT.
        #expect(referenceRun.last == 200)

        var ours = Gradient2Limit()
        let ourRun = Self.saturatedRun(&ours, samples: 200_000)
        // Ours settles where rtt ≈ 1.5 × baseline, i.e. near 1.5 × 50 = 75, and stays there.
        let bound = Int(1.5 * Double(Self.slots) * 1.1)
        #expect(ourRun.peakLate <= bound, "peak \(ourRun.peakLate) over the second 100k samples")
        #expect(ourRun.last >= Self.slots, "a bounded limit must still use the capacity")
    }

    /// The same backend driven by the discrete-event model at modest overload (1.2× capacity, open-loop), with an
    /// unbounded server queue so that no refusal intervenes: latency is the only signal.
    @Test func modestOverloadReferenceCreepsAndOursStaysBounded() {
        let server = ServerSimulation.Server(slots: Self.slots, serviceTime: Self.serviceTime, queueCapacity: .max)
        let rate = 1.2 * Double(Self.slots) / Self.serviceTime
        var reference = ServerSimulation(
            algorithm: NetflixGradient2Reference(),
            server: server,
            arrivalRate: rate,
            seed: 11
        )
        // 200k completions take about 200_000 / 2_500 per second = 80 s.
        let referenceLate = reference.run(until: 80, observeFrom: 60)
        var ours = ServerSimulation(algorithm: Gradient2Limit(), server: server, arrivalRate: rate, seed: 11)
        let oursLate = ours.run(until: 80, observeFrom: 60)
        print("Gradient2 creep, modest overload: Netflix \(referenceLate); ours \(oursLate)")
        #expect(referenceLate.medianLimit >= 150, "Netflix reference: \(referenceLate)")
        #expect(referenceLate.meanRTT >= 2.5 * Self.serviceTime)
        #expect(oursLate.highestLimit <= Int(1.5 * Double(Self.slots) * 1.1), "ours: \(oursLate)")
        #expect(oursLate.meanRTT <= 1.6 * Self.serviceTime)
    }
}
