import MetricsTestKit
import Spillway
import Synchronization
import Testing

/// Thousands of tasks acquiring, holding, throwing, dropping permits and being cancelled while the clock moves
/// and the limit changes: afterwards no permit is leaked and every attempt was decided exactly once.
@Suite struct LimiterStressTests {
    struct Failure: Error {}

    @Test(arguments: [UInt64(1), 2, 3])
    func noPermitLeaksUnderChurn(seed: UInt64) async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        var configuration = ConcurrencyLimiter.Configuration(
            name: "stress",
            algorithm: SteppingLimit(limit: 8, minLimit: 2, maxLimit: 16),
            metricsFactory: metrics
        )
        configuration.queue = .init(maxLength: 32, timeout: .milliseconds(50))
        let limiter = ConcurrencyLimiter(configuration: configuration, clock: clock)
        let admitted = Tally()
        let rejected = Tally()
        let total = 3_000
        var random = RandomSource.seeded(seed)

        await withTaskGroup(of: Void.self) { group in
            var tasks: [Task<Void, Never>] = []
            for index in 0..<total {
                let priority = Priority(rawValue: Int(random.next() % 4))!
                let budget = random.next() % 3 == 0 ? nil : Duration.milliseconds(Int64(5 + random.next() % 200))
                let behaviour = random.next() % 4
                let yields = Int(random.next() % 6)
                let deadline = budget.map { Deadline(clock.now.advanced(by: $0)) }
                let task = Task {
                    do throws(AdmissionRejection) {
                        let permit = try await limiter.acquire(priority: priority, deadline: deadline)
                        admitted.add()
                        for _ in 0..<yields { await Task.yield() }
                        switch behaviour {
                        case 0: permit.release(.success)
                        case 1: permit.release(.dropped)
                        case 2: _ = consume permit  // forgotten: releases itself
                        default:
                            _ = consume permit
                            _ = try? await limiter.withPermit(priority: priority, deadline: nil) { () async throws -> Int in
                                throw Failure()
                            }
                        }
                    } catch {
                        rejected.add()
                    }
                }
                tasks.append(task)
                if index % 7 == 0, let victim = tasks.randomElement(using: &random) { victim.cancel() }
                if index % 50 == 0 { clock.advance(by: .milliseconds(3)) }
                group.addTask { await task.value }
            }
            // Move time on until every waiter has been decided (timeouts fire as the clock passes them).
            group.addTask {
                while limiter.snapshot.queueDepth > 0 || limiter.snapshot.inflight > 0 {
                    clock.advance(by: .milliseconds(1))
                    await Task.yield()
                }
            }
            await group.waitForAll()
        }

        let snapshot = limiter.snapshot
        #expect(snapshot.inflight == 0)
        #expect(snapshot.queueDepth == 0)
        #expect(admitted.value + rejected.value == total)
        #expect(rejected.value > 0, "the run should exercise rejections")
        let decisions = metrics.counters(label: "spillway_limiter_decisions_total").reduce(0) { $0 + $1.totalValue }
        // Behaviour 3 makes one extra withPermit attempt per task that reached it.
        #expect(decisions >= Int64(total))
        #expect(try metrics.expectGauge("spillway_limiter_inflight", [("limiter", "stress")]).lastValue == 0)
    }
}

/// A counter shared by many tasks.
final class Tally: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
