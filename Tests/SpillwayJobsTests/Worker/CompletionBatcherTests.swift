import SpillwayTestSupport
import Synchronization
import Testing

@testable import SpillwayJobs

/// Completions are written in batches: one write at a time, the completions that arrive meanwhile together in the
/// next, each under its own fencing token.
@Suite(.timeLimit(.minutes(1)))
struct CompletionBatcherTests {
    private static func reference(_ id: Int64, token: Int64 = 1) -> JobClaimReference {
        JobClaimReference(id: JobID(id), fencingToken: token)
    }

    /// Records each batch; the first write waits at `gate` until the test opens it.
    private final class Writer: Sendable {
        let gate = Gate()
        private let batches = Mutex<[[Int64]]>([])
        let refuse: Set<Int64>
        let failure: (any Error & Sendable)?

        init(refuse: Set<Int64> = [], failure: (any Error & Sendable)? = nil) {
            self.refuse = refuse
            self.failure = failure
        }

        var written: [[Int64]] { batches.withLock { $0 } }

        func write(_ claims: [JobClaimReference]) async throws -> Set<JobID> {
            let isFirst = batches.withLock { batches in
                batches.append(claims.map(\.id.rawValue))
                return batches.count == 1
            }
            if isFirst { await gate.pass() }
            if let failure { throw failure }
            return Set(claims.map(\.id).filter { !refuse.contains($0.rawValue) })
        }
    }

    @Test func completionsArrivingDuringAWriteGoTogetherInTheNext() async throws {
        let writer = Writer(refuse: [4])
        let batcher = CompletionBatcher(maximumBatch: 10, maximumWriters: 1) { try await writer.write($0) }
        try await withThrowingTaskGroup(of: (Int64, Bool).self) { group in
            group.addTask {
                try await batcher.complete(Self.reference(1))
                return (1, true)
            }
            try await writer.gate.waitForInside(1)
            for id: Int64 in 2...5 {
                group.addTask {
                    do {
                        try await batcher.complete(Self.reference(id))
                        return (id, true)
                    } catch let error as JobError where error.code == .leaseLost {
                        return (id, false)
                    }
                }
            }
            let queued = await eventually { batcher.pendingCount == 4 }
            #expect(queued, "four completions wait behind the first write")
            writer.gate.open()
            var results: [Int64: Bool] = [:]
            for try await (id, completed) in group { results[id] = completed }
            #expect(results == [1: true, 2: true, 3: true, 4: false, 5: true], "job 4's claim lost its lease")
        }
        #expect(writer.written.map { $0.sorted() } == [[1], [2, 3, 4, 5]])
    }

    @Test func batchesAreCappedAndTheRestFollow() async throws {
        let writer = Writer()
        let batcher = CompletionBatcher(maximumBatch: 2, maximumWriters: 1) { try await writer.write($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await batcher.complete(Self.reference(1)) }
            try await writer.gate.waitForInside(1)
            for id: Int64 in 2...6 { group.addTask { try await batcher.complete(Self.reference(id)) } }
            let queued = await eventually { batcher.pendingCount == 5 }
            #expect(queued)
            writer.gate.open()
            try await group.waitForAll()
        }
        #expect(writer.written.map(\.count) == [1, 2, 2, 1])
        #expect(Set(writer.written.joined()) == Set(1...6))
    }

    @Test func aFailedWriteFailsEveryCompletionInItsBatch() async throws {
        let writer = Writer(failure: JobError(.storeFailed, "the database is gone"))
        let batcher = CompletionBatcher(maximumBatch: 10, maximumWriters: 1) { try await writer.write($0) }
        let failures = try await withThrowingTaskGroup(of: JobError.Code?.self) { group in
            for id: Int64 in 1...3 {
                group.addTask {
                    do {
                        try await batcher.complete(Self.reference(id))
                        return nil
                    } catch let error as JobError {
                        return error.code
                    }
                }
                if id == 1 { try await writer.gate.waitForInside(1) }
            }
            let queued = await eventually { batcher.pendingCount == 2 }
            #expect(queued)
            writer.gate.open()
            var codes: [JobError.Code?] = []
            for try await code in group { codes.append(code) }
            return codes
        }
        #expect(failures == [.storeFailed, .storeFailed, .storeFailed])
    }

    @Test func aCancelledWaiterStillGetsItsCompletionWritten() async throws {
        let writer = Writer()
        let batcher = CompletionBatcher(maximumBatch: 10, maximumWriters: 1) { try await writer.write($0) }
        let first = Task { try await batcher.complete(Self.reference(1)) }
        try await writer.gate.waitForInside(1)
        let second = Task { try await batcher.complete(Self.reference(2)) }
        let queued = await eventually { batcher.pendingCount == 1 }
        #expect(queued)
        second.cancel()
        writer.gate.open()
        try await first.value
        try await second.value
        #expect(writer.written == [[1], [2]], "the cancelled task still wrote the batch handed to it")
    }

    @Test func withTwoWritersASecondCompletionDoesNotWaitForTheFirstWrite() async throws {
        let writer = Writer()
        let batcher = CompletionBatcher(maximumBatch: 10, maximumWriters: 2) { try await writer.write($0) }
        let first = Task { try await batcher.complete(Self.reference(1)) }
        try await writer.gate.waitForInside(1)
        try await batcher.complete(Self.reference(2))
        #expect(writer.written == [[1], [2]], "the second batch was written while the first was held")
        writer.gate.open()
        try await first.value
    }
}
