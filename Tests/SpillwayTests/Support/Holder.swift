import Spillway
import Synchronization
import Testing

/// A task that acquires a permit, records the decision (and the order of admission), holds the permit until
/// `release()` and then releases it with `outcome`.
struct Holder: Sendable {
    let task: Task<AcquireResult, Never>
    private let gate: Gate
    private let box: DecisionBox

    init(
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
    func release() { gate.open() }

    /// The admission decision, once made (the holder may still be holding its permit).
    var decision: AcquireResult {
        get async {
            await eventually("admission decision") { box.value != nil }
            return box.value ?? .rejected(.cancelled)
        }
    }

    /// The final result: waits for the holder to finish (release it first if it was admitted).
    var result: AcquireResult { get async { await task.value } }

    /// The queue delay when admitted (zero when admitted without queueing), `nil` when rejected.
    var admittedDelay: Duration? {
        get async {
            if case .admitted(let delay) = await decision { return delay ?? .zero }
            return nil
        }
    }
}

final class DecisionBox: Sendable {
    private let storage = Mutex<AcquireResult?>(nil)
    func set(_ value: AcquireResult) { storage.withLock { $0 = value } }
    var value: AcquireResult? { storage.withLock { $0 } }
}
