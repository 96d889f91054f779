import Testing

@testable import SpillwayJobs

/// Store calls run detached under one timeout, with one timer task for all pending calls (on the real clock: the
/// timeout protects against a database that does not answer).
@Suite(.timeLimit(.minutes(1)))
struct DetachedCallTests {
    struct Refused: Error {}

    @Test func resultsAndErrorsPassThroughAndNothingStaysPending() async throws {
        let calls = DetachedCall(timeout: .seconds(10))
        let values = await withTaskGroup(of: Int?.self) { group in
            for value in 0..<200 {
                group.addTask { try? await calls.run { value }.get() }
            }
            var values: [Int?] = []
            for await value in group { values.append(value) }
            return values
        }
        #expect(values.compactMap { $0 }.sorted() == Array(0..<200))
        let refused = await calls.run { () async throws -> Int in throw Refused() }
        #expect(throws: Refused.self) { try refused.get() }
        #expect(calls.pendingCount == 0)
    }

    @Test func aHangingCallTimesOutWhileTheOthersAnswer() async throws {
        let calls = DetachedCall(timeout: .milliseconds(200))
        for round in 0..<2 {
            // The second round starts after the timer task ended with nothing pending: a new one must start.
            async let hanging = calls.run { () async throws -> Int in
                try await Task.sleep(for: .seconds(30))
                return -1
            }
            for value in 0..<20 {
                #expect(try await calls.run { value }.get() == value)
            }
            let clock = ContinuousClock()
            let start = clock.now
            let result = await hanging
            #expect(throws: DetachedCall.TimedOut.self, "round \(round)") { try result.get() }
            #expect(clock.now - start < .seconds(10), "timed out by the timer, not by the operation")
            #expect(calls.pendingCount == 0)
        }
    }

    @Test func theCallerCancelledDoesNotCancelTheCall() async throws {
        let calls = DetachedCall(timeout: .seconds(10))
        let task = Task {
            await calls.run { () async throws -> Bool in
                try await Task.sleep(for: .milliseconds(100))
                return Task.isCancelled
            }
        }
        task.cancel()
        let result = await task.value
        #expect(try result.get() == false, "the store call ran to its end, uncancelled")
    }
}
