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

    // The floor: one uncontended lock round-trip around an increment, measured in the same run.
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

    // The same after one request waited in the queue with a timeout, which started the queue's timer task: a
    // limiter the timer referenced weakly got a side table then, and every retain and release of it after (the
    // permit's, several a request) took the runtime's slow path for the rest of the process's life.
    Benchmark("tryAcquire + release, Fixed limit, after one wait in the queue") { benchmark in
        let limiter = ConcurrencyLimiter(configuration: .init(algorithm: FixedLimit(1)))
        let first = try limiter.tryAcquire(deadline: nil)
        let waiter = Task {
            let permit = try await limiter.acquire(deadline: nil)
            permit.release(.success)
        }
        while limiter.snapshot.queueDepth == 0 { await Task.yield() }
        first.release(.success)
        try await waiter.value
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let permit = try limiter.tryAcquire(deadline: nil)
            permit.release(.success)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("acquire + release (async, no suspension), Fixed limit") { benchmark in
        let limiter = ConcurrencyLimiter(configuration: .init(algorithm: FixedLimit(64)))
        for _ in benchmark.scaledIterations {
            let permit = try await limiter.acquire(deadline: nil)
            permit.release(.success)
        }
    }

    Benchmark("acquire + release with a deadline (async), Fixed limit") { benchmark in
        let limiter = ConcurrencyLimiter(configuration: .init(algorithm: FixedLimit(64)))
        let deadline = Deadline.after(.seconds(3600))
        for _ in benchmark.scaledIterations {
            let permit = try await limiter.acquire(deadline: deadline)
            permit.release(.success)
        }
    }

    // The library default (`ConcurrencyLimiter.Configuration()`: InflightGradientLimit, its queue and CoDel): the
    // same fast path plus the limit's per-sample update (a window's bookkeeping and, once per window, its close).
    Benchmark("tryAcquire + release, default limit") { benchmark in
        let limiter = ConcurrencyLimiter(configuration: .init())
        for _ in benchmark.scaledIterations {
            let permit = try limiter.tryAcquire(deadline: nil)
            permit.release(.success)
        }
    }

    Benchmark("acquire + release (async, no suspension), default limit") { benchmark in
        let limiter = ConcurrencyLimiter(configuration: .init())
        for _ in benchmark.scaledIterations {
            let permit = try await limiter.acquire(deadline: nil)
            permit.release(.success)
        }
    }

    for tasks in [2, 4] {
        Benchmark(
            "acquire + release, \(tasks) tasks contending, Fixed limit",
            configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(3), maxIterations: 200_000)
        ) { benchmark in
            let limiter = ConcurrencyLimiter(configuration: .init(algorithm: FixedLimit(64)))
            let perTask = benchmark.scaledIterations.count / tasks
            benchmark.startMeasurement()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for _ in 0..<perTask {
                            guard let permit = try? await limiter.acquire(deadline: nil) else { continue }
                            permit.release(.success)
                        }
                    }
                }
            }
            benchmark.stopMeasurement()
        }
    }
}
