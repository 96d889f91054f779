import MetricsTestKit
import Spillway
import Testing

/// Thousands of tasks acquiring, holding, throwing, dropping permits and being cancelled while the clock moves
/// and the limit changes: afterwards no permit is leaked, and every attempt was decided exactly once, the same way
/// for the caller and for the limiter's own accounting.
@Suite(.timeLimit(.minutes(1))) struct LimiterStressTests {
    struct Failure: Error {}

    /// What one attempt's caller saw: `admitted`, or the rejection reason's label.
    typealias Decision = String

    @Test(arguments: [UInt64(1), 2, 3])
    func everyAttemptIsDecidedExactlyOnceAndNoPermitLeaks(seed: UInt64) async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        var configuration = ConcurrencyLimiter.Configuration(
            name: "stress",
            algorithm: SteppingLimit(limit: 8, minLimit: 2, maxLimit: 16),
            metricsFactory: metrics
        )
        configuration.queue = .init(maxLength: 32, timeout: .milliseconds(50))
        let limiter = ConcurrencyLimiter(configuration: configuration, clock: clock)
        let total = 3_000
        var random = RandomSource.seeded(seed)

        // Each attempt's task returns the decisions its caller saw: one, or two for behaviour 3 (a second attempt).
        let decisions = await withTaskGroup(of: [Decision].self) { group -> [Decision] in
            var tasks: [Task<[Decision], Never>] = []
            for index in 0..<total {
                let priority = Priority(rawValue: Int(random.next() % 4))!
                let budget = random.next() % 3 == 0 ? nil : Duration.milliseconds(Int64(5 + random.next() % 200))
                let behaviour = random.next() % 4
                let yields = Int(random.next() % 6)
                let deadline = budget.map { Deadline(clock.now.advanced(by: $0)) }
                let task = Task { () -> [Decision] in
                    do throws(AdmissionRejection) {
                        let permit = try await limiter.acquire(priority: priority, deadline: deadline)
                        for _ in 0..<yields { await Task.yield() }
                        switch behaviour {
                        case 0: permit.release(.success)
                        case 1: permit.release(.dropped)
                        case 2: _ = consume permit  // forgotten: releases itself
                        default:
                            _ = consume permit
                            do {
                                _ = try await limiter.withPermit(priority: priority, deadline: nil) {
                                    () async throws -> Int in throw Failure()
                                }
                            } catch let rejection as AdmissionRejection {
                                return ["admitted", rejection.reason.label]
                            } catch {
                                return ["admitted", "admitted"]
                            }
                        }
                        return ["admitted"]
                    } catch {
                        return [error.reason.label]
                    }
                }
                tasks.append(task)
                if index % 7 == 0, let victim = tasks.randomElement(using: &random) { victim.cancel() }
                if index % 50 == 0 { clock.advance(by: .milliseconds(3)) }
                group.addTask { await task.value }
                // Let attempts run as they arrive, so that permits cycle instead of every late arrival being shed.
                if index % 3 == 0 { await Task.yield() }
            }
            // Move time on until every waiter has been decided (timeouts fire as the clock passes them).
            group.addTask {
                while limiter.snapshot.queueDepth > 0 || limiter.snapshot.inflight > 0 {
                    clock.advance(by: .milliseconds(1))
                    await Task.yield()
                }
                return []
            }
            return await group.reduce(into: []) { $0 += $1 }
        }

        let snapshot = limiter.snapshot
        #expect(snapshot.inflight == 0, "a permit was leaked or released twice")
        #expect(snapshot.queueDepth == 0)
        #expect(try metrics.expectGauge("spillway_limiter_inflight", [("limiter", "stress")]).lastValue == 0)
        let admitted = decisions.filter { $0 == "admitted" }.count
        #expect(admitted > 0 && admitted < decisions.count, "the run should exercise admissions and rejections")

        // The limiter counted every decision once, and the one its caller saw.
        var seen: [Decision: Int64] = [:]
        for decision in decisions { seen[decision, default: 0] += 1 }
        var counted: [Decision: Int64] = [:]
        for counter in metrics.counters(label: "spillway_limiter_decisions_total") where counter.totalValue > 0 {
            let outcome = counter.dimensions.first { $0.0 == "outcome" }?.1 ?? "?"
            let decision = outcome == "admitted_after_queue" ? "admitted" : outcome
            counted[decision, default: 0] += counter.totalValue
        }
        #expect(counted == seen)
    }
}
