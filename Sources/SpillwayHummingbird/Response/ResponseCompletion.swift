import HTTPTypes
import Hummingbird
import Spillway
import Synchronization

/// What happens once a response has been written: the admission permit is released and the request is counted.
///
/// The response body's writer closure captures the completion and calls ``finish(writeFailed:)`` after the last byte
/// (or when the write fails). If the response is never written — a later middleware dropped it, or the connection
/// task ended first — the completion is freed with the closure and `deinit` finishes it as written: the handler's
/// work was done. The `finished` flag makes every path after the first a no-op, so the permit is released and the
/// request counted exactly once.
final class ResponseCompletion: Sendable {
    /// The goodput metrics to record into, and what to record.
    struct Recording: Sendable {
        var metrics: GoodputMetrics
        var route: String
        /// Arrival, in nanoseconds since `SpillwayTime.origin`.
        var start: Int64
    }

    private let finished = Atomic<Bool>(false)
    private let permit: Mutex<AdmissionPermit?>
    /// The outcome the handler's response earned for the limit algorithm.
    private let permitOutcome: PermitOutcome
    private let dropsLateResponses: Bool
    private let status: HTTPResponse.Status
    private let deadline: Deadline?
    private let recording: Recording?
    private let clock: any SpillwayClock

    init(
        permit: consuming AdmissionPermit?,
        permitOutcome: PermitOutcome,
        dropsLateResponses: Bool,
        status: HTTPResponse.Status,
        deadline: Deadline?,
        recording: Recording?,
        clock: any SpillwayClock
    ) {
        self.permit = Mutex(permit)
        self.permitOutcome = permitOutcome
        self.dropsLateResponses = dropsLateResponses
        self.status = status
        self.deadline = deadline
        self.recording = recording
        self.clock = clock
    }

    /// Releases the permit and records the request, unless that happened already.
    func finish(writeFailed: Bool) {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let now = (recording != nil || deadline != nil) ? clock.nanosecondsSinceOrigin : 0
        let onTime = deadline.map { !$0.hasPassed(atNanoseconds: now) } ?? true
        let taken = permit.withLock { $0.take() }
        switch consume taken {
        case .some(let permit):
            var outcome = writeFailed ? .ignored : permitOutcome
            if outcome == .success, dropsLateResponses, !onTime { outcome = .dropped }
            permit.release(outcome)
        case .none:
            break
        }
        if let recording {
            let outcome = writeFailed ? .aborted : RequestOutcome(status: status, onTime: onTime)
            recording.metrics.record(
                route: recording.route,
                status: status,
                outcome: outcome,
                nanoseconds: now - recording.start
            )
            recording.metrics.inflight.decrement()
        }
    }

    deinit {
        finish(writeFailed: false)
    }
}
