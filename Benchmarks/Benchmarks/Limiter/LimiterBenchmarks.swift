import Benchmark
import Spillway
import Synchronization

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    // The floor: one uncontended lock round-trip around an increment.
    Benchmark("Mutex.withLock increment (floor)") { benchmark in
        let counter = Mutex(0)
        for _ in benchmark.scaledIterations {
            counter.withLock { $0 += 1 }
        }
        blackHole(counter.withLock { $0 })
    }

    Benchmark("tryAcquire + release, Fixed limit") { benchmark in
        let limiter = ConcurrencyLimiter(configuration: .init(algorithm: FixedLimit(64)))
        for _ in benchmark.scaledIterations {
            let permit = try limiter.tryAcquire(deadline: nil)
            permit.release(.success)
        }
    }

    Benchmark("acquire + release (async, no suspension), Fixed limit") { benchmark in
        let limiter = ConcurrencyLimiter(configuration: .init(algorithm: FixedLimit(64)))
        for _ in benchmark.scaledIterations {
            let permit = try await limiter.acquire(deadline: nil)
            permit.release(.success)
        }
    }
}
