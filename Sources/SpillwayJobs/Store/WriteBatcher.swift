import Synchronization

/// Writes items in batches, as a database groups commits: while `maximumWriters` batches are being written, the
/// items that arrive wait, and the first of them then writes them all in one call.
///
/// No task is started for it: each caller either waits for a batch that holds its item or writes one itself (at most
/// one batch per caller), so nothing waits when the store is idle and a busy store pays one commit for many items.
/// The completions of a pool's jobs go through one (``CompletionBatcher``), and so do SQLite enqueues
/// (``JobStore``): eight producers enqueueing at once cost one transaction and one store call, not eight.
///
/// A waiting caller is not cancellable: the batch holding its item is written whatever happens to its task, and a
/// write handed to it must be done (shared infrastructure never inherits a caller's cancellation).
///
/// ```swift
/// let enqueues = WriteBatcher<NewJob, EnqueueOutcome>(maximumBatch: 100, maximumWriters: 1)
/// let outcome = try await enqueues.submit(job) { jobs in try await backend.enqueue(jobs).map { .success($0) } }
/// ```
final class WriteBatcher<Item: Sendable, Output: Sendable>: Sendable {
    /// Writes a batch; returns one result per item, in the items' order.
    typealias Write = ([Item]) async throws -> [Result<Output, any Error>]

    private final class Slot: Sendable {
        enum Answer: Sendable {
            case done(Result<Output, any Error>)
            /// The previous writer hands over: this slot's task writes the next batch.
            case write
        }

        let item: Item
        let answer = OneShot<Answer>()

        init(_ item: Item) { self.item = item }
    }

    private struct State {
        /// Items waiting for a writer (a writer's own item is never here).
        var pending: [Slot] = []
        var writers = 0
    }

    private let state = Mutex(State())
    /// The most items one write takes.
    let maximumBatch: Int
    /// The most batches written at once.
    let maximumWriters: Int

    /// - Parameters:
    ///   - maximumBatch: The most items one write takes.
    ///   - maximumWriters: The most batches written at once.
    init(maximumBatch: Int, maximumWriters: Int) {
        self.maximumBatch = max(1, maximumBatch)
        self.maximumWriters = max(1, maximumWriters)
    }

    /// How many items wait for the write in progress (tests watch it).
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Writes `item`, alone or in a batch with others that arrive meanwhile, and returns its result.
    ///
    /// - Parameter write: Used when this caller writes a batch (its own item first, then the oldest waiting ones,
    ///   which other callers submitted with their own `write`: every caller of one batcher must pass the same
    ///   operation).
    /// - Throws: The item's error, or the batch's when the write failed as a whole.
    func submit(_ item: Item, write: Write) async throws -> Output {
        let slot = Slot(item)
        let writesNow = state.withLock { state -> Bool in
            guard state.writers < maximumWriters else {
                state.pending.append(slot)
                return false
            }
            state.writers += 1
            return true
        }
        if !writesNow {
            switch await slot.answer.valueIgnoringCancellation() {
            case .done(let result): return try result.get()
            case .write: break
            }
        }
        return try await writeBatch(leading: slot, write: write)
    }

    /// Writes `slot` with the oldest pending items, answers them, and hands the next batch to the first item still
    /// waiting.
    private func writeBatch(leading slot: Slot, write: Write) async throws -> Output {
        let batch = state.withLock { state -> [Slot] in
            let count = min(maximumBatch - 1, state.pending.count)
            defer { state.pending.removeFirst(count) }
            return [slot] + state.pending.prefix(count)
        }
        var results: [Result<Output, any Error>]
        do {
            results = try await write(batch.map(\.item))
            if results.count != batch.count {
                let error = JobError(
                    .storeFailed,
                    "a batched write returned \(results.count) results for \(batch.count) items"
                )
                results = Array(repeating: .failure(error), count: batch.count)
            }
        } catch {
            results = Array(repeating: .failure(error), count: batch.count)
        }
        for (member, result) in zip(batch.dropFirst(), results.dropFirst()) {
            member.answer.fire(.done(result))
        }
        let next = state.withLock { state -> Slot? in
            guard !state.pending.isEmpty else {
                state.writers -= 1
                return nil
            }
            return state.pending.removeFirst()
        }
        next?.answer.fire(.write)
        return try results[0].get()
    }
}
