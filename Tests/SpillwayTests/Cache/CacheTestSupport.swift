import Foundation
import SpillwayTestSupport
import Synchronization

@testable import Spillway

/// A loader whose calls are counted and, when gated, held until the test opens the gate; it returns the value
/// (or throws the error) the test set when the call *started*, like a database read.
final class CacheTestLoader: Sendable {
    private struct State {
        var calls = 0
        var finished = 0
        var cancelled = 0
        var result: Result<String, any Error> = .success("v1")
        var gate: Gate?
        var keys: [String] = []
        var deadlines: [Deadline?] = []
    }

    private let state = Mutex(State())
    /// Advanced by this much during every call, so that the cache records it as the load time.
    let loadTime: Duration
    let clock: ManualClock?

    init(_ result: Result<String, any Error> = .success("v1"), loadTime: Duration = .zero, clock: ManualClock? = nil) {
        self.loadTime = loadTime
        self.clock = clock
        state.withLock { $0.result = result }
    }

    var calls: Int { state.withLock { $0.calls } }
    var finished: Int { state.withLock { $0.finished } }
    var cancelled: Int { state.withLock { $0.cancelled } }
    var keys: [String] { state.withLock { $0.keys } }
    var deadlines: [Deadline?] { state.withLock { $0.deadlines } }

    /// What calls starting from now return.
    func set(_ result: Result<String, any Error>) { state.withLock { $0.result = result } }
    func set(_ value: String) { set(.success(value)) }

    /// Holds every call starting from now until the returned gate opens.
    @discardableResult
    func hold() -> Gate {
        let gate = Gate()
        state.withLock { $0.gate = gate }
        return gate
    }

    func release() { state.withLock { $0.gate = nil } }

    func load(_ key: String) async throws -> String {
        let (result, gate) = state.withLock { state in
            state.calls += 1
            state.keys.append(key)
            state.deadlines.append(Deadline.current)
            return (state.result, state.gate)
        }
        if let gate { await gate.wait() }
        if let clock, loadTime > .zero { clock.advance(by: loadTime) }
        if Task.isCancelled {
            state.withLock { $0.cancelled += 1 }
            throw CancellationError()
        }
        state.withLock { $0.finished += 1 }
        return try result.get()
    }
}

struct CacheTestNotFound: Error, Equatable {}
struct CacheTestUnavailable: Error, Equatable {}

/// Runs `body` in `count` concurrent child tasks and collects their results in task order.
func cacheConcurrently<T: Sendable>(
    _ count: Int,
    _ body: @escaping @Sendable (Int) async -> T
) async -> [T] {
    await withTaskGroup(of: (Int, T).self) { group in
        for index in 0..<count { group.addTask { (index, await body(index)) } }
        var results = [T?](repeating: nil, count: count)
        for await (index, value) in group { results[index] = value }
        return results.map { $0! }
    }
}

/// A thread-safe counter.
final class CacheTally: Sendable {
    private let count = Mutex(0)
    func add(_ amount: Int = 1) { count.withLock { $0 += amount } }
    var value: Int { count.withLock { $0 } }
}

extension Cache where Key == String, Value == String {
    /// A cache on a manual clock whose loader is `loader`, with early expiration off unless configured.
    static func fixture(
        clock: ManualClock,
        loader: CacheTestLoader,
        random: RandomSource = .seeded(42),
        sharedTier: (any SharedCacheTier<String, String>)? = nil,
        _ configure: (inout Configuration) -> Void = { _ in }
    ) -> Cache<String, String> {
        var configuration = Configuration(name: "test", timeToLive: .seconds(10), earlyExpirationBeta: nil)
        configure(&configuration)
        return Cache(
            configuration: configuration,
            clock: clock,
            random: random,
            sharedTier: sharedTier,
            loader: { try await loader.load($0) }
        )
    }
}

/// Samples ranks 0..<n with probability proportional to 1/(rank+1)^s (inverse CDF, binary search).
struct CacheTestZipf {
    private let cumulative: [Double]

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

    func next(_ random: inout some RandomNumberGenerator) -> Int {
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
