import Benchmark
import Foundation
import Spillway
import Synchronization

/// A seeded generator, so every run replays the same trace.
struct TraceRandom: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Zipf(s) ranks over `n` keys by inverse CDF.
struct Zipf {
    let cumulative: [Double]

    init(n: Int, s: Double) {
        var total = 0.0
        var cumulative: [Double] = []
        cumulative.reserveCapacity(n)
        for rank in 1...n {
            total += 1 / pow(Double(rank), s)
            cumulative.append(total)
        }
        self.cumulative = cumulative.map { $0 / total }
    }

    func trace(count: Int, seed: UInt64) -> [Int] {
        var random = TraceRandom(state: seed)
        return (0..<count).map { _ in
            let u = Double.random(in: 0..<1, using: &random)
            var low = 0
            var high = cumulative.count - 1
            while low < high {
                let mid = (low + high) / 2
                if cumulative[mid] < u { low = mid + 1 } else { high = mid }
            }
            return low
        }
    }
}

/// The Zipf(0.99) trace over 100 000 keys, built on first use (globals are lazy) so that benchmarks that do not
/// use it do not pay for it.
let zipfTrace = Zipf(n: 100_000, s: 0.99).trace(count: 1_000_000, seed: 2024)

/// A table behind a nonisolated async method, for the async floor.
final class AsyncTable: Sendable {
    let table = Mutex([Int: Int](uniqueKeysWithValues: (0..<1_000).map { ($0, $0) }))

    @inline(never)
    func value(_ key: Int) async -> Int? { table.withLock { $0[key] } }
}

/// Caches filled once per process, so that every sample of a hit benchmark measures hits only.
actor WarmCaches {
    static let shared = WarmCaches()
    private var integerCaches: [String: Cache<Int, Int>] = [:]
    private var stringCache: (Cache<String, String>, [String])?

    func integers(_ policy: CacheEvictionPolicy) async -> Cache<Int, Int> {
        if let cache = integerCaches[policy.description] { return cache }
        let cache = Cache<Int, Int>(
            configuration: .init(name: "bench", timeToLive: .seconds(3600), eviction: policy),
            loader: { $0 }
        )
        for key in 0..<512 { _ = try? await cache.value(for: key) }
        integerCaches[policy.description] = cache
        return cache
    }

    func strings() async -> (Cache<String, String>, [String]) {
        if let stringCache { return stringCache }
        let keys = (0..<512).map { "user:\($0)" }
        let cache = Cache<String, String>(
            configuration: .init(name: "bench", timeToLive: .seconds(3600)),
            loader: { "profile of \($0)" }
        )
        for key in keys { _ = try? await cache.value(for: key) }
        stringCache = (cache, keys)
        return (cache, keys)
    }
}

final class LoadCounter: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput, .instructions],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    // The floor, measured in the same run: one uncontended lock round-trip around a dictionary lookup.
    Benchmark("Mutex + Dictionary lookup (floor)") { benchmark in
        let table = Mutex([Int: Int](uniqueKeysWithValues: (0..<1_000).map { ($0, $0) }))
        for index in benchmark.scaledIterations {
            blackHole(table.withLock { $0[index & 511] })
        }
    }

    // The same floor behind an async call, as `Cache.value(for:)` is: what any async cache API costs at least.
    Benchmark("async call + Mutex + Dictionary lookup (floor)") { benchmark in
        let table = AsyncTable()
        for index in benchmark.scaledIterations {
            blackHole(await table.value(index & 511))
        }
    }

    for policy in [CacheEvictionPolicy.sieve, .lru] {
        Benchmark("Cache hit, Int key, \(policy)") { benchmark in
            let cache = await WarmCaches.shared.integers(policy)
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                blackHole(try await cache.value(for: index & 511))
            }
            benchmark.stopMeasurement()
        }
    }

    Benchmark("Cache hit, String key and value, sieve") { benchmark in
        let (cache, keys) = await WarmCaches.shared.strings()
        benchmark.startMeasurement()
        for index in benchmark.scaledIterations {
            blackHole(try await cache.value(for: keys[index & 511]))
        }
        benchmark.stopMeasurement()
    }

    // 1 000 concurrent misses of one key per iteration, against a loader that takes 1 ms: every caller shares the
    // one load. Throughput is rounds per second; ×1 000 for misses absorbed per second.
    Benchmark(
        "Coalesced miss: 1 000 concurrent callers, one 1 ms load",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
            scalingFactor: .one,
            maxDuration: .seconds(5),
            maxIterations: 500
        )
    ) { benchmark in
        let loads = LoadCounter()
        let cache = Cache<Int, Int>(configuration: .init(name: "bench", timeToLive: .seconds(3600))) { key in
            loads.add()
            try await Task.sleep(for: .milliseconds(1))
            return key
        }
        var rounds = 0
        for _ in benchmark.scaledIterations {
            try await cache.invalidate(0)
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<1_000 { group.addTask { blackHole(try? await cache.value(for: 0)) } }
            }
            rounds += 1
        }
        if loads.value != rounds {
            benchmark.error("\(loads.value) loads for \(rounds) rounds: callers did not coalesce")
        }
    }

    // Hit ratio on a Zipf(0.99) trace over 100 000 keys, cache sized at 0.1 %, 1 % and 10 % of the keys, measured
    // through the public API (a miss is a loader call). Reported as a custom metric in per mille.
    for capacity in [100, 1_000, 10_000] {
        for policy in [CacheEvictionPolicy.sieve, .lru] {
            Benchmark(
                "Hit ratio, Zipf(0.99) 100k keys, 1M requests, capacity \(capacity), \(policy)",
                configuration: .init(
                    metrics: [.custom("hit ratio (per mille)", polarity: .prefersLarger, useScalingFactor: false)],
                    scalingFactor: .one,
                    maxDuration: .seconds(60),
                    maxIterations: 1
                )
            ) { benchmark in
                let trace = zipfTrace
                let loads = LoadCounter()
                let cache = Cache<Int, Int>(
                    configuration: .init(
                        name: "trace",
                        timeToLive: .seconds(3600),
                        earlyExpirationBeta: nil,
                        maxEntries: capacity,
                        eviction: policy
                    )
                ) { key in
                    loads.add()
                    return key
                }
                for key in trace { blackHole(try await cache.value(for: key)) }
                let hits = trace.count - loads.value
                benchmark.measurement(
                    .custom("hit ratio (per mille)", polarity: .prefersLarger, useScalingFactor: false),
                    hits * 1_000 / trace.count
                )
            }
        }
    }
}
