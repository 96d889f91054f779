import Synchronization

/// Records the completions of a pool's jobs in batches, as a database groups commits: while `maximumWriters`
/// batches are being written, the completions that arrive wait, and the first of them then writes them all in one
/// statement.
///
/// No task is started for it: each completing job either waits for a batch that holds its completion or writes one
/// itself (at most one batch per job), so nothing waits when the pool is idle and a busy pool pays one commit for
/// many jobs. SQLite has one writer (`maximumWriters` 1); PostgreSQL commits several transactions at once. Each job is completed under its own fencing token; one whose claim no longer holds it gets
/// ``JobError/Code/leaseLost``, the others are unaffected.
///
/// ```swift
/// let completions = CompletionBatcher(maximumBatch: 64, maximumWriters: 1) { try await store.complete($0) }
/// try await completions.complete(control.reference)   // throws JobError.leaseLost when the job was rescued
/// ```
final class CompletionBatcher: Sendable {
    typealias Write = @Sendable ([JobClaimReference]) async throws -> Set<JobID>

    private final class Slot: Sendable {
        enum Answer: Sendable {
            case done(Result<Void, any Error>)
            /// The previous writer hands over: this slot's task writes the next batch.
            case write
        }

        let claim: JobClaimReference
        let answer = OneShot<Answer>()

        init(_ claim: JobClaimReference) { self.claim = claim }
    }

    private struct State {
        /// Completions waiting for a writer (a writer's own completion is never here).
        var pending: [Slot] = []
        var writers = 0
    }

    private let state = Mutex(State())
    /// The most completions one write records.
    let maximumBatch: Int
    /// The most batches written at once.
    let maximumWriters: Int
    private let write: Write

    /// - Parameters:
    ///   - maximumBatch: The most completions one statement records.
    ///   - maximumWriters: The most batches written at once.
    ///   - write: Records a batch; returns the ids whose claim still held the job (those were completed).
    init(maximumBatch: Int, maximumWriters: Int, write: @escaping Write) {
        self.maximumBatch = max(1, maximumBatch)
        self.maximumWriters = max(1, maximumWriters)
        self.write = write
    }

    /// How many completions wait for the write in progress (tests watch it).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Completes `claim`, alone or in a batch with others that arrive meanwhile.
    ///
    /// - Throws: ``JobError/Code/leaseLost`` when another claim owns the job, or the batch's store error.
    func complete(_ claim: JobClaimReference) async throws {
        let slot = Slot(claim)
        let writesNow = state.withLock { state -> Bool in
            guard state.writers < maximumWriters else {
                state.pending.append(slot)
                return false
            }
            state.writers += 1
            return true
        }
        if !writesNow {
            // Not cancellable: the batch holding this completion is written whatever happens to this task, and a
            // write handed to it must be done.
            switch await slot.answer.valueIgnoringCancellation() {
            case .done(let result): return try result.get()
            case .write: break
            }
        }
        return try await writeBatch(leading: slot)
    }

    /// Writes `slot` with the oldest pending completions, answers them, and hands the next batch to the first
    /// completion still waiting.
    private func writeBatch(leading slot: Slot) async throws {
        let batch = state.withLock { state -> [Slot] in
            let count = min(maximumBatch - 1, state.pending.count)
            defer { state.pending.removeFirst(count) }
            return [slot] + state.pending.prefix(count)
        }
        let outcome: Result<Set<JobID>, any Error>
        do {
            outcome = .success(try await write(batch.map(\.claim)))
        } catch {
            outcome = .failure(error)
        }
        var own: Result<Void, any Error> = .success(())
        for member in batch {
            let result = outcome.flatMap { completed -> Result<Void, any Error> in
                completed.contains(member.claim.id) ? .success(()) : .failure(JobError.leaseLost(member.claim))
            }
            if member === slot { own = result } else { member.answer.fire(.done(result)) }
        }
        let next = state.withLock { state -> Slot? in
            guard !state.pending.isEmpty else {
                state.writers -= 1
                return nil
            }
            return state.pending.removeFirst()
        }
        next?.answer.fire(.write)
        try own.get()
    }
}
