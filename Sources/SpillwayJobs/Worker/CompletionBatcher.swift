/// Records the completions of a pool's jobs in batches (a ``WriteBatcher``): while `maximumWriters` batches are being
/// written, the completions that arrive wait, and the first of them then writes them all in one statement.
///
/// SQLite has one writer (`maximumWriters` 1); PostgreSQL commits several transactions at once. Each job is
/// completed under its own fencing token; one whose claim no longer holds it gets `JobError.Code.leaseLost`, the
/// others are unaffected.
///
/// ```swift
/// let completions = CompletionBatcher(maximumBatch: 64, maximumWriters: 1) { try await store.complete($0) }
/// try await completions.complete(control.reference)   // throws JobError.leaseLost when the job was rescued
/// ```
final class CompletionBatcher: Sendable {
    typealias Write = @Sendable ([JobClaimReference]) async throws -> Set<JobID>

    private let batcher: WriteBatcher<JobClaimReference, Void>
    private let write: Write

    /// - Parameters:
    ///   - maximumBatch: The most completions one statement records.
    ///   - maximumWriters: The most batches written at once.
    ///   - write: Records a batch; returns the ids whose claim still held the job (those were completed).
    init(maximumBatch: Int, maximumWriters: Int, write: @escaping Write) {
        self.batcher = WriteBatcher(maximumBatch: maximumBatch, maximumWriters: maximumWriters)
        self.write = write
    }

    /// The most completions one write records.
    var maximumBatch: Int { batcher.maximumBatch }
    /// The most batches written at once.
    var maximumWriters: Int { batcher.maximumWriters }
    /// How many completions wait for the write in progress (tests watch it).
    var pendingCount: Int { batcher.pendingCount }

    /// Completes `claim`, alone or in a batch with others that arrive meanwhile.
    ///
    /// - Throws: `JobError.Code.leaseLost` when another claim owns the job, or the batch's store error.
    func complete(_ claim: JobClaimReference) async throws {
        try await batcher.submit(claim) { [write] claims in
            let completed = try await write(claims)
            return claims.map { completed.contains($0.id) ? .success(()) : .failure(JobError.leaseLost($0)) }
        }
    }
}
