import Spillway
import Synchronization
import Testing

/// What happened to one attempt to acquire an ``AdmissionPermit``.
package enum AcquireResult: Sendable, Equatable {
    case admitted(queueDelay: Duration?)
    case rejected(AdmissionRejection.Reason)
}

/// A task that acquires a permit from a ``ConcurrencyLimiter``, records the decision (and the order of admission),
/// holds the permit until ``release()`` and then releases it with `outcome`: a request in flight that the test
/// controls.
///
/// ```swift
/// let first = Holder(1, limiter: limiter)
/// #expect(await first.decision == .admitted(queueDelay: nil))
/// first.release()
/// ```
package struct Holder: Sendable {
    /// The task; its value is the final result.
    package let task: Task<AcquireResult, Never>
    private let gate: Gate
    private let box: DecisionBox

    /// Starts a task that acquires a permit at `priority` under `deadline` and appends `id` to `order` once
    /// admitted.
    package init(
        _ id: Int,
        limiter: ConcurrencyLimiter,
        priority: Priority = .critical,
        deadline: Deadline? = nil,
        outcome: PermitOutcome = .success,
        order: OrderRecorder? = nil
    ) {
        let gate = Gate()
        let box = DecisionBox()
        self.gate = gate
        self.box = box
        self.task = Task {
            do throws(AdmissionRejection) {
                let permit = try await limiter.acquire(priority: priority, deadline: deadline)
                order?.append(id)
                let result = AcquireResult.admitted(queueDelay: permit.queueDelay)
                box.set(result)
                await gate.wait()
                permit.release(outcome)
                return result
            } catch {
                box.set(.rejected(error.reason))
                return .rejected(error.reason)
            }
        }
    }

    /// Lets the holder release its permit (no effect on a rejected holder).
    package func release() { gate.open() }

    /// The admission decision, once made (the holder may still be holding its permit).
    package var decision: AcquireResult {
        get async {
            await eventually("admission decision") { box.value != nil }
            return box.value ?? .rejected(.cancelled)
        }
    }

    /// The final result: waits for the holder to finish (release it first if it was admitted).
    package var result: AcquireResult { get async { await task.value } }

    /// The queue delay when admitted (zero when admitted without queueing), `nil` when rejected.
    package var admittedDelay: Duration? {
        get async {
            if case .admitted(let delay) = await decision { return delay ?? .zero }
            return nil
        }
    }
}

private final class DecisionBox: Sendable {
    private let storage = Mutex<AcquireResult?>(nil)
    func set(_ value: AcquireResult) { storage.withLock { $0 = value } }
    var value: AcquireResult? { storage.withLock { $0 } }
}

/// A list that many tasks append to, read once they are done (for example, the order in which holders were
/// admitted).
package final class OrderRecorder: Sendable {
    private let storage = Mutex<[Int]>([])

    /// An empty list.
    package init() {}

    /// Appends `value`.
    package func append(_ value: Int) { storage.withLock { $0.append(value) } }

    /// Everything appended so far, in order.
    package var values: [Int] { storage.withLock { $0 } }
}
