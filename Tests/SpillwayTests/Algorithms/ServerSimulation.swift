import Foundation
import Spillway

/// A deterministic discrete-event model of a limiter in front of a server, on virtual time.
///
/// The server has `slots` workers; a request holds one for its service time, drawn uniformly from
/// `serviceTime · (1 ± serviceJitter)`. Requests that find every slot busy wait FIFO inside the server, so latency
/// rises with queueing; when `queueCapacity` requests already wait, the server refuses the request at once (a fast
/// 503 after `refusalTime`), which the limiter reports as a drop. Arrivals are open-loop Poisson at `arrivalRate`
/// per second. In front, the limiter admits an arrival while fewer than `limit` requests are in flight and rejects
/// it otherwise; every admitted request's completion becomes a ``LimitSample`` fed to the algorithm, and the limit
/// is clamped as ``ConcurrencyLimiter`` clamps it.
struct ServerSimulation {
    struct Server {
        var slots: Int
        /// Mean service time in seconds.
        var serviceTime: Double
        var serviceJitter = 0.1
        /// How many requests may wait for a slot; `Int.max` for an unbounded queue.
        var queueCapacity: Int
        /// Latency of a refused request, in seconds.
        var refusalTime = 0.001
    }

    /// Figures over an observation window.
    struct Observation: CustomStringConvertible {
        /// Median, 10th and 90th percentile, lowest and highest limit, sampled every 10 ms of virtual time.
        var medianLimit: Int
        var p10Limit: Int
        var p90Limit: Int
        var lowestLimit: Int
        var highestLimit: Int
        var finalLimit: Int
        /// Mean time admitted requests waited inside the server for a slot, in seconds.
        var meanQueueDelay: Double
        /// Mean RTT of completed requests, in seconds.
        var meanRTT: Double
        /// Fraction of admitted requests the server refused.
        var dropFraction: Double
        /// Requests completed successfully per second.
        var goodput: Double
        var samples: Int

        var description: String {
            let delay = (meanQueueDelay * 1e4).rounded() / 10
            let rtt = (meanRTT * 1e4).rounded() / 10
            let drops = (dropFraction * 1e4).rounded() / 100
            return "limit median \(medianLimit) p10–p90 \(p10Limit)–\(p90Limit) [\(lowestLimit)…\(highestLimit)] "
                + "final \(finalLimit), "
                + "queue delay \(delay) ms, rtt \(rtt) ms, drops \(drops) %, goodput \(Int(goodput))/s"
        }
    }

    private struct Request {
        var admitted: Double
        var arrivedAtServer: Double
        var inflight: Int
    }

    private struct Completion {
        var time: Double
        var request: Request
        var refused: Bool
    }

    var algorithm: any LimitAlgorithm
    var server: Server
    var arrivalRate: Double
    private(set) var now = 0.0
    private var random: RandomSource
    private var nextArrival: Double
    private var inflight = 0
    private var busySlots = 0
    private var waiting: [Request] = []
    private var waitingHead = 0
    private var completions = EventHeap<Double, Completion>()

    init(algorithm: any LimitAlgorithm, server: Server, arrivalRate: Double, seed: UInt64) {
        self.algorithm = algorithm
        self.server = server
        self.arrivalRate = arrivalRate
        self.random = RandomSource.seeded(seed)
        self.nextArrival = 0
        self.nextArrival = nextInterArrival()
    }

    var limit: Int {
        max(1, max(algorithm.minLimit, min(algorithm.maxLimit, algorithm.limit)))
    }

    /// Runs until `end` seconds of virtual time, observing from `observeFrom`.
    mutating func run(until end: Double, observeFrom: Double) -> Observation {
        var limits: [Int] = []
        var nextLimitSample = observeFrom
        var queueDelaySum = 0.0
        var queueDelayCount = 0
        var rttSum = 0.0
        var completed = 0
        var refused = 0
        var samples = 0
        while true {
            let completionTime = completions.firstKey ?? .infinity
            let time = min(nextArrival, completionTime)
            if time >= end { break }
            while nextLimitSample <= time {
                limits.append(limit)
                nextLimitSample += 0.01
            }
            now = time
            let observing = now >= observeFrom
            if completionTime <= nextArrival {
                let completion = completions.pop()!.element
                let request = completion.request
                inflight -= 1
                let rtt = now - request.admitted
                let sample = LimitSample(
                    start: AlgorithmFixtures.origin.advanced(by: .seconds(fractional: request.admitted)),
                    rtt: .seconds(fractional: rtt),
                    inflight: request.inflight,
                    didDrop: completion.refused
                )
                _ = algorithm.update(with: sample)
                if observing {
                    samples += 1
                    if completion.refused {
                        refused += 1
                    } else {
                        completed += 1
                        rttSum += rtt
                    }
                }
                if !completion.refused {
                    busySlots -= 1
                    if waitingHead < waiting.count {
                        let next = waiting[waitingHead]
                        waitingHead += 1
                        if waitingHead > 4096 && waitingHead * 2 > waiting.count {
                            waiting.removeFirst(waitingHead)
                            waitingHead = 0
                        }
                        if observing {
                            queueDelaySum += now - next.arrivedAtServer
                            queueDelayCount += 1
                        }
                        startService(next)
                    }
                }
            } else {
                nextArrival = now + nextInterArrival()
                guard inflight < limit else { continue }
                inflight += 1
                let request = Request(admitted: now, arrivedAtServer: now, inflight: inflight)
                if busySlots < server.slots {
                    if observing { queueDelayCount += 1 }
                    startService(request)
                } else if waiting.count - waitingHead < server.queueCapacity {
                    waiting.append(request)
                } else {
                    let time = now + server.refusalTime
                    completions.push(Completion(time: time, request: request, refused: true), at: time)
                }
            }
        }
        now = end
        let sorted = limits.sorted()
        let duration = end - observeFrom
        return Observation(
            medianLimit: sorted.isEmpty ? limit : sorted[sorted.count / 2],
            p10Limit: sorted.isEmpty ? limit : sorted[sorted.count / 10],
            p90Limit: sorted.isEmpty ? limit : sorted[sorted.count * 9 / 10],
            lowestLimit: sorted.first ?? limit,
            highestLimit: sorted.last ?? limit,
            finalLimit: limit,
            meanQueueDelay: queueDelayCount == 0 ? 0 : queueDelaySum / Double(queueDelayCount),
            meanRTT: completed == 0 ? 0 : rttSum / Double(completed),
            dropFraction: samples == 0 ? 0 : Double(refused) / Double(samples),
            goodput: Double(completed) / duration,
            samples: samples
        )
    }

    private mutating func startService(_ request: Request) {
        busySlots += 1
        let jitter = (Double.random(in: 0..<1, using: &random) * 2 - 1) * server.serviceJitter
        let time = now + server.serviceTime * (1 + jitter)
        completions.push(Completion(time: time, request: request, refused: false), at: time)
    }

    private mutating func nextInterArrival() -> Double {
        -log(1 - Double.random(in: 0..<1, using: &random)) / arrivalRate
    }
}
